//! A chip of configurable width for benchmarks: column `i` evolves as
//! `c_i' = c_i + c_{i+1} * c_{i+2}` (indices mod the width).

use p3_field::PrimeCharacteristicRing;
use sigil_air::chips::SplitMix64;
use sigil_air::{Air, AirBuilder, F, Trace};

/// The chip.
#[derive(Clone, Copy, Debug)]
pub struct WideChip {
    pub width: usize,
}

impl Air for WideChip {
    fn name(&self) -> String {
        format!("wide{}", self.width)
    }
    fn width(&self) -> usize {
        self.width
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let w = self.width;
        for i in 0..w {
            let t = b.is_transition();
            let next = b.main_next(i) - b.main(i) - b.main((i + 1) % w) * b.main((i + 2) % w);
            b.assert_zero("column evolves", t * next);
        }
    }
}

impl WideChip {
    /// A trace of `2^log_n` rows from a seeded first row.
    pub fn generate_trace(&self, log_n: usize, seed: u64) -> Trace {
        let w = self.width;
        let mut rng = SplitMix64(seed);
        let mut row: Vec<F> = (0..w).map(|_| F::from_u64(rng.next_u64() >> 1)).collect();
        let mut values = Vec::with_capacity(w << log_n);
        for _ in 0..1usize << log_n {
            values.extend_from_slice(&row);
            row = (0..w).map(|i| row[i] + row[(i + 1) % w] * row[(i + 2) % w]).collect();
        }
        Trace::new(values, w)
    }
}
