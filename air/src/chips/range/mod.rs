//! A fixed table of the values `0..2^bits`: chips range-check a value by sending `(value)` on
//! [`BUS_RANGE`]; this chip receives each table value with the multiplicity it was looked up.

use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder};
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
