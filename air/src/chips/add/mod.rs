//! Elementwise addition of two tensors at their common scale: `y = a 2^sa + b 2^sb`, the
//! executor's Add (operands aligned by exact left shifts, `docs/quantization.md`).
//!
//! Each row receives `(index, a)` on `a_bus` and `(index, b)` on `b_bus` and sends
//! `(index, y)` on `out_bus`.
//!
//! # Field arithmetic equals integer arithmetic
//! With `|a| < 2^ia` and `|b| < 2^ib` (proven by their producers), `|y| < 2^(ia+sa) + 2^(ib+sb)`;
//! [`Add::new`] requires that below `p/2`, so `y` read as a signed integer is the integer sum.

use alloc::string::String;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder, BusId};
use crate::field::{F, P};
use crate::trace::Trace;

#[cfg(test)]
mod tests;

crate::columns! {
    /// Columns of [`Add`].
    pub struct AddCols {
        /// 1 on rows that carry an element, 0 on padding.
        active,
        /// The element's index.
        index,
        a,
        b,
        y,
    }
}

/// The addition chip.
#[derive(Clone, Debug)]
pub struct Add {
    pub name: String,
    pub shift_a: u32,
    pub shift_b: u32,
    pub a_bus: BusId,
    pub b_bus: BusId,
    pub out_bus: BusId,
    /// `|y| < 2^out_bits`.
    pub out_bits: u32,
}

impl Add {
    /// An addition of a `bits_a`-bit and a `bits_b`-bit operand, if its result stays below `p/2`.
    pub fn new(
        name: impl Into<String>,
        (bits_a, shift_a): (u32, u32),
        (bits_b, shift_b): (u32, u32),
        a_bus: BusId,
        b_bus: BusId,
        out_bus: BusId,
    ) -> Option<Self> {
        let ea = bits_a.checked_add(shift_a)?;
        let eb = bits_b.checked_add(shift_b)?;
        if ea > 62 || eb > 62 {
            return None;
        }
        let bound = (1u128 << ea) + (1u128 << eb);
        if bound >= u128::from(P / 2) {
            return None;
        }
        let out_bits = 128 - (bound - 1).leading_zeros();
        Some(Self { name: name.into(), shift_a, shift_b, a_bus, b_bus, out_bus, out_bits })
    }

    /// The trace for the elements `(index, a, b)`, padded to `2^log_height` rows, and the outputs.
    pub fn generate_trace(&self, elements: &[(u64, i64, i64)], log_height: usize) -> (Trace, Vec<i64>) {
        let h = 1usize << log_height;
        let mut values = Vec::with_capacity(h * AddCols::<()>::WIDTH);
        let mut out = Vec::with_capacity(elements.len());
        for row in 0..h {
            let (active, (i, a, b)) = match elements.get(row) {
                Some(&e) => (F::ONE, e),
                None => (F::ZERO, (0, 0, 0)),
            };
            let y = (a << self.shift_a) + (b << self.shift_b);
            if row < elements.len() {
                out.push(y);
            }
            values.extend_from_slice(&[active, F::from_u64(i), F::from_i64(a), F::from_i64(b), F::from_i64(y)]);
        }
        (Trace::new(values, AddCols::<()>::WIDTH), out)
    }
}

impl Air for Add {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        AddCols::<()>::WIDTH
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let c = AddCols::from_fn(|i| b.main(i));
        b.assert_bool("active is 0 or 1", c.active.clone());
        let (sa, sb) = (F::from_u64(1 << self.shift_a), F::from_u64(1 << self.shift_b));
        b.assert_zero("y = a 2^sa + b 2^sb", c.y.clone() - c.a.clone() * sa - c.b.clone() * sb);
        b.receive(self.a_bus, &[c.index.clone(), c.a], c.active.clone());
        b.receive(self.b_bus, &[c.index.clone(), c.b], c.active.clone());
        b.send(self.out_bus, &[c.index, c.y], c.active);
    }
}
