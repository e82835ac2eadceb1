//! A fixed table of the values `0..2^bits`: chips range-check a value by sending `(value)` on
//! [`BUS_RANGE`]; this chip receives each table value with the multiplicity it was looked up.

use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder};
use crate::expr::FieldExpr;
use crate::chips::BUS_RANGE;
use crate::field::{F, f_to_u64};
use crate::trace::Trace;

#[cfg(test)]
mod tests;

crate::columns! {
    /// Main columns of [`RangeTable`].
    pub struct RangeCols {
        /// How many times the table value on this row is looked up.
        multiplicity,
    }
}

/// The range-check table of `bits`-bit values.
#[derive(Clone, Copy, Debug)]
pub struct RangeTable {
    pub bits: usize,
}

impl Air for RangeTable {
    fn name(&self) -> alloc::string::String {
        alloc::format!("range{}", self.bits)
    }
    fn width(&self) -> usize {
        RangeCols::<()>::WIDTH
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        Some(Trace::new((0..1u64 << self.bits).map(F::from_u64).collect(), 1))
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let value = b.prep(0);
        let m = b.main(RangeCols::index().multiplicity);
        b.receive(BUS_RANGE, &[value], m);
    }
}

impl RangeTable {
    /// The multiplicity column for the looked-up `values`. Values outside the table are not
    /// counted (the bus will then not balance, which is the point of the check).
    pub fn generate_trace(&self, values: impl IntoIterator<Item = F>) -> Trace {
        let mut counts = vec![0u64; 1 << self.bits];
        for v in values {
            if let Some(c) = counts.get_mut(f_to_u64(v) as usize) {
                *c += 1;
            }
        }
        Trace::new(counts.into_iter().map(F::from_u64).collect::<Vec<_>>(), 1)
    }
}

// ---- The range-check gadget -------------------------------------------------------------------

/// Number of byte limbs of a `bits`-bit range check.
pub fn n_limbs(bits: usize) -> usize {
    bits.div_ceil(8)
}

/// The byte limbs of `u` (below `2^(8 n)`), lowest first.
pub fn byte_limbs(u: u64, n: usize) -> Vec<F> {
    (0..n).map(|i| F::from_u64(u.checked_shr(8 * i as u32).unwrap_or(0) & 0xff)).collect()
}

/// The values a `bits`-bit range check of `u` looks up in the 8-bit table: its limbs, and the
/// top limb shifted up when it has fewer than 8 bits. Feed them to [`RangeTable::generate_trace`].
pub fn range_lookups(u: u64, bits: usize) -> Vec<F> {
    let n = n_limbs(bits);
    let mut v = byte_limbs(u, n);
    let top = bits - 8 * n.saturating_sub(1);
    if n > 0 && top < 8 {
        v.push(v[n - 1] * F::from_u64(1 << (8 - top)));
    }
    v
}

/// Constrains `value` to an integer in `[0, 2^bits)` (`bits <= 62`): `value = sum limbs[i] 256^i`,
/// every limb looked up in the 8-bit table ([`RangeTable`] of 8 bits, on [`BUS_RANGE`]), and the
/// top limb, when it has `t < 8` bits, looked up again times `2^(8 - t)`.
///
/// # Soundness
/// Each limb is an integer in `[0, 256)` (the table); the top one times `2^(8 - t)` is too, and
/// below `2^16 < p` that product is an integer, so the top limb is below `2^t`. The sum is then
/// an integer below `2^bits < p`: equal to `value` in `F`, it is `value` as an integer. A field
/// element standing for a negative number (`p - 1` for `-1`) has no such limbs.
pub fn assert_in_range<B: AirBuilder>(b: &mut B, label: &'static str, value: B::Var, limbs: &[B::Var], bits: usize) {
    let n = n_limbs(bits);
    debug_assert_eq!(limbs.len(), n);
    let mut sum = B::Var::lit(0);
    let mut scale = F::ONE;
    for l in limbs {
        sum = sum + l.clone() * scale;
        scale *= F::from_u64(256);
        b.send(BUS_RANGE, core::slice::from_ref(l), B::Var::lit(1));
    }
    b.assert_zero(label, value - sum);
    let top = bits - 8 * n.saturating_sub(1);
    if let (Some(t), true) = (limbs.last(), top < 8) {
        b.send(BUS_RANGE, &[t.clone() * F::from_u64(1 << (8 - top))], B::Var::lit(1));
    }
}
