//! A row-major trace matrix.

use alloc::vec::Vec;

use crate::field::F;

/// A row-major matrix of base-field values: one chip's trace (or its fixed columns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// `height * width` values, row after row.
    pub values: Vec<F>,
    /// Number of columns.
    pub width: usize,
}

impl Trace {
    /// Wraps `values` as a matrix of `width` columns. `values.len()` must be a multiple of
    /// `width` (a zero-width trace has no rows).
    pub fn new(values: Vec<F>, width: usize) -> Self {
        debug_assert!(width == 0 || values.len().is_multiple_of(width));
        Self { values, width }
    }

    /// Number of rows.
    pub fn height(&self) -> usize {
        self.values.len().checked_div(self.width).unwrap_or(0)
    }

    /// Row `r` as a slice.
    pub fn row(&self, r: usize) -> &[F] {
        &self.values[r * self.width..(r + 1) * self.width]
    }

    /// Mutable row `r`.
    pub fn row_mut(&mut self, r: usize) -> &mut [F] {
        &mut self.values[r * self.width..(r + 1) * self.width]
    }

    /// The cell at row `r`, column `c`.
    pub fn get(&self, r: usize, c: usize) -> F {
        self.values[r * self.width + c]
    }

    /// Sets the cell at row `r`, column `c`.
    pub fn set(&mut self, r: usize, c: usize, v: F) {
        self.values[r * self.width + c] = v;
    }
}
