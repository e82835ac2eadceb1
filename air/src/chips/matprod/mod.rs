//! The product of two computed matrices checked by a random linear combination (Freivalds'
//! idea with both operands in the trace): `C[t, i, j] = sum_l A[t, i, l] B[t, l, j]` for
//! `batches` pairs, in `batches (k (m + n) + m n)` rows instead of a row per term
//! ([`crate::chips::bilinear`]): attention's `Q K^T` and `softmax V` over heads.
//!
//! # Layout
//! Per batch `t`: for each `l < k`, a block of `m` *A rows* (`v = A[t, i, l]`, received from
//! A's bus) then `n` *B rows* (`v = B[t, l, j]`, from B's bus); then `m n` *C rows*
//! (`v = C[t, i, j]`, sent on the output bus as often as it is read). One main column `v`; the
//! preprocessed columns hold the bus index, the send multiplicity and one flag per row role.
//!
//! # The check
//! After the main trace is committed the verifier draws `tau, alpha, beta`; four auxiliary
//! columns hold `q = tau^t`, a power `p`, a holder `h` and a cyclic accumulator. On A rows
//! `p = q alpha^i` and `h` sums `p v` over the block (`h = q sum_i alpha^i A[t, i, l]`); on B
//! rows `h` is kept and `p = h beta^j`; on C rows `h = q alpha^i` and `p = h beta^j`. The
//! accumulator adds `p v` on every B row and subtracts it on every C row, on every row and
//! wrapping from the last to the first (no selector), so the terms sum to zero:
//!
//! `sum_t tau^t sum_{i, j} alpha^i beta^j ((A B)[t, i, j] - C[t, i, j]) = 0`.
//!
//! One wrong `C` makes the left side a non-zero polynomial of degree below `batches + m + n`
//! in `(tau, alpha, beta)`: zero for at most that fraction of the draws (Schwartz–Zippel over
//! the extension field). Each auxiliary column is fixed by its constraints from the first row
//! on, and every constraint is linear in the auxiliary columns (degree 1 in the challenges).
//!
//! # Field arithmetic equals integer arithmetic
//! The producers bound `|a| < 2^a_bits` and `|b| < 2^b_bits`; [`MatProd::new`] requires
//! `k 2^(a_bits + b_bits) < p/2`, so the integer product has one representative in `F`, and a
//! `C` equal to it in `F` is it: the consumer (a rescale) reads the true integer.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder, BusId};
use crate::chips::bilinear::{BilinearError, check_product, product_bits};
use crate::expr::FieldExpr;
use crate::field::{EF, F};
use crate::trace::Trace;

#[cfg(test)]
mod tests;

/// Main: the value of the row.
pub const V: usize = 0;
crate::columns! {
    /// Preprocessed columns: the bus index, the send multiplicity, the row's role (one flag
    /// set, none on padding).
    pub struct MatProdPrep {
        index,
        uses,
        /// The first A row of a batch (`q` steps by `tau`).
        a_batch,
        /// The first A row of a block.
        a_first,
        /// Another A row.
        a_next,
        /// The first B row of a block.
        b_first,
        /// Another B row.
        b_next,
        /// The first C row of a batch.
        c_batch,
        /// The first C row of a row of C.
        c_row,
        /// Another C row.
        c_next,
    }
}
const PREP: MatProdPrep<usize> = MatProdPrep::INDEX;
crate::columns! {
    /// Auxiliary (extension) columns.
    pub struct MatProdAux { q, p, h, acc }
}
const AUX: MatProdAux<usize> = MatProdAux::INDEX;

/// `C = A B` for `batches` pairs of `m x k` and `k x n` matrices, checked after a challenge.
#[derive(Clone, Debug)]
pub struct MatProd {
    pub name: String,
    pub batches: usize,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// `a_src[(t m + i) k + l]`: the index of `A[t, i, l]` on `a_bus`.
    pub a_src: Vec<u32>,
    /// `b_src[(t k + l) n + j]`: the index of `B[t, l, j]` on `b_bus`.
    pub b_src: Vec<u32>,
    pub a_bus: BusId,
    pub b_bus: BusId,
    pub a_bits: u32,
    pub b_bits: u32,
    pub out_bus: BusId,
    /// How many times each element of `C` (row-major) is read.
    pub uses: Vec<u32>,
    pub log_height: usize,
}

/// A row's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// `A[t, i, l]`.
    A { t: usize, i: usize, l: usize },
    /// `B[t, l, j]`.
    B { t: usize, l: usize, j: usize },
    /// `C[t, i, j]`.
    C { t: usize, i: usize, j: usize },
    Pad,
}

impl MatProd {
    /// A product of `batches` `m x k` by `k x n` matrices read at `a_src` and `b_src`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: impl Into<String>,
        (batches, m, k, n): (usize, usize, usize, usize),
        (a_bus, a_src, a_bits): (BusId, Vec<u32>, u32),
        (b_bus, b_src, b_bits): (BusId, Vec<u32>, u32),
        out_bus: BusId,
    ) -> Result<Self, BilinearError> {
        check_product((batches, m, k, n), a_src.len(), b_src.len(), a_bits, b_bits)?;
        let mut c = Self { name: name.into(), batches, m, k, n, a_src, b_src, a_bus, b_bus, a_bits, b_bits, out_bus, uses: vec![1; batches * m * n], log_height: 0 };
        c.log_height = c.min_log_height();
        Ok(c)
    }

    /// Rows per batch.
    fn per_batch(&self) -> usize {
        self.k * (self.m + self.n) + self.m * self.n
    }

    /// The smallest log height.
    pub fn min_log_height(&self) -> usize {
        crate::chips::unary::log_rows(self.batches * self.per_batch())
    }

    /// Bits of `|C|`: below `k 2^(a_bits + b_bits)`.
    pub fn output_bits(&self) -> u32 {
        product_bits(self.k, self.a_bits, self.b_bits)
    }

    fn role(&self, r: usize) -> Role {
        let (t, s) = (r / self.per_batch(), r % self.per_batch());
        if t >= self.batches {
            return Role::Pad;
        }
        let block = self.m + self.n;
        if s < self.k * block {
            let (l, s) = (s / block, s % block);
            if s < self.m { Role::A { t, i: s, l } } else { Role::B { t, l, j: s - self.m } }
        } else {
            let s = s - self.k * block;
            Role::C { t, i: s / self.n, j: s % self.n }
        }
    }

    /// The integer product, from the values on the operand buses.
    pub fn reference(&self, a: &[i64], b: &[i64]) -> Vec<i64> {
        let (m, k, n) = (self.m, self.k, self.n);
        let mut out = Vec::with_capacity(self.batches * m * n);
        for t in 0..self.batches {
            for i in 0..m {
                for j in 0..n {
                    let s: i128 = (0..k).map(|l| i128::from(a[self.a_src[(t * m + i) * k + l] as usize]) * i128::from(b[self.b_src[(t * k + l) * n + j] as usize])).sum();
                    out.push(s as i64);
                }
            }
        }
        out
    }

    /// The trace from the values on the operand buses, and `C` (row-major).
    pub fn generate_trace(&self, a: &[i64], b: &[i64]) -> (Trace, Vec<i64>) {
        let c = self.reference(a, b);
        let h = 1usize << self.log_height;
        let v = (0..h)
            .map(|r| match self.role(r) {
                Role::A { t, i, l } => F::from_i64(a[self.a_src[(t * self.m + i) * self.k + l] as usize]),
                Role::B { t, l, j } => F::from_i64(b[self.b_src[(t * self.k + l) * self.n + j] as usize]),
                Role::C { t, i, j } => F::from_i64(c[(t * self.m + i) * self.n + j]),
                Role::Pad => F::ZERO,
            })
            .collect();
        (Trace::new(v, 1), c)
    }
}

impl Air for MatProd {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        1
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        let h = 1usize << self.log_height;
        let w = MatProdPrep::<usize>::WIDTH;
        let mut v = vec![F::ZERO; w * h];
        for r in 0..h {
            let row = &mut v[r * w..(r + 1) * w];
            let (index, flag) = match self.role(r) {
                Role::A { t, i, l } => (self.a_src[(t * self.m + i) * self.k + l], if i > 0 { PREP.a_next } else if l == 0 { PREP.a_batch } else { PREP.a_first }),
                Role::B { t, l, j } => (self.b_src[(t * self.k + l) * self.n + j], if j > 0 { PREP.b_next } else { PREP.b_first }),
                Role::C { t, i, j } => {
                    let o = (t * self.m + i) * self.n + j;
                    row[PREP.uses] = F::from_u32(self.uses[o]);
                    (o as u32, if j > 0 { PREP.c_next } else if i == 0 { PREP.c_batch } else { PREP.c_row })
                }
                Role::Pad => continue,
            };
            row[PREP.index] = F::from_u32(index);
            row[flag] = F::ONE;
        }
        Some(Trace::new(v, w))
    }
    fn n_challenges(&self) -> usize {
        3
    }
    fn aux_width(&self) -> usize {
        MatProdAux::<usize>::WIDTH
    }
    fn aux_trace(&self, main: &Trace, _prep: Option<&Trace>, challenges: &[EF]) -> Vec<EF> {
        let &[tau, alpha, beta, ..] = challenges else { return Vec::new() };
        let h = main.height();
        let mut out = Vec::with_capacity(4 * h);
        let (mut q, mut p, mut hold, mut acc) = (EF::ONE, EF::ZERO, EF::ZERO, EF::ZERO);
        for r in 0..h {
            let v = EF::from(main.get(r, V));
            match self.role(r) {
                Role::A { i, l, t } => {
                    if i == 0 && l == 0 && t > 0 {
                        q *= tau;
                    }
                    p = if i == 0 { q } else { p * alpha };
                    hold = if i == 0 { p * v } else { hold + p * v };
                }
                Role::B { j, .. } => {
                    p = if j == 0 { hold } else { p * beta };
                    acc += p * v;
                }
                Role::C { i, j, .. } => {
                    if j == 0 {
                        hold = if i == 0 { q } else { hold * alpha };
                        p = hold;
                    } else {
                        p *= beta;
                    }
                    acc -= p * v;
                }
                Role::Pad => {
                    p = EF::ZERO;
                    hold = EF::ZERO;
                }
            }
            out.extend_from_slice(&[q, p, hold, acc]);
        }
        out
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let v = b.main(V);
        let f = |b: &B, c: usize| b.prep(c);
        let is_a = f(b, PREP.a_batch) + f(b, PREP.a_first) + f(b, PREP.a_next);
        let is_b = f(b, PREP.b_first) + f(b, PREP.b_next);
        b.receive(self.a_bus, &[b.prep(PREP.index), v.clone()], is_a);
        b.receive(self.b_bus, &[b.prep(PREP.index), v.clone()], is_b);
        b.send(self.out_bus, &[b.prep(PREP.index), v.clone()], b.prep(PREP.uses));

        let (tau, alpha, beta) = (b.challenge(0), b.challenge(1), b.challenge(2));
        let ext = |x: B::Var| B::Ext::from(x);
        let one = B::Ext::lit(1);
        let (q, p, h, acc) = (b.aux(AUX.q), b.aux(AUX.p), b.aux(AUX.h), b.aux(AUX.acc));
        let (q_n, p_n, h_n, acc_n) = (b.aux_next(AUX.q), b.aux_next(AUX.p), b.aux_next(AUX.h), b.aux_next(AUX.acc));
        let n = |b: &B, c: usize| ext(b.prep_next(c));
        let (a_batch, a_first, a_next) = (n(b, PREP.a_batch), n(b, PREP.a_first), n(b, PREP.a_next));
        let (b_first, b_next) = (n(b, PREP.b_first), n(b, PREP.b_next));
        let (c_batch, c_row, c_next) = (n(b, PREP.c_batch), n(b, PREP.c_row), n(b, PREP.c_next));
        let v_n = ext(b.main_next(V));
        let (first, trans) = (ext(b.is_first_row()), ext(b.is_transition()));

        // q is tau^t: one on the first row, a step at each batch's first row.
        b.assert_zero_ext("q starts at one", first * (q.clone() - one.clone()));
        b.assert_zero_ext("q steps by tau at a batch", trans * (q_n.clone() - q.clone() - a_batch.clone() * (tau - one) * q));
        // p and h on every row, wrapping from the last to the first, whose values (the first A
        // row of batch 0: p = q, h = p v) depend on no earlier row: no selector, degree 3.
        let p_want = (a_batch.clone() + a_first.clone() + c_batch.clone()) * q_n.clone()
            + (a_next.clone() * alpha.clone() + (b_next.clone() + c_next.clone()) * beta) * p.clone()
            + b_first.clone() * h.clone()
            + c_row.clone() * alpha.clone() * h.clone();
        b.assert_zero_ext("p is the row's power", p_n.clone() - p_want);
        let pv = p_n.clone() * v_n;
        let h_want = (a_batch + a_first) * pv.clone()
            + a_next * (h.clone() + pv.clone())
            + (b_first.clone() + b_next.clone() + c_next.clone()) * h.clone()
            + c_batch.clone() * q_n
            + c_row.clone() * alpha * h;
        b.assert_zero_ext("h holds the block's sum or the row's power", h_n - h_want);
        // On every row, the last one included (it wraps to the first): the terms sum to zero.
        let term = (b_first + b_next - c_batch - c_row - c_next) * pv;
        b.assert_zero_ext("acc adds each term, cyclically", acc_n - acc - term);
    }
}
