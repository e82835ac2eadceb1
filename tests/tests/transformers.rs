//! The transformer exports of `../shared/transformers/` (nanoGPT's benchmark shape, PyTorch's
//! `nn.TransformerEncoder`, a block at GPT-2 small's width), against PyTorch's own output,
//! which each folder's `input.json` carries as `output_data`: relative L2 error under 2%, and
//! the same argmax at 95% of the positions whose reference is not a near-tie (top-2 gap above
//! 5% of the logits' standard deviation). nanogpt and encoder-tiny are compiled, proved and
//! verified (and their proofs refused when edited, flipped or checked against the other
//! model); gpt2-block runs through the executor here and is proved by the benchmarks
//! (`benches/transformers.sh`), its key being 9 GB.

use std::path::PathBuf;
use std::sync::OnceLock;

use p3_field::PrimeCharacteristicRing;
use sigil_onnx::circuit::{CompileOptions, CompiledModel, ModelError, Proved};
use sigil_onnx::{execute, load_model, read_inputs};

fn folder(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/transformers")).join(name)
}

fn flat(v: &serde_json::Value, out: &mut Vec<f64>) {
    match v {
        serde_json::Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
        x => out.push(x.as_f64().unwrap()),
    }
}

/// PyTorch's output for `name`.
fn reference(name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(folder(name).join("input.json")).unwrap();
    let mut want = Vec::new();
    flat(&serde_json::from_str::<serde_json::Value>(&text).unwrap()["output_data"], &mut want);
    want
}

/// (relative L2 error, positions with the same argmax, positions that are not near-ties) of
/// `got` against PyTorch's output for `name`, for logits of `vocab` per position.
fn compare(name: &str, got: &[f64], vocab: usize) -> (f64, usize, usize) {
    let want = reference(name);
    assert_eq!(got.len(), want.len(), "{name}");
    let err = got.iter().zip(&want).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt() / want.iter().map(|b| b * b).sum::<f64>().sqrt();
    let mean = want.iter().sum::<f64>() / want.len() as f64;
    let sd = (want.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / want.len() as f64).sqrt();
    let argmax = |v: &[f64]| v.iter().enumerate().fold(0, |m, (i, &x)| if x > v[m] { i } else { m });
    let (mut same, mut counted) = (0, 0);
    for (w, g) in want.chunks(vocab).zip(got.chunks(vocab)) {
        let mut s = w.to_vec();
        s.sort_by(|a, b| b.total_cmp(a));
        if s[0] - s[1] <= 0.05 * sd {
            continue;
        }
        counted += 1;
        same += usize::from(argmax(w) == argmax(g));
    }
    println!("{name}: relative L2 {err:.2e}, argmax {same}/{counted}");
    (err, same, counted)
}

/// The executor's output for `name` at 16 fractional bits.
fn executed(name: &str) -> Vec<f64> {
    let dir = folder(name);
    let model = load_model(dir.join("model.onnx")).unwrap();
    let input = read_inputs(dir.join("input.json"), &model).unwrap();
    let run = execute(&model, &input, 16, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    run.outputs.iter().flat_map(|(_, _, v)| v.iter().copied()).collect()
}

/// `name` compiled with the default options, and a proof of its sample input (verified).
fn proved(name: &str) -> (CompiledModel, Proved) {
    let dir = folder(name);
    let m = CompiledModel::compile(dir.join("model.onnx"), &CompileOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let x = m.read_input(dir.join("input.json")).unwrap();
    let p = m.prove(&x).unwrap_or_else(|e| panic!("{name}: {e}"));
    m.verify(&p.statement, &p.proof).unwrap_or_else(|e| panic!("{name}: {e}"));
    (m, p)
}

fn nanogpt() -> &'static (CompiledModel, Proved) {
    static M: OnceLock<(CompiledModel, Proved)> = OnceLock::new();
    M.get_or_init(|| proved("nanogpt"))
}

fn encoder() -> &'static (CompiledModel, Proved) {
    static M: OnceLock<(CompiledModel, Proved)> = OnceLock::new();
    M.get_or_init(|| proved("encoder-tiny"))
}

/// The edits a verifier must refuse: the last output value one step more, and byte flips
/// through the proof.
fn edits_are_refused(name: &str, (m, p): &(CompiledModel, Proved)) {
    let mut s = p.statement.clone();
    *s.last_mut().unwrap() += p3_goldilocks::Goldilocks::ONE;
    assert!(matches!(m.verify(&s, &p.proof), Err(ModelError::Invalid(_))), "{name}: an edited output verified");
    for k in [0, 9, p.proof.len() / 3, p.proof.len() / 2, p.proof.len() - 1] {
        let mut bad = p.proof.clone();
        bad[k] ^= 0x10;
        assert!(m.verify(&p.statement, &bad).is_err(), "{name}: byte {k} flipped and verified");
    }
}

#[test]
fn nanogpt_proves_as_pytorch_runs() {
    // The embedding by token ids, Split (the fused QKV projection), attention's two products of
    // computed tensors, a causal mask of -inf through Where, Softmax, LayerNormalization, tanh
    // GELU, the tied head.
    let (_, p) = nanogpt();
    let (err, same, counted) = compare("nanogpt", &p.outputs[0], 65);
    assert!(err < 0.02, "{err}");
    assert!(counted > 32 && same * 100 >= counted * 95, "{same}/{counted}");
    edits_are_refused("nanogpt", nanogpt());
}

#[test]
fn encoder_proves_as_pytorch_runs() {
    // Mod and Shape arithmetic (folded), exact GELU through Erf, mean pooling.
    let (_, p) = encoder();
    let (err, _, _) = compare("encoder-tiny", &p.outputs[0], 10);
    assert!(err < 0.02, "{err}");
    edits_are_refused("encoder-tiny", encoder());
}

#[test]
fn another_models_proof_is_refused() {
    let ((nano, _), (enc, p)) = (nanogpt(), encoder());
    assert_ne!(nano.circuit_id(), enc.circuit_id());
    assert!(nano.verify(&p.statement, &p.proof).is_err());
}

#[test]
fn the_executor_runs_nanogpt_as_pytorch_does() {
    let (err, same, counted) = compare("nanogpt", &executed("nanogpt"), 65);
    assert!(err < 0.02, "{err}");
    assert!(counted > 32 && same * 100 >= counted * 95, "{same}/{counted}");
}

#[test]
fn the_executor_runs_gpt2_block_as_pytorch_does() {
    let (err, same, counted) = compare("gpt2-block", &executed("gpt2-block"), 256);
    assert!(err < 0.02, "{err}");
    assert!(counted > 8 && same * 100 >= counted * 95, "{same}/{counted}");
}

#[test]
fn an_export_converted_to_opset_21_is_the_same_circuit() {
    // encoder-tiny converted from opset 17 to 21 by ONNX's version converter
    // (`scripts/opset_fixtures.py`): ReduceMean reads its axes from an input there.
    let converted = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/opsets/encoder-tiny-opset21/model.onnx"));
    let model = load_model(&converted).unwrap();
    assert_eq!(model.opset(), Some(21));
    let m = CompiledModel::compile_for_verifying(&converted, &CompileOptions::default()).unwrap();
    assert_eq!(m.circuit_id(), encoder().0.circuit_id());
    let (_, p) = encoder();
    m.verify(&p.statement, &p.proof).unwrap();
}
