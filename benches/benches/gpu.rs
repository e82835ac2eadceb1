//! The GPU backend beside the CPU backend: each kernel's operation as the prover calls it
//! (uploads and read-back included: `sigil bench` reports the kernels on resident data), and
//! MAC-chain proofs end to end. Without an adapter only the CPU rows run.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use p3_field::PrimeCharacteristicRing;
use p3_matrix::dense::RowMajorMatrix;
use sigil_air::field::ef_from_base;
use sigil_air::{EF, F};
use sigil_gpu::{Gpu, GpuBackend};
use sigil_air::LookupChallenges;
use sigil_prover::backend::{DeepInputs, Lde, QuotientInputs};
use sigil_prover::examples;
use sigil_prover::{Backend, CpuBackend, ProverConfig, ProvingKey, prove};
use sigil_verifier::ProofOptions;
use std::sync::Arc;

const CONFIG: ProverConfig = ProverConfig { check_constraints: false, log_timings: false };
const WIDTH: usize = 8;

fn data(n: usize, seed: u64) -> Vec<F> {
    (0..n as u64).map(|i| F::from_u64((i ^ seed).wrapping_mul(0x9E37_79B9_7F4A_7C15))).collect()
}

/// The CPU backend, and the GPU backend taking every operation when there is an adapter.
fn backends() -> Vec<(&'static str, Arc<dyn Backend>)> {
    let mut v: Vec<(&'static str, Arc<dyn Backend>)> = vec![("cpu", Arc::new(CpuBackend::default()))];
    match Gpu::new() {
        Ok(mut g) => {
            eprintln!("adapter: {}", g.describe());
            // Quotient pipelines compiled at first use, not in the background during timing.
            g.use_quotient_kernel(sigil_gpu::QuotientKernel::Generated);
            v.push(("gpu", Arc::new(GpuBackend::new(Arc::new(g), 0))));
        }
        Err(e) => eprintln!("no GPU adapter ({e}): CPU rows only"),
    }
    v
}

fn kernels(c: &mut Criterion) {
    let shift = F::from_u64(7);
    for (name, b) in backends() {
        let mut g = c.benchmark_group(format!("kernels/{name}"));
        g.sample_size(10);
        for log_n in [14usize, 18] {
            let n = 1usize << log_n;
            let m = RowMajorMatrix::new(data(n * WIDTH, 1), WIDTH);
            // Host values: the trees and the DEEP composition upload them, as for an LDE kept
            // off the device.
            let lde = Lde::host(m.clone());
            g.throughput(Throughput::Elements((n * WIDTH) as u64));
            g.bench_with_input(BenchmarkId::new("lde_x8", log_n), &log_n, |bn, _| bn.iter(|| b.coset_lde(m.clone(), 3, shift)));
            g.bench_with_input(BenchmarkId::new("tree", log_n), &log_n, |bn, _| bn.iter(|| b.commit_mixed(&[(0, vec![&lde])], log_n, 0)));
            let evals: Vec<EF> = data(2 * n, 2).chunks_exact(2).map(|c| ef_from_base([c[0], c[1]])).collect();
            g.bench_with_input(BenchmarkId::new("fold", log_n), &log_n, |bn, _| bn.iter(|| b.fold(&evals, evals[0], shift)));
            g.bench_with_input(BenchmarkId::new("fri_tree", log_n), &log_n, |bn, _| bn.iter(|| b.commit_ext_cosets(&evals, 3)));
            let refs = [&lde];
            let cz = evals[..WIDTH].to_vec();
            let inputs = DeepInputs { mats: &refs, cz: &cz, czg: &cz, a_z: evals[1], a_zg: evals[2], z: evals[3], zg: evals[4], log_lde: log_n, shift };
            g.bench_with_input(BenchmarkId::new("deep", log_n), &log_n, |bn, _| bn.iter(|| b.deep_codeword(&inputs)));
            // The quotient of the MLP example's busiest chip (most constraints and
            // interactions) over 2^log_n points, its LDEs uploaded.
            let circuit = examples::mlp(1, ProofOptions::default()).expect("example").circuit;
            let (chip, info) = circuit.chips.iter().zip(&circuit.infos).max_by_key(|(_, i)| i.n_constraints + i.interactions.len()).expect("a chip");
            let lq = info.log_quotient_degree;
            let ldes: Vec<Option<Lde>> = { let w = sigil_verifier::protocol::PhaseWidths::of(info); [w.main, w.prep, w.perm] }
                .iter()
                .enumerate()
                .map(|(k, &w)| (w > 0).then(|| Lde::host(RowMajorMatrix::new(data(n * w, 10 + k as u64), w))))
                .collect();
            let publics = data(circuit.n_publics, 20);
            let challenges: Vec<EF> = data(2 * circuit.n_challenges, 21).chunks_exact(2).map(|c| ef_from_base([c[0], c[1]])).collect();
            let qi = QuotientInputs {
                log_n: log_n - lq,
                log_quotient_degree: lq,
                log_blowup: lq,
                main_lde: ldes[0].as_ref().expect("main columns"),
                prep_lde: ldes[1].as_ref(),
                perm_lde: ldes[2].as_ref(),
                publics: &publics,
                alpha: evals[5],
                lookup: LookupChallenges { beta: evals[6], gamma: evals[7] },
                challenges: &challenges,
                aux_width: info.aux_width,
                cumulative_sum: evals[8],
                logup_batches: &info.logup_batches,
            };
            g.bench_with_input(BenchmarkId::new("quotient", log_n), &log_n, |bn, _| bn.iter(|| b.quotient_values(chip.as_ref(), &qi)));
        }
        g.finish();
    }
}

fn end_to_end(c: &mut Criterion) {
    for (name, b) in backends() {
        let mut g = c.benchmark_group(format!("mac/{name}"));
        g.sample_size(10);
        for log_n in [12usize, 16] {
            let ex = examples::mac(log_n, 1, ProofOptions::default()).expect("example");
            let pk = ProvingKey::new(ex.circuit, b.as_ref()).expect("key");
            g.throughput(Throughput::Elements(1 << log_n));
            g.bench_with_input(BenchmarkId::new("prove", log_n), &log_n, |bn, _| bn.iter(|| prove(&pk, ex.traces.clone(), &ex.publics, b.as_ref(), &CONFIG).expect("prove")));
        }
        g.finish();
    }
}

criterion_group!(benches, kernels, end_to_end);
criterion_main!(benches);
