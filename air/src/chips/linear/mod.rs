//! A linear layer with fixed weights: `Y[p, o] = b[o] + sum_j X[src(p, j)] W[j, o]` for
//! `P` positions, `K` inputs per position and `N` outputs per position. A fully connected
//! layer (Gemm, MatMul by a constant) has one position per row of its input; a convolution has
//! one position per output pixel, and `src(p, j)` picks the input element under kernel tap `j`
//! (im2col by lookup: the patches are read from the producer of `X` over the bus, never
//! copied into the statement), or none where the kernel lies on the zero padding.
//!
//! # Layout
//! The `N` outputs of a position are cut into `G = ceil(N / C)` groups of `C` (the `chunk`),
//! so that a row holds at most `C` weights: a query opens a row of every table, and a wide
//! dense layer would otherwise put all its `N` weights of an input in each opened row.
//! Rows come in blocks of `B = max(K, C)`, one block per position and group: row
//! `r = (p G + g) B + j` holds the patch value `x = X[src(p, j)]` (0 where there is none) and,
//! for `j < C`, the output `y = Y[p, g C + j]`. Preprocessed: `src`, whether the row reads an
//! input, the output's index and how many times it is used, the bias, the end of a block, and
//! `W[j, g C .. g C + C]` (`C` columns).
//!
//! # The check (Freivalds)
//! After the main trace is committed the verifier draws `sigma` and `tau`; three auxiliary
//! columns hold `q_r = tau^beta` and `e_r = tau^beta sigma^j` for row `r = beta B + j` of block
//! `beta = p G + g`, and an accumulator with `acc_{r+1} = acc_r + t_{r+1}` on every row, the
//! last one wrapping to the first (no selector, so the constraint has degree 3), of
//!
//! `t_r = q_r x_r v_r - e_r (y_r - b_r)`, with `v_r = sum_{o < C} sigma^o W[j, g C + o]`,
//!
//! Summed over all rows the accumulator cancels: the terms add to zero. Summed over all rows,
//! `sum t = sum_{beta, o < C} tau^beta sigma^o ((X W)[p, g C + o] + b - Y[p, g C + o])`: a
//! single wrong output makes it a non-zero polynomial in `(tau, sigma)` of total degree below
//! the blocks plus `C` (at most the table's height), zero for at most that fraction of the
//! `|EF|^2` pairs (Schwartz–Zippel). Two challenges rather than `tau = sigma^B` keep every
//! constraint's degree in the challenges near `C` instead of `B`, which the security estimate
//! multiplies by the table's height. Cost: two main cells per row, about one per activation
//! read plus one per output, and the weights in preprocessed columns, instead of a row per
//! multiply-accumulate.
//!
//! # Field arithmetic equals integer arithmetic
//! The producer of `X` bounds `|x| < 2^in_bits`; [`Linear::output_bits`] bounds
//! `sum_j |W[j, o]| 2^in_bits + |b[o]|` and the compiler refuses the layer when that reaches
//! `p/2`: then the product computed in `F` is the integer product, and the consumer of `Y`
//! (a rescale) reads the true integer.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder, BusId};
use crate::expr::FieldExpr;
use crate::field::{EF, F};
use crate::trace::Trace;

#[cfg(test)]
mod tests;

crate::columns! {
    /// Main columns.
    pub struct LinearCols { x, y }
}
pub const X: usize = LinearCols::INDEX.x;
pub const Y: usize = LinearCols::INDEX.y;
crate::columns! {
    /// Preprocessed columns; the weights follow from [`P_W`].
    pub struct LinearPrep { src, valid, out, uses, is_y, bias, end, w }
}
const P_SRC: usize = LinearPrep::INDEX.src;
const P_VALID: usize = LinearPrep::INDEX.valid;
const P_OUT: usize = LinearPrep::INDEX.out;
const P_USES: usize = LinearPrep::INDEX.uses;
const P_IS_Y: usize = LinearPrep::INDEX.is_y;
const P_BIAS: usize = LinearPrep::INDEX.bias;
const P_END: usize = LinearPrep::INDEX.end;
const P_W: usize = LinearPrep::INDEX.w;
crate::columns! {
    /// Auxiliary columns.
    pub struct LinearAux { e, q, acc }
}
const A_E: usize = LinearAux::INDEX.e;
const A_Q: usize = LinearAux::INDEX.q;
const A_ACC: usize = LinearAux::INDEX.acc;

/// `Y = X W + b` over `positions` positions, checked by Freivalds' test.
#[derive(Clone, Debug)]
pub struct Linear {
    pub name: String,
    /// `P`.
    pub positions: usize,
    /// `K`: inputs per position.
    pub k: usize,
    /// `N`: outputs per position.
    pub n: usize,
    /// `C`: outputs per block (at most `N`).
    pub chunk: usize,
    /// `W`, `K x N` row-major.
    pub weights: Vec<F>,
    /// `b`: `N` values, or empty for none.
    pub bias: Vec<F>,
    /// `src[p K + j]`: the index of the input element under tap `j` of position `p`.
    pub src: Vec<Option<u32>>,
    /// `out[p N + o]`: the index of `Y[p, o]` in the output tensor.
    pub out: Vec<u32>,
    /// `uses[i]`: how many consumers read output element `i`.
    pub uses: Vec<u32>,
    pub in_bus: BusId,
    pub out_bus: BusId,
    pub log_height: usize,
}

impl Linear {
    /// Rows per block.
    pub fn block(&self) -> usize {
        self.k.max(self.chunk).max(1)
    }

    /// Output groups per position.
    pub fn groups(&self) -> usize {
        self.n.div_ceil(self.chunk.max(1))
    }

    /// The smallest height for `positions` positions of `k` inputs and `n` outputs in groups of
    /// `chunk` (at least 4 rows).
    pub fn min_log_height(positions: usize, k: usize, n: usize, chunk: usize) -> usize {
        crate::chips::unary::log_rows(positions * n.div_ceil(chunk.max(1)) * k.max(chunk).max(1))
    }

    /// Every input index the chip receives, as often as it receives it: each position's taps
    /// once per output group.
    pub fn reads(&self) -> impl Iterator<Item = u32> + '_ {
        let g = self.groups();
        self.src.chunks(self.k.max(1)).flat_map(move |taps| core::iter::repeat_n(taps, g).flatten().flatten().copied())
    }

    /// `W[j, o]`, 0 past the last output.
    fn weight(&self, j: usize, o: usize) -> F {
        if j < self.k && o < self.n { self.weights[j * self.n + o] } else { F::ZERO }
    }

    fn bias(&self, o: usize) -> F {
        self.bias.get(o).copied().unwrap_or(F::ZERO)
    }

    /// For inputs with `|x| < 2^in_bits`, the bits `o` with `|Y| < 2^o` (from the actual
    /// weights and bias, read as signed), or `None` when that bound reaches `2^62`.
    pub fn output_bits(&self, in_bits: u32) -> Option<u32> {
        crate::chips::matmul::product_bound_bits(&self.weights, self.k, self.n, |o| self.bias(o), in_bits)
    }

    /// The outputs `Y` (by output index) for the input tensor `x`, in integers.
    pub fn reference(&self, x: &[i64]) -> Vec<i64> {
        let w: Vec<i64> = self.weights.iter().map(|&v| crate::field::to_signed(v)).collect();
        let b: Vec<i64> = (0..self.n).map(|o| crate::field::to_signed(self.bias(o))).collect();
        let mut y = vec![0i64; self.uses.len()];
        let per: Vec<Vec<(u32, i64)>> = crate::par::map_range(self.positions, |p| {
            (0..self.n)
                .map(|o| {
                    let mut acc = i128::from(b[o]);
                    for j in 0..self.k {
                        if let Some(s) = self.src[p * self.k + j] {
                            acc += i128::from(x[s as usize]) * i128::from(w[j * self.n + o]);
                        }
                    }
                    (self.out[p * self.n + o], acc as i64)
                })
                .collect()
        });
        for (i, v) in per.into_iter().flatten() {
            y[i as usize] = v;
        }
        y
    }

    /// The trace for the input tensor `x`, and the outputs (by output index).
    pub fn generate_trace(&self, x: &[i64]) -> (Trace, Vec<i64>) {
        let y = self.reference(x);
        let (h, bs, g) = (1usize << self.log_height, self.block(), self.groups());
        let mut v = vec![F::ZERO; 2 * h];
        for p in 0..self.positions {
            for gi in 0..g {
                for j in 0..bs {
                    let r = (p * g + gi) * bs + j;
                    if j < self.k && let Some(s) = self.src[p * self.k + j] {
                        v[2 * r] = F::from_i64(x[s as usize]);
                    }
                    let o = gi * self.chunk + j;
                    if j < self.chunk && o < self.n {
                        v[2 * r + 1] = F::from_i64(y[self.out[p * self.n + o] as usize]);
                    }
                }
            }
        }
        (Trace::new(v, 2), y)
    }
}

impl Air for Linear {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        2
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        let (h, bs, g) = (1usize << self.log_height, self.block(), self.groups());
        let w = P_W + self.chunk;
        let mut v = vec![F::ZERO; h * w];
        for r in 0..h {
            let (blk, j) = (r / bs, r % bs);
            let (p, gi) = (blk / g, blk % g);
            let row = &mut v[r * w..(r + 1) * w];
            row[P_END] = F::from_bool(j == bs - 1);
            for c in 0..self.chunk {
                row[P_W + c] = self.weight(j, gi * self.chunk + c);
            }
            if p >= self.positions {
                continue;
            }
            if j < self.k && let Some(s) = self.src[p * self.k + j] {
                row[P_SRC] = F::from_u32(s);
                row[P_VALID] = F::ONE;
            }
            let o = gi * self.chunk + j;
            if j < self.chunk && o < self.n {
                let out = self.out[p * self.n + o];
                row[P_OUT] = F::from_u32(out);
                row[P_USES] = F::from_u32(self.uses[out as usize]);
                row[P_IS_Y] = F::ONE;
                row[P_BIAS] = self.bias(o);
            }
        }
        Some(Trace::new(v, w))
    }
    fn n_challenges(&self) -> usize {
        2
    }
    fn aux_width(&self) -> usize {
        3
    }
    fn aux_trace(&self, main: &Trace, prep: Option<&Trace>, challenges: &[EF]) -> Vec<EF> {
        let (Some(prep), &[sigma, tau, ..]) = (prep, challenges) else { return Vec::new() };
        let (h, bs) = (main.height(), self.block());
        // v depends only on the group and the row within the block: the weights repeat every
        // G blocks.
        let period = (bs * self.groups()).min(h);
        let vj: Vec<EF> = (0..period).map(|r| prep.row(r)[P_W..].iter().rev().fold(EF::ZERO, |acc, &w| acc * sigma + w)).collect();
        let mut out = Vec::with_capacity(3 * h);
        let (mut e, mut q, mut acc) = (EF::ONE, EF::ONE, EF::ZERO);
        for r in 0..h {
            let row = prep.row(r);
            acc += q * vj[r % period] * main.get(r, X) - e * (main.get(r, Y) - row[P_BIAS]);
            out.extend_from_slice(&[e, q, acc]);
            if row[P_END] == F::ONE {
                q *= tau;
                e = q;
            } else {
                e *= sigma;
            }
        }
        out
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let (x, y) = (b.main(X), b.main(Y));
        let one = B::Var::lit(1);
        b.assert_zero("x is 0 where no input is read", x.clone() * (one.clone() - b.prep(P_VALID)));
        b.assert_zero("y is 0 off output rows", y.clone() * (one - b.prep(P_IS_Y)));
        b.receive(self.in_bus, &[b.prep(P_SRC), x], b.prep(P_VALID));
        b.send(self.out_bus, &[b.prep(P_OUT), y], b.prep(P_USES));

        let (sigma, tau) = (b.challenge(0), b.challenge(1));
        let weights_at = |b: &B, next: bool| {
            let col = |c| if next { b.prep_next(c) } else { b.prep(c) };
            let mut v = B::Ext::from(col(P_W + self.chunk - 1));
            for o in (0..self.chunk - 1).rev() {
                v = v * sigma.clone() + B::Ext::from(col(P_W + o));
            }
            v
        };
        let v_next = weights_at(b, true);
        let (e, q, acc) = (b.aux(A_E), b.aux(A_Q), b.aux(A_ACC));
        let (e_n, q_n, acc_n) = (b.aux_next(A_E), b.aux_next(A_Q), b.aux_next(A_ACC));
        let ext = |v: B::Var| B::Ext::from(v);
        let term_next = q_n.clone() * ext(b.main_next(X)) * v_next - e_n.clone() * (ext(b.main_next(Y)) - ext(b.prep_next(P_BIAS)));
        let (first, trans) = (ext(b.is_first_row()), ext(b.is_transition()));
        let one = B::Ext::lit(1);
        b.assert_zero_ext("e starts at one", first.clone() * (e.clone() - one.clone()));
        let end = ext(b.prep(P_END));
        let se = sigma * e;
        b.assert_zero_ext("e multiplies by sigma, restarts at q", trans.clone() * (e_n - se.clone() - end.clone() * (q_n.clone() - se)));
        b.assert_zero_ext("q starts at one", first.clone() * (q.clone() - one.clone()));
        b.assert_zero_ext("q steps by tau at a block's end", trans.clone() * (q_n - q.clone() - end * (tau - one) * q));
        // On every row, the last one included (it wraps to the first): summed over the rows the
        // accumulator cancels and the terms add to zero. No selector: degree 3, not 4.
        b.assert_zero_ext("acc adds each term, cyclically", acc_n - acc - term_next);
    }
}
