//! Proving ONNX models: the front door for embedders.
//!
//! ```
//! use sigil_onnx::circuit::{CompileOptions, CompiledModel};
//! # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/sn2-reward-sim");
//! # std::env::set_current_dir(dir).unwrap();
//! let model = CompiledModel::compile("model.onnx", &CompileOptions::default())?;
//! let input = model.read_input("input.json")?;
//! let proved = model.prove(&input)?;
//! model.verify(&proved.statement, &proved.proof)?;
//! println!("{:?} in {} bytes", proved.outputs, proved.proof.len());
//! # Ok::<(), sigil_onnx::circuit::ModelError>(())
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

mod artifact;
pub(crate) mod compile;
mod inspect;
mod witness;

use p3_field::PrimeCharacteristicRing;
use std::sync::Arc;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sigil_air::F;
use sigil_air::field::to_signed;
use crate::{InputDomain, InputTensor, LowerOptions, Model, OnnxError, Plan, lower};
use sigil_verifier::{CircuitId, ProofOptions, VerifierOptions, VerifyError};

pub use artifact::{ARTIFACT_FORMAT, Artifact, MAX_ARTIFACT_BYTES, Settings, compile_any};
pub use compile::Port;
pub use crate::input::read_bounded;
pub use inspect::{Inspection, NodeReport, inspect};
pub use witness::Tamper;

use sigil_prover::{Backend, CpuBackend, ProveError, ProverConfig, ProvingKey, prove_in_context};

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
    /// A compiled artifact (`.sigil`) that cannot be read or does not compile to what it
    /// records.
    #[error("{path}: {reason}")]
    Artifact { path: String, reason: String },
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
    /// The file holding the secret that authenticates the cache's files ([`cache_secret`]);
    /// `None`: [`default_cache_key_file`]. It must lie outside `cache_dir`: whoever can write
    /// the cache but not read this file cannot make a cached key or circuit id answer for
    /// another model.
    pub cache_key_file: Option<PathBuf>,
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
            cache_key_file: None,
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

/// The file holding the key cache's secret: `$SIGIL_CONFIG_DIR/cache.key`, else
/// `$XDG_CONFIG_HOME/sigil/cache.key`, else `$HOME/.config/sigil/cache.key` (`None` when none
/// of them is set): a configuration directory, not the cache's.
pub fn default_cache_key_file() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("SIGIL_CONFIG_DIR")
        .or_else(|| var("XDG_CONFIG_HOME").map(|d| d.join("sigil")))
        .or_else(|| var("HOME").map(|d| d.join(".config").join("sigil")))
        .map(|d| d.join("cache.key"))
}

/// The secret that authenticates the files of the key cache in `cache_dir`: 32 bytes read from
/// `key_file`, which is created (random bytes from the operating system, readable by its owner
/// only) when missing. Cached proving keys and circuit ids carry a keyed Blake3 hash under it,
/// so a file written by anyone who cannot read `key_file` is refused, never used: the cache
/// then changes no circuit id even when others can write to it. Refused when `key_file` lies
/// inside `cache_dir`, or is not 32 bytes.
pub fn cache_secret(cache_dir: &Path, key_file: &Path) -> std::io::Result<[u8; 32]> {
    use std::io::{Error, ErrorKind};
    let abs = |p: &Path| -> PathBuf {
        // The deepest existing ancestor, canonicalized, with the rest appended.
        let mut head = p.to_path_buf();
        let mut tail = Vec::new();
        while !head.as_os_str().is_empty() && std::fs::canonicalize(&head).is_err() {
            tail.push(head.file_name().map(|n| n.to_os_string()).unwrap_or_default());
            head.pop();
        }
        let mut out = if head.as_os_str().is_empty() { std::env::current_dir().unwrap_or_default() } else { std::fs::canonicalize(&head).unwrap_or(head) };
        out.extend(tail.iter().rev());
        out
    };
    if abs(key_file).starts_with(abs(cache_dir)) {
        return Err(Error::new(ErrorKind::InvalidInput, format!("{} lies inside the cache directory {}, whose writers could forge it", key_file.display(), cache_dir.display())));
    }
    let read = |p: &Path| -> std::io::Result<[u8; 32]> {
        let bytes = read_bounded(p, 33)?;
        bytes.as_slice().try_into().map_err(|_| Error::new(ErrorKind::InvalidData, format!("{}: a cache key is 32 bytes, this file has {}", p.display(), bytes.len())))
    };
    match read(key_file) {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        r => return r,
    }
    // Created under a temporary name, then linked into place: two processes creating it at
    // once both end up with the one that was linked first.
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret).map_err(|e| Error::other(format!("no randomness for the cache key: {e}")))?;
    if let Some(dir) = key_file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = key_file.with_extension(format!("tmp{}", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let written = opts.open(&tmp).and_then(|mut f| std::io::Write::write_all(&mut f, &secret).and_then(|()| f.sync_all())).and_then(|()| std::fs::hard_link(&tmp, key_file));
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(secret),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => read(key_file),
        Err(e) => Err(e),
    }
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

/// The default calibration of `model` (`docs/quantization.md`, "Calibration"): its sample
/// input (`input.json` beside the model file) when there is one, then
/// [`CALIBRATION_SEEDS`] inputs drawn uniformly (SplitMix64, seeds 1, 2, ...) in the domains
/// of [`request_domains`] (the sample's value range, widened to contain `[0, 1]` when
/// narrower than 1, or `[0, 1)` without a sample, as the subnet's validators draw requests);
/// and those domains, which bound quotients by an input ([`InputDomain`]). The sample input
/// is thus part of the circuit: another `input.json`, or none, is another circuit id.
pub fn default_calibration(model: &Model, path: &Path) -> Result<(Vec<Vec<InputTensor>>, Vec<InputDomain>), OnnxError> {
    let sample_path = path.with_file_name("input.json");
    let sample = if sample_path.is_file() { Some(crate::read_inputs(&sample_path, model)?) } else { None };
    let base = sample.clone().unwrap_or_else(|| crate::filled_inputs(model, 0.0));
    let mut sets: Vec<Vec<InputTensor>> = sample.into_iter().collect();
    let has_sample = !sets.is_empty();
    for seed in 1..=CALIBRATION_SEEDS {
        sets.push(random_like(&base, seed, has_sample));
    }
    Ok((sets, request_domains(&base, has_sample)))
}

/// The domain of each input that [`random_like`] draws from: `like`'s range of that tensor
/// (widened to contain `[0, 1]` when that range is narrower than 1: a scalar or near-constant
/// sample says little about the values requests carry), or `[0, 1]` when `use_range` is
/// false. A range wider than 1 is kept as it is: a price sampled in the millions is not drawn
/// near zero.
pub fn request_domains(like: &[InputTensor], use_range: bool) -> Vec<InputDomain> {
    like.iter()
        .map(|t| {
            let (lo, hi) = if use_range && !t.values.is_empty() {
                let (lo, hi) = t.values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
                if hi - lo < 1.0 { (lo.min(0.0), hi.max(1.0)) } else { (lo, hi) }
            } else {
                (0.0, 1.0)
            };
            InputDomain { name: t.name.clone(), lo, hi }
        })
        .collect()
}

/// An input set in the shape of `like`, each value uniform in its [`request_domains`] domain,
/// from `seed`; integer and boolean inputs take integers in it.
pub fn random_like(like: &[InputTensor], seed: u64, use_range: bool) -> Vec<InputTensor> {
    let mut rng = sigil_air::chips::SplitMix64(seed);
    like.iter()
        .zip(request_domains(like, use_range))
        .map(|(t, d)| {
            let values = t
                .values
                .iter()
                .map(|_| d.lo + (d.hi - d.lo) * ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64))
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
    /// The model's hash ([`crate::read_model`]: Blake3 of the file, and of its external data where it has some).
    pub model_hash: [u8; 32],
    /// The hash of the inputs the ranges were calibrated on ([`calibration_hash`]): the sample
    /// input beside the model, the seeded ones drawn around it, and any extra ones. Part of
    /// what the circuit id depends on, recorded apart so that two circuits of one model file
    /// with different ids can say why.
    pub calibration_hash: [u8; 32],
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

    /// Compiles the model at `path` to verify its proofs: the circuit and its id, without the
    /// preprocessed columns' extension (a validator verifying dsperse-age's proofs need not
    /// hold its 1.0 GB proving key); [`CompiledModel::prove`] then refuses. With a cache
    /// directory that holds an authentic copy of its circuit id (written by an earlier
    /// compilation there and checked with the cache's secret, [`cache_secret`]), the
    /// extension is not even built; otherwise it is built (or read from an authentic cached
    /// key) to derive the id, and dropped.
    pub fn compile_for_verifying(path: impl AsRef<Path>, options: &CompileOptions) -> Result<Self, ModelError> {
        Self::compile_inner(path.as_ref(), options, true)
    }

    fn compile_inner(path: &Path, options: &CompileOptions, verifying_only: bool) -> Result<Self, ModelError> {
        let t = Instant::now();
        let label = path.display().to_string();
        let (model, model_hash) = crate::read_model(path)?;
        let (calibration, mut lower_options) = calibration_of(&model, path, options)?;
        let (plan, (circuit, layout)) = lay_out(&model, path, &calibration, &mut lower_options, options, &mut Vec::new(), &mut None)?;
        if !verifying_only {
            options.backend.prepare(&circuit);
        }
        let secret = options.cache_dir.as_ref().map(|dir| {
            let key_file = options.cache_key_file.clone().or_else(default_cache_key_file).ok_or_else(|| "no place for the cache's key (set SIGIL_CONFIG_DIR or HOME)".to_string())?;
            cache_secret(dir, &key_file).map_err(|e| format!("the cache's key {}: {e}", key_file.display()))
        });
        let (key, key_cache) = match (&options.cache_dir, secret) {
            (Some(dir), Some(Ok(secret))) => {
                let tag = cache_tag(&model_hash, &circuit, &lower_options, &calibration, &options.proof);
                let cache = Cache { dir, tag, secret };
                match verifying_only.then(|| cache.read_id()).flatten() {
                    Some((id, file)) => (ProvingKey::verifying_only(circuit, id), KeyCache::Hit(file)),
                    None => cache.key(circuit, options.backend.as_ref())?,
                }
            }
            // Without its key the cache is not used at all: a file it holds cannot be told
            // from a forged one.
            (_, Some(Err(why))) => (ProvingKey::new(circuit, options.backend.as_ref())?, KeyCache::NotWritten(why)),
            _ => (ProvingKey::new(circuit, options.backend.as_ref())?, KeyCache::Off),
        };
        // A verifier keeps the circuit and its id, never the preprocessed data it derived them
        // from (dsperse-age's takes 1.0 GB).
        let key = if verifying_only { key.into_verifying_only() } else { key };
        let calibration_hash = calibration_hash(&calibration);
        let inputs = layout.inputs.clone();
        let outputs = layout.outputs.iter().map(|(p, _)| p.clone()).collect();
        Ok(Self {
            path: label,
            plan,
            key,
            inputs,
            outputs,
            layout,
            model_hash,
            calibration_hash,
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
        Ok(crate::read_inputs(path, &self.plan.model)?)
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
            out.extend(t.values.iter().map(|&v| F::from_i64(if port.frac_bits == 0 { v as i64 } else { crate::exec::quantize(v, port.frac_bits) })));
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

    /// Checks claimed outputs (per output port, dequantized, as `sigil prove --output` writes
    /// them) against the outputs of `statement`: the proved statement is fixed-point integers,
    /// so a claimed value matches when it rounds to the proved integer at its port's scale
    /// (the nearest multiple of `2^-f`, as inputs are quantized), which every value that
    /// `prove --output` wrote does after any JSON round trip; past `2^53` steps (where an
    /// `f64` no longer holds every integer) it may differ by the `f64` spacing there. `Err`
    /// names the first output and element that differ.
    pub fn check_outputs(&self, statement: &[F], claimed: &[Vec<f64>]) -> Result<(), String> {
        if claimed.len() != self.outputs.len() {
            return Err(format!("{} outputs claimed, the model has {}", claimed.len(), self.outputs.len()));
        }
        for (p, c) in self.outputs.iter().zip(claimed) {
            if c.len() != p.len {
                return Err(format!("output `{}`: {} values claimed, it has {}", p.name, c.len(), p.len));
            }
            let proved = statement.get(p.start..p.start + p.len).ok_or_else(|| "the statement is shorter than the model's".to_string())?;
            for (i, (&v, &q)) in c.iter().zip(proved).enumerate() {
                let q = to_signed(q);
                let slack = (q.unsigned_abs() >> 52).saturating_sub(1);
                if !v.is_finite() || crate::exec::quantize(v, p.frac_bits).abs_diff(q) > slack {
                    let proved_value = q as f64 / (1u64 << p.frac_bits) as f64;
                    return Err(format!("output `{}` element {i}: {v} claimed, {proved_value} proved (at {} fractional bits)", p.name, p.frac_bits));
                }
            }
        }
        Ok(())
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

/// A hash of calibration input sets: for each set, each tensor's name, element type, shape
/// and values (as IEEE-754 bits), little-endian and length-prefixed.
pub fn calibration_hash(sets: &[Vec<InputTensor>]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"sigil calibration 1");
    h.update(&(sets.len() as u64).to_le_bytes());
    for set in sets {
        h.update(&(set.len() as u64).to_le_bytes());
        for t in set {
            h.update(&(t.name.len() as u64).to_le_bytes()).update(t.name.as_bytes());
            h.update(format!("{:?}", t.elem_type).as_bytes());
            h.update(&(t.dims.len() as u64).to_le_bytes());
            for &d in &t.dims {
                h.update(&(d as u64).to_le_bytes());
            }
            h.update(&(t.values.len() as u64).to_le_bytes());
            for v in &t.values {
                h.update(&v.to_bits().to_le_bytes());
            }
        }
    }
    *h.finalize().as_bytes()
}

/// The calibration inputs of the model at `path` (its default set and `options`' extra ones)
/// and the lowering options with the request domains filled in.
fn calibration_of(model: &Model, path: &Path, options: &CompileOptions) -> Result<(Vec<Vec<InputTensor>>, LowerOptions), ModelError> {
    let (mut calibration, domains) = default_calibration(model, path)?;
    calibration.extend(options.calibration.iter().cloned());
    let mut lower_options = options.lower.clone();
    if lower_options.domains.is_empty() {
        lower_options.domains = domains;
    }
    Ok((calibration, lower_options))
}

/// Lowers `model` and lays it out as a circuit, recording in `survey` what proves each node
/// ([`compile::compile_surveyed`]). Without a fixed precision, a chip whose bound passes the
/// field at the precision the executor's ranges allow takes 2 fewer fractional bits, down to 8
/// (`lower_options` ends at the precision taken).
fn lay_out(
    model: &Model,
    path: &Path,
    calibration: &[Vec<InputTensor>],
    lower_options: &mut LowerOptions,
    options: &CompileOptions,
    survey: &mut Vec<(String, String)>,
    failed_plan: &mut Option<Plan>,
) -> Result<(Plan, (sigil_verifier::Circuit, compile::Layout)), ModelError> {
    let label = path.display().to_string();
    let name = path.file_stem().map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
    loop {
        let plan = lower(model, calibration, lower_options, &label)?;
        survey.clear();
        match compile::compile_surveyed(&plan, &name, &label, options.proof, survey) {
            Err(ModelError::TooWide { .. }) if options.lower.frac_bits.is_none() && plan.frac_bits > 8 => {
                lower_options.frac_bits = Some(plan.frac_bits - 2);
            }
            Ok(c) => return Ok((plan, c)),
            Err(e) => {
                *failed_plan = Some(plan);
                return Err(e);
            }
        }
    }
}

/// The cache tag of a key: everything it depends on (the cache format and the prover's
/// version, the model's bytes, the settings after compilation's retries, the calibration
/// inputs, the proof options and the circuit's description).
fn cache_tag(model_hash: &[u8; 32], circuit: &sigil_verifier::Circuit, lower: &LowerOptions, calibration: &[Vec<InputTensor>], proof: &ProofOptions) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(concat!("sigil key cache 2, sigil-prover ", env!("CARGO_PKG_VERSION")).as_bytes());
    h.update(model_hash);
    h.update(&circuit.description_hash);
    h.update(format!("{lower:?}|{calibration:?}|{proof:?}").as_bytes());
    *h.finalize().as_bytes()
}

/// A key cache directory, one key's tag in it, and the secret its files are authenticated
/// with.
struct Cache<'a> {
    dir: &'a Path,
    tag: [u8; 32],
    secret: [u8; 32],
}

impl Cache<'_> {
    /// Reads the key from the cache, or builds it and writes it there ([`write_atomically`]).
    /// A damaged, stale or forged file is rebuilt and replaced.
    fn key(&self, circuit: sigil_verifier::Circuit, backend: &dyn Backend) -> Result<(ProvingKey, KeyCache), ModelError> {
        let path = self.dir.join("keys").join(format!("{}.pk", hex(&self.tag)));
        let circuit = match std::fs::File::open(&path) {
            Ok(f) => match ProvingKey::read_cache_file(circuit, &self.tag, &self.secret, &f) {
                Ok(key) => {
                    if self.read_id().is_none() {
                        let _ = self.write_id(&key.circuit_id);
                    }
                    return Ok((key, KeyCache::Hit(path)));
                }
                Err((circuit, _)) => *circuit,
            },
            Err(_) => circuit,
        };
        let key = ProvingKey::new(circuit, backend)?;
        // The id first: verifiers read it alone (a failure only costs them a full compilation).
        let _ = self.write_id(&key.circuit_id);
        if key.prep_bytes() > KEY_CACHE_MAX_BYTES {
            let why = format!("its preprocessed data takes {} MB, over the cache's limit of {} MB", key.prep_bytes() >> 20, KEY_CACHE_MAX_BYTES >> 20);
            return Ok((key, KeyCache::NotWritten(why)));
        }
        Ok(match write_atomically(&path, |f| key.write_cache(&self.tag, &self.secret, f)) {
            Ok(()) => (key, KeyCache::Written(path)),
            Err(e) => (key, KeyCache::NotWritten(format!("{}: {e}", path.display()))),
        })
    }

    /// The file holding the circuit id of the key: the id, then the keyed Blake3 hash (under
    /// the cache's secret) of the tag and the id.
    fn id_path(&self) -> PathBuf {
        self.dir.join("keys").join(format!("{}.id", hex(&self.tag)))
    }

    fn id_check(&self, id: &CircuitId) -> [u8; 32] {
        *blake3::Hasher::new_keyed(&self.secret).update(b"sigil circuit id 2").update(&self.tag).update(id).finalize().as_bytes()
    }

    /// The cached circuit id of the key, and its file, if an authentic one is there.
    fn read_id(&self) -> Option<(CircuitId, PathBuf)> {
        let path = self.id_path();
        let bytes = read_bounded(&path, 64).ok()?;
        let (id, check) = (bytes.get(..32)?, bytes.get(32..)?);
        let id: CircuitId = id.try_into().ok()?;
        // Compared in constant time: the check is a MAC.
        (blake3::Hash::from(self.id_check(&id)) == <[u8; 32]>::try_from(check).ok()?).then_some((id, path))
    }

    fn write_id(&self, id: &CircuitId) -> std::io::Result<()> {
        use std::io::Write;
        write_atomically(&self.id_path(), |mut f| f.write_all(&[id.as_slice(), &self.id_check(id)].concat()))
    }
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

#[doc(hidden)]
pub fn layout_summary(m: &CompiledModel) -> Vec<(String, usize, usize)> {
    m.key.circuit.chips.iter().zip(&m.key.circuit.log_heights).map(|(c, &h)| (c.name(), h, c.width())).collect()
}

/// A proof file: the statement and the context beside the proof, so that a verifier holding
/// only the model can check it, and a user can read the output from it.
///
/// Layout (little-endian): `b"SIGILMP3"`, the 32-byte circuit id, the number of public values
/// (u32), each public value as a varint (below), the context's length (u32, at most
/// [`sigil_verifier::MAX_CONTEXT_BYTES`]) and bytes, then the STARK proof (its size fixed by
/// the circuit).
///
/// A public value is a fixed-point number: the field element `v` stands for the integer `s`
/// with `|s| <= (p - 1)/2` and `v = s mod p`. It is written zigzagged (`2s` for `s >= 0`,
/// `-2s - 1` below) in LEB128 (7 bits a byte, low first, the high bit set on all but the
/// last): a 16-bit input takes 3 bytes instead of 8 (dsperse-age's 12,288 inputs: 37 KB
/// instead of 98 KB). Every value has exactly one encoding: a longer one (a trailing zero
/// byte) or one past `(p - 1)/2` is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelProof {
    pub circuit_id: CircuitId,
    pub statement: Vec<F>,
    /// The context the proof was made in (empty for none).
    pub context: Vec<u8>,
    pub proof: Vec<u8>,
}

/// The first bytes of a model proof file.
pub const MODEL_PROOF_MAGIC: &[u8; 8] = b"SIGILMP3";

/// The most bytes a public value takes (a zigzagged 64-bit value in LEB128).
const MAX_VALUE_BYTES: usize = 10;

/// Appends `v` zigzagged in LEB128 (see [`ModelProof`]).
fn write_value(out: &mut Vec<u8>, v: F) {
    // Zigzag of the signed representative: 2s, or 2|s| - 1 for s < 0 (`|s| <= (p - 1)/2`,
    // so `2|s|` fits 64 bits).
    let s = to_signed(v);
    write_varint(out, (s.unsigned_abs() << 1) - u64::from(s < 0));
}

/// Appends `z` in LEB128: 7 bits a byte, low first, the high bit set on all but the last.
fn write_varint(out: &mut Vec<u8>, mut z: u64) {
    loop {
        let byte = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads one value written by [`write_value`] from the front of `bytes`: the value and the
/// bytes it took, or why it is not one.
fn read_value(bytes: &[u8]) -> Result<(F, usize), String> {
    let mut z: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(MAX_VALUE_BYTES) {
        let bits = u64::from(b & 0x7f);
        if i == MAX_VALUE_BYTES - 1 && bits > 1 {
            return Err("a public value past 64 bits".into());
        }
        z |= bits << (7 * i);
        if b & 0x80 == 0 {
            if b == 0 && i > 0 {
                return Err("a public value with a longer encoding than its own".into());
            }
            // Unzigzag: |s| = z/2, or (z + 1)/2 for a negative s (z odd).
            let (neg, m) = (z & 1 == 1, (z >> 1) + (z & 1));
            if m > sigil_air::field::P / 2 {
                return Err(format!("a public value of magnitude {m}, past (p - 1)/2"));
            }
            let v = if neg { -F::from_u64(m) } else { F::from_u64(m) };
            return Ok((v, i + 1));
        }
    }
    Err("a public value runs past the file or past 10 bytes".into())
}

impl ModelProof {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + 3 * self.statement.len() + self.context.len() + self.proof.len());
        out.extend_from_slice(MODEL_PROOF_MAGIC);
        out.extend_from_slice(&self.circuit_id);
        out.extend_from_slice(&(self.statement.len() as u32).to_le_bytes());
        for v in &self.statement {
            write_value(&mut out, *v);
        }
        out.extend_from_slice(&(self.context.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.context);
        out.extend_from_slice(&self.proof);
        out
    }

    /// The most bytes a model proof file of `model` can have (with the longest context and
    /// the longest values).
    pub fn max_size_for(model: &CompiledModel) -> usize {
        48 + MAX_VALUE_BYTES * model.key.circuit.n_publics + sigil_verifier::MAX_CONTEXT_BYTES + model.proof_size()
    }

    /// Parses a model proof file of `model`: every length is checked against the model's
    /// before anything is read, and the circuit id must be the model's.
    pub fn from_bytes(bytes: &[u8], model: &CompiledModel) -> Result<Self, ModelError> {
        let bad = |what: String| ModelError::Statement(what);
        let n_publics = model.key.circuit.n_publics;
        let (least, most) = (48 + n_publics + model.proof_size(), Self::max_size_for(model));
        if bytes.len() < least || bytes.len() > most {
            return Err(bad(format!("the proof file is {} bytes; this model's take {least} to {most}", bytes.len())));
        }
        if &bytes[..8] != MODEL_PROOF_MAGIC {
            return Err(bad("not a Sigil model proof (bad magic bytes)".into()));
        }
        let circuit_id: CircuitId = bytes[8..40].try_into().expect("32 bytes");
        if circuit_id != model.circuit_id() {
            return Err(bad(format!("the proof is for circuit {}, not this model's {}", hex(&circuit_id), hex(&model.circuit_id()))));
        }
        let n = u32::from_le_bytes(bytes[40..44].try_into().expect("4 bytes")) as usize;
        if n != n_publics {
            return Err(bad(format!("the proof has {n} public values; this model's statement has {n_publics}")));
        }
        let mut statement = Vec::with_capacity(n);
        let mut at = 44;
        for i in 0..n {
            let (v, len) = read_value(&bytes[at..]).map_err(|e| bad(format!("public value {i}: {e}")))?;
            statement.push(v);
            at += len;
        }
        let Some(len_bytes) = bytes.get(at..at + 4) else {
            return Err(bad("the proof file ends in its statement".into()));
        };
        let context_len = u32::from_le_bytes(len_bytes.try_into().expect("4 bytes")) as usize;
        let rest = bytes.len() - (at + 4);
        if context_len > sigil_verifier::MAX_CONTEXT_BYTES || rest != context_len + model.proof_size() {
            return Err(bad(format!(
                "the proof file says its context is {context_len} bytes; {rest} bytes follow, for a proof of {}",
                model.proof_size()
            )));
        }
        let context = bytes[at + 4..at + 4 + context_len].to_vec();
        Ok(Self { circuit_id, statement, context, proof: bytes[at + 4 + context_len..].to_vec() })
    }
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod proof_file_tests {
    use super::*;

    /// Every value round-trips in its one encoding; small magnitudes take few bytes; a longer
    /// encoding, a magnitude past `(p - 1)/2`, a value past 64 bits or a cut one are refused.
    #[test]
    fn public_values_round_trip_in_one_encoding() {
        let p = sigil_air::field::P;
        let half = (p - 1) / 2;
        let cases = [(0u64, 1usize), (1, 1), (p - 1, 1), (63, 1), (64, 2), (p - 64, 1), (p - 65, 2), (1 << 16, 3), (half, 10), (half + 1, 10)];
        for (c, len) in cases {
            let mut out = Vec::new();
            write_value(&mut out, F::from_u64(c));
            assert_eq!(out.len(), len, "{c}");
            assert_eq!(read_value(&out), Ok((F::from_u64(c), len)), "{c}");
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = F::from_u64(x);
            let mut out = Vec::new();
            write_value(&mut out, v);
            assert_eq!(read_value(&out), Ok((v, out.len())));
        }
        assert!(read_value(&[0x81, 0x00]).unwrap_err().contains("longer encoding"));
        assert!(read_value(&[0x80]).unwrap_err().contains("runs past"));
        assert!(read_value(&[0xff; 10]).unwrap_err().contains("past 64 bits"));
        // 2 (half + 1): the smallest even zigzag past the range, and its odd neighbour.
        for z in [2 * (half + 1), 2 * (half + 1) + 1] {
            let mut out = Vec::new();
            write_varint(&mut out, z);
            assert!(read_value(&out).unwrap_err().contains("past (p - 1)/2"), "{out:?}");
        }
    }
}
