//! Max pooling: `y_q = max_{j valid} X[src(q, j)]` for each output `q` over a window of `W`
//! taps (MaxPool, GlobalMaxPool; taps on the padding are skipped, as ONNX pads with -inf).
//!
//! # Layout
//! Rows come in blocks of `W`, one per output: row `r = q W + j` holds the tap `x` (read from
//! the producer of `X` over the bus), the block's output `y`, the difference `d = y - x` with
//! its byte limbs, and the running product `z` of `y - x` over the block's valid taps.
//! Preprocessed: the tap's source index, whether it is valid, the output's index and uses
//! (on the block's first row), and whether the row starts, continues or ends a block.
//!
//! # Soundness (field arithmetic equals integer arithmetic)
//! In a block `y` is constant, `z` ends at zero so `y` equals one of the valid taps, and every
//! valid `d = y - x` is in `[0, 2^bits)` by its limbs. The producer of `X` bounds
//! `|x| < 2^(bits-1)`, so `y - x` is an integer of magnitude below `2^bits < p/2`; its field
//! element lies in `[0, 2^bits)` only if that integer is non-negative. So `y` is a tap no
//! smaller than any tap: the maximum.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder, BusId};
use crate::chips::range::{assert_in_range, byte_limbs, n_limbs, range_lookups};
use crate::expr::FieldExpr;
use crate::field::F;
use crate::trace::Trace;

#[cfg(test)]
mod tests;

crate::columns! {
    /// Main columns; the limbs of `d` follow from [`LIMBS`].
    pub struct MaxpoolCols { x, y, d, z, limbs }
}
pub const X: usize = MaxpoolCols::INDEX.x;
pub const Y: usize = MaxpoolCols::INDEX.y;
pub const D: usize = MaxpoolCols::INDEX.d;
pub const Z: usize = MaxpoolCols::INDEX.z;
pub const LIMBS: usize = MaxpoolCols::INDEX.limbs;
crate::columns! {
    /// Preprocessed columns.
    pub struct MaxpoolPrep { src, valid, out, uses, start, cont, end, width }
}
const P_SRC: usize = MaxpoolPrep::INDEX.src;
const P_VALID: usize = MaxpoolPrep::INDEX.valid;
const P_OUT: usize = MaxpoolPrep::INDEX.out;
const P_USES: usize = MaxpoolPrep::INDEX.uses;
const P_START: usize = MaxpoolPrep::INDEX.start;
const P_CONT: usize = MaxpoolPrep::INDEX.cont;
const P_END: usize = MaxpoolPrep::INDEX.end;
const P_WIDTH: usize = MaxpoolPrep::INDEX.width;

/// The max-pooling chip.
#[derive(Clone, Debug)]
pub struct MaxPool {
    pub name: String,
    /// `W`: taps per window.
    pub window: usize,
    /// `src[q W + j]`: the input element under tap `j` of output `q`, or none (padding).
    /// Every window has at least one valid tap.
    pub src: Vec<Option<u32>>,
    /// `uses[q]`: how many consumers read output `q`.
    pub uses: Vec<u32>,
    /// Inputs satisfy `|x| < 2^(bits-1)`; differences are checked below `2^bits`.
    pub bits: u32,
    pub in_bus: BusId,
    pub out_bus: BusId,
    pub log_height: usize,
}

impl MaxPool {
    /// The number of outputs.
    pub fn outputs(&self) -> usize {
        self.uses.len()
    }

    /// The smallest height for `outputs` windows of `window` taps (at least 4 rows).
    pub fn min_log_height(outputs: usize, window: usize) -> usize {
        crate::chips::unary::log_rows(outputs * window)
    }

    /// The outputs for the input tensor `x`.
    pub fn reference(&self, x: &[i64]) -> Vec<i64> {
        (0..self.outputs())
            .map(|q| self.src[q * self.window..(q + 1) * self.window].iter().flatten().map(|&s| x[s as usize]).max().unwrap_or(0))
            .collect()
    }

    /// The trace for the input tensor `x`, the outputs, and the values its range checks look
    /// up.
    pub fn generate_trace(&self, x: &[i64]) -> (Trace, Vec<i64>, Vec<F>) {
        let y = self.reference(x);
        let (h, w, nl) = (1usize << self.log_height, self.window, n_limbs(self.bits as usize));
        let width = Air::width(self);
        let rows: Vec<(Vec<F>, Vec<F>)> = crate::par::map_range(h, |r| {
            let mut row = vec![F::ZERO; width];
            let mut d = 0;
            if r / w < self.outputs() {
                let yq = y[r / w];
                row[Y] = F::from_i64(yq);
                if let Some(s) = self.src[r] {
                    let xv = x[s as usize];
                    d = (yq - xv) as u64;
                    row[X] = F::from_i64(xv);
                    row[D] = F::from_u64(d);
                    row[LIMBS..].copy_from_slice(&byte_limbs(d, nl));
                }
            }
            (row, range_lookups(d, self.bits as usize))
        });
        // The running product, block by block.
        let mut values = Vec::with_capacity(h * width);
        let mut all = Vec::new();
        let mut z = F::ONE;
        for (r, (mut row, l)) in rows.into_iter().enumerate() {
            let (q, j) = (r / w, r % w);
            let f = if q < self.outputs() && self.src[r].is_some() { row[Y] - row[X] } else { F::ONE };
            z = if j == 0 { f } else { z * f };
            row[Z] = z;
            values.extend(row);
            all.extend(l);
        }
        (Trace::new(values, width), y, all)
    }
}

impl Air for MaxPool {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        LIMBS + n_limbs(self.bits as usize)
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        let (h, w) = (1usize << self.log_height, self.window);
        let mut v = vec![F::ZERO; h * P_WIDTH];
        for r in 0..h.min(self.outputs() * w) {
            let (q, j) = (r / w, r % w);
            let row = &mut v[r * P_WIDTH..(r + 1) * P_WIDTH];
            if let Some(s) = self.src[r] {
                row[P_SRC] = F::from_u32(s);
                row[P_VALID] = F::ONE;
            }
            if j == 0 {
                row[P_OUT] = F::from_usize(q);
                row[P_USES] = F::from_u32(self.uses[q]);
                row[P_START] = F::ONE;
            } else {
                row[P_CONT] = F::ONE;
            }
            row[P_END] = F::from_bool(j == w - 1);
        }
        Some(Trace::new(v, P_WIDTH))
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let (x, y, d, z) = (b.main(X), b.main(Y), b.main(D), b.main(Z));
        let one = B::Var::lit(1);
        let valid = b.prep(P_VALID);
        b.receive(self.in_bus, &[b.prep(P_SRC), x.clone()], valid.clone());
        b.send(self.out_bus, &[b.prep(P_OUT), y.clone()], b.prep(P_USES));
        b.assert_zero("x is 0 on padding taps", x.clone() * (one.clone() - valid.clone()));
        b.assert_zero("d is y - x on valid taps, else 0", d.clone() - valid.clone() * (y.clone() - x.clone()));
        let limbs: Vec<B::Var> = (0..n_limbs(self.bits as usize)).map(|i| b.main(LIMBS + i)).collect();
        assert_in_range(b, "d is its limbs", d, &limbs, self.bits as usize);
        // The factor of a row: y - x on valid taps, 1 on the others.
        let factor = one.clone() + valid * (y.clone() - x - one);
        let (x_n, y_n, z_n, valid_n) = (b.main_next(X), b.main_next(Y), b.main_next(Z), b.prep_next(P_VALID));
        let factor_n = B::Var::lit(1) + valid_n * (y_n.clone() - x_n - B::Var::lit(1));
        let cont_n = b.prep_next(P_CONT);
        b.assert_zero("z starts with the first factor", b.prep(P_START) * (z.clone() - factor));
        b.assert_zero("z multiplies each factor", cont_n.clone() * (z_n - z.clone() * factor_n));
        b.assert_zero("y is constant in a window", cont_n * (y_n - y));
        b.assert_zero("z ends at zero: y is a tap", b.prep(P_END) * z);
    }
}
