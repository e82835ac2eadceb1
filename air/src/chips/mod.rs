//! Chips. Each op family has its own module with its columns, trace generation and tests.
//!
//! - [`add`]: elementwise addition of two tensors aligned by exact left shifts.
//! - [`bilinear`]: the product of two computed matrices (MatMul of two computed values), one
//!   row per term.
//! - [`binary`]: elementwise Add, Sub and Mul of two tensors or a tensor and a constant, with
//!   broadcasting.
//! - [`linear`]: a fully connected or convolutional layer with fixed weights (patches read by
//!   lookup), checked by Freivalds' test over blocks of rows.
//! - [`lut`]: non-linear functions (Sigmoid, Tanh, Erf, Exp) through a preprocessed table of
//!   `(i, T[i], T[i+1])`, interpolated, with range-checked clamps.
//! - [`maxpool`]: the maximum of each window, its inputs read by lookup.
//! - [`div`]: division by a computed tensor, rounded half up, with the divisor's sign and a
//!   two-sided remainder check.
//! - [`divconst`]: division by a constant, rounded half up, with a two-sided remainder check.
//! - [`embed`]: rows of a constant table selected by computed ids (an embedding), by lookup
//!   into a preprocessed table of `(key, value)`.
//! - [`minmax`]: elementwise Min and Max of two tensors (or a tensor and a constant).
//! - [`mac`]: a multiply-accumulate chain, the generic STARK benchmark.
//! - [`matprod`]: the product of two computed matrices checked by a random linear combination
//!   after a challenge, `k (m + n) + m n` rows per batch (attention's products).
//! - [`matmul`]: a vector–matrix product with fixed weights, checked by Freivalds' test on
//!   auxiliary columns after a challenge.
//! - [`polyconv`]: a convolution with fixed weights checked as a product of bivariate
//!   polynomials at random points: each input element read once, each output written once.
//! - [`range`]: a fixed table of the values `0..2^bits`, receiving range-check lookups, and the
//!   range-check gadget (byte limbs) other chips use.
//! - [`relu`]: `y = max(x, 0)` on signed integers, with a sign bit and a range-checked magnitude.
//! - [`rescale`]: `y = floor((x + 2^(s-1)) / 2^s)`, the executor's rounding after a product,
//!   with the remainder and the output range-checked so that field and integer agree.
//! - [`unary`]: the columns, interactions and trace loop every one-input elementwise chip
//!   (`relu`, `rescale`) shares.
//! - [`select`]: Where, `y = c ? a : b` with a boolean condition.
//! - [`sqrt`]: the rounded square root of an integer plus a constant (LayerNormalization's
//!   standard deviation), its slack range-checked on both sides.
//! - [`transfer`]: a producer that sends indexed values and a consumer that receives and sums
//!   them; together with [`range`] they exercise the bus across tables of different heights.

pub mod bilinear;
pub mod binary;
pub mod div;
pub mod divconst;
pub mod embed;
pub mod linear;
pub mod lut;
pub mod mac;
pub mod matprod;
pub mod maxpool;
pub mod minmax;
pub mod matmul;
pub mod polyconv;
pub mod range;
pub mod relu;
pub mod select;
pub mod sqrt;
pub mod rescale;
pub mod transfer;
pub mod unary;

/// The bus on which range-check lookups travel: tuples `(value)`.
pub const BUS_RANGE: crate::BusId = 0;
/// The bus on which tensor values travel between chips: tuples `(index, value)`.
pub const BUS_DATA: crate::BusId = 1;
/// A second bus of `(index, value)` tuples, for a chip's outputs.
pub const BUS_OUT: crate::BusId = 2;

/// A small deterministic generator (SplitMix64) for example traces and tests.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Checks a chip that receives `(r, x_r)` on [`BUS_DATA`] and sends `(r, y_r)` on
/// [`BUS_OUT`] once each, with the inputs sent and the outputs received as public tuples, and
/// the 8-bit range table counting `lookups`.
#[cfg(test)]
pub(crate) fn check_unary(
    chip: &dyn crate::Chip,
    inputs: &[i64],
    outputs: &[i64],
    trace: &crate::Trace,
    lookups: &[crate::F],
) -> Result<(), alloc::vec::Vec<crate::CheckFailure>> {
    use crate::air::{Air, Direction, RowInteraction};
    use crate::F;
    use p3_field::PrimeCharacteristicRing;
    let mut tuples = alloc::vec::Vec::new();
    for (i, (&x, &y)) in inputs.iter().zip(outputs).enumerate() {
        let t = |bus, dir, v: i64| RowInteraction { bus, dir, fields: alloc::vec![F::from_usize(i), F::from_i64(v)], multiplicity: F::ONE };
        tuples.push(t(BUS_DATA, Direction::Send, x));
        tuples.push(t(BUS_OUT, Direction::Receive, y));
    }
    let range = range::RangeTable { bits: 8 };
    let rt = range.generate_trace(lookups.iter().copied());
    let prep = Air::preprocessed_trace(&range);
    let chips: [&dyn crate::Chip; 2] = [chip, &range];
    let own = chip.preprocessed_trace();
    crate::check::check_constraints_with(&chips, &[trace, &rt], &[own.as_ref(), prep.as_ref()], &[], &tuples)
}

/// Checks a chip that reads elements of `x` on [`BUS_DATA`] (each as often as `reads` lists it)
/// and sends each element of `y` once on [`BUS_OUT`], with `x` sent and `y` received as public
/// tuples: the linear layers' and convolutions' tests.
#[cfg(test)]
pub(crate) fn check_product(
    chip: &dyn crate::Chip,
    reads: impl IntoIterator<Item = u32>,
    x: &[i64],
    y: &[i64],
    trace: &crate::Trace,
) -> Result<(), alloc::vec::Vec<crate::CheckFailure>> {
    use crate::F;
    use crate::air::{Direction, RowInteraction};
    use p3_field::PrimeCharacteristicRing;
    let mut counts = alloc::vec![0u64; x.len()];
    for s in reads {
        counts[s as usize] += 1;
    }
    let t = |bus, dir, i: usize, v: i64, m: u64| RowInteraction { bus, dir, fields: alloc::vec![F::from_usize(i), F::from_i64(v)], multiplicity: F::from_u64(m) };
    let mut tuples: alloc::vec::Vec<RowInteraction> = x.iter().enumerate().map(|(i, &v)| t(BUS_DATA, Direction::Send, i, v, counts[i])).collect();
    tuples.extend(y.iter().enumerate().map(|(i, &v)| t(BUS_OUT, Direction::Receive, i, v, 1)));
    let prep = chip.preprocessed_trace();
    crate::check::check_constraints_with(&[chip], &[trace], &[prep.as_ref()], &[], &tuples)
}

/// Adds one to every cell of `trace` in turn; [`check_unary`] must fail each time.
#[cfg(test)]
pub(crate) fn every_changed_cell_fails_unary(chip: &dyn crate::Chip, inputs: &[i64], outputs: &[i64], trace: &crate::Trace, lookups: &[crate::F]) {
    use p3_field::PrimeCharacteristicRing;
    for idx in 0..trace.values.len() {
        let mut bad = trace.clone();
        bad.values[idx] += crate::F::ONE;
        assert!(check_unary(chip, inputs, outputs, &bad, lookups).is_err(), "cell {idx} changed but passed");
    }
}
