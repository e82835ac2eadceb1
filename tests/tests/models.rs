//! Corpus models proved end to end: compiled from the model file alone, proved on the sample
//! input and on fresh random inputs, verified, and every lie refused.

use std::sync::OnceLock;

use p3_field::PrimeCharacteristicRing;
use sigil_air::F;
use sigil_onnx::circuit::{CompileOptions, CompiledModel, ModelError, ModelProof, Proved, Tamper, hex, random_like};
use sigil_verifier::VerifyError;

fn corpus(name: &str) -> String {
    format!("{}/../../shared/models/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// dsperse-net (LeNet: two convolutions, two max-pools, three dense layers), compiled once.
fn net() -> &'static CompiledModel {
    static NET: OnceLock<CompiledModel> = OnceLock::new();
    NET.get_or_init(|| CompiledModel::compile(corpus("dsperse-net/model.onnx"), &CompileOptions::default()).unwrap())
}

fn sample() -> &'static (Vec<sigil_onnx::InputTensor>, Proved) {
    static P: OnceLock<(Vec<sigil_onnx::InputTensor>, Proved)> = OnceLock::new();
    P.get_or_init(|| {
        let input = net().read_input(corpus("dsperse-net/input.json")).unwrap();
        let p = net().prove(&input).unwrap();
        (input, p)
    })
}

/// Compiles corpus model `name`, proves its sample input and a random input per seed (in the
/// sample's range), verifies each proof and checks every output against the executor's.
fn proves_sample_and_fresh_inputs(name: &str, seeds: &[u64]) -> (CompiledModel, Vec<sigil_onnx::InputTensor>) {
    let m = CompiledModel::compile(corpus(&format!("{name}/model.onnx")), &CompileOptions::default()).unwrap();
    let sample = m.read_input(corpus(&format!("{name}/input.json"))).unwrap();
    let inputs: Vec<_> = std::iter::once(sample.clone()).chain(seeds.iter().map(|&s| random_like(&sample, s, true))).collect();
    for (k, x) in inputs.iter().enumerate() {
        let p = m.prove(x).unwrap_or_else(|e| panic!("{name} input {k}: {e}"));
        m.verify(&p.statement, &p.proof).unwrap_or_else(|e| panic!("{name} input {k}: {e}"));
        let run = m.plan.execute(x).unwrap();
        let want: Vec<Vec<f64>> = run.outputs.iter().map(|(_, _, v)| v.clone()).collect();
        assert_eq!(p.outputs, want, "{name} input {k}");
    }
    (m, sample)
}

fn invalid(r: Result<(), ModelError>) -> VerifyError {
    match r {
        Err(ModelError::Invalid(e)) => e,
        other => panic!("expected a rejected proof, got {other:?}"),
    }
}

/// The circuit id of dsperse-net at the default settings. It changes only when the circuit
/// does (chips, layout, quantization, calibration or proof options): then update it here and
/// say why in the commit.
const NET_CIRCUIT_ID: &str = "3039ed2022b838b0c000f7e78dda1a695d76eaeaa7050bfa8fd58daab545ca00";

#[test]
fn dsperse_net_has_a_fixed_circuit_id() {
    assert_eq!(hex(&net().circuit_id()), NET_CIRCUIT_ID);
    // Compiling again (nothing cached) gives the same id.
    let again = CompiledModel::compile(corpus("dsperse-net/model.onnx"), &CompileOptions::default()).unwrap();
    assert_eq!(again.circuit_id(), net().circuit_id());
}

#[test]
fn dsperse_net_proves_the_executors_output() {
    let (input, p) = sample();
    net().verify(&p.statement, &p.proof).unwrap();
    let run = net().plan.execute(input).unwrap();
    let want: Vec<Vec<f64>> = run.outputs.iter().map(|(_, _, v)| v.clone()).collect();
    assert_eq!(p.outputs, want);
    assert_eq!(p.proof.len(), net().proof_size());
    // The statement is the quantized input, then the output.
    assert_eq!(&p.statement[..3072], &net().input_statement(input).unwrap()[..]);
}

#[test]
fn fresh_random_inputs_prove() {
    // The subnet sends random inputs in the sample's shape and value range.
    let (input, _) = sample();
    for seed in [101, 202] {
        let x = random_like(input, seed, true);
        let p = net().prove(&x).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        net().verify(&p.statement, &p.proof).unwrap();
    }
}

#[test]
fn an_input_outside_the_compiled_ranges_is_refused_by_name() {
    let (input, _) = sample();
    let mut x = input.clone();
    x[0].values[0] = 1e6;
    match net().prove(&x) {
        Err(ModelError::Onnx(e)) => assert!(e.to_string().contains("bits"), "{e}"),
        other => panic!("expected an out-of-range error, got {other:?}"),
    }
}

/// The corpus models whose circuits compile, with their circuit ids and proof sizes at the
/// default settings (`sigil compile MODEL --json`). A circuit changes only when a change means
/// it to (chips, layout, quantization, calibration or proof options): then update the row
/// here and say why in the commit. sn2-pow-reward-tan changed with the boolean input checked
/// as one unsigned bit and its quotient sized for the smallest divisor a request can bring
/// (which took it from 16 to 14 fractional bits). Every row changed when the running sum took
/// over the last LogUp batch (no helper column of its own) and tables of one height and chunk
/// count came to share one quotient (`sigil-circuit-v3`). Every model with chips of one shape
/// changed when they came to share tables (`sigil_air::stack`); dsperse-doom, dsperse-net,
/// matmul-competition and sn48-pow-reward have none to stack (or none that would fit under
/// their tallest table) and kept theirs.
const PROVABLE: [(&str, &str, usize); 13] = [
    ("age-ssrnet-competition1", "36422f6bd5f04631d221fb1b4eb5315ea182c4fbb7d50d11ea9d35d0a0eb4aa0", 693631),
    ("dsperse-age", "9121bbdcb813d250a90189c51f26771f74532c7d75e3acb72559ddb7873cdbde", 693631),
    ("dsperse-doom", "812e8842d7898e2cfd17693744e3e2dcb7ca6f1c365b1875b406bc41d2d78ede", 202865),
    ("dsperse-net", "3039ed2022b838b0c000f7e78dda1a695d76eaeaa7050bfa8fd58daab545ca00", 180947),
    ("dummy-age-detection", "1296574e216cb34b647d6f38bca736aa2198ea0477c53f5d95c68eafee2f3a85", 95194),
    ("lstm-benchmark", "fe661e0fd5b312fd303bd953cfe9094eb9f572d091d7dd971fd0c3cef7d3f424", 404736),
    ("matmul-competition", "687a6ed25482d5ff95a7f1e34b26bd63799b91b2a799621b0f46282f27f36c98", 48809),
    ("sn2-pow-reward-tan", "10f812fae0c20dd331e49e4f5a41f0139e98dad2711de9ceffb0ff88a34b182a", 197004),
    ("sn2-reward-factor-v0", "41a10f0440cd7f0fbd677ce26db3df8315a85c0df270e26b0bb4196bfd5cc022", 77903),
    ("sn2-reward-factor-v1", "41a10f0440cd7f0fbd677ce26db3df8315a85c0df270e26b0bb4196bfd5cc022", 77903),
    ("sn2-reward-legacy", "7b92a69c202b6152b689e87b83319fbf653288581537cd61dd562ae73665cff0", 131112),
    ("sn2-reward-sim", "41a10f0440cd7f0fbd677ce26db3df8315a85c0df270e26b0bb4196bfd5cc022", 77903),
    ("sn48-pow-reward", "fe6125062f8395e5762f28dcf62e072a2de579d699d31694f0acd16ee0038259", 129273),
];

#[test]
fn every_corpus_circuit_is_the_one_on_record() {
    let opts = CompileOptions { cache_dir: Some(std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("outputs-cache")), ..CompileOptions::default() };
    let mut differ = Vec::new();
    for (name, id, bytes) in PROVABLE {
        let m = CompiledModel::compile_for_verifying(corpus(&format!("{name}/model.onnx")), &opts).unwrap();
        if hex(&m.circuit_id()) != id || m.proof_size() != bytes {
            differ.push(format!("{name}: {} {} (on record: {id} {bytes})", hex(&m.circuit_id()), m.proof_size()));
        }
    }
    assert!(differ.is_empty(), "circuits changed:\n{}", differ.join("\n"));
}

#[test]
fn claimed_outputs_are_compared_as_the_proved_integers_on_every_corpus_model() {
    // The statement of each model's sample (its outputs as the executor's integers, which a
    // proof of it states: `proves_sample_and_fresh_inputs`), its outputs written as `sigil
    // prove --output` writes them and read back as `sigil verify --output` reads them: they
    // match; one step of any output's scale more does not.
    let opts = CompileOptions { cache_dir: Some(std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("outputs-cache")), ..CompileOptions::default() };
    for (name, _, _) in PROVABLE {
        let m = CompiledModel::compile_for_verifying(corpus(&format!("{name}/model.onnx")), &opts).unwrap();
        let x = m.read_input(corpus(&format!("{name}/input.json"))).unwrap();
        let run = m.plan.execute(&x).unwrap();
        let mut statement = m.input_statement(&x).unwrap();
        statement.resize(m.key.circuit.n_publics, F::ZERO);
        for (p, (_, _, v)) in m.outputs.iter().zip(&run.outputs) {
            for (i, &y) in v.iter().enumerate() {
                statement[p.start + i] = F::from_i64(sigil_onnx::exec::quantize(y, p.frac_bits));
            }
        }
        let outputs = m.statement_outputs(&statement);
        let written = serde_json::json!({ "output_data": outputs }).to_string();
        let v: serde_json::Value = serde_json::from_str(&written).unwrap();
        let claimed: Vec<Vec<f64>> = serde_json::from_value(v["output_data"].clone()).unwrap();
        m.check_outputs(&statement, &claimed).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (k, p) in m.outputs.iter().enumerate() {
            let mut edited = claimed.clone();
            edited[k][p.len - 1] += 1.0 / (1u64 << p.frac_bits) as f64;
            let e = m.check_outputs(&statement, &edited).unwrap_err();
            assert!(e.contains(&format!("element {}", p.len - 1)), "{name}: {e}");
        }
    }
}

#[test]
fn a_boolean_input_is_zero_or_one() {
    // sn2-pow-reward-tan's `verified` is a boolean: the verifier checks it as one (an unsigned
    // bit), so a statement saying 2 (or -1) is refused by name before anything else.
    let path = corpus("sn2-pow-reward-tan/model.onnx");
    let m = CompiledModel::compile(&path, &CompileOptions::default()).unwrap();
    let port = m.inputs.iter().find(|p| p.name == "verified").unwrap();
    let pb = m.key.circuit.public_buses.iter().find(|b| b.start == port.start).unwrap();
    assert_eq!((pb.bits, pb.unsigned), (1, true));
    let input = m.read_input(corpus("sn2-pow-reward-tan/input.json")).unwrap();
    let p = m.prove(&input).unwrap();
    m.verify(&p.statement, &p.proof).unwrap();
    for bad in [F::from_u64(2), -F::ONE] {
        let mut s = p.statement.clone();
        s[port.start] = bad;
        assert_eq!(invalid(m.verify(&s, &p.proof)), VerifyError::PublicValueOutOfRange { index: port.start, bits: 1, unsigned: true });
    }
    // 0 and 1 pass the range check (the flipped one then fails the bus).
    let mut s = p.statement.clone();
    s[port.start] = F::ONE - s[port.start];
    assert_eq!(invalid(m.verify(&s, &p.proof)), VerifyError::BusImbalance);
}

#[test]
fn another_input_or_output_is_refused() {
    let (_, p) = sample();
    let mut s = p.statement.clone();
    s[5] += F::ONE;
    // The public values enter the transcript first and the bus balance: another input draws
    // other challenges and leaves the input bus unbalanced.
    assert_eq!(invalid(net().verify(&s, &p.proof)), VerifyError::BusImbalance);
    let n = s.len();
    let mut s = p.statement.clone();
    s[n - 1] += F::ONE;
    assert_eq!(invalid(net().verify(&s, &p.proof)), VerifyError::BusImbalance);
    // An input past its compiled range (which the verifier checks itself, in place of a
    // range-check table), or a field element standing for a negative one, is refused by name.
    let bits = net().key.circuit.public_buses[0].bits;
    for bad in [F::from_u64(1 << (bits - 1)), -F::from_u64((1 << (bits - 1)) + 1)] {
        let mut s = p.statement.clone();
        s[9] = bad;
        assert_eq!(invalid(net().verify(&s, &p.proof)), VerifyError::PublicValueOutOfRange { index: 9, bits, unsigned: false });
    }
    // The largest and smallest values in range pass the range check (and then fail the bus).
    for edge in [F::from_u64((1 << (bits - 1)) - 1), -F::from_u64(1 << (bits - 1))] {
        let mut s = p.statement.clone();
        s[9] = edge;
        assert_eq!(invalid(net().verify(&s, &p.proof)), VerifyError::BusImbalance);
    }
}

#[test]
fn edited_output_bytes_in_a_proof_file_are_refused() {
    let (_, p) = sample();
    let file = ModelProof { circuit_id: net().circuit_id(), statement: p.statement.clone(), context: Vec::new(), proof: p.proof.clone() };
    let mut bytes = file.to_bytes();
    // The last public value is the last output: it sits just before the context's length (an
    // empty context) and the proof.
    let at = bytes.len() - p.proof.len() - 4 - 8;
    bytes[at + 2] ^= 0x10;
    let parsed = ModelProof::from_bytes(&bytes, net()).unwrap();
    invalid(net().verify(&parsed.statement, &parsed.proof));
    // Another size, or another circuit id, is refused before any proof work.
    assert!(ModelProof::from_bytes(&bytes[1..], net()).is_err());
    let mut other = file.to_bytes();
    other[8] ^= 1;
    assert!(matches!(ModelProof::from_bytes(&other, net()), Err(ModelError::Statement(_))));
}

#[test]
fn a_proof_verifies_only_in_the_context_it_was_made_in() {
    // The node binds a request's nonce and the miner's hotkey as the proof's context: a proof
    // relayed to another request, or claimed by another miner, does not verify.
    let (input, _) = sample();
    let ctx = b"sigil/request/1 nonce=00112233 miner=5DoHMxBAWs1xSc1JJyZ8zanuUxMWSShgvKTQ8uCiDSr5doBv";
    let p = net().prove_in_context(input, ctx).unwrap();
    net().verify_in_context(&p.statement, ctx, &p.proof).unwrap();
    let mut other = ctx.to_vec();
    other[22] ^= 1;
    invalid(net().verify_in_context(&p.statement, &other, &p.proof));
    invalid(net().verify(&p.statement, &p.proof));
    // A proof made without a context does not verify in one.
    invalid(net().verify_in_context(&p.statement, ctx, &sample().1.proof));
    // The context travels in the proof file, and a changed byte there is refused.
    let file = ModelProof { circuit_id: net().circuit_id(), statement: p.statement.clone(), context: ctx.to_vec(), proof: p.proof.clone() };
    let mut bytes = file.to_bytes();
    let parsed = ModelProof::from_bytes(&bytes, net()).unwrap();
    assert_eq!(parsed, file);
    let at = bytes.len() - p.proof.len() - 3;
    bytes[at] ^= 1;
    let parsed = ModelProof::from_bytes(&bytes, net()).unwrap();
    invalid(net().verify_in_context(&parsed.statement, &parsed.context, &parsed.proof));
    // A context past the limit is refused by the prover and the verifier, by name.
    let long = vec![7u8; sigil_verifier::MAX_CONTEXT_BYTES + 1];
    assert!(matches!(net().prove_in_context(input, &long), Err(ModelError::Prove(sigil_prover::ProveError::ContextTooLong { .. }))));
    assert!(matches!(invalid(net().verify_in_context(&p.statement, &long, &p.proof)), VerifyError::ContextTooLong { .. }));
}

#[test]
fn a_proof_of_another_model_is_refused() {
    let doom = CompiledModel::compile(corpus("dsperse-doom/model.onnx"), &CompileOptions::default()).unwrap();
    let (_, p) = sample();
    let e = doom.verify(&p.statement, &p.proof);
    assert!(matches!(e, Err(ModelError::Statement(_)) | Err(ModelError::Invalid(_))), "{e:?}");
    // Even with a statement of the right length, the proof is not doom's.
    let (d_in, d_out) = (doom.inputs[0].len, doom.outputs[0].len);
    let s = vec![F::ZERO; d_in + d_out];
    invalid(doom.verify(&s, &p.proof));
}

#[test]
fn a_changed_relu_output_with_the_rest_recomputed_is_refused() {
    // Element 7 of the first ReLU one more, and every later layer computed from it: the
    // constraints of the chip that applies it (the first convolution's rescale, fused with
    // the ReLU) fail on that row, and the proof does not verify.
    let (input, _) = sample();
    let lie = Tamper { node: "/Relu".into(), index: 7, delta: 1 };
    let p = net().prove_tampered(input, &lie).unwrap();
    sigil_tests::assert_ood_names(&invalid(net().verify(&p.statement, &p.proof)), sigil_tests::table_of(&net().key.circuit, "/conv1/Conv/rescale+/Relu"));
    // A lie about a node no step answers for is refused before proving.
    let lie = Tamper { node: "/conv1/Conv".into(), index: 7, delta: 1 };
    assert!(matches!(net().prove_tampered(input, &lie), Err(ModelError::Statement(_))));
}

#[test]
fn a_changed_layer_output_is_refused() {
    let (input, _) = sample();
    for (node, chip) in [("/fc3/Gemm", "/fc3/Gemm/rescale"), ("/Relu_1", "/conv2/Conv/rescale+/Relu_1")] {
        let lie = Tamper { node: node.into(), index: 0, delta: -3 };
        let p = net().prove_tampered(input, &lie).unwrap();
        // The rescale that produced the changed value no longer holds.
        sigil_tests::assert_ood_names(&invalid(net().verify(&p.statement, &p.proof)), sigil_tests::table_of(&net().key.circuit, chip));
    }
}

#[test]
fn dsperse_doom_proves() {
    let doom = CompiledModel::compile(corpus("dsperse-doom/model.onnx"), &CompileOptions::default()).unwrap();
    let input = doom.read_input(corpus("dsperse-doom/input.json")).unwrap();
    let p = doom.prove(&input).unwrap();
    doom.verify(&p.statement, &p.proof).unwrap();
    let run = doom.plan.execute(&input).unwrap();
    assert_eq!(p.outputs[0], run.outputs[0].2);
}

#[test]
fn reward_models_prove_fresh_inputs() {
    for name in ["sn2-reward-factor-v0", "sn2-reward-factor-v1", "sn2-reward-sim", "sn2-reward-legacy"] {
        proves_sample_and_fresh_inputs(name, &[7, 8]);
    }
}

#[test]
fn a_changed_sum_or_product_is_refused() {
    let m = CompiledModel::compile(corpus("sn2-reward-factor-v0/model.onnx"), &CompileOptions::default()).unwrap();
    let x = m.read_input(corpus("sn2-reward-factor-v0/input.json")).unwrap();
    let lie = Tamper { node: "/Add".into(), index: 0, delta: 1 };
    let p = m.prove_tampered(&x, &lie).unwrap();
    sigil_tests::assert_ood_names(&invalid(m.verify(&p.statement, &p.proof)), sigil_tests::table_of(&m.key.circuit, "/Add"));
    let lie = Tamper { node: "/Mul_1".into(), index: 0, delta: 1 };
    let p = m.prove_tampered(&x, &lie).unwrap();
    sigil_tests::assert_ood_names(&invalid(m.verify(&p.statement, &p.proof)), sigil_tests::table_of(&m.key.circuit, "/Mul_1/rescale"));
}

#[test]
fn a_changed_quotient_is_refused() {
    let m = CompiledModel::compile(corpus("sn2-reward-legacy/model.onnx"), &CompileOptions::default()).unwrap();
    let x = m.read_input(corpus("sn2-reward-legacy/input.json")).unwrap();
    let lie = Tamper { node: "/Div".into(), index: 0, delta: 1 };
    let p = m.prove_tampered(&x, &lie).unwrap();
    sigil_tests::assert_ood_names(&invalid(m.verify(&p.statement, &p.proof)), sigil_tests::table_of(&m.key.circuit, "/Div"));
    // And a minimum one more.
    let lie = Tamper { node: "/Min".into(), index: 0, delta: 1 };
    let p = m.prove_tampered(&x, &lie).unwrap();
    sigil_tests::assert_ood_names(&invalid(m.verify(&p.statement, &p.proof)), sigil_tests::table_of(&m.key.circuit, "/Min"));
}

#[test]
fn a_proof_made_with_a_changed_weight_is_refused() {
    // One weight of dsperse-doom changed by about 6% (mantissa bit 20 flipped; the lowest bits
    // would vanish in quantization, leaving the same circuit), found in the file by the bytes
    // of a weight tensor's first floats: a model with one weight changed, which proves its own
    // output.
    let path = corpus("dsperse-doom/model.onnx");
    let mut bytes = std::fs::read(&path).unwrap();
    let model = sigil_onnx::load_model(&path).unwrap();
    let floats = model
        .graph
        .initializers
        .values()
        .find_map(|t| match &t.data {
            sigil_onnx::TensorData::F32(v) if v.len() >= 16 => Some(v[..4].to_vec()),
            _ => None,
        })
        .unwrap();
    let pattern: Vec<u8> = floats.iter().flat_map(|f| f.to_le_bytes()).collect();
    let at = bytes.windows(pattern.len()).position(|w| w == pattern.as_slice()).unwrap();
    bytes[at + 2] ^= 0x10;
    let dir = std::env::temp_dir().join(format!("sigil-weight-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("model.onnx"), &bytes).unwrap();
    std::fs::copy(corpus("dsperse-doom/input.json"), dir.join("input.json")).unwrap();
    let changed = CompiledModel::compile(dir.join("model.onnx"), &CompileOptions::default()).unwrap();
    let doom = CompiledModel::compile(&path, &CompileOptions::default()).unwrap();
    assert_ne!(changed.circuit_id(), doom.circuit_id(), "the weights are in the circuit id");
    let x = changed.read_input(dir.join("input.json")).unwrap();
    let p = changed.prove(&x).unwrap();
    changed.verify(&p.statement, &p.proof).unwrap();
    // Against the real model: the proof's circuit is another one.
    assert_eq!(invalid(doom.verify(&p.statement, &p.proof)), VerifyError::WrongCircuit);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_changed_maximum_is_refused() {
    let (input, _) = sample();
    let lie = Tamper { node: "/pool/MaxPool".into(), index: 3, delta: 1 };
    let p = net().prove_tampered(input, &lie).unwrap();
    sigil_tests::assert_ood_names(&invalid(net().verify(&p.statement, &p.proof)), sigil_tests::table_of(&net().key.circuit, "/pool/MaxPool"));
}

#[test]
fn products_of_computed_matrices_and_divisions_by_computed_values_prove() {
    // matmul-competition: two slices of the input multiplied (MatMul of two computed values);
    // sn48-pow-reward: an integer input, Expand, Cast, Abs and a division by a computed price
    // (compiled at 14 fractional bits: at 16 the division's terms could pass the field).
    for name in ["matmul-competition", "sn48-pow-reward"] {
        proves_sample_and_fresh_inputs(name, &[5]);
    }
}

#[test]
fn a_changed_matrix_product_quotient_or_magnitude_is_refused() {
    let m = CompiledModel::compile(corpus("matmul-competition/model.onnx"), &CompileOptions::default()).unwrap();
    let x = m.read_input(corpus("matmul-competition/input.json")).unwrap();
    let p = m.prove_tampered(&x, &Tamper { node: "/MatMul".into(), index: 2, delta: 1 }).unwrap();
    sigil_tests::assert_ood_names(&invalid(m.verify(&p.statement, &p.proof)), sigil_tests::table_of(&m.key.circuit, "/MatMul/rescale"));
    let m = CompiledModel::compile(corpus("sn48-pow-reward/model.onnx"), &CompileOptions::default()).unwrap();
    let x = m.read_input(corpus("sn48-pow-reward/input.json")).unwrap();
    for node in ["/Div_1", "/Abs"] {
        let p = m.prove_tampered(&x, &Tamper { node: node.into(), index: 3, delta: 1 }).unwrap();
        sigil_tests::assert_ood_names(&invalid(m.verify(&p.statement, &p.proof)), sigil_tests::table_of(&m.key.circuit, node));
    }
}

#[test]
fn lstm_benchmark_proves_fresh_inputs() {
    // Two stacked LSTMs over 5 steps and a dense layer: each step laid out as products,
    // sums, table activations and rescales.
    proves_sample_and_fresh_inputs("lstm-benchmark", &[9]);
}

#[test]
fn a_changed_lstm_state_or_gate_is_refused() {
    let m = CompiledModel::compile(corpus("lstm-benchmark/model.onnx"), &CompileOptions::default()).unwrap();
    let x = m.read_input(corpus("lstm-benchmark/input.json")).unwrap();
    for (node, chip) in [("LSTM__59/t4/h", "LSTM__59/t4/h/rescale"), ("LSTM__43/t1/Sigmoid i o f", "LSTM__43/t1/Sigmoid i o f"), ("LSTM__43/t2/c", "LSTM__43/t2/c/rescale")] {
        let p = m.prove_tampered(&x, &Tamper { node: node.into(), index: 7, delta: 1 }).unwrap();
        sigil_tests::assert_ood_names(&invalid(m.verify(&p.statement, &p.proof)), sigil_tests::table_of(&m.key.circuit, chip));
    }
}

#[test]
fn sn2_pow_reward_tan_proves_fresh_inputs_and_refuses_lies() {
    // Boolean and integer inputs, Clip, Where, Tan (its period reduction proved too), and
    // integer outputs passed through.
    let (m, sample) = proves_sample_and_fresh_inputs("sn2-pow-reward-tan", &[21, 22]);
    for node in ["/Where_2", "/Tan", "/Clip_1"] {
        let p = m.prove_tampered(&sample, &Tamper { node: node.into(), index: 0, delta: 1 }).unwrap();
        sigil_tests::assert_ood_names(&invalid(m.verify(&p.statement, &p.proof)), sigil_tests::table_of(&m.key.circuit, node));
    }
}

#[test]
fn constant_outputs_are_part_of_the_statement() {
    // dummy-age-detection's outputs do not depend on its input (ConstantOfShape): the proof
    // still states them, and another output is refused.
    let m = CompiledModel::compile(corpus("dummy-age-detection/model.onnx"), &CompileOptions::default()).unwrap();
    let sample = m.read_input(corpus("dummy-age-detection/input.json")).unwrap();
    let x = random_like(&sample, 31, true);
    let p = m.prove(&x).unwrap();
    m.verify(&p.statement, &p.proof).unwrap();
    let run = m.plan.execute(&x).unwrap();
    let want: Vec<Vec<f64>> = run.outputs.iter().map(|(_, _, v)| v.clone()).collect();
    assert_eq!(p.outputs, want);
    let mut s = p.statement.clone();
    let last = s.len() - 1;
    s[last] += F::ONE;
    assert_eq!(invalid(m.verify(&s, &p.proof)), VerifyError::BusImbalance);
}

/// A fresh, empty directory under the target directory for one test.
fn scratch_dir(name: &str) -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn a_cached_key_is_the_key_built_afresh() {
    use sigil_onnx::circuit::KeyCache;
    let dir = scratch_dir("key-cache");
    let path = corpus("dsperse-doom/model.onnx");
    let opts = CompileOptions { cache_dir: Some(dir.clone()), ..CompileOptions::default() };
    let fresh = CompiledModel::compile(&path, &CompileOptions::default()).unwrap();
    let first = CompiledModel::compile(&path, &opts).unwrap();
    let KeyCache::Written(file) = &first.key_cache else { panic!("not written: {:?}", first.key_cache) };
    let second = CompiledModel::compile(&path, &opts).unwrap();
    assert_eq!(second.key_cache, KeyCache::Hit(file.clone()));
    // Same circuit id, same preprocessed data, same proof bytes.
    assert_eq!(second.circuit_id(), fresh.circuit_id());
    assert_eq!(second.key.prep_ldes(), fresh.key.prep_ldes());
    // Read in place from the mapped file, not copied.
    let mapped = |m: &CompiledModel| m.key.prep_ldes().iter().flatten().all(|l| matches!(l.matrix.values, sigil_prover::LdeValues::Mapped(_)));
    assert!(mapped(&second) && !mapped(&fresh));
    let input = fresh.read_input(corpus("dsperse-doom/input.json")).unwrap();
    let (a, b) = (fresh.prove(&input).unwrap(), second.prove(&input).unwrap());
    assert_eq!(a.proof, b.proof);
    second.verify(&b.statement, &b.proof).unwrap();

    // Other settings are another key; the first one stays.
    let mut other = opts.clone();
    other.proof.grinding_bits += 1;
    let third = CompiledModel::compile(&path, &other).unwrap();
    assert!(matches!(&third.key_cache, KeyCache::Written(f) if f != file), "{:?}", third.key_cache);

    // A damaged file (one flipped bit deep in the extension data, or a cut) is rebuilt and
    // replaced, never used.
    let bytes = std::fs::read(file).unwrap();
    for damaged in [{ let mut b = bytes.clone(); b[bytes.len() / 2] ^= 4; b }, bytes[..bytes.len() - 1].to_vec()] {
        std::fs::write(file, &damaged).unwrap();
        let m = CompiledModel::compile(&path, &opts).unwrap();
        assert_eq!(m.key_cache, KeyCache::Written(file.clone()));
        assert_eq!(m.circuit_id(), fresh.circuit_id());
        assert_eq!(std::fs::read(file).unwrap(), bytes);
    }
}

#[test]
fn a_verifier_reads_the_cached_circuit_id_alone() {
    use sigil_onnx::circuit::KeyCache;
    let dir = scratch_dir("id-cache");
    let path = corpus("dsperse-doom/model.onnx");
    let opts = CompileOptions { cache_dir: Some(dir.clone()), ..CompileOptions::default() };
    // Before the cache holds anything, verifying compiles in full (and caches the key and
    // the id), keeping only what verifying needs.
    let first = CompiledModel::compile_for_verifying(&path, &opts).unwrap();
    assert!(matches!(first.key_cache, KeyCache::Written(_)), "{:?}", first.key_cache);
    assert!(!first.key.can_prove());
    let full = CompiledModel::compile(&path, &opts).unwrap();
    assert_eq!(first.circuit_id(), full.circuit_id());
    let v = CompiledModel::compile_for_verifying(&path, &opts).unwrap();
    let KeyCache::Hit(id_file) = &v.key_cache else { panic!("{:?}", v.key_cache) };
    assert!(id_file.extension().is_some_and(|e| e == "id"));
    assert!(!v.key.can_prove());
    assert_eq!(v.circuit_id(), full.circuit_id());
    let input = full.read_input(corpus("dsperse-doom/input.json")).unwrap();
    let p = full.prove(&input).unwrap();
    v.verify(&p.statement, &p.proof).unwrap();
    assert!(matches!(v.prove(&input), Err(ModelError::Prove(sigil_prover::ProveError::VerifyingOnly))));
    // A damaged id file is not used: the verifier derives the id from the (authentic) key.
    let mut bytes = std::fs::read(id_file).unwrap();
    bytes[3] ^= 1;
    std::fs::write(id_file, &bytes).unwrap();
    let again = CompiledModel::compile_for_verifying(&path, &opts).unwrap();
    assert!(matches!(&again.key_cache, KeyCache::Hit(f) if f.extension().is_some_and(|e| e == "pk")), "{:?}", again.key_cache);
    assert!(!again.key.can_prove());
    assert_eq!(again.circuit_id(), full.circuit_id());
    // Without the cache's key (no place for it), the cache is not used at all.
    let keyless = CompileOptions { cache_key_file: Some(dir.join("keys").join("inside.key")), ..opts.clone() };
    let m = CompiledModel::compile_for_verifying(&path, &keyless).unwrap();
    assert!(matches!(&m.key_cache, KeyCache::NotWritten(why) if why.contains("inside the cache")), "{:?}", m.key_cache);
    assert_eq!(m.circuit_id(), full.circuit_id());
}

#[test]
fn a_cached_key_of_other_settings_or_shape_is_refused() {
    let m = CompiledModel::compile(corpus("sn2-reward-sim/model.onnx"), &CompileOptions::default()).unwrap();
    let other = CompiledModel::compile(corpus("matmul-competition/model.onnx"), &CompileOptions::default()).unwrap();
    let (tag, secret) = ([7u8; 32], [3u8; 32]);
    let mut bytes = Vec::new();
    m.key.write_cache(&tag, &secret, &mut bytes).unwrap();
    // A fresh copy of a model's circuit (circuits hold boxed chips: compile again).
    let rebuild = |m: &CompiledModel| CompiledModel::compile(&m.path, &CompileOptions::default()).unwrap().key.circuit;
    let key = sigil_prover::ProvingKey::read_cache(rebuild(&m), &tag, &secret, &bytes[..]).unwrap();
    assert_eq!(key.circuit_id, m.circuit_id());
    let err = |r: Result<sigil_prover::ProvingKey, (Box<sigil_verifier::Circuit>, std::io::Error)>| r.map(|_| ()).unwrap_err().1.to_string();
    assert!(err(sigil_prover::ProvingKey::read_cache(rebuild(&m), &[8u8; 32], &secret, &bytes[..])).contains("other settings"));
    assert!(err(sigil_prover::ProvingKey::read_cache(rebuild(&other), &tag, &secret, &bytes[..])).contains("differ"));
    let mut flipped = bytes.clone();
    let at = flipped.len() - 40;
    flipped[at] ^= 1;
    assert!(err(sigil_prover::ProvingKey::read_cache(rebuild(&m), &tag, &secret, &flipped[..])).contains("damaged"));
    assert!(!err(sigil_prover::ProvingKey::read_cache(rebuild(&m), &tag, &secret, &bytes[..bytes.len() - 3])).is_empty());
    // Written under another secret (or by anyone without this one, whatever hash they
    // append): refused, though every byte before the hash is the key's.
    let mut other_secret = Vec::new();
    m.key.write_cache(&tag, &[4u8; 32], &mut other_secret).unwrap();
    assert_eq!(other_secret[..other_secret.len() - 32], bytes[..bytes.len() - 32]);
    assert!(err(sigil_prover::ProvingKey::read_cache(rebuild(&m), &tag, &secret, &other_secret[..])).contains("not written with this cache's secret"));
    let unkeyed = [&bytes[..bytes.len() - 32], blake3::hash(&bytes[..bytes.len() - 32]).as_bytes()].concat();
    assert!(err(sigil_prover::ProvingKey::read_cache(rebuild(&m), &tag, &secret, &unkeyed[..])).contains("damaged"));
}

#[test]
fn inspect_agrees_with_compile_on_every_corpus_and_transformer_model() {
    // `provable` exactly when compiling succeeds; a model that does not compile names the node
    // that stops it (the one the compile error names), and every node of a provable one says
    // what proves it.
    let opts = CompileOptions { cache_dir: Some(std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("outputs-cache")), ..CompileOptions::default() };
    let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared");
    let mut models: Vec<std::path::PathBuf> = Vec::new();
    for dir in ["models", "transformers"] {
        for e in std::fs::read_dir(format!("{shared}/{dir}")).unwrap() {
            let folder = e.unwrap().path();
            if let Some(onnx) = std::fs::read_dir(&folder).ok().and_then(|d| d.filter_map(|f| f.ok().map(|f| f.path())).find(|p| p.extension().is_some_and(|x| x == "onnx"))) {
                models.push(onnx);
            }
        }
    }
    models.sort();
    assert!(models.len() >= 18, "{models:?}");
    let mut provable = 0;
    for path in &models {
        let report = sigil_onnx::circuit::inspect(&sigil_onnx::load_model(path).unwrap(), path, &CompileOptions::default());
        let compiled = CompiledModel::compile_for_verifying(path, &opts);
        assert_eq!(report.provable, compiled.is_ok(), "{}: {:?}", path.display(), report.error);
        match compiled {
            Ok(_) => {
                provable += 1;
                assert!(report.nodes.iter().all(|n| n.proved_by.is_some()), "{}: {:?}", path.display(), report.nodes);
            }
            Err(e) => {
                assert_eq!(report.error.as_deref(), Some(e.to_string().as_str()), "{}", path.display());
                if let Some(stop) = &report.stopped_at {
                    assert!(e.to_string().contains(&format!("`{stop}`")), "{}: {e}", path.display());
                    let n = report.nodes.iter().find(|n| n.name == *stop).unwrap();
                    assert!(n.proved_by.is_none() && matches!(n.status, "unsupported" | "executed only" | "refused"), "{n:?}");
                }
            }
        }
    }
    // The corpus models of the table above, and the three transformers.
    assert_eq!(provable, PROVABLE.len() + 3);
}
