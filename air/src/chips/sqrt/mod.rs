//! The rounded square root `y = round(sqrt(x 2^k + c))` of an integer, with a left shift `k`
//! (Sqrt's output has more fractional bits than its input) and a constant offset `c >= 0`
//! (LayerNormalization's epsilon, added to the variance at its scale), rounded as the executor
//! rounds it (`isqrt_round`, `docs/quantization.md`): `y` is the integer with
//! `(y - 1/2)^2 <= v < (y + 1/2)^2` for `v = x 2^k + c > 0`, and 0 for `v = 0`.
//!
//! Row `r` receives `(r, x)` and sends `(r, y)` as its [`UnaryIo`] says, and proves, with a
//! bit `z` (the root is zero):
//!
//! - `z y = 0`;
//! - `t = v - y^2 + y - 1 + z` with `t` and `2y - 1 + z - t` in `[0, 2^(y_bits+1))`;
//! - `y - 1 + z` in `[0, 2^y_bits)`.
//!
//! With `z = 0`: `y >= 1` and `y^2 - y + 1 <= v <= y^2 + y`. For `y >= 1` these intervals tile
//! the positive integers (the next starts at `(y+1)^2 - (y+1) + 1 = y^2 + y + 1`), and `v`
//! lies in the one of `y = round(sqrt(v))`: `(y - 1/2)^2 = y^2 - y + 1/4 <= v` and
//! `v < y^2 + y + 1/4 = (y + 1/2)^2`. With `z = 1`: `y = 0`, `t = v` and `-t >= 0`, so
//! `v = 0`; and `v = 0` has no root with `z = 0` (`y^2 - y + 1 >= 1`). A negative `v` has no
//! root: no trace proves it.
//!
//! # Field arithmetic equals integer arithmetic
//! The producer bounds `|x| < 2^in_bits`; the range check bounds `0 <= y <= 2^y_bits`. The
//! terms of `t`'s equation are below `2^(in_bits+k) + c + 2^(2 y_bits) + 2^y_bits + 2` in
//! magnitude, which [`Sqrt::new`] requires below `p/2`, so it holds over the integers and `t`
//! is the integer `v - y^2 + y - 1 + z`; its two range checks then give the bounds above over
//! the integers. A `t` wrapped to `p - k` has no limbs.

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
    /// The chip's own columns, after `x, y`: the slack `t`, the zero flag `z`, then the limbs
    /// of `t`, of `2y - 1 + z - t` and of `y - 1 + z`.
    /// (After the unary columns: index `REST +` the field's.)
    pub struct SqrtCols { t, z, limbs }
}
const T: usize = REST + SqrtCols::INDEX.t;
const Z: usize = REST + SqrtCols::INDEX.z;
const LIMBS: usize = REST + SqrtCols::INDEX.limbs;

/// `y = round(sqrt(x 2^k + c))`.
#[derive(Clone, Debug)]
pub struct Sqrt {
    pub name: String,
    /// `c`, added to the shifted input.
    pub offset: u64,
    /// `k`: the input's left shift.
    pub shift: u32,
    /// `|x| < 2^in_bits`, as the producer proves.
    pub in_bits: u32,
    /// `0 <= y <= 2^y_bits`.
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
    pub fn new(name: impl Into<String>, offset: u64, shift: u32, in_bits: u32, io: UnaryIo) -> Result<Self, SqrtBoundError> {
        if in_bits + shift > 60 || offset >= 1 << 60 {
            return Err(SqrtBoundError);
        }
        // The largest root: round(sqrt(2^(in_bits + k) + c)) <= 2^y_bits.
        let top = isqrt_round((1u128 << (in_bits + shift)) + u128::from(offset));
        let y_bits = (128 - top.leading_zeros()).max(1);
        let bound = (1u128 << (in_bits + shift)) + u128::from(offset) + (1u128 << (2 * y_bits)) + (1u128 << y_bits) + 2;
        if bound >= u128::from(P / 2) {
            return Err(SqrtBoundError);
        }
        Ok(Self { name: name.into(), offset, shift, in_bits, y_bits, io })
    }

    fn t_bits(&self) -> usize {
        self.y_bits as usize + 1
    }

    /// `v = x 2^k + c`.
    fn radicand(&self, x: i64) -> i128 {
        (i128::from(x) << self.shift) + i128::from(self.offset)
    }

    /// The executor's rule, `None` where `v < 0` (no root is proved).
    pub fn reference(&self, x: i64) -> Option<i64> {
        let v = self.radicand(x);
        (v >= 0).then(|| isqrt_round(v as u128) as i64)
    }

    /// The trace for the inputs (element `r` on row `r`), the outputs and the lookups; an input
    /// with `v < 0` is an error naming its element.
    pub fn generate_trace(&self, inputs: &[i64]) -> Result<(Trace, Vec<i64>, Vec<F>), usize> {
        if let Some(j) = inputs.iter().position(|&x| self.reference(x).is_none()) {
            return Err(j);
        }
        let (nt, ny) = (n_limbs(self.t_bits()), n_limbs(self.y_bits as usize));
        // Padding rows hold x = 0: the root of c.
        Ok(unary_trace(inputs, self.io.log_height, Air::width(self), |x| {
            let y = self.reference(x).unwrap_or(0);
            let v = self.radicand(x);
            let (y2, z) = (i128::from(y), i128::from(y == 0));
            let t = v - y2 * y2 + y2 - 1 + z;
            let (t, s, w) = (t as u64, (2 * y2 - 1 + z - t) as u64, (y2 - 1 + z) as u64);
            let mut rest = vec![F::from_u64(t), F::from_bool(y == 0)];
            rest.extend(byte_limbs(t, nt));
            rest.extend(byte_limbs(s, nt));
            rest.extend(byte_limbs(w, ny));
            let mut lookups = range_lookups(t, self.t_bits());
            lookups.extend(range_lookups(s, self.t_bits()));
            lookups.extend(range_lookups(w, self.y_bits as usize));
            UnaryRow { y, rest, lookups }
        }))
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
        let (t, z) = (b.main(T), b.main(Z));
        let c = F::from_u64(self.offset);
        let v = x * F::from_u64(1 << self.shift) + c;
        b.assert_bool("z is a bit", z.clone());
        b.assert_zero("z y = 0", z.clone() * y.clone());
        b.assert_zero("t = v - y^2 + y - 1 + z", v - y.clone() * y.clone() + y.clone() - F::ONE + z.clone() - t.clone());
        let (nt, ny) = (n_limbs(self.t_bits()), n_limbs(self.y_bits as usize));
        let t_limbs: Vec<B::Var> = (0..nt).map(|i| b.main(LIMBS + i)).collect();
        let s_limbs: Vec<B::Var> = (0..nt).map(|i| b.main(LIMBS + nt + i)).collect();
        let y_limbs: Vec<B::Var> = (0..ny).map(|i| b.main(LIMBS + 2 * nt + i)).collect();
        assert_in_range(b, "t is its limbs", t.clone(), &t_limbs, self.t_bits());
        assert_in_range(b, "2y - 1 + z - t is its limbs", y.clone() * F::TWO - F::ONE + z.clone() - t, &s_limbs, self.t_bits());
        assert_in_range(b, "y - 1 + z is its limbs", y - F::ONE + z, &y_limbs, self.y_bits as usize);
    }
}
