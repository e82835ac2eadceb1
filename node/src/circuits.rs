//! The circuits a node serves: a directory with one folder per circuit (the ONNX file, a
//! sample `input.json`, optionally the subnet's metadata), as the subnet lays out circuits and
//! as `../shared/models/` holds them. Each is compiled once at start (proving keys through the
//! on-disk key cache) and addressed by its Sigil circuit id, derived from the model file, or by
//! its folder's name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use sigil_onnx::InputTensor;
use sigil_prover::model::{CompileOptions, CompiledModel, ModelProof, hex, random_like};

/// One served circuit.
#[derive(Debug)]
pub struct Circuit {
    /// The folder's name.
    pub name: String,
    /// The Sigil circuit id (hex), derived from the model file.
    pub id: String,
    pub model: CompiledModel,
    /// The sample input (the folder's `input.json`): fresh inputs take its shape and range.
    pub sample: Vec<InputTensor>,
}

/// The circuits of a directory.
#[derive(Debug, Default)]
pub struct Circuits {
    pub list: Vec<Arc<Circuit>>,
}

/// The ONNX file of a circuit folder: `model.onnx`, `network.onnx`, or its only `.onnx` file.
fn model_file(dir: &Path) -> Option<PathBuf> {
    for name in ["model.onnx", "network.onnx"] {
        if dir.join(name).is_file() {
            return Some(dir.join(name));
        }
    }
    let mut onnx: Vec<PathBuf> = std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "onnx")).collect();
    (onnx.len() == 1).then(|| onnx.remove(0))
}

impl Circuits {
    /// Loads every circuit folder of `dir` (or `dir` itself when it is one), in name order,
    /// keeping only the folders `only` names when it names any. `for_proving` builds (or reads
    /// from `cache_dir`) the proving keys; otherwise only what verifying needs. `progress` is
    /// told each circuit as it is compiled.
    pub fn load(dir: &Path, only: &[String], for_proving: bool, cache_dir: Option<PathBuf>, mut progress: impl FnMut(&Circuit)) -> Result<Self, String> {
        let mut folders: Vec<PathBuf> = if model_file(dir).is_some() {
            vec![dir.to_path_buf()]
        } else {
            let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir() && model_file(p).is_some()).collect()
        };
        folders.sort();
        let name_of = |p: &Path| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
        if !only.is_empty() {
            for o in only {
                if !folders.iter().any(|f| &name_of(f) == o) {
                    return Err(format!("{}: no circuit folder named `{o}`", dir.display()));
                }
            }
            folders.retain(|f| only.contains(&name_of(f)));
        }
        if folders.is_empty() {
            return Err(format!("{}: no circuit folders (each holds an .onnx model and its input.json)", dir.display()));
        }
        let options = CompileOptions { cache_dir, ..CompileOptions::default() };
        let mut list = Vec::new();
        for folder in folders {
            let path = model_file(&folder).expect("filtered");
            let compiled = if for_proving { CompiledModel::compile(&path, &options) } else { CompiledModel::compile_for_verifying(&path, &options) };
            let mut model = compiled.map_err(|e| format!("{}: {e}", path.display()))?;
            model.check_constraints = false;
            let input = folder.join("input.json");
            let sample = model.read_input(&input).map_err(|e| format!("{}: {e} (each circuit folder needs a sample input)", input.display()))?;
            let c = Circuit { name: name_of(&folder), id: hex(&model.circuit_id()), model, sample };
            progress(&c);
            list.push(Arc::new(c));
        }
        Ok(Self { list })
    }

    /// The circuit with this id (hex, either case) or folder name.
    pub fn find(&self, key: &str) -> Option<&Arc<Circuit>> {
        self.list.iter().find(|c| c.id.eq_ignore_ascii_case(key)).or_else(|| self.list.iter().find(|c| c.name == key))
    }
}

impl Circuit {
    /// Parses a request's input (`{"input_data": [...]}`) for this model.
    pub fn parse_input(&self, input: &Value) -> Result<Vec<InputTensor>, String> {
        sigil_onnx::parse_inputs(&input.to_string(), &self.model.plan.model, "the request's input").map_err(|e| e.to_string())
    }

    /// A fresh input in the shape and value range of the sample input, as `{"input_data"}`.
    pub fn fresh_input(&self, seed: u64) -> Value {
        let tensors = random_like(&self.sample, seed, true);
        serde_json::json!({ "input_data": tensors.iter().map(|t| t.values.clone()).collect::<Vec<_>>() })
    }

    /// The largest proof file of this circuit, and its hex's length: a validator refuses a
    /// longer answer before decoding it.
    pub fn max_proof_hex_len(&self) -> usize {
        2 * ModelProof::max_size_for(&self.model)
    }
}
