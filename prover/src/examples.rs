//! Built-in example circuits with their traces: used by `sigil demo`, the tests and the
//! benchmarks.

use sigil_air::chips::SplitMix64;
use sigil_air::chips::mac::MacChain;
use sigil_air::chips::matmul::VecMat;
use sigil_air::chips::{BUS_DATA, BUS_OUT};
use sigil_air::chips::range::RangeTable;
use sigil_air::chips::transfer::{Consumer, Producer};
use sigil_air::{F, Trace};
use sigil_air::Direction;
use sigil_verifier::{Circuit, CircuitError, ProofOptions, PublicBus, Statement};

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
    let consumer = Consumer { sum_public: 1, ..Consumer::default() };
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

/// A fully connected layer `c = a W` proven by Freivalds' test: a producer of `2^log_k` byte
/// activations (range-checked on the 8-bit table), the layer (`k x n` byte weights, fixed),
/// and a consumer that receives the `n` outputs and proves their sum.
///
/// Public values: the sum of the outputs.
pub fn vecmat(log_k: usize, n: usize, seed: u64, options: ProofOptions) -> Result<Example, CircuitError> {
    let k = 1usize << log_k;
    let mut rng = SplitMix64(seed);
    let a: Vec<F> = (0..k).map(|_| F::from_u64(rng.next_u64() & 0xff)).collect();
    let weights: Vec<F> = (0..k * n).map(|_| F::from_u64(rng.next_u64() & 0xff)).collect();
    let log_height = VecMat::min_log_height(k, n);
    let layer = VecMat { name: "fc".into(), k, n, weights, log_height, in_bus: Some(BUS_DATA), out_bus: Some(BUS_OUT) };
    let (layer_trace, c) = layer.generate_trace(&a);
    let consumer = Consumer { sum_public: 0, bus: BUS_OUT, name: "out" };
    let log_out = n.max(2).next_power_of_two().trailing_zeros() as usize;
    let (consumer_trace, sum) = consumer.generate_trace(&c, 1 << log_out);
    let range = RangeTable { bits: 8 };
    let range_trace = range.generate_trace(a.iter().copied());
    let circuit = Circuit::new(
        "vecmat",
        vec![Box::new(Producer), Box::new(layer), Box::new(consumer), Box::new(range)],
        &[log_k, log_height, log_out, 8],
        1,
        options,
    )?;
    Ok(Example {
        circuit,
        traces: vec![Producer.generate_trace(&a), layer_trace, consumer_trace, range_trace],
        publics: vec![sum],
    })
}

/// A fully connected layer `c = a W` whose statement is its input and its output: `2^log_k`
/// byte activations and `n` outputs are the public values, which the verifier itself sends
/// (`(j, a_j)` on the data bus) and receives (`(l, c_l)` on the output bus); `k x n` byte weights
/// are fixed in the circuit.
///
/// Public values: the activations, then the outputs.
pub fn dense(log_k: usize, n: usize, seed: u64, options: ProofOptions) -> Result<Example, CircuitError> {
    let k = 1usize << log_k;
    let mut rng = SplitMix64(seed);
    let a: Vec<F> = (0..k).map(|_| F::from_u64(rng.next_u64() & 0xff)).collect();
    let weights: Vec<F> = (0..k * n).map(|_| F::from_u64(rng.next_u64() & 0xff)).collect();
    let log_height = VecMat::min_log_height(k, n);
    let layer = VecMat { name: "fc".into(), k, n, weights, log_height, in_bus: Some(BUS_DATA), out_bus: Some(BUS_OUT) };
    let (trace, c) = layer.generate_trace(&a);
    let statement = Statement {
        n_publics: k + n,
        public_buses: vec![
            PublicBus { bus: BUS_DATA, dir: Direction::Send, start: 0, len: k },
            PublicBus { bus: BUS_OUT, dir: Direction::Receive, start: k, len: n },
        ],
    };
    let circuit = Circuit::new("dense", vec![Box::new(layer)], &[log_height], statement, options)?;
    let publics = a.into_iter().chain(c).collect();
    Ok(Example { circuit, traces: vec![trace], publics })
}
