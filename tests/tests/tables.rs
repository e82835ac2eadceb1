//! Table functions and average pooling proved end to end: a small model built here (Tanh,
//! AveragePool, Sigmoid and Exp) and the subnet's age model (dsperse-age: convolutions, Tanh,
//! average pools, zero Pads, products of two computed tensors). Every lie is refused by the
//! chip that made it.

use std::sync::OnceLock;

use sigil_onnx::circuit::{CompileOptions, CompiledModel, ModelError, Tamper, random_like};
use sigil_tests::onnx::{ints, model, node, value, write};
use sigil_tests::proves_the_executors_output;
use sigil_verifier::VerifyError;

/// `x [1, 2, 4, 4] -> Tanh -> AveragePool 2x2 -> Sigmoid -> y`, `Exp(x) -> z` and
/// `Relu(Transpose(x)) -> r` (a unary chip reading out of order), written
/// with an input beside it (values in [-2, 2], so that Tanh and Sigmoid work on both sides).
fn small() -> &'static (CompiledModel, std::path::PathBuf) {
    static M: OnceLock<(CompiledModel, std::path::PathBuf)> = OnceLock::new();
    M.get_or_init(|| {
        let nodes = vec![
            node("Tanh", "Tanh", &["x"], &["t"], vec![]),
            node("AveragePool", "AveragePool", &["t"], &["a"], vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])]),
            node("Sigmoid", "Sigmoid", &["a"], &["y"], vec![]),
            node("Exp", "Exp", &["x"], &["z"], vec![]),
            // An elementwise chip reading its input out of order.
            node("Transpose", "Transpose", &["x"], &["xt"], vec![ints("perm", &[0, 1, 3, 2])]),
            node("Relu", "Relu", &["xt"], &["r"], vec![]),
        ];
        let outputs = vec![value("y", &[1, 2, 2, 2]), value("z", &[1, 2, 4, 4]), value("r", &[1, 2, 4, 4])];
        let m = model(17, nodes, vec![value("x", &[1, 2, 4, 4])], vec![], outputs);
        let x: Vec<f64> = (0..32).map(|i| (i as f64 - 15.5) / 8.0).collect();
        let dir = write("tables", &m, &x);
        let c = CompiledModel::compile(dir.join("model.onnx"), &CompileOptions::default()).unwrap();
        (c, dir)
    })
}

fn invalid(r: Result<(), ModelError>) -> VerifyError {
    match r {
        Err(ModelError::Invalid(e)) => e,
        other => panic!("expected a rejected proof, got {other:?}"),
    }
}

#[test]
fn table_functions_and_average_pools_prove_the_executors_output() {
    let (m, dir) = small();
    let sample = m.read_input(dir.join("input.json")).unwrap();
    for (k, x) in [sample.clone(), random_like(&sample, 3, true), random_like(&sample, 4, true)].iter().enumerate() {
        proves_the_executors_output(m, x, &format!("input {k}"));
    }
    // Against the functions themselves (the executor's tables interpolate within 2^-10 or so).
    let p = m.prove(&sample).unwrap();
    for (i, &z) in p.outputs[1].iter().enumerate() {
        let x = sample[0].values[i];
        assert!((z - x.exp()).abs() <= 2e-3 * x.exp(), "exp({x}) = {z}");
    }
}

#[test]
fn a_changed_table_or_pool_output_is_refused() {
    let (m, dir) = small();
    let x = m.read_input(dir.join("input.json")).unwrap();
    for (node, chip) in [("Tanh", "Tanh"), ("Sigmoid", "Sigmoid"), ("Exp", "Exp"), ("AveragePool", "AveragePool/divide"), ("Relu", "Relu")] {
        let lie = Tamper { node: node.into(), index: 1, delta: 1 };
        let p = m.prove_tampered(&x, &lie).unwrap();
        sigil_tests::assert_ood_names(&invalid(m.verify(&p.statement, &p.proof)), sigil_tests::table_of(&m.key.circuit, chip));
    }
}

#[test]
fn an_input_past_the_compiled_range_is_refused_before_proving() {
    let (m, dir) = small();
    let mut x = m.read_input(dir.join("input.json")).unwrap();
    x[0].values[3] = 1e4;
    assert!(matches!(m.prove(&x), Err(ModelError::Onnx(_))));
}

fn corpus(name: &str) -> String {
    format!("{}/../../shared/models/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn dsperse_age_proves_a_fresh_input() {
    // The subnet's age model (SSR-Net: two streams of convolutions with Tanh and ReLU, average
    // and max pools, zero Pads, stage products of two computed tensors), on a fresh random
    // input in its sample's range: the whole model in one proof.
    let mut m = CompiledModel::compile(corpus("dsperse-age/model.onnx"), &CompileOptions::default()).unwrap();
    // Its 11M cells through the debug checker would take minutes; its chips are checked on the
    // small model above.
    m.check_constraints = false;
    let sample = m.read_input(corpus("dsperse-age/input.json")).unwrap();
    let x = random_like(&sample, 11, true);
    let p = m.prove(&x).unwrap();
    m.verify(&p.statement, &p.proof).unwrap();
    let run = m.plan.execute(&x).unwrap();
    let want: Vec<Vec<f64>> = run.outputs.iter().map(|(_, _, v)| v.clone()).collect();
    assert_eq!(p.outputs, want);
    assert_eq!(p.proof.len(), m.proof_size());
}
