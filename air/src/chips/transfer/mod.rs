//! A producer that sends `(index, value)` tuples on [`BUS_DATA`] and range-checks each value
//! on [`BUS_RANGE`], and a consumer that receives them and proves their sum. The two tables may
//! have different heights: the consumer pads with rows of multiplicity 0.

use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder};
use crate::expr::FieldExpr;
use crate::chips::{BUS_DATA, BUS_RANGE};
use crate::field::F;
use crate::trace::Trace;

#[cfg(test)]
mod tests;

crate::columns! {
    /// Columns of [`Producer`].
    pub struct ProducerCols {
        /// The row number, 0, 1, 2, ...
        index,
        /// The value sent.
        value,
    }
}

crate::columns! {
    /// Columns of [`Consumer`].
    pub struct ConsumerCols {
        /// Index of the received tuple.
        index,
        /// Value of the received tuple.
        value,
        /// 1 for a received tuple, 0 for padding.
        multiplicity,
        /// Sum of `multiplicity * value` over this row and the rows above.
        sum,
    }
}

/// Sends every row `(index, value)` once on the data bus and `(value)` on the range bus.
#[derive(Clone, Copy, Debug, Default)]
pub struct Producer;

impl Air for Producer {
    fn name(&self) -> alloc::string::String {
        "producer".into()
    }
    fn width(&self) -> usize {
        ProducerCols::<()>::WIDTH
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let c = ProducerCols::from_fn(|i| b.main(i));
        let next = ProducerCols::from_fn(|i| b.main_next(i));
        let first = b.is_first_row();
        b.assert_zero("index starts at zero", first * c.index.clone());
        let t = b.is_transition();
        b.assert_zero(
            "index increments",
            t * (next.index - c.index.clone() - B::Var::lit(1)),
        );
        b.send(BUS_DATA, &[c.index, c.value.clone()], B::Var::lit(1));
        b.send(BUS_RANGE, &[c.value], B::Var::lit(1));
    }
}

impl Producer {
    /// One row per value. `values.len()` must be a power of two.
    pub fn generate_trace(&self, values: &[F]) -> Trace {
        let mut v = Vec::with_capacity(values.len() * 2);
        for (i, x) in values.iter().enumerate() {
            v.extend_from_slice(&[F::from_usize(i), *x]);
        }
        Trace::new(v, ProducerCols::<()>::WIDTH)
    }
}

/// Receives `(index, value)` tuples on `bus` and proves `sum(value)` equals public value
/// `sum_public`.
#[derive(Clone, Debug)]
pub struct Consumer {
    pub sum_public: usize,
    pub bus: crate::BusId,
    /// The chip's name (names are unique in a circuit).
    pub name: &'static str,
}

impl Default for Consumer {
    fn default() -> Self {
        Self { sum_public: 0, bus: BUS_DATA, name: "consumer" }
    }
}

impl Air for Consumer {
    fn name(&self) -> alloc::string::String {
        self.name.into()
    }
    fn width(&self) -> usize {
        ConsumerCols::<()>::WIDTH
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let c = ConsumerCols::from_fn(|i| b.main(i));
        let next = ConsumerCols::from_fn(|i| b.main_next(i));
        b.assert_bool("multiplicity is 0 or 1", c.multiplicity.clone());
        let padding = B::Var::lit(1) - c.multiplicity.clone();
        b.assert_zero("padding index is zero", padding.clone() * c.index.clone());
        b.assert_zero("padding value is zero", padding * c.value.clone());
        let first = b.is_first_row();
        b.assert_zero(
            "sum starts with the first value",
            first * (c.sum.clone() - c.multiplicity.clone() * c.value.clone()),
        );
        let t = b.is_transition();
        b.assert_zero(
            "sum accumulates",
            t * (next.sum - c.sum.clone() - next.multiplicity * next.value),
        );
        let last = b.is_last_row();
        let total = b.public(self.sum_public);
        b.assert_zero("sum is public", last * (c.sum - total));
        b.receive(self.bus, &[c.index, c.value], c.multiplicity);
    }
}

impl Consumer {
    /// Receives every value once, then pads to `height` rows. Returns the trace and the sum.
    pub fn generate_trace(&self, values: &[F], height: usize) -> (Trace, F) {
        let mut v = Vec::with_capacity(height * ConsumerCols::<()>::WIDTH);
        let mut sum = F::ZERO;
        for r in 0..height {
            let (index, value, m) = match values.get(r) {
                Some(x) => (F::from_usize(r), *x, F::ONE),
                None => (F::ZERO, F::ZERO, F::ZERO),
            };
            sum += m * value;
            v.extend_from_slice(&[index, value, m, sum]);
        }
        (Trace::new(v, ConsumerCols::<()>::WIDTH), sum)
    }
}
