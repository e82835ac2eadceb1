//! The integer executor against onnxruntime's float outputs (`tests/reference/`), on every
//! corpus model whose operators it supports; the others must fail with `UnsupportedOp`.

use std::path::PathBuf;

use serde_json::Value;
use sigil_onnx::{InputTensor, OnnxError, execute, load_model, parse_inputs, read_inputs};

const FRAC_BITS: u32 = 16;

/// `x_i = ((i * 2654435761) mod 2^32) / 2^32`, the input `scripts/onnx_reference.py` generates
/// for models without a sample input.
fn generated(model: &sigil_onnx::Model) -> Vec<InputTensor> {
    let mut offset = 0u64;
    model
        .graph
        .inputs
        .iter()
        .map(|i| {
            let dims = i.fixed_dims();
            let n: usize = dims.iter().product();
            let values = (offset..offset + n as u64)
                .map(|k| ((k.wrapping_mul(2654435761)) % (1 << 32)) as f64 / (1u64 << 32) as f64)
                .collect();
            offset += n as u64;
            InputTensor { name: i.name.clone(), elem_type: i.elem_type, dims, values }
        })
        .collect()
}

#[test]
fn supported_models_match_onnxruntime() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models");
    let refs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference");
    let supported = [
        "dsperse-doom",
        "dsperse-net",
        "sn2-reward-factor-v0",
        "sn2-reward-factor-v1",
        "sn2-reward-sim",
        "sn2-reward-legacy",
        "matmul-competition",
        "dummy-age-detection",
        "sn48-pow-reward",
        "age-ssrnet-competition1",
        "dsperse-age",
        "dsperse-version-facedet",
        "lstm-benchmark",
        "sn2-pow-reward-tan",
        "sn27-pow-reward",
    ];
    let mut report = String::new();
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("model.onnx").is_file() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let model = load_model(dir.join("model.onnx")).unwrap();
        let r: Value = serde_json::from_str(&std::fs::read_to_string(refs.join(format!("{name}.json"))).unwrap()).unwrap();
        let inputs = if let Some(derived) = r.get("derived_input") {
            // The published input does not fit the model; the script mapped it (see there).
            if let Err(e) = read_inputs(dir.join("input.json"), &model) {
                report.push_str(&format!("{name}: published input rejected ({e}); using the reference's derived input\n"));
            }
            parse_inputs(&derived.to_string(), &model, &name).unwrap()
        } else if dir.join("input.json").is_file() {
            match read_inputs(dir.join("input.json"), &model) {
                Ok(i) => i,
                Err(e) => {
                    report.push_str(&format!("{name}: input rejected: {e}\n"));
                    continue;
                }
            }
        } else {
            generated(&model)
        };
        match execute(&model, &inputs, FRAC_BITS, &name) {
            Ok(run) => {
                assert!(supported.contains(&name.as_str()), "{name} ran but is not listed as supported");
                for (out, dims, got) in &run.outputs {
                    let want: Vec<f64> = r["outputs"][out]["data"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
                    assert_eq!(got.len(), want.len(), "{name}/{out} {dims:?}");
                    let err: f64 = got.iter().zip(&want).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
                    let norm: f64 = want.iter().map(|b| b * b).sum::<f64>().sqrt().max(1e-12);
                    let max_abs = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
                    let argmax = |v: &[f64]| v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i);
                    let scale = want.iter().fold(0.0f64, |m, b| m.max(b.abs())).max(1e-12);
                    report.push_str(&format!(
                        "{name}/{out}: relative L2 {:.2e}, max abs {:.2e}, max relative to the output's largest magnitude {:.2e}, argmax {}\n",
                        err / norm,
                        max_abs,
                        max_abs / scale,
                        if argmax(got) == argmax(&want) { "agrees" } else { "DIFFERS" }
                    ));
                    assert!(err / norm < 0.01, "{name}/{out}: relative L2 error {}", err / norm);
                    assert_eq!(argmax(got), argmax(&want), "{name}/{out}: argmax");
                }
            }
            Err(OnnxError::UnsupportedOp { node, op, opset, .. }) => {
                assert!(!supported.contains(&name.as_str()), "{name}: {op} at {node}");
                report.push_str(&format!("{name}: not yet: {op} (opset {opset}) at node `{node}`\n"));
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
    println!("{report}");
}

mod fuzz {
    use proptest::prelude::*;
    use sigil_onnx::{Dim, InputTensor, execute, parse_model};

    fn run_flipped(model: &str, pos: prop::sample::Index, v: u8) {
        let path = format!("{}/../../shared/models/{model}/model.onnx", env!("CARGO_MANIFEST_DIR"));
        let mut bytes = std::fs::read(path).unwrap();
        let i = pos.index(bytes.len());
        bytes[i] = v;
        let Ok(m) = parse_model(&bytes, "flipped.onnx") else { return };
        let inputs: Vec<InputTensor> = m
            .graph
            .inputs
            .iter()
            .map(|i| {
                let dims: Vec<usize> = i.shape.iter().flatten().map(|d| if let Dim::Fixed(n) = d { (*n).min(64) } else { 1 }).collect();
                let n = dims.iter().product();
                InputTensor { name: i.name.clone(), elem_type: i.elem_type, dims, values: vec![0.5; n] }
            })
            .collect();
        let _ = execute(&m, &inputs, 16, "flipped.onnx");
    }

    /// Small models that cover the linear ops, lookup tables (Tan, Sigmoid, Tanh), LSTM, Where,
    /// comparisons, ScatterND and reductions.
    const MODELS: [&str; 6] = ["matmul-competition", "sn2-reward-legacy", "sn48-pow-reward", "sn2-pow-reward-tan", "lstm-benchmark", "sn27-pow-reward"];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

        /// The larger CNNs (BatchNormalization folding, pooling, Pad, Tanh), corrupted: run
        /// by hand in release, `cargo test --release -p sigil-onnx --test exec -- --ignored`.
        #[test]
        #[ignore]
        fn corrupted_cnns_never_panic_the_executor(pos in any::<prop::sample::Index>(), v in any::<u8>(), which in 0..3usize) {
            run_flipped(["age-ssrnet-competition1", "dsperse-net", "dsperse-doom"][which], pos, v);
        }

        /// A corrupted model is an error or a result, never a panic.
        #[test]
        fn corrupted_models_never_panic_the_executor(pos in any::<prop::sample::Index>(), v in any::<u8>(), which in 0..MODELS.len()) {
            run_flipped(MODELS[which], pos, v);
        }
    }
}
