//! ReLU: `y = max(x, 0)` on signed integers `|x| < 2^(bits-1)`.
//!
//! Each row receives `(index, x)` on `in_bus` and sends `(index, y)` on `out_bus`, with a sign
//! bit `neg` and the magnitude `m`: `x = m - 2 neg m` (so `x = m` or `x = -m`), `m` in
//! `[0, 2^(bits-1))` by byte limbs, and `y = x - neg x`.
//!
//! # Field arithmetic equals integer arithmetic
//! `neg` is 0 or 1 and `m` an integer below `2^(bits-1) < p/2`, so `x` is the integer `m` or
//! `-m` (as a field element) and nothing else: if `neg = 1`, `x <= 0` and `y = 0`; if
//! `neg = 0`, `x >= 0` and `y = x`. `x = 0` passes either way with `y = 0`. A positive `x`
//! claimed negative would need `m = -x`, a field element with no limbs.

use alloc::string::String;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder, BusId};
use crate::chips::range::{assert_in_range, byte_limbs, n_limbs, range_lookups};
use crate::field::F;
use crate::trace::Trace;

#[cfg(test)]
mod tests;

const ACTIVE: usize = 0;
const INDEX: usize = 1;
const X: usize = 2;
const Y: usize = 3;
const NEG: usize = 4;
const M: usize = 5;
const LIMBS: usize = 6;

/// The ReLU chip.
#[derive(Clone, Debug)]
pub struct Relu {
    pub name: String,
    /// `|x| < 2^(bits-1)`, `2 <= bits <= 62`.
    pub bits: u32,
    pub in_bus: BusId,
    pub out_bus: BusId,
}

impl Relu {
    fn m_bits(&self) -> usize {
        self.bits as usize - 1
    }

    /// The trace for the inputs `(index, x)`, padded to `2^log_height` rows, the outputs, and
    /// the values its range checks look up.
    pub fn generate_trace(&self, inputs: &[(u64, i64)], log_height: usize) -> (Trace, Vec<i64>, Vec<F>) {
        let h = 1usize << log_height;
        let w = Air::width(self);
        let mut values = Vec::with_capacity(h * w);
        let mut outputs = Vec::with_capacity(inputs.len());
        let mut lookups = Vec::new();
        for row in 0..h {
            let (active, index, x) = match inputs.get(row) {
                Some(&(i, x)) => (F::ONE, F::from_u64(i), x),
                None => (F::ZERO, F::ZERO, 0),
            };
            let y = x.max(0);
            if row < inputs.len() {
                outputs.push(y);
            }
            let m = x.unsigned_abs();
            values.extend_from_slice(&[active, index, F::from_i64(x), F::from_i64(y), F::from_bool(x < 0), F::from_u64(m)]);
            values.extend(byte_limbs(m, n_limbs(self.m_bits())));
            lookups.extend(range_lookups(m, self.m_bits()));
        }
        (Trace::new(values, w), outputs, lookups)
    }
}

impl Air for Relu {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        LIMBS + n_limbs(self.m_bits())
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let (active, index, x, y) = (b.main(ACTIVE), b.main(INDEX), b.main(X), b.main(Y));
        let (neg, m) = (b.main(NEG), b.main(M));
        b.assert_bool("active is 0 or 1", active.clone());
        b.assert_bool("neg is 0 or 1", neg.clone());
        b.assert_zero("x is m or -m", x.clone() - m.clone() + neg.clone() * m.clone() * F::TWO);
        b.assert_zero("y is x unless negative", y.clone() - x.clone() + neg * x.clone());
        let limbs: Vec<B::Var> = (0..n_limbs(self.m_bits())).map(|i| b.main(LIMBS + i)).collect();
        assert_in_range(b, "m is its limbs", m, &limbs, self.m_bits());
        b.receive(self.in_bus, &[index.clone(), x], active.clone());
        b.send(self.out_bus, &[index, y], active);
    }
}
