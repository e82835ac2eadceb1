//! Completeness for the validator's own requests: every input a validator's generator draws
//! for a circuit (`Circuit::fresh_input`, as JSON, parsed as a miner parses it) is one the
//! honest prover accepts, so an honest miner is never scored as failing on it. Per corpus
//! model whose circuit compiles, `SIGIL_COMPLETENESS_INPUTS` inputs (5,000 by default) from
//! seeds spread over `u64` as the validator's `rand::random()` seeds are; the fixed-point
//! executor's refusals (a value past its calibrated range, a division by zero) are what a
//! prover refuses before proving.

use std::path::PathBuf;

use sigil_node::circuits::Circuits;

fn models() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models"))
}

fn inputs_per_model() -> u64 {
    std::env::var("SIGIL_COMPLETENESS_INPUTS").ok().and_then(|v| v.parse().ok()).unwrap_or(5000)
}

/// SplitMix64's output function: seeds spread over all of `u64`.
fn spread(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn check(name: &str) {
    // The key cache keeps the second run of the suite from building the large keys again.
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("completeness-cache");
    let circuits = Circuits::load(&models(), &[name.to_string()], false, Some(cache), |_| {}).unwrap();
    let c = &circuits.list[0];
    let n = inputs_per_model();
    let threads = std::thread::available_parallelism().map_or(2, |p| p.get()) as u64;
    let refusals: Vec<(u64, String)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut bad = Vec::new();
                    for i in (t..n).step_by(threads as usize) {
                        let seed = spread(i);
                        let input = c.parse_input(&c.fresh_input(seed)).expect("the validator's own input parses");
                        if let Err(e) = c.model.plan.execute(&input) {
                            bad.push((seed, e.to_string()));
                        }
                    }
                    bad
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    assert!(refusals.is_empty(), "{name}: {} of {n} validator inputs refused, e.g. seed {}: {}", refusals.len(), refusals[0].0, refusals[0].1);
}

macro_rules! completeness {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                check($name);
            }
        )*
    };
}

completeness! {
    age_ssrnet_competition1 => "age-ssrnet-competition1",
    dsperse_age => "dsperse-age",
    dsperse_doom => "dsperse-doom",
    dsperse_net => "dsperse-net",
    dummy_age_detection => "dummy-age-detection",
    lstm_benchmark => "lstm-benchmark",
    matmul_competition => "matmul-competition",
    sn2_pow_reward_tan => "sn2-pow-reward-tan",
    sn2_reward_factor_v0 => "sn2-reward-factor-v0",
    sn2_reward_factor_v1 => "sn2-reward-factor-v1",
    sn2_reward_legacy => "sn2-reward-legacy",
    sn2_reward_sim => "sn2-reward-sim",
    sn48_pow_reward => "sn48-pow-reward",
}
