//! LayerNormalization and embeddings proved (`compile/norm.rs`, `compile/movement.rs`): a
//! Gather of a constant table's rows by token ids read from the input (int64), then a
//! LayerNormalization with scale and bias over the last axis; and a LayerNormalization over the
//! last two axes of a float input. Honest proofs give the executor's output and the float
//! normalization within a few steps of the scale; another mean, variance, deviation, quotient
//! or embedded value, each balanced on its bus, is refused.

use std::sync::OnceLock;

use sigil_onnx::circuit::{CompileOptions, CompiledModel, ModelError, Tamper, random_like};
use sigil_tests::onnx::{floats, int, ints, model, node, typed_value, value, write};
use sigil_tests::{assert_refused_by, proved_by, proves_the_executors_output};

const VOCAB: usize = 10;
const WIDTH: usize = 8;

fn table() -> Vec<f32> {
    (0..VOCAB * WIDTH).map(|k| ((k * 37 % 23) as f32 - 11.0) / 7.0).collect()
}
fn scale() -> Vec<f32> {
    (0..WIDTH).map(|j| 0.5 + j as f32 / 8.0).collect()
}
fn bias() -> Vec<f32> {
    (0..WIDTH).map(|j| j as f32 / 16.0 - 0.2).collect()
}

/// `ids [1, 6]` (int64) -> Gather(table [10, 8]) -> LayerNormalization(scale, bias) -> `y`.
fn embedded() -> &'static (CompiledModel, std::path::PathBuf) {
    static M: OnceLock<(CompiledModel, std::path::PathBuf)> = OnceLock::new();
    M.get_or_init(|| {
        let nodes = vec![
            node("embed", "Gather", &["table", "ids"], &["e"], vec![int("axis", 0)]),
            node("ln", "LayerNormalization", &["e", "scale", "bias"], &["y"], vec![int("axis", -1)]),
        ];
        let inits = vec![floats("table", &[VOCAB as i64, WIDTH as i64], table()), floats("scale", &[WIDTH as i64], scale()), floats("bias", &[WIDTH as i64], bias())];
        let m = model(17, nodes, vec![typed_value("ids", &[1, 6], 7)], inits, vec![value("y", &[1, 6, WIDTH as i64])]);
        let dir = write("layernorm-embed", &m, &[3.0, 0.0, 9.0, 3.0, 5.0, 1.0]);
        let c = CompiledModel::compile(dir.join("model.onnx"), &CompileOptions::default()).unwrap();
        (c, dir)
    })
}

/// `x [1, 3, 4]` -> LayerNormalization(axis 1, scale of ones, no bias) -> `y`.
fn two_axes() -> &'static (CompiledModel, std::path::PathBuf) {
    static M: OnceLock<(CompiledModel, std::path::PathBuf)> = OnceLock::new();
    M.get_or_init(|| {
        let nodes = vec![node("ln", "LayerNormalization", &["x", "ones"], &["y"], vec![int("axis", 1)])];
        let m = model(17, nodes, vec![value("x", &[1, 3, 4])], vec![floats("ones", &[3, 4], vec![1.0; 12])], vec![value("y", &[1, 3, 4])]);
        let x: Vec<f64> = (0..12).map(|i| (i as f64 * 5.0 % 12.0 - 5.5) / 2.0).collect();
        let dir = write("layernorm-axes", &m, &x);
        let c = CompiledModel::compile(dir.join("model.onnx"), &CompileOptions::default()).unwrap();
        (c, dir)
    })
}

/// `x [1, 3, 8]` through the decomposed LayerNormalization older exporters write:
/// ReduceMean, Sub, Pow 2, ReduceMean, Add epsilon, Sqrt, Div, Mul scale, Add bias.
fn decomposed() -> &'static (CompiledModel, std::path::PathBuf) {
    static M: OnceLock<(CompiledModel, std::path::PathBuf)> = OnceLock::new();
    M.get_or_init(|| {
        let nodes = vec![
            node("mean", "ReduceMean", &["x"], &["m"], vec![ints("axes", &[-1])]),
            node("centre", "Sub", &["x", "m"], &["d"], vec![]),
            node("square", "Pow", &["d", "two"], &["d2"], vec![]),
            node("variance", "ReduceMean", &["d2"], &["v"], vec![ints("axes", &[-1])]),
            node("plus_eps", "Add", &["v", "eps"], &["ve"], vec![]),
            node("deviation", "Sqrt", &["ve"], &["s"], vec![]),
            node("normalize", "Div", &["d", "s"], &["z"], vec![]),
            node("scaled", "Mul", &["z", "scale"], &["zs"], vec![]),
            node("ln", "Add", &["zs", "bias"], &["y"], vec![]),
        ];
        let inits = vec![floats("two", &[], vec![2.0]), floats("eps", &[], vec![1e-5]), floats("scale", &[WIDTH as i64], scale()), floats("bias", &[WIDTH as i64], bias())];
        let m = model(13, nodes, vec![value("x", &[1, 3, WIDTH as i64])], inits, vec![value("y", &[1, 3, WIDTH as i64])]);
        let x: Vec<f64> = (0..3 * WIDTH).map(|i| ((i * 11 % 24) as f64 - 11.5) / 6.0).collect();
        let dir = write("layernorm-decomposed", &m, &x);
        let c = CompiledModel::compile(dir.join("model.onnx"), &CompileOptions::default()).unwrap();
        (c, dir)
    })
}

/// The float LayerNormalization of `row` (epsilon 1e-5).
fn layer_norm(row: &[f64], scale: &[f64], bias: &[f64]) -> Vec<f64> {
    let n = row.len() as f64;
    let m = row.iter().sum::<f64>() / n;
    let v = row.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
    row.iter().enumerate().map(|(j, x)| (x - m) / (v + 1e-5).sqrt() * scale[j] + bias[j]).collect()
}

#[test]
fn embeddings_and_layer_norm_prove_the_executors_output() {
    let (m, dir) = embedded();
    let sample = m.read_input(dir.join("input.json")).unwrap();
    let (t, s, b): (Vec<f64>, Vec<f64>, Vec<f64>) = (table().iter().map(|&v| f64::from(v)).collect(), scale().iter().map(|&v| f64::from(v)).collect(), bias().iter().map(|&v| f64::from(v)).collect());
    for ids in [vec![3.0, 0.0, 9.0, 3.0, 5.0, 1.0], vec![9.0; 6], vec![0.0, 1.0, 2.0, 7.0, 8.0, 4.0]] {
        let mut x = sample.clone();
        x[0].values = ids.clone();
        let y = proves_the_executors_output(m, &x, &format!("ids {ids:?}"));
        for (p, &id) in ids.iter().enumerate() {
            let row = &t[id as usize * WIDTH..(id as usize + 1) * WIDTH];
            for (j, want) in layer_norm(row, &s, &b).into_iter().enumerate() {
                assert!((y[0][p * WIDTH + j] - want).abs() < 2e-3, "ids {ids:?}: position {p}, {j}: {} vs {want}", y[0][p * WIDTH + j]);
            }
        }
    }
}

#[test]
fn layer_norm_over_two_axes_proves_the_executors_output() {
    let (m, dir) = two_axes();
    let sample = m.read_input(dir.join("input.json")).unwrap();
    for (k, x) in [sample.clone(), random_like(&sample, 3, true), random_like(&sample, 4, true)].iter().enumerate() {
        let y = proves_the_executors_output(m, x, &format!("input {k}"));
        for (j, want) in layer_norm(&x[0].values, &[1.0; 12], &[0.0; 12]).into_iter().enumerate() {
            assert!((y[0][j] - want).abs() < 2e-3, "input {k}, {j}: {} vs {want}", y[0][j]);
        }
    }
}

#[test]
fn the_decomposed_form_proves_the_executors_output() {
    let (m, dir) = decomposed();
    let sample = m.read_input(dir.join("input.json")).unwrap();
    let (s, b): (Vec<f64>, Vec<f64>) = (scale().iter().map(|&v| f64::from(v)).collect(), bias().iter().map(|&v| f64::from(v)).collect());
    for (k, x) in [sample.clone(), random_like(&sample, 9, true), random_like(&sample, 10, true)].iter().enumerate() {
        let y = proves_the_executors_output(m, x, &format!("input {k}"));
        for r in 0..3 {
            for (j, want) in layer_norm(&x[0].values[r * WIDTH..(r + 1) * WIDTH], &s, &b).into_iter().enumerate() {
                assert!((y[0][r * WIDTH + j] - want).abs() < 5e-3, "input {k}, row {r}, {j}: {} vs {want}", y[0][r * WIDTH + j]);
            }
        }
    }
    let report = proved_by(dir);
    assert_eq!(report["square"].as_deref(), Some("binary+rescale"));
    assert_eq!(report["deviation"].as_deref(), Some("sqrt"));
    // Another square or another root, balanced on the bus, is refused by its chip.
    let x = &sample;
    assert_refused_by(m, x, "square", "square/rescale");
    assert_refused_by(m, x, "deviation", "deviation");
}

#[test]
fn another_mean_variance_deviation_or_quotient_is_refused() {
    let (m, dir) = embedded();
    let x = m.read_input(dir.join("input.json")).unwrap();
    for (node, chip) in [
        ("ln/mean", "ln/mean/divide"),
        ("ln/variance", "ln/variance/divide"),
        ("ln/deviation", "ln/deviation"),
        ("ln/normalize", "ln/normalize"),
        ("ln/scale", "ln/scale/rescale"),
        ("ln", "ln"),
    ] {
        assert_refused_by(m, &x, node, chip);
    }
}

#[test]
fn another_embedded_value_is_refused() {
    // Element 1 of the embedding one more: no chip constraint breaks, but the table holds no
    // such (key, value) and the lookup does not balance.
    let (m, dir) = embedded();
    let x = m.read_input(dir.join("input.json")).unwrap();
    let p = m.prove_tampered(&x, &Tamper { node: "embed".into(), index: 1, delta: 1 }).unwrap();
    match m.verify(&p.statement, &p.proof) {
        Err(ModelError::Invalid(_)) => {}
        other => panic!("expected a rejected proof, got {other:?}"),
    }
}

#[test]
fn ids_outside_the_table_are_refused_by_the_prover() {
    let (m, dir) = embedded();
    let mut x = m.read_input(dir.join("input.json")).unwrap();
    x[0].values[2] = VOCAB as f64;
    let e = m.prove(&x).unwrap_err().to_string();
    assert!(e.contains("embed") && e.contains("10"), "{e}");
    // ONNX counts a negative id from the end, and the executor does; the proof does not.
    x[0].values[2] = -1.0;
    let e = m.prove(&x).unwrap_err().to_string();
    assert!(e.contains("embed") && e.contains("outside the table"), "{e}");
}

#[test]
fn inspect_names_the_chips() {
    let (_, dir) = embedded();
    let report = proved_by(dir);
    assert_eq!(report["embed"].as_deref(), Some("embed"));
    assert_eq!(report["ln"].as_deref(), Some("linear+divconst+binary+sqrt+div+rescale"));
}
