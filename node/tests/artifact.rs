//! The compiled artifact (`.sigil`) as a library type: written, read back equal, compiled to
//! the circuit it records, refused when its model or its record changed; and the circuit
//! loader of the miner and the validator reads it in place of the model.

use std::path::{Path, PathBuf};

use sigil_node::circuits::Circuits;
use sigil_onnx::circuit::{Artifact, CompileOptions, CompiledModel, ModelError, compile_any, hex};

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models")).join(name)
}

/// A circuit folder in a fresh directory with the model and sample input of `name`.
fn folder(tag: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sigil-artifact-{tag}-{}", std::process::id())).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["model.onnx", "input.json"] {
        std::fs::copy(corpus(name).join(f), dir.join(f)).unwrap();
    }
    dir
}

/// Options other than the defaults, so that a circuit compiled from the artifact differs
/// from the model's default one.
fn options() -> CompileOptions {
    let mut o = CompileOptions::default();
    o.lower.frac_bits = Some(12);
    o.proof.n_queries = 40;
    o
}

fn write_artifact(dir: &Path) -> (Artifact, CompiledModel) {
    let model = dir.join("model.onnx");
    let m = CompiledModel::compile_for_verifying(&model, &options()).unwrap();
    let out = dir.join("model.sigil");
    let a = Artifact::new(&m, &model, &out, &options());
    std::fs::write(&out, a.to_json()).unwrap();
    (a, m)
}

#[test]
fn an_artifact_reads_back_equal_and_compiles_to_its_circuit() {
    let dir = folder("roundtrip", "sn2-reward-sim");
    let (a, m) = write_artifact(&dir);
    assert_eq!(a.model, PathBuf::from("model.onnx"), "the model's path is relative to the artifact");
    let path = dir.join("model.sigil");
    let back = Artifact::read(&path).unwrap();
    assert_eq!(back, a);
    let again = compile_any(&path, &CompileOptions::default(), true).unwrap();
    assert_eq!(again.circuit_id(), m.circuit_id());
    let default = CompiledModel::compile_for_verifying(dir.join("model.onnx"), &CompileOptions::default()).unwrap();
    assert_ne!(default.circuit_id(), m.circuit_id(), "the artifact's settings are its own");

    // Another recorded id, another format, another model: each refused by name.
    let edit = |f: &dyn Fn(&mut Artifact)| {
        let mut b = a.clone();
        f(&mut b);
        std::fs::write(&path, b.to_json()).unwrap();
        compile_any(&path, &CompileOptions::default(), true).map(|_| ()).unwrap_err()
    };
    let e = edit(&|b| b.circuit_id = "0".repeat(64));
    assert!(matches!(&e, ModelError::Artifact { reason, .. } if reason.contains("not the recorded")), "{e}");
    let e = edit(&|b| b.format = "sigil-compiled-0".into());
    assert!(matches!(&e, ModelError::Artifact { reason, .. } if reason.contains("format")), "{e}");
    let e = edit(&|b| b.model_blake3 = "0".repeat(64));
    assert!(matches!(&e, ModelError::Artifact { reason, .. } if reason.contains("hash differs")), "{e}");
    std::fs::write(&path, b"{\"format\": \"sigil-compiled-1\"}").unwrap();
    let e = compile_any(&path, &CompileOptions::default(), true).map(|_| ()).unwrap_err();
    assert!(matches!(&e, ModelError::Artifact { reason, .. } if reason.contains("missing field")), "{e}");
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[test]
fn the_circuit_loader_reads_a_folders_artifact() {
    let dir = folder("loader", "sn2-reward-sim");
    let (a, _) = write_artifact(&dir);
    let circuits = Circuits::load(&dir, &[], false, None, |_| {}).unwrap();
    let c = &circuits.list[0];
    assert_eq!(c.id, a.circuit_id, "the loader compiles the artifact, not the model with default settings");
    assert_eq!(hex(&c.model.circuit_id()), a.circuit_id);
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}
