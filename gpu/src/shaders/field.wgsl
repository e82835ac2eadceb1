// Goldilocks arithmetic (p = 2^64 - 2^32 + 1) on u32 pairs: 64-bit integers are not portable
// in WGSL. An element is vec2<u32>(low word, high word), canonical (< p) on input and output.

// 2^64 - p = 2^32 - 1: adding it is subtracting p modulo 2^64.
const EPSILON: u32 = 0xffffffffu;
const P_HI: u32 = 0xffffffffu;
const P_LO: u32 = 1u;

fn ge_p(a: vec2<u32>) -> bool {
    return a.y == P_HI && a.x >= P_LO;
}

// a + b as a 64-bit sum and its carry.
fn add64(a: vec2<u32>, b: vec2<u32>) -> vec3<u32> {
    let lo = a.x + b.x;
    let c0 = select(0u, 1u, lo < a.x);
    let hi1 = a.y + b.y;
    let c1 = select(0u, 1u, hi1 < a.y);
    let hi = hi1 + c0;
    let c2 = select(0u, 1u, hi < hi1);
    return vec3<u32>(lo, hi, c1 | c2);
}

// a - b as a 64-bit difference and its borrow.
fn sub64(a: vec2<u32>, b: vec2<u32>) -> vec3<u32> {
    let lo = a.x - b.x;
    let b0 = select(0u, 1u, a.x < b.x);
    let hi1 = a.y - b.y;
    let b1 = select(0u, 1u, a.y < b.y);
    let hi = hi1 - b0;
    let b2 = select(0u, 1u, hi1 < b0);
    return vec3<u32>(lo, hi, b1 | b2);
}

fn gl_add(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let s = add64(a, b);
    var r = s.xy;
    if (s.z == 1u) {
        // a + b - p = (a + b - 2^64) + EPSILON, below p.
        r = add64(r, vec2<u32>(EPSILON, 0u)).xy;
    } else if (ge_p(r)) {
        r = sub64(r, vec2<u32>(P_LO, P_HI)).xy;
    }
    return r;
}

fn gl_sub(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let d = sub64(a, b);
    var r = d.xy;
    if (d.z == 1u) {
        // a - b + p = (a - b + 2^64) - EPSILON.
        r = sub64(r, vec2<u32>(EPSILON, 0u)).xy;
    }
    return r;
}

// The full 64-bit product of two u32s, as (low, high).
fn mul32(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    let lo = (p00 & 0xffffu) | (mid << 16u);
    let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    return vec2<u32>(lo, hi);
}

fn gl_mul(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    // The 128-bit product in four words x0..x3.
    let ll = mul32(a.x, b.x);
    let lh = mul32(a.x, b.y);
    let hl = mul32(a.y, b.x);
    let hh = mul32(a.y, b.y);
    let x0 = ll.x;
    let m = add64(vec2<u32>(ll.y, 0u), vec2<u32>(lh.x, lh.y));
    let m2 = add64(m.xy, vec2<u32>(hl.x, hl.y));
    let x1 = m2.x;
    let carry = m.z + m2.z;
    let top = add64(vec2<u32>(m2.y, carry), hh);
    let x2 = top.x;
    let x3 = top.y;
    // x = x_lo + 2^64 (x2 + 2^32 x3), 2^64 = EPSILON and 2^96 = -1 (mod p):
    // x = x_lo - x3 + x2 * EPSILON.
    var t0 = sub64(vec2<u32>(x0, x1), vec2<u32>(x3, 0u));
    var r0 = t0.xy;
    if (t0.z == 1u) {
        r0 = sub64(r0, vec2<u32>(EPSILON, 0u)).xy;
    }
    // x2 * EPSILON = x2 * 2^32 - x2 fits in 64 bits.
    let t1 = sub64(vec2<u32>(0u, x2), vec2<u32>(x2, 0u)).xy;
    let s = add64(r0, t1);
    var r = s.xy;
    if (s.z == 1u) {
        r = add64(r, vec2<u32>(EPSILON, 0u)).xy;
    }
    if (ge_p(r)) {
        r = sub64(r, vec2<u32>(P_LO, P_HI)).xy;
    }
    return r;
}

// Helpers shared by the kernels.
fn gl_zero() -> vec2<u32> { return vec2<u32>(0u, 0u); }
fn gl_one() -> vec2<u32> { return vec2<u32>(1u, 0u); }
fn gl_neg(a: vec2<u32>) -> vec2<u32> { return gl_sub(vec2<u32>(0u, 0u), a); }

// a^e for e = (e_lo, e_hi), square and multiply from the top bit.
fn gl_pow(a: vec2<u32>, e: vec2<u32>) -> vec2<u32> {
    var r = vec2<u32>(1u, 0u);
    for (var i = 63i; i >= 0; i = i - 1) {
        r = gl_mul(r, r);
        var bit: u32;
        if (i >= 32) { bit = (e.y >> u32(i - 32)) & 1u; } else { bit = (e.x >> u32(i)) & 1u; }
        if (bit == 1u) { r = gl_mul(r, a); }
    }
    return r;
}

// a^j for a 32-bit exponent.
fn gl_pow32(a: vec2<u32>, j: u32) -> vec2<u32> {
    var r = vec2<u32>(1u, 0u);
    var b = a;
    var e = j;
    while (e != 0u) {
        if ((e & 1u) == 1u) { r = gl_mul(r, b); }
        b = gl_mul(b, b);
        e = e >> 1u;
    }
    return r;
}

// 1 / a (a != 0) as a^(p - 2).
fn gl_inv(a: vec2<u32>) -> vec2<u32> {
    return gl_pow(a, vec2<u32>(0xffffffffu, 0xfffffffeu));
}

// The quadratic extension F[X] / (X^2 - 7): vec4(a0.lo, a0.hi, a1.lo, a1.hi).
const W_EXT: vec2<u32> = vec2<u32>(7u, 0u);

fn ef(c0: vec2<u32>, c1: vec2<u32>) -> vec4<u32> { return vec4<u32>(c0, c1); }
fn ef_add(a: vec4<u32>, b: vec4<u32>) -> vec4<u32> { return ef(gl_add(a.xy, b.xy), gl_add(a.zw, b.zw)); }
fn ef_sub(a: vec4<u32>, b: vec4<u32>) -> vec4<u32> { return ef(gl_sub(a.xy, b.xy), gl_sub(a.zw, b.zw)); }
fn ef_mul(a: vec4<u32>, b: vec4<u32>) -> vec4<u32> {
    let c0 = gl_add(gl_mul(a.xy, b.xy), gl_mul(W_EXT, gl_mul(a.zw, b.zw)));
    let c1 = gl_add(gl_mul(a.xy, b.zw), gl_mul(a.zw, b.xy));
    return ef(c0, c1);
}
// An extension element times a base one.
fn ef_scale(a: vec4<u32>, s: vec2<u32>) -> vec4<u32> { return ef(gl_mul(a.xy, s), gl_mul(a.zw, s)); }
fn ef_base(s: vec2<u32>) -> vec4<u32> { return vec4<u32>(s, 0u, 0u); }
// 1 / a = conj(a) / N(a), N(a0 + a1 X) = a0^2 - 7 a1^2.
fn ef_inv(a: vec4<u32>) -> vec4<u32> {
    let n = gl_sub(gl_mul(a.xy, a.xy), gl_mul(W_EXT, gl_mul(a.zw, a.zw)));
    let ni = gl_inv(n);
    return ef(gl_mul(a.xy, ni), gl_neg(gl_mul(a.zw, ni)));
}

const WORKGROUP: u32 = 64u;

// The thread's index in a dispatch that may use the y dimension past 65,535 workgroups.
fn thread_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * WORKGROUP;
}
