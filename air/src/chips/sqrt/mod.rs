//! The rounded square root `y = round(sqrt(x + c))` of an integer, with a constant offset
//! `c >= 0` (LayerNormalization's epsilon, added to the variance at its scale), rounded as the
//! executor rounds it (`isqrt_round`, `docs/quantization.md`): `y` is the integer with
//! `(y - 1/2)^2 <= x + c < (y + 1/2)^2`, at least 1.
//!
//! Row `r` receives `(r, x)` and sends `(r, y)` as its [`UnaryIo`] says, and proves, for
//! `v = x + c`:
//!
//! - `t = v - y^2 + y - 1` with `t` and `2y - 1 - t` in `[0, 2^(y_bits+1))`: so
//!   `y^2 - y + 1 <= v <= y^2 + y`;
//! - `y - 1` in `[0, 2^y_bits)`: `y >= 1`.
//!
//! For `y >= 1` the intervals `[y^2 - y + 1, y^2 + y]` tile the positive integers (the next
//! starts at `(y+1)^2 - (y+1) + 1 = y^2 + y + 1`), and `v` lies in the one of `y =
//! round(sqrt(v))`: `(y - 1/2)^2 = y^2 - y + 1/4 <= v` and `v < y^2 + y + 1/4 = (y + 1/2)^2`.
//! An input with `v < 1` has no root: no trace proves it.
//!
//! # Field arithmetic equals integer arithmetic
//! The producer bounds `|x| < 2^in_bits`; the range check bounds `1 <= y <= 2^y_bits`. The
//! terms of `t`'s equation are below `2^in_bits + c + 2^(2 y_bits) + 2^y_bits + 1` in
//! magnitude, which [`Sqrt::new`] requires below `p/2`, so it holds over the integers and `t`
//! is the integer `v - y^2 + y - 1`; its two range checks then give the bounds above over the
//! integers. A `t` wrapped to `p - k` has no limbs.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder};
use crate::chips::range::{assert_in_range, byte_limbs, n_limbs, range_lookups};
use crate::chips::unary::{REST, UnaryIo, UnaryRow, unary_trace};
use crate::field::{F, P};
use crate::trace::Trace;

#[cfg(test)]
mod tests;

crate::columns! {
    /// The chip's own columns, after `x, y`: the slack `t`, then the limbs of `t`, of
    /// `2y - 1 - t` and of `y - 1`.
    /// (After the unary columns: index `REST +` the field's.)
    pub struct SqrtCols { t, limbs }
}
const T: usize = REST + SqrtCols::INDEX.t;
const LIMBS: usize = REST + SqrtCols::INDEX.limbs;

/// `y = round(sqrt(x + c))`.
#[derive(Clone, Debug)]
pub struct Sqrt {
    pub name: String,
    /// `c`, added to the input.
    pub offset: u64,
    /// `|x| < 2^in_bits`, as the producer proves.
    pub in_bits: u32,
    /// `1 <= y <= 2^y_bits`.
    pub y_bits: u32,
    pub io: UnaryIo,
}

/// A square root the field cannot hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqrtBoundError;

impl core::fmt::Display for SqrtBoundError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "the square root's terms may pass the field")
    }
}

/// `round(sqrt(v))` for `v >= 0`: the `y` with `(y - 1/2)^2 <= v < (y + 1/2)^2`.
pub fn isqrt_round(v: u128) -> u128 {
    let r = v.isqrt();
    if v - r * r > r { r + 1 } else { r }
}

impl Sqrt {
    /// The chip for inputs below `2^in_bits` in magnitude, if its equation cannot wrap (see the
    /// module's docs).
    pub fn new(name: impl Into<String>, offset: u64, in_bits: u32, io: UnaryIo) -> Result<Self, SqrtBoundError> {
        if in_bits > 60 || offset >= 1 << 60 {
            return Err(SqrtBoundError);
        }
        // The largest root: round(sqrt(2^in_bits + c)) <= 2^y_bits.
        let top = isqrt_round((1u128 << in_bits) + u128::from(offset));
        let y_bits = (128 - top.leading_zeros()).max(1);
        let bound = (1u128 << in_bits) + u128::from(offset) + (1u128 << (2 * y_bits)) + (1u128 << y_bits) + 1;
        if bound >= u128::from(P / 2) {
            return Err(SqrtBoundError);
        }
        Ok(Self { name: name.into(), offset, in_bits, y_bits, io })
    }

    fn t_bits(&self) -> usize {
        self.y_bits as usize + 1
    }

    /// The executor's rule, `None` where `x + c < 1` (no root is proved).
    pub fn reference(&self, x: i64) -> Option<i64> {
        let v = i128::from(x) + i128::from(self.offset);
        (v >= 1).then(|| isqrt_round(v as u128) as i64)
    }

    /// The trace for the inputs (element `r` on row `r`), the outputs and the lookups; an input
    /// with `x + c < 1` is an error naming its element.
    pub fn generate_trace(&self, inputs: &[i64]) -> Result<(Trace, Vec<i64>, Vec<F>), usize> {
        if let Some(j) = inputs.iter().position(|&x| self.reference(x).is_none()) {
            return Err(j);
        }
        let (nt, ny) = (n_limbs(self.t_bits()), n_limbs(self.y_bits as usize));
        // Padding rows (which receive nothing, so their x is free) hold x = 0, or x = 1 when
        // c = 0: every row satisfies the constraints.
        let padded: Vec<i64>;
        let rows = if self.offset == 0 {
            padded = inputs.iter().copied().chain(core::iter::repeat(1)).take(inputs.len().max(1 << self.io.log_height)).collect();
            &padded[..]
        } else {
            inputs
        };
        let (trace, mut outputs, lookups) = unary_trace(rows, self.io.log_height, Air::width(self), |x| {
            let y = self.reference(x).unwrap_or(1);
            let v = i128::from(x) + i128::from(self.offset);
            let y2 = i128::from(y);
            let t = v - y2 * y2 + y2 - 1;
            let (t, s) = (t as u64, (2 * y2 - 1 - t) as u64);
            let mut rest = vec![F::from_u64(t)];
            rest.extend(byte_limbs(t, nt));
            rest.extend(byte_limbs(s, nt));
            rest.extend(byte_limbs((y - 1) as u64, ny));
            let mut lookups = range_lookups(t, self.t_bits());
            lookups.extend(range_lookups(s, self.t_bits()));
            lookups.extend(range_lookups((y - 1) as u64, self.y_bits as usize));
            UnaryRow { y, rest, lookups }
        });
        outputs.truncate(inputs.len());
        Ok((trace, outputs, lookups))
    }
}

impl Air for Sqrt {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        LIMBS + 2 * n_limbs(self.t_bits()) + n_limbs(self.y_bits as usize)
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        Some(self.io.preprocessed_trace())
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let (x, y) = self.io.eval(b);
        let t = b.main(T);
        let c = F::from_u64(self.offset);
        b.assert_zero("t = x + c - y^2 + y - 1", x + c - y.clone() * y.clone() + y.clone() - F::ONE - t.clone());
        let (nt, ny) = (n_limbs(self.t_bits()), n_limbs(self.y_bits as usize));
        let t_limbs: Vec<B::Var> = (0..nt).map(|i| b.main(LIMBS + i)).collect();
        let s_limbs: Vec<B::Var> = (0..nt).map(|i| b.main(LIMBS + nt + i)).collect();
        let y_limbs: Vec<B::Var> = (0..ny).map(|i| b.main(LIMBS + 2 * nt + i)).collect();
        assert_in_range(b, "t is its limbs", t.clone(), &t_limbs, self.t_bits());
        assert_in_range(b, "2y - 1 - t is its limbs", y.clone() * F::TWO - F::ONE - t, &s_limbs, self.t_bits());
        assert_in_range(b, "y - 1 is its limbs", y - F::ONE, &y_limbs, self.y_bits as usize);
    }
}
