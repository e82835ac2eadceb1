// Batched radix-2 NTT over the columns of a row-major matrix (`width` columns), and the
// permutations and scalings around it. Prefixed by field.wgsl.

struct ButterflyParams {
    // Half the size of the blocks merged in this stage.
    half: u32,
    // Index step into the twiddle table: twiddle j of this stage is tw[j * stride].
    stride: u32,
    width: u32,
    // Butterflies in the dispatch: rows / 2 * width.
    count: u32,
}

@group(0) @binding(0) var<storage, read_write> data: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read> tw: array<vec2<u32>>;
@group(0) @binding(2) var<uniform> bp: ButterflyParams;

// One decimation-in-time stage on bit-reversed input: (u, v) -> (u + w v, u - w v).
@compute @workgroup_size(64)
fn butterfly(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let t = thread_index(gid, groups);
    if (t >= bp.count) {
        return;
    }
    let col = t % bp.width;
    let b = t / bp.width;
    let j = b & (bp.half - 1u);
    let block = b / bp.half;
    let i0 = (block * 2u * bp.half + j) * bp.width + col;
    let i1 = i0 + bp.half * bp.width;
    let u = data[i0];
    let v = gl_mul(data[i1], tw[j * bp.stride]);
    data[i0] = gl_add(u, v);
    data[i1] = gl_sub(u, v);
}
