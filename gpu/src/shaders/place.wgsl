// Copies rows of a row-major matrix (`src_width` columns, from row `src_row0`) into columns
// `dst_col ..` of another (`dst_width` columns): the rows a Merkle leaf hashes, gathered from
// matrices already on the device. Prefixed by field.wgsl.

struct PlaceParams {
    // Elements copied: rows * src_width.
    count: u32,
    src_row0: u32,
    src_width: u32,
    dst_width: u32,
    dst_col: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> place_src: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read_write> place_dst: array<vec2<u32>>;
@group(0) @binding(2) var<uniform> pp: PlaceParams;

@compute @workgroup_size(64)
fn place(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let t = thread_index(gid, groups);
    if (t >= pp.count) {
        return;
    }
    let r = t / pp.src_width;
    let c = t % pp.src_width;
    place_dst[r * pp.dst_width + pp.dst_col + c] = place_src[(pp.src_row0 + r) * pp.src_width + c];
}
