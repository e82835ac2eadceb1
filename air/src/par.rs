//! Parallel loops for trace generation: on all cores with the `parallel` feature, in order
//! without it. Results are the same either way.

use alloc::vec::Vec;

/// `(0..n).map(f).collect()`, in parallel with the `parallel` feature.
#[cfg(feature = "parallel")]
pub fn map_range<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    use rayon::prelude::*;
    (0..n).into_par_iter().map(f).collect()
}

/// `(0..n).map(f).collect()`, in parallel with the `parallel` feature.
#[cfg(not(feature = "parallel"))]
pub fn map_range<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    (0..n).map(f).collect()
}
