//! # sigil-gpu
//!
//! The wgpu backend of the Sigil prover, on any vendor's GPU (Vulkan, Metal, DX12) with no
//! vendor toolkit. Built so far: the device context ([`Gpu`]: adapter, device, pipelines,
//! built once per process) and Goldilocks arithmetic in WGSL on `u32` pairs
//! (`shaders/field.wgsl`), checked bit for bit against the CPU field. Still to come (issue 9):
//! batched NTT and coset LDE, Merkle trees with the engine's hash, FRI folding, quotient and
//! DEEP kernels behind the prover's `Backend` traits, and the `--backend` choice.

use std::fmt;

/// Why the GPU context could not be built or a kernel could not run.
#[derive(Debug)]
pub enum GpuError {
    /// No adapter (no GPU, no driver: on Linux, a Vulkan ICD such as Mesa's lavapipe).
    NoAdapter(String),
    /// The adapter refused a device with the limits the kernels need.
    Device(String),
    /// A buffer larger than the device allows in one binding.
    TooLarge { bytes: u64, limit: u64 },
    /// Mapping a result buffer failed (a lost device, say).
    Map(String),
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuError::NoAdapter(why) => write!(f, "no GPU adapter: {why}"),
            GpuError::Device(why) => write!(f, "the GPU adapter refused a device: {why}"),
            GpuError::TooLarge { bytes, limit } => write!(f, "a {bytes}-byte buffer is over the device's binding limit of {limit} bytes"),
            GpuError::Map(why) => write!(f, "reading a GPU buffer back failed: {why}"),
        }
    }
}

impl std::error::Error for GpuError {}

/// Goldilocks: `p = 2^64 - 2^32 + 1`.
pub const P: u64 = 0xffff_ffff_0000_0001;

/// Elementwise field operations of the `elementwise` kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum FieldOp {
    Add = 0,
    Sub = 1,
    Mul = 2,
}

/// Threads per workgroup of the kernels.
const WORKGROUP: u32 = 64;
/// The most workgroups in one dimension of a dispatch.
const MAX_GROUPS_PER_DIM: u32 = 65_535;

/// The adapter, device, queue and pipelines, built once per process.
#[derive(Debug)]
pub struct Gpu {
    pub info: wgpu::AdapterInfo,
    device: wgpu::Device,
    queue: wgpu::Queue,
    limits: wgpu::Limits,
    field_layout: wgpu::BindGroupLayout,
    elementwise: wgpu::ComputePipeline,
}

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Storage { read_only }, has_dynamic_offset: false, min_binding_size: None },
        count: None,
    }
}

impl Gpu {
    /// Builds the context on the best adapter (a discrete GPU first; `WGPU_BACKEND` and
    /// `WGPU_ADAPTER_NAME` choose, as in wgpu).
    pub fn new() -> Result<Self, GpuError> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        if wgpu::Backends::from_env().is_none() {
            desc.backends = wgpu::Backends::PRIMARY;
        }
        let instance = wgpu::Instance::new(desc);
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions { power_preference: wgpu::PowerPreference::HighPerformance, ..Default::default() }))
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        // The adapter's own limits: the largest buffers and dispatches it allows.
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("sigil"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| GpuError::Device(e.to_string()))?;
        let module = device.create_shader_module(wgpu::include_wgsl!("shaders/field.wgsl"));
        let field_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("field elementwise"),
            entries: &[
                storage_entry(0, true),
                storage_entry(1, true),
                storage_entry(2, false),
                wgpu::BindGroupLayoutEntry {
                    binding: 3,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Uniform, has_dynamic_offset: false, min_binding_size: None },
                    count: None,
                },
            ],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor { label: Some("field elementwise"), bind_group_layouts: &[Some(&field_layout)], ..Default::default() });
        let elementwise = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("field elementwise"),
            layout: Some(&layout),
            module: &module,
            entry_point: Some("elementwise"),
            compilation_options: Default::default(),
            cache: None,
        });
        Ok(Self { info, device, queue, limits, field_layout, elementwise })
    }

    /// The adapter's name, vendor and backend, in a line.
    pub fn describe(&self) -> String {
        format!("{} ({:?}, {:?}, driver {} {})", self.info.name, self.info.device_type, self.info.backend, self.info.driver, self.info.driver_info)
    }

    fn storage(&self, label: &str, words: &[u32]) -> Result<wgpu::Buffer, GpuError> {
        use wgpu::util::DeviceExt;
        let bytes = std::mem::size_of_val(words) as u64;
        let limit = self.limits.max_storage_buffer_binding_size;
        if bytes > limit {
            return Err(GpuError::TooLarge { bytes, limit });
        }
        Ok(self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(words),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        }))
    }

    /// `lhs[i] (op) rhs[i]` for canonical field elements (as `u64`), on the device.
    pub fn elementwise(&self, op: FieldOp, lhs: &[u64], rhs: &[u64]) -> Result<Vec<u64>, GpuError> {
        assert_eq!(lhs.len(), rhs.len(), "operands of one length");
        let n = lhs.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let words = |v: &[u64]| -> Vec<u32> { v.iter().flat_map(|&x| [x as u32, (x >> 32) as u32]).collect() };
        let a = self.storage("lhs", &words(lhs))?;
        let b = self.storage("rhs", &words(rhs))?;
        let bytes = 8 * n as u64;
        let out = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("out"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let read = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        use wgpu::util::DeviceExt;
        let params = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck::cast_slice(&[op as u32, n as u32]),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("field elementwise"),
            layout: &self.field_layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: a.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: b.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: out.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 3, resource: params.as_entire_binding() },
            ],
        });
        let (x, y) = dispatch_size(n as u32);
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("field elementwise") });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("field elementwise"), timestamp_writes: None });
            pass.set_pipeline(&self.elementwise);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(x, y, 1);
        }
        enc.copy_buffer_to_buffer(&out, 0, &read, 0, bytes);
        self.queue.submit([enc.finish()]);
        let slice = read.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| GpuError::Map(e.to_string()))?;
        rx.recv().map_err(|e| GpuError::Map(e.to_string()))?.map_err(|e| GpuError::Map(e.to_string()))?;
        let result: Vec<u64> = {
            let data = slice.get_mapped_range().map_err(|e| GpuError::Map(e.to_string()))?;
            bytemuck::cast_slice::<u8, u32>(&data).chunks_exact(2).map(|w| w[0] as u64 | (w[1] as u64) << 32).collect()
        };
        read.unmap();
        Ok(result)
    }
}

/// Workgroups for `n` threads: `(x, y)` with `x <= 65,535`; the kernels index
/// `gid.x + gid.y * x * WORKGROUP`.
pub fn dispatch_size(n: u32) -> (u32, u32) {
    let groups = n.div_ceil(WORKGROUP);
    if groups <= MAX_GROUPS_PER_DIM { (groups.max(1), 1) } else { (MAX_GROUPS_PER_DIM, groups.div_ceil(MAX_GROUPS_PER_DIM)) }
}
