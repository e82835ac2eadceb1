//! ONNX's own per-operator test cases (exported by `scripts/onnx_op_cases.py`) through the
//! integer executor, per operator.
//!
//! Tolerance: 1e-3 of the output's largest magnitude (at least 1e-3 absolute). Inputs are
//! quantized with 16 fractional bits (error at most 2^-17, 7.6e-6, per value); each product,
//! division or square root rounds once more (2^-17); table functions add at most 2^-16 for the
//! entries and their interpolation, and their input's error times the slope (exp's relative
//! error is about that of its input, below 1e-4 for the cases' |x| < 10). The cases' values are
//! O(1) with sums of at most a few hundred terms, so errors stay near 1e-4 of the magnitude (the
//! test prints the largest: 2.1e-4, test_batchnorm_example, whose input error is multiplied by
//! scale / sqrt(var + eps)); 1e-3 leaves a margin of five while still catching any wrong
//! semantics (a wrong axis, padding, rounding mode or formula is off by far more).
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use sigil_onnx::{InputTensor, OnnxError, execute, parse_model};

const FRAC_BITS: u32 = 16;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v["data"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn dims(v: &Value) -> Vec<usize> {
    v["shape"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

/// Runs one case: `Ok(Some(e))` when every output matches (`e`: the largest error relative to
/// its output's magnitude), `Ok(None)` when one differs, `Err` when the executor refuses it.
fn run_case(case: &Value, name: &str) -> Result<Option<f64>, OnnxError> {
    let model = parse_model(&hex(case["model_hex"].as_str().unwrap()), name)?;
    let inputs: Vec<InputTensor> = model
        .graph
        .inputs
        .iter()
        .zip(case["inputs"].as_array().unwrap())
        .map(|(info, v)| InputTensor { name: info.name.clone(), elem_type: info.elem_type, dims: dims(v), values: floats(v) })
        .collect();
    let run = execute(&model, &inputs, FRAC_BITS, name)?;
    let mut worst = 0.0f64;
    for ((_, got_dims, got), want) in run.outputs.iter().zip(case["outputs"].as_array().unwrap()) {
        let want_dims = dims(want);
        let want = floats(want);
        if *got_dims != want_dims || got.len() != want.len() {
            return Ok(None);
        }
        let scale = want.iter().fold(1.0f64, |m, x| m.max(x.abs()));
        let err = got.iter().zip(&want).map(|(a, b)| (a - b).abs() / scale).fold(0.0, f64::max);
        if err > 1e-3 {
            return Ok(None);
        }
        worst = worst.max(err);
    }
    Ok(Some(worst))
}

#[test]
fn onnx_operator_cases() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/op_cases");
    // (passed, failed, refused) per operator.
    let mut per_op: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut worst = (0.0f64, String::new());
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    for path in paths {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let op = case["op"].as_str().unwrap().to_string();
        let e = per_op.entry(op).or_default();
        match run_case(&case, &name) {
            Ok(Some(err)) => {
                e.0 += 1;
                if err > worst.0 {
                    worst = (err, name.clone());
                }
            }
            Ok(None) => {
                e.1 += 1;
                failures.push(format!("{name}: wrong output"));
            }
            Err(err) => {
                e.2 += 1;
                failures.push(format!("{name}: {err}"));
            }
        }
    }
    let (mut p, mut f, mut r) = (0, 0, 0);
    println!("{:<18} {:>6} {:>6} {:>7}", "operator", "passed", "failed", "refused");
    for (op, (a, b, c)) in &per_op {
        println!("{op:<18} {a:>6} {b:>6} {c:>7}");
        p += a;
        f += b;
        r += c;
    }
    println!("{:<18} {p:>6} {f:>6} {r:>7}", "total");
    println!("largest error of a passing case, relative to its output's magnitude: {:.2e} ({})", worst.0, worst.1);
    for x in &failures {
        println!("  {x}");
    }
    // Every failing or refused case is listed above; none may give a wrong output silently.
    assert_eq!(f, 0, "cases with wrong outputs");
    // Every supported operator passes at least one of ONNX's cases (the export script's list
    // is the executor's).
    for op in sigil_onnx::Op::ALL.iter().map(|op| op.name()) {
        assert!(per_op.get(op).is_some_and(|c| c.0 > 0), "{op} has no passing ONNX case");
    }
    assert!(p >= 340, "only {p} cases pass");
}
