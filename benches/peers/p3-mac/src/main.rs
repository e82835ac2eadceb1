//! Plonky3 0.8.0 uni-stark proving the multiply-accumulate chain that `sigil demo --example
//! mac` proves (columns acc, a, b; acc starts at 0, acc' = acc + a b, the last row's acc + a b
//! is public), at the reference settings of ../shared/BASELINES.md: Goldilocks, its quadratic
//! extension, Blake3 Merkle trees, blowup 8, 28 queries, 16 grinding bits; folds of 2^ARITY
//! (default 3, as Sigil's) down to 2^FINAL coefficients (default 5, as Sigil's); the DFT is
//! Plonky3's `Radix2DFTSmallBatch` (Sigil's too; `Radix2DitParallel` took 5.9 s here against
//! 4.5 s). Prints the prove time (config, commitment and proof; the trace is built before).
//!
//!     cargo build --release && /usr/bin/time ./target/release/p3-mac 20
use std::time::Instant;

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_blake3::Blake3;
use p3_challenger::{HashChallenger, SerializingChallenger64};
use p3_commit::ExtensionMmcs;
use p3_dft::Radix2DFTSmallBatch;
use p3_field::extension::BinomialExtensionField;
use p3_field::PrimeCharacteristicRing;
use p3_fri::{FriParameters, TwoAdicFriPcs};
use p3_goldilocks::Goldilocks;
use p3_matrix::dense::RowMajorMatrix;
use p3_merkle_tree::MerkleTreeMmcs;
use p3_symmetric::{CompressionFunctionFromHasher, SerializingHasher};
use p3_uni_stark::{StarkConfig, prove, verify};

struct Mac;

impl<F> BaseAir<F> for Mac {
    fn width(&self) -> usize {
        3
    }
    fn num_public_values(&self) -> usize {
        1
    }
    fn max_constraint_degree(&self) -> Option<usize> {
        Some(3)
    }
}

impl<AB: AirBuilder> Air<AB> for Mac {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (acc, a, b) = (main.current_slice()[0], main.current_slice()[1], main.current_slice()[2]);
        let next_acc = main.next_slice()[0];
        let result = builder.public_values()[0];
        builder.when_first_row().assert_zero(acc);
        builder.when_transition().assert_eq(next_acc, acc + a * b);
        builder.when_last_row().assert_eq(acc + a * b, result);
    }
}

type Val = Goldilocks;
type Challenge = BinomialExtensionField<Val, 2>;
type ByteHash = Blake3;
type FieldHash = SerializingHasher<ByteHash>;
type MyCompress = CompressionFunctionFromHasher<ByteHash, 2, 32>;
type ValMmcs = MerkleTreeMmcs<Val, u8, FieldHash, MyCompress, 2, 32>;
type ChallengeMmcs = ExtensionMmcs<Val, Challenge, ValMmcs>;
type Challenger = SerializingChallenger64<Val, HashChallenger<u8, ByteHash, 32>>;
type Pcs = TwoAdicFriPcs<Val, Radix2DFTSmallBatch<Val>, ValMmcs, ChallengeMmcs>;
type Config = StarkConfig<Pcs, Challenge, Challenger>;

fn main() {
    let log_n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let n = 1usize << log_n;
    // The trace: factors from a splitmix64 stream, as Sigil's MacChain::generate_trace draws them.
    let mut s = 0x5eedu64;
    let mut next = || {
        s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut values = Vec::with_capacity(3 * n);
    let mut acc = Val::ZERO;
    for _ in 0..n {
        let (a, b) = (Val::from_u64(next() >> 1), Val::from_u64(next() >> 1));
        values.extend([acc, a, b]);
        acc += a * b;
    }
    let trace = RowMajorMatrix::new(values, 3);

    let t = Instant::now();
    let byte_hash = ByteHash {};
    let val_mmcs = ValMmcs::new(FieldHash::new(byte_hash), MyCompress::new(byte_hash), 0);
    let fri_params = FriParameters {
        log_blowup: 3,
        log_final_poly_len: std::env::var("FINAL").ok().and_then(|s| s.parse().ok()).unwrap_or(5),
        max_log_arity: std::env::var("ARITY").ok().and_then(|s| s.parse().ok()).unwrap_or(3),
        num_queries: 28,
        batch_proof_of_work_bits: 0,
        commit_proof_of_work_bits: 0,
        query_proof_of_work_bits: 16,
        mmcs: ChallengeMmcs::new(val_mmcs.clone()),
    };
    let pcs = Pcs::new(Radix2DFTSmallBatch::default(), val_mmcs, fri_params);
    let config = Config::new(pcs, Challenger::from_hasher(vec![], byte_hash));
    let proof = prove(&config, &Mac, trace, &[acc]).expect("proves");
    let prove_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    verify(&config, &Mac, &proof, &[acc]).expect("verifies");
    println!("plonky3 mac 2^{log_n}: prove {prove_s:.3} s, verify {:.2} ms", t.elapsed().as_secs_f64() * 1e3);
}
