// The DEEP composition over the LDE domain, on extension elements. Prefixed by field.wgsl.

struct DeepParams {
    // Rows of this part, the first row's index in the whole domain, the matrix's width and
    // the index of its first column among all of the table's columns.
    rows: u32,
    first_row: u32,
    width: u32,
    first_col: u32,
    // The matrix's row read for the part's row 0 (0 for a slice uploaded for the part, the
    // part's first row for a matrix kept whole on the device).
    src_row0: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    shift: vec2<u32>,
    w: vec2<u32>,
    z: vec4<u32>,
    zg: vec4<u32>,
    a_z: vec4<u32>,
    a_zg: vec4<u32>,
}

@group(0) @binding(0) var<storage, read> deep_mat: array<vec2<u32>>;
// Per column: (cz, czg), czg zero where a column has none.
@group(0) @binding(1) var<storage, read> deep_coeffs: array<vec4<u32>>;
// Per row: (sum cz p, sum czg p).
@group(0) @binding(2) var<storage, read_write> deep_acc: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> deep_out: array<vec4<u32>>;
@group(0) @binding(4) var<uniform> dp: DeepParams;

// Adds one matrix's columns into the two combinations of every row of the part.
@compute @workgroup_size(64)
fn deep_accumulate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = thread_index(gid, groups);
    if (i >= dp.rows) {
        return;
    }
    var a = deep_acc[2u * i];
    var b = deep_acc[2u * i + 1u];
    for (var c = 0u; c < dp.width; c = c + 1u) {
        let v = deep_mat[(dp.src_row0 + i) * dp.width + c];
        let k = dp.first_col + c;
        a = ef_add(a, ef_scale(deep_coeffs[2u * k], v));
        b = ef_add(b, ef_scale(deep_coeffs[2u * k + 1u], v));
    }
    deep_acc[2u * i] = a;
    deep_acc[2u * i + 1u] = b;
}

// f(x) = ((a - a_z)(x - zg) + (b - a_zg)(x - z)) / ((x - z)(x - zg)).
@compute @workgroup_size(64)
fn deep_finish(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = thread_index(gid, groups);
    if (i >= dp.rows) {
        return;
    }
    let x = ef_base(gl_mul(dp.shift, gl_pow32(dp.w, dp.first_row + i)));
    let xz = ef_sub(x, dp.z);
    let xzg = ef_sub(x, dp.zg);
    let num = ef_add(ef_mul(ef_sub(deep_acc[2u * i], dp.a_z), xzg), ef_mul(ef_sub(deep_acc[2u * i + 1u], dp.a_zg), xz));
    deep_out[i] = ef_mul(num, ef_inv(ef_mul(xz, xzg)));
}
