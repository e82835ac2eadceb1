//! ReLU: `y = max(x, 0)` on signed integers `|x| < 2^(bits-1)`; with `abs`, Abs: `y = |x|`.
//!
//! Row `r` receives `(r, x)` and sends `(r, y)` as its [`UnaryIo`] says, with a sign
//! bit `neg` and the magnitude `m`: `x = m - 2 neg m` (so `x = m` or `x = -m`), `m` in
//! `[0, 2^(bits-1))` by byte limbs, and `y = x - neg x` (ReLU) or `y = m` (Abs).
//!
//! # Field arithmetic equals integer arithmetic
//! `neg` is 0 or 1 and `m` an integer below `2^(bits-1) < p/2`, so `x` is the integer `m` or
//! `-m` (as a field element) and nothing else: if `neg = 1`, `x <= 0` and `y = 0`; if
//! `neg = 0`, `x >= 0` and `y = x`. `x = 0` passes either way with `y = 0`. A positive `x`
//! claimed negative would need `m = -x`, a field element with no limbs.

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
    /// The chip's own columns, after `active, index, x, y`: the sign bit, the magnitude, its limbs.
    /// (After the unary columns: index `REST +` the field's.)
    pub struct ReluCols { neg, m, limbs }
}
const NEG: usize = REST + ReluCols::INDEX.neg;
const M: usize = REST + ReluCols::INDEX.m;
const LIMBS: usize = REST + ReluCols::INDEX.limbs;

/// The ReLU chip.
#[derive(Clone, Debug)]
pub struct Relu {
    pub name: String,
    /// `|x| < 2^(bits-1)`, `2 <= bits <= 62`.
    pub bits: u32,
    /// Abs instead of ReLU.
    pub abs: bool,
    /// Where the elements come from and go.
    pub io: UnaryIo,
}

impl Relu {
    fn m_bits(&self) -> usize {
        self.bits as usize - 1
    }

    /// The trace for the inputs (element `r` on row `r`), the outputs, and the values its
    /// range checks look up.
    pub fn generate_trace(&self, inputs: &[i64]) -> (Trace, Vec<i64>, Vec<F>) {
        let n = n_limbs(self.m_bits());
        unary_trace(inputs, self.io.log_height, Air::width(self), |x| {
            let m = x.unsigned_abs();
            let mut rest = vec![F::from_bool(x < 0), F::from_u64(m)];
            rest.extend(byte_limbs(m, n));
            let y = if self.abs { x.abs() } else { x.max(0) };
            UnaryRow { y, rest, lookups: range_lookups(m, self.m_bits()) }
        })
    }
}

impl Air for Relu {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        LIMBS + n_limbs(self.m_bits())
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        Some(self.io.preprocessed_trace())
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let (x, y) = self.io.eval(b);
        let (neg, m) = (b.main(NEG), b.main(M));
        b.assert_bool("neg is 0 or 1", neg.clone());
        b.assert_zero("x is m or -m", x.clone() - m.clone() + neg.clone() * m.clone() * F::TWO);
        if self.abs {
            b.assert_zero("y is m", y - m.clone());
        } else {
            b.assert_zero("y is x unless negative", y - x.clone() + neg * x);
        }
        let limbs: Vec<B::Var> = (0..n_limbs(self.m_bits())).map(|i| b.main(LIMBS + i)).collect();
        assert_in_range(b, "m is its limbs", m, &limbs, self.m_bits());
    }
}
