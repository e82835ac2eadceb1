//! ONNX external data: a model whose tensors lie in `model.onnx.data` beside it (as exporters
//! write models past protobuf's 2 GiB) loads, compiles to the same circuit as the model with its
//! tensors inside, and every weight in that file is part of what the model hashes to; bad
//! references are refused by name.

use std::path::{Path, PathBuf};

use prost::Message;
use sigil_onnx::circuit::{CompileOptions, CompiledModel, KeyCache};
use sigil_onnx::proto::{ModelProto, StringStringEntryProto};
use sigil_onnx::{OnnxError, load_model, parse_model, read_model};

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(format!("{}/../../shared/models/{name}", env!("CARGO_MANIFEST_DIR")))
}

fn scratch_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A change to tensor `k`'s external references.
type Edit = dyn Fn(usize, &mut Vec<StringStringEntryProto>);

fn entry(key: &str, value: &str) -> StringStringEntryProto {
    StringStringEntryProto { key: Some(key.into()), value: Some(value.into()) }
}

/// Writes corpus model `name` into `dir` with every initializer's bytes moved to
/// `model.onnx.data` (64-byte aligned, as `onnx.save_model(..., save_as_external_data=True)`
/// lays them out), and its sample input beside it. `edit` may change the references.
fn externalize(name: &str, dir: &Path, edit: &Edit) -> PathBuf {
    let mut m = ModelProto::decode(std::fs::read(corpus(name).join("model.onnx")).unwrap().as_slice()).unwrap();
    let mut data = Vec::new();
    let g = m.graph.as_mut().unwrap();
    for (k, t) in g.initializer.iter_mut().enumerate() {
        let raw = t.raw_data.take().expect("the corpus model keeps its weights as raw data");
        data.resize(data.len().next_multiple_of(64), 0);
        let mut refs = vec![entry("location", "model.onnx.data"), entry("offset", &data.len().to_string()), entry("length", &raw.len().to_string())];
        edit(k, &mut refs);
        data.extend_from_slice(&raw);
        t.external_data = refs;
        t.data_location = Some(1);
    }
    let path = dir.join("model.onnx");
    std::fs::write(&path, m.encode_to_vec()).unwrap();
    std::fs::write(dir.join("model.onnx.data"), &data).unwrap();
    std::fs::copy(corpus(name).join("input.json"), dir.join("input.json")).unwrap();
    path
}

#[test]
fn a_model_with_external_data_proves_as_the_same_circuit() {
    let dir = scratch_dir("external-net");
    let path = externalize("dsperse-net", &dir, &|_, _| {});
    let inside = corpus("dsperse-net").join("model.onnx");
    // The same graph and weights, read from the file beside the model.
    assert_eq!(load_model(&path).unwrap(), load_model(&inside).unwrap());
    let external = CompiledModel::compile(&path, &CompileOptions::default()).unwrap();
    let original = CompiledModel::compile(&inside, &CompileOptions::default()).unwrap();
    assert_eq!(external.circuit_id(), original.circuit_id());
    let x = external.read_input(dir.join("input.json")).unwrap();
    let p = external.prove(&x).unwrap();
    original.verify(&p.statement, &p.proof).unwrap();
    // Bytes alone (no directory to read the data from) are refused, naming the tensor.
    match parse_model(&std::fs::read(&path).unwrap(), "bytes") {
        Err(OnnxError::BadTensor { tensor, reason, .. }) => {
            assert_eq!(tensor, "conv1.weight");
            assert!(reason.contains("external file"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_weight_in_the_data_file_is_in_the_models_hash_and_the_cached_key() {
    let dir = scratch_dir("external-hash");
    let path = externalize("dsperse-net", &dir, &|_, _| {});
    let (_, before) = read_model(&path).unwrap();
    let (_, inside) = read_model(&corpus("dsperse-net").join("model.onnx")).unwrap();
    assert_ne!(before, inside, "the hash covers the file and its data, not the file alone");
    let cache = dir.join("cache");
    let opts = CompileOptions { cache_dir: Some(cache), ..CompileOptions::default() };
    let first = CompiledModel::compile(&path, &opts).unwrap();
    let KeyCache::Written(file) = &first.key_cache else { panic!("not written: {:?}", first.key_cache) };
    assert_eq!(CompiledModel::compile(&path, &opts).unwrap().key_cache, KeyCache::Hit(file.clone()));
    // One weight changed in model.onnx.data alone (model.onnx untouched): another hash, and
    // the cache does not hand back the old key: the circuit is the new weights'.
    let data = dir.join("model.onnx.data");
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[2] ^= 0x10;
    std::fs::write(&data, &bytes).unwrap();
    let (_, after) = read_model(&path).unwrap();
    assert_ne!(before, after);
    let changed = CompiledModel::compile(&path, &opts).unwrap();
    assert!(matches!(changed.key_cache, KeyCache::Written(_)), "{:?}", changed.key_cache);
    assert_ne!(changed.circuit_id(), first.circuit_id());
    let verifier = CompiledModel::compile_for_verifying(&path, &opts).unwrap();
    assert_eq!(verifier.circuit_id(), changed.circuit_id());
}

#[test]
fn bad_external_references_are_refused_by_name() {
    let cases: [(&str, Box<Edit>, &str); 6] = [
        ("through ..", Box::new(|_, r: &mut Vec<_>| r[0] = entry("location", "../model.onnx.data")), "not a file beside the model"),
        ("absolute", Box::new(|_, r: &mut Vec<_>| r[0] = entry("location", "/etc/passwd")), "not a file beside the model"),
        ("missing file", Box::new(|_, r: &mut Vec<_>| r[0] = entry("location", "weights.bin")), "weights.bin"),
        ("no location", Box::new(|_, r: &mut Vec<_>| {
            r.remove(0);
        }), "without a `location`"),
        ("wrong length", Box::new(|_, r: &mut Vec<_>| r[2] = entry("length", "12")), "length 12 bytes"),
        ("past the end", Box::new(|k, r: &mut Vec<_>| if k == 9 {
            r[1] = entry("offset", "1000000")
        }), "0 bytes at offset 1000000"),
    ];
    for (what, edit, want) in cases {
        let dir = scratch_dir("external-bad");
        let path = externalize("dsperse-net", &dir, &*edit);
        match load_model(&path) {
            Err(OnnxError::BadTensor { tensor, reason, .. }) => {
                assert!(!tensor.is_empty(), "{what}");
                assert!(reason.contains(want), "{what}: {reason}");
            }
            other => panic!("{what}: {other:?}"),
        }
    }
}
