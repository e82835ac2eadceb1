//! Attention's products of two computed tensors over heads, checked after a challenge
//! (`chips::matprod`, chosen by `compile/linear.rs` when it takes at least 4 times fewer rows
//! than a row per term): scores `Q K^T` then `scores V` for 2 heads of 16 positions by 8, from
//! one input. Honest proofs give the executor's output; a changed product is refused.

use std::sync::OnceLock;

use sigil_onnx::circuit::{CompileOptions, CompiledModel, random_like};
use sigil_tests::onnx::{ints, model, node, value, write};
use sigil_tests::{assert_refused_by, proved_by, proves_the_executors_output};

/// `x [2, 16, 8]`: `s = x x^T [2, 16, 16]`, `y = s x [2, 16, 8]`.
fn attention() -> &'static (CompiledModel, std::path::PathBuf) {
    static M: OnceLock<(CompiledModel, std::path::PathBuf)> = OnceLock::new();
    M.get_or_init(|| {
        let nodes = vec![
            node("kt", "Transpose", &["x"], &["xt"], vec![ints("perm", &[0, 2, 1])]),
            node("scores", "MatMul", &["x", "xt"], &["s"], vec![]),
            node("mix", "MatMul", &["s", "x"], &["y"], vec![]),
        ];
        let m = model(17, nodes, vec![value("x", &[2, 16, 8])], vec![], vec![value("s", &[2, 16, 16]), value("y", &[2, 16, 8])]);
        let x: Vec<f64> = (0..256).map(|i| ((i * 37 % 101) as f64 - 50.0) / 100.0).collect();
        let dir = write("attention", &m, &x);
        let c = CompiledModel::compile(dir.join("model.onnx"), &CompileOptions::default()).unwrap();
        (c, dir)
    })
}

#[test]
fn attention_products_prove_the_executors_output() {
    let (m, dir) = attention();
    let sample = m.read_input(dir.join("input.json")).unwrap();
    for (k, x) in [sample.clone(), random_like(&sample, 8, true)].iter().enumerate() {
        let out = proves_the_executors_output(m, x, &format!("input {k}"));
        // Against the float products: the scale's rounding only.
        let v = &x[0].values;
        for h in 0..2 {
            for i in 0..16 {
                for j in 0..16 {
                    let want: f64 = (0..8).map(|l| v[(h * 16 + i) * 8 + l] * v[(h * 16 + j) * 8 + l]).sum();
                    assert!((out[0][(h * 16 + i) * 16 + j] - want).abs() < 1e-3, "head {h} ({i}, {j})");
                }
            }
        }
    }
}

#[test]
fn inspect_names_the_checked_products() {
    let (_, dir) = attention();
    let report = proved_by(dir);
    assert_eq!(report["scores"].as_deref(), Some("matprod+rescale"));
    // s x: 2 x 16 x 16 x 8 terms, 2 x (16 x 24 + 128) rows: also checked.
    assert_eq!(report["mix"].as_deref(), Some("matprod+rescale"));
}

#[test]
fn a_changed_product_is_refused() {
    let (m, dir) = attention();
    let x = m.read_input(dir.join("input.json")).unwrap();
    assert_refused_by(m, &x, "scores", "scores/rescale");
    assert_refused_by(m, &x, "mix", "mix/rescale");
}
