//! The transformer exports of `../shared/transformers/` (nanoGPT's benchmark shape, PyTorch's
//! `nn.TransformerEncoder`, a block at GPT-2 small's width) through the fixed-point executor,
//! against PyTorch's own output, which each folder's `input.json` carries as `output_data`:
//! relative L2 error under 2%, and the same argmax at every position whose reference is not a
//! near-tie (top-2 gap above 5% of the logits' standard deviation).

use std::path::PathBuf;

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

/// Runs `name` at 16 fractional bits; returns (relative L2 error, positions with the same
/// argmax, positions that are not near-ties), for logits of `vocab` per position.
fn check(name: &str, vocab: usize) -> (f64, usize, usize) {
    let dir = folder(name);
    let model = load_model(dir.join("model.onnx")).unwrap();
    let input = read_inputs(dir.join("input.json"), &model).unwrap();
    let run = execute(&model, &input, 16, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let text = std::fs::read_to_string(dir.join("input.json")).unwrap();
    let mut want = Vec::new();
    flat(&serde_json::from_str::<serde_json::Value>(&text).unwrap()["output_data"], &mut want);
    let got: Vec<f64> = run.outputs.iter().flat_map(|(_, _, v)| v.iter().copied()).collect();
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

#[test]
fn nanogpt_runs_as_pytorch_does() {
    // Split (the fused QKV projection), a causal mask of -inf through Where, Softmax, tanh GELU.
    let (err, same, counted) = check("nanogpt", 65);
    assert!(err < 0.02, "{err}");
    assert!(counted > 32 && same * 100 >= counted * 95, "{same}/{counted}");
}

#[test]
fn encoder_runs_as_pytorch_does() {
    // Mod and Shape arithmetic (folded), exact GELU through Erf, mean pooling.
    let (err, _, _) = check("encoder-tiny", 10);
    assert!(err < 0.02, "{err}");
}

#[test]
fn gpt2_block_runs_as_pytorch_does() {
    let (err, same, counted) = check("gpt2-block", 256);
    assert!(err < 0.02, "{err}");
    assert!(counted > 8 && same * 100 >= counted * 95, "{same}/{counted}");
}
