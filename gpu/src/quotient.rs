//! The quotient on the device. A chip's constraints, recorded by the symbolic builder, are
//! compiled into a program of field operations that folds them exactly as
//! [`sigil_air::ConstraintFolder`] does (each constraint in `eval`'s order, a LogUp batch when
//! its last interaction is made). The program becomes a
//! kernel (`shaders/quotient.wgsl`) that runs at every point of the quotient domain, one
//! thread per point, and divides by the vanishing polynomial: as straight-line WGSL generated
//! from it (one pipeline per program, cached: the constants live in a buffer, so a circuit's
//! programs are the same from proof to proof), or run by an interpreter kernel (one pipeline
//! per register count). By default a program is interpreted until its generated pipeline,
//! compiled on a background thread from its first use, is ready: a driver takes from tens of
//! milliseconds to a second per pipeline (llvmpipe: 0.4 to 1.3 s for dsperse-net's), which a
//! one-off proof should not wait for, and a miner proving the same circuit again gains.
//!
//! Field arithmetic is exact, so any evaluation order of the same polynomial gives the CPU's
//! values bit for bit: the compiler shares equal subexpressions, folds constants (challenges,
//! fingerprint terms; the publics and the LogUp sum keep slots of their own, so that a program
//! is the same for every statement) and keeps base-field values in base registers; the fold
//! itself (`acc = acc * alpha + c`) stays in the CPU's order, which changes the value.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing, PrimeField64};
use p3_maybe_rayon::prelude::*;
use sigil_air::info::MAX_LOGUP_BATCH;
use sigil_air::{Chip, Direction, EF, Expr, F, Step, SymbolicBuilder, Var};
use sigil_prover::backend::{QuotientInputs, vanishing_values};
use sigil_verifier::protocol::{lde_shift, omega};

use crate::context::{Kernel, QuotientKernel};
use crate::words::{ef_of, ef_words, f_words, words_of};
use crate::{Gpu, GpuError};

/// The most registers of either kind an interpreted program may use on the device (past it,
/// the CPU computes the quotient).
pub const MAX_REGISTERS: usize = 1024;

/// Programs longer than this are interpreted rather than generated (a driver's compile time
/// grows with the code).
pub const MAX_GENERATED_INSTRUCTIONS: usize = 32_768;

/// The quotient VM's instruction set, defined once: each instruction is four words `[op, dst,
/// a, b]` and its meaning one WGSL statement, from which both the generated kernels
/// ([`generated_body`]) and the interpreter's `switch` ([`interpreter_cases`]) are written.
/// In a statement, `Bd`, `Ba`, `Bb` are base registers, `Ed`, `Ea`, `Eb` extension registers
/// (by the instruction's `dst`, `a`, `b`), `#a` and `#b` the operands as numbers.
const OPCODES: [(&str, &str); 20] = [
    // B[dst] = main[col a, next b]
    ("LOAD_MAIN", "Bd = q_main[q_index(qp.main_geom, i, #a, #b)];"),
    // B[dst] = prep[col a, next b]
    ("LOAD_PREP", "Bd = q_prep[q_index(qp.prep_geom, i, #a, #b)];"),
    // E[dst] = perm[ext col a, next b] (two base columns)
    ("LOAD_PERM", "{ let k = q_index(qp.perm_geom, i, 2u * #a, #b); Ed = ef(q_perm[k], q_perm[k + 1u]); }"),
    ("CONST_B", "Bd = q_consts[#a].xy;"),
    ("CONST_E", "Ed = q_consts[#a];"),
    // B[dst] = first row (0), last row (1), transition (2)
    ("SELECTOR", "Bd = sel[#a];"),
    ("ADD_B", "Bd = gl_add(Ba, Bb);"),
    ("SUB_B", "Bd = gl_sub(Ba, Bb);"),
    ("MUL_B", "Bd = gl_mul(Ba, Bb);"),
    ("NEG_B", "Bd = gl_neg(Ba);"),
    ("ADD_E", "Ed = ef_add(Ea, Eb);"),
    ("SUB_E", "Ed = ef_sub(Ea, Eb);"),
    ("MUL_E", "Ed = ef_mul(Ea, Eb);"),
    ("NEG_E", "Ed = ef_sub(vec4<u32>(0u, 0u, 0u, 0u), Ea);"),
    ("ADD_EB", "Ed = ef_add(Ea, ef_base(Bb));"),
    ("SUB_EB", "Ed = ef_sub(Ea, ef_base(Bb));"),
    ("SUB_BE", "Ed = ef_sub(ef_base(Ba), Eb);"),
    ("MUL_EB", "Ed = ef_scale(Ea, Bb);"),
    // acc = acc * alpha + B[a]
    ("FOLD_B", "acc = ef_add(ef_mul(acc, alpha), ef_base(Ba));"),
    // acc = acc * alpha + E[a]
    ("FOLD_E", "acc = ef_add(ef_mul(acc, alpha), Ea);"),
];

/// The opcode named `name` in [`OPCODES`] (at compile time: a misspelt name does not build).
const fn opcode(name: &str) -> u32 {
    let mut k = 0;
    while k < OPCODES.len() {
        if const_eq(OPCODES[k].0.as_bytes(), name.as_bytes()) {
            return k as u32;
        }
        k += 1;
    }
    panic!("no such quotient opcode");
}

const fn const_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut k = 0;
    while k < a.len() {
        if a[k] != b[k] {
            return false;
        }
        k += 1;
    }
    true
}

const LOAD_MAIN: u32 = opcode("LOAD_MAIN");
const LOAD_PREP: u32 = opcode("LOAD_PREP");
const LOAD_PERM: u32 = opcode("LOAD_PERM");
const CONST_B: u32 = opcode("CONST_B");
const CONST_E: u32 = opcode("CONST_E");
const SELECTOR: u32 = opcode("SELECTOR");
const ADD_B: u32 = opcode("ADD_B");
const SUB_B: u32 = opcode("SUB_B");
const MUL_B: u32 = opcode("MUL_B");
const NEG_B: u32 = opcode("NEG_B");
const ADD_E: u32 = opcode("ADD_E");
const SUB_E: u32 = opcode("SUB_E");
const MUL_E: u32 = opcode("MUL_E");
const NEG_E: u32 = opcode("NEG_E");
const ADD_EB: u32 = opcode("ADD_EB");
const SUB_EB: u32 = opcode("SUB_EB");
const SUB_BE: u32 = opcode("SUB_BE");
const MUL_EB: u32 = opcode("MUL_EB");
const FOLD_B: u32 = opcode("FOLD_B");
const FOLD_E: u32 = opcode("FOLD_E");

/// An instruction's statement with its registers and operands written by `reg(kind, slot)`
/// (`kind` `B` or `E`, `slot` `d`, `a` or `b`) and `num(slot)`.
fn statement(template: &str, reg: impl Fn(char, char) -> String, num: impl Fn(char) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().copied()) {
            ('B' | 'E', Some(slot @ ('d' | 'a' | 'b'))) if !out.ends_with(|p: char| p.is_ascii_alphanumeric() || p == '_') => {
                chars.next();
                out.push_str(&reg(c, slot));
            }
            ('#', Some(slot @ ('a' | 'b'))) => {
                chars.next();
                out.push_str(&num(slot));
            }
            _ => out.push(c),
        }
    }
    out
}

/// The interpreter's `switch` cases (`shaders/quotient_interpreter.wgsl`'s CASES), from
/// [`OPCODES`]: registers `rb[..]` and `re[..]` indexed by the instruction's words.
pub fn interpreter_cases() -> String {
    let mut s = String::new();
    for (k, (_, template)) in OPCODES.iter().enumerate() {
        let body = statement(template, |kind, slot| format!("r{}[{slot}]", kind.to_ascii_lowercase()), |slot| slot.to_string());
        s.push_str(&format!("            case {k}u: {{ {body} }}\n"));
    }
    s
}

/// A node of the expression graph; operands are node ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Node {
    Main(usize, bool),
    Prep(usize, bool),
    Perm(usize, bool),
    Selector(u32),
    /// A constant: its index in the pool.
    Const(usize),
    Add(usize, usize),
    Sub(usize, usize),
    Mul(usize, usize),
    Neg(usize),
}

/// A compiled quotient: instructions, constants, and the registers they need.
#[derive(Clone, Debug)]
pub struct Program {
    /// Four words per instruction.
    pub code: Vec<u32>,
    /// The constant pool (base constants as extension elements with a zero high part): the
    /// fold's `alpha`, the statement's public values, the table's LogUp sum, then the
    /// program's constants.
    pub consts: Vec<EF>,
    pub base_registers: usize,
    pub ext_registers: usize,
    /// Whether the program reads a row selector (the kernel computes them only then).
    pub selectors: bool,
}

impl Program {
    /// Instructions.
    pub fn len(&self) -> usize {
        self.code.len() / 4
    }

    pub fn is_empty(&self) -> bool {
        self.code.is_empty()
    }
}

/// The expression graph of one table's fold, built from its symbolic constraints.
struct Graph<'a> {
    nodes: Vec<Node>,
    ext: Vec<bool>,
    value: Vec<Option<EF>>,
    interned: HashMap<Node, usize>,
    consts: Vec<EF>,
    const_index: HashMap<(bool, [u64; 2]), usize>,
    /// The fold's terms, in order.
    folds: Vec<usize>,
    widths: (usize, usize, usize),
    n_logup: usize,
    inputs: &'a QuotientInputs<'a>,
}

fn ef_key(v: EF) -> [u64; 2] {
    let c: &[F] = v.as_basis_coefficients_slice();
    [c[0].as_canonical_u64(), c[1].as_canonical_u64()]
}

impl<'a> Graph<'a> {
    fn intern(&mut self, node: Node, ext: bool, value: Option<EF>) -> usize {
        if let Some(&id) = self.interned.get(&node) {
            return id;
        }
        let id = self.nodes.len();
        self.nodes.push(node);
        self.ext.push(ext);
        self.value.push(value);
        self.interned.insert(node, id);
        id
    }

    fn constant(&mut self, v: EF, ext: bool) -> usize {
        let key = (ext, ef_key(v));
        let k = match self.const_index.get(&key) {
            Some(&k) => k,
            None => {
                self.consts.push(v);
                self.const_index.insert(key, self.consts.len() - 1);
                self.consts.len() - 1
            }
        };
        self.intern(Node::Const(k), ext, Some(v))
    }

    fn binary(&mut self, a: usize, b: usize, make: fn(usize, usize) -> Node, op: fn(EF, EF) -> EF) -> usize {
        let ext = self.ext[a] || self.ext[b];
        if let (Some(x), Some(y)) = (self.value[a], self.value[b]) {
            return self.constant(op(x, y), ext);
        }
        self.intern(make(a, b), ext, None)
    }

    fn add(&mut self, a: usize, b: usize) -> usize {
        self.binary(a, b, Node::Add, |x, y| x + y)
    }
    fn sub(&mut self, a: usize, b: usize) -> usize {
        self.binary(a, b, Node::Sub, |x, y| x - y)
    }
    fn mul(&mut self, a: usize, b: usize) -> usize {
        self.binary(a, b, Node::Mul, |x, y| x * y)
    }
    fn neg(&mut self, a: usize) -> usize {
        if let Some(x) = self.value[a] {
            return self.constant(-x, self.ext[a]);
        }
        self.intern(Node::Neg(a), self.ext[a], None)
    }

    fn var(&mut self, v: Var) -> Result<usize, String> {
        let (mw, pw, ew) = self.widths;
        let i = self.inputs;
        Ok(match v {
            Var::Main { col, next } if col < mw => self.intern(Node::Main(col, next), false, None),
            Var::Prep { col, next } if col < pw => self.intern(Node::Prep(col, next), false, None),
            // A slot of its own, never folded nor shared by value: the program is then the
            // same for every statement (and its generated pipeline with it).
            Var::Public(k) if k < i.publics.len() => self.intern(Node::Const(1 + k), false, None),
            Var::IsFirstRow => self.intern(Node::Selector(0), false, None),
            Var::IsLastRow => self.intern(Node::Selector(1), false, None),
            Var::IsTransition => self.intern(Node::Selector(2), false, None),
            Var::Aux { col, next } if self.n_logup + col < ew => self.intern(Node::Perm(self.n_logup + col, next), true, None),
            Var::Challenge(k) if k < i.challenges.len() => self.constant(i.challenges[k], true),
            v => return Err(format!("{v:?} is out of the table's columns or the statement")),
        })
    }

    /// An expression's node, children first (iteratively: expressions can be deep).
    fn expr(&mut self, e: &Expr) -> Result<usize, String> {
        enum Work<'e> {
            Visit(&'e Expr),
            Build(&'e Expr),
        }
        let mut work = vec![Work::Visit(e)];
        let mut done: Vec<usize> = Vec::new();
        while let Some(w) = work.pop() {
            match w {
                Work::Visit(e) => match e {
                    Expr::Const(c) => {
                        let id = self.constant(EF::from(*c), false);
                        done.push(id);
                    }
                    Expr::Var(v) => {
                        let id = self.var(*v)?;
                        done.push(id);
                    }
                    Expr::Add(a, b) | Expr::Sub(a, b) | Expr::Mul(a, b) => {
                        work.push(Work::Build(e));
                        work.push(Work::Visit(b));
                        work.push(Work::Visit(a));
                    }
                    Expr::Neg(a) => {
                        work.push(Work::Build(e));
                        work.push(Work::Visit(a));
                    }
                },
                Work::Build(e) => {
                    let id = match e {
                        Expr::Neg(_) => {
                            let a = done.pop().ok_or("unbalanced expression")?;
                            self.neg(a)
                        }
                        _ => {
                            let b = done.pop().ok_or("unbalanced expression")?;
                            let a = done.pop().ok_or("unbalanced expression")?;
                            match e {
                                Expr::Add(..) => self.add(a, b),
                                Expr::Sub(..) => self.sub(a, b),
                                _ => self.mul(a, b),
                            }
                        }
                    };
                    done.push(id);
                }
            }
        }
        done.pop().ok_or_else(|| "empty expression".to_string())
    }

    fn perm(&mut self, col: usize, next: bool) -> usize {
        if col < self.n_logup { self.intern(Node::Perm(col, next), true, None) } else { self.constant(EF::ZERO, true) }
    }
}

/// Compiles `chip`'s fold for `inputs` (its widths, statement and challenges).
pub fn compile(chip: &dyn Chip, inputs: &QuotientInputs<'_>) -> Result<Program, String> {
    let mut sb = SymbolicBuilder::default();
    chip.eval_symbolic(&mut sb);
    let mw = inputs.main_lde.width;
    let pw = inputs.prep_lde.map_or(0, |p| p.width);
    let permw = inputs.perm_lde.map_or(0, |p| p.width);
    if !permw.is_multiple_of(2) {
        return Err(format!("the LogUp matrix has an odd width ({permw})"));
    }
    let ew = permw / 2;
    let n_logup = ew.checked_sub(inputs.aux_width).ok_or_else(|| format!("{} auxiliary columns in {ew} extension columns", inputs.aux_width))?;
    let mut g = Graph {
        nodes: Vec::new(),
        ext: Vec::new(),
        value: Vec::new(),
        interned: HashMap::new(),
        consts: std::iter::once(inputs.alpha).chain(inputs.publics.iter().map(|&p| EF::from(p))).chain([inputs.cumulative_sum]).collect(),
        const_index: HashMap::new(),
        folds: Vec::new(),
        widths: (mw, pw, ew),
        n_logup,
        inputs,
    };
    // `ConstraintFolder::interact`'s batches: (fingerprint, signed multiplicity).
    let lookup = inputs.lookup;
    let mut pending: Vec<(usize, usize)> = Vec::new();
    let mut batch = 0usize;
    for step in &sb.steps {
        match *step {
            Step::Constraint(k) => {
                let c = g.expr(&sb.constraints[k].1)?;
                g.folds.push(c);
            }
            Step::Interaction(k) => {
                let it = &sb.interactions[k];
                // beta + bus + gamma f_0 + gamma^2 f_1 + ...
                // (A stacked table reads the bus from a preprocessed column.)
                let mut d = match it.bus_col {
                    None => g.constant(lookup.beta + F::from_u32(it.bus), true),
                    Some(c) => {
                        let beta = g.constant(lookup.beta, true);
                        let bus = g.expr(&Expr::Var(Var::Prep { col: c, next: false }))?;
                        g.add(beta, bus)
                    }
                };
                let mut gp = lookup.gamma;
                for f in &it.fields {
                    let f = g.expr(f)?;
                    let c = g.constant(gp, true);
                    let t = g.mul(c, f);
                    d = g.add(d, t);
                    gp *= lookup.gamma;
                }
                let m = g.expr(&it.multiplicity)?;
                let m = match it.dir {
                    Direction::Send => m,
                    Direction::Receive => g.neg(m),
                };
                if pending.len() == MAX_LOGUP_BATCH {
                    continue;
                }
                pending.push((d, m));
                if Some(&pending.len()) == inputs.logup_batches.get(batch) {
                    // u * prod d_j - sum_j m_j prod_{i != j} d_i: u the batch's helper, or for
                    // the last batch the running sum's cyclic step
                    // `T_next - T + last * sigma - sum_{k < batch} h_k`.
                    let u = if batch + 1 < inputs.logup_batches.len() {
                        g.perm(batch, false)
                    } else {
                        let (t, t_next) = (g.perm(batch, false), g.perm(batch, true));
                        let step = g.sub(t_next, t);
                        let last = g.intern(Node::Selector(1), false, None);
                        // Its own slot, like the publics: a sum that happens to be 0 leaves the
                        // program as is.
                        let cum = g.intern(Node::Const(1 + inputs.publics.len()), true, None);
                        let wrap = g.mul(last, cum);
                        let mut u = g.add(step, wrap);
                        for k in 0..batch {
                            let hk = g.perm(k, false);
                            u = g.sub(u, hk);
                        }
                        u
                    };
                    let mut prod = pending[0].0;
                    for &(d, _) in &pending[1..] {
                        prod = g.mul(prod, d);
                    }
                    let terms: Vec<usize> = (0..pending.len())
                        .map(|j| {
                            let mut t = pending[j].1;
                            for (i, &(d, _)) in pending.iter().enumerate() {
                                if i != j {
                                    t = g.mul(t, d);
                                }
                            }
                            t
                        })
                        .collect();
                    // `pending` was just pushed to: at least one term.
                    let mut rhs = terms[0];
                    for &t in &terms[1..] {
                        rhs = g.add(rhs, t);
                    }
                    let lhs = g.mul(u, prod);
                    let c = g.sub(lhs, rhs);
                    g.folds.push(c);
                    batch += 1;
                    pending.clear();
                }
            }
        }
    }
    Ok(g.emit())
}

impl Graph<'_> {
    /// The instructions: each fold term's missing operands (depth first), then the fold;
    /// registers reused after their last read.
    fn emit(self) -> Program {
        // The order of evaluation: `(node, false)` computes the node, `(node, true)` folds it.
        let mut order: Vec<(usize, bool)> = Vec::new();
        let mut emitted = vec![false; self.nodes.len()];
        for &root in &self.folds {
            let mut stack = vec![(root, false)];
            while let Some((id, expanded)) = stack.pop() {
                if emitted[id] {
                    continue;
                }
                if expanded {
                    emitted[id] = true;
                    order.push((id, false));
                    continue;
                }
                stack.push((id, true));
                match self.nodes[id] {
                    Node::Add(a, b) | Node::Sub(a, b) | Node::Mul(a, b) => {
                        stack.push((b, false));
                        stack.push((a, false));
                    }
                    Node::Neg(a) => stack.push((a, false)),
                    _ => {}
                }
            }
            order.push((root, true));
        }
        // Last read of each node.
        let mut last = vec![0usize; self.nodes.len()];
        for (pos, &(id, fold)) in order.iter().enumerate() {
            if fold {
                last[id] = pos;
                continue;
            }
            match self.nodes[id] {
                Node::Add(a, b) | Node::Sub(a, b) | Node::Mul(a, b) => {
                    last[a] = pos;
                    last[b] = pos;
                }
                Node::Neg(a) => last[a] = pos,
                _ => {}
            }
        }
        let mut reg = vec![0u32; self.nodes.len()];
        let mut free: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
        let mut count = [0usize; 2];
        let mut code = Vec::with_capacity(4 * order.len());
        let mut selectors = false;
        for (pos, &(id, fold)) in order.iter().enumerate() {
            let ext = self.ext[id];
            if fold {
                code.extend([if ext { FOLD_E } else { FOLD_B }, 0, reg[id], 0]);
                if last[id] == pos {
                    free[ext as usize].push(reg[id]);
                }
                continue;
            }
            // Operands are read before the result is written: their registers, freed first,
            // may take it.
            let operands: Vec<usize> = match self.nodes[id] {
                Node::Add(a, b) | Node::Sub(a, b) | Node::Mul(a, b) => vec![a, b],
                Node::Neg(a) => vec![a],
                _ => vec![],
            };
            let mut seen = Vec::new();
            for &o in &operands {
                if last[o] == pos && !seen.contains(&o) {
                    free[self.ext[o] as usize].push(reg[o]);
                    seen.push(o);
                }
            }
            let kind = ext as usize;
            let r = free[kind].pop().unwrap_or_else(|| {
                count[kind] += 1;
                (count[kind] - 1) as u32
            });
            reg[id] = r;
            let words = match self.nodes[id] {
                Node::Main(c, n) => [LOAD_MAIN, r, c as u32, n as u32],
                Node::Prep(c, n) => [LOAD_PREP, r, c as u32, n as u32],
                Node::Perm(c, n) => [LOAD_PERM, r, c as u32, n as u32],
                Node::Selector(s) => {
                    selectors = true;
                    [SELECTOR, r, s, 0]
                }
                Node::Const(k) => [if ext { CONST_E } else { CONST_B }, r, k as u32, 0],
                Node::Neg(a) => [if ext { NEG_E } else { NEG_B }, r, reg[a], 0],
                Node::Add(a, b) => match (self.ext[a], self.ext[b]) {
                    (false, false) => [ADD_B, r, reg[a], reg[b]],
                    (true, true) => [ADD_E, r, reg[a], reg[b]],
                    (true, false) => [ADD_EB, r, reg[a], reg[b]],
                    (false, true) => [ADD_EB, r, reg[b], reg[a]],
                },
                Node::Sub(a, b) => match (self.ext[a], self.ext[b]) {
                    (false, false) => [SUB_B, r, reg[a], reg[b]],
                    (true, true) => [SUB_E, r, reg[a], reg[b]],
                    (true, false) => [SUB_EB, r, reg[a], reg[b]],
                    (false, true) => [SUB_BE, r, reg[a], reg[b]],
                },
                Node::Mul(a, b) => match (self.ext[a], self.ext[b]) {
                    (false, false) => [MUL_B, r, reg[a], reg[b]],
                    (true, true) => [MUL_E, r, reg[a], reg[b]],
                    (true, false) => [MUL_EB, r, reg[a], reg[b]],
                    (false, true) => [MUL_EB, r, reg[b], reg[a]],
                },
            };
            code.extend(words);
            // A value no one reads (a dead fold term cannot be: every node here is read).
            if last[id] == pos {
                free[kind].push(r);
            }
        }
        Program { code, consts: self.consts, base_registers: count[0], ext_registers: count[1], selectors }
    }
}

/// Registers of a kernel for `n` registers: a power of two, at least 8.
fn bucket(n: usize) -> usize {
    n.next_power_of_two().max(8)
}

/// An instruction whose opcode is not in [`OPCODES`]: a program [`compile`] did not write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownOpcode(pub u32);

impl std::fmt::Display for UnknownOpcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown quotient opcode {} (there are {})", self.0, OPCODES.len())
    }
}

impl std::error::Error for UnknownOpcode {}

/// The program's generated kernel body, or `None` past [`MAX_GENERATED_INSTRUCTIONS`] (then
/// it is interpreted).
fn generated_source(p: &Program) -> Result<Option<String>, UnknownOpcode> {
    if p.len() <= MAX_GENERATED_INSTRUCTIONS { generated_body(p).map(Some) } else { Ok(None) }
}

/// The program as straight-line WGSL: one variable per register, one statement per
/// instruction (the opcodes' meanings, as `shaders/quotient_interpreter.wgsl` gives them).
pub fn generated_body(p: &Program) -> Result<String, UnknownOpcode> {
    use std::fmt::Write;
    let mut s = String::with_capacity(48 * (p.len() + p.base_registers + p.ext_registers));
    for k in 0..p.base_registers {
        let _ = writeln!(s, "    var b{k}: vec2<u32>;");
    }
    for k in 0..p.ext_registers {
        let _ = writeln!(s, "    var e{k}: vec4<u32>;");
    }
    for ins in p.code.chunks_exact(4) {
        let (op, d, a, b) = (ins[0], ins[1], ins[2], ins[3]);
        let (_, template) = OPCODES.get(op as usize).ok_or(UnknownOpcode(op))?;
        let number = |slot: char| if slot == 'a' { a } else if slot == 'd' { d } else { b };
        let body = statement(template, |kind, slot| format!("{}{}", kind.to_ascii_lowercase(), number(slot)), |slot| format!("{}u", number(slot)));
        let _ = writeln!(s, "    {body}");
    }
    Ok(s)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn build_quotient_kernel(device: &wgpu::Device, body: &str) -> Kernel {
    let source = format!("{}{}", include_str!("shaders/field.wgsl"), include_str!("shaders/quotient.wgsl")).replace("    // BODY\n", body);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor { label: Some("quotient.wgsl"), source: wgpu::ShaderSource::Wgsl(Cow::Owned(source)) });
    Kernel::new(device, &module, "quotient", &[true, true, true, true, true, false])
}

impl Gpu {
    /// The pipeline for `body` in place of quotient.wgsl's BODY, built now if it is not yet.
    fn quotient_kernel(&self, body: String) -> Arc<Kernel> {
        if let Some(k) = lock(&self.quotient_pipelines.ready).get(&body) {
            return k.clone();
        }
        let k = Arc::new(build_quotient_kernel(&self.device, &body));
        lock(&self.quotient_pipelines.ready).entry(body).or_insert(k).clone()
    }

    /// The pipeline for `body` if it is ready; otherwise `None`, and it is compiled on a
    /// background thread (once).
    fn quotient_kernel_later(&self, body: String) -> Option<Arc<Kernel>> {
        if let Some(k) = lock(&self.quotient_pipelines.ready).get(&body) {
            return Some(k.clone());
        }
        if lock(&self.quotient_pipelines.given_up).contains(&body) || !lock(&self.quotient_pipelines.pending).insert(body.clone()) {
            return None;
        }
        let (device, pipelines) = (self.device.clone(), self.quotient_pipelines.clone());
        // Without a thread, the program stays interpreted (it stays pending).
        let _ = std::thread::Builder::new().name("sigil-gpu-compile".into()).spawn(move || {
            let _one = lock(&pipelines.compiling);
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build_quotient_kernel(&device, &body))) {
                Ok(k) => drop(lock(&pipelines.ready).insert(body.clone(), Arc::new(k))),
                Err(_) => drop(lock(&pipelines.given_up).insert(body.clone())),
            }
            lock(&pipelines.pending).remove(&body);
        });
        None
    }

    /// Starts the background compile of the generated quotient kernel of each table of
    /// `circuit` marked in `tables` (in the tiered mode; the others compile when used). The
    /// programs are compiled with stand-in values for the statement and challenges: a
    /// program depends on their number, not their values (but for equal constants sharing a
    /// node, which random stand-ins make unlikely).
    pub fn prepare_quotients(&self, circuit: &sigil_verifier::Circuit, tables: &[bool]) {
        if self.quotient_kernel != QuotientKernel::Tiered {
            return;
        }
        let publics = crate::bench::seeded(circuit.n_publics, 1);
        let e: Vec<EF> = crate::bench::seeded(2 * circuit.n_challenges + 4, 2).chunks_exact(2).map(|c| sigil_air::field::ef_from_base([c[0], c[1]])).collect();
        let (challenges, lookup) = (&e[2..], sigil_air::LookupChallenges { beta: e[0], gamma: e[1] });
        let empty = |w: usize| sigil_prover::Lde::host(p3_matrix::dense::RowMajorMatrix::new(Vec::new(), w.max(1)));
        for ((chip, info), _) in circuit.chips.iter().zip(&circuit.infos).zip(tables).filter(|(_, t)| **t) {
            let main = empty(info.width);
            let prep = (info.prep_width > 0).then(|| empty(info.prep_width));
            let perm_width = sigil_verifier::protocol::PhaseWidths::of(info).perm;
            let perm = (perm_width > 0).then(|| empty(perm_width));
            let inputs = QuotientInputs {
                log_n: 0,
                log_quotient_degree: info.log_quotient_degree,
                log_blowup: info.log_quotient_degree,
                main_lde: &main,
                prep_lde: prep.as_ref(),
                perm_lde: perm.as_ref(),
                publics: &publics,
                alpha: EF::ONE,
                lookup,
                challenges,
                aux_width: info.aux_width,
                cumulative_sum: EF::ZERO,
                logup_batches: &info.logup_batches,
            };
            if let Some(body) = compile(chip.as_ref(), &inputs).ok().and_then(|p| generated_source(&p).ok().flatten()) {
                self.quotient_kernel_later(body);
            }
        }
    }

    /// Quotients run so far as generated code, and interpreted.
    pub fn quotient_runs(&self) -> (usize, usize) {
        let r = &self.quotient_pipelines.runs;
        (r[0].load(std::sync::atomic::Ordering::Relaxed), r[1].load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Generated quotient pipelines being compiled in the background now.
    pub fn quotient_pipelines_pending(&self) -> usize {
        lock(&self.quotient_pipelines.pending).len()
    }

    /// Generated quotient pipelines built so far (for tests and reports).
    pub fn quotient_pipelines(&self) -> usize {
        lock(&self.quotient_pipelines.ready).len()
    }

    /// Runs quotient programs as [`QuotientKernel`] says (all give the same values; the tests
    /// run each).
    pub fn use_quotient_kernel(&mut self, k: QuotientKernel) {
        self.quotient_kernel = k;
    }

    /// The quotient of `chip` at the `n Q` points of the quotient domain, as
    /// [`sigil_prover::QuotientOps::quotient_values`] gives it. LDEs kept on this device are
    /// read there; others, their rows on the quotient domain uploaded. A program past
    /// [`MAX_REGISTERS`], or data past the binding limit, is [`GpuError::Unsupported`].
    pub fn quotient_values(&self, chip: &dyn Chip, inputs: &QuotientInputs<'_>) -> Result<Vec<EF>, GpuError> {
        self.quotient_values_with(chip, inputs, self.quotient_kernel)
    }

    /// [`Gpu::quotient_values`] with the program run as `how` says.
    pub fn quotient_values_with(&self, chip: &dyn Chip, inputs: &QuotientInputs<'_>, how: QuotientKernel) -> Result<Vec<EF>, GpuError> {
        // The shapes and the limits first: nothing is compiled for a quotient that cannot run.
        let (log_n, log_q, lb) = (inputs.log_n, inputs.log_quotient_degree, inputs.log_blowup);
        if log_q > lb || log_n + log_q > 32 {
            return Err(GpuError::Input(format!("a quotient of degree 2^{log_q} over 2^{log_n} rows with blowup 2^{lb}")));
        }
        let n = 1usize << log_n;
        let qn = n << log_q;
        let lde_n = n << lb;
        let stride = 1usize << (lb - log_q);
        let q = 1usize << log_q;
        if qn as u64 * EXT > self.binding_limit() {
            return Err(GpuError::Unsupported(format!("{qn} quotient values are over the binding limit")));
        }
        let matrices = [Some(inputs.main_lde), inputs.prep_lde, inputs.perm_lde];
        for m in matrices.iter().flatten().filter(|m| m.width > 0) {
            if m.values.len() != lde_n * m.width {
                return Err(GpuError::Input(format!("a {}-element LDE of width {} over {lde_n} points", m.values.len(), m.width)));
            }
            if self.resident(m).is_none_or(|d| d.groups.len() != 1) && (qn * m.width) as u64 * 8 > self.binding_limit() {
                return Err(GpuError::Unsupported(format!("a {qn} x {} matrix is over the binding limit", m.width)));
            }
        }
        let program = compile(chip, inputs).map_err(|why| GpuError::Input(format!("the quotient of {}: {why}", chip.name())))?;
        // Every opcode is checked here, whichever kernel runs it: the interpreter would skip an
        // unknown one.
        let generated = generated_source(&program).map_err(|e| GpuError::Input(format!("the quotient of {}: {e}", chip.name())))?.filter(|_| how != QuotientKernel::Interpreted);
        let kernel = match generated {
            Some(body) if how == QuotientKernel::Generated => Some(self.quotient_kernel(body)),
            Some(body) => self.quotient_kernel_later(body),
            None => None,
        };
        let interpreted = kernel.is_none();
        let kernel = match kernel {
            Some(k) => k,
            None => {
                let (nb, ne) = (bucket(program.base_registers), bucket(program.ext_registers));
                if nb > MAX_REGISTERS || ne > MAX_REGISTERS {
                    return Err(GpuError::Unsupported(format!("{}'s quotient needs {} base and {} extension registers", chip.name(), program.base_registers, program.ext_registers)));
                }
                let body = include_str!("shaders/quotient_interpreter.wgsl")
                    .replace("array<vec2<u32>, NB>", &format!("array<vec2<u32>, {nb}>"))
                    .replace("array<vec4<u32>, NE>", &format!("array<vec4<u32>, {ne}>"))
                    .replace("            // CASES\n", &interpreter_cases());
                self.quotient_kernel(body)
            }
        };
        // Each matrix: its buffer and geometry (width, rows per point, rows to the next trace
        // row, rows - 1).
        let mut held = Vec::new();
        let mut geom = Vec::new();
        for m in matrices {
            let Some(m) = m.filter(|m| m.width > 0) else {
                held.push(None);
                geom.push([0u32; 4]);
                continue;
            };
            match self.resident(m).filter(|d| d.groups.len() == 1) {
                Some(d) => {
                    held.push(Some(Cow::Borrowed(&d.groups[0].buffer)));
                    geom.push([m.width as u32, stride as u32, (1u32 << lb), (lde_n - 1) as u32]);
                }
                None => {
                    let rows: Vec<F> = (0..qn).flat_map(|i| m.values[i * stride * m.width..(i * stride + 1) * m.width].iter().copied()).collect();
                    held.push(Some(Cow::Owned(self.upload("quotient rows", &words_of(&rows))?)));
                    geom.push([m.width as u32, 1, q as u32, (qn - 1) as u32]);
                }
            }
        }
        let dummy = self.zeroed("unused", 8)?;
        let bufs: Vec<&wgpu::Buffer> = held.iter().map(|b| b.as_deref().unwrap_or(&dummy)).collect();
        let shift = lde_shift();
        let zh = vanishing_values(log_n, log_q);
        let zh_inv = p3_field::batch_multiplicative_inverse(&zh);
        let mut consts: Vec<u32> = program.consts.iter().flat_map(|&c| ef_words(c)).collect();
        let zh_at = program.consts.len();
        for v in zh.iter().chain(&zh_inv) {
            consts.extend(ef_words(EF::from(*v)));
        }
        let code = self.upload("quotient program", &program.code)?;
        let consts = self.upload("quotient constants", &consts)?;
        let out = self.zeroed("quotient", EXT * qn as u64)?;
        let mut params = vec![qn as u32, (q - 1) as u32, program.len() as u32, program.selectors as u32, zh_at as u32, (zh_at + q) as u32, 0, 0];
        for g in &geom {
            params.extend(g);
        }
        for x in [shift, omega(log_n + log_q), F::from_u64(n as u64), omega(log_n).inverse()] {
            params.extend(f_words(x));
        }
        let mut enc = self.encoder("quotient");
        self.dispatch(&mut enc, &kernel, &[bufs[0], bufs[1], bufs[2], &code, &consts, &out], &params, qn);
        let words = self.finish(enc, &[(&out, EXT * qn as u64)])?;
        self.quotient_pipelines.runs[interpreted as usize].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(words[0].par_chunks_exact(4).map(ef_of).collect())
    }
}

/// Bytes of an extension element on the device.
const EXT: u64 = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_kernels_are_written_from_the_one_table() {
        let cases = interpreter_cases();
        assert_eq!(cases.lines().count(), OPCODES.len());
        assert!(cases.contains("case 6u: { rb[d] = gl_add(rb[a], rb[b]); }"), "{cases}");
        assert!(cases.contains("case 2u: { { let k = q_index(qp.perm_geom, i, 2u * a, b); re[d] = ef(q_perm[k], q_perm[k + 1u]); } }"), "{cases}");
        let p = Program { code: vec![MUL_EB, 3, 1, 2, LOAD_MAIN, 0, 5, 1, FOLD_E, 0, 3, 0], consts: vec![], base_registers: 3, ext_registers: 4, selectors: false };
        let body = generated_body(&p).unwrap();
        assert!(body.contains("    e3 = ef_scale(e1, b2);\n"), "{body}");
        assert!(body.contains("    b0 = q_main[q_index(qp.main_geom, i, 5u, 1u)];\n"), "{body}");
        assert!(body.contains("    acc = ef_add(ef_mul(acc, alpha), e3);\n"), "{body}");
    }

    #[test]
    fn an_unknown_opcode_is_an_error() {
        let p = Program { code: vec![ADD_B, 0, 0, 0, OPCODES.len() as u32, 0, 0, 0], consts: vec![], base_registers: 1, ext_registers: 0, selectors: false };
        assert_eq!(generated_body(&p), Err(UnknownOpcode(20)));
    }
}
