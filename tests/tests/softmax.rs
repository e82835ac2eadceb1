//! Softmax proved: the group's maximum, the shift, exp through its table, the group's sum and
//! the rounded division, each by its chip (`compile/nonlinear.rs`). A small model built here
//! (two Softmax nodes over different axes, one behind a `-inf` mask as attention writes it):
//! honest proofs give the executor's output and the float softmax within a few steps of the
//! scale; another maximum, another sum or another quotient, each balanced on its bus, is
//! refused by the chip that made it.

use std::sync::OnceLock;

use sigil_onnx::circuit::{CompileOptions, CompiledModel, random_like};
use sigil_onnx::proto::TensorProto;
use sigil_tests::{assert_refused_by, proved_by, proves_the_executors_output};
use sigil_tests::onnx::{int, model, node, value, write};

/// `x [1, 3, 4]`: Softmax over the last axis (`y`), and over axis 1 (`z`); `x` masked by a
/// constant lower-triangular pattern with `-inf` (Where) and its Softmax over the last axis
/// (`w`); an input in [-2, 2] beside it.
fn small() -> &'static (CompiledModel, std::path::PathBuf) {
    static M: OnceLock<(CompiledModel, std::path::PathBuf)> = OnceLock::new();
    M.get_or_init(|| {
        let mask: Vec<i32> = (0..12).map(|k| i32::from(k % 4 <= k / 4)).collect();
        let nodes = vec![
            node("soft_last", "Softmax", &["x"], &["y"], vec![int("axis", -1)]),
            node("soft_rows", "Softmax", &["x"], &["z"], vec![int("axis", 1)]),
            node("masked", "Where", &["mask", "x", "neg_inf"], &["xm"], vec![]),
            node("soft_masked", "Softmax", &["xm"], &["w"], vec![int("axis", -1)]),
        ];
        let mask = TensorProto { name: Some("mask".into()), dims: vec![1, 3, 4], data_type: Some(9), int32_data: mask, ..Default::default() };
        let neg_inf = TensorProto { name: Some("neg_inf".into()), dims: vec![], data_type: Some(1), float_data: vec![f32::NEG_INFINITY], ..Default::default() };
        let outputs = vec![value("y", &[1, 3, 4]), value("z", &[1, 3, 4]), value("w", &[1, 3, 4])];
        let m = model(13, nodes, vec![value("x", &[1, 3, 4])], vec![mask, neg_inf], outputs);
        let x: Vec<f64> = (0..12).map(|i| (i as f64 * 7.0 % 12.0 - 5.5) / 3.0).collect();
        let dir = write("softmax", &m, &x);
        let c = CompiledModel::compile(dir.join("model.onnx"), &CompileOptions::default()).unwrap();
        (c, dir)
    })
}

fn softmax(v: &[f64]) -> Vec<f64> {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = v.iter().map(|x| (x - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|x| x / s).collect()
}

#[test]
fn softmax_proves_the_executors_output() {
    let (m, dir) = small();
    let sample = m.read_input(dir.join("input.json")).unwrap();
    for (k, x) in [sample.clone(), random_like(&sample, 5, true), random_like(&sample, 6, true)].iter().enumerate() {
        let outputs = proves_the_executors_output(m, x, &format!("input {k}"));
        // Against the float softmax: exp's table and the rounding, within 2e-3.
        let v = &x[0].values;
        for r in 0..3 {
            for (j, want) in softmax(&v[4 * r..4 * r + 4]).into_iter().enumerate() {
                assert!((outputs[0][4 * r + j] - want).abs() < 2e-3, "last axis {r} {j}");
            }
            let kept: Vec<f64> = (0..=r).map(|j| v[4 * r + j]).collect();
            let masked = softmax(&kept);
            for j in 0..4 {
                let want = if j <= r { masked[j] } else { 0.0 };
                assert!((outputs[2][4 * r + j] - want).abs() < 2e-3, "masked {r} {j}: {} vs {want}", outputs[2][4 * r + j]);
            }
        }
        for c in 0..4 {
            let col: Vec<f64> = (0..3).map(|r| v[4 * r + c]).collect();
            for (r, want) in softmax(&col).into_iter().enumerate() {
                assert!((outputs[1][4 * r + c] - want).abs() < 2e-3, "axis 1 {r} {c}");
            }
        }
    }
}

#[test]
fn another_maximum_sum_or_quotient_is_refused() {
    let (m, dir) = small();
    let x = m.read_input(dir.join("input.json")).unwrap();
    for (node, chip) in [
        ("soft_last", "soft_last"),
        ("soft_last/max", "soft_last/max"),
        ("soft_last/total", "soft_last/total/divide"),
        ("soft_rows/exp", "soft_rows/exp"),
        ("soft_masked", "soft_masked"),
    ] {
        assert_refused_by(m, &x, node, chip);
    }
}

#[test]
fn inspect_names_softmax_s_chips() {
    let (_, dir) = small();
    let report = proved_by(dir);
    let by = |name: &str| report[name].clone();
    assert_eq!(by("soft_last").as_deref(), Some("maxpool+binary+lut+linear+divconst+div"));
}
