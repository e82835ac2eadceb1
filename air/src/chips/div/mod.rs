//! Division of two tensors, the divisor computed: `y = floor((2 N + D) / (2 D))` for
//! `N = ±a 2^sa` and `D = |b| 2^sb` (the divisor's sign moved to the numerator), the
//! executor's rounding (`docs/quantization.md`, round half up), with broadcasting.
//!
//! Row `r` reads `a = A[src_a(r)]` (a bus or a constant) and `b = B[src_b(r)]` (a bus) as
//! [`crate::chips::binary`] does, and proves, with a sign bit `s` and the magnitude `m`:
//!
//! - `b = m - 2 s m`, `m - 1` in `[0, 2^b_bits)` (so `b` is not zero);
//! - `2 (1 - 2 s) a 2^sa + m 2^sb = 2 m 2^sb y + q` with `q` and `2 m 2^sb - 1 - q` in
//!   `[0, 2^q_bits)` (so `0 <= q < 2 m 2^sb`), and `y + 2^(out_bits-1)` in `[0, 2^out_bits)`.
//!
//! # Field arithmetic equals integer arithmetic
//! The producers bound `|a| < 2^a_bits` and `|b| < 2^b_bits`; `s` is a bit and `m` an integer
//! below `2^b_bits`, so `b` is the integer `±m`. [`Div::new`] requires the terms of the
//! division's equation to stay below `p/2` in magnitude (`2^(a_bits+sa+1) + 2^(b_bits+sb) +
//! 2^(b_bits+sb+out_bits) + 2^(q_bits)`), so it holds over the integers, and `(y, q)` is the
//! one quotient and remainder: `y` is the executor's. A remainder past `2 m 2^sb - 1` (quotient
//! one less) fails the second range check; one wrapped to `p - 1` fails the first.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder, BusId};
use crate::chips::binary::{Operand, operands_io, operands_prep};
use crate::chips::range::{assert_in_range, byte_limbs, n_limbs, range_lookups};
use crate::expr::FieldExpr;
use crate::field::{F, P};
use crate::trace::Trace;

#[cfg(test)]
mod tests;

crate::columns! {
    /// Main columns.
    pub struct DivCols { a, b, y, s, m, q, limbs }
}
pub const A: usize = DivCols::INDEX.a;
pub const B: usize = DivCols::INDEX.b;
pub const Y: usize = DivCols::INDEX.y;
pub const S: usize = DivCols::INDEX.s;
pub const M: usize = DivCols::INDEX.m;
pub const Q: usize = DivCols::INDEX.q;
const LIMBS: usize = DivCols::INDEX.limbs;

/// `y = round(a 2^sa / (b 2^sb))`, `b` computed.
#[derive(Clone, Debug)]
pub struct Div {
    pub name: String,
    pub a: Operand,
    pub b: Operand,
    pub shift_a: u32,
    pub shift_b: u32,
    pub out_bits: u32,
    pub uses: Vec<u32>,
    pub out_bus: BusId,
    pub log_height: usize,
}

/// A division the field cannot hold, or with a constant divisor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DivError(pub &'static str);

impl core::fmt::Display for DivError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "division: {}", self.0)
    }
}

impl Div {
    /// The chip for `len` elements, if its terms stay below `p/2` (see the module's docs).
    pub fn new(
        name: impl Into<String>,
        (a, shift_a): (Operand, u32),
        (b, shift_b): (Operand, u32),
        out_bits: u32,
        len: usize,
        out_bus: BusId,
    ) -> Result<Self, DivError> {
        if !matches!(b, Operand::Bus { .. }) {
            return Err(DivError("the divisor must be computed (a constant divisor has its own chip)"));
        }
        let c = Self { name: name.into(), a, b, shift_a, shift_b, out_bits, uses: vec![1; len], out_bus, log_height: crate::chips::unary::log_rows(len) };
        let (ab, bb) = (c.a.bits(), c.b.bits());
        if out_bits == 0 || out_bits > 61 || bb == 0 || ab + shift_a > 61 || bb + shift_b + out_bits > 62 {
            return Err(DivError("the terms may pass the field"));
        }
        let bound = (1u128 << (ab + shift_a + 1)) + (1u128 << (bb + shift_b)) + (1u128 << (bb + shift_b + out_bits)) + (1u128 << c.q_bits());
        if bound >= u128::from(P) / 2 {
            return Err(DivError("the terms may pass the field"));
        }
        Ok(c)
    }

    /// Bits of the remainder's checks: `2 m 2^sb <= 2^(b_bits + sb + 1)`.
    pub fn q_bits(&self) -> u32 {
        self.b.bits() + self.shift_b + 1
    }

    fn limbs(&self) -> [usize; 4] {
        let nq = n_limbs(self.q_bits() as usize);
        [n_limbs(self.b.bits() as usize), nq, nq, n_limbs(self.out_bits as usize)]
    }

    /// The executor's rule on integers.
    pub fn reference(&self, a: i64, b: i64) -> i64 {
        let (n, d) = (i128::from(a) << self.shift_a, i128::from(b) << self.shift_b);
        let (n, d) = if d < 0 { (-n, -d) } else { (n, d) };
        (2 * n + d).div_euclid(2 * d) as i64
    }

    /// The trace from the operands' producers' values, the outputs, and the range lookups.
    /// `None` names an element whose divisor is zero.
    #[allow(clippy::type_complexity)]
    pub fn generate_trace(&self, a_values: &[i64], b_values: &[i64]) -> Result<(Trace, Vec<i64>, Vec<F>), usize> {
        let h = 1usize << self.log_height;
        let len = self.uses.len();
        let [nm, nq, _, ny] = self.limbs();
        let width = Air::width(self);
        let off = 1i64 << (self.out_bits - 1);
        let mut v = Vec::with_capacity(h * width);
        let mut out = Vec::with_capacity(len);
        let mut lookups = Vec::new();
        for r in 0..h {
            // Padding rows divide 0 by 1 (a constant numerator's preprocessed cell is 0 there).
            let (a, b) = if r < len { (self.a.value(r, a_values), self.b.value(r, b_values)) } else { (0, 1) };
            if b == 0 {
                return Err(r);
            }
            let y = self.reference(a, b);
            let m = b.unsigned_abs();
            let big_m = i128::from(m) << self.shift_b;
            let sign = if b < 0 { -1i128 } else { 1 };
            let q = (2 * sign * (i128::from(a) << self.shift_a) + big_m - 2 * big_m * i128::from(y)) as u64;
            let q2 = (2 * big_m - 1 - i128::from(q)) as u64;
            v.extend_from_slice(&[F::from_i64(a), F::from_i64(b), F::from_i64(y), F::from_bool(b < 0), F::from_u64(m), F::from_u64(q)]);
            v.extend(byte_limbs(m - 1, nm));
            v.extend(byte_limbs(q, nq));
            v.extend(byte_limbs(q2, nq));
            v.extend(byte_limbs((y + off) as u64, ny));
            lookups.extend(range_lookups(m - 1, self.b.bits() as usize));
            lookups.extend(range_lookups(q, self.q_bits() as usize));
            lookups.extend(range_lookups(q2, self.q_bits() as usize));
            lookups.extend(range_lookups((y + off) as u64, self.out_bits as usize));
            if r < len {
                out.push(y);
            }
        }
        Ok((Trace::new(v, width), out, lookups))
    }
}

impl Air for Div {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        LIMBS + self.limbs().iter().sum::<usize>()
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        Some(operands_prep(&self.a, &self.b, &self.uses, self.log_height))
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let [x, d, y, s, m, q] = [A, B, Y, S, M, Q].map(|c| b.main(c));
        operands_io(b, (&self.a, x.clone()), (&self.b, d.clone()), self.out_bus, y.clone());
        b.assert_bool("s is 0 or 1", s.clone());
        b.assert_zero("b is m or -m", d - m.clone() + s.clone() * m.clone() * F::TWO);
        let big_m = m.clone() * F::from_u64(1 << self.shift_b);
        let n = (B::Var::lit(1) - s * F::TWO) * x * F::from_u64(1 << self.shift_a);
        b.assert_zero("2 N + M = 2 M y + q", n * F::TWO + big_m.clone() - big_m.clone() * y.clone() * F::TWO - q.clone());
        let [nm, nq, _, ny] = self.limbs();
        let mut at = LIMBS;
        let mut take = |n: usize| {
            let v: Vec<B::Var> = (at..at + n).map(|c| b.main(c)).collect();
            at += n;
            v
        };
        let (lm, lq, lq2, ly) = (take(nm), take(nq), take(nq), take(ny));
        assert_in_range(b, "m - 1 is its limbs", m - B::Var::lit(1), &lm, self.b.bits() as usize);
        assert_in_range(b, "q is its limbs", q.clone(), &lq, self.q_bits() as usize);
        assert_in_range(b, "2 M - 1 - q is its limbs", big_m * F::TWO - B::Var::lit(1) - q, &lq2, self.q_bits() as usize);
        let off = F::from_u64(1 << (self.out_bits - 1));
        assert_in_range(b, "y + 2^(out-1) is its limbs", y + off, &ly, self.out_bits as usize);
    }
}
