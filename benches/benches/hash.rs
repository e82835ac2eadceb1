//! The hash choice, measured: Merkle leaf hashing (8 Goldilocks elements per leaf) and 2-to-1
//! node compression with Blake3, Keccak-256 and Poseidon2 over Goldilocks (width 8), one
//! thread, 2^14 items per iteration. See `docs/hash.md`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use p3_field::{PrimeCharacteristicRing, PrimeField64};
use p3_goldilocks::{Goldilocks, default_goldilocks_poseidon2_8};
use p3_keccak::Keccak256Hash;
use p3_symmetric::{CryptographicHasher, PaddingFreeSponge, PseudoCompressionFunction, TruncatedPermutation};
use sigil_verifier::hash::{Blake3, Hasher};

const N: usize = 1 << 14;

fn leaves() -> Vec<[Goldilocks; 8]> {
    let mut r = sigil_air::chips::SplitMix64(1);
    (0..N).map(|_| core::array::from_fn(|_| Goldilocks::from_u64(r.next_u64() >> 1))).collect()
}

fn bench(c: &mut Criterion) {
    let data = leaves();
    let mut g = c.benchmark_group("hash");
    g.throughput(Throughput::Elements(N as u64));

    g.bench_function(BenchmarkId::new("leaf8", "blake3"), |b| {
        b.iter(|| data.iter().map(|l| Blake3::hash_leaf(l)[0]).fold(0u8, |a, x| a ^ x))
    });
    g.bench_function(BenchmarkId::new("leaf8", "keccak256"), |b| {
        b.iter(|| {
            data.iter()
                .map(|l| Keccak256Hash.hash_iter(l.iter().flat_map(|x| x.as_canonical_u64().to_le_bytes()))[0])
                .fold(0u8, |a, x| a ^ x)
        })
    });
    let perm = default_goldilocks_poseidon2_8();
    let sponge = PaddingFreeSponge::<_, 8, 4, 4>::new(perm.clone());
    g.bench_function(BenchmarkId::new("leaf8", "poseidon2"), |b| {
        b.iter(|| data.iter().map(|l| sponge.hash_iter(l.iter().copied())[0].as_canonical_u64()).fold(0u64, |a, x| a ^ x))
    });

    let digests: Vec<[u8; 32]> = data.iter().map(|l| Blake3::hash_leaf(l)).collect();
    g.bench_function(BenchmarkId::new("node", "blake3"), |b| {
        b.iter(|| digests.windows(2).map(|w| Blake3::hash_node(&w[0], &w[1])[0]).fold(0u8, |a, x| a ^ x))
    });
    g.bench_function(BenchmarkId::new("node", "keccak256"), |b| {
        b.iter(|| {
            digests
                .windows(2)
                .map(|w| Keccak256Hash.hash_iter(w[0].iter().chain(w[1].iter()).copied())[0])
                .fold(0u8, |a, x| a ^ x)
        })
    });
    let compress = TruncatedPermutation::<_, 2, 4, 8>::new(perm);
    let pdigests: Vec<[Goldilocks; 4]> = data.iter().map(|l| [l[0], l[1], l[2], l[3]]).collect();
    g.bench_function(BenchmarkId::new("node", "poseidon2"), |b| {
        b.iter(|| {
            pdigests.windows(2).map(|w| compress.compress([w[0], w[1]])[0].as_canonical_u64()).fold(0u64, |a, x| a ^ x)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
