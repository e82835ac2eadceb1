//! Gelu (opset 20) proved in both forms (`compile/nonlinear.rs`): the exact one through erf's
//! table and the tanh one through tanh's, each product an elementwise chip and its rescale, as
//! the executor rounds them. Honest proofs give the executor's output and the float GELU
//! within a few steps of the scale; a changed step is refused by its chip.

use std::sync::OnceLock;

use sigil_onnx::circuit::{CompileOptions, CompiledModel, random_like};
use sigil_onnx::proto::AttributeProto;
use sigil_tests::onnx::{model, node, value, write};
use sigil_tests::{assert_refused_by, proved_by, proves_the_executors_output};

fn approximate(v: &str) -> AttributeProto {
    AttributeProto { name: Some("approximate".into()), r#type: Some(3), s: Some(v.as_bytes().to_vec()), ..Default::default() }
}

/// `x [1, 24]`: `y = Gelu(x)` (exact) and `z = Gelu(x, approximate = "tanh")`.
fn gelus() -> &'static (CompiledModel, std::path::PathBuf) {
    static M: OnceLock<(CompiledModel, std::path::PathBuf)> = OnceLock::new();
    M.get_or_init(|| {
        let nodes = vec![node("exact", "Gelu", &["x"], &["y"], vec![]), node("tanh", "Gelu", &["x"], &["z"], vec![approximate("tanh")])];
        let m = model(20, nodes, vec![value("x", &[1, 24])], vec![], vec![value("y", &[1, 24]), value("z", &[1, 24])]);
        let x: Vec<f64> = (0..24).map(|i| (i as f64 - 11.5) / 3.0).collect();
        let dir = write("gelu", &m, &x);
        let c = CompiledModel::compile(dir.join("model.onnx"), &CompileOptions::default()).unwrap();
        (c, dir)
    })
}

fn erf(x: f64) -> f64 {
    // Abramowitz and Stegun 7.1.26 is too coarse here: integrate instead (Simpson, 2000 steps).
    let n = 2000;
    let h = x / n as f64;
    let f = |t: f64| (-t * t).exp();
    let s: f64 = (0..=n).map(|i| f(i as f64 * h) * if i == 0 || i == n { 1.0 } else if i % 2 == 1 { 4.0 } else { 2.0 }).sum();
    s * h / 3.0 * 2.0 / std::f64::consts::PI.sqrt()
}

#[test]
fn both_forms_prove_the_executors_output() {
    let (m, dir) = gelus();
    let sample = m.read_input(dir.join("input.json")).unwrap();
    for (k, x) in [sample.clone(), random_like(&sample, 11, true)].iter().enumerate() {
        let out = proves_the_executors_output(m, x, &format!("input {k}"));
        for (i, &v) in x[0].values.iter().enumerate() {
            let exact = 0.5 * v * (1.0 + erf(v / std::f64::consts::SQRT_2));
            let tanh = 0.5 * v * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v * v * v)).tanh());
            assert!((out[0][i] - exact).abs() < 2e-3, "exact({v}) = {} vs {exact}", out[0][i]);
            assert!((out[1][i] - tanh).abs() < 2e-3, "tanh({v}) = {} vs {tanh}", out[1][i]);
        }
    }
}

#[test]
fn a_changed_step_is_refused() {
    let (m, dir) = gelus();
    let x = m.read_input(dir.join("input.json")).unwrap();
    for (node, chip) in [("exact/erf", "exact/erf"), ("exact", "exact/rescale"), ("tanh/cube", "tanh/cube/rescale"), ("tanh/tanh", "tanh/tanh"), ("tanh", "tanh/rescale")] {
        assert_refused_by(m, &x, node, chip);
    }
}

#[test]
fn inspect_names_the_chips() {
    let (_, dir) = gelus();
    let report = proved_by(dir);
    assert_eq!(report["exact"].as_deref(), Some("binary+rescale+lut"));
    assert_eq!(report["tanh"].as_deref(), Some("binary+rescale+lut"));
}
