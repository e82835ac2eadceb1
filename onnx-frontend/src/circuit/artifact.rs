//! The compiled artifact (`.sigil`): what a compiled circuit depends on, written once by `sigil
//! compile --out` and read by `prove`, `verify` and the miner's and validator's circuit
//! loaders in place of the model.
//!
//! It is a small JSON file: the model's path (relative to the artifact when it can be) and
//! Blake3 hash, the settings, the extra calibration inputs and the hash of every calibration
//! input, and the circuit id and proof size compiling gave. [`Artifact::compile`] compiles the
//! model again with exactly these settings and refuses a model whose hash differs, a
//! calibration that differs (the sample input beside the model is part of the circuit) or a
//! circuit id that differs, each with its own error.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sigil_verifier::ProofOptions;

use super::{CompileOptions, CompiledModel, ModelError, hex, read_bounded};

/// The value of [`Artifact::format`].
pub const ARTIFACT_FORMAT: &str = "sigil-compiled-1";

/// The most bytes an artifact file may have (its calibration inputs are the large part).
pub const MAX_ARTIFACT_BYTES: usize = crate::input::MAX_CALIBRATION_FILE_BYTES;

/// The settings a circuit was compiled with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Activation fractional bits, or `None` for the largest that calibration fits.
    pub frac_bits: Option<u32>,
    pub param_bits: u32,
    pub headroom_bits: u32,
    pub queries: u16,
    pub blowup_log: u8,
    pub grinding: u8,
    pub fold_log: u8,
}

/// A compiled artifact (`.sigil`), see the module's docs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// [`ARTIFACT_FORMAT`].
    pub format: String,
    /// The model, relative to the artifact's folder when it lies under it.
    pub model: PathBuf,
    /// The model's hash, hex ([`crate::read_model`]: Blake3 of the file, and of its external data where it has some).
    pub model_blake3: String,
    pub settings: Settings,
    /// The extra calibration input sets (each input's values, in the model's input order);
    /// the model's own sample input and the seeded random inputs are not written.
    pub calibration: Vec<Vec<Vec<f64>>>,
    /// Blake3 of every calibration input compiling used, hex ([`CompiledModel::calibration_hash`]).
    pub calibration_blake3: String,
    /// The circuit id, hex.
    pub circuit_id: String,
    pub proof_bytes: usize,
    pub conjectured_bits: u32,
}

impl Artifact {
    /// The artifact of `m`, compiled from `model` with `options`, to be written at `out`.
    pub fn new(m: &CompiledModel, model: &Path, out: &Path, options: &CompileOptions) -> Self {
        // The model's path relative to the artifact's folder when it can be, else absolute.
        let dir = out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let model_abs = abs(model);
        let rel = model_abs.strip_prefix(abs(dir)).map(Path::to_path_buf).unwrap_or(model_abs.clone());
        let p = &options.proof;
        Artifact {
            format: ARTIFACT_FORMAT.into(),
            model: rel,
            model_blake3: hex(&m.model_hash),
            settings: Settings {
                frac_bits: options.lower.frac_bits,
                param_bits: options.lower.param_bits,
                headroom_bits: options.lower.headroom_bits,
                queries: p.n_queries,
                blowup_log: p.log_blowup,
                grinding: p.grinding_bits,
                fold_log: p.log_folding_factor,
            },
            calibration: options.calibration.iter().map(|set| set.iter().map(|t| t.values.clone()).collect()).collect(),
            calibration_blake3: hex(&m.calibration_hash),
            circuit_id: hex(&m.circuit_id()),
            proof_bytes: m.proof_size(),
            conjectured_bits: m.key.circuit.security.conjectured_bits,
        }
    }

    /// The artifact as the file holds it (pretty JSON and a newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("an artifact serializes") + "\n"
    }

    /// Parses an artifact's bytes (`label` names the file in errors).
    pub fn from_json(bytes: &[u8], label: &str) -> Result<Self, ModelError> {
        let bad = |reason: String| ModelError::Artifact { path: label.into(), reason };
        let a: Artifact = serde_json::from_slice(bytes).map_err(|e| bad(format!("not a compiled artifact: {e}")))?;
        if a.format != ARTIFACT_FORMAT {
            return Err(bad(format!("format {:?}, not {ARTIFACT_FORMAT}", a.format)));
        }
        Ok(a)
    }

    /// Reads the artifact at `path`, at most [`MAX_ARTIFACT_BYTES`].
    pub fn read(path: &Path) -> Result<Self, ModelError> {
        let label = path.display().to_string();
        let bytes = read_bounded(path, MAX_ARTIFACT_BYTES).map_err(|e| ModelError::Artifact { path: label.clone(), reason: e.to_string() })?;
        Self::from_json(&bytes, &label)
    }

    /// The model's file, for an artifact read from `path`.
    pub fn model_path(&self, path: &Path) -> PathBuf {
        path.parent().unwrap_or(Path::new(".")).join(&self.model)
    }

    /// Compiles the artifact read from `path` (its model beside it as recorded) with its
    /// settings; `base` gives the rest (cache, backend). `verifying`: without the proving key
    /// ([`CompiledModel::compile_for_verifying`]). Refuses a model of another hash, another
    /// calibration and another circuit id, each by name.
    pub fn compile(&self, path: &Path, base: &CompileOptions, verifying: bool) -> Result<CompiledModel, ModelError> {
        let label = path.display().to_string();
        let bad = |reason: String| ModelError::Artifact { path: label.clone(), reason };
        let model_path = self.model_path(path);
        let (model, hash) = crate::read_model(&model_path)?;
        if hex(&hash) != self.model_blake3 {
            return Err(bad(format!("{}: the model is not the one it was compiled from (its hash differs)", model_path.display())));
        }
        let s = &self.settings;
        let mut opts = CompileOptions { cache_dir: base.cache_dir.clone(), cache_key_file: base.cache_key_file.clone(), backend: base.backend.clone(), ..CompileOptions::default() };
        opts.lower.frac_bits = s.frac_bits;
        opts.lower.param_bits = s.param_bits;
        opts.lower.headroom_bits = s.headroom_bits;
        opts.proof = ProofOptions { n_queries: s.queries, log_blowup: s.blowup_log, grinding_bits: s.grinding, log_folding_factor: s.fold_log, ..ProofOptions::default() };
        for set in &self.calibration {
            let text = serde_json::json!({ "input_data": set }).to_string();
            opts.calibration.push(crate::parse_inputs(&text, &model, &label)?);
        }
        let compiled = if verifying { CompiledModel::compile_for_verifying(&model_path, &opts)? } else { CompiledModel::compile(&model_path, &opts)? };
        // The calibration first: a sample input that changed (or went missing) beside the
        // model is the usual reason for another circuit id, and the error says so.
        if hex(&compiled.calibration_hash) != self.calibration_blake3 {
            return Err(bad(format!(
                "compiling it here calibrates on other inputs than it was compiled with (calibration {} here, {} recorded): the sample input {} beside the model changed or is missing, and the sample input is part of the circuit",
                hex(&compiled.calibration_hash),
                self.calibration_blake3,
                model_path.with_file_name("input.json").display()
            )));
        }
        if hex(&compiled.circuit_id()) != self.circuit_id {
            return Err(bad(format!("compiling it here gives circuit {}, not the recorded {}", hex(&compiled.circuit_id()), self.circuit_id)));
        }
        Ok(compiled)
    }
}

/// Compiles a model file or a compiled artifact (`.sigil`, with its own settings; `options`
/// gives the rest) at `path`; `verifying`: without the proving key.
pub fn compile_any(path: &Path, options: &CompileOptions, verifying: bool) -> Result<CompiledModel, ModelError> {
    if path.extension().is_some_and(|e| e == "sigil") {
        Artifact::read(path)?.compile(path, options, verifying)
    } else if verifying {
        CompiledModel::compile_for_verifying(path, options)
    } else {
        CompiledModel::compile(path, options)
    }
}
