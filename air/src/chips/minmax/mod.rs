//! Elementwise Min and Max of two tensors (one may be a constant), operands aligned by exact
//! shifts as the executor does: with `a' = a 2^sa`, `b' = b 2^sb`, a sign bit `s` (`s = 1`
//! when `a' <= b'`) and the magnitude `m = |a' - b'|`,
//!
//! `a' - b' = m - 2 s m`, `m` in `[0, 2^bits)` by byte limbs, and
//! `y = s a' + (1 - s) b'` (Min) or `y = s b' + (1 - s) a'` (Max).
//!
//! # Field arithmetic equals integer arithmetic
//! The producers bound `|a'|, |b'| < 2^(bits-1)` ([`MinMax::new`] sizes `bits` from the
//! operands' bounds and refuses past 61), so `a' - b'` is an integer of magnitude below
//! `2^bits < p/2`: it equals `m` or `-m` for the integer `m` the limbs give, and `s` is the
//! comparison's truth (either value when they are equal, with the same `y`).

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder, BusId};
use crate::chips::binary::{Operand, operands_io, operands_prep};
use crate::chips::range::{assert_in_range, byte_limbs, n_limbs, range_lookups};
use crate::field::F;
use crate::trace::Trace;

#[cfg(test)]
mod tests;

crate::columns! {
    /// Main columns; the limbs of `m` follow from [`LIMBS`].
    pub struct MinmaxCols { a, b, y, s, m, limbs }
}
pub const A: usize = MinmaxCols::INDEX.a;
pub const B: usize = MinmaxCols::INDEX.b;
pub const Y: usize = MinmaxCols::INDEX.y;
pub const S: usize = MinmaxCols::INDEX.s;
pub const M: usize = MinmaxCols::INDEX.m;
pub const LIMBS: usize = MinmaxCols::INDEX.limbs;

/// Which of the two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MinMaxOp {
    Min,
    Max,
}

/// The Min/Max chip.
#[derive(Clone, Debug)]
pub struct MinMax {
    pub name: String,
    pub op: MinMaxOp,
    pub shift_a: u32,
    pub shift_b: u32,
    pub a: Operand,
    pub b: Operand,
    /// `|a - b| < 2^bits` after alignment.
    pub bits: u32,
    pub uses: Vec<u32>,
    pub out_bus: BusId,
    pub log_height: usize,
}

impl MinMax {
    /// The chip for `n` elements, if the aligned operands' difference stays below `2^61`.
    pub fn new(
        name: impl Into<String>,
        op: MinMaxOp,
        (a, shift_a): (Operand, u32),
        (b, shift_b): (Operand, u32),
        n: usize,
        out_bus: BusId,
        log_height: usize,
    ) -> Result<Self, crate::chips::binary::BinaryBoundError> {
        let bits = (a.bits() + shift_a).max(b.bits() + shift_b) + 1;
        if bits > 61 {
            return Err(crate::chips::binary::BinaryBoundError { bits });
        }
        Ok(Self { name: name.into(), op, shift_a, shift_b, a, b, bits, uses: vec![1; n], out_bus, log_height })
    }

    /// Bits `o` with `|y| < 2^o`.
    pub fn output_bits(&self) -> u32 {
        self.bits - 1
    }

    /// The number of output elements.
    pub fn len(&self) -> usize {
        self.uses.len()
    }

    /// Whether the chip has no element.
    pub fn is_empty(&self) -> bool {
        self.uses.is_empty()
    }

    /// The trace, the outputs and the range lookups, from the operands' buses.
    pub fn generate_trace(&self, bus_a: &[i64], bus_b: &[i64]) -> (Trace, Vec<i64>, Vec<F>) {
        let h = 1usize << self.log_height;
        let nl = n_limbs(self.bits as usize);
        let w = LIMBS + nl;
        let mut v = vec![F::ZERO; w * h];
        let mut out = Vec::with_capacity(self.len());
        let mut lookups = Vec::with_capacity(h * (nl + 1));
        for r in 0..h {
            let (a, b) = if r < self.len() { (self.a.value(r, bus_a), self.b.value(r, bus_b)) } else { (0, 0) };
            let (x, z) = (a << self.shift_a, b << self.shift_b);
            let s = x <= z;
            let y = match (self.op, s) {
                (MinMaxOp::Min, true) | (MinMaxOp::Max, false) => x,
                _ => z,
            };
            let m = (x - z).unsigned_abs();
            let row = &mut v[r * w..(r + 1) * w];
            row[A] = F::from_i64(a);
            row[B] = F::from_i64(b);
            row[Y] = F::from_i64(y);
            row[S] = F::from_bool(s);
            row[M] = F::from_u64(m);
            row[LIMBS..].copy_from_slice(&byte_limbs(m, nl));
            lookups.extend(range_lookups(m, self.bits as usize));
            if r < self.len() {
                out.push(y);
            }
        }
        (Trace::new(v, w), out, lookups)
    }
}

impl Air for MinMax {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        LIMBS + n_limbs(self.bits as usize)
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        Some(operands_prep(&self.a, &self.b, &self.uses, self.log_height))
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let (a, bb, y, s, m) = (b.main(A), b.main(B), b.main(Y), b.main(S), b.main(M));
        operands_io(b, (&self.a, a.clone()), (&self.b, bb.clone()), self.out_bus, y.clone());
        let x = a * F::from_u64(1 << self.shift_a);
        let z = bb * F::from_u64(1 << self.shift_b);
        b.assert_bool("s is a bit", s.clone());
        b.assert_zero("a - b is m or -m", x.clone() - z.clone() - m.clone() + s.clone() * m.clone() * F::TWO);
        let picked = match self.op {
            MinMaxOp::Min => s.clone() * (x.clone() - z.clone()) + z,
            MinMaxOp::Max => s * (z - x.clone()) + x,
        };
        b.assert_zero("y is the minimum or maximum", y.clone() - picked);
        let limbs: Vec<B::Var> = (0..n_limbs(self.bits as usize)).map(|i| b.main(LIMBS + i)).collect();
        assert_in_range(b, "m is its limbs", m, &limbs, self.bits as usize);
    }
}
