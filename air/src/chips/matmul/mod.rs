//! A vector–matrix product `c = a W + b` with fixed weights and bias, checked by Freivalds' test instead of
//! one row per multiply-accumulate: about one cell per weight and one per activation.
//!
//! Row `j` of the table holds the activation `a_j` and, preprocessed, row `j` of `W`; row `l`
//! holds the output `c_l`. After the main trace is committed the verifier draws `sigma`, and
//! three auxiliary columns prove
//!
//! `sum_j a_j (sum_l sigma^l W_jl) + sum_l sigma^l (b_l - c_l) = sum_l sigma^l ((a W + b)_l - c_l) = 0`:
//!
//! - `v_j = sum_l sigma^l W_jl` (Horner over the row's weights),
//! - `p_r = sigma^r` (`p_0 = 1`, `p_{r+1} = sigma p_r`),
//! - `s_r = sum_{i <= r} (a_i v_i + p_i (b_i - c_i))`, and `s = 0` on the last row
//!   (`b_l` preprocessed on row `l`).
//!
//! If `c != a W + b` (in `F`), the left side is a non-zero polynomial in `sigma` of degree below
//! the table's height, so it vanishes for at most that many of the `|EF| ~ 2^128` challenges.
//! Activations arrive on `in_bus` as `(j, a_j)` for `j < k`; outputs leave on `out_bus` as
//! `(l, c_l)` for `l < n`. Padding rows carry zero weights, so their activations do not count,
//! and any non-zero padding output breaks the identity.

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
    /// Main columns of [`VecMat`].
    pub struct VecMatCols {
        /// The activation `a_j` on row `j < k`.
        a,
        /// The output `c_l` on row `l < n`.
        c,
    }
}

crate::columns! {
    /// Auxiliary (extension) columns of [`VecMat`].
    pub struct VecMatAux {
        /// `sum_l sigma^l W_jl`: the row's weights combined.
        v,
        /// `sigma^r` on row `r`.
        p,
        /// The running sum of `a v - p c`.
        s,
    }
}

crate::columns! {
    /// Preprocessed columns: the row index, `is_in` (row < k), `is_out` (row < n), the bias `b_r`
    /// (row < n), then the `n` weights of the row.
    pub struct MatmulPrep { row, prep_in, out, bias, w }
}
const PREP_ROW: usize = MatmulPrep::INDEX.row;
const PREP_IN: usize = MatmulPrep::INDEX.prep_in;
const PREP_OUT: usize = MatmulPrep::INDEX.out;
const PREP_BIAS: usize = MatmulPrep::INDEX.bias;
const PREP_W: usize = MatmulPrep::INDEX.w;

/// For inputs with `|a_j| < 2^in_bits`, the bits `o` with `|a W + b| < 2^o` for a `k x n`
/// weight matrix (row-major) and biases, all read as signed, or `None` when that bound reaches
/// `2^62`: `max_l sum_j |W_jl| 2^in_bits + |b_l|`.
pub fn product_bound_bits(weights: &[F], k: usize, n: usize, bias: impl Fn(usize) -> F, in_bits: u32) -> Option<u32> {
    let signed = |x: F| u128::from(crate::field::to_signed(x).unsigned_abs());
    let a_max = 1u128.checked_shl(in_bits)?;
    let mut worst = 0u128;
    for l in 0..n {
        let col: u128 = (0..k).map(|j| signed(weights[j * n + l])).sum();
        worst = worst.max(col.checked_mul(a_max)?.checked_add(signed(bias(l)))?);
    }
    let bits = 128 - worst.leading_zeros();
    (bits <= 62).then_some(bits)
}

/// `c = a W + b` for a `1 x k` activation vector, fixed `k x n` weights and `n` biases.
#[derive(Clone, Debug)]
pub struct VecMat {
    /// The chip's name (names are unique in a circuit).
    pub name: String,
    pub k: usize,
    pub n: usize,
    /// `W`, row-major (`k` rows of `n`).
    pub weights: Vec<F>,
    /// `b`: `n` values, or empty for none.
    pub bias: Vec<F>,
    /// log2 of the table's height: `2^log_height >= max(k, n)`.
    pub log_height: usize,
    /// Where activations come from and outputs go (`None`: the chip stands alone, as in
    /// tests of the check itself).
    pub in_bus: Option<BusId>,
    pub out_bus: Option<BusId>,
}

impl VecMat {
    /// The smallest height for `k` inputs and `n` outputs (at least 2 rows).
    pub fn min_log_height(k: usize, n: usize) -> usize {
        k.max(n).max(2).next_power_of_two().trailing_zeros() as usize
    }

    /// For inputs with `|a_j| < 2^in_bits`, the bits `o` with `|aW + b| < 2^o` (from the
    /// actual weights and bias, read as signed), or `None` when that bound reaches `p/2`: then
    /// the product in `F` may differ from the integer product, and the layer must not be built
    /// on such inputs (`docs/soundness.md`, "Op chips").
    pub fn output_bits(&self, in_bits: u32) -> Option<u32> {
        product_bound_bits(&self.weights, self.k, self.n, |l| self.bias(l), in_bits)
    }

    fn bias(&self, l: usize) -> F {
        self.bias.get(l).copied().unwrap_or(F::ZERO)
    }

    /// The trace for activations `a` (`k` of them) and the outputs `a W + b`.
    pub fn generate_trace(&self, a: &[F]) -> (Trace, Vec<F>) {
        let c: Vec<F> = (0..self.n)
            .map(|l| {
                self.bias(l)
                    + (0..self.k).map(|j| a.get(j).copied().unwrap_or(F::ZERO) * self.weights[j * self.n + l]).sum::<F>()
            })
            .collect();
        let h = 1usize << self.log_height;
        let mut v = vec![F::ZERO; h * VecMatCols::<()>::WIDTH];
        for r in 0..h {
            v[2 * r] = a.get(r).copied().unwrap_or(F::ZERO);
            v[2 * r + 1] = c.get(r).copied().unwrap_or(F::ZERO);
        }
        (Trace::new(v, VecMatCols::<()>::WIDTH), c)
    }

    /// The outputs of the plain product, for tests: `c_l = b_l + sum_j a_j W_jl`.
    pub fn reference(&self, a: &[F]) -> Vec<F> {
        (0..self.n).map(|l| self.bias(l) + (0..self.k).map(|j| a[j] * self.weights[j * self.n + l]).sum::<F>()).collect()
    }
}

impl Air for VecMat {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        VecMatCols::<()>::WIDTH
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        let h = 1usize << self.log_height;
        let w = PREP_W + self.n;
        let mut v = vec![F::ZERO; h * w];
        for r in 0..h {
            let row = &mut v[r * w..(r + 1) * w];
            row[PREP_ROW] = F::from_usize(r);
            row[PREP_IN] = F::from_bool(r < self.k);
            row[PREP_OUT] = F::from_bool(r < self.n);
            row[PREP_BIAS] = self.bias(r);
            if r < self.k {
                row[PREP_W..].copy_from_slice(&self.weights[r * self.n..(r + 1) * self.n]);
            }
        }
        Some(Trace::new(v, w))
    }
    fn n_challenges(&self) -> usize {
        1
    }
    fn aux_width(&self) -> usize {
        VecMatAux::<()>::WIDTH
    }
    fn aux_trace(&self, main: &Trace, prep: Option<&Trace>, challenges: &[EF]) -> Vec<EF> {
        let (Some(prep), Some(&sigma)) = (prep, challenges.first()) else { return Vec::new() };
        let h = main.height();
        let mut out = Vec::with_capacity(h * VecMatAux::<()>::WIDTH);
        let (mut p, mut s) = (EF::ONE, EF::ZERO);
        for r in 0..h {
            let row = prep.row(r);
            let v = row[PREP_W..].iter().rev().fold(EF::ZERO, |acc, &x| acc * sigma + x);
            s += v * main.get(r, 0) + p * (row[PREP_BIAS] - main.get(r, 1));
            out.extend_from_slice(&[v, p, s]);
            p *= sigma;
        }
        out
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let cols = VecMatCols::from_fn(|i| B::Ext::from(b.main(i)));
        let next = VecMatCols::from_fn(|i| B::Ext::from(b.main_next(i)));
        let aux = VecMatAux::from_fn(|i| b.aux(i));
        let aux_next = VecMatAux::from_fn(|i| b.aux_next(i));
        let sigma = b.challenge(0);
        // v = W_j0 + sigma (W_j1 + sigma (W_j2 + ...)).
        let mut v = B::Ext::from(b.prep(PREP_W + self.n - 1));
        for l in (0..self.n - 1).rev() {
            v = v * sigma.clone() + B::Ext::from(b.prep(PREP_W + l));
        }
        b.assert_zero_ext("v combines the row's weights", aux.v.clone() - v);
        let bias = B::Ext::from(b.prep(PREP_BIAS));
        let bias_next = B::Ext::from(b.prep_next(PREP_BIAS));
        let first = B::Ext::from(b.is_first_row());
        let trans = B::Ext::from(b.is_transition());
        let last = B::Ext::from(b.is_last_row());
        b.assert_zero_ext("p starts at one", first.clone() * (aux.p.clone() - B::Ext::lit(1)));
        b.assert_zero_ext("p multiplies by sigma", trans.clone() * (aux_next.p.clone() - sigma * aux.p.clone()));
        b.assert_zero_ext(
            "s starts with a v + p (b - c)",
            first * (aux.s.clone() - cols.a * aux.v - aux.p * (bias - cols.c)),
        );
        b.assert_zero_ext(
            "s accumulates a v + p (b - c)",
            trans * (aux_next.s - aux.s.clone() - next.a * aux_next.v - aux_next.p * (bias_next - next.c)),
        );
        b.assert_zero_ext("s ends at zero", last * aux.s);
        let row = b.prep(PREP_ROW);
        let (a, c) = (b.main(0), b.main(1));
        if let Some(bus) = self.in_bus {
            b.receive(bus, &[row.clone(), a], b.prep(PREP_IN));
        }
        if let Some(bus) = self.out_bus {
            b.send(bus, &[row, c], b.prep(PREP_OUT));
        }
    }
}
