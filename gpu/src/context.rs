//! The device context: adapter, device, queue and every kernel's pipeline, built once per
//! process; buffers, dispatches and read-back.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::GpuError;

/// Threads per workgroup of every kernel.
pub(crate) const WORKGROUP: u32 = 64;
/// The most workgroups in one dimension of a dispatch.
const MAX_GROUPS_PER_DIM: u32 = 65_535;

/// Workgroups for `n` threads: `(x, y)` with `x <= 65,535`; the kernels index
/// `gid.x + gid.y * x * WORKGROUP`.
pub fn dispatch_size(n: u32) -> (u32, u32) {
    group_grid(n.div_ceil(WORKGROUP))
}

/// `groups` workgroups as `(x, y)` with `x <= 65,535` (some past `groups` when `y > 1`).
fn group_grid(groups: u32) -> (u32, u32) {
    if groups <= MAX_GROUPS_PER_DIM { (groups.max(1), 1) } else { (MAX_GROUPS_PER_DIM, groups.div_ceil(MAX_GROUPS_PER_DIM)) }
}

/// One compute pipeline and its explicit bind-group layout: storage buffers first (in the
/// order of their bindings), then one uniform buffer of parameters.
#[derive(Debug)]
pub(crate) struct Kernel {
    label: &'static str,
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
}

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Storage { read_only }, has_dynamic_offset: false, min_binding_size: None },
        count: None,
    }
}

impl Kernel {
    pub(crate) fn new(device: &wgpu::Device, module: &wgpu::ShaderModule, entry: &'static str, read_only: &[bool]) -> Self {
        let mut entries: Vec<_> = read_only.iter().enumerate().map(|(i, &r)| storage_entry(i as u32, r)).collect();
        entries.push(wgpu::BindGroupLayoutEntry {
            binding: read_only.len() as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Uniform, has_dynamic_offset: false, min_binding_size: None },
            count: None,
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(entry), entries: &entries });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor { label: Some(entry), bind_group_layouts: &[Some(&layout)], ..Default::default() });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: Some(&pipeline_layout),
            module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        Self { label: entry, layout, pipeline }
    }
}

/// The kernels, by name.
#[derive(Debug)]
pub(crate) struct Kernels {
    pub elementwise: Kernel,
    pub ntt_pass: Kernel,
    pub butterfly: Kernel,
    pub scatter: Kernel,
    pub hash_rows: Kernel,
    pub hash_rows_long: Kernel,
    pub hash_nodes: Kernel,
    pub fold: Kernel,
    pub deep_accumulate: Kernel,
    pub deep_finish: Kernel,
    pub place: Kernel,
}

/// Each kernel's source: the field arithmetic, then the kernel's own file.
macro_rules! wgsl {
    ($device:expr, $file:literal) => {
        $device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some($file),
            source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(concat!(include_str!("shaders/field.wgsl"), include_str!(concat!("shaders/", $file))))),
        })
    };
}

/// The adapter, device, queue and pipelines, built once per process.
#[derive(Debug)]
pub struct Gpu {
    pub info: wgpu::AdapterInfo,
    pub(crate) device: wgpu::Device,
    queue: wgpu::Queue,
    /// The largest storage binding used, in bytes: the device's limit, or less when asked
    /// ([`Gpu::limit_bindings`]).
    binding_limit: u64,
    pub(crate) kernels: Kernels,
    /// The first error the device reported outside a call's own checks (validation, out of
    /// memory, device lost); every later call fails with it.
    fault: Arc<Mutex<Option<String>>>,
    /// NTT stages in workgroup memory, several per pass (hardware GPUs), rather than one
    /// stage per pass (software adapters, where barriers are dear).
    pub(crate) blocked_ntt: bool,
    /// This context's number in the process: device matrices name the context they live on.
    pub(crate) id: usize,
    /// Twiddle tables by (log size, inverse).
    pub(crate) twiddles: Mutex<std::collections::HashMap<(usize, bool), Arc<wgpu::Buffer>>>,
    /// The quotient's pipelines, by the code put in the kernel (`quotient.rs`).
    pub(crate) quotient_pipelines: Arc<QuotientPipelines>,
    pub(crate) quotient_kernel: QuotientKernel,
}

/// An error and its sources, in one line: wgpu's own Display names only the kind.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(c.to_string().trim());
        cur = c.source();
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The adapter a context is built on (see [`Gpu::new`]).
fn pick_adapter() -> Result<wgpu::Adapter, GpuError> {
    if std::env::var("SIGIL_GPU").is_ok_and(|v| v == "off") {
        return Err(GpuError::NoAdapter("SIGIL_GPU=off".into()));
    }
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    if wgpu::Backends::from_env().is_none() {
        desc.backends = wgpu::Backends::PRIMARY;
    }
    let backends = desc.backends;
    let instance = wgpu::Instance::new(desc);
    // WGPU_ADAPTER_NAME names one (a substring of its name), else the high-performance one
    // (WGPU_POWER_PREF may ask for low power).
    match std::env::var("WGPU_ADAPTER_NAME") {
        Ok(name) => {
            let want = name.to_lowercase();
            let all = pollster::block_on(instance.enumerate_adapters(backends));
            let names: Vec<String> = all.iter().map(|a| a.get_info().name).collect();
            all.into_iter()
                .find(|a| a.get_info().name.to_lowercase().contains(&want))
                .ok_or_else(|| GpuError::NoAdapter(format!("WGPU_ADAPTER_NAME={name} names none of the adapters ({})", names.join(", "))))
        }
        Err(_) => {
            let power_preference = wgpu::PowerPreference::from_env().unwrap_or(wgpu::PowerPreference::HighPerformance);
            pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions { power_preference, ..Default::default() })).map_err(|e| GpuError::NoAdapter(e.to_string()))
        }
    }
}

impl Gpu {
    /// Builds the context on the best adapter (a discrete GPU first; `WGPU_BACKEND` and
    /// `WGPU_ADAPTER_NAME` choose, as in wgpu). `SIGIL_GPU=off` hides every adapter, as on a
    /// machine without a GPU driver.
    pub fn new() -> Result<Self, GpuError> {
        Self::on(pick_adapter()?)
    }

    /// Builds the context on the best adapter when it is a hardware one; a software adapter
    /// (llvmpipe, lavapipe) is refused before a device is made or a kernel compiled, which is
    /// most of what building a context costs there (about 0.3 s of the 0.35 s here).
    pub fn new_hardware() -> Result<Self, GpuError> {
        let adapter = pick_adapter()?;
        let info = adapter.get_info();
        if info.device_type == wgpu::DeviceType::Cpu {
            return Err(GpuError::SoftwareAdapter(info.name));
        }
        Self::on(adapter)
    }

    /// Builds the context on `adapter`: the device, its queue and every kernel's pipeline.
    fn on(adapter: wgpu::Adapter) -> Result<Self, GpuError> {
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
        let fault: Arc<Mutex<Option<String>>> = Arc::default();
        {
            let fault = fault.clone();
            device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                let mut f = fault.lock().unwrap_or_else(|p| p.into_inner());
                f.get_or_insert_with(|| error_chain(&e));
            }));
        }
        {
            let fault = fault.clone();
            device.set_device_lost_callback(move |reason, msg| {
                let mut f = fault.lock().unwrap_or_else(|p| p.into_inner());
                f.get_or_insert_with(|| format!("device lost ({reason:?}): {msg}"));
            });
        }
        let field_ops = wgsl!(device, "elementwise.wgsl");
        let ntt = wgsl!(device, "ntt.wgsl");
        let scatter = wgsl!(device, "scatter.wgsl");
        let blake3 = wgsl!(device, "blake3.wgsl");
        let fri = wgsl!(device, "fri.wgsl");
        let deep = wgsl!(device, "deep.wgsl");
        let place = wgsl!(device, "place.wgsl");
        let kernels = Kernels {
            elementwise: Kernel::new(&device, &field_ops, "elementwise", &[true, true, false]),
            ntt_pass: Kernel::new(&device, &ntt, "ntt_pass", &[false, true]),
            butterfly: Kernel::new(&device, &ntt, "butterfly", &[false, true]),
            scatter: Kernel::new(&device, &scatter, "scatter", &[true, false, true]),
            hash_rows: Kernel::new(&device, &blake3, "hash_rows", &[true, false]),
            hash_rows_long: Kernel::new(&device, &blake3, "hash_rows_long", &[true, false]),
            hash_nodes: Kernel::new(&device, &blake3, "hash_nodes", &[true, true, false]),
            fold: Kernel::new(&device, &fri, "fold", &[true, true, false, false]),
            deep_accumulate: Kernel::new(&device, &deep, "deep_accumulate", &[true, true, false, false]),
            deep_finish: Kernel::new(&device, &deep, "deep_finish", &[true, true, false, false]),
            place: Kernel::new(&device, &place, "place", &[true, false]),
        };
        let binding_limit = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
        let blocked_ntt = info.device_type != wgpu::DeviceType::Cpu;
        static CONTEXTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let id = CONTEXTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let gpu = Self { info, device, queue, binding_limit, kernels, fault, blocked_ntt, id, twiddles: Default::default(), quotient_pipelines: Default::default(), quotient_kernel: QuotientKernel::Tiered };
        gpu.check()?;
        Ok(gpu)
    }

    /// Uses storage bindings of at most `bytes` (at least 256), splitting larger data into
    /// several buffers as it would past the device's own limit. For tests of the splitting.
    pub fn limit_bindings(&mut self, bytes: u64) {
        self.binding_limit = self.binding_limit.min(bytes.max(256));
    }

    /// Runs the NTT stages in workgroup memory, ten per pass (`true`, the default on hardware
    /// GPUs), or one stage per pass (`false`, the default on software adapters). Both give the
    /// same values; the tests run both.
    pub fn use_blocked_ntt(&mut self, blocked: bool) {
        self.blocked_ntt = blocked;
    }

    /// The largest storage binding used, in bytes.
    pub fn binding_limit(&self) -> u64 {
        self.binding_limit
    }

    /// Destroys the device, as a lost one would be: every later call fails with a device
    /// error. For the tests of the CPU fallback.
    pub fn destroy(&self) {
        self.device.destroy();
    }

    /// The adapter's name, type, backend and driver, in a line.
    pub fn describe(&self) -> String {
        format!("{} ({:?}, {:?}, driver {} {})", self.info.name, self.info.device_type, self.info.backend, self.info.driver, self.info.driver_info)
    }

    /// Fails if the device reported an error (validation, out of memory, lost) since it was
    /// built.
    pub(crate) fn check(&self) -> Result<(), GpuError> {
        match self.fault.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(why) => Err(GpuError::Device(why.clone())),
            None => Ok(()),
        }
    }

    /// The most `elem_bytes`-sized items one binding holds, rounded down to a power of two.
    pub(crate) fn max_items(&self, elem_bytes: u64) -> usize {
        let n = (self.binding_limit / elem_bytes).max(1);
        1usize << (63 - n.leading_zeros())
    }

    /// A storage buffer holding `words`.
    pub(crate) fn upload(&self, label: &str, words: &[u32]) -> Result<wgpu::Buffer, GpuError> {
        let buf = self.zeroed(label, std::mem::size_of_val(words) as u64)?;
        if !words.is_empty() {
            // Through the queue rather than a buffer mapped at creation: on a lost device
            // that one panics, this one reports.
            self.queue.write_buffer(&buf, 0, bytemuck::cast_slice(words));
        }
        Ok(buf)
    }

    /// A zeroed storage buffer of `bytes` bytes (wgpu zeroes new buffers).
    pub(crate) fn zeroed(&self, label: &str, bytes: u64) -> Result<wgpu::Buffer, GpuError> {
        self.check()?;
        if bytes > self.binding_limit {
            return Err(GpuError::TooLarge { bytes, limit: self.binding_limit });
        }
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(4),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }))
    }

    pub(crate) fn encoder(&self, label: &str) -> wgpu::CommandEncoder {
        self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) })
    }

    /// Records one dispatch of `kernel` over `threads` threads with `buffers` bound in order
    /// and `params` as its uniform.
    pub(crate) fn dispatch(&self, enc: &mut wgpu::CommandEncoder, kernel: &Kernel, buffers: &[&wgpu::Buffer], params: &[u32], threads: usize) {
        self.dispatch_groups(enc, kernel, buffers, params, threads.div_ceil(WORKGROUP as usize));
    }

    /// Records one dispatch of `groups` workgroups (two dimensions past 65,535).
    pub(crate) fn dispatch_groups(&self, enc: &mut wgpu::CommandEncoder, kernel: &Kernel, buffers: &[&wgpu::Buffer], params: &[u32], groups: usize) {
        if groups == 0 {
            return;
        }
        // Uniform buffers are read in 16-byte rows.
        let mut words = params.to_vec();
        words.resize(params.len().div_ceil(4).max(1) * 4, 0);
        let uniform = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(kernel.label),
            size: 4 * words.len() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.queue.write_buffer(&uniform, 0, bytemuck::cast_slice(&words));
        let mut entries: Vec<wgpu::BindGroupEntry<'_>> = buffers.iter().enumerate().map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() }).collect();
        entries.push(wgpu::BindGroupEntry { binding: buffers.len() as u32, resource: uniform.as_entire_binding() });
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor { label: Some(kernel.label), layout: &kernel.layout, entries: &entries });
        let (x, y) = group_grid(groups as u32);
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(kernel.label), timestamp_writes: None });
        pass.set_pipeline(&kernel.pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(x, y, 1);
    }

    /// Submits `enc` after copying each `(buffer, bytes)` of `reads` to a mappable one, waits,
    /// and returns their words.
    pub(crate) fn finish(&self, mut enc: wgpu::CommandEncoder, reads: &[(&wgpu::Buffer, u64)]) -> Result<Vec<Vec<u32>>, GpuError> {
        let staging: Vec<wgpu::Buffer> = reads
            .iter()
            .map(|&(buf, bytes)| {
                let s = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("read back"),
                    size: bytes.max(4),
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                if bytes > 0 {
                    enc.copy_buffer_to_buffer(buf, 0, &s, 0, bytes);
                }
                s
            })
            .collect();
        self.queue.submit([enc.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        for (i, s) in staging.iter().enumerate() {
            let tx = tx.clone();
            s.slice(..).map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send((i, r));
            });
        }
        drop(tx);
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| GpuError::Map(e.to_string()))?;
        self.check()?;
        for _ in 0..staging.len() {
            let (_, r) = rx.recv().map_err(|e| GpuError::Map(e.to_string()))?;
            r.map_err(|e| GpuError::Map(e.to_string()))?;
        }
        let mut out = Vec::with_capacity(staging.len());
        for (s, &(_, bytes)) in staging.iter().zip(reads) {
            {
                let data = s.slice(..).get_mapped_range().map_err(|e| GpuError::Map(e.to_string()))?;
                out.push(bytemuck::cast_slice::<u8, u32>(&data[..bytes as usize]).to_vec());
            }
            s.unmap();
        }
        self.check()?;
        Ok(out)
    }

    /// `lhs[i] (op) rhs[i]` for canonical field elements (as `u64`), on the device.
    pub fn elementwise(&self, op: crate::FieldOp, lhs: &[u64], rhs: &[u64]) -> Result<Vec<u64>, GpuError> {
        if lhs.len() != rhs.len() {
            return Err(GpuError::Input(format!("operands of lengths {} and {}", lhs.len(), rhs.len())));
        }
        let n = lhs.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let words = |v: &[u64]| -> Vec<u32> { v.iter().flat_map(|&x| [x as u32, (x >> 32) as u32]).collect() };
        let a = self.upload("lhs", &words(lhs))?;
        let b = self.upload("rhs", &words(rhs))?;
        let out = self.zeroed("out", 8 * n as u64)?;
        let mut enc = self.encoder("field elementwise");
        self.dispatch(&mut enc, &self.kernels.elementwise, &[&a, &b, &out], &[op as u32, n as u32], n);
        let got = self.finish(enc, &[(&out, 8 * n as u64)])?;
        Ok(got[0].chunks_exact(2).map(|w| w[0] as u64 | (w[1] as u64) << 32).collect())
    }
}

/// How the device runs a quotient program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotientKernel {
    /// Generated code once its pipeline is ready (compiled in the background from the
    /// program's first use), the interpreter until then. The default.
    Tiered,
    /// Generated code, its pipeline compiled when first needed (long programs interpreted).
    Generated,
    /// The interpreter, always.
    Interpreted,
}

/// The quotient's pipelines, by the code put in the kernel, and those being compiled.
#[derive(Debug, Default)]
pub(crate) struct QuotientPipelines {
    pub(crate) ready: Mutex<HashMap<String, Arc<Kernel>>>,
    /// Quotients run as generated code, and interpreted.
    pub(crate) runs: [std::sync::atomic::AtomicUsize; 2],
    pub(crate) pending: Mutex<HashSet<String>>,
    /// Bodies whose compile panicked (a lost device): interpreted, never tried again.
    pub(crate) given_up: Mutex<HashSet<String>>,
    /// Held while a background compile runs: one at a time, beside the prover's own work.
    pub(crate) compiling: Mutex<()>,
}
