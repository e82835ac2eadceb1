// Moves the rows of a row-major matrix into a (possibly taller) zeroed one, row i to row
// bitrev(i) of the target's height when asked, times scale[i] when asked. Prefixed by
// field.wgsl.

struct ScatterParams {
    // Elements moved: rows * width.
    count: u32,
    width: u32,
    // log2 of the target's height (the bit-reversal's width).
    log_dst: u32,
    // 1: bit-reverse the row index; 2: multiply by scale[row].
    flags: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> scale: array<vec2<u32>>;
@group(0) @binding(3) var<uniform> sp: ScatterParams;

@compute @workgroup_size(64)
fn scatter(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let t = thread_index(gid, groups);
    if (t >= sp.count) {
        return;
    }
    let row = t / sp.width;
    let col = t % sp.width;
    var v = src[t];
    if ((sp.flags & 2u) != 0u) {
        v = gl_mul(v, scale[row]);
    }
    var to = row;
    if ((sp.flags & 1u) != 0u && sp.log_dst > 0u) {
        to = reverseBits(row) >> (32u - sp.log_dst);
    }
    dst[to * sp.width + col] = v;
}
