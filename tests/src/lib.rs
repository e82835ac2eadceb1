//! End-to-end and tampering tests of Sigil live in `tests/tests/`; this library holds what
//! several of them share.

/// Small ONNX models built in a test: value infos, attributes, nodes and the model around them.
pub mod onnx {
    use prost::Message;
    use sigil_onnx::proto::{
        AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
        tensor_shape_proto::{Dimension, dimension},
        type_proto,
    };

    /// A float tensor of shape `dims`.
    pub fn value(name: &str, dims: &[i64]) -> ValueInfoProto {
        typed_value(name, dims, 1)
    }

    /// A tensor of ONNX element type `elem_type` (1 float, 7 int64) and shape `dims`.
    pub fn typed_value(name: &str, dims: &[i64], elem_type: i32) -> ValueInfoProto {
        let dim = dims.iter().map(|&d| Dimension { value: Some(dimension::Value::DimValue(d)), ..Default::default() }).collect();
        ValueInfoProto {
            name: Some(name.into()),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor { elem_type: Some(elem_type), shape: Some(TensorShapeProto { dim }) })),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// An integer attribute.
    pub fn int(name: &str, v: i64) -> AttributeProto {
        AttributeProto { name: Some(name.into()), r#type: Some(2), i: Some(v), ..Default::default() }
    }

    /// An integer-list attribute.
    pub fn ints(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto { name: Some(name.into()), r#type: Some(7), ints: v.to_vec(), ..Default::default() }
    }

    /// Node `name` running `op` on `inputs` into `outputs`.
    pub fn node(name: &str, op: &str, inputs: &[&str], outputs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            op_type: Some(op.into()),
            name: Some(name.into()),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            attribute,
            ..Default::default()
        }
    }

    /// A float tensor constant (an initializer).
    pub fn floats(name: &str, dims: &[i64], v: Vec<f32>) -> TensorProto {
        TensorProto { name: Some(name.into()), dims: dims.to_vec(), data_type: Some(1), float_data: v, ..Default::default() }
    }

    /// A model of one graph at `opset`.
    pub fn model(opset: i64, nodes: Vec<NodeProto>, inputs: Vec<ValueInfoProto>, initializers: Vec<TensorProto>, outputs: Vec<ValueInfoProto>) -> ModelProto {
        ModelProto {
            ir_version: Some(8),
            opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(opset) }],
            graph: Some(GraphProto { name: Some("test".into()), node: nodes, input: inputs, initializer: initializers, output: outputs, ..Default::default() }),
            ..Default::default()
        }
    }

    /// Writes `m` as `model.onnx` and `values` as its one input's `input.json` in a fresh
    /// folder named after `tag`; returns the folder.
    pub fn write(tag: &str, m: &ModelProto, values: &[f64]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sigil-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("model.onnx"), m.encode_to_vec()).unwrap();
        let x: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        std::fs::write(dir.join("input.json"), format!("{{\"input_data\": [[{}]]}}", x.join(", "))).unwrap();
        dir
    }
}

use sigil_onnx::InputTensor;
use sigil_onnx::circuit::{CompileOptions, CompiledModel, ModelError, Tamper, inspect};
use sigil_verifier::VerifyError;

/// Proves `x` on `m` with element 1 of `node`'s output one more (every later chip computing
/// from the lie) and asserts that the verifier refuses the proof at `chip`'s out-of-domain
/// check.
pub fn assert_refused_by(m: &CompiledModel, x: &[InputTensor], node: &str, chip: &str) {
    let lie = Tamper { node: node.into(), index: 1, delta: 1 };
    let p = m.prove_tampered(x, &lie).unwrap();
    match m.verify(&p.statement, &p.proof) {
        Err(ModelError::Invalid(e)) => assert_ood_names(&e, table_of(&m.key.circuit, chip)),
        other => panic!("{node}: expected a rejected proof, got {other:?}"),
    }
}

/// The name of the table that holds `chip`'s rows: the chip's own, or the stacked table it is a
/// member of.
pub fn table_of<'a>(circuit: &'a sigil_verifier::Circuit, chip: &'a str) -> &'a str {
    circuit.chips.iter().zip(&circuit.infos).find(|(c, _)| c.member_names().iter().any(|n| n == chip)).map_or(chip, |(_, i)| i.name.as_str())
}

/// Asserts that `e` is an out-of-domain mismatch of the quotient group holding `chip` (the
/// verifier names every table of the group: `a + b + ...`).
pub fn assert_ood_names(e: &VerifyError, chip: &str) {
    match e {
        VerifyError::OodMismatch { chip: group } => assert!(group.split(" + ").any(|c| c == chip), "`{chip}` is not in the failing group `{group}`"),
        other => panic!("expected an out-of-domain mismatch at `{chip}`, got {other:?}"),
    }
}

/// What `sigil inspect` says proves each node of the model in `dir`, asserting it provable.
pub fn proved_by(dir: &std::path::Path) -> std::collections::HashMap<String, Option<String>> {
    let path = dir.join("model.onnx");
    let report = inspect(&sigil_onnx::load_model(&path).unwrap(), &path, &CompileOptions::default());
    assert!(report.provable, "{:?}", report.error);
    report.nodes.into_iter().map(|n| (n.name, n.proved_by)).collect()
}

/// Proves `x` on `m`, verifies the proof, and asserts that the proved outputs are the
/// executor's (`label` names the case); returns them.
pub fn proves_the_executors_output(m: &CompiledModel, x: &[InputTensor], label: &str) -> Vec<Vec<f64>> {
    let p = m.prove(x).unwrap_or_else(|e| panic!("{label}: {e}"));
    m.verify(&p.statement, &p.proof).unwrap_or_else(|e| panic!("{label}: {e}"));
    let run = m.plan.execute(x).unwrap();
    let want: Vec<Vec<f64>> = run.outputs.iter().map(|(_, _, v)| v.clone()).collect();
    assert_eq!(p.outputs, want, "{label}");
    p.outputs
}
