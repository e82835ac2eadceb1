//! Small models built here with the generated protobuf types, for semantics the corpus and
//! ONNX's cases do not reach.

use prost::Message;
use sigil_onnx::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorShapeProto, TypeProto, ValueInfoProto,
    tensor_shape_proto::{Dimension, dimension},
    type_proto,
};
use sigil_onnx::{ElemType, InputTensor, execute, parse_model};

const FLOAT: i32 = 1;
const BOOL: i32 = 9;

fn value(name: &str, elem: i32, dims: &[i64]) -> ValueInfoProto {
    let dim = dims.iter().map(|&d| Dimension { value: Some(dimension::Value::DimValue(d)), ..Default::default() }).collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor { elem_type: Some(elem), shape: Some(TensorShapeProto { dim }) })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(format!("{op}_{output}")),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    }
}

fn model(nodes: Vec<NodeProto>, inputs: Vec<ValueInfoProto>, outputs: Vec<ValueInfoProto>) -> sigil_onnx::Model {
    let m = ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(17) }],
        graph: Some(GraphProto { name: Some("tiny".into()), node: nodes, input: inputs, output: outputs, ..Default::default() }),
        ..Default::default()
    };
    parse_model(&m.encode_to_vec(), "tiny.onnx").unwrap()
}

fn input(name: &str, elem_type: ElemType, values: &[f64]) -> InputTensor {
    InputTensor { name: name.into(), elem_type, dims: vec![values.len()], values: values.to_vec() }
}

#[test]
fn boolean_add_and_mul_are_or_and_and() {
    let cast = |from: &str, to: &str| {
        node("Cast", &[from], to, vec![AttributeProto { name: Some("to".into()), r#type: Some(2), i: Some(i64::from(FLOAT)), ..Default::default() }])
    };
    let m = model(
        vec![node("Add", &["a", "b"], "s", vec![]), node("Mul", &["a", "b"], "p", vec![]), cast("s", "sf"), cast("p", "pf")],
        vec![value("a", BOOL, &[4]), value("b", BOOL, &[4])],
        vec![value("sf", FLOAT, &[4]), value("pf", FLOAT, &[4])],
    );
    let run = execute(&m, &[input("a", ElemType::Bool, &[1.0, 1.0, 0.0, 0.0]), input("b", ElemType::Bool, &[1.0, 0.0, 1.0, 0.0])], 16, "tiny").unwrap();
    assert_eq!(run.outputs[0].2, vec![1.0, 1.0, 1.0, 0.0], "true + true is true");
    assert_eq!(run.outputs[1].2, vec![1.0, 0.0, 0.0, 0.0]);
}

#[test]
fn float_add_of_boolean_casts_counts() {
    // Booleans cast to float add as numbers.
    let cast = node("Cast", &["a"], "af", vec![AttributeProto { name: Some("to".into()), r#type: Some(2), i: Some(i64::from(FLOAT)), ..Default::default() }]);
    let m = model(vec![cast, node("Add", &["af", "af"], "y", vec![])], vec![value("a", BOOL, &[2])], vec![value("y", FLOAT, &[2])]);
    let run = execute(&m, &[input("a", ElemType::Bool, &[1.0, 0.0])], 16, "tiny").unwrap();
    assert_eq!(run.outputs[0].2, vec![2.0, 0.0]);
}

#[test]
fn integer_overflow_is_an_error_naming_the_node() {
    const INT64: i32 = 7;
    let m = model(vec![node("Mul", &["a", "a"], "y", vec![])], vec![value("a", INT64, &[2])], vec![value("y", INT64, &[2])]);
    // 2^40 squared saturates past 60 bits: refused at lowering, naming the node.
    let e = execute(&m, &[input("a", ElemType::Int64, &[3.0, (1u64 << 40) as f64])], 16, "tiny").unwrap_err();
    assert!(matches!(e, sigil_onnx::OnnxError::OutOfRange { ref node, .. } if node == "Mul_y"), "{e}");
    // Small integers multiply exactly.
    let run = execute(&m, &[input("a", ElemType::Int64, &[3.0, -7.0])], 16, "tiny").unwrap();
    assert_eq!(run.outputs[0].2, vec![9.0, 49.0]);
}

#[test]
fn every_operator_on_any_rank_never_panics() {
    // Every single-input operator on a scalar: a result or an error naming the node, never a
    // panic (a rank-0 tensor has no axes to index).
    for op in sigil_onnx::Op::ALL.iter().map(|op| op.name()) {
        let m = model(vec![node(op, &["x"], "y", vec![])], vec![value("x", FLOAT, &[])], vec![value("y", FLOAT, &[])]);
        let x = InputTensor { name: "x".into(), elem_type: ElemType::Float, dims: vec![], values: vec![0.5] };
        let _ = execute(&m, &[x], 16, "scalar");
    }
    let mut ran = 0;
    // Every operator with 1 to 5 copies of one input (float or integer, so also used as shapes,
    // axes, indices or pads) of ranks 0 to 6, default attributes.
    for op in sigil_onnx::Op::ALL.iter().map(|op| op.name()) {
        for dims in [vec![], vec![3], vec![2, 3], vec![1, 1, 2, 2], vec![1, 2, 3, 3, 2], vec![2, 1, 1, 2, 1, 2]] {
            for k in 1..=5 {
                for (code, elem, step) in [(FLOAT, ElemType::Float, 0.25), (7, ElemType::Int64, 1.0)] {
                    let ins = vec!["x"; k];
                    let d: Vec<i64> = dims.iter().map(|&v| v as i64).collect();
                    let m = model(vec![node(op, &ins, "y", vec![])], vec![value("x", code, &d)], vec![value("y", FLOAT, &[])]);
                    let n: usize = dims.iter().product();
                    let values = (0..n).map(|i| i as f64 * step - 2.0 * step).collect();
                    let x = InputTensor { name: "x".into(), elem_type: elem, dims: dims.clone(), values };
                    ran += usize::from(execute(&m, &[x], 16, "shapes").is_ok());
                }
            }
        }
    }
    // Many combinations are valid (elementwise ops on any rank, pools on rank 3+, ...).
    println!("{ran} of {} combinations ran", sigil_onnx::Op::ALL.len() * 6 * 5 * 2);
    assert!(ran > 800, "{ran}");
    let m = model(vec![node("Softmax", &["x"], "y", vec![])], vec![value("x", FLOAT, &[])], vec![value("y", FLOAT, &[])]);
    let x = InputTensor { name: "x".into(), elem_type: ElemType::Float, dims: vec![], values: vec![0.5] };
    assert_eq!(execute(&m, &[x], 16, "scalar").unwrap().outputs[0].2, vec![1.0]);
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn int_attr(name: &str, v: i64) -> AttributeProto {
        AttributeProto { name: Some(name.into()), r#type: Some(2), i: Some(v), ..Default::default() }
    }
    fn ints_attr(name: &str, v: Vec<i64>) -> AttributeProto {
        AttributeProto { name: Some(name.into()), r#type: Some(7), ints: v, ..Default::default() }
    }
    fn str_attr(name: &str, v: &str) -> AttributeProto {
        AttributeProto { name: Some(name.into()), r#type: Some(3), s: Some(v.as_bytes().to_vec()), ..Default::default() }
    }
    fn float_attr(name: &str, v: f32) -> AttributeProto {
        AttributeProto { name: Some(name.into()), r#type: Some(1), f: Some(v), ..Default::default() }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

        /// Any operator, optionally followed by a second on its output, any small shapes, 1 to 4
        /// inputs (two float tensors and an integer one), and attributes drawn from what the
        /// operators read, with extreme integers among them: a result or a named error, never
        /// a panic. 5,000 cases here; 180,000 more passed in a debug build by hand.
        #[test]
        fn operators_with_random_attributes_never_panic(
            op in 0..sigil_onnx::Op::ALL.len(),
            dims in prop::collection::vec(0usize..4, 0..5),
            wdims in prop::collection::vec(0usize..4, 0..5),
            picks in prop::collection::vec(0usize..3, 1..5),
            word in 0usize..4,
            second in prop::option::of((0..sigil_onnx::Op::ALL.len(), 1usize..4)),
            ints in prop::collection::vec(prop_oneof![8 => -3i64..4, 1 => Just(i64::MAX), 1 => Just(i64::MIN), 1 => Just(1i64 << 40), 1 => Just(-(1i64 << 40))], 0..7),
            flag in -1i64..3,
            alpha in -2.0f32..2.0,
            seed in any::<u64>(),
        ) {
            let op = sigil_onnx::Op::ALL[op].name();
            let names = ["x", "i", "w"];
            let ins: Vec<&str> = picks.iter().map(|&p| names[p]).collect();
            let attrs = vec![
                int_attr("axis", flag),
                ints_attr("axes", ints.clone()),
                ints_attr("kernel_shape", ints.iter().map(|v| v.saturating_abs()).collect()),
                ints_attr("strides", ints.iter().map(|v| v.saturating_abs()).collect()),
                ints_attr("pads", ints.clone()),
                ints_attr("dilations", ints.iter().map(|v| v.saturating_abs()).collect()),
                ints_attr("perm", ints.iter().map(|v| v.saturating_abs()).collect()),
                int_attr("keepdims", flag),
                int_attr("ceil_mode", flag),
                int_attr("count_include_pad", flag),
                int_attr("group", flag),
                int_attr("transA", flag),
                int_attr("transB", flag),
                int_attr("hidden_size", flag),
                int_attr("to", [1, 7, 9, 6][flag.rem_euclid(4) as usize]),
                float_attr("alpha", alpha),
                float_attr("beta", alpha),
                float_attr("epsilon", alpha.abs()),
                str_attr("auto_pad", ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"][word]),
                str_attr("mode", ["constant", "reflect", "edge", "wrap"][word]),
                str_attr("direction", ["forward", "reverse", "bidirectional", "sideways"][word]),
                str_attr("reduction", ["none", "add", "mul", "max"][word]),
            ];
            let d: Vec<i64> = dims.iter().map(|&v| v as i64).collect();
            // A second operator on the first one's output (and the inputs), when asked for.
            let mut nodes = vec![node(op, &ins, if second.is_some() { "t" } else { "y" }, attrs.clone())];
            if let Some((op2, k)) = second {
                let ins2: Vec<&str> = std::iter::once("t").chain(ins.iter().copied()).take(k).collect();
                nodes.push(node(sigil_onnx::Op::ALL[op2].name(), &ins2, "y", attrs));
            }
            let m = model(
                nodes,
                vec![value("x", FLOAT, &d), value("i", 7, &[ints.len() as i64]), value("w", FLOAT, &wdims.iter().map(|&v| v as i64).collect::<Vec<_>>())],
                vec![value("y", FLOAT, &[])],
            );
            let n: usize = dims.iter().product();
            let mut r = seed;
            let x = (0..n).map(|_| { r = r.wrapping_mul(6364136223846793005).wrapping_add(1); ((r >> 40) as f64 / (1u64 << 24) as f64) * 8.0 - 4.0 }).collect();
            let wn: usize = wdims.iter().product();
            let inputs = [
                InputTensor { name: "x".into(), elem_type: ElemType::Float, dims, values: x },
                InputTensor { name: "w".into(), elem_type: ElemType::Float, dims: wdims.clone(), values: (0..wn).map(|k| (k % 7) as f64 * 0.3 - 1.0).collect() },
                InputTensor { name: "i".into(), elem_type: ElemType::Int64, dims: vec![ints.len()], values: ints.iter().map(|&v| v as f64).collect() },
            ];
            let _ = execute(&m, &inputs, 16, "fuzz");
        }
    }
}

#[test]
fn an_empty_axis_beside_huge_ones_is_refused_not_looped_over() {
    // No element, but 2^40 positions along the other axis: Softmax, Concat, Gather and Split
    // once looped over them (a fuzzed case ran for minutes). The shape is refused, at once.
    for op in ["Softmax", "Concat", "Split", "Relu"] {
        let m = model(vec![node(op, &["x"], "y", vec![])], vec![value("x", FLOAT, &[1 << 40, 0])], vec![value("y", FLOAT, &[])]);
        let x = InputTensor { name: "x".into(), elem_type: ElemType::Float, dims: vec![1 << 40, 0], values: vec![] };
        let t = std::time::Instant::now();
        let e = execute(&m, &[x], 16, "empty.onnx").unwrap_err().to_string();
        assert!(e.contains("elements"), "{op}: {e}");
        assert!(t.elapsed().as_secs() < 5, "{op}");
    }
}

#[test]
fn a_gather_whose_output_is_too_large_is_refused_before_allocating() {
    // Many indices into a small tensor: the output's size is checked before any memory is
    // reserved (a fuzzed case once asked for 79 TB).
    let m = model(vec![node("Gather", &["x", "i"], "y", vec![])], vec![value("x", FLOAT, &[1, 4096]), value("i", 7, &[1 << 18])], vec![value("y", FLOAT, &[1])]);
    let inputs = vec![
        InputTensor { name: "x".into(), elem_type: ElemType::Float, dims: vec![1, 4096], values: vec![0.5; 4096] },
        InputTensor { name: "i".into(), elem_type: ElemType::Int64, dims: vec![1 << 18], values: vec![0.0; 1 << 18] },
    ];
    let e = execute(&m, &inputs, 16, "tiny.onnx").unwrap_err().to_string();
    assert!(e.contains("elements") && e.contains("Gather"), "{e}");
}
