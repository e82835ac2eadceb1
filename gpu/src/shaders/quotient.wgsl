// The quotient: a table's constraints, folded with powers of alpha and divided by the vanishing
// polynomial, at every point of the quotient domain, one thread per point. The constraints are
// a program (gpu/src/quotient.rs) put in place of BODY: as straight-line code generated from
// it, or as the interpreter of quotient_interpreter.wgsl. Prefixed by field.wgsl.

struct QuotientParams {
    points: u32,
    // Q - 1: point i's vanishing value is zh[i & q_mask].
    q_mask: u32,
    instructions: u32,
    selectors: u32,
    // Offsets in the constant pool of Z_H's values and their inverses (Q each).
    zh_at: u32,
    zh_inv_at: u32,
    _pad0: u32,
    _pad1: u32,
    // Per matrix (main, preprocessed, LogUp): its width, rows per point, rows to the next
    // trace row, and rows - 1 (the row index wraps).
    main_geom: vec4<u32>,
    prep_geom: vec4<u32>,
    perm_geom: vec4<u32>,
    // The domain's first point, its generator, the trace height n, and g^-1.
    shift: vec2<u32>,
    w: vec2<u32>,
    n: vec2<u32>,
    g_inv: vec2<u32>,
}

@group(0) @binding(0) var<storage, read> q_main: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read> q_prep: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> q_perm: array<vec2<u32>>;
// Four words per instruction: opcode, destination, operands.
@group(0) @binding(3) var<storage, read> q_code: array<vec4<u32>>;
// Constants (base ones with a zero high part); alpha first.
@group(0) @binding(4) var<storage, read> q_consts: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read_write> q_out: array<vec4<u32>>;
@group(0) @binding(6) var<uniform> qp: QuotientParams;

// The element index of column `col` of point i's row (or the next trace row's).
fn q_index(geom: vec4<u32>, i: u32, col: u32, next: u32) -> u32 {
    var row = i * geom.y;
    if (next != 0u) {
        row = (row + geom.z) & geom.w;
    }
    return row * geom.x + col;
}

@compute @workgroup_size(64)
fn quotient(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = thread_index(gid, groups);
    if (i >= qp.points) {
        return;
    }
    let zi = i & qp.q_mask;
    // Row selectors: z / (n (x - 1)), z g^-1 / (n (x - g^-1)), x - g^-1; one inversion.
    var sel: array<vec2<u32>, 3>;
    if (qp.selectors != 0u) {
        let x = gl_mul(qp.shift, gl_pow32(qp.w, i));
        let z = q_consts[qp.zh_at + zi].xy;
        let d1 = gl_mul(gl_sub(x, gl_one()), qp.n);
        let d2 = gl_mul(gl_sub(x, qp.g_inv), qp.n);
        let inv = gl_inv(gl_mul(d1, d2));
        sel[0] = gl_mul(z, gl_mul(d2, inv));
        sel[1] = gl_mul(gl_mul(z, qp.g_inv), gl_mul(d1, inv));
        sel[2] = gl_sub(x, qp.g_inv);
    }
    let alpha = q_consts[0];
    var acc = vec4<u32>(0u, 0u, 0u, 0u);
    // BODY
    q_out[i] = ef_scale(acc, q_consts[qp.zh_inv_at + zi].xy);
}
