// FRI folding, on extension elements vec4(c0.lo, c0.hi, c1.lo,
// c1.hi). Prefixed by field.wgsl.

struct FoldParams {
    // Outputs in this part, and the first one written to fold_out_b (at its index 0): a fold
    // feeding another fold writes the low and high halves of its output apart.
    half: u32,
    split: u32,
    // (2 x_0)^-1 for the part's first point x_0, and w^-1 for the input's domain shift * <w>.
    inv_two_shift: vec2<u32>,
    inv_w: vec2<u32>,
    // beta, and 1/2.
    _pad1: vec2<u32>,
    beta: vec4<u32>,
    two_inv: vec2<u32>,
    _pad2: vec2<u32>,
}

// The low and high halves of this part: points j and j + N/2.
@group(0) @binding(0) var<storage, read> fold_lo: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> fold_hi: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> fold_out: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> fold_out_b: array<vec4<u32>>;
@group(0) @binding(4) var<uniform> fp: FoldParams;

// f'(x^2) = (f(x) + f(-x)) / 2 + beta (f(x) - f(-x)) / (2x), x = shift w^j, -x = shift w^(j + N/2).
@compute @workgroup_size(64)
fn fold(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let j = thread_index(gid, groups);
    if (j >= fp.half) {
        return;
    }
    let a = fold_lo[j];
    let b = fold_hi[j];
    let inv_2x = gl_mul(fp.inv_two_shift, gl_pow32(fp.inv_w, j));
    let even = ef_scale(ef_add(a, b), fp.two_inv);
    let odd = ef_scale(ef_mul(fp.beta, ef_sub(a, b)), inv_2x);
    let v = ef_add(even, odd);
    if (j < fp.split) {
        fold_out[j] = v;
    } else {
        fold_out_b[j - fp.split] = v;
    }
}
