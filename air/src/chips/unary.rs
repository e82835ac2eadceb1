//! What every elementwise chip with one input tensor and one output tensor shares: row `r`
//! holds element `r` of the tensor. Preprocessed columns fix the wiring: the element's index,
//! whether the row carries an element, how many times its output is used downstream (the
//! send multiplicity, so one producer row serves every consumer), and, when the input is read
//! out of order (a slice, a transpose), where on its bus each element's input sits. Main
//! columns start with `x, y`; a chip adds its own columns from [`REST`] on, and its own
//! constraints.
//!
//! # Soundness
//! Every multiplicity is preprocessed: a prover cannot send a tuple more or fewer times than
//! the circuit says, nor receive one it was not sent, so the bus balance is a multiset equality
//! between what producers compute and what consumers read (`docs/soundness.md`, "Wiring").

use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{AirBuilder, BusId};
use crate::field::F;
use crate::trace::Trace;

crate::columns! {
    /// Preprocessed columns of every unary chip.
    pub struct UnaryPrep {
        /// The element's index (the row number).
        index,
        /// 1 on rows that carry an element, 0 on padding.
        active,
        /// How many times the row's output is sent.
        uses,
        /// When [`UnaryIo::in_index`] is set: the input's index on its bus.
        input,
    }
}
/// Preprocessed: the element's index (the row number).
pub const P_INDEX: usize = UnaryPrep::INDEX.index;
/// Preprocessed: 1 on rows that carry an element, 0 on padding.
pub const P_ACTIVE: usize = UnaryPrep::INDEX.active;
/// Preprocessed: how many times the row's output is sent.
pub const P_USES: usize = UnaryPrep::INDEX.uses;
/// Preprocessed, when [`UnaryIo::in_index`] is set: the input's index on its bus.
pub const P_IN: usize = UnaryPrep::INDEX.input;
crate::columns! {
    /// Main columns every unary chip starts with; its own follow from [`REST`].
    pub struct UnaryCols {
        /// The input.
        x,
        /// The output.
        y,
    }
}
/// The input.
pub const X: usize = UnaryCols::INDEX.x;
/// The output.
pub const Y: usize = UnaryCols::INDEX.y;
/// The first of the chip's own main columns.
pub const REST: usize = UnaryCols::<usize>::WIDTH;

/// Where a unary chip's elements come from and go: `(r, x_r)` received on `in_bus` once,
/// `(r, y_r)` sent on `out_bus` `uses[r]` times, for `r < uses.len()`, in a table of
/// `2^log_height` rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnaryIo {
    pub in_bus: BusId,
    pub out_bus: BusId,
    /// One entry per element: the number of consumers of its output.
    pub uses: Vec<u32>,
    pub log_height: usize,
    /// Where element `r`'s input sits on `in_bus`; `None`: at index `r`.
    pub in_index: Option<Vec<u32>>,
}

impl UnaryIo {
    /// `n` elements, each output used once, in the smallest table that holds them.
    pub fn new(in_bus: BusId, out_bus: BusId, n: usize) -> Self {
        Self { in_bus, out_bus, uses: vec![1; n], log_height: log_rows(n), in_index: None }
    }

    /// `n` elements read on `in_bus` at `in_index` (its length is the element count).
    pub fn gathering(in_bus: BusId, out_bus: BusId, in_index: Vec<u32>) -> Self {
        let n = in_index.len();
        Self { in_bus, out_bus, uses: vec![1; n], log_height: log_rows(n), in_index: Some(in_index) }
    }

    /// The inputs in row order, from the values on the input bus.
    pub fn inputs(&self, bus_values: &[i64]) -> Vec<i64> {
        match &self.in_index {
            Some(idx) => idx.iter().map(|&i| bus_values[i as usize]).collect(),
            None => bus_values[..self.uses.len().min(bus_values.len())].to_vec(),
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.uses.len()
    }

    /// Whether the chip has no element.
    pub fn is_empty(&self) -> bool {
        self.uses.is_empty()
    }

    /// The preprocessed columns `index, active, uses` (and the input's index when it is read
    /// out of order).
    pub fn preprocessed_trace(&self) -> Trace {
        let h = 1usize << self.log_height;
        let w = if self.in_index.is_some() { 4 } else { 3 };
        let mut v = Vec::with_capacity(w * h);
        for r in 0..h {
            let uses = self.uses.get(r).copied();
            v.extend_from_slice(&[F::from_usize(r), F::from_bool(uses.is_some()), F::from_u32(uses.unwrap_or(0))]);
            if let Some(idx) = &self.in_index {
                v.push(F::from_u32(idx.get(r).copied().unwrap_or(0)));
            }
        }
        Trace::new(v, w)
    }

    /// Receives `(index, x)` once on active rows and sends `(index, y)` `uses` times. Returns
    /// `x` and `y`.
    pub fn eval<B: AirBuilder>(&self, b: &mut B) -> (B::Var, B::Var) {
        let (index, active, uses) = (b.prep(P_INDEX), b.prep(P_ACTIVE), b.prep(P_USES));
        let (x, y) = (b.main(X), b.main(Y));
        let at = if self.in_index.is_some() { b.prep(P_IN) } else { index.clone() };
        b.receive(self.in_bus, &[at, x.clone()], active);
        b.send(self.out_bus, &[index, y.clone()], uses);
        (x, y)
    }
}

/// log2 of the smallest power of two, at least 4, holding `n` rows.
pub fn log_rows(n: usize) -> usize {
    n.max(4).next_power_of_two().trailing_zeros() as usize
}

/// One row of a unary chip past `x, y`.
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
/// `inputs[r]` completed by `row(x)`, and padding rows hold `row(0)`. Returns the trace, the
/// outputs of the inputs, and every lookup. Rows are built in parallel.
pub fn unary_trace(
    inputs: &[i64],
    log_height: usize,
    width: usize,
    row: impl Fn(i64) -> UnaryRow + Sync + Send,
) -> (Trace, Vec<i64>, Vec<F>) {
    let h = 1usize << log_height;
    let rows: Vec<(i64, UnaryRow)> = crate::par::map_range(h, |r| {
        let x = inputs.get(r).copied().unwrap_or(0);
        (x, row(x))
    });
    let mut values = Vec::with_capacity(h * width);
    let mut outputs = Vec::with_capacity(inputs.len());
    let mut lookups = Vec::new();
    for (r, (x, UnaryRow { y, rest, lookups: l })) in rows.into_iter().enumerate() {
        if r < inputs.len() {
            outputs.push(y);
        }
        values.extend_from_slice(&[F::from_i64(x), F::from_i64(y)]);
        values.extend(rest);
        lookups.extend(l);
    }
    (Trace::new(values, width), outputs, lookups)
}
