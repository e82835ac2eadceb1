//! A multiply-accumulate chain: `acc' = acc + a * b`, starting from `acc = 0`; the last row's
//! `acc + a * b` is public value 0. Three columns, degree 3 with the transition selector.

use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder};
use crate::chips::SplitMix64;
use crate::field::F;
use crate::trace::Trace;

#[cfg(test)]
mod tests;

crate::columns! {
    /// Columns of [`MacChain`].
    pub struct MacCols {
        /// The sum of `a * b` over the rows above.
        acc,
        /// Left factor.
        a,
        /// Right factor.
        b,
    }
}

/// The multiply-accumulate chain chip.
#[derive(Clone, Copy, Debug, Default)]
pub struct MacChain;

impl Air for MacChain {
    fn name(&self) -> alloc::string::String {
        "mac".into()
    }
    fn width(&self) -> usize {
        MacCols::<()>::WIDTH
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let c = MacCols::from_fn(|i| b.main(i));
        let next = MacCols::from_fn(|i| b.main_next(i));
        let first = b.is_first_row();
        b.assert_zero("acc starts at zero", first * c.acc.clone());
        let t = b.is_transition();
        b.assert_zero(
            "acc accumulates a*b",
            t * (next.acc - c.acc.clone() - c.a.clone() * c.b.clone()),
        );
        let last = b.is_last_row();
        let result = b.public(0);
        b.assert_zero("result is public", last * (c.acc + c.a * c.b - result));
    }
}

impl MacChain {
    /// A trace of `2^log_n` rows with factors drawn from `seed`, and its result.
    pub fn generate_trace(log_n: usize, seed: u64) -> (Trace, F) {
        let n = 1usize << log_n;
        let mut rng = SplitMix64(seed);
        let mut values = Vec::with_capacity(n * MacCols::<()>::WIDTH);
        let mut acc = F::ZERO;
        for _ in 0..n {
            let a = F::from_u64(rng.next_u64() >> 1);
            let b = F::from_u64(rng.next_u64() >> 1);
            values.extend_from_slice(&[acc, a, b]);
            acc += a * b;
        }
        (Trace::new(values, MacCols::<()>::WIDTH), acc)
    }

    /// The plain reference: `sum_i a_i * b_i` over the rows of `trace`.
    pub fn reference_result(trace: &Trace) -> F {
        let ix = MacCols::index();
        (0..trace.height()).map(|r| trace.get(r, ix.a) * trace.get(r, ix.b)).sum()
    }
}
