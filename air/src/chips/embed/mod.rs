//! Rows of a constant table selected by computed indices: an embedding (Gather of a weight
//! matrix by token ids). Output element `r` is `W[x_r * stride + c_r]`, where `x_r` (the id)
//! is read from the input's bus and `c_r` (the element's place in the row) is preprocessed.
//!
//! Two chips: an [`EmbedTable`] holds `(k, W[k])` for every key `k < |W|` in preprocessed
//! columns and receives each as often as it is looked up (its one main column); an [`Embed`]
//! chip (one per node, as its [`UnaryIo`] says) receives `(at_r, x)`, sends `(x stride + c_r,
//! y)` to the table and `(r, y)` on its output bus.
//!
//! # Soundness
//! The producer bounds `|x| < 2^in_bits`, and [`Embed::new`] requires `2^in_bits stride +
//! stride < p/2`, so `x stride + c_r` is an integer below `p/2` in magnitude with `0 <= c_r <
//! stride`. The table holds the keys `0..|W|` only, with `|W| = ids * stride`: a key found
//! there is `x stride + c_r` with `0 <= x < ids`, which fixes `x` (the one id of the row) and
//! `y = W[x stride + c_r]`, the executor's element. An id outside `0..ids` (negative ids are
//! not wrapped as ONNX wraps them) has no key: no trace proves it.

use alloc::string::String;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder, BusId};
use crate::chips::unary::{UnaryIo, UnaryPrep};
use crate::field::{F, P};
use crate::trace::Trace;

#[cfg(test)]
mod tests;

/// The table: `(k, W[k])` on row `k`; rows past the last key repeat it.
#[derive(Clone, Debug)]
pub struct EmbedTable {
    pub name: String,
    pub bus: BusId,
    /// `W`, flattened: `ids * stride` entries.
    pub entries: Vec<i64>,
    pub log_height: usize,
}

impl EmbedTable {
    /// The multiplicity column for lookups of the keys `looked_up`.
    pub fn generate_trace(&self, looked_up: impl IntoIterator<Item = u64>) -> Trace {
        let mut counts = alloc::vec![0u64; 1 << self.log_height];
        for k in looked_up {
            if let Some(c) = usize::try_from(k).ok().and_then(|k| counts.get_mut(k)) {
                *c += 1;
            }
        }
        Trace::new(counts.into_iter().map(F::from_u64).collect(), 1)
    }

    /// Bits `b` with every `|W[k]| < 2^b`.
    pub fn bits(&self) -> u32 {
        64 - self.entries.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0).leading_zeros()
    }
}

impl Air for EmbedTable {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        1
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        let h = 1usize << self.log_height;
        let last = self.entries.len().saturating_sub(1);
        let mut v = Vec::with_capacity(2 * h);
        for k in 0..h {
            let k = k.min(last);
            v.extend_from_slice(&[F::from_usize(k), F::from_i64(self.entries.get(k).copied().unwrap_or(0))]);
        }
        Some(Trace::new(v, 2))
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let (k, w) = (b.prep(0), b.prep(1));
        let m = b.main(0);
        b.receive(self.bus, &[k, w], m);
    }
}

/// One Gather of table rows by computed ids.
#[derive(Clone, Debug)]
pub struct Embed {
    pub name: String,
    /// The row length: id `x` selects keys `x stride .. (x + 1) stride`.
    pub stride: u64,
    /// `c_r < stride` for each element.
    pub offsets: Vec<u64>,
    /// `|x| < 2^in_bits`, as the producer proves.
    pub in_bits: u32,
    pub table_bus: BusId,
    pub io: UnaryIo,
}

/// An embedding the field cannot hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbedBoundError;

impl core::fmt::Display for EmbedBoundError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "the embedding's keys may pass the field")
    }
}

impl Embed {
    /// The chip, if its keys cannot wrap (see the module's docs).
    pub fn new(name: impl Into<String>, stride: u64, offsets: Vec<u64>, in_bits: u32, table_bus: BusId, io: UnaryIo) -> Result<Self, EmbedBoundError> {
        let bound = (1u128 << in_bits.min(100)) * u128::from(stride) + u128::from(stride);
        if stride == 0 || in_bits > 62 || bound >= u128::from(P / 2) || offsets.iter().any(|&c| c >= stride) {
            return Err(EmbedBoundError);
        }
        Ok(Self { name: name.into(), stride, offsets, in_bits, table_bus, io })
    }

    /// The preprocessed column after the unary ones.
    fn offset_column(&self) -> usize {
        UnaryPrep::<usize>::WIDTH - usize::from(self.io.in_index.is_none())
    }

    /// The key element `r` with id `x` looks up.
    fn key(&self, r: usize, x: i64) -> Option<u64> {
        u64::try_from(x).ok()?.checked_mul(self.stride)?.checked_add(self.offsets[r])
    }

    /// The trace for the ids (element `r` on row `r`), the outputs and the keys looked up; an id
    /// outside the table is an error naming its element.
    #[allow(clippy::type_complexity)]
    pub fn generate_trace(&self, table: &EmbedTable, ids: &[i64]) -> Result<(Trace, Vec<i64>, Vec<u64>), usize> {
        let mut keys = Vec::with_capacity(ids.len());
        for (r, &x) in ids.iter().enumerate() {
            let k = self.key(r, x).filter(|&k| k < table.entries.len() as u64).ok_or(r)?;
            keys.push(k);
        }
        let mut trace = Trace::new(alloc::vec![F::ZERO; 2 << self.io.log_height], 2);
        let mut outputs = Vec::with_capacity(ids.len());
        for (r, (&x, &k)) in ids.iter().zip(&keys).enumerate() {
            let y = table.entries[k as usize];
            trace.set(r, crate::chips::unary::X, F::from_i64(x));
            trace.set(r, crate::chips::unary::Y, F::from_i64(y));
            outputs.push(y);
        }
        Ok((trace, outputs, keys))
    }
}

impl Air for Embed {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        2
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        let io = self.io.preprocessed_trace();
        let (h, w) = (1usize << self.io.log_height, io.width);
        let mut v = Vec::with_capacity((w + 1) * h);
        for r in 0..h {
            v.extend_from_slice(&io.values[r * w..(r + 1) * w]);
            v.push(F::from_u64(self.offsets.get(r).copied().unwrap_or(0)));
        }
        Some(Trace::new(v, w + 1))
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let (x, y) = self.io.eval(b);
        let active = b.prep(crate::chips::unary::P_ACTIVE);
        let c = b.prep(self.offset_column());
        b.send(self.table_bus, &[x * F::from_u64(self.stride) + c, y], active);
    }
}
