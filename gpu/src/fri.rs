//! FRI folding and the DEEP composition on the device, in parts that fit one binding.

use p3_field::{Field, PrimeCharacteristicRing};
use p3_maybe_rayon::prelude::*;
use sigil_air::{EF, F};
use sigil_prover::Lde;
use sigil_verifier::protocol::omega;

use crate::words::{ef_of, ef_words, ef_words_of, f_words, words_of};
use crate::{Gpu, GpuError};

/// Bytes of an extension element on the device.
const EXT: u64 = 16;

/// The fold kernel's parameters: `half` outputs, the first `split` into the first output
/// buffer, `c = (2 x_0)^-1`, `w^-1`, `beta`.
fn fold_params(half: usize, split: usize, c: F, w_inv: F, beta: EF) -> Vec<u32> {
    let mut p = vec![half as u32, split as u32];
    p.extend(f_words(c));
    p.extend(f_words(w_inv));
    p.extend([0, 0]);
    p.extend(ef_words(beta));
    p.extend(f_words(F::TWO.inverse()));
    p.extend([0, 0]);
    p
}

impl Gpu {
    /// The CPU backend's `fold`: evaluations over `shift * H` (size `N`) folded with `beta`
    /// into evaluations over `shift^2 * H^2`.
    pub fn fold(&self, evals: &[EF], beta: EF, shift: F) -> Result<Vec<EF>, GpuError> {
        let n = evals.len();
        if n < 2 || !n.is_power_of_two() {
            return Err(GpuError::Input(format!("folding {n} evaluations: a power of two, at least 2")));
        }
        let half = n / 2;
        let w_inv = omega(n.trailing_zeros() as usize).inverse();
        let inv_two_shift = shift.double().inverse();
        let part = self.max_items(EXT).min(half);
        let mut out = Vec::with_capacity(half);
        let mut j0 = 0;
        while j0 < half {
            let k = part.min(half - j0);
            let lo = self.upload("fold low half", &ef_words_of(&evals[j0..j0 + k]))?;
            let hi = self.upload("fold high half", &ef_words_of(&evals[half + j0..half + j0 + k]))?;
            let res = self.zeroed("folded", EXT * k as u64)?;
            // The part's first point: shift * w^j0, so (2x)^-1 = (2 shift w^j0)^-1 w^-j.
            let c = inv_two_shift * w_inv.exp_u64(j0 as u64);
            let p = fold_params(k, k, c, w_inv, beta);
            let unused = self.zeroed("unused", 16)?;
            let mut enc = self.encoder("fri fold");
            self.dispatch(&mut enc, &self.kernels.fold, &[&lo, &hi, &res, &unused], &p, k);
            let words = self.finish(enc, &[(&res, EXT * k as u64)])?;
            out.par_extend(words[0].par_chunks_exact(4).map(ef_of));
            j0 += k;
        }
        Ok(out)
    }

    /// `rounds` folds in a row (`beta`, `shift` squared after each), on the device from the
    /// first upload to the last read-back. A codeword larger than one binding folds through
    /// [`Gpu::fold`], round by round.
    pub fn fold_rounds(&self, evals: &[EF], beta: EF, shift: F, rounds: usize) -> Result<Vec<EF>, GpuError> {
        let n = evals.len();
        if rounds == 0 {
            return Ok(evals.to_vec());
        }
        if !n.is_power_of_two() || n < 1 << rounds {
            return Err(GpuError::Input(format!("folding {n} evaluations {rounds} times")));
        }
        if EXT * n as u64 > self.binding_limit() {
            let (mut f, mut b, mut s) = (evals.to_vec(), beta, shift);
            for _ in 0..rounds {
                f = self.fold(&f, b, s)?;
                (b, s) = (b.square(), s.square());
            }
            return Ok(f);
        }
        let half = n / 2;
        let mut lo = self.upload("fold low half", &ef_words_of(&evals[..half]))?;
        let mut hi = self.upload("fold high half", &ef_words_of(&evals[half..]))?;
        let (mut b, mut s, mut len) = (beta, shift, n);
        let mut enc = self.encoder("fri folds");
        for r in 0..rounds {
            let h = len / 2;
            let w_inv = omega(len.trailing_zeros() as usize).inverse();
            let c = s.double().inverse();
            if r + 1 == rounds {
                let out = self.zeroed("folded", EXT * h as u64)?;
                let unused = self.zeroed("unused", 16)?;
                self.dispatch(&mut enc, &self.kernels.fold, &[&lo, &hi, &out, &unused], &fold_params(h, h, c, w_inv, b), h);
                let words = self.finish(enc, &[(&out, EXT * h as u64)])?;
                return Ok(words[0].par_chunks_exact(4).map(ef_of).collect());
            }
            // The output's halves are the next fold's inputs.
            let (next_lo, next_hi) = (self.zeroed("fold low half", EXT * (h / 2) as u64)?, self.zeroed("fold high half", EXT * (h / 2) as u64)?);
            self.dispatch(&mut enc, &self.kernels.fold, &[&lo, &hi, &next_lo, &next_hi], &fold_params(h, h / 2, c, w_inv, b), h);
            (lo, hi) = (next_lo, next_hi);
            (b, s, len) = (b.square(), s.square(), h);
        }
        Err(GpuError::Input("no fold".into()))
    }

    /// The CPU backend's `deep_codeword`: `(sum cz_c p_c(x) - a_z) / (x - z) + (sum czg_c
    /// p_c(x) - a_zg) / (x - z g)` at the `2^log_lde` points `shift * w^i`.
    #[allow(clippy::too_many_arguments)]
    pub fn deep_codeword(&self, mats: &[&Lde], cz: &[EF], czg: &[EF], a_z: EF, a_zg: EF, z: EF, zg: EF, log_lde: usize, shift: F) -> Result<Vec<EF>, GpuError> {
        let n = 1usize << log_lde;
        let total: usize = mats.iter().map(|m| m.width).sum();
        if cz.len() != total || czg.len() > total {
            return Err(GpuError::Input(format!("{} and {} DEEP coefficients for {total} columns", cz.len(), czg.len())));
        }
        for m in mats {
            if m.values.len() != n * m.width {
                return Err(GpuError::Input(format!("a {}-element matrix of width {} over a domain of {n} points", m.values.len(), m.width)));
            }
        }
        // Per column (cz, czg), czg zero past its end: adding 0 changes nothing.
        let coeffs: Vec<u32> = (0..total).flat_map(|k| ef_words(cz[k]).into_iter().chain(ef_words(czg.get(k).copied().unwrap_or(EF::ZERO)))).collect();
        let coeffs = self.upload("deep coefficients", &coeffs)?;
        let widest = mats.iter().map(|m| m.width).max().unwrap_or(1).max(1);
        let part = self.max_items(2 * EXT).min(self.max_items(8 * widest as u64)).min(n);
        let w = omega(log_lde);
        let mut out = Vec::with_capacity(n);
        let mut r0 = 0;
        while r0 < n {
            let k = part.min(n - r0);
            let acc = self.zeroed("deep sums", 2 * EXT * k as u64)?;
            let res = self.zeroed("deep codeword", EXT * k as u64)?;
            let params = |width: usize, first_col: usize, src_row0: usize| -> Vec<u32> {
                let mut p = vec![k as u32, r0 as u32, width as u32, first_col as u32, src_row0 as u32, 0, 0, 0];
                p.extend(f_words(shift));
                p.extend(f_words(w));
                for x in [z, zg, a_z, a_zg] {
                    p.extend(ef_words(x));
                }
                p
            };
            let mut enc = self.encoder("deep");
            let mut first_col = 0;
            let mut uploads = Vec::new();
            for m in mats {
                match self.resident(m) {
                    // Kept on the device: its rows r0 .. r0 + k, read where they are.
                    Some(d) => {
                        for g in &d.groups {
                            self.dispatch(&mut enc, &self.kernels.deep_accumulate, &[&g.buffer, &coeffs, &acc, &res], &params(g.width, first_col + g.col0, r0), k);
                        }
                    }
                    None if m.width > 0 => {
                        let words = words_of(&m.values[r0 * m.width..(r0 + k) * m.width]);
                        let data = self.upload("deep columns", &words)?;
                        self.dispatch(&mut enc, &self.kernels.deep_accumulate, &[&data, &coeffs, &acc, &res], &params(m.width, first_col, 0), k);
                        uploads.push(data);
                    }
                    None => {}
                }
                first_col += m.width;
            }
            let dummy = self.zeroed("unused", 8)?;
            self.dispatch(&mut enc, &self.kernels.deep_finish, &[&dummy, &coeffs, &acc, &res], &params(0, 0, 0), k);
            let words = self.finish(enc, &[(&res, EXT * k as u64)])?;
            out.par_extend(words[0].par_chunks_exact(4).map(ef_of));
            r0 += k;
        }
        Ok(out)
    }
}
