//! What every elementwise chip with one input tensor and one output tensor shares: the first
//! four columns `active, index, x, y`, the interactions that receive `(index, x)` and send
//! `(index, y)` on active rows, and the trace loop with its padding rows. A chip adds its own
//! columns after [`REST`] and its own constraints.

use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{AirBuilder, BusId};
use crate::field::F;
use crate::trace::Trace;

/// 1 on rows that carry an element, 0 on padding.
pub const ACTIVE: usize = 0;
/// The element's index.
pub const INDEX: usize = 1;
/// The input.
pub const X: usize = 2;
/// The output.
pub const Y: usize = 3;
/// The first of the chip's own columns.
pub const REST: usize = 4;

/// The columns `active, index, x, y` of a row: `active` constrained to a bit, `(index, x)`
/// received on `in_bus` and `(index, y)` sent on `out_bus`, both `active` times. Returns `x`
/// and `y`.
pub fn unary_io<B: AirBuilder>(b: &mut B, in_bus: BusId, out_bus: BusId) -> (B::Var, B::Var) {
    let (active, index, x, y) = (b.main(ACTIVE), b.main(INDEX), b.main(X), b.main(Y));
    b.assert_bool("active is 0 or 1", active.clone());
    b.receive(in_bus, &[index.clone(), x.clone()], active.clone());
    b.send(out_bus, &[index, y.clone()], active);
    (x, y)
}

/// One row of a unary chip past `active, index, x, y`.
#[derive(Clone, Debug, Default)]
pub struct UnaryRow {
    /// The output.
    pub y: i64,
    /// The chip's own columns, from [`REST`] on.
    pub rest: Vec<F>,
    /// The values the row's range checks look up in the 8-bit table.
    pub lookups: Vec<F>,
}

/// The trace of a unary chip of `width` columns over `2^log_height` rows: row `r` holds
/// `inputs[r] = (index, x)` completed by `row(x)`, and padding rows hold `row(0)` with
/// `active = index = 0`. Returns the trace, the outputs of the inputs, and every lookup.
pub fn unary_trace(
    inputs: &[(u64, i64)],
    log_height: usize,
    width: usize,
    mut row: impl FnMut(i64) -> UnaryRow,
) -> (Trace, Vec<i64>, Vec<F>) {
    let h = 1usize << log_height;
    let mut values = Vec::with_capacity(h * width);
    let mut outputs = Vec::with_capacity(inputs.len());
    let mut lookups = Vec::new();
    for r in 0..h {
        let (active, index, x) = match inputs.get(r) {
            Some(&(i, x)) => (F::ONE, F::from_u64(i), x),
            None => (F::ZERO, F::ZERO, 0),
        };
        let UnaryRow { y, rest, lookups: l } = row(x);
        if r < inputs.len() {
            outputs.push(y);
        }
        values.extend_from_slice(&[active, index, F::from_i64(x), F::from_i64(y)]);
        values.extend(rest);
        lookups.extend(l);
    }
    (Trace::new(values, width), outputs, lookups)
}
