//! Where: `y = c ? a 2^sa : b 2^sb` elementwise with broadcasting, the condition `c` a
//! boolean (0 or 1), the operands aligned to the finer scale by exact shifts as the executor
//! does. Each of `c`, `a`, `b` is received over its producer's bus or fixed in a preprocessed
//! column ([`Operand`]).
//!
//! # Field arithmetic equals integer arithmetic
//! `c` is constrained to 0 or 1 here (whatever its producer proves), so
//! `y = b 2^sb + c (a 2^sa - b 2^sb)` makes `y` equal to `a 2^sa` or `b 2^sb` as a field
//! element; [`Select::new`] keeps both below `2^62` in magnitude, so `y` read as a signed
//! integer is the executor's value.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder, BusId};
use crate::chips::binary::Operand;
use crate::field::F;
use crate::trace::Trace;

#[cfg(test)]
mod tests;

crate::columns! {
    /// Main columns.
    pub struct SelectCols { c, a, b, y }
}
pub const C: usize = SelectCols::INDEX.c;
pub const A: usize = SelectCols::INDEX.a;
pub const B: usize = SelectCols::INDEX.b;
pub const Y: usize = SelectCols::INDEX.y;
crate::columns! {
    /// Preprocessed columns.
    pub struct SelectPrep { index, active, uses, c, a, b }
}
const P_INDEX: usize = SelectPrep::INDEX.index;
const P_ACTIVE: usize = SelectPrep::INDEX.active;
const P_USES: usize = SelectPrep::INDEX.uses;
const P_C: usize = SelectPrep::INDEX.c;
const P_A: usize = SelectPrep::INDEX.a;
const P_B: usize = SelectPrep::INDEX.b;

/// The Where chip.
#[derive(Clone, Debug)]
pub struct Select {
    pub name: String,
    pub c: Operand,
    pub a: Operand,
    pub b: Operand,
    pub shift_a: u32,
    pub shift_b: u32,
    pub uses: Vec<u32>,
    pub out_bus: BusId,
    pub log_height: usize,
}

/// A selection whose operands could pass `2^62`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectBoundError;

impl core::fmt::Display for SelectBoundError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "an operand may pass 2^62")
    }
}

impl Select {
    /// The chip for `len` elements.
    pub fn new(name: impl Into<String>, c: Operand, (a, shift_a): (Operand, u32), (b, shift_b): (Operand, u32), len: usize, out_bus: BusId) -> Result<Self, SelectBoundError> {
        if a.bits() + shift_a > 62 || b.bits() + shift_b > 62 {
            return Err(SelectBoundError);
        }
        Ok(Self { name: name.into(), c, a, b, shift_a, shift_b, uses: vec![1; len], out_bus, log_height: crate::chips::unary::log_rows(len) })
    }

    /// Bits `b` with `|y| < 2^b`.
    pub fn output_bits(&self) -> u32 {
        (self.a.bits() + self.shift_a).max(self.b.bits() + self.shift_b)
    }

    /// The trace from the producers' values of the three operands, and the outputs. `Err(r)`
    /// names an element whose condition is not 0 or 1.
    pub fn generate_trace(&self, c_values: &[i64], a_values: &[i64], b_values: &[i64]) -> Result<(Trace, Vec<i64>), usize> {
        let h = 1usize << self.log_height;
        let len = self.uses.len();
        let mut v = Vec::with_capacity(4 * h);
        let mut out = Vec::with_capacity(len);
        for r in 0..h {
            let (c, a, b) = if r < len { (self.c.value(r, c_values), self.a.value(r, a_values), self.b.value(r, b_values)) } else { (0, 0, 0) };
            if !(0..=1).contains(&c) {
                return Err(r);
            }
            let y = if c == 1 { a << self.shift_a } else { b << self.shift_b };
            v.extend_from_slice(&[F::from_i64(c), F::from_i64(a), F::from_i64(b), F::from_i64(y)]);
            if r < len {
                out.push(y);
            }
        }
        Ok((Trace::new(v, 4), out))
    }
}

impl Air for Select {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        4
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        let h = 1usize << self.log_height;
        let mut v = vec![F::ZERO; 6 * h];
        for (r, &u) in self.uses.iter().enumerate() {
            v[6 * r..6 * r + 6].copy_from_slice(&[F::from_usize(r), F::ONE, F::from_u32(u), self.c.prep(r), self.a.prep(r), self.b.prep(r)]);
        }
        Some(Trace::new(v, 6))
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let [c, x, z, y] = [C, A, B, Y].map(|col| b.main(col));
        for (operand, col, v, label) in [(&self.c, P_C, c.clone(), "c is its constant"), (&self.a, P_A, x.clone(), "a is its constant"), (&self.b, P_B, z.clone(), "b is its constant")] {
            match operand {
                Operand::Bus { bus, .. } => b.receive(*bus, &[b.prep(col), v], b.prep(P_ACTIVE)),
                Operand::Const(_) => b.assert_zero(label, v - b.prep(col)),
            }
        }
        b.send(self.out_bus, &[b.prep(P_INDEX), y.clone()], b.prep(P_USES));
        b.assert_bool("c is 0 or 1", c.clone());
        let (xa, zb) = (x * F::from_u64(1 << self.shift_a), z * F::from_u64(1 << self.shift_b));
        b.assert_zero("y is a if c else b", y - zb.clone() - c * (xa - zb));
    }
}
