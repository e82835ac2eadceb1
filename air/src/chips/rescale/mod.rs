//! Rescale: `y = floor((x + 2^(s-1)) / 2^s)`, the executor's rounding after a product
//! (`docs/quantization.md`, round half up), with `y` a signed integer of `out_bits` bits.
//!
//! Row `r` receives `(r, x)` and sends `(r, y)` as its [`UnaryIo`] says, and proves
//! `x + 2^(s-1) = y 2^s + r` with `r` in `[0, 2^s)` and `y + 2^(out_bits-1)` in
//! `[0, 2^out_bits)`, both by byte limbs looked up in the 8-bit range table.
//!
//! With [`Rescale::relu`] the chip also applies ReLU (a rescale whose only reader is a Relu,
//! fused by the compiler): the rounded quotient `q` gets its own column, its sign is the bit
//! `b` of `q + 2^(out_bits-1) = b 2^(out_bits-1) + low` with `low` in `[0, 2^(out_bits-1))` by
//! byte limbs (so `b = 1` exactly when `q >= 0`), and `y = b q`.
//!
//! # Field arithmetic equals integer arithmetic
//! The producer of `x` bounds it: `|x| < 2^in_bits`. Then every term of
//! `x + 2^(s-1) - y 2^s - r` is an integer and their sum is below
//! `2^in_bits + 2^(s-1) + 2^(out_bits-1+s) + 2^s < p` in magnitude ([`Rescale::new`] checks it),
//! so the constraint, zero in `F`, is zero over the integers, and `(y, r)` is the one
//! quotient and remainder: `y` is the executor's. A remainder of `p - 1` (standing for `-1`)
//! that would let `y` be one more has no byte limbs: the range check refuses it.

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
    /// The chip's own columns, after `active, index, x, y`: the remainder, its limbs, the
    /// output's limbs.
    /// (After the unary columns: index `REST +` the field's.)
    pub struct RescaleCols { r, limbs }
}
const R: usize = REST + RescaleCols::INDEX.r;
const LIMBS: usize = REST + RescaleCols::INDEX.limbs;

/// The rescale chip.
#[derive(Clone, Debug)]
pub struct Rescale {
    pub name: String,
    /// `s`: the output is the input divided by `2^s`, rounded half up.
    pub shift: u32,
    /// `|x| < 2^in_bits`, as the producer of `x` proves.
    pub in_bits: u32,
    /// `y` in `[-2^(out_bits-1), 2^(out_bits-1))`.
    pub out_bits: u32,
    /// Where the elements come from and go.
    pub io: UnaryIo,
    /// `y = max(q, 0)` of the rounded quotient `q` (see the module's docs).
    pub relu: bool,
}

/// A rescale the field cannot hold: the sum of the constraint's terms may reach `p`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RescaleBoundError {
    pub shift: u32,
    pub in_bits: u32,
    pub out_bits: u32,
}

impl core::fmt::Display for RescaleBoundError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "rescale by 2^{} of a {}-bit input to {} bits does not fit the field",
            self.shift, self.in_bits, self.out_bits
        )
    }
}

impl Rescale {
    /// A rescale, if its constraint cannot wrap modulo `p` (see the module's docs).
    pub fn new(
        name: impl Into<String>,
        shift: u32,
        in_bits: u32,
        out_bits: u32,
        io: UnaryIo,
    ) -> Result<Self, RescaleBoundError> {
        let err = RescaleBoundError { shift, in_bits, out_bits };
        if shift > 60 || in_bits > 61 || out_bits == 0 || out_bits > 61 {
            return Err(err);
        }
        let bound = (1u128 << in_bits) + (1u128 << shift) * 2 + (1u128 << (out_bits - 1 + shift));
        if bound >= u128::from(P) || out_bits - 1 + shift > 62 {
            return Err(err);
        }
        Ok(Self { name: name.into(), shift, in_bits, out_bits, io, relu: false })
    }

    /// The same rescale followed by ReLU.
    pub fn with_relu(mut self) -> Self {
        self.relu = true;
        self
    }

    fn r_limbs(&self) -> usize {
        n_limbs(self.shift as usize)
    }

    /// Limbs of `y + 2^(out_bits-1)`, or with ReLU of `low` (`out_bits - 1` bits).
    fn y_limbs(&self) -> usize {
        n_limbs(self.out_bits as usize - usize::from(self.relu))
    }

    /// With ReLU, the columns of `q` and `b` (after the remainder's limbs).
    fn q_col(&self) -> usize {
        LIMBS + self.r_limbs()
    }

    /// The executor's rule on integers.
    pub fn reference(&self, x: i64) -> i64 {
        let s = self.shift;
        if s == 0 { x } else { ((i128::from(x) + (1i128 << (s - 1))) >> s) as i64 }
    }

    /// The trace for the inputs (element `r` on row `r`), the outputs, and the values its
    /// range checks look up.
    pub fn generate_trace(&self, inputs: &[i64]) -> (Trace, Vec<i64>, Vec<F>) {
        let (nr, ny) = (self.r_limbs(), self.y_limbs());
        let off = 1i64 << (self.out_bits - 1);
        let half = if self.shift == 0 { 0 } else { 1i128 << (self.shift - 1) };
        unary_trace(inputs, self.io.log_height, Air::width(self), |x| {
            let q = self.reference(x);
            let r = (i128::from(x) + half - (i128::from(q) << self.shift)) as u64;
            let mut rest = vec![F::from_u64(r)];
            rest.extend(byte_limbs(r, nr));
            let mut lookups = range_lookups(r, self.shift as usize);
            if !self.relu {
                rest.extend(byte_limbs((q + off) as u64, ny));
                lookups.extend(range_lookups((q + off) as u64, self.out_bits as usize));
                return UnaryRow { y: q, rest, lookups };
            }
            let b = q >= 0;
            let low = (q + off - if b { off } else { 0 }) as u64;
            rest.extend([F::from_i64(q), F::from_bool(b)]);
            rest.extend(byte_limbs(low, ny));
            lookups.extend(range_lookups(low, self.out_bits as usize - 1));
            UnaryRow { y: q.max(0), rest, lookups }
        })
    }
}

impl Air for Rescale {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        LIMBS + self.r_limbs() + 2 * usize::from(self.relu) + self.y_limbs()
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        Some(self.io.preprocessed_trace())
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let (x, y) = self.io.eval(b);
        let r = b.main(R);
        let half = if self.shift == 0 { F::ZERO } else { F::from_u64(1 << (self.shift - 1)) };
        let scale = F::from_u64(1 << self.shift);
        let (nr, ny) = (self.r_limbs(), self.y_limbs());
        let r_limbs: Vec<B::Var> = (0..nr).map(|i| b.main(LIMBS + i)).collect();
        assert_in_range(b, "r is its limbs", r.clone(), &r_limbs, self.shift as usize);
        let off = F::from_u64(1 << (self.out_bits - 1));
        if !self.relu {
            b.assert_zero("x + 2^(s-1) = y 2^s + r", x + half - y.clone() * scale - r);
            let y_limbs: Vec<B::Var> = (0..ny).map(|i| b.main(LIMBS + nr + i)).collect();
            assert_in_range(b, "y + 2^(out-1) is its limbs", y + off, &y_limbs, self.out_bits as usize);
            return;
        }
        let (q, sign) = (b.main(self.q_col()), b.main(self.q_col() + 1));
        b.assert_zero("x + 2^(s-1) = q 2^s + r", x + half - q.clone() * scale - r);
        b.assert_bool("b is a bit", sign.clone());
        let low_limbs: Vec<B::Var> = (0..ny).map(|i| b.main(self.q_col() + 2 + i)).collect();
        assert_in_range(b, "q + 2^(out-1) - b 2^(out-1) is its limbs", q.clone() + off - sign.clone() * off, &low_limbs, self.out_bits as usize - 1);
        b.assert_zero("y = b q", y - sign * q);
    }
}
