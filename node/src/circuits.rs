//! The circuits a node serves: a directory with one folder per circuit (the ONNX file, a
//! sample `input.json`, optionally the subnet's metadata), as the subnet lays out circuits and
//! as `../shared/models/` holds them. Each is compiled once at start (proving keys through the
//! on-disk key cache) and addressed by its Sigil circuit id, derived from the model file, or by
//! its folder's name.
//!
//! Proving keys are large (dsperse-age's takes 1.0 GB) and a miner may serve many circuits, so
//! with a key cache the proving keys held in memory are bounded by bytes ([`Circuits::prover`]):
//! the least recently used is dropped for a newer one and read back from the cache when asked
//! for again; a key larger than the whole budget is refused at once. What verifying needs (the
//! circuit and its id) stays loaded for every circuit.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sigil_onnx::InputTensor;
use sigil_onnx::circuit::{CompileOptions, CompiledModel, ModelProof, compile_any, hex, random_like};

/// One served circuit.
#[derive(Debug)]
pub struct Circuit {
    /// The folder's name.
    pub name: String,
    /// The Sigil circuit id (hex), derived from the model file.
    pub id: String,
    /// The compiled model: enough to verify, parse inputs and size proofs (with a key cache,
    /// without the proving key).
    pub model: Arc<CompiledModel>,
    /// The sample input (the folder's `input.json`): fresh inputs take its shape and range.
    pub sample: Vec<InputTensor>,
    /// The model file.
    path: PathBuf,
    /// Bytes of its proving key's preprocessed data (0 when not loaded for proving).
    pub key_bytes: usize,
}

/// The circuits of a directory.
#[derive(Debug, Default)]
pub struct Circuits {
    pub list: Vec<Arc<Circuit>>,
    /// Proving keys in memory, most recently used last.
    provers: Mutex<Vec<(String, Arc<CompiledModel>)>>,
    /// The bytes of proving keys held in memory, at most (with a key cache).
    pub key_budget: usize,
    options: CompileOptions,
}

/// A folder's name.
/// A circuit folder's name: its last path component.
pub fn name_of(p: &Path) -> String {
    p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// The ONNX file of a circuit folder: `model.onnx`, `network.onnx`, or its only `.onnx` file.
pub fn model_file(dir: &Path) -> Option<PathBuf> {
    for name in ["model.onnx", "network.onnx"] {
        if dir.join(name).is_file() {
            return Some(dir.join(name));
        }
    }
    let mut onnx: Vec<PathBuf> = std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "onnx")).collect();
    (onnx.len() == 1).then(|| onnx.remove(0))
}

/// What a circuit folder is compiled from: its compiled artifact `model.sigil` when it has
/// one (the artifact pins the settings and calibration), else its ONNX file ([`model_file`]).
pub fn circuit_file(dir: &Path) -> Option<PathBuf> {
    let artifact = dir.join("model.sigil");
    if artifact.is_file() { Some(artifact) } else { model_file(dir) }
}

impl Circuits {
    /// Loads every circuit folder of `dir` (or `dir` itself when it is one), in name order,
    /// keeping only the folders `only` names when it names any. `for_proving` builds (or reads
    /// from `cache_dir`) the proving keys; otherwise only what verifying needs. `progress` is
    /// told each circuit as it is compiled.
    pub fn load(dir: &Path, only: &[String], for_proving: bool, cache_dir: Option<PathBuf>, progress: impl FnMut(&Circuit)) -> Result<Self, String> {
        Self::load_bounded(dir, only, for_proving, cache_dir, usize::MAX, progress)
    }

    /// As [`Circuits::load`], holding at most `key_budget` bytes of proving keys in memory
    /// (with a cache directory; without one every key stays loaded).
    pub fn load_bounded(dir: &Path, only: &[String], for_proving: bool, cache_dir: Option<PathBuf>, key_budget: usize, progress: impl FnMut(&Circuit)) -> Result<Self, String> {
        Self::load_with_options(dir, only, for_proving, CompileOptions { cache_dir, ..CompileOptions::default() }, key_budget, progress)
    }

    /// As [`Circuits::load_bounded`], compiling with `options` (its key cache and backend).
    pub fn load_with_options(dir: &Path, only: &[String], for_proving: bool, options: CompileOptions, key_budget: usize, mut progress: impl FnMut(&Circuit)) -> Result<Self, String> {
        let mut folders: Vec<PathBuf> = if circuit_file(dir).is_some() {
            vec![dir.to_path_buf()]
        } else {
            let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir() && circuit_file(p).is_some()).collect()
        };
        folders.sort();
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
        let mut out = Self { key_budget, options, ..Self::default() };
        let mut skipped = Vec::new();
        for folder in folders {
            match out.load_one(&folder, for_proving) {
                Ok(c) => {
                    progress(&c);
                    out.list.push(Arc::new(c));
                }
                // Without a list of circuits, a folder that does not compile is skipped (named
                // in the log); a circuit asked for by name must compile.
                Err(e) if only.is_empty() => {
                    tracing::warn!("skipped: {e}");
                    skipped.push(e);
                }
                Err(e) => return Err(e),
            }
        }
        if out.list.is_empty() {
            return Err(format!("{}: no circuit compiled ({})", dir.display(), skipped.join("; ")));
        }
        Ok(out)
    }

    /// Compiles one circuit folder.
    fn load_one(&self, folder: &Path, for_proving: bool) -> Result<Circuit, String> {
        let path = circuit_file(folder).expect("filtered");
        let err = |e: sigil_onnx::circuit::ModelError| format!("{}: {e}", path.display());
        let (model, key_bytes) = if for_proving {
            let full = Arc::new(self.compile(&path).map_err(err)?);
            let bytes = full.key.prep_bytes();
            if self.options.cache_dir.is_some() {
                // The key is in the cache now: hold what verifying needs, and the key itself
                // while the budget allows.
                let light = compile_any(&path, &self.options, true).map_err(err)?;
                self.admit(hex(&full.circuit_id()), full, bytes);
                (Arc::new(light), bytes)
            } else {
                self.provers.lock().expect("not poisoned").push((hex(&full.circuit_id()), full.clone()));
                (full, bytes)
            }
        } else {
            (Arc::new(compile_any(&path, &self.options, true).map_err(err)?), 0)
        };
        let input = folder.join("input.json");
        let sample = model.read_input(&input).map_err(|e| format!("{}: {e} (each circuit folder needs a sample input)", input.display()))?;
        Ok(Circuit { name: name_of(folder), id: hex(&model.circuit_id()), model, sample, path, key_bytes })
    }

    fn compile(&self, path: &Path) -> Result<CompiledModel, sigil_onnx::circuit::ModelError> {
        let mut m = compile_any(path, &self.options, false)?;
        m.check_constraints = false;
        Ok(m)
    }

    /// Holds `model`'s proving key, dropping the least recently used ones while the held
    /// bytes would pass the budget; a key over the whole budget is not held.
    fn admit(&self, id: String, model: Arc<CompiledModel>, bytes: usize) {
        let mut held = self.provers.lock().expect("not poisoned");
        held.retain(|(i, _)| *i != id);
        if bytes > self.key_budget {
            return;
        }
        let size = |m: &Arc<CompiledModel>| m.key.prep_bytes();
        while !held.is_empty() && held.iter().map(|(_, m)| size(m)).sum::<usize>() + bytes > self.key_budget {
            let (gone, _) = held.remove(0);
            tracing::info!(circuit = %gone, "proving key dropped from memory (the key budget is full); it is read back from the cache when needed");
        }
        held.push((id, model));
    }

    /// The proving model of `c`: held in memory, or read back from the key cache (dropping
    /// the least recently used keys past the budget). Blocking (reading a key takes seconds
    /// for the large models). Refused when the key alone is over the budget.
    pub fn prover(&self, c: &Circuit) -> Result<Arc<CompiledModel>, String> {
        {
            let mut held = self.provers.lock().expect("not poisoned");
            if let Some(i) = held.iter().position(|(id, _)| *id == c.id) {
                let entry = held.remove(i);
                let m = entry.1.clone();
                held.push(entry);
                return Ok(m);
            }
        }
        if c.key_bytes == 0 {
            return Err(format!("circuit `{}` was loaded for verifying only", c.name));
        }
        if c.key_bytes > self.key_budget {
            return Err(format!("not enough memory: the proving key of `{}` takes {} MB, over this miner's key budget of {} MB", c.name, c.key_bytes >> 20, self.key_budget >> 20));
        }
        let m = Arc::new(self.compile(&c.path).map_err(|e| format!("{}: {e}", c.path.display()))?);
        self.admit(c.id.clone(), m.clone(), c.key_bytes);
        Ok(m)
    }

    /// The most bytes an answer for any of these circuits can take
    /// ([`Circuit::max_answer_bytes`]): a QUIC client refuses larger frames before parsing.
    pub fn max_answer_bytes(&self) -> usize {
        self.list.iter().map(|c| c.max_answer_bytes()).max().unwrap_or(1 << 20)
    }

    /// The circuits whose proving keys are in memory now, least recently used first.
    pub fn held(&self) -> Vec<String> {
        self.provers.lock().expect("not poisoned").iter().map(|(id, _)| id.clone()).collect()
    }

    /// The circuit with this id (hex, either case) or folder name.
    pub fn find(&self, key: &str) -> Option<&Arc<Circuit>> {
        self.list.iter().find(|c| c.id.eq_ignore_ascii_case(key)).or_else(|| self.list.iter().find(|c| c.name == key))
    }
}

impl Circuit {
    /// `name (circuit id…, model …, calibration …)`, the hashes cut to 16 hex digits: what a
    /// miner and a validator compare when their ids for a circuit differ.
    pub fn describe(&self) -> String {
        format!("{} (circuit {}, model {}, calibration {})", self.name, &self.id[..16], &hex(&self.model.model_hash)[..16], &hex(&self.model.calibration_hash)[..16])
    }

    /// Parses a request's input (`{"input_data": [...]}`) for this model.
    pub fn parse_input(&self, input: &Value) -> Result<Vec<InputTensor>, String> {
        sigil_onnx::parse_inputs(&input.to_string(), &self.model.plan.model, "the request's input").map_err(|e| e.to_string())
    }

    /// A fresh input in the shape and value range of the sample input, as `{"input_data"}`.
    pub fn fresh_input(&self, seed: u64) -> Value {
        let tensors = random_like(&self.sample, seed, true);
        serde_json::json!({ "input_data": tensors.iter().map(|t| t.values.clone()).collect::<Vec<_>>() })
    }

    /// A request's input: [`Circuit::fresh_input`] from `seed`, or from the next seeds when the
    /// circuit's executor refuses it (up to 16 draws), so that a validator never asks for a
    /// proof an honest miner must refuse. Calibration makes a refusal rare (none in 5,000
    /// draws per corpus model, `node/tests/completeness.rs`; a divisor of exactly zero remains
    /// possible, about one draw in 650,000 for sn2-pow-reward-tan); this costs one run of the
    /// fixed-point executor per request, milliseconds. Blocking.
    pub fn request_input(&self, seed: u64) -> Value {
        let mut last = Value::Null;
        for k in 0..16u64 {
            last = self.fresh_input(seed.wrapping_add(k));
            match self.parse_input(&last).map(|x| self.model.plan.execute(&x)) {
                Ok(Ok(_)) => return last,
                Ok(Err(e)) => tracing::debug!(circuit = %self.name, "a drawn input is refused by the circuit, drawing another: {e}"),
                Err(e) => tracing::warn!(circuit = %self.name, "a drawn input does not parse: {e}"),
            }
        }
        tracing::warn!(circuit = %self.name, "16 drawn inputs in a row are refused by the circuit (its calibration is too narrow); sending the last");
        last
    }

    /// The largest proof file of this circuit, and its hex's length: a validator refuses a
    /// longer answer before decoding it.
    pub fn max_proof_hex_len(&self) -> usize {
        2 * ModelProof::max_size_for(&self.model)
    }

    /// The most bytes an answer for this circuit can take: the proof file's hex, the echoed
    /// input (at most 32 bytes a value in JSON or MessagePack) and 1 MiB for the rest.
    pub fn max_answer_bytes(&self) -> usize {
        let values: usize = self.model.inputs.iter().map(|p| p.len).sum();
        self.max_proof_hex_len() + 32 * values + (1 << 20)
    }
}
