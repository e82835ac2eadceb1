//! Proving ONNX models: the front door for embedders.
//!
//! ```
//! use sigil_prover::model::{CompileOptions, CompiledModel};
//! # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/sn2-reward-sim");
//! # std::env::set_current_dir(dir).unwrap();
//! let model = CompiledModel::compile("model.onnx", &CompileOptions::default())?;
//! let input = model.read_input("input.json")?;
//! let proved = model.prove(&input)?;
//! model.verify(&proved.statement, &proved.proof)?;
//! println!("{:?} in {} bytes", proved.outputs, proved.proof.len());
//! # Ok::<(), sigil_prover::model::ModelError>(())
//! ```
//!
//! 1. [`CompiledModel::compile`] lowers the model (scales and ranges calibrated on the model's
//!    own sample input and seeded random inputs, never on the input being proved, so the
//!    circuit depends on the model file and the settings alone), lays it out as a circuit (one
//!    chip per node, one bus per tensor) and commits its preprocessed columns (weights,
//!    wiring): the [`circuit id`](CompiledModel::circuit_id) binds the model.
//! 2. [`CompiledModel::prove`] runs the integer executor (refusing an input that leaves the
//!    compiled ranges, naming the node), fills every chip's trace from that run, and proves.
//!    The statement is the input and the output (public values the transcript absorbs).
//! 3. [`CompiledModel::verify`] checks a proof against a statement.

mod compile;
mod witness;

use p3_field::PrimeCharacteristicRing;
use std::sync::Arc;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sigil_air::F;
use sigil_air::field::to_signed;
use sigil_onnx::{InputTensor, LowerOptions, Model, OnnxError, Plan, lower};
use sigil_verifier::{CircuitId, ProofOptions, VerifierOptions, VerifyError};

pub use compile::Port;
pub use witness::Tamper;

use crate::{Backend, CpuBackend, ProveError, ProverConfig, ProvingKey, prove_in_context};

/// Why a model could not be compiled, proved or checked.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    #[error("{path}: node `{node}` ({op}): {reason}")]
    Unsupported { path: String, node: String, op: String, reason: String },
    /// A chip whose terms could pass the field at this precision (compilation retries at a
    /// lower one unless the precision was fixed).
    #[error("{path}: node `{node}` ({op}): {reason}")]
    TooWide { path: String, node: String, op: String, reason: String },
    #[error("{path}: the circuit cannot be built: {reason}")]
    Circuit { path: String, reason: String },
    #[error("{path}: node `{node}`: the circuit computes {got} where the executor has {want} (element {index}); this is a bug")]
    Mismatch { path: String, node: String, index: usize, got: i64, want: i64 },
    #[error("proving failed: {0}")]
    Prove(#[from] ProveError),
    #[error("{0}")]
    Statement(String),
    #[error("the proof is invalid: {0}")]
    Invalid(#[from] VerifyError),
}

/// What compilation depends on, beside the model file.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// Quantization: precision, weight bits, headroom (`docs/quantization.md`).
    pub lower: LowerOptions,
    /// Extra calibration inputs (each a full input set) beside the default set.
    pub calibration: Vec<Vec<InputTensor>>,
    /// The proof parameters; part of the circuit id.
    pub proof: ProofOptions,
    /// Where proving keys are cached (see [`default_cache_dir`]); `None` builds the key
    /// every time. The cache changes no circuit id and no proof, only the time to compile.
    pub cache_dir: Option<PathBuf>,
    /// What builds the proving key and the proofs: the CPU backend by default, or a GPU one
    /// (`sigil-gpu`). Every backend makes the same proof, byte for byte.
    pub backend: Arc<dyn Backend>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            lower: LowerOptions { headroom_bits: 3, ..LowerOptions::default() },
            calibration: Vec::new(),
            proof: ProofOptions::default(),
            cache_dir: None,
            backend: Arc::new(CpuBackend::default()),
        }
    }
}

/// Keys whose preprocessed data passes this many bytes are not written to the cache.
pub const KEY_CACHE_MAX_BYTES: usize = 4 << 30;

/// The user's cache directory for Sigil: `$SIGIL_CACHE_DIR`, else `$XDG_CACHE_HOME/sigil`,
/// else `$HOME/.cache/sigil` (`None` when none of them is set).
pub fn default_cache_dir() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("SIGIL_CACHE_DIR").or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("sigil"))).or_else(|| var("HOME").map(|d| d.join(".cache").join("sigil")))
}

/// What compilation did with the key cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyCache {
    /// No cache directory was given.
    Off,
    /// The key was read from this file.
    Hit(PathBuf),
    /// The key was built and written to this file.
    Written(PathBuf),
    /// The key was built and not written, for this reason.
    NotWritten(String),
}

/// Seeded random inputs used for calibration beside the sample input.
pub const CALIBRATION_SEEDS: u64 = 4;

/// The default calibration set of `model` (`docs/quantization.md`, "Calibration"): its sample
/// input (`input.json` beside the model file) when there is one, then
/// [`CALIBRATION_SEEDS`] inputs drawn uniformly (SplitMix64, seeds 1, 2, ...) in the sample's
/// value range (widened to contain `[0, 1]` when narrower than 1), or in `[0, 1)` without a
/// sample, as the subnet's validators draw requests.
pub fn default_calibration(model: &Model, path: &Path) -> Result<Vec<Vec<InputTensor>>, OnnxError> {
    let sample_path = path.with_file_name("input.json");
    let sample = if sample_path.is_file() { Some(sigil_onnx::read_inputs(&sample_path, model)?) } else { None };
    let base = sample.clone().unwrap_or_else(|| sigil_onnx::filled_inputs(model, 0.0));
    let mut sets: Vec<Vec<InputTensor>> = sample.into_iter().collect();
    let has_sample = !sets.is_empty();
    for seed in 1..=CALIBRATION_SEEDS {
        sets.push(random_like(&base, seed, has_sample));
    }
    Ok(sets)
}

/// An input set in the shape of `like`, each value uniform in `like`'s range of that tensor
/// (widened to contain `[0, 1]` when that range is narrower than 1: a scalar or near-constant
/// sample says little about the values requests carry), or in `[0, 1)` when `use_range` is
/// false, from `seed`. A range wider than 1 is kept as it is: a price sampled in the millions
/// is not drawn near zero.
pub fn random_like(like: &[InputTensor], seed: u64, use_range: bool) -> Vec<InputTensor> {
    let mut rng = sigil_air::chips::SplitMix64(seed);
    like.iter()
        .map(|t| {
            let (lo, hi) = if use_range && !t.values.is_empty() {
                let (lo, hi) = t.values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
                if hi - lo < 1.0 { (lo.min(0.0), hi.max(1.0)) } else { (lo, hi) }
            } else {
                (0.0, 1.0)
            };
            // Integer and boolean inputs take integers in that range.
            let values = t
                .values
                .iter()
                .map(|_| lo + (hi - lo) * ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64))
                .map(|v| if t.elem_type.is_float() { v } else { v.round() })
                .collect();
            InputTensor { values, ..t.clone() }
        })
        .collect()
}

/// A compiled model: its plan, its circuit and proving key.
pub struct CompiledModel {
    pub path: String,
    pub plan: Plan,
    pub key: ProvingKey,
    pub inputs: Vec<Port>,
    pub outputs: Vec<Port>,
    layout: compile::Layout,
    /// Time spent lowering, laying out and committing.
    pub compile_time: Duration,
    /// Whether the proving key came from the cache.
    pub key_cache: KeyCache,
    /// Print each proving round's time to stderr.
    pub log_timings: bool,
    /// Run the debug constraint checker (every constraint on every row, every bus balanced,
    /// public tuples included) before proving an honest witness, naming the chip, row and
    /// constraint that fails; on by default in debug builds.
    pub check_constraints: bool,
    /// What proves ([`CompileOptions::backend`]).
    pub backend: Arc<dyn Backend>,
}

impl std::fmt::Debug for CompiledModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledModel").field("path", &self.path).field("circuit_id", &self.circuit_id()).finish_non_exhaustive()
    }
}

/// The result of proving one input.
#[derive(Clone, Debug)]
pub struct Proved {
    /// The outputs, dequantized, per output port.
    pub outputs: Vec<Vec<f64>>,
    /// The public values: the quantized input, then the quantized output.
    pub statement: Vec<F>,
    /// The context the proof was made in (empty for none; see
    /// [`CompiledModel::prove_in_context`]).
    pub context: Vec<u8>,
    /// The proof bytes.
    pub proof: Vec<u8>,
    /// Executing the model in fixed point.
    pub execute_time: Duration,
    /// Building the traces.
    pub witness_time: Duration,
    /// The STARK.
    pub prove_time: Duration,
}

impl CompiledModel {
    /// Compiles the model at `path` (see the module's docs).
    pub fn compile(path: impl AsRef<Path>, options: &CompileOptions) -> Result<Self, ModelError> {
        Self::compile_inner(path.as_ref(), options, false)
    }

    /// Compiles the model at `path` to verify its proofs: with a cache directory that holds
    /// its circuit id (written by any earlier compilation there), the preprocessed columns'
    /// extension is not built or read, only the circuit and its id (a validator verifying
    /// dsperse-age's proofs need not load its 1.7 GB proving key). [`CompiledModel::prove`]
    /// then refuses. Without a cache, or before one holds the id, it compiles in full.
    pub fn compile_for_verifying(path: impl AsRef<Path>, options: &CompileOptions) -> Result<Self, ModelError> {
        Self::compile_inner(path.as_ref(), options, true)
    }

    fn compile_inner(path: &Path, options: &CompileOptions, verifying_only: bool) -> Result<Self, ModelError> {
        let t = Instant::now();
        let label = path.display().to_string();
        let model = sigil_onnx::load_model(path)?;
        let mut calibration = default_calibration(&model, path)?;
        calibration.extend(options.calibration.iter().cloned());
        let name = path.file_stem().map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
        // Without a fixed precision, a chip whose bound passes the field at the precision the
        // executor's ranges allow takes 2 fewer fractional bits, down to 8.
        let mut lower_options = options.lower.clone();
        let (plan, (circuit, layout)) = loop {
            let plan = lower(&model, &calibration, &lower_options, &label)?;
            match compile::compile(&plan, &name, &label, options.proof) {
                Err(ModelError::TooWide { .. }) if options.lower.frac_bits.is_none() && plan.frac_bits > 8 => {
                    lower_options.frac_bits = Some(plan.frac_bits - 2);
                }
                r => break (plan, r?),
            }
        };
        if !verifying_only {
            options.backend.prepare(&circuit);
        }
        let (key, key_cache) = match &options.cache_dir {
            None => (ProvingKey::new(circuit, options.backend.as_ref())?, KeyCache::Off),
            Some(dir) => {
                let model_bytes = std::fs::read(path).map_err(|e| OnnxError::Io { path: label.clone(), source: e })?;
                let tag = cache_tag(&model_bytes, &circuit, &lower_options, &calibration, &options.proof);
                match verifying_only.then(|| read_id(dir, &tag)).flatten() {
                    Some((id, file)) => (ProvingKey::verifying_only(circuit, id), KeyCache::Hit(file)),
                    None => cached_key(dir, &tag, circuit, options.backend.as_ref())?,
                }
            }
        };
        let inputs = layout.inputs.clone();
        let outputs = layout.outputs.iter().map(|(p, _)| p.clone()).collect();
        Ok(Self {
            path: label,
            plan,
            key,
            inputs,
            outputs,
            layout,
            compile_time: t.elapsed(),
            key_cache,
            log_timings: false,
            check_constraints: cfg!(debug_assertions),
            backend: options.backend.clone(),
        })
    }

    /// The circuit id: the hash of the circuit's description and its preprocessed commitments
    /// (weights and wiring).
    pub fn circuit_id(&self) -> CircuitId {
        self.key.circuit_id
    }

    /// The size of every proof of this model, in bytes.
    pub fn proof_size(&self) -> usize {
        self.key.circuit.proof_size()
    }

    /// Reads an `input.json` (EZKL/DSperse layout) for this model.
    pub fn read_input(&self, path: impl AsRef<Path>) -> Result<Vec<InputTensor>, ModelError> {
        Ok(sigil_onnx::read_inputs(path, &self.plan.model)?)
    }

    /// The public values of the input `input`, quantized as the circuit reads them.
    pub fn input_statement(&self, input: &[InputTensor]) -> Result<Vec<F>, ModelError> {
        let mut out = Vec::new();
        for port in &self.inputs {
            let t = input.iter().find(|t| t.name == port.name).ok_or_else(|| ModelError::Statement(format!("input `{}` is missing", port.name)))?;
            if t.values.len() != port.len {
                return Err(ModelError::Statement(format!("input `{}` has {} values, the model takes {}", port.name, t.values.len(), port.len)));
            }
            // As the executor reads them: reals rounded to the port's scale, integers (scale 0:
            // no real value has fewer than 8 fractional bits) truncated toward zero.
            out.extend(t.values.iter().map(|&v| F::from_i64(if port.frac_bits == 0 { v as i64 } else { sigil_onnx::exec::quantize(v, port.frac_bits) })));
        }
        Ok(out)
    }

    /// The outputs of a statement, dequantized, per output port.
    pub fn statement_outputs(&self, statement: &[F]) -> Vec<Vec<f64>> {
        self.outputs
            .iter()
            .map(|p| statement[p.start..p.start + p.len].iter().map(|&v| to_signed(v) as f64 / (1u64 << p.frac_bits) as f64).collect())
            .collect()
    }

    /// Proves the model on `input`.
    pub fn prove(&self, input: &[InputTensor]) -> Result<Proved, ModelError> {
        self.prove_inner(input, &[], None)
    }

    /// Proves the model on `input` in `context`: bytes the transcript absorbs beside the
    /// statement (at most [`sigil_verifier::MAX_CONTEXT_BYTES`]), so that the proof verifies
    /// only with the same context ([`CompiledModel::verify_in_context`]). The node binds a
    /// request's nonce and the answering miner's hotkey this way: a proof relayed from another
    /// miner or replayed from another request does not verify.
    pub fn prove_in_context(&self, input: &[InputTensor], context: &[u8]) -> Result<Proved, ModelError> {
        self.prove_inner(input, context, None)
    }

    /// Proves a lie (see [`Tamper`]) without checking the constraints first, for the
    /// soundness tests: the verifier must reject the result.
    #[cfg(feature = "malicious")]
    pub fn prove_tampered(&self, input: &[InputTensor], tamper: &Tamper) -> Result<Proved, ModelError> {
        self.prove_inner(input, &[], Some(tamper))
    }

    fn prove_inner(&self, input: &[InputTensor], context: &[u8], tamper: Option<&Tamper>) -> Result<Proved, ModelError> {
        if !self.key.can_prove() {
            return Err(ProveError::VerifyingOnly.into());
        }
        let t = Instant::now();
        let run = self.plan.execute(input)?;
        let execute_time = t.elapsed();
        let t = Instant::now();
        let (traces, statement) = witness::traces(&self.layout, &run, &self.path, tamper)?;
        let witness_time = t.elapsed();
        let t = Instant::now();
        let config = ProverConfig { check_constraints: self.check_constraints && tamper.is_none(), log_timings: self.log_timings };
        let proof = prove_in_context(&self.key, traces, &statement, context, self.backend.as_ref(), &config)?;
        let prove_time = t.elapsed();
        Ok(Proved { outputs: self.statement_outputs(&statement), statement, context: context.to_vec(), proof: proof.to_bytes(), execute_time, witness_time, prove_time })
    }

    /// Checks `proof` against the public values `statement` (input, then output).
    pub fn verify(&self, statement: &[F], proof: &[u8]) -> Result<(), ModelError> {
        self.verify_in_context(statement, &[], proof)
    }

    /// Checks `proof` against the public values `statement` and the context it was made in.
    pub fn verify_in_context(&self, statement: &[F], context: &[u8], proof: &[u8]) -> Result<(), ModelError> {
        if statement.len() != self.key.circuit.n_publics {
            return Err(ModelError::Statement(format!("the statement has {} values, the model's has {}", statement.len(), self.key.circuit.n_publics)));
        }
        sigil_verifier::verify_in_context(&self.key.circuit, &self.key.circuit_id, statement, context, proof, &VerifierOptions::default())?;
        Ok(())
    }
}

/// The cache tag of a key: everything it depends on (the cache format and the prover's
/// version, the model's bytes, the settings after compilation's retries, the calibration
/// inputs, the proof options and the circuit's description).
fn cache_tag(model: &[u8], circuit: &sigil_verifier::Circuit, lower: &LowerOptions, calibration: &[Vec<InputTensor>], proof: &ProofOptions) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(concat!("sigil key cache 1, sigil-prover ", env!("CARGO_PKG_VERSION")).as_bytes());
    h.update(blake3::hash(model).as_bytes());
    h.update(&circuit.description_hash);
    h.update(format!("{lower:?}|{calibration:?}|{proof:?}").as_bytes());
    *h.finalize().as_bytes()
}

/// Reads the key tagged `tag` from `dir`, or builds it and writes it there
/// ([`write_atomically`]). A damaged or stale file is rebuilt and replaced.
fn cached_key(dir: &Path, tag: &[u8; 32], circuit: sigil_verifier::Circuit, backend: &dyn Backend) -> Result<(ProvingKey, KeyCache), ModelError> {
    let path = dir.join("keys").join(format!("{}.pk", hex(tag)));
    let circuit = match std::fs::File::open(&path) {
        Ok(f) => match ProvingKey::read_cache(circuit, tag, f) {
            Ok(key) => {
                if read_id(dir, tag).is_none() {
                    let _ = write_id(dir, tag, &key.circuit_id);
                }
                return Ok((key, KeyCache::Hit(path)));
            }
            Err((circuit, _)) => *circuit,
        },
        Err(_) => circuit,
    };
    let key = ProvingKey::new(circuit, backend)?;
    // The id first: verifiers read it alone (a failure only costs them a full compilation).
    let _ = write_id(dir, tag, &key.circuit_id);
    if key.prep_bytes() > KEY_CACHE_MAX_BYTES {
        let why = format!("its preprocessed data takes {} MB, over the cache's limit of {} MB", key.prep_bytes() >> 20, KEY_CACHE_MAX_BYTES >> 20);
        return Ok((key, KeyCache::NotWritten(why)));
    }
    Ok(match write_atomically(&path, |f| key.write_cache(tag, f)) {
        Ok(()) => (key, KeyCache::Written(path)),
        Err(e) => (key, KeyCache::NotWritten(format!("{}: {e}", path.display()))),
    })
}

/// Writes a cache file through a temporary file renamed into place (so that a reader never
/// sees half of one), creating its directory; the temporary file is removed on failure.
fn write_atomically(path: &Path, write: impl FnOnce(std::fs::File) -> std::io::Result<()>) -> std::io::Result<()> {
    let ext = path.extension().map_or(String::new(), |e| e.to_string_lossy().into_owned());
    let tmp = path.with_extension(format!("{ext}.tmp{}", std::process::id()));
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::File::create(&tmp))
        .and_then(write)
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The file holding the circuit id of the key tagged `tag`: the id, then the Blake3 hash of
/// the tag and the id.
fn id_path(dir: &Path, tag: &[u8; 32]) -> PathBuf {
    dir.join("keys").join(format!("{}.id", hex(tag)))
}

fn id_check(tag: &[u8; 32], id: &CircuitId) -> [u8; 32] {
    *blake3::Hasher::new().update(b"sigil circuit id 1").update(tag).update(id).finalize().as_bytes()
}

/// The cached circuit id of the key tagged `tag`, and its file, if a sound one is there.
fn read_id(dir: &Path, tag: &[u8; 32]) -> Option<(CircuitId, PathBuf)> {
    let path = id_path(dir, tag);
    let bytes = std::fs::read(&path).ok()?;
    let (id, check) = (bytes.get(..32)?, bytes.get(32..)?);
    let id: CircuitId = id.try_into().ok()?;
    (check == id_check(tag, &id)).then_some((id, path))
}

fn write_id(dir: &Path, tag: &[u8; 32], id: &CircuitId) -> std::io::Result<()> {
    use std::io::Write;
    write_atomically(&id_path(dir, tag), |mut f| f.write_all(&[id.as_slice(), &id_check(tag, id)].concat()))
}

#[doc(hidden)]
pub fn layout_summary(m: &CompiledModel) -> Vec<(String, usize, usize)> {
    m.key.circuit.chips.iter().zip(&m.key.circuit.log_heights).map(|(c, &h)| (c.name(), h, c.width())).collect()
}

/// A proof file: the statement and the context beside the proof, so that a verifier holding
/// only the model can check it, and a user can read the output from it.
///
/// Layout (little-endian): `b"SIGILMP2"`, the 32-byte circuit id, the number of public values
/// (u32), each public value (u64, canonical), the context's length (u32, at most
/// [`sigil_verifier::MAX_CONTEXT_BYTES`]) and bytes, then the STARK proof (its size fixed by
/// the circuit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelProof {
    pub circuit_id: CircuitId,
    pub statement: Vec<F>,
    /// The context the proof was made in (empty for none).
    pub context: Vec<u8>,
    pub proof: Vec<u8>,
}

/// The first bytes of a model proof file.
pub const MODEL_PROOF_MAGIC: &[u8; 8] = b"SIGILMP2";

impl ModelProof {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + 8 * self.statement.len() + self.context.len() + self.proof.len());
        out.extend_from_slice(MODEL_PROOF_MAGIC);
        out.extend_from_slice(&self.circuit_id);
        out.extend_from_slice(&(self.statement.len() as u32).to_le_bytes());
        for v in &self.statement {
            out.extend_from_slice(&sigil_air::field::f_to_u64(*v).to_le_bytes());
        }
        out.extend_from_slice(&(self.context.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.context);
        out.extend_from_slice(&self.proof);
        out
    }

    /// The most bytes a model proof file of `model` can have (with the longest context).
    pub fn max_size_for(model: &CompiledModel) -> usize {
        48 + 8 * model.key.circuit.n_publics + sigil_verifier::MAX_CONTEXT_BYTES + model.proof_size()
    }

    /// Parses a model proof file of `model`: every length is checked against the model's
    /// before anything is read, and the circuit id must be the model's.
    pub fn from_bytes(bytes: &[u8], model: &CompiledModel) -> Result<Self, ModelError> {
        let n_publics = model.key.circuit.n_publics;
        let fixed = 48 + 8 * n_publics + model.proof_size();
        if bytes.len() < fixed || bytes.len() > fixed + sigil_verifier::MAX_CONTEXT_BYTES {
            return Err(ModelError::Statement(format!(
                "the proof file is {} bytes; this model's are {fixed} plus a context of at most {} bytes",
                bytes.len(),
                sigil_verifier::MAX_CONTEXT_BYTES
            )));
        }
        if &bytes[..8] != MODEL_PROOF_MAGIC {
            return Err(ModelError::Statement("not a Sigil model proof (bad magic bytes)".into()));
        }
        let circuit_id: CircuitId = bytes[8..40].try_into().expect("32 bytes");
        if circuit_id != model.circuit_id() {
            return Err(ModelError::Statement(format!("the proof is for circuit {}, not this model's {}", hex(&circuit_id), hex(&model.circuit_id()))));
        }
        let n = u32::from_le_bytes(bytes[40..44].try_into().expect("4 bytes")) as usize;
        if n != n_publics {
            return Err(ModelError::Statement(format!("the proof has {n} public values; this model's statement has {n_publics}")));
        }
        let mut statement = Vec::with_capacity(n);
        for c in bytes[44..44 + 8 * n].chunks_exact(8) {
            let v = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            statement.push(sigil_air::field::f_from_canonical(v).ok_or_else(|| ModelError::Statement(format!("public value {v} is not a field element")))?);
        }
        let at = 44 + 8 * n;
        let context_len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        if context_len != bytes.len() - fixed {
            return Err(ModelError::Statement(format!("the proof file says its context is {context_len} bytes; its length says {}", bytes.len() - fixed)));
        }
        let context = bytes[at + 4..at + 4 + context_len].to_vec();
        Ok(Self { circuit_id, statement, context, proof: bytes[at + 4 + context_len..].to_vec() })
    }
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
