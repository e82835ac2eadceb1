//! The committed reference outputs (`scripts/onnx_reference.py`: onnxruntime, or ONNX's
//! reference evaluator for the one model onnxruntime refuses) agree with the parsed models'
//! declared outputs; `tests/exec.rs` compares the integer executor with their values.

use std::path::PathBuf;

use serde_json::Value;
use sigil_onnx::{Dim, load_model};

#[test]
fn reference_outputs_match_declared_outputs() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models");
    let refs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference");
    let mut n = 0;
    for entry in std::fs::read_dir(&refs).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let r: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let model = load_model(corpus.join(&name).join("model.onnx")).unwrap();
        assert!(r.get("error").is_none(), "{name}: {}", r["error"]);
        if r.get("reference").is_some() {
            // onnxruntime refuses this model (a bool tensor into Add, Where on booleans).
            assert_eq!(name, "sn27-pow-reward");
        }
        let outs = r["outputs"].as_object().unwrap();
        assert_eq!(outs.len(), model.graph.outputs.len(), "{name}");
        for o in &model.graph.outputs {
            let v = &outs[&o.name];
            let shape: Vec<u64> = v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap()).collect();
            let data = v["data"].as_array().unwrap();
            assert_eq!(data.len() as u64, shape.iter().product::<u64>(), "{name}/{}", o.name);
            if let Some(dims) = &o.shape {
                assert_eq!(dims.len(), shape.len(), "{name}/{}", o.name);
                for (d, s) in dims.iter().zip(&shape) {
                    if let Dim::Fixed(k) = d {
                        assert_eq!(*k as u64, *s, "{name}/{}", o.name);
                    }
                }
            }
        }
        n += 1;
    }
    assert_eq!(n, 15);
}
