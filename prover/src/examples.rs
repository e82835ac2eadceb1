//! Built-in example circuits with their traces: used by `sigil demo`, the tests and the
//! benchmarks.

use sigil_air::chips::SplitMix64;
use sigil_air::chips::mac::MacChain;
use sigil_air::chips::matmul::VecMat;
use sigil_air::chips::relu::Relu;
use sigil_air::chips::rescale::Rescale;
use sigil_air::chips::unary::UnaryIo;
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

/// `2^log_k` byte activations and a layer `fc` of `2^log_k x n` byte weights from the data
/// bus to the output bus, drawn from `seed`.
fn byte_layer(log_k: usize, n: usize, seed: u64) -> (usize, Vec<F>, VecMat) {
    let k = 1usize << log_k;
    let mut rng = SplitMix64(seed);
    let a: Vec<F> = (0..k).map(|_| F::from_u64(rng.next_u64() & 0xff)).collect();
    let weights: Vec<F> = (0..k * n).map(|_| F::from_u64(rng.next_u64() & 0xff)).collect();
    let log_height = VecMat::min_log_height(k, n);
    (k, a, VecMat { name: "fc".into(), k, n, weights, bias: vec![], log_height, in_bus: Some(BUS_DATA), out_bus: Some(BUS_OUT) })
}

/// A statement of `k` public inputs the verifier sends on `in_bus` and `o` public outputs it
/// receives on `out_bus`.
fn io_statement(k: usize, in_bus: sigil_air::BusId, o: usize, out_bus: sigil_air::BusId) -> Statement {
    Statement {
        n_publics: k + o,
        public_buses: vec![
            PublicBus::new(in_bus, Direction::Send, 0, k),
            PublicBus::new(out_bus, Direction::Receive, k, o),
        ],
    }
}

/// A fully connected layer `c = a W` proven by Freivalds' test: a producer of `2^log_k` byte
/// activations (range-checked on the 8-bit table), the layer (`k x n` byte weights, fixed),
/// and a consumer that receives the `n` outputs and proves their sum.
///
/// Public values: the sum of the outputs.
pub fn vecmat(log_k: usize, n: usize, seed: u64, options: ProofOptions) -> Result<Example, CircuitError> {
    let (_, a, layer) = byte_layer(log_k, n, seed);
    let log_height = layer.log_height;
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
    let (k, a, layer) = byte_layer(log_k, n, seed);
    let log_height = layer.log_height;
    let (trace, c) = layer.generate_trace(&a);
    let statement = io_statement(k, BUS_DATA, n, BUS_OUT);
    let circuit = Circuit::new("dense", vec![Box::new(layer)], &[log_height], statement, options)?;
    let publics = a.into_iter().chain(c).collect();
    Ok(Example { circuit, traces: vec![trace], publics })
}

/// A field element read as a signed integer (above `p/2` is negative).
pub fn to_signed(x: F) -> i64 {
    sigil_air::field::to_signed(x)
}

/// The shapes of [`mlp`]: 16 inputs, 16 hidden units, 4 outputs; 8-bit signed inputs and
/// weights; both products rescaled by 2^7.
pub const MLP: (usize, usize, usize, u32) = (16, 16, 4, 7);

/// The parameters of [`mlp`] drawn from `seed`: the input, `W1`, `W2`, `b1`, `b2` (signed bytes;
/// the biases times `2^6`, at the products' scale).
pub fn mlp_parameters(seed: u64) -> [Vec<i64>; 5] {
    let (k, h, o, _) = MLP;
    let mut rng = SplitMix64(seed);
    let mut byte = || (rng.next_u64() & 0xff) as i64 - 128;
    let a = (0..k).map(|_| byte()).collect();
    let w1 = (0..k * h).map(|_| byte()).collect();
    let w2 = (0..h * o).map(|_| byte()).collect();
    let b1 = (0..h).map(|_| byte() << 6).collect();
    let b2 = (0..o).map(|_| byte() << 6).collect();
    [a, w1, w2, b1, b2]
}

/// The plain integer computation [`mlp`] proves: `rescale(relu(rescale(a W1 + b1)) W2 + b2)`.
pub fn mlp_reference([a, w1, w2, b1, b2]: &[Vec<i64>; 5]) -> Vec<i64> {
    let (k, h, o, s) = MLP;
    let rescale = |x: i64| (x + (1 << (s - 1))) >> s;
    let hidden: Vec<i64> = (0..h).map(|l| rescale(b1[l] + (0..k).map(|j| a[j] * w1[j * h + l]).sum::<i64>()).max(0)).collect();
    (0..o).map(|l| rescale(b2[l] + (0..h).map(|j| hidden[j] * w2[j * o + l]).sum::<i64>())).collect()
}

/// A two-layer quantized perceptron, `rescale(relu(rescale(a W1 + b1)) W2 + b2)`, whose statement is its
/// input and its output: six chips on seven buses (public input, layer 1, rescale, ReLU, layer
/// 2, rescale, public output) and the range table. Weights are fixed in the circuit.
///
/// Public values: the 16 inputs, then the 4 outputs (signed integers as field elements).
pub fn mlp(seed: u64, options: ProofOptions) -> Result<Example, CircuitError> {
    let (k, h, o, s) = MLP;
    let [a, w1, w2, b1, b2] = mlp_parameters(seed);
    let field = |v: &[i64]| v.iter().map(|&x| F::from_i64(x)).collect::<Vec<F>>();
    let err = |_| CircuitError::Options("a rescale's bound does not fit the field");
    // Buses: 1 input, 3..7 between the chips, 0 the range table.
    let fc1 = VecMat { name: "fc1".into(), k, n: h, weights: field(&w1), bias: field(&b1), log_height: VecMat::min_log_height(k, h), in_bus: Some(1), out_bus: Some(3) };
    // Each rescale's input bound is the layer's proven bound on its inputs' bound: 8-bit signed
    // inputs, then the 13-bit signed outputs of the first rescale (and ReLU).
    let bound = |fc: &VecMat, in_bits| fc.output_bits(in_bits).ok_or(CircuitError::Options("a layer's result may pass p/2"));
    let rs1 = Rescale::new("rescale1", s, bound(&fc1, 7)?, 13, UnaryIo::new(3, 4, h)).map_err(err)?;
    let relu = Relu { name: "relu1".into(), bits: 13, abs: false, io: UnaryIo::new(4, 5, h) };
    let fc2 = VecMat { name: "fc2".into(), k: h, n: o, weights: field(&w2), bias: field(&b2), log_height: VecMat::min_log_height(h, o), in_bus: Some(5), out_bus: Some(6) };
    let rs2 = Rescale::new("rescale2", s, bound(&fc2, 12)?, 18, UnaryIo::new(6, 7, o)).map_err(err)?;

    let (t_fc1, c1) = fc1.generate_trace(&field(&a));
    let in1: Vec<i64> = c1.iter().map(|&x| to_signed(x)).collect();
    let (t_rs1, y1, mut lookups) = rs1.generate_trace(&in1);
    let (t_relu, r, l2) = relu.generate_trace(&y1);
    let (t_fc2, c2) = fc2.generate_trace(&field(&r));
    let in3: Vec<i64> = c2.iter().map(|&x| to_signed(x)).collect();
    let (t_rs2, out, l3) = rs2.generate_trace(&in3);
    lookups.extend(l2);
    lookups.extend(l3);
    let range = RangeTable { bits: 8 };
    let t_range = range.generate_trace(lookups);

    let statement = io_statement(k, 1, o, 7);
    let heights = [fc1.log_height, rs1.io.log_height, relu.io.log_height, fc2.log_height, rs2.io.log_height, 8];
    let circuit = Circuit::new(
        "mlp",
        vec![Box::new(fc1), Box::new(rs1), Box::new(relu), Box::new(fc2), Box::new(rs2), Box::new(range)],
        &heights,
        statement,
        options,
    )?;
    let publics = field(&a).into_iter().chain(field(&out)).collect();
    Ok(Example { circuit, traces: vec![t_fc1, t_rs1, t_relu, t_fc2, t_rs2, t_range], publics })
}

/// `k` rescales by `2^6` of `n` public inputs each, stacked in one table
/// ([`sigil_air::stack`]), with the 8-bit range table: rescale `i` reads its inputs on bus
/// `10 + 2i` (sent by the verifier) and writes its outputs on bus `11 + 2i` (received by it).
/// `k n`-element tables of `2^ceil(log2 n)` rows each, padded to a power of two.
///
/// Public values: every rescale's inputs, then every rescale's outputs.
pub fn stacked_rescales(
    k: usize,
    n: usize,
    seed: u64,
    options: ProofOptions,
) -> Result<Example, CircuitError> {
    let mut rng = SplitMix64(seed);
    let (mut chips, mut heights, mut traces) = (Vec::new(), Vec::new(), Vec::new());
    let (mut inputs, mut outputs, mut lookups) = (Vec::new(), Vec::new(), Vec::new());
    let mut buses = Vec::new();
    for i in 0..k {
        let (in_bus, out_bus) = (10 + 2 * i as u32, 11 + 2 * i as u32);
        let chip = Rescale::new(
            format!("rescale {i}"),
            6,
            20,
            14,
            UnaryIo::new(in_bus, out_bus, n),
        )
        .map_err(|e| {
            CircuitError::Chip(sigil_air::ChipDefinitionError {
                chip: format!("rescale {i}"),
                reason: e.to_string(),
            })
        })?;
        let x: Vec<i64> = (0..n)
            .map(|_| (rng.next_u64() % (1 << 20)) as i64 - (1 << 19))
            .collect();
        let (t, y, l) = chip.generate_trace(&x);
        heights.push(chip.io.log_height);
        chips.push(Box::new(chip) as Box<dyn sigil_air::Chip>);
        traces.push(t);
        inputs.extend(x.iter().map(|&v| F::from_i64(v)));
        outputs.extend(y.iter().map(|&v| F::from_i64(v)));
        lookups.extend(l);
        buses.push((in_bus, out_bus));
    }
    let range = RangeTable { bits: 8 };
    chips.push(Box::new(range));
    heights.push(8);
    traces.push(range.generate_trace(lookups));
    let (chips, heights, plan) =
        sigil_air::stack::stack(chips, &heights).map_err(CircuitError::Stack)?;
    let traces = plan.apply(traces).map_err(CircuitError::Stack)?;
    let mut public_buses = Vec::new();
    for (i, &(in_bus, out_bus)) in buses.iter().enumerate() {
        public_buses.push(PublicBus::new(in_bus, Direction::Send, i * n, n));
        public_buses.push(PublicBus::new(
            out_bus,
            Direction::Receive,
            k * n + i * n,
            n,
        ));
    }
    let statement = Statement {
        n_publics: 2 * k * n,
        public_buses,
    };
    let circuit = Circuit::new("stacked rescales", chips, &heights, statement, options)?;
    inputs.extend(outputs);
    Ok(Example {
        circuit,
        traces,
        publics: inputs,
    })
}
