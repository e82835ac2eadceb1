//! Division by a constant, rounded as the executor rounds it (`docs/quantization.md`):
//! `y = floor((2 n + D) / (2 D))` with the numerator `n = ±x 2^k` (the sign of the divisor moved
//! to it) and the divisor's magnitude `D > 0`.
//!
//! Row `r` receives `(r, x)` and sends `(r, y)` as its [`UnaryIo`] says, and proves
//! `2 n + D = 2 D y + q` with the remainder `q` in `[0, 2D)`: `q` and `2D - 1 - q` both have
//! byte limbs of `ceil(log2 2D)` bits, and `y + 2^(out_bits-1)` has `out_bits` bits.
//!
//! # Field arithmetic equals integer arithmetic
//! With `|x| < 2^in_bits` from the producer, every term is an integer and their sum is below
//! `2^(in_bits+k+1) + D + 2D 2^(out_bits-1) + 2D`, which [`DivConst::new`] requires below
//! `p/2`: the equation holds over the integers, and `(y, q)` is the one quotient and
//! remainder. A remainder of `2D` or more, which would let `y` be one less, fails the second
//! range check.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder};
use crate::chips::range::{assert_in_range, byte_limbs, n_limbs, range_lookups};
use crate::chips::unary::{REST, UnaryIo, UnaryRow, unary_trace};
use crate::field::F;
use crate::trace::Trace;

#[cfg(test)]
mod tests;

crate::columns! {
    /// The chip's own columns, after `x, y`: the remainder, then the limbs of `q`, of
    /// `2D - 1 - q` and of `y + 2^(out_bits-1)`.
    /// (After the unary columns: index `REST +` the field's.)
    pub struct DivconstCols { q, limbs }
}
const Q: usize = REST + DivconstCols::INDEX.q;
const LIMBS: usize = REST + DivconstCols::INDEX.limbs;

/// Division by a constant.
#[derive(Clone, Debug)]
pub struct DivConst {
    pub name: String,
    /// `D > 0`.
    pub divisor: u64,
    /// Whether the numerator is `-x 2^k` (a negative divisor).
    pub negate: bool,
    /// `k`: the numerator's left shift.
    pub shift: u32,
    pub in_bits: u32,
    pub out_bits: u32,
    pub io: UnaryIo,
}

/// A division the field cannot hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DivBoundError;

impl core::fmt::Display for DivBoundError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "the division's terms may pass the field")
    }
}

impl DivConst {
    /// The chip, if its equation cannot wrap (see the module's docs).
    pub fn new(name: impl Into<String>, divisor: i64, shift: u32, in_bits: u32, out_bits: u32, io: UnaryIo) -> Result<Self, DivBoundError> {
        let d = divisor.unsigned_abs();
        if d == 0 || out_bits == 0 || out_bits > 61 || in_bits + shift > 60 || d >= 1 << 40 {
            return Err(DivBoundError);
        }
        let bound = (1u128 << (in_bits + shift + 1)) + u128::from(d) * (3 + (1u128 << out_bits));
        if bound >= u128::from(crate::field::P / 2) {
            return Err(DivBoundError);
        }
        Ok(Self { name: name.into(), divisor: d, negate: divisor < 0, shift, in_bits, out_bits, io })
    }

    fn q_bits(&self) -> usize {
        (64 - (2 * self.divisor - 1).leading_zeros()) as usize
    }

    /// The executor's rule.
    pub fn reference(&self, x: i64) -> i64 {
        let n = i128::from(x) << self.shift;
        let n = if self.negate { -n } else { n };
        let d = i128::from(self.divisor);
        (2 * n + d).div_euclid(2 * d) as i64
    }

    /// The trace for the inputs (element `r` on row `r`), the outputs and the lookups.
    pub fn generate_trace(&self, inputs: &[i64]) -> (Trace, Vec<i64>, Vec<F>) {
        let (nq, ny) = (n_limbs(self.q_bits()), n_limbs(self.out_bits as usize));
        let off = 1i64 << (self.out_bits - 1);
        unary_trace(inputs, self.io.log_height, Air::width(self), |x| {
            let y = self.reference(x);
            let n = i128::from(x) << self.shift;
            let n = if self.negate { -n } else { n };
            let d = i128::from(self.divisor);
            let q = (2 * n + d - 2 * d * i128::from(y)) as u64;
            let t = 2 * self.divisor - 1 - q;
            let mut rest = vec![F::from_u64(q)];
            rest.extend(byte_limbs(q, nq));
            rest.extend(byte_limbs(t, nq));
            rest.extend(byte_limbs((y + off) as u64, ny));
            let mut lookups = range_lookups(q, self.q_bits());
            lookups.extend(range_lookups(t, self.q_bits()));
            lookups.extend(range_lookups((y + off) as u64, self.out_bits as usize));
            UnaryRow { y, rest, lookups }
        })
    }
}

impl Air for DivConst {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        LIMBS + 2 * n_limbs(self.q_bits()) + n_limbs(self.out_bits as usize)
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        Some(self.io.preprocessed_trace())
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let (x, y) = self.io.eval(b);
        let q = b.main(Q);
        let d = F::from_u64(self.divisor);
        let scale = F::from_u64(1 << self.shift) * F::TWO;
        let n2 = if self.negate { -(x * scale) } else { x * scale };
        b.assert_zero("2n + D = 2D y + q", n2 + d - y.clone() * (d + d) - q.clone());
        let nq = n_limbs(self.q_bits());
        let ny = n_limbs(self.out_bits as usize);
        let q_limbs: Vec<B::Var> = (0..nq).map(|i| b.main(LIMBS + i)).collect();
        let t_limbs: Vec<B::Var> = (0..nq).map(|i| b.main(LIMBS + nq + i)).collect();
        let y_limbs: Vec<B::Var> = (0..ny).map(|i| b.main(LIMBS + 2 * nq + i)).collect();
        assert_in_range(b, "q is its limbs", q.clone(), &q_limbs, self.q_bits());
        let top = F::from_u64(2 * self.divisor - 1);
        assert_in_range(b, "2D - 1 - q is its limbs", B::Var::from(top) - q, &t_limbs, self.q_bits());
        let off = F::from_u64(1 << (self.out_bits - 1));
        assert_in_range(b, "y + 2^(out-1) is its limbs", y + off, &y_limbs, self.out_bits as usize);
    }
}
