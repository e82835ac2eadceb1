// Batched radix-2 NTT over the columns of a row-major matrix (`width` columns) on
// bit-reversed input (decimation in time), up to 10 stages per pass in workgroup memory: a
// pass over stages s .. s+k-1 touches, for each column, the 2^k rows that differ in bits
// s .. s+k-1 of their index, so one workgroup loads them, runs the k stages and stores them.
// A transform of 2^20 rows takes two passes over memory. Software adapters (lavapipe), where
// workgroup barriers cost more than memory, take one stage per pass instead (`butterfly`).
// Prefixed by field.wgsl.

struct NttParams {
    // log2 of the transform's size, the pass's first stage and its number of stages.
    log_n: u32,
    s: u32,
    k: u32,
    width: u32,
    // Workgroups in the pass: width * 2^(log_n - k).
    groups: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> data: array<vec2<u32>>;
// w^j for j < 2^log_n / 2, w of order 2^log_n (or its inverse).
@group(0) @binding(1) var<storage, read> tw: array<vec2<u32>>;
@group(0) @binding(2) var<uniform> np: NttParams;

const NTT_THREADS: u32 = 256u;
const NTT_BLOCK: u32 = 1024u;
var<workgroup> block: array<vec2<u32>, 1024>;

@compute @workgroup_size(256)
fn ntt_pass(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    // Uniform across the workgroup, so the barriers below are reached by every thread.
    let g = wid.x + wid.y * nwg.x;
    let in_range = g < np.groups;
    let size = 1u << np.k;
    let col = g % np.width;
    let rest = g / np.width;
    let low = rest & ((1u << np.s) - 1u);
    let high = rest >> np.s;
    let base = (high << (np.s + np.k)) | low;
    if (in_range) {
        for (var l = lid; l < size; l = l + NTT_THREADS) {
            block[l] = data[(base | (l << np.s)) * np.width + col];
        }
    }
    workgroupBarrier();
    for (var u = 0u; u < np.k; u = u + 1u) {
        let half = 1u << u;
        // Twiddle of stage t = s + u for in-stage index j: w^(j * 2^log_n / 2^(t+1)).
        let shift = np.log_n - (np.s + u + 1u);
        if (in_range) {
            for (var b = lid; b < size / 2u; b = b + NTT_THREADS) {
                let jl = b & (half - 1u);
                let i0 = ((b >> u) << (u + 1u)) | jl;
                let i1 = i0 + half;
                let j = (jl << np.s) | low;
                let x = block[i0];
                let y = gl_mul(block[i1], tw[j << shift]);
                block[i0] = gl_add(x, y);
                block[i1] = gl_sub(x, y);
            }
        }
        workgroupBarrier();
    }
    if (in_range) {
        for (var l = lid; l < size; l = l + NTT_THREADS) {
            data[(base | (l << np.s)) * np.width + col] = block[l];
        }
    }
}

// One stage per pass.
struct ButterflyParams {
    // Half the size of the blocks merged in this stage.
    half: u32,
    // Index step into the twiddle table: twiddle j of this stage is btw[j * stride].
    stride: u32,
    width: u32,
    // Butterflies in the dispatch: rows / 2 * width.
    count: u32,
}

@group(0) @binding(0) var<storage, read_write> bdata: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read> btw: array<vec2<u32>>;
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
    let u = bdata[i0];
    let v = gl_mul(bdata[i1], btw[j * bp.stride]);
    bdata[i0] = gl_add(u, v);
    bdata[i1] = gl_sub(u, v);
}
