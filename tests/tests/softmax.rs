//! Softmax proved: the group's maximum, the shift, exp through its table, the group's sum and
//! the rounded division, each by its chip (`compile/nonlinear.rs`). A small model built here
//! (two Softmax nodes over different axes, one behind a `-inf` mask as attention writes it):
//! honest proofs give the executor's output and the float softmax within a few steps of the
//! scale; another maximum, another sum or another quotient, each balanced on its bus, is
//! refused by the chip that made it.

use std::sync::OnceLock;

use prost::Message;
use sigil_onnx::circuit::{CompileOptions, CompiledModel, ModelError, Tamper, inspect, random_like};
use sigil_onnx::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
    tensor_shape_proto::{Dimension, dimension},
    type_proto,
};
use sigil_verifier::VerifyError;

fn value(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = dims.iter().map(|&d| Dimension { value: Some(dimension::Value::DimValue(d)), ..Default::default() }).collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor { elem_type: Some(1), shape: Some(TensorShapeProto { dim }) })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto { name: Some(name.into()), r#type: Some(2), i: Some(v), ..Default::default() }
}

fn node(name: &str, op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    }
}

/// `x [1, 3, 4]`: Softmax over the last axis (`y`), and over axis 1 (`z`); `x` masked by a
/// constant lower-triangular pattern with `-inf` (Where) and its Softmax over the last axis
/// (`w`); an input in [-2, 2] beside it.
fn small() -> &'static (CompiledModel, std::path::PathBuf) {
    static M: OnceLock<(CompiledModel, std::path::PathBuf)> = OnceLock::new();
    M.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sigil-softmax-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mask: Vec<i32> = (0..12).map(|k| i32::from(k % 4 <= k / 4)).collect();
        let nodes = vec![
            node("soft_last", "Softmax", &["x"], "y", vec![int("axis", -1)]),
            node("soft_rows", "Softmax", &["x"], "z", vec![int("axis", 1)]),
            node("masked", "Where", &["mask", "x", "neg_inf"], "xm", vec![]),
            node("soft_masked", "Softmax", &["xm"], "w", vec![int("axis", -1)]),
        ];
        let mask = TensorProto { name: Some("mask".into()), dims: vec![1, 3, 4], data_type: Some(9), int32_data: mask, ..Default::default() };
        let neg_inf = TensorProto { name: Some("neg_inf".into()), dims: vec![], data_type: Some(1), float_data: vec![f32::NEG_INFINITY], ..Default::default() };
        let m = ModelProto {
            ir_version: Some(8),
            opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(13) }],
            graph: Some(GraphProto {
                name: Some("softmax".into()),
                node: nodes,
                input: vec![value("x", &[1, 3, 4])],
                initializer: vec![mask, neg_inf],
                output: vec![value("y", &[1, 3, 4]), value("z", &[1, 3, 4]), value("w", &[1, 3, 4])],
                ..Default::default()
            }),
            ..Default::default()
        };
        std::fs::write(dir.join("model.onnx"), m.encode_to_vec()).unwrap();
        let x: Vec<String> = (0..12).map(|i| format!("{}", (i as f64 * 7.0 % 12.0 - 5.5) / 3.0)).collect();
        std::fs::write(dir.join("input.json"), format!("{{\"input_data\": [[{}]]}}", x.join(", "))).unwrap();
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
        let p = m.prove(x).unwrap_or_else(|e| panic!("input {k}: {e}"));
        m.verify(&p.statement, &p.proof).unwrap_or_else(|e| panic!("input {k}: {e}"));
        let run = m.plan.execute(x).unwrap();
        let want: Vec<Vec<f64>> = run.outputs.iter().map(|(_, _, v)| v.clone()).collect();
        assert_eq!(p.outputs, want, "input {k}");
        // Against the float softmax: exp's table and the rounding, within 2e-3.
        let v = &x[0].values;
        for r in 0..3 {
            for (j, want) in softmax(&v[4 * r..4 * r + 4]).into_iter().enumerate() {
                assert!((p.outputs[0][4 * r + j] - want).abs() < 2e-3, "last axis {r} {j}");
            }
            let kept: Vec<f64> = (0..=r).map(|j| v[4 * r + j]).collect();
            let masked = softmax(&kept);
            for j in 0..4 {
                let want = if j <= r { masked[j] } else { 0.0 };
                assert!((p.outputs[2][4 * r + j] - want).abs() < 2e-3, "masked {r} {j}: {} vs {want}", p.outputs[2][4 * r + j]);
            }
        }
        for c in 0..4 {
            let col: Vec<f64> = (0..3).map(|r| v[4 * r + c]).collect();
            for (r, want) in softmax(&col).into_iter().enumerate() {
                assert!((p.outputs[1][4 * r + c] - want).abs() < 2e-3, "axis 1 {r} {c}");
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
        let lie = Tamper { node: node.into(), index: 1, delta: 1 };
        let p = m.prove_tampered(&x, &lie).unwrap();
        match m.verify(&p.statement, &p.proof) {
            Err(ModelError::Invalid(e)) => assert_eq!(e, VerifyError::OodMismatch { chip: chip.into() }, "{node}"),
            other => panic!("{node}: expected a rejected proof, got {other:?}"),
        }
    }
}

#[test]
fn inspect_names_softmax_s_chips() {
    let (_, dir) = small();
    let path = dir.join("model.onnx");
    let report = inspect(&sigil_onnx::load_model(&path).unwrap(), &path, &CompileOptions::default());
    assert!(report.provable, "{:?}", report.error);
    let by = |name: &str| report.nodes.iter().find(|n| n.name == name).and_then(|n| n.proved_by.clone());
    assert_eq!(by("soft_last").as_deref(), Some("maxpool+binary+lut+linear+divconst+div"));
}
