//! Batched NTTs over the columns of a matrix: coset LDE, interpolation and evaluation, the
//! same values as the CPU backend's p3-dft in the same (natural) order. Matrices larger than
//! one binding go through in groups of columns.

use std::sync::Arc;

use p3_field::{Field, PrimeCharacteristicRing};
use p3_matrix::dense::RowMajorMatrix;
use p3_maybe_rayon::prelude::*;
use sigil_air::F;
use sigil_verifier::protocol::omega;

use crate::words::{f_words, from_words, words_of};
use crate::{Gpu, GpuError};

/// What a transform computes from the columns of an `n`-row matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transform {
    /// Evaluations over `H` (order `n`) in, evaluations over `shift * K` (`|K| = n << log_blowup`) out.
    Lde { log_blowup: usize, shift: F },
    /// Evaluations over `shift * H` in, coefficients (lowest first) out.
    Interpolate { shift: F },
    /// Coefficients in, evaluations over `shift * H` out.
    Evaluate { shift: F },
}

impl Transform {
    fn log_out(&self, log_n: usize) -> usize {
        match *self {
            Transform::Lde { log_blowup, .. } => log_n + log_blowup,
            _ => log_n,
        }
    }
}

/// `a^0, a^1, ..., a^(n-1)` times `c`.
fn powers(a: F, c: F, n: usize) -> Vec<F> {
    let mut out = Vec::with_capacity(n);
    let mut x = c;
    for _ in 0..n {
        out.push(x);
        x *= a;
    }
    out
}

/// Stages of one NTT pass: a workgroup holds 2^10 elements (`shaders/ntt.wgsl`).
pub const NTT_PASS_STAGES: usize = 10;

/// Columns `col0 .. col0 + width` of a matrix, row-major in one buffer.
#[derive(Debug)]
pub(crate) struct ColumnGroup {
    pub col0: usize,
    pub width: usize,
    pub buffer: wgpu::Buffer,
}

/// A matrix kept on the device (the copy of an [`sigil_prover::Lde`]), in groups of columns.
#[derive(Debug)]
pub struct DeviceMatrix {
    /// The [`Gpu`] context it lives on.
    pub(crate) context: usize,
    pub(crate) rows: usize,
    pub(crate) width: usize,
    pub(crate) groups: Vec<ColumnGroup>,
}

impl DeviceMatrix {
    /// Bytes on the device.
    pub fn bytes(&self) -> u64 {
        8 * (self.rows * self.width) as u64
    }
}


const BITREV: u32 = 1;
const SCALE: u32 = 2;

impl Gpu {
    /// `w^j` (or `w^-j` when `inverse`) for `j < max(1, 2^log_n / 2)`, `w` of order `2^log_n`,
    /// kept on the device for later calls.
    fn twiddles(&self, log_n: usize, inverse: bool) -> Result<Arc<wgpu::Buffer>, GpuError> {
        let mut cache = self.twiddles.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = cache.get(&(log_n, inverse)) {
            return Ok(b.clone());
        }
        let w = omega(log_n);
        let w = if inverse { w.inverse() } else { w };
        let half = (1usize << log_n) / 2;
        let table = powers(w, F::ONE, half.max(1));
        let buf = Arc::new(self.upload(if inverse { "inverse twiddles" } else { "twiddles" }, &words_of(&table))?);
        cache.insert((log_n, inverse), buf.clone());
        Ok(buf)
    }

    /// The radix-2 decimation-in-time stages over bit-reversed columns of `data` (`2^log_n`
    /// rows, `width` columns), in place: [`NTT_PASS_STAGES`] stages per pass in workgroup
    /// memory, or one stage per pass ([`Gpu::use_blocked_ntt`]).
    pub(crate) fn dit(&self, enc: &mut wgpu::CommandEncoder, data: &wgpu::Buffer, log_n: usize, width: usize, inverse: bool) -> Result<(), GpuError> {
        if log_n == 0 || width == 0 {
            return Ok(());
        }
        let tw = self.twiddles(log_n, inverse)?;
        if !self.blocked_ntt {
            let n = 1usize << log_n;
            for s in 0..log_n {
                let half = 1usize << s;
                let count = n / 2 * width;
                self.dispatch(enc, &self.kernels.butterfly, &[data, &tw], &[half as u32, (n / (2 * half)) as u32, width as u32, count as u32], count);
            }
            return Ok(());
        }
        let mut s = 0;
        while s < log_n {
            let k = NTT_PASS_STAGES.min(log_n - s);
            let groups = width << (log_n - k);
            self.dispatch_groups(enc, &self.kernels.ntt_pass, &[data, &tw], &[log_n as u32, s as u32, k as u32, width as u32, groups as u32], groups);
            s += k;
        }
        Ok(())
    }

    /// Moves `rows x width` elements of `src` into `dst` (bit-reversing the row index over
    /// `log_dst` bits and scaling row `i` by `scale[i]` when given).
    #[allow(clippy::too_many_arguments)]
    fn scatter(&self, enc: &mut wgpu::CommandEncoder, src: &wgpu::Buffer, dst: &wgpu::Buffer, rows: usize, width: usize, log_dst: usize, bitrev: bool, scale: Option<&[F]>) -> Result<(), GpuError> {
        let (flags, scale_buf) = match scale {
            Some(s) => (SCALE, self.upload("scale", &words_of(s))?),
            None => (0, self.zeroed("no scale", 8)?),
        };
        let flags = flags | if bitrev { BITREV } else { 0 };
        let count = rows * width;
        self.dispatch(enc, &self.kernels.scatter, &[src, dst, &scale_buf], &[count as u32, width as u32, log_dst as u32, flags], count);
        Ok(())
    }

    /// One column group (`cols`: `n x width`, row-major words) through `t`: the result's
    /// words, and its buffer on the device.
    fn transform_group(&self, words: &[u32], log_n: usize, width: usize, t: Transform) -> Result<(Vec<u32>, wgpu::Buffer), GpuError> {
        let n = 1usize << log_n;
        let log_out = t.log_out(log_n);
        let out_bytes = 8 * (width << log_out) as u64;
        let input = self.upload("ntt input", words)?;
        let a = self.zeroed("ntt work", 8 * (n * width) as u64)?;
        let mut enc = self.encoder("ntt");
        let n_inv = F::from_usize(n).inverse();
        let result = match t {
            Transform::Lde { shift, .. } => {
                self.scatter(&mut enc, &input, &a, n, width, log_n, true, None)?;
                self.dit(&mut enc, &a, log_n, width, true)?;
                let c = self.zeroed("lde", out_bytes)?;
                // Coefficient i times shift^i / n, bit-reversed over the larger domain.
                self.scatter(&mut enc, &a, &c, n, width, log_out, true, Some(&powers(shift, n_inv, n)))?;
                self.dit(&mut enc, &c, log_out, width, false)?;
                c
            }
            Transform::Interpolate { shift } => {
                self.scatter(&mut enc, &input, &a, n, width, log_n, true, None)?;
                self.dit(&mut enc, &a, log_n, width, true)?;
                let c = self.zeroed("coefficients", out_bytes)?;
                self.scatter(&mut enc, &a, &c, n, width, log_n, false, Some(&powers(shift.inverse(), n_inv, n)))?;
                c
            }
            Transform::Evaluate { shift } => {
                self.scatter(&mut enc, &input, &a, n, width, log_n, true, Some(&powers(shift, F::ONE, n)))?;
                self.dit(&mut enc, &a, log_n, width, false)?;
                a
            }
        };
        let words = self.finish(enc, &[(&result, out_bytes)])?.pop().unwrap_or_default();
        Ok((words, result))
    }

    /// Applies `t` to every column of `m` (its height a power of two), in groups of columns
    /// that fit one binding.
    pub fn transform(&self, m: &RowMajorMatrix<F>, t: Transform) -> Result<RowMajorMatrix<F>, GpuError> {
        Ok(self.transform_resident(m, t)?.0)
    }

    /// [`Gpu::transform`], keeping the result on the device too.
    pub(crate) fn transform_resident(&self, m: &RowMajorMatrix<F>, t: Transform) -> Result<(RowMajorMatrix<F>, DeviceMatrix), GpuError> {
        let width = m.width;
        let n = m.values.len().checked_div(width).unwrap_or(0);
        if !n.is_power_of_two() {
            return Err(GpuError::Input(format!("a matrix of height {n}: transforms need a power of two")));
        }
        let log_n = n.trailing_zeros() as usize;
        let log_out = t.log_out(log_n);
        let rows_out = 1usize << log_out;
        // Columns per group: the output (the largest buffer) fits one binding.
        let per_group = self.max_items(8 * rows_out as u64).min(width);
        if (8 * rows_out as u64) > self.binding_limit() {
            return Err(GpuError::TooLarge { bytes: 8 * rows_out as u64, limit: self.binding_limit() });
        }
        let mut out = vec![F::ZERO; rows_out * width];
        let mut groups = Vec::new();
        let mut c0 = 0;
        while c0 < width {
            let g = per_group.min(width - c0);
            let words = if g == width {
                words_of(&m.values)
            } else {
                (0..n).flat_map(|r| &m.values[r * width + c0..r * width + c0 + g]).flat_map(|&x| f_words(x)).collect()
            };
            let (res, buf) = self.transform_group(&words, log_n, g, t)?;
            out.par_chunks_mut(width).zip(res.par_chunks(2 * g)).for_each(|(o, row)| {
                for (o, w) in o[c0..c0 + g].iter_mut().zip(row.chunks_exact(2)) {
                    *o = from_words(w);
                }
            });
            groups.push(ColumnGroup { col0: c0, width: g, buffer: buf });
            c0 += g;
        }
        let dm = DeviceMatrix { context: self.id, rows: rows_out, width, groups };
        Ok((RowMajorMatrix::new(out, width), dm))
    }
}
