//! Elementwise Add, Sub and Mul of two tensors (one of them may be a constant), with
//! broadcasting: row `r` computes output element `r` from `a = A[src_a(r)]` and
//! `b = B[src_b(r)]`, each received over its producer's bus or fixed in a preprocessed column.
//!
//! - Add: `y = a 2^sa + b 2^sb`; Sub: `y = a 2^sa - b 2^sb` (operands aligned to the finer
//!   scale by exact shifts, as the executor does);
//! - Mul: `y = a b`, the exact product, which a rescale chip then rounds.
//!
//! # Field arithmetic equals integer arithmetic
//! The producers bound `|a| < 2^ia` and `|b| < 2^ib`; [`Binary::new`] requires the result's
//! bound, `2^(ia+sa) + 2^(ib+sb)` for Add and Sub and `2^(ia+ib)` for Mul, to stay below
//! `2^62 < p/2`. Then the constraint, zero in `F`, is the integer identity, and `y` read as a
//! signed integer is the executor's value.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder, BusId};
use crate::field::F;
use crate::trace::Trace;

#[cfg(test)]
mod tests;

crate::columns! {
    /// Main columns.
    pub struct BinaryCols { a, b, y }
}
pub const A: usize = BinaryCols::INDEX.a;
pub const B: usize = BinaryCols::INDEX.b;
pub const Y: usize = BinaryCols::INDEX.y;
crate::columns! {
    /// Preprocessed columns: the output index, whether the row is an element, its uses, then per
    /// operand its source index (on a bus) or its value (a constant).
    pub struct BinaryPrep { index, active, uses, a, b }
}
const P_INDEX: usize = BinaryPrep::INDEX.index;
const P_ACTIVE: usize = BinaryPrep::INDEX.active;
const P_USES: usize = BinaryPrep::INDEX.uses;
const P_A: usize = BinaryPrep::INDEX.a;
const P_B: usize = BinaryPrep::INDEX.b;

/// The operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
}

/// Where an operand comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// Received on `bus` at `src[r]` for output element `r`; `|v| < 2^bits` proven by the
    /// producer.
    Bus { bus: BusId, src: Vec<u32>, bits: u32 },
    /// A constant per output element (fixed by the circuit).
    Const(Vec<i64>),
}

impl Operand {
    /// Bits `b` with `|v| < 2^b`.
    pub fn bits(&self) -> u32 {
        match self {
            Operand::Bus { bits, .. } => *bits,
            Operand::Const(v) => v.iter().map(|x| 64 - x.unsigned_abs().leading_zeros()).max().unwrap_or(0),
        }
    }
    /// The operand of output element `r`, from the producer's values on its bus.
    pub fn value(&self, r: usize, bus_values: &[i64]) -> i64 {
        match self {
            Operand::Bus { src, .. } => bus_values[src[r] as usize],
            Operand::Const(v) => v[r],
        }
    }
    /// The preprocessed cell of element `r`: the source index or the constant.
    pub fn prep(&self, r: usize) -> F {
        match self {
            Operand::Bus { src, .. } => F::from_u32(src[r]),
            Operand::Const(v) => F::from_i64(v[r]),
        }
    }
}

/// The preprocessed columns of an elementwise chip of two operands over `2^log_height` rows:
/// the output index, whether the row is an element, its uses, then each operand's source
/// index or constant.
pub fn operands_prep(a: &Operand, b: &Operand, uses: &[u32], log_height: usize) -> Trace {
    let h = 1usize << log_height;
    let mut v = vec![F::ZERO; 5 * h];
    for (r, &u) in uses.iter().enumerate() {
        v[5 * r..5 * r + 5].copy_from_slice(&[F::from_usize(r), F::ONE, F::from_u32(u), a.prep(r), b.prep(r)]);
    }
    Trace::new(v, 5)
}

/// Reads the two operands in the main columns `a` and `b`: received on their buses on active
/// rows, or equal to their preprocessed constants. Sends `(index, y)` as often as it is used.
pub fn operands_io<B: AirBuilder>(b: &mut B, (a, x): (&Operand, B::Var), (bo, z): (&Operand, B::Var), out_bus: BusId, y: B::Var) {
    for (operand, col, v, label) in [(a, P_A, x, "a is its constant"), (bo, P_B, z, "b is its constant")] {
        match operand {
            Operand::Bus { bus, .. } => b.receive(*bus, &[b.prep(col), v], b.prep(P_ACTIVE)),
            Operand::Const(_) => b.assert_zero(label, v - b.prep(col)),
        }
    }
    b.send(out_bus, &[b.prep(P_INDEX), y], b.prep(P_USES));
}

/// The elementwise chip.
#[derive(Clone, Debug)]
pub struct Binary {
    pub name: String,
    pub op: BinaryOp,
    /// Left shifts of `a` and `b` (Add and Sub; 0 for Mul).
    pub shift_a: u32,
    pub shift_b: u32,
    pub a: Operand,
    pub b: Operand,
    /// One entry per output element: how many consumers read it.
    pub uses: Vec<u32>,
    pub out_bus: BusId,
    pub log_height: usize,
}

/// A binary op whose result could pass `2^62`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryBoundError {
    pub bits: u32,
}

impl core::fmt::Display for BinaryBoundError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "the result may need {} bits, past the field's 62", self.bits)
    }
}

impl Binary {
    /// The chip, if its result stays below `2^62` (see the module's docs).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: impl Into<String>,
        op: BinaryOp,
        (a, shift_a): (Operand, u32),
        (b, shift_b): (Operand, u32),
        n: usize,
        out_bus: BusId,
        log_height: usize,
    ) -> Result<Self, BinaryBoundError> {
        let chip = Self { name: name.into(), op, shift_a, shift_b, a, b, uses: vec![1; n], out_bus, log_height };
        let bits = chip.output_bits();
        if bits > 62 { Err(BinaryBoundError { bits }) } else { Ok(chip) }
    }

    /// Bits `o` with `|y| < 2^o`.
    pub fn output_bits(&self) -> u32 {
        let (ia, ib) = (self.a.bits(), self.b.bits());
        match self.op {
            BinaryOp::Add | BinaryOp::Sub => (ia + self.shift_a).max(ib + self.shift_b) + 1,
            BinaryOp::Mul => ia + ib,
        }
    }

    /// The number of output elements.
    pub fn len(&self) -> usize {
        self.uses.len()
    }

    /// Whether the chip has no element.
    pub fn is_empty(&self) -> bool {
        self.uses.is_empty()
    }

    fn apply(&self, a: i64, b: i64) -> i64 {
        let (a, b) = (i128::from(a), i128::from(b));
        let v = match self.op {
            BinaryOp::Add => (a << self.shift_a) + (b << self.shift_b),
            BinaryOp::Sub => (a << self.shift_a) - (b << self.shift_b),
            BinaryOp::Mul => a * b,
        };
        v as i64
    }

    /// The trace and the outputs, from the values on the operands' buses (`bus_a`, `bus_b`:
    /// the producers' outputs; ignored for constants).
    pub fn generate_trace(&self, bus_a: &[i64], bus_b: &[i64]) -> (Trace, Vec<i64>) {
        let h = 1usize << self.log_height;
        let mut v = vec![F::ZERO; 3 * h];
        let mut out = Vec::with_capacity(self.len());
        for r in 0..self.len() {
            let (a, b) = (self.a.value(r, bus_a), self.b.value(r, bus_b));
            let y = self.apply(a, b);
            v[3 * r..3 * r + 3].copy_from_slice(&[F::from_i64(a), F::from_i64(b), F::from_i64(y)]);
            out.push(y);
        }
        (Trace::new(v, 3), out)
    }
}

impl Air for Binary {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        3
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        Some(operands_prep(&self.a, &self.b, &self.uses, self.log_height))
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let (x, y, out) = (b.main(A), b.main(B), b.main(Y));
        operands_io(b, (&self.a, x.clone()), (&self.b, y.clone()), self.out_bus, out.clone());
        let value = match self.op {
            BinaryOp::Add => x * F::from_u64(1 << self.shift_a) + y * F::from_u64(1 << self.shift_b),
            BinaryOp::Sub => x * F::from_u64(1 << self.shift_a) - y * F::from_u64(1 << self.shift_b),
            BinaryOp::Mul => x * y,
        };
        b.assert_zero("y is the operation", out - value);
    }
}
