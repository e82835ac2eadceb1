//! The CPU DEEP composition: chunks of points in parallel, one base-field batch inversion each.

use p3_field::{Field, PrimeCharacteristicRing};
use p3_matrix::Matrix;
use p3_maybe_rayon::prelude::*;
use sigil_air::field::{ef_from_base, ef_to_base};
use sigil_air::EF;
use sigil_air::F;
use sigil_verifier::protocol::omega;

use super::CpuBackend;
use crate::backend::{DeepInputs, DeepOps};

impl DeepOps for CpuBackend {
    fn deep_codeword(&self, inputs: &DeepInputs<'_>) -> Vec<EF> {
        deep_codeword(inputs)
    }
}

/// The DEEP codeword of one table over its LDE domain, in chunks of points that share one
/// batch inversion.
fn deep_codeword(inputs: &DeepInputs<'_>) -> Vec<EF> {
    let &DeepInputs { mats, cz, czg, a_z, a_zg, z, zg, log_lde, shift } = inputs;
    const CHUNK: usize = 1 << 12;
    let n = 1usize << log_lde;
    let w = omega(log_lde);
    let s_sum = z + zg;
    let p_prod = z * zg;
    let mut out = vec![EF::ZERO; n];
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, chunk)| {
        let start = c * CHUNK;
        let len = chunk.len();
        // The points of this chunk and d = (x - z)(x - zg) = x^2 - x (z + zg) + z zg.
        let mut xs = Vec::with_capacity(len);
        let mut x = shift * w.exp_u64(start as u64);
        for _ in 0..len {
            xs.push(x);
            x *= w;
        }
        let dens: Vec<EF> = xs.iter().map(|&x| p_prod - s_sum * x + EF::from(x.square())).collect();
        // 1 / d = conj(d) / N(d) with N(d0 + d1 X) = d0^2 - 7 d1^2: one base-field batch
        // inversion (Montgomery's trick) per chunk.
        let norms: Vec<F> = dens
            .iter()
            .map(|d| {
                let [d0, d1] = ef_to_base(*d);
                d0.square() - d1.square() * F::from_u8(7)
            })
            .collect();
        let mut prefix = Vec::with_capacity(len);
        let mut acc = F::ONE;
        for &v in &norms {
            prefix.push(acc);
            acc *= v;
        }
        let mut inv_acc = acc.inverse();
        for i in (0..len).rev() {
            let ni = inv_acc * prefix[i];
            inv_acc *= norms[i];
            let [d0, d1] = ef_to_base(dens[i]);
            let inv_d = ef_from_base([d0 * ni, -(d1 * ni)]);
            let row = start + i;
            let mut a = EF::ZERO;
            let mut b = EF::ZERO;
            let mut k = 0;
            for m in mats {
                let wd = m.width();
                for &v in &m.values[row * wd..(row + 1) * wd] {
                    a += cz[k] * v;
                    if let Some(c) = czg.get(k) {
                        b += *c * v;
                    }
                    k += 1;
                }
            }
            let x = EF::from(xs[i]);
            chunk[i] = ((a - a_z) * (x - zg) + (b - a_zg) * (x - z)) * inv_d;
        }
    });
    out
}
