//! The product of two computed matrices, `C[t, i, j] = sum_l A[t, i, l] B[t, l, j]` (MatMul
//! with neither operand a constant), one row per term.
//!
//! Row `r = ((t m + i) n + j) k + l` receives `a = A[t, i, l]` and `b = B[t, l, j]` from their
//! producers' buses at preprocessed indices and carries the running sum
//! `acc = a b + (1 - start) acc_prev`, where the preprocessed `start` marks the first term of
//! each output (and every padding row); the last term's row sends `(index of C[t, i, j], acc)`
//! as often as `C[t, i, j]` is read (preprocessed, zero on every other row).
//!
//! Neither operand is fixed, so Freivalds' trick with preprocessed weights does not apply; a
//! row per term is the plain cost, right for the small products of the corpus (a few hundred
//! terms). A large product of two computed matrices would want a check after a challenge.
//!
//! # Field arithmetic equals integer arithmetic
//! The producers bound `|a| < 2^a_bits` and `|b| < 2^b_bits`; [`Bilinear::new`] requires
//! `k 2^(a_bits + b_bits) < p/2`, so every sent `acc` (a sum of `k` products, computed in `F`)
//! is the integer sum, and the consumer (a rescale) reads the true integer.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder, BusId};
use crate::expr::FieldExpr;
use crate::field::{F, P};
use crate::trace::Trace;

#[cfg(test)]
mod tests;

crate::columns! {
    /// Main columns.
    pub struct BilinearCols { a, b, acc }
}
pub const A: usize = BilinearCols::INDEX.a;
pub const B: usize = BilinearCols::INDEX.b;
pub const ACC: usize = BilinearCols::INDEX.acc;
crate::columns! {
    /// Preprocessed columns.
    pub struct BilinearPrep { a, b, active, start, out, uses }
}
const P_A: usize = BilinearPrep::INDEX.a;
const P_B: usize = BilinearPrep::INDEX.b;
const P_ACTIVE: usize = BilinearPrep::INDEX.active;
const P_START: usize = BilinearPrep::INDEX.start;
const P_OUT: usize = BilinearPrep::INDEX.out;
const P_USES: usize = BilinearPrep::INDEX.uses;

/// `C = A B` for `batches` pairs of `m x k` and `k x n` matrices.
#[derive(Clone, Debug)]
pub struct Bilinear {
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

/// A product whose sums may pass the field, or whose shapes do not fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BilinearError(pub &'static str);

impl core::fmt::Display for BilinearError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "product of two computed matrices: {}", self.0)
    }
}

/// Checks a product of `batches` `m x k` by `k x n` matrices read at `a_len` and `b_len`
/// indices, with operands below `2^a_bits` and `2^b_bits`: every shape non-empty and every sum
/// of `k` products below `p/2` (the field holds the integer). Shared by [`Bilinear`] and
/// [`crate::chips::matprod::MatProd`].
pub fn check_product((batches, m, k, n): (usize, usize, usize, usize), a_len: usize, b_len: usize, a_bits: u32, b_bits: u32) -> Result<(), BilinearError> {
    if a_len != batches * m * k || b_len != batches * k * n || k == 0 || m == 0 || n == 0 || batches == 0 {
        return Err(BilinearError("the operands' indices do not fit the shapes"));
    }
    if a_bits + b_bits > 62 || (k as u128) << (a_bits + b_bits) >= u128::from(P) / 2 {
        return Err(BilinearError("the sums may pass the field"));
    }
    Ok(())
}

/// Bits of `|C|` for sums of `k` products of operands below `2^a_bits` and `2^b_bits`.
pub fn product_bits(k: usize, a_bits: u32, b_bits: u32) -> u32 {
    a_bits + b_bits + (usize::BITS - (k - 1).leading_zeros())
}

impl Bilinear {
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
        let rows = batches * m * n * k;
        Ok(Self {
            name: name.into(),
            batches,
            m,
            k,
            n,
            a_src,
            b_src,
            a_bus,
            b_bus,
            a_bits,
            b_bits,
            out_bus,
            uses: vec![1; batches * m * n],
            log_height: crate::chips::unary::log_rows(rows),
        })
    }

    /// The smallest log height.
    pub fn min_log_height(&self) -> usize {
        crate::chips::unary::log_rows(self.batches * self.m * self.n * self.k)
    }

    /// Bits of `|C|`: below `k 2^(a_bits + b_bits)`.
    pub fn output_bits(&self) -> u32 {
        product_bits(self.k, self.a_bits, self.b_bits)
    }

    /// The operand indices of term row `r`: `(A index, B index)`.
    fn term(&self, r: usize) -> (usize, usize) {
        let (l, rest) = (r % self.k, r / self.k);
        let (j, rest) = (rest % self.n, rest / self.n);
        let (i, t) = (rest % self.m, rest / self.m);
        ((t * self.m + i) * self.k + l, (t * self.k + l) * self.n + j)
    }

    /// The integer product, from the values on the operand buses.
    pub fn reference(&self, a: &[i64], b: &[i64]) -> Vec<i64> {
        (0..self.batches * self.m * self.n)
            .map(|o| (0..self.k).map(|l| self.term(o * self.k + l)).map(|(x, y)| i128::from(a[self.a_src[x] as usize]) * i128::from(b[self.b_src[y] as usize])).sum::<i128>() as i64)
            .collect()
    }

    /// The trace from the values on the operand buses, and `C` (row-major).
    pub fn generate_trace(&self, a: &[i64], b: &[i64]) -> (Trace, Vec<i64>) {
        let h = 1usize << self.log_height;
        let terms = self.batches * self.m * self.n * self.k;
        let mut v = Vec::with_capacity(3 * h);
        let mut out = Vec::with_capacity(self.batches * self.m * self.n);
        let mut acc = 0i128;
        for r in 0..h {
            let (x, y) = if r < terms {
                let (ia, ib) = self.term(r);
                (a[self.a_src[ia] as usize], b[self.b_src[ib] as usize])
            } else {
                (0, 0)
            };
            if r >= terms || r % self.k == 0 {
                acc = 0;
            }
            acc += i128::from(x) * i128::from(y);
            v.extend_from_slice(&[F::from_i64(x), F::from_i64(y), F::from_i64(acc as i64)]);
            if r < terms && r % self.k == self.k - 1 {
                out.push(acc as i64);
            }
        }
        (Trace::new(v, 3), out)
    }
}

impl Air for Bilinear {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        3
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        let h = 1usize << self.log_height;
        let terms = self.batches * self.m * self.n * self.k;
        let mut v = Vec::with_capacity(6 * h);
        for r in 0..h {
            if r >= terms {
                v.extend_from_slice(&[F::ZERO, F::ZERO, F::ZERO, F::ONE, F::ZERO, F::ZERO]);
                continue;
            }
            let (ia, ib) = self.term(r);
            let last = r % self.k == self.k - 1;
            let o = r / self.k;
            v.extend_from_slice(&[
                F::from_u32(self.a_src[ia]),
                F::from_u32(self.b_src[ib]),
                F::ONE,
                F::from_bool(r % self.k == 0),
                F::from_usize(if last { o } else { 0 }),
                F::from_u32(if last { self.uses[o] } else { 0 }),
            ]);
        }
        Some(Trace::new(v, 6))
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let (x, y, acc) = (b.main(A), b.main(B), b.main(ACC));
        let (xn, yn, acc_n) = (b.main_next(A), b.main_next(B), b.main_next(ACC));
        let active = b.prep(P_ACTIVE);
        b.receive(self.a_bus, &[b.prep(P_A), x.clone()], active.clone());
        b.receive(self.b_bus, &[b.prep(P_B), y.clone()], active);
        b.send(self.out_bus, &[b.prep(P_OUT), acc.clone()], b.prep(P_USES));
        let first = b.is_first_row();
        b.assert_zero("acc starts with the first term", first * (acc.clone() - x * y));
        let trans = b.is_transition();
        let start_n = b.prep_next(P_START);
        b.assert_zero("acc adds each term, restarting at a new output", trans * (acc_n - xn * yn - (B::Var::lit(1) - start_n) * acc));
    }
}
