//! The op registry's worked example (README, "Adding an operator"): ReduceMean and Neg, which
//! the executor ran and no chip proved, proved by a handler each in the compiler's family
//! modules with the chips that exist (a linear layer of ones and a constant division; a
//! division by -1), Split, new to the registry, as wiring, and a MatMul of a stack of matrices
//! by a constant matrix (every position through one Freivalds check). A small model built here:
//! honest proofs give the executor's output, and a changed output of each is refused by the
//! chip that made it.

use std::sync::OnceLock;

use sigil_onnx::circuit::{CompileOptions, CompiledModel, random_like};
use sigil_onnx::proto::TensorProto;
use sigil_tests::{assert_refused_by, proved_by, proves_the_executors_output};
use sigil_tests::onnx::{int, ints, model, node, value, write};

/// `x [1, 3, 4]`: its mean over the last axis kept (`m [1, 3, 1]`), `x - m` (LayerNorm's
/// centring, `c`), its mean over axis 1 dropped (`a [1, 4]`, in opset 13's attribute form), and
/// `-x` (`n`); an input in [-2, 2] beside it.
fn small() -> &'static (CompiledModel, std::path::PathBuf) {
    static M: OnceLock<(CompiledModel, std::path::PathBuf)> = OnceLock::new();
    M.get_or_init(|| {
        let nodes = vec![
            node("mean_last", "ReduceMean", &["x"], &["m"], vec![ints("axes", &[-1]), int("keepdims", 1)]),
            node("centre", "Sub", &["x", "m"], &["c"], vec![]),
            node("mean_rows", "ReduceMean", &["x"], &["a"], vec![ints("axes", &[1]), int("keepdims", 0)]),
            node("negate", "Neg", &["x"], &["n"], vec![]),
            // Split as wiring: the two halves of the last axis, added.
            node("halves", "Split", &["x"], &["h0", "h1"], vec![int("axis", 2)]),
            node("sum_halves", "Add", &["h0", "h1"], &["s"], vec![]),
            // All positions of a stack through one constant matrix.
            node("project", "MatMul", &["x", "w"], &["p"], vec![]),
        ];
        let w = TensorProto {
            name: Some("w".into()),
            dims: vec![4, 2],
            data_type: Some(1),
            float_data: vec![0.5, -1.0, 0.25, 2.0, -0.75, 0.125, 1.5, -0.5],
            ..Default::default()
        };
        let outputs = vec![value("m", &[1, 3, 1]), value("c", &[1, 3, 4]), value("a", &[1, 4]), value("n", &[1, 3, 4]), value("s", &[1, 3, 2]), value("p", &[1, 3, 2])];
        let m = model(13, nodes, vec![value("x", &[1, 3, 4])], vec![w], outputs);
        let x: Vec<f64> = (0..12).map(|i| (i as f64 * 7.0 % 12.0 - 5.5) / 3.0).collect();
        let dir = write("reduce", &m, &x);
        let c = CompiledModel::compile(dir.join("model.onnx"), &CompileOptions::default()).unwrap();
        (c, dir)
    })
}

#[test]
fn means_and_negations_prove_the_executors_output() {
    let (m, dir) = small();
    let sample = m.read_input(dir.join("input.json")).unwrap();
    for (k, x) in [sample.clone(), random_like(&sample, 5, true), random_like(&sample, 6, true)].iter().enumerate() {
        let outputs = proves_the_executors_output(m, x, &format!("input {k}"));
        // Against the float functions: one step of the output's scale at most.
        let step = 2f64.powi(-(m.plan.frac_bits as i32));
        let v = &x[0].values;
        for r in 0..3 {
            let mean = v[4 * r..4 * r + 4].iter().sum::<f64>() / 4.0;
            assert!((outputs[0][r] - mean).abs() <= step, "row {r}: {} vs {mean}", outputs[0][r]);
        }
        for c in 0..4 {
            let mean = (0..3).map(|r| v[4 * r + c]).sum::<f64>() / 3.0;
            assert!((outputs[2][c] - mean).abs() <= step, "column {c}: {} vs {mean}", outputs[2][c]);
        }
        for (i, &y) in outputs[3].iter().enumerate() {
            assert!((y + v[i]).abs() <= step, "-{} = {y}", v[i]);
        }
        let w = [0.5, -1.0, 0.25, 2.0, -0.75, 0.125, 1.5, -0.5];
        for (k, &y) in outputs[5].iter().enumerate() {
            let (r, c) = (k / 2, k % 2);
            let want: f64 = (0..4).map(|j| v[4 * r + j] * w[2 * j + c]).sum();
            assert!((y - want).abs() <= 4.0 * step, "product {k}: {y} vs {want}");
        }
        for (k, &y) in outputs[4].iter().enumerate() {
            let (r, c) = (k / 2, k % 2);
            let want = v[4 * r + c] + v[4 * r + c + 2];
            assert!((y - want).abs() <= step, "halves {k}: {y} vs {want}");
        }
    }
}

#[test]
fn a_changed_mean_or_negation_is_refused() {
    let (m, dir) = small();
    let x = m.read_input(dir.join("input.json")).unwrap();
    for (node, chip) in [("mean_last", "mean_last/divide"), ("mean_rows", "mean_rows/divide"), ("negate", "negate")] {
        assert_refused_by(m, &x, node, chip);
    }
}

#[test]
fn inspect_names_the_chips_that_prove_them() {
    let (_, dir) = small();
    let report = proved_by(dir);
    let by = |name: &str| report[name].clone();
    assert_eq!(by("mean_last").as_deref(), Some("linear+divconst"));
    assert_eq!(by("negate").as_deref(), Some("divconst"));
    assert_eq!(by("halves").as_deref(), Some("wiring"));
    assert_eq!(by("project").as_deref(), Some("linear+rescale"));
}
