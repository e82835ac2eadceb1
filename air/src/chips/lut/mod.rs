//! Non-linear functions through a table (`docs/quantization.md`, "Non-linear functions"):
//! `y = T[i] + rescale((T[i+1] - T[i]) r, k)` for the input split as `x 2^s = i 2^k + r`, with
//! `0 <= r < 2^k` (`s` and `k` are not both non-zero: the input has `t + k - s` fractional bits
//! for a table of resolution `2^-t`), clamped to `T[lo]` below the domain and `T[hi]` past it
//! where the function is flat there.
//!
//! Two chips: a [`LutTable`] holds `(i, T[i], T[i+1])` for the indices the circuit can reach,
//! in preprocessed columns, and receives each tuple as often as it is looked up; a [`Lut`] chip
//! (one per node, elementwise as its [`UnaryIo`] says) sends one tuple per element.
//!
//! # Columns of [`Lut`]
//! `x, y` (the unary wiring), the index `i` and remainder `r`, the clamp flags `below` and
//! `above`, the index looked up `c` and the remainder used `rr`, the clamp's distance `e`, the
//! interpolation's remainder `q`, the entries `t0, t1`, then the byte limbs of `r`, `e`, `q` and
//! `y + 2^(out_bits-1)`. Constraints:
//!
//! - `x 2^s = i 2^k + r`, `r` in `[0, 2^k)`;
//! - `below`, `above` are bits, not both, and zero on a side that is not clamped;
//! - `c = i + below (lo - i) + above (hi - i)`, `rr = r - (below + above) r`;
//! - `e = below (lo 2^k - 1 - x 2^s) + above (x 2^s - (hi + 1) 2^k)` in `[0, 2^e_bits)`: a flag
//!   is set only where the input really is below `lo 2^k` or at or past `(hi + 1) 2^k`;
//! - `(t1 - t0) rr + 2^(k-1) = (y - t0) 2^k + q` with `q` in `[0, 2^k)` (no half when `k = 0`),
//!   `y` in `[-2^(out_bits-1), 2^(out_bits-1))`;
//! - `(c, t0, t1)` is a row of the table (sent on the table's bus on rows that carry an
//!   element).
//!
//! # Field arithmetic equals integer arithmetic
//! The producer bounds `|x| < 2^in_bits`. With no flag set, the lookup makes `c = i` an index
//! of the table and `t0, t1` its entries (integers the compiler bounds), so `x 2^s - i 2^k - r`
//! is a sum of integers below `p/2` in magnitude ([`Lut::new`] checks every bound): it is zero
//! over the integers, and `(i, r)` is the floor division of `x 2^s` by `2^k`. A flag set makes
//! `c` the domain's end and `rr = 0`; its `e` is an integer below `2^e_bits`, which the true
//! input must satisfy (a flag on an input inside the domain makes `e` negative: a field
//! element with no limbs). The interpolation's terms are integers below `p/2` in magnitude as
//! well, so `(y - t0, q)` is the one quotient and remainder: `y` is the executor's. A
//! remainder `q = p - 1` standing for `-1`, which would make `y` one more, has no limbs.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder, BusId};
use crate::chips::range::{assert_in_range, byte_limbs, n_limbs, range_lookups};
use crate::chips::unary::{REST, UnaryIo, UnaryRow, unary_trace};
use crate::field::{F, P};
use crate::trace::Trace;

#[cfg(test)]
mod tests;

crate::columns! {
    /// The chip's own columns, after `x, y`.
    /// (After the unary columns: index `REST +` the field's.)
    pub struct LutCols { i, r, below, above, c, rr, e, q, t0, t1, limbs }
}
pub const I: usize = REST + LutCols::INDEX.i;
pub const R: usize = REST + LutCols::INDEX.r;
pub const BELOW: usize = REST + LutCols::INDEX.below;
pub const ABOVE: usize = REST + LutCols::INDEX.above;
pub const C: usize = REST + LutCols::INDEX.c;
pub const RR: usize = REST + LutCols::INDEX.rr;
pub const E: usize = REST + LutCols::INDEX.e;
pub const Q: usize = REST + LutCols::INDEX.q;
pub const T0: usize = REST + LutCols::INDEX.t0;
pub const T1: usize = REST + LutCols::INDEX.t1;
const LIMBS: usize = REST + LutCols::INDEX.limbs;

/// A function's table: `entries[j] = T[lo + j]` for `j <= n`, where `n` is the number of
/// indices; row `j` holds `(lo + j, T[lo + j], T[lo + j + 1])`, and rows past the last index
/// repeat it.
#[derive(Clone, Debug)]
pub struct LutTable {
    pub name: String,
    pub bus: BusId,
    /// The smallest index.
    pub lo: i64,
    /// `T[lo] ..= T[lo + n]`: one more entry than indices.
    pub entries: Vec<i64>,
    pub log_height: usize,
}

impl LutTable {
    /// The number of indices.
    pub fn len(&self) -> usize {
        self.entries.len().saturating_sub(1)
    }

    /// Whether the table has no index.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The largest index.
    pub fn hi(&self) -> i64 {
        self.lo + self.len() as i64 - 1
    }

    /// `(T[i], T[i+1])`, if `i` is an index of the table.
    pub fn entry(&self, i: i64) -> Option<(i64, i64)> {
        let j = usize::try_from(i.checked_sub(self.lo)?).ok().filter(|&j| j < self.len())?;
        Some((self.entries[j], self.entries[j + 1]))
    }

    /// The largest `|T|` and `|T[i+1] - T[i]|`, as bit counts `b` with the value below `2^b`.
    pub fn bounds(&self) -> (u32, u32) {
        let bits = |v: u64| 64 - v.leading_zeros();
        let t = self.entries.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
        let d = self.entries.windows(2).map(|w| (i128::from(w[1]) - i128::from(w[0])).unsigned_abs() as u64).max().unwrap_or(0);
        (bits(t), bits(d))
    }

    /// The multiplicity column for lookups of the indices `looked_up`.
    pub fn generate_trace(&self, looked_up: impl IntoIterator<Item = i64>) -> Trace {
        let mut counts = vec![0u64; 1 << self.log_height];
        for i in looked_up {
            if let Some(c) = usize::try_from(i - self.lo).ok().and_then(|j| counts.get_mut(j)) {
                *c += 1;
            }
        }
        Trace::new(counts.into_iter().map(F::from_u64).collect(), 1)
    }
}

impl Air for LutTable {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        1
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        let h = 1usize << self.log_height;
        let last = self.len().saturating_sub(1);
        let mut v = Vec::with_capacity(3 * h);
        for j in 0..h {
            let j = j.min(last);
            v.extend_from_slice(&[F::from_i64(self.lo + j as i64), F::from_i64(self.entries[j]), F::from_i64(self.entries[j + 1])]);
        }
        Some(Trace::new(v, 3))
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let (i, t0, t1) = (b.prep(0), b.prep(1), b.prep(2));
        let m = b.main(0);
        b.receive(self.bus, &[i, t0, t1], m);
    }
}

/// One node's function through a [`LutTable`].
#[derive(Clone, Debug)]
pub struct Lut {
    pub name: String,
    /// `s`: the input's left shift (when it has fewer fractional bits than the table).
    pub shift_in: u32,
    /// `k`: the remainder's bits.
    pub k: u32,
    /// The function's domain: indices `lo..=hi`, and which sides clamp.
    pub lo: i64,
    pub hi: i64,
    pub clamp_low: bool,
    pub clamp_high: bool,
    /// `|x| < 2^in_bits`, as the producer proves.
    pub in_bits: u32,
    /// `y` in `[-2^(out_bits-1), 2^(out_bits-1))`.
    pub out_bits: u32,
    /// The table's bus, and its bounds ([`LutTable::bounds`]).
    pub table_bus: BusId,
    pub table_bounds: (u32, u32),
    pub io: UnaryIo,
}

/// A table lookup the field cannot hold, or an inconsistent one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LutBoundError(pub &'static str);

impl core::fmt::Display for LutBoundError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "table lookup: {}", self.0)
    }
}

/// The executor's rounding: `floor((v + 2^(k-1)) / 2^k)`.
fn rescale(v: i128, k: u32) -> i128 {
    if k == 0 { v } else { (v + (1 << (k - 1))) >> k }
}

impl Lut {
    /// A lookup chip, if every constraint's terms stay below `p/2` (see the module's docs).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: impl Into<String>,
        (shift_in, k): (u32, u32),
        (lo, hi, clamp_low, clamp_high): (i64, i64, bool, bool),
        in_bits: u32,
        out_bits: u32,
        table: &LutTable,
        io: UnaryIo,
    ) -> Result<Self, LutBoundError> {
        if shift_in > 0 && k > 0 {
            return Err(LutBoundError("the input is shifted and split at once"));
        }
        if out_bits == 0 || out_bits > 61 || in_bits > 61 || k > 30 || shift_in > 30 || lo > hi {
            return Err(LutBoundError("bit widths out of bounds"));
        }
        let (tb, db) = table.bounds();
        let half = u128::from(P) / 2;
        let xs = 1u128 << (in_bits + shift_in);
        let dom = (lo.unsigned_abs().max(hi.unsigned_abs()) as u128 + 1) << k;
        // x 2^s - i 2^k - r, and e's two sides.
        let split = xs + dom + (1u128 << k);
        // (t1 - t0) rr + 2^(k-1) - (y - t0) 2^k - q.
        let interp = ((1u128 << db) << k) + (1u128 << k) + (((1u128 << (out_bits - 1)) + (1u128 << tb)) << k) + (1u128 << k);
        if split >= half || interp >= half || in_bits + shift_in > 62 {
            return Err(LutBoundError("the terms may pass the field"));
        }
        Ok(Self {
            name: name.into(),
            shift_in,
            k,
            lo,
            hi,
            clamp_low,
            clamp_high,
            in_bits,
            out_bits,
            table_bus: table.bus,
            table_bounds: (tb, db),
            io,
        })
    }

    /// Bits of the clamp distance `e`.
    pub fn e_bits(&self) -> u32 {
        self.in_bits + self.shift_in
    }

    fn limbs(&self) -> [usize; 4] {
        [n_limbs(self.k as usize), n_limbs(self.e_bits() as usize), n_limbs(self.k as usize), n_limbs(self.out_bits as usize)]
    }

    /// The split of `x`: `(i, r, below, above)`.
    fn split(&self, x: i64) -> (i64, i64, bool, bool) {
        let xs = i128::from(x) << self.shift_in;
        let (i, r) = ((xs >> self.k) as i64, (xs & ((1i128 << self.k) - 1)) as i64);
        let below = self.clamp_low && i < self.lo;
        let above = self.clamp_high && i > self.hi;
        (i, r, below, above)
    }

    /// The index the element looks up, its remainder used, and the output, from the table.
    /// `None` where the input lies outside the table on a side that does not clamp.
    pub fn apply(&self, table: &LutTable, x: i64) -> Option<(i64, i64, i64)> {
        let (i, r, below, above) = self.split(x);
        let (c, rr) = if below {
            (self.lo, 0)
        } else if above {
            (self.hi, 0)
        } else {
            (i, r)
        };
        let (t0, t1) = table.entry(c)?;
        let y = i128::from(t0) + rescale((i128::from(t1) - i128::from(t0)) * i128::from(rr), self.k);
        Some((c, rr, y as i64))
    }

    /// The trace for the inputs (element `r` on row `r`), the outputs, the values its range
    /// checks look up, and the table indices it looks up (one per element). An input the table
    /// cannot serve (a refused side, or past the indices the circuit was built for) is an
    /// error naming the element.
    #[allow(clippy::type_complexity)]
    pub fn generate_trace(&self, table: &LutTable, inputs: &[i64]) -> Result<(Trace, Vec<i64>, Vec<F>, Vec<i64>), usize> {
        let mut looked_up = Vec::with_capacity(inputs.len());
        for (j, &x) in inputs.iter().enumerate() {
            looked_up.push(self.apply(table, x).ok_or(j)?.0);
        }
        let [_, ne, _, ny] = self.limbs();
        let nk = n_limbs(self.k as usize);
        let off = 1i64 << (self.out_bits - 1);
        let half = if self.k == 0 { 0 } else { 1i128 << (self.k - 1) };
        let (lo, hi) = (self.lo, self.hi);
        let (trace, outputs, lookups) = unary_trace(inputs, self.io.log_height, Air::width(self), |x| {
            let (i, r, below, above) = self.split(x);
            // Padding rows (and only they: inputs were checked above) may miss the table: they
            // look nothing up, and their entries are zeros.
            let (c, rr, y) = self.apply(table, x).unwrap_or((i, r, 0));
            let (t0, t1) = table.entry(c).unwrap_or((0, 0));
            let xs = i128::from(x) << self.shift_in;
            let e = if below {
                (i128::from(lo) << self.k) - 1 - xs
            } else if above {
                xs - (i128::from(hi + 1) << self.k)
            } else {
                0
            } as u64;
            let q = ((i128::from(t1) - i128::from(t0)) * i128::from(rr) + half - ((i128::from(y) - i128::from(t0)) << self.k)) as u64;
            let mut rest = vec![
                F::from_i64(i),
                F::from_i64(r),
                F::from_bool(below),
                F::from_bool(above),
                F::from_i64(c),
                F::from_i64(rr),
                F::from_u64(e),
                F::from_u64(q),
                F::from_i64(t0),
                F::from_i64(t1),
            ];
            rest.extend(byte_limbs(r as u64, nk));
            rest.extend(byte_limbs(e, ne));
            rest.extend(byte_limbs(q, nk));
            rest.extend(byte_limbs((y + off) as u64, ny));
            let mut lookups = range_lookups(r as u64, self.k as usize);
            lookups.extend(range_lookups(e, self.e_bits() as usize));
            lookups.extend(range_lookups(q, self.k as usize));
            lookups.extend(range_lookups((y + off) as u64, self.out_bits as usize));
            UnaryRow { y, rest, lookups }
        });
        Ok((trace, outputs, lookups, looked_up))
    }
}

impl Air for Lut {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        LIMBS + self.limbs().iter().sum::<usize>()
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        Some(self.io.preprocessed_trace())
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let (x, y) = self.io.eval(b);
        let active = b.prep(crate::chips::unary::P_ACTIVE);
        let [i, r, below, above, c, rr, e, q, t0, t1] = [I, R, BELOW, ABOVE, C, RR, E, Q, T0, T1].map(|col| b.main(col));
        let two_k = F::from_u64(1 << self.k);
        let xs = x * F::from_u64(1 << self.shift_in);
        b.assert_zero("x 2^s = i 2^k + r", xs.clone() - i.clone() * two_k - r.clone());
        b.assert_bool("below is a bit", below.clone());
        b.assert_bool("above is a bit", above.clone());
        b.assert_zero("not below and above", below.clone() * above.clone());
        if !self.clamp_low {
            b.assert_zero("no clamp below", below.clone());
        }
        if !self.clamp_high {
            b.assert_zero("no clamp above", above.clone());
        }
        let (lo, hi) = (F::from_i64(self.lo), F::from_i64(self.hi));
        b.assert_zero(
            "c is i or the clamped end",
            c.clone() - i.clone() - below.clone() * (B::Var::from(lo) - i.clone()) - above.clone() * (B::Var::from(hi) - i),
        );
        b.assert_zero("rr is r unless clamped", rr.clone() - r.clone() + (below.clone() + above.clone()) * r.clone());
        let lo_k = F::from_i64(self.lo) * two_k - F::ONE;
        let hi_k = F::from_i64(self.hi + 1) * two_k;
        b.assert_zero("e is the clamp's distance", e.clone() - below * (B::Var::from(lo_k) - xs.clone()) - above * (xs - hi_k));
        let half = if self.k == 0 { F::ZERO } else { F::from_u64(1 << (self.k - 1)) };
        b.assert_zero("interpolation", (t1.clone() - t0.clone()) * rr + half - (y.clone() - t0.clone()) * two_k - q.clone());
        b.send(self.table_bus, &[c, t0, t1], active);
        let [nr, ne, nq, ny] = self.limbs();
        let mut at = LIMBS;
        let mut take = |n: usize| {
            let v: Vec<B::Var> = (at..at + n).map(|col| b.main(col)).collect();
            at += n;
            v
        };
        let (lr, le, lq, ly) = (take(nr), take(ne), take(nq), take(ny));
        assert_in_range(b, "r is its limbs", r, &lr, self.k as usize);
        assert_in_range(b, "e is its limbs", e, &le, self.e_bits() as usize);
        assert_in_range(b, "q is its limbs", q, &lq, self.k as usize);
        let off = F::from_u64(1 << (self.out_bits - 1));
        assert_in_range(b, "y + 2^(out-1) is its limbs", y + off, &ly, self.out_bits as usize);
    }
}
