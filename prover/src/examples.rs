//! Built-in example circuits with their traces: used by `sigil demo`, the tests and the
//! benchmarks.

use sigil_air::chips::SplitMix64;
use sigil_air::chips::mac::MacChain;
use sigil_air::chips::range::RangeTable;
use sigil_air::chips::transfer::{Consumer, Producer};
use sigil_air::{F, Trace};
use sigil_verifier::{Circuit, CircuitError, ProofOptions};

use p3_field::PrimeCharacteristicRing;

/// A statement ready to prove: the circuit, one trace per chip, and the public values.
#[derive(Debug)]
pub struct Example {
    pub circuit: Circuit,
    pub traces: Vec<Trace>,
    pub publics: Vec<F>,
}

/// The multiply-accumulate chain over `2^log_n` rows, proven with `options`.
pub fn mac(log_n: usize, seed: u64, options: ProofOptions) -> Result<Example, CircuitError> {
    let (trace, result) = MacChain::generate_trace(log_n, seed);
    let circuit = Circuit::new("mac", vec![Box::new(MacChain)], &[log_n], 1, options)?;
    Ok(Example { circuit, traces: vec![trace], publics: vec![result] })
}

/// Four tables of four heights on two buses: a MAC chain (`2^log_mac` rows), a producer of
/// `2^log_values` byte values, a consumer twice as tall that receives and sums them, and the
/// 8-bit range table (256 rows) that range-checks every value.
///
/// Public values: the MAC result, then the consumer's sum.
pub fn transfer(log_mac: usize, log_values: usize, seed: u64, options: ProofOptions) -> Result<Example, CircuitError> {
    let mut rng = SplitMix64(seed);
    let values: Vec<F> = (0..1usize << log_values).map(|_| F::from_u64(rng.next_u64() & 0xff)).collect();
    let (mac_trace, mac_result) = MacChain::generate_trace(log_mac, seed ^ 0x5eed);
    let consumer = Consumer { sum_public: 1 };
    let range = RangeTable { bits: 8 };
    let (consumer_trace, sum) = consumer.generate_trace(&values, 2 << log_values);
    let circuit = Circuit::new(
        "transfer",
        vec![Box::new(MacChain), Box::new(Producer), Box::new(consumer), Box::new(range)],
        &[log_mac, log_values, log_values + 1, 8],
        2,
        options,
    )?;
    Ok(Example {
        circuit,
        traces: vec![
            mac_trace,
            Producer.generate_trace(&values),
            consumer_trace,
            range.generate_trace(values.iter().copied()),
        ],
        publics: vec![mac_result, sum],
    })
}
