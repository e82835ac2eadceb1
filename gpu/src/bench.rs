//! Kernel throughput for `sigil bench` and the criterion benches: each kernel on data already
//! on the device (uploaded once, outside the timing), repeated and waited for, beside the CPU
//! backend's same operation on the same data. The memory floor of a kernel is the bytes it
//! must read and write once, at the bandwidth the caller gives.

use std::time::{Duration, Instant};

use p3_field::{PrimeCharacteristicRing, PrimeField64};
use p3_matrix::dense::RowMajorMatrix;
use p3_maybe_rayon::prelude::*;
use sigil_air::field::ef_from_base;
use sigil_air::{EF, F};
use sigil_prover::CpuBackend;
use sigil_prover::backend::{DeepInputs, DeepOps, FriOps, MerkleOps, NttOps, QuotientInputs, QuotientOps};
use sigil_prover::cpu::lanes;
use sigil_verifier::hash::{Digest, KEY_LEAF, KEY_NODE};

use crate::words::{key_words, words_of};
use crate::{Gpu, GpuError};

/// Columns of the benched matrices (a typical trace's width).
pub const BENCH_WIDTH: usize = 8;

/// One kernel's figures.
#[derive(Clone, Debug)]
pub struct KernelFigures {
    pub kernel: &'static str,
    /// What one run processes, in words.
    pub size: String,
    /// Field elements (base) one run reads.
    pub elements: usize,
    /// Bytes one run must read and write at least once.
    pub bytes: u64,
    /// One run on the device, data resident.
    pub gpu: Duration,
    /// The CPU backend's same operation.
    pub cpu: Duration,
}

impl KernelFigures {
    /// Bytes per second the device reached against the kernel's minimum traffic.
    pub fn gpu_bandwidth(&self) -> f64 {
        self.bytes as f64 / self.gpu.as_secs_f64()
    }
}

/// The adapter's vendor, by PCI id.
pub fn vendor_name(id: u32) -> &'static str {
    match id {
        0x10de => "NVIDIA",
        0x1002 | 0x1022 => "AMD",
        0x8086 => "Intel",
        0x106b => "Apple",
        0x13b5 => "ARM",
        0x5143 => "Qualcomm",
        0x10005 => "Mesa",
        _ => "unknown",
    }
}

pub(crate) fn seeded(n: usize, seed: u64) -> Vec<F> {
    // SplitMix64: reproducible data without a dependency.
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            F::from_u64(z ^ (z >> 31))
        })
        .collect()
}

/// The best of `reps` runs of `f`, after one run to warm up.
fn best(reps: usize, mut f: impl FnMut()) -> Duration {
    f();
    (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

impl Gpu {
    /// Times `record` (dispatches on resident buffers): the best of `reps` submissions.
    fn time_resident(&self, reps: usize, record: impl Fn(&mut wgpu::CommandEncoder) -> Result<(), GpuError>) -> Result<Duration, GpuError> {
        let mut out = Vec::new();
        for _ in 0..reps.max(1) + 1 {
            let mut enc = self.encoder("bench");
            record(&mut enc)?;
            let t = Instant::now();
            self.finish(enc, &[])?;
            out.push(t.elapsed());
        }
        // The first submission warms up (pipeline and twiddle creation).
        Ok(out[1..].iter().copied().min().unwrap_or_default())
    }

    /// Each kernel at `2^log_n` (rows, points or parents), on the device and on the CPU.
    pub fn bench_kernels(&self, log_n: usize, reps: usize) -> Result<Vec<KernelFigures>, GpuError> {
        let n = 1usize << log_n;
        let w = BENCH_WIDTH;
        let cpu = CpuBackend::default();
        let shift = F::from_u64(7);
        let mut out = Vec::new();
        let mat = RowMajorMatrix::new(seeded(n * w, 1), w);
        let host = sigil_prover::Lde::host(mat.clone());
        let words = words_of(&mat.values);

        // NTT: every stage of a forward transform of w columns.
        let data = self.upload("bench ntt", &words)?;
        let gpu = self.time_resident(reps, |enc| self.dit(enc, &data, log_n, w, false))?;
        let cpu_t = best(reps, || drop(cpu.coset_evaluate(mat.clone(), F::ONE)));
        out.push(KernelFigures { kernel: "ntt", size: format!("2^{log_n} x {w}"), elements: n * w, bytes: 16 * (n * w) as u64, gpu, cpu: cpu_t });

        // Merkle leaves: rows of w elements.
        let digests = self.zeroed("bench leaves", 32 * n as u64)?;
        let mut lp = vec![n as u32, 2 * w as u32, 0, 0];
        lp.extend(key_words(&KEY_LEAF));
        let gpu = self.time_resident(reps, |enc| {
            self.dispatch(enc, &self.kernels.hash_rows, &[&data, &digests], &lp, n);
            Ok(())
        })?;
        let cpu_t = best(reps, || drop(cpu.commit_mixed(&[(0, vec![&host])], log_n, log_n)));
        out.push(KernelFigures { kernel: "merkle leaves", size: format!("2^{log_n} rows x {w}"), elements: n * w, bytes: (8 * w + 32) as u64 * n as u64, gpu, cpu: cpu_t });

        // Merkle nodes: one level of n parents from 2n children.
        let children = self.zeroed("bench children", 64 * n as u64)?;
        let parents = self.zeroed("bench parents", 32 * n as u64)?;
        let mut np = vec![n as u32, 0, 2, 1, 2, 0, 0, 0];
        np.extend(key_words(&KEY_NODE));
        let gpu = self.time_resident(reps, |enc| {
            self.dispatch(enc, &self.kernels.hash_nodes, &[&children, &children, &parents], &np, n);
            Ok(())
        })?;
        let kids: Vec<Digest> = seeded(8 * n, 3).chunks_exact(4).map(|c| core::array::from_fn(|i| (c[i / 8].as_canonical_u64() >> (8 * (i % 8))) as u8)).collect();
        let cpu_t = best(reps, || {
            let mut up = vec![[0u8; 32]; n];
            up.par_chunks_mut(lanes::LANES).enumerate().for_each(|(c, o)| {
                let base = c * lanes::LANES;
                lanes::hash_nodes(o, |i| (&kids[2 * (base + i)], &kids[2 * (base + i) + 1]));
            });
        });
        out.push(KernelFigures { kernel: "merkle nodes", size: format!("2^{log_n} parents"), elements: 0, bytes: 96 * n as u64, gpu, cpu: cpu_t });

        // FRI fold: 2n extension points into n.
        let evals: Vec<EF> = seeded(4 * n, 2).chunks_exact(2).map(|c| ef_from_base([c[0], c[1]])).collect();
        let lo = self.zeroed("bench fold low", 16 * n as u64)?;
        let hi = self.zeroed("bench fold high", 16 * n as u64)?;
        let folded = self.zeroed("bench folded", 16 * n as u64)?;
        let folded_b = self.zeroed("bench folded", 16)?;
        let fp: Vec<u32> = vec![n as u32, n as u32, 3, 0, 5, 0, 0, 0, 7, 0, 11, 0, 1, 0, 0, 0];
        let gpu = self.time_resident(reps, |enc| {
            self.dispatch(enc, &self.kernels.fold, &[&lo, &hi, &folded, &folded_b], &fp, n);
            Ok(())
        })?;
        let beta = evals[0];
        let cpu_t = best(reps, || drop(cpu.fold(&evals, beta, shift)));
        out.push(KernelFigures { kernel: "fri fold", size: format!("2^{} -> 2^{log_n}", log_n + 1), elements: 4 * n, bytes: 48 * n as u64, gpu, cpu: cpu_t });

        // DEEP: w columns combined at two points over n rows.
        let coeffs = self.zeroed("bench deep coefficients", 32 * w as u64)?;
        let acc = self.zeroed("bench deep sums", 32 * n as u64)?;
        let res = self.zeroed("bench deep codeword", 16 * n as u64)?;
        let mut dp = vec![n as u32, 0, w as u32, 0, 0, 0, 0, 0, 3, 0, 5, 0];
        dp.extend([7, 0, 1, 0, 9, 0, 2, 0, 4, 0, 0, 0, 6, 0, 0, 0]);
        let gpu = self.time_resident(reps, |enc| {
            self.dispatch(enc, &self.kernels.deep_accumulate, &[&data, &coeffs, &acc, &res], &dp, n);
            self.dispatch(enc, &self.kernels.deep_finish, &[&data, &coeffs, &acc, &res], &dp, n);
            Ok(())
        })?;
        let cz: Vec<EF> = evals[..w].to_vec();
        let refs = [&host];
        let inputs = DeepInputs { mats: &refs, cz: &cz, czg: &cz, a_z: evals[1], a_zg: evals[2], z: evals[3], zg: evals[4], log_lde: log_n, shift };
        let cpu_t = best(reps, || drop(cpu.deep_codeword(&inputs)));
        out.push(KernelFigures { kernel: "deep", size: format!("2^{log_n} x {w}"), elements: n * w, bytes: (8 * w + 16) as u64 * n as u64, gpu, cpu: cpu_t });

        // Field multiplication, the arithmetic alone.
        let prod = self.zeroed("bench products", 8 * (n * w) as u64)?;
        let gpu = self.time_resident(reps, |enc| {
            self.dispatch(enc, &self.kernels.elementwise, &[&data, &data, &prod], &[crate::FieldOp::Mul as u32, (n * w) as u32], n * w);
            Ok(())
        })?;
        let cpu_t = best(reps, || {
            let v: Vec<F> = mat.values.par_iter().map(|&x| x * x).collect();
            drop(v);
        });
        out.push(KernelFigures { kernel: "field mul", size: format!("2^{log_n} x {w}"), elements: n * w, bytes: 16 * (n * w) as u64, gpu, cpu: cpu_t });

        out.extend(self.bench_quotient(log_n, reps)?);
        Ok(out)
    }

    /// The quotient of a real chip (the MLP example's with the most constraints and
    /// interactions) at `2^log_n` points, its LDEs on the device, as generated code and
    /// interpreted; the GPU's time includes compiling the program to its instructions (not
    /// the pipeline: the warm-up run builds it) and reading the values back.
    fn bench_quotient(&self, log_n: usize, reps: usize) -> Result<Vec<KernelFigures>, GpuError> {
        let circuit = sigil_prover::examples::mlp(1, sigil_verifier::ProofOptions::default()).map_err(|e| GpuError::Input(e.to_string()))?.circuit;
        let (chip, info) = circuit
            .chips
            .iter()
            .zip(&circuit.infos)
            .max_by_key(|(_, i)| i.n_constraints + i.interactions.len())
            .ok_or_else(|| GpuError::Input("an empty circuit".into()))?;
        let log_q = info.log_quotient_degree;
        let rows = 1usize << log_n.saturating_sub(log_q);
        let points = rows << log_q;
        let budget = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let lde = |width: usize, seed: u64| -> Result<Option<sigil_prover::Lde>, GpuError> {
            if width == 0 {
                return Ok(None);
            }
            let m = RowMajorMatrix::new(seeded(rows * width, seed), width);
            let (matrix, dm) = self.transform_resident(&m, crate::Transform::Lde { log_blowup: log_q, shift: sigil_verifier::protocol::lde_shift() })?;
            Ok(Some(sigil_prover::Lde { resident: Some(std::sync::Arc::new(crate::backend::Held::new(dm, budget.clone()))), ..sigil_prover::Lde::host(matrix) }))
        };
        let main = lde(info.width, 11)?.ok_or_else(|| GpuError::Input("a chip without columns".into()))?;
        let prep = lde(info.prep_width, 12)?;
        let perm = lde(sigil_verifier::protocol::PhaseWidths::of(info).perm, 13)?;
        let e = seeded(8, 14);
        let ef = |i: usize| ef_from_base([e[2 * i], e[2 * i + 1]]);
        let publics = seeded(circuit.n_publics, 15);
        let challenges: Vec<EF> = (0..circuit.n_challenges).map(|i| ef_from_base([F::from_u64(i as u64 + 3), F::ONE])).collect();
        let inputs = QuotientInputs {
            log_n: log_n.saturating_sub(log_q),
            log_quotient_degree: log_q,
            log_blowup: log_q,
            main_lde: &main,
            prep_lde: prep.as_ref(),
            perm_lde: perm.as_ref(),
            publics: &publics,
            alpha: ef(0),
            lookup: sigil_air::LookupChallenges { beta: ef(1), gamma: ef(2) },
            challenges: &challenges,
            aux_width: info.aux_width,
            cumulative_sum: ef(3),
            logup_batches: &info.logup_batches,
        };
        let cpu_t = best(reps, || drop(CpuBackend::default().quotient_values(chip.as_ref(), &inputs)));
        let width = main.width + prep.as_ref().map_or(0, |m| m.width) + perm.as_ref().map_or(0, |m| m.width);
        let mut out = Vec::new();
        for (kernel, how) in [("quotient gen", crate::QuotientKernel::Generated), ("quotient int", crate::QuotientKernel::Interpreted)] {
            let mut failed = None;
            let gpu = best(reps, || {
                if let Err(e) = self.quotient_values_with(chip.as_ref(), &inputs, how) {
                    failed = Some(e);
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
            out.push(KernelFigures { kernel, size: format!("2^{} pts, {}", log_n.saturating_sub(log_q) + log_q, info.name), elements: points * width, bytes: (16 * width as u64 + 16) * points as u64, gpu, cpu: cpu_t });
        }
        Ok(out)
    }
}
