// The interpreter body of quotient.wgsl: every thread runs the same instruction at once, on
// its own registers (NB base, NE extension: set when the pipeline is built). Opcodes as in
// gpu/src/quotient.rs.
    var rb: array<vec2<u32>, NB>;
    var re: array<vec4<u32>, NE>;
    for (var pc = 0u; pc < qp.instructions; pc = pc + 1u) {
        let ins = q_code[pc];
        let d = ins.y;
        let a = ins.z;
        let b = ins.w;
        switch ins.x {
            case 0u: { rb[d] = q_main[q_index(qp.main_geom, i, a, b)]; }
            case 1u: { rb[d] = q_prep[q_index(qp.prep_geom, i, a, b)]; }
            case 2u: {
                let k = q_index(qp.perm_geom, i, 2u * a, b);
                re[d] = ef(q_perm[k], q_perm[k + 1u]);
            }
            case 3u: { rb[d] = q_consts[a].xy; }
            case 4u: { re[d] = q_consts[a]; }
            case 5u: { rb[d] = sel[a]; }
            case 6u: { rb[d] = gl_add(rb[a], rb[b]); }
            case 7u: { rb[d] = gl_sub(rb[a], rb[b]); }
            case 8u: { rb[d] = gl_mul(rb[a], rb[b]); }
            case 9u: { rb[d] = gl_neg(rb[a]); }
            case 10u: { re[d] = ef_add(re[a], re[b]); }
            case 11u: { re[d] = ef_sub(re[a], re[b]); }
            case 12u: { re[d] = ef_mul(re[a], re[b]); }
            case 13u: { re[d] = ef_sub(vec4<u32>(0u, 0u, 0u, 0u), re[a]); }
            case 14u: { re[d] = ef_add(re[a], ef_base(rb[b])); }
            case 15u: { re[d] = ef_sub(re[a], ef_base(rb[b])); }
            case 16u: { re[d] = ef_sub(ef_base(rb[a]), re[b]); }
            case 17u: { re[d] = ef_scale(re[a], rb[b]); }
            case 18u: { acc = ef_add(ef_mul(acc, alpha), ef_base(rb[a])); }
            case 19u: { acc = ef_add(ef_mul(acc, alpha), re[a]); }
            default: {}
        }
    }
