// The interpreter body of quotient.wgsl: every thread runs the same instruction at once, on
// its own registers (NB base, NE extension: set when the pipeline is built). The cases are
// written from the opcode table of gpu/src/quotient.rs (`OPCODES`) when the pipeline is built;
// an unknown opcode is refused before any kernel runs.
    var rb: array<vec2<u32>, NB>;
    var re: array<vec4<u32>, NE>;
    for (var pc = 0u; pc < qp.instructions; pc = pc + 1u) {
        let ins = q_code[pc];
        let d = ins.y;
        let a = ins.z;
        let b = ins.w;
        switch ins.x {
            // CASES
            default: {}
        }
    }
