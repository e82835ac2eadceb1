// Elementwise field operations (tests and the kernel throughput bench).

struct Params {
    op: u32,
    len: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> lhs: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read> rhs: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec2<u32>>;
@group(0) @binding(3) var<uniform> params: Params;

// lhs (op) rhs: op 0 add, 1 subtract, 2 multiply.
@compute @workgroup_size(64)
fn elementwise(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = thread_index(gid, groups);
    if (i >= params.len) {
        return;
    }
    let a = lhs[i];
    let b = rhs[i];
    var r: vec2<u32>;
    switch params.op {
        case 0u: { r = gl_add(a, b); }
        case 1u: { r = gl_sub(a, b); }
        default: { r = gl_mul(a, b); }
    }
    out[i] = r;
}
