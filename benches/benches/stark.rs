//! Prove and verify time against trace height (MAC chain, 2^10 .. 2^20 rows) and width
//! (a chip of `w` columns at 2^14 rows), on the CPU backend, at the default 100-bit options;
//! a fully connected layer checked by Freivalds' test (2^N x 2^N byte weights); and the time to
//! refuse a crafted 63 MiB proof (a valid header, then zeros).

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sigil_benches::wide::WideChip;
use sigil_prover::examples::{self, Example};
use sigil_prover::{CpuBackend, ProverConfig, ProvingKey, prove};
use sigil_verifier::{Circuit, ProofOptions, VerifierOptions, verify};

const CONFIG: ProverConfig = ProverConfig { check_constraints: false, log_timings: false };

/// Benches proving and verifying `ex` as `prove/id` and `verify/id` in `g`, with `elements`
/// as the throughput.
fn prove_and_verify(g: &mut BenchmarkGroup<'_, WallTime>, id: usize, ex: Example, elements: u64) {
    let backend = CpuBackend::default();
    let Example { circuit, traces, publics } = ex;
    let pk = ProvingKey::new(circuit, &backend).expect("key");
    g.throughput(Throughput::Elements(elements));
    g.bench_with_input(BenchmarkId::new("prove", id), &id, |b, _| {
        b.iter(|| prove(&pk, traces.clone(), &publics, &backend, &CONFIG).expect("prove"))
    });
    let bytes = prove(&pk, traces.clone(), &publics, &backend, &CONFIG).expect("prove").to_bytes();
    g.bench_with_input(BenchmarkId::new("verify", id), &id, |b, _| {
        b.iter(|| verify(&pk.circuit, &pk.circuit_id, &publics, &bytes, &VerifierOptions::default()).expect("verify"))
    });
}

fn by_height(c: &mut Criterion) {
    let mut g = c.benchmark_group("mac/cpu");
    g.sample_size(10);
    for log_n in (10..=20).step_by(2) {
        let ex = examples::mac(log_n, 1, ProofOptions::default()).expect("example");
        prove_and_verify(&mut g, log_n, ex, 1 << log_n);
    }
    g.finish();
}

fn by_width(c: &mut Criterion) {
    let mut g = c.benchmark_group("width/cpu");
    g.sample_size(10);
    let log_n = 14;
    for width in [4usize, 16, 64, 256] {
        let chip = WideChip { width };
        let traces = vec![chip.generate_trace(log_n, 3)];
        let circuit = Circuit::new("wide", vec![Box::new(chip)], &[log_n], 0, ProofOptions::default()).expect("circuit");
        prove_and_verify(&mut g, width, Example { circuit, traces, publics: vec![] }, (width << log_n) as u64);
    }
    g.finish();
}

fn vecmat(c: &mut Criterion) {
    let mut g = c.benchmark_group("vecmat/cpu");
    g.sample_size(10);
    for log_n in [6usize, 8, 10] {
        let ex = examples::vecmat(log_n, 1 << log_n, 1, ProofOptions::default()).expect("example");
        prove_and_verify(&mut g, log_n, ex, 1 << (2 * log_n));
    }
    g.finish();
}

fn refuse_crafted(c: &mut Criterion) {
    let backend = CpuBackend::default();
    let ex = examples::transfer(12, 10, 1, ProofOptions::default()).expect("example");
    let pk = ProvingKey::new(ex.circuit, &backend).expect("key");
    let honest = prove(&pk, ex.traces, &ex.publics, &backend, &CONFIG).expect("prove").to_bytes();
    let mut crafted = honest[..sigil_verifier::proof::HEADER_BYTES + 4].to_vec();
    crafted.resize(63 << 20, 0);
    let mut g = c.benchmark_group("refuse/cpu");
    g.bench_function("crafted-63MiB", |b| {
        b.iter(|| verify(&pk.circuit, &pk.circuit_id, &ex.publics, &crafted, &VerifierOptions::default()).is_err())
    });
    g.finish();
}

criterion_group!(benches, by_height, by_width, vecmat, refuse_crafted);
criterion_main!(benches);
