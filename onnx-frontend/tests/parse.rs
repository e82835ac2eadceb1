//! Parsing the corpus of real subnet models, compared with the summaries that the `onnx` Python
//! package wrote for each (`model.info.txt`); and bad input, which must give an error, never a
//! panic.

use std::path::PathBuf;

use proptest::prelude::*;
use sigil_onnx::{Dim, ModelSummary, OnnxError, ValueInfo, load_model, parse_model};

fn corpus() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models");
    assert!(p.is_dir(), "the model corpus is missing at {}", p.display());
    p
}

fn py_values(vs: &[ValueInfo]) -> String {
    let items: Vec<String> = vs
        .iter()
        .map(|v| {
            let dims: Vec<String> = v
                .shape
                .iter()
                .flatten()
                .map(|d| match d {
                    Dim::Fixed(n) => n.to_string(),
                    Dim::Symbolic(s) => format!("'{s}'"),
                    Dim::Unknown => "None".into(),
                })
                .collect();
            format!("('{}', [{}], '{}')", v.name, dims.join(", "), v.elem_type.name())
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// The summary in the layout of `model.info.txt`.
fn info_text(dir: &str, s: &ModelSummary) -> String {
    let opsets: Vec<String> = s.opsets.iter().map(|(d, v)| format!("('{d}', {v})")).collect();
    let ops: Vec<String> = s.ops.iter().map(|(k, v)| format!("'{k}': {v}")).collect();
    format!(
        "FILE {dir}/model.onnx\n  ir {} opset [{}] producer {}\n  inputs {}\n  outputs {}\n  nodes {} params {}\n  ops {{{}}}\n",
        s.ir_version,
        opsets.join(", "),
        s.producer,
        py_values(&s.inputs),
        py_values(&s.outputs),
        s.n_nodes,
        s.n_params,
        ops.join(", ")
    )
}

#[test]
fn every_corpus_model_parses_and_matches_its_reference_summary() {
    let mut n = 0;
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("model.onnx").is_file() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let model = load_model(dir.join("model.onnx")).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = std::fs::read_to_string(dir.join("model.info.txt")).unwrap();
        assert_eq!(info_text(&name, &model.summary()), expected, "{name}");
        n += 1;
    }
    assert_eq!(n, 15, "expected the 15 corpus models");
}

#[test]
fn initializers_decode_to_their_declared_sizes() {
    let model = load_model(corpus().join("dsperse-net/model.onnx")).unwrap();
    assert!(!model.graph.initializers.is_empty());
    for (name, t) in &model.graph.initializers {
        assert_eq!(t.data.len(), t.numel(), "{name}");
    }
    assert_eq!(model.opset(), Some(18));
}

#[test]
fn an_empty_file_is_an_error() {
    assert!(matches!(parse_model(&[], "empty.onnx"), Err(OnnxError::Empty { .. })));
}

#[test]
fn a_missing_file_names_the_path() {
    let e = load_model("/nonexistent/model.onnx").unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/model.onnx:"), "{e}");
}

#[test]
fn truncated_models_are_errors() {
    let bytes = std::fs::read(corpus().join("dsperse-net/model.onnx")).unwrap();
    for cut in [1, 7, 100, bytes.len() / 3, bytes.len() - 1] {
        let r = parse_model(&bytes[..cut], "truncated.onnx");
        assert!(r.is_err(), "a model cut at {cut} bytes parsed");
    }
}

#[test]
fn deeply_nested_input_is_an_error_not_a_stack_overflow() {
    // GraphProto(7) -> NodeProto(1) -> AttributeProto(5) -> GraphProto(6) -> ... 10,000 deep.
    let mut msg: Vec<u8> = Vec::new();
    for _ in 0..10_000 {
        let mut attr = vec![0x32]; // AttributeProto.g = field 6, length-delimited
        push_len(&mut attr, msg.len());
        attr.extend_from_slice(&msg);
        let mut node = vec![0x2a]; // NodeProto.attribute = field 5
        push_len(&mut node, attr.len());
        node.extend_from_slice(&attr);
        let mut graph = vec![0x0a]; // GraphProto.node = field 1
        push_len(&mut graph, node.len());
        graph.extend_from_slice(&node);
        msg = graph;
    }
    let mut model = vec![0x3a]; // ModelProto.graph = field 7
    push_len(&mut model, msg.len());
    model.extend_from_slice(&msg);
    assert!(matches!(parse_model(&model, "deep.onnx"), Err(OnnxError::Decode { .. })));
}

fn push_len(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_model(&bytes, "random.onnx");
    }

    #[test]
    fn byte_flips_of_a_real_model_never_panic(pos in any::<prop::sample::Index>(), v in any::<u8>()) {
        let mut bytes = std::fs::read(corpus().join("sn2-reward-sim/model.onnx")).unwrap();
        let i = pos.index(bytes.len());
        bytes[i] = v;
        let _ = parse_model(&bytes, "flipped.onnx");
    }
}
