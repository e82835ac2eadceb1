// Blake3 in keyed mode (the engine's Merkle hash, `sigil_verifier::hash`): leaves are the
// little-endian bytes of a row of field elements (any length: chunks and their parent nodes
// as in the reference implementation), inner nodes are two 32-byte digests. A digest is
// eight u32 words, little-endian, as the CPU's `[u8; 32]`. Prefixed by field.wgsl.

const IV0: u32 = 0x6A09E667u;
const IV1: u32 = 0xBB67AE85u;
const IV2: u32 = 0x3C6EF372u;
const IV3: u32 = 0xA54FF53Au;
const CHUNK_START: u32 = 1u;
const CHUNK_END: u32 = 2u;
const PARENT: u32 = 4u;
const ROOT: u32 = 8u;
const KEYED_HASH: u32 = 16u;
// u32 words in a 1,024-byte chunk and in a 64-byte block.
const CHUNK_WORDS: u32 = 256u;
const BLOCK_WORDS: u32 = 16u;

fn rotr(x: u32, n: u32) -> u32 {
    return (x >> n) | (x << (32u - n));
}

fn g(a0: u32, b0: u32, c0: u32, d0: u32, mx: u32, my: u32) -> vec4<u32> {
    var a = a0 + b0 + mx;
    var d = rotr(d0 ^ a, 16u);
    var c = c0 + d;
    var b = rotr(b0 ^ c, 12u);
    a = a + b + my;
    d = rotr(d ^ a, 8u);
    c = c + d;
    b = rotr(b ^ c, 7u);
    return vec4<u32>(a, b, c, d);
}

fn blake_round(s: ptr<function, array<u32, 16>>, m: ptr<function, array<u32, 16>>) {
    var r: vec4<u32>;
    r = g((*s)[0], (*s)[4], (*s)[8], (*s)[12], (*m)[0], (*m)[1]); (*s)[0] = r.x; (*s)[4] = r.y; (*s)[8] = r.z; (*s)[12] = r.w;
    r = g((*s)[1], (*s)[5], (*s)[9], (*s)[13], (*m)[2], (*m)[3]); (*s)[1] = r.x; (*s)[5] = r.y; (*s)[9] = r.z; (*s)[13] = r.w;
    r = g((*s)[2], (*s)[6], (*s)[10], (*s)[14], (*m)[4], (*m)[5]); (*s)[2] = r.x; (*s)[6] = r.y; (*s)[10] = r.z; (*s)[14] = r.w;
    r = g((*s)[3], (*s)[7], (*s)[11], (*s)[15], (*m)[6], (*m)[7]); (*s)[3] = r.x; (*s)[7] = r.y; (*s)[11] = r.z; (*s)[15] = r.w;
    r = g((*s)[0], (*s)[5], (*s)[10], (*s)[15], (*m)[8], (*m)[9]); (*s)[0] = r.x; (*s)[5] = r.y; (*s)[10] = r.z; (*s)[15] = r.w;
    r = g((*s)[1], (*s)[6], (*s)[11], (*s)[12], (*m)[10], (*m)[11]); (*s)[1] = r.x; (*s)[6] = r.y; (*s)[11] = r.z; (*s)[12] = r.w;
    r = g((*s)[2], (*s)[7], (*s)[8], (*s)[13], (*m)[12], (*m)[13]); (*s)[2] = r.x; (*s)[7] = r.y; (*s)[8] = r.z; (*s)[13] = r.w;
    r = g((*s)[3], (*s)[4], (*s)[9], (*s)[14], (*m)[14], (*m)[15]); (*s)[3] = r.x; (*s)[4] = r.y; (*s)[9] = r.z; (*s)[14] = r.w;
}

fn permute(m: ptr<function, array<u32, 16>>) {
    let o = *m;
    (*m)[0] = o[2];
    (*m)[1] = o[6];
    (*m)[2] = o[3];
    (*m)[3] = o[10];
    (*m)[4] = o[7];
    (*m)[5] = o[0];
    (*m)[6] = o[4];
    (*m)[7] = o[13];
    (*m)[8] = o[1];
    (*m)[9] = o[11];
    (*m)[10] = o[12];
    (*m)[11] = o[5];
    (*m)[12] = o[9];
    (*m)[13] = o[14];
    (*m)[14] = o[15];
    (*m)[15] = o[8];
}

// One compression; returns the chaining value (the first eight output words).
fn compress(cv: array<u32, 8>, block: array<u32, 16>, counter: u32, block_len: u32, flags: u32) -> array<u32, 8> {
    var s = array<u32, 16>(cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7], IV0, IV1, IV2, IV3, counter, 0u, block_len, flags);
    var m = block;
    blake_round(&s, &m); permute(&m);
    blake_round(&s, &m); permute(&m);
    blake_round(&s, &m); permute(&m);
    blake_round(&s, &m); permute(&m);
    blake_round(&s, &m); permute(&m);
    blake_round(&s, &m); permute(&m);
    blake_round(&s, &m);
    return array<u32, 8>(s[0] ^ s[8], s[1] ^ s[9], s[2] ^ s[10], s[3] ^ s[11], s[4] ^ s[12], s[5] ^ s[13], s[6] ^ s[14], s[7] ^ s[15]);
}

fn parent_cv(key: array<u32, 8>, l: array<u32, 8>, r: array<u32, 8>, flags: u32) -> array<u32, 8> {
    let block = array<u32, 16>(l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7], r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    return compress(key, block, 0u, 64u, flags | PARENT | KEYED_HASH);
}

struct LeafParams {
    // Rows hashed, u32 words per row, and the first digest written.
    rows: u32,
    row_words: u32,
    out_offset: u32,
    _pad: u32,
    key: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> rows_in: array<u32>;
@group(0) @binding(1) var<storage, read_write> leaves_out: array<u32>;
@group(0) @binding(2) var<uniform> lp: LeafParams;

// A key as eight words, from the two rows of a uniform.
fn key_of(k: array<vec4<u32>, 2>) -> array<u32, 8> {
    return array<u32, 8>(k[0].x, k[0].y, k[0].z, k[0].w, k[1].x, k[1].y, k[1].z, k[1].w);
}

fn leaf_key() -> array<u32, 8> {
    return key_of(lp.key);
}

// The chaining value of one chunk: `len <= 256` words at `base` of rows_in, chunk counter
// `c`, the root flag on its last block when it is the whole message.
fn chunk_cv(base: u32, len: u32, c: u32, root: bool) -> array<u32, 8> {
    let n_blocks = max(1u, (len + BLOCK_WORDS - 1u) / BLOCK_WORDS);
    var cv = leaf_key();
    for (var b = 0u; b < n_blocks; b = b + 1u) {
        var block: array<u32, 16>;
        let at = b * BLOCK_WORDS;
        let here = min(BLOCK_WORDS, len - at);
        for (var i = 0u; i < BLOCK_WORDS; i = i + 1u) {
            if (i < here) {
                block[i] = rows_in[base + at + i];
            } else {
                block[i] = 0u;
            }
        }
        var flags = KEYED_HASH;
        if (b == 0u) { flags = flags | CHUNK_START; }
        if (b + 1u == n_blocks) {
            flags = flags | CHUNK_END;
            if (root) { flags = flags | ROOT; }
        }
        cv = compress(cv, block, c, here * 4u, flags);
    }
    return cv;
}

// The keyed hash of `len` words at `base` of rows_in, any length: chunks merged through the
// reference implementation's chaining-value stack.
fn hash_words(base: u32, len: u32) -> array<u32, 8> {
    let key = leaf_key();
    let n_chunks = max(1u, (len + CHUNK_WORDS - 1u) / CHUNK_WORDS);
    var stack: array<array<u32, 8>, 32>;
    var depth = 0u;
    var cv = key;
    for (var c = 0u; c < n_chunks; c = c + 1u) {
        let chunk_base = c * CHUNK_WORDS;
        cv = chunk_cv(base + chunk_base, min(CHUNK_WORDS, len - chunk_base), c, n_chunks == 1u);
        if (c + 1u < n_chunks) {
            var total = c + 1u;
            while ((total & 1u) == 0u) {
                depth = depth - 1u;
                cv = parent_cv(key, stack[depth], cv, 0u);
                total = total >> 1u;
            }
            stack[depth] = cv;
            depth = depth + 1u;
        }
    }
    while (depth > 0u) {
        depth = depth - 1u;
        var flags = 0u;
        if (depth == 0u) { flags = ROOT; }
        cv = parent_cv(key, stack[depth], cv, flags);
    }
    return cv;
}

// The keyed hash of `len <= 256` words (one chunk), without the stack of longer messages.
fn hash_chunk(base: u32, len: u32) -> array<u32, 8> {
    return chunk_cv(base, len, 0u, true);
}

fn write_leaf(i: u32, d: array<u32, 8>) {
    let o = (lp.out_offset + i) * 8u;
    for (var k = 0u; k < 8u; k = k + 1u) {
        leaves_out[o + k] = d[k];
    }
}

// Leaf digests of `rows` rows of `row_words <= 256` words each (128 field elements).
@compute @workgroup_size(64)
fn hash_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = thread_index(gid, groups);
    if (i >= lp.rows) {
        return;
    }
    write_leaf(i, hash_chunk(i * lp.row_words, lp.row_words));
}

// Leaf digests of rows longer than one chunk.
@compute @workgroup_size(64)
fn hash_rows_long(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = thread_index(gid, groups);
    if (i >= lp.rows) {
        return;
    }
    write_leaf(i, hash_words(i * lp.row_words, lp.row_words));
}

struct NodeParams {
    // Parents computed; parent i hashes left[l_off + i * l_step] and right[r_off + i * r_step]
    // into out[out_off + i] (indices in digests).
    count: u32,
    l_off: u32,
    l_step: u32,
    r_off: u32,
    r_step: u32,
    out_off: u32,
    _pad0: u32,
    _pad1: u32,
    key: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> left: array<u32>;
@group(0) @binding(1) var<storage, read> right: array<u32>;
@group(0) @binding(2) var<storage, read_write> parents: array<u32>;
@group(0) @binding(3) var<uniform> np: NodeParams;

@compute @workgroup_size(64)
fn hash_nodes(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = thread_index(gid, groups);
    if (i >= np.count) {
        return;
    }
    let key = key_of(np.key);
    let l = (np.l_off + i * np.l_step) * 8u;
    let r = (np.r_off + i * np.r_step) * 8u;
    var block: array<u32, 16>;
    for (var k = 0u; k < 8u; k = k + 1u) {
        block[k] = left[l + k];
        block[k + 8u] = right[r + k];
    }
    let d = compress(key, block, 0u, 64u, CHUNK_START | CHUNK_END | ROOT | KEYED_HASH);
    let o = (np.out_off + i) * 8u;
    for (var k = 0u; k < 8u; k = k + 1u) {
        parents[o + k] = d[k];
    }
}
