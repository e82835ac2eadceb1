//! `sigil`: prove and verify with Sigil from the command line.

/// mimalloc keeps freed memory for the next allocation instead of handing it back to the
/// kernel: a proof allocates and frees hundreds of megabytes of extensions and trees, and with
/// the system allocator a third of `sigil prove`'s CPU time on dsperse-net was the kernel
/// faulting in and zeroing fresh pages (0.30 s of system time; 0.10 s with mimalloc).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod alloc;
mod bench;
mod net;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use sigil_onnx::circuit::{self, CompileOptions, CompiledModel, ModelProof, hex};
use sigil_prover::{CpuBackend, ProverConfig, ProvingKey, examples};
use sigil_verifier::protocol::MAX_LOG_HEIGHT;
use sigil_verifier::{ProofOptions, VerifierOptions};

/// sigil — zero-knowledge proofs of machine-learning inference (STARK over Goldilocks).
///
/// Sigil runs an ONNX model in fixed point and proves, with a STARK (FRI, Blake3, no trusted
/// setup), that the output is what this model computes on this input. Exit codes: 0 success,
/// 1 proof rejected, 2 bad usage or input.
#[derive(Parser, Debug)]
#[command(name = "sigil", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compile a model into a circuit and print its circuit id, tables and proof size.
    ///
    /// The circuit depends on the model file, its sample input and these settings alone
    /// (scales and ranges are calibrated on the model's sample input, `input.json` beside it,
    /// and seeded random inputs in its range), so every machine holding the same two files
    /// derives the same id; another `input.json`, or none, is another circuit. `--out` writes
    /// a small artifact (settings, calibration inputs and their hash, model hash and circuit
    /// id) that `prove` and `verify` accept in place of the model.
    Compile(CompileArgs),
    /// Prove a model on an input: prints the output, circuit id, proof size, security and where
    /// the time went, and writes the proof file (circuit id, statement, STARK proof).
    Prove(ProveArgs),
    /// Verify a proof file against a model: exit 0 valid, 1 invalid (with the reason), 2
    /// unreadable. The circuit id is derived from the model, never taken from the proof.
    Verify(VerifyArgs),
    /// Run a model with the integer (fixed-point) executor, exactly as the circuit will, and
    /// print {"output_data": [...]} (times go to stderr).
    Run(RunArgs),
    /// List a model's opsets, inputs, outputs, operators and parameters, whether it is provable
    /// (exactly when `compile` succeeds) and what proves each node (the kinds of chip, wiring,
    /// a folded constant, or why none: executed only, unsupported); with --input, lower it
    /// calibrated on that input and list the quantization of every value. `--json`: one
    /// object with `provable` and `nodes` [{name, op, proved_by, status, reason}].
    Inspect(InspectArgs),
    /// Build a built-in example circuit, prove it, verify it, and report times, sizes and
    /// security (conjectured and proven bits).
    ///
    /// mac: a multiply-accumulate chain of 2^N rows (default N = 16); transfer: four tables of
    /// four heights on two buses (default N = 12); vecmat: a 2^N x 2^N layer checked by
    /// Freivalds' test (default N = 8); mlp: a two-layer quantized perceptron whose statement
    /// is its input and output.
    Demo(DemoArgs),
    /// Verify a proof written by `sigil demo` with the same example, size and options.
    VerifyDemo(VerifyDemoArgs),
    /// Serve proofs to the DSperse subnet's validators over the HTTP axon protocol (and
    /// btlightning with --quic): answer QueryZkProof, DSperseProofGeneration and
    /// ProofOfWeightsSynapse requests of allowed validators for the circuits of --models, each
    /// proof bound to the request's nonce and this hotkey.
    Miner(net::MinerArgs),
    /// Hand out proof requests to the metagraph's miners, verify every answer, score the
    /// miners, persist results in SQLite and write weights.
    Validator(net::ValidatorArgs),
    /// A validator and N miners on loopback with fresh hotkeys, printing a live table.
    Devnet(net::DevnetArgs),
    /// Send one proof request to an axon and verify the answer (exit 0 verified, 1 not).
    Query(net::QueryArgs),
    /// Create a hotkey file (sr25519, Bittensor's plaintext layout) and print its address.
    Keygen(net::KeygenArgs),
    /// The standard benchmark: the GPU adapter (name, vendor, backend), each GPU kernel's
    /// throughput beside the CPU backend's, and end-to-end proof times of models and MAC chains
    /// on the CPU and GPU backends (checking that both make the same proof), as a table or
    /// with --json. Without a GPU, the CPU figures alone.
    Bench(bench::BenchArgs),
}

/// The arguments of `sigil compile`.
#[derive(Args, Debug)]
struct CompileArgs {
    /// The model (.onnx) or a compiled artifact (.sigil).
    model: PathBuf,
    #[command(flatten)]
    quant: Quant,
    #[command(flatten)]
    proof: ProofArgs,
    /// Write the compiled artifact here (.sigil).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// The arguments of `sigil prove`.
#[derive(Args, Debug)]
struct ProveArgs {
    /// The model (.onnx) or a compiled artifact (.sigil).
    model: PathBuf,
    /// The input (EZKL/DSperse input.json).
    #[arg(long)]
    input: PathBuf,
    /// Where to write the proof.
    #[arg(long)]
    proof: PathBuf,
    /// Also write the output as {"output_data": [...]} here.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Prove in this context (text the transcript absorbs beside the statement, at most
    /// 1024 bytes): the proof then verifies only with the same `--context`.
    #[arg(long, default_value = "")]
    context: String,
    #[command(flatten)]
    quant: Quant,
    #[command(flatten)]
    proof_options: ProofArgs,
    /// Print one JSON object (no progress, no timings on stderr).
    #[arg(long)]
    json: bool,
    /// Which backend builds the key and the proof: `cpu`; `gpu` (any adapter, software
    /// ones too; without one, the CPU with a warning); `auto`: the CPU for a circuit under
    /// 2^25 committed elements (without looking for a GPU), else a hardware GPU when there
    /// is one (looking stops at a software adapter: about 0.05 s). Every backend makes the same proof, byte for byte; a
    /// GPU that fails mid-proof hands the rest to the CPU with a warning.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    backend: BackendArg,
}

/// The arguments of `sigil verify`.
#[derive(Args, Debug)]
struct VerifyArgs {
    /// The proof file.
    #[arg(long)]
    proof: PathBuf,
    /// The model (.onnx) or a compiled artifact (.sigil) the proof must be for.
    #[arg(long)]
    model: PathBuf,
    /// Also require this circuit id (hex).
    #[arg(long)]
    circuit_id: Option<String>,
    /// Require the proof's input to be this input.json.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Require the proof's output to be this {"output_data": ...} file: each value must round
    /// to the proved fixed-point value at its output's scale (what `prove --output` wrote
    /// always does).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Require the proof's context (printed when it has one) to be this text.
    #[arg(long)]
    context: Option<String>,
    #[command(flatten)]
    quant: Quant,
    #[command(flatten)]
    proof_options: ProofArgs,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// The arguments of `sigil run`.
#[derive(Args, Debug)]
struct RunArgs {
    model: PathBuf,
    #[arg(long)]
    input: PathBuf,
    /// Write the output here instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    quant: Quant,
    /// Print one JSON object with the output and the timings.
    #[arg(long)]
    json: bool,
}

/// The arguments of `sigil inspect`.
#[derive(Args, Debug)]
struct InspectArgs {
    model: PathBuf,
    #[arg(long)]
    input: Option<PathBuf>,
    #[command(flatten)]
    quant: Quant,
    /// Print one JSON object (the model's summary).
    #[arg(long)]
    json: bool,
}

/// The arguments of `sigil demo`.
#[derive(Args, Debug)]
struct DemoArgs {
    #[command(flatten)]
    demo: ExampleArgs,
    /// Write the proof here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// The arguments of `sigil verify-demo`.
#[derive(Args, Debug)]
struct VerifyDemoArgs {
    #[command(flatten)]
    demo: ExampleArgs,
    proof: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}


/// Quantization options (`docs/quantization.md`).
#[derive(Args, Debug, Clone)]
struct Quant {
    /// Fractional bits of activations (default: the largest of 16, 14, ..., 8 that fits 60 bits and, for a circuit, keeps every chip inside the field).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=24))]
    frac_bits: Option<u32>,
    /// Significant bits of each weight tensor.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(2..=32))]
    param_bits: u32,
    /// More inputs to size the value ranges with (input.json format; a list may hold several
    /// samples one after another).
    #[arg(long)]
    calibration: Vec<PathBuf>,
}

impl Quant {
    /// `base` with these quantization settings and the samples of the `--calibration` files
    /// (read against `model`).
    fn options(&self, model: &sigil_onnx::Model, mut base: CompileOptions) -> Result<CompileOptions, Failure> {
        base.lower.frac_bits = self.frac_bits;
        base.lower.param_bits = self.param_bits;
        for c in &self.calibration {
            base.calibration.extend(sigil_onnx::read_samples(c, model).map_err(bad)?);
        }
        Ok(base)
    }
}

/// Proof options; part of the circuit id.
#[derive(Args, Debug, Clone)]
struct ProofArgs {
    /// FRI queries.
    #[arg(long, default_value_t = ProofOptions::default().n_queries)]
    queries: u16,
    /// log2 of the blowup.
    #[arg(long, default_value_t = ProofOptions::default().log_blowup)]
    blowup_log: u8,
    /// Proof-of-work bits.
    #[arg(long, default_value_t = ProofOptions::default().grinding_bits)]
    grinding: u8,
    /// log2 of the FRI folding factor.
    #[arg(long, default_value_t = ProofOptions::default().log_folding_factor, value_parser = clap::value_parser!(u8).range(1..=4))]
    fold_log: u8,
    /// Build the proving key (and derive the circuit id) instead of reading it from the key
    /// cache (and writing it there): `$SIGIL_CACHE_DIR`, else `$XDG_CACHE_HOME/sigil`, else
    /// `~/.cache/sigil`. The cache's files are authenticated with a key kept outside it
    /// (`$SIGIL_CONFIG_DIR/cache.key`, else `$XDG_CONFIG_HOME/sigil/cache.key`, else
    /// `~/.config/sigil/cache.key`): a file written by anyone who cannot read that key is
    /// ignored. The cache changes no circuit id and no proof, only the time to compile.
    #[arg(long)]
    no_cache: bool,
    /// Conjectured bits the verifier requires.
    #[arg(long, default_value_t = VerifierOptions::default().min_security_bits, value_parser = clap::value_parser!(u32).range(0..=128))]
    min_security: u32,
}

impl ProofArgs {
    fn cache_dir(&self) -> Option<PathBuf> {
        if self.no_cache { None } else { sigil_onnx::circuit::default_cache_dir() }
    }

    fn options(&self) -> ProofOptions {
        ProofOptions {
            n_queries: self.queries,
            log_blowup: self.blowup_log,
            grinding_bits: self.grinding,
            log_folding_factor: self.fold_log,
            ..ProofOptions::default()
        }
    }
}

/// `--backend`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BackendArg {
    Cpu,
    Gpu,
    Auto,
}

impl BackendArg {
    /// The backend for this choice, and why it was taken.
    pub(crate) fn choose(self) -> sigil_gpu::Chosen {
        sigil_gpu::choose(match self {
            BackendArg::Cpu => sigil_gpu::BackendChoice::Cpu,
            BackendArg::Gpu => sigil_gpu::BackendChoice::Gpu,
            BackendArg::Auto => sigil_gpu::BackendChoice::Auto,
        })
    }

    /// The backend for one proof: `auto` decides per circuit when the model is compiled
    /// ([`sigil_gpu::AutoBackend`]: a small circuit never looks for a GPU), returned beside it
    /// so that the caller can say what it took; `cpu` and `gpu` now, with a line on stderr
    /// saying which was taken and why (a warning when the GPU was asked for and could not be
    /// had).
    fn build(self, quiet: bool) -> (Arc<dyn sigil_prover::Backend>, Option<Arc<sigil_gpu::AutoBackend>>) {
        if self == BackendArg::Auto {
            let auto = Arc::new(sigil_gpu::AutoBackend::new());
            return (auto.clone(), Some(auto));
        }
        let c = self.choose();
        if let Some(w) = &c.warning {
            eprintln!("warning: {w}");
        }
        if !quiet {
            eprintln!("backend: {} ({})", c.name, c.why);
        }
        (c.backend, None)
    }
}

#[derive(Args, Debug, Clone)]
struct ExampleArgs {
    /// mac, transfer, vecmat or mlp.
    #[arg(long, default_value = "transfer")]
    example: String,
    /// log2 of the rows (at most 22).
    #[arg(long)]
    log_rows: Option<usize>,
    #[command(flatten)]
    proof: ProofArgs,
}

/// Writes to stdout; a closed pipe (`sigil inspect ... | head`) ends the output quietly
/// instead of panicking.
fn write_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_fmt(args)
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}
macro_rules! out {
    ($($t:tt)*) => { write_out(format_args!($($t)*)) };
}
macro_rules! outln {
    ($($t:tt)*) => { write_out(format_args!("{}\n", format_args!($($t)*))) };
}

/// An error and its exit code: 1 for a rejected proof, 2 for bad usage or input.
type Failure = (u8, String);

fn bad(e: impl std::fmt::Display) -> Failure {
    (2, e.to_string())
}

/// A spinner on stderr for work longer than a moment, only on a terminal and not with --json.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(json: bool) -> Self {
        if json || !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let pb = indicatif::ProgressBar::new_spinner();
        pb.enable_steady_tick(Duration::from_millis(100));
        Self(Some(pb))
    }
    fn stage(&self, what: &str) {
        if let Some(pb) = &self.0 {
            pb.set_message(what.to_string());
        }
    }
    fn done(&self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
}

fn build(a: &ExampleArgs) -> Result<examples::Example, Failure> {
    if let Some(n) = a.log_rows.filter(|&n| !(2..=MAX_LOG_HEIGHT).contains(&n)) {
        return Err(bad(format!("--log-rows {n}: must be between 2 and {MAX_LOG_HEIGHT}")));
    }
    let opts = a.proof.options();
    let r = match a.example.as_str() {
        "mac" => examples::mac(a.log_rows.unwrap_or(16), 1, opts),
        "transfer" => examples::transfer(a.log_rows.unwrap_or(12), 10, 1, opts),
        "vecmat" => {
            let n = a.log_rows.unwrap_or(8);
            examples::vecmat(n, 1 << n, 1, opts)
        }
        "mlp" => examples::mlp(1, opts),
        other => return Err(bad(format!("unknown example `{other}` (mac, transfer, vecmat, mlp)"))),
    };
    r.map_err(bad)
}

/// The supported operators, listed after the help.
fn operators() -> String {
    let mut lines = vec![String::from("Operators the executor supports:"), String::from(" ")];
    for op in sigil_onnx::Op::ALL.iter().map(|op| op.name()) {
        if lines.last().is_some_and(|l| l.len() + op.len() + 1 > 88) {
            lines.push(String::from(" "));
        }
        if let Some(l) = lines.last_mut() {
            l.push(' ');
            l.push_str(op);
        }
    }
    lines.push(String::from("Any other is reported with its node and opset."));
    lines.join("\n")
}

// ---- Compiled artifacts -------------------------------------------------------------------------

/// How the proving key was obtained, for `--json`.
fn key_cache_word(c: &circuit::KeyCache) -> &'static str {
    match c {
        circuit::KeyCache::Off => "off",
        circuit::KeyCache::Hit(_) => "hit",
        circuit::KeyCache::Written(_) => "written",
        circuit::KeyCache::NotWritten(_) => "not written",
    }
}

/// How the proving key was obtained, in words.
fn key_cache_line(c: &circuit::KeyCache) -> String {
    match c {
        circuit::KeyCache::Off => "key built, cache off".into(),
        circuit::KeyCache::Hit(p) => format!("key read from {}", p.display()),
        circuit::KeyCache::Written(p) => format!("key built and cached in {}", p.display()),
        circuit::KeyCache::NotWritten(why) => format!("key built, not cached: {why}"),
    }
}

/// Compiles `path`: an .onnx model, or a .sigil artifact whose settings then override the
/// command's ([`circuit::Artifact::compile`] checks its model hash, calibration and circuit
/// id); `verifying`: only to verify its proofs (the key's preprocessed columns are skipped
/// when the cache holds the circuit id).
fn compile_model(path: &Path, quant: &Quant, proof: &ProofArgs, verifying: bool, backend: Option<Arc<dyn sigil_prover::Backend>>) -> Result<CompiledModel, Failure> {
    Ok(compile_with_options(path, quant, proof, verifying, backend)?.0)
}

/// [`compile_model`], with the options an .onnx model was compiled with (an artifact's are its
/// own).
fn compile_with_options(path: &Path, quant: &Quant, proof: &ProofArgs, verifying: bool, backend: Option<Arc<dyn sigil_prover::Backend>>) -> Result<(CompiledModel, CompileOptions), Failure> {
    let backend = backend.unwrap_or_else(|| CompileOptions::default().backend);
    let base = CompileOptions { proof: proof.options(), cache_dir: proof.cache_dir(), backend, ..CompileOptions::default() };
    if path.extension().is_some_and(|e| e == "sigil") {
        let m = circuit::Artifact::read(path).and_then(|a| a.compile(path, &base, verifying)).map_err(bad)?;
        return Ok((m, base));
    }
    let model = sigil_onnx::load_model(path).map_err(bad)?;
    let opts = quant.options(&model, base)?;
    let m = if verifying { CompiledModel::compile_for_verifying(path, &opts) } else { CompiledModel::compile(path, &opts) };
    Ok((m.map_err(bad)?, opts))
}


/// Where a proof's bytes go, per phase, for `sigil compile`.
fn size_breakdown(c: &sigil_verifier::Circuit) -> Vec<(String, usize)> {
    let l = &c.layout;
    let per = |ts: &[sigil_verifier::layout::TreeLayout]| -> (usize, usize) {
        ts.iter().fold((0, 0), |(a, b), t| (a + 8 * t.leaf_words(), b + 32 * t.n_siblings()))
    };
    let mut v = vec![];
    for (name, ts) in [("preprocessed", &l.prep), ("main", &l.main), ("lookup", &l.perm), ("quotient", &l.quotient)] {
        let (leaf, path) = per(ts);
        v.push((format!("{name} rows per query"), leaf));
        v.push((format!("{name} Merkle path per query"), path));
    }
    let fri: usize = l.committed.iter().map(|f| 8 * f.leaf_words() + 32 * f.n_siblings()).sum();
    v.push(("FRI layers per query".into(), fri));
    v.push((format!("queries: {}", l.n_queries), l.n_queries));
    v.push(("out-of-domain openings".into(), 8 * l.openings_words()));
    v
}

// ---- Commands -----------------------------------------------------------------------------------

fn dispatch(cli: Cli) -> Result<(), Failure> {
    if !matches!(cli.command, Command::Miner(_) | Command::Validator(_) | Command::Devnet(_)) {
        alloc::for_one_shot();
    }
    match cli.command {
        Command::Bench(a) => bench::run(a).map_err(bad),
        Command::Miner(a) => net::miner(a),
        Command::Validator(a) => net::validator(a),
        Command::Devnet(a) => net::devnet(a),
        Command::Query(a) => net::query(a),
        Command::Keygen(a) => net::keygen(a),
        Command::Compile(a) => compile(a),
        Command::Prove(a) => prove(a),
        Command::Verify(a) => verify(a),
        Command::Run(a) => run(a),
        Command::Inspect(a) => inspect(a),
        Command::Demo(a) => demo(a),
        Command::VerifyDemo(a) => verify_demo(a),
    }
}

/// `sigil compile`.
fn compile(a: CompileArgs) -> Result<(), Failure> {
    let CompileArgs { model: path, quant, proof, out, json } = a;
    let progress = Progress::new(json);
    progress.stage("compiling");
    let (m, options) = compile_with_options(&path, &quant, &proof, false, None)?;
    progress.done();
    if let Some(o) = &out {
        if path.extension().is_some_and(|e| e == "sigil") {
            return Err(bad("--out writes an artifact of an .onnx model"));
        }
        let text = circuit::Artifact::new(&m, &path, o, &options).to_json();
        std::fs::write(o, text).map_err(|e| bad(format!("{}: {e}", o.display())))?;
    }
    let sec = m.key.circuit.security;
    if json {
        let tables: Vec<_> = circuit::layout_summary(&m)
            .into_iter()
            .map(|(name, h, w)| serde_json::json!({ "name": name, "log_rows": h, "columns": w }))
            .collect();
        outln!(
            "{}",
            serde_json::json!({
                "model": path, "circuit_id": hex(&m.circuit_id()), "proof_bytes": m.proof_size(),
                "tables": tables, "conjectured_bits": sec.conjectured_bits, "proven_bits": sec.proven_bits,
                "frac_bits": m.plan.frac_bits, "compile_seconds": m.compile_time.as_secs_f64(), "artifact": out,
            })
        );
    } else {
        outln!("{}: circuit id {}", path.display(), hex(&m.circuit_id()));
        outln!(
            "{} tables, proofs of {} bytes, {} conjectured bits ({} proven), activations with {} fractional bits; compiled in {:.3} s",
            m.key.circuit.chips.len(),
            m.proof_size(),
            sec.conjectured_bits,
            sec.proven_bits,
            m.plan.frac_bits,
            m.compile_time.as_secs_f64()
        );
        for (name, h, w) in circuit::layout_summary(&m) {
            outln!("  {name:<40} 2^{h:<3} rows x {w} columns");
        }
        outln!("where a proof's bytes go:");
        for (k, v) in size_breakdown(&m.key.circuit) {
            outln!("  {k}: {v}");
        }
        if let Some(o) = &out {
            outln!("artifact -> {}", o.display());
        }
    }
    Ok(())
}

/// `sigil prove`.
fn prove(a: ProveArgs) -> Result<(), Failure> {
    let ProveArgs { model: path, input, proof: proof_path, output, context, quant, proof_options, json, backend } = a;
    let (backend, auto) = backend.build(json);
    let progress = Progress::new(json);
    progress.stage("compiling the model");
    let mut m = compile_model(&path, &quant, &proof_options, false, Some(backend))?;
    if let Some(a) = &auto
        && !json
    {
        let (name, why) = a.chosen();
        eprintln!("backend: {name} ({why})");
    }
    m.log_timings = !json;
    let inputs = m.read_input(&input).map_err(bad)?;
    progress.stage("executing and proving");
    let p = m.prove_in_context(&inputs, context.as_bytes());
    progress.done();
    let p = p.map_err(bad)?;
    let backend_name = m.backend.name();
    // The proof is checked before it is written (milliseconds): a wrong proof never
    // leaves the prover, whatever went wrong (exit 1, nothing written).
    m.verify_in_context(&p.statement, &p.context, &p.proof).map_err(|e| (1, format!("the proof just made does not verify, so it was not written: {e}")))?;
    let file = ModelProof { circuit_id: m.circuit_id(), statement: p.statement.clone(), context: p.context.clone(), proof: p.proof.clone() };
    std::fs::write(&proof_path, file.to_bytes()).map_err(|e| bad(format!("{}: {e}", proof_path.display())))?;
    let outputs = serde_json::json!({ "output_data": p.outputs });
    if let Some(o) = &output {
        std::fs::write(o, outputs.to_string() + "\n").map_err(|e| bad(format!("{}: {e}", o.display())))?;
    }
    let sec = m.key.circuit.security;
    if json {
        outln!(
            "{}",
            serde_json::json!({
                "output_data": p.outputs, "circuit_id": hex(&m.circuit_id()), "proof": proof_path, "proof_bytes": p.proof.len(),
                "conjectured_bits": sec.conjectured_bits, "compile_seconds": m.compile_time.as_secs_f64(),
                "execute_seconds": p.execute_time.as_secs_f64(), "witness_seconds": p.witness_time.as_secs_f64(),
                "prove_seconds": p.prove_time.as_secs_f64(), "key_cache": key_cache_word(&m.key_cache),
                "backend": backend_name,
            })
        );
    } else {
        outln!("{outputs}");
        outln!(
            "circuit id {}; proof {} bytes -> {}; {} conjectured bits",
            hex(&m.circuit_id()),
            p.proof.len(),
            proof_path.display(),
            sec.conjectured_bits
        );
        outln!(
            "compile {:.3} s ({}), execute {:.3} s, witness {:.3} s, prove {:.3} s ({backend_name})",
            m.compile_time.as_secs_f64(),
            key_cache_line(&m.key_cache),
            p.execute_time.as_secs_f64(),
            p.witness_time.as_secs_f64(),
            p.prove_time.as_secs_f64()
        );
    }
    Ok(())
}

/// `sigil verify`.
fn verify(a: VerifyArgs) -> Result<(), Failure> {
    let VerifyArgs { proof: proof_path, model: path, circuit_id, input, output, context, quant, proof_options, json } = a;
    let label = proof_path.display().to_string();
    let rejected = |e: String| (1u8, format!("{label}: proof rejected: {e}"));
    let m = compile_model(&path, &quant, &proof_options, true, None)?;
    if let Some(id) = &circuit_id
        && !id.eq_ignore_ascii_case(&hex(&m.circuit_id()))
    {
        return Err(bad(format!("the model's circuit id is {}, not {id}", hex(&m.circuit_id()))));
    }
    // At most one byte past the largest proof file of this model is read, whatever kind
    // of file it is (a FIFO or a device has no size to check first).
    let most = ModelProof::max_size_for(&m);
    let bytes = match circuit::read_bounded(&proof_path, most) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(rejected(format!("the file is more than {most} bytes, the most a proof file of this model takes")));
        }
        Err(e) => return Err(bad(format!("{label}: {e}"))),
    };
    let file = ModelProof::from_bytes(&bytes, &m).map_err(|e| rejected(e.to_string()))?;
    if let Some(input) = &input {
        let inputs = m.read_input(input).map_err(bad)?;
        let want = m.input_statement(&inputs).map_err(bad)?;
        if file.statement.get(..want.len()) != Some(&want[..]) {
            return Err(rejected(format!("it proves another input than {}", input.display())));
        }
    }
    let outputs = m.statement_outputs(&file.statement);
    if let Some(o) = &output {
        let max = (1 << 20) + 64 * m.outputs.iter().map(|p| p.len).sum::<usize>();
        let text = circuit::read_bounded(o, max).map_err(|e| bad(format!("{}: {e}", o.display())))?;
        let v: serde_json::Value = serde_json::from_slice(&text).map_err(|e| bad(format!("{}: {e}", o.display())))?;
        let claimed: Vec<Vec<f64>> =
            serde_json::from_value(v["output_data"].clone()).map_err(|e| bad(format!("{}: output_data: {e}", o.display())))?;
        m.check_outputs(&file.statement, &claimed).map_err(|e| rejected(format!("it proves another output than {}: {e}", o.display())))?;
    }
    if let Some(c) = &context
        && c.as_bytes() != file.context
    {
        return Err(rejected(format!("it was made in the context {:?}, not {c:?}", String::from_utf8_lossy(&file.context))));
    }
    let t = Instant::now();
    let res = m.verify_in_context(&file.statement, &file.context, &file.proof);
    let dt = t.elapsed();
    res.map_err(|e| rejected(e.to_string()))?;
    if json {
        outln!(
            "{}",
            serde_json::json!({ "valid": true, "circuit_id": hex(&m.circuit_id()), "output_data": outputs, "context": String::from_utf8_lossy(&file.context), "verify_seconds": dt.as_secs_f64() })
        );
    } else {
        outln!("{}", serde_json::json!({ "output_data": outputs }));
        if !file.context.is_empty() {
            outln!("context: {}", String::from_utf8_lossy(&file.context));
        }
        outln!("verified in {:.2} ms (circuit id {})", dt.as_secs_f64() * 1e3, hex(&m.circuit_id()));
    }
    Ok(())
}

/// `sigil run`.
fn run(a: RunArgs) -> Result<(), Failure> {
    let RunArgs { model: path, input, output, quant, json } = a;
    let t = Instant::now();
    let label = path.display().to_string();
    let model = sigil_onnx::load_model(&path).map_err(bad)?;
    let inputs = sigil_onnx::read_inputs(&input, &model).map_err(bad)?;
    let parse = t.elapsed();
    if !json {
        eprintln!("parsed {label} ({} nodes) and {} in {:.3} s", model.graph.nodes.len(), input.display(), parse.as_secs_f64());
    }
    let t = Instant::now();
    let (plan, run) = lower_model(&model, inputs, &quant, &label)?;
    let lowered = t.elapsed();
    if !json {
        eprintln!(
            "lowered and executed in {:.3} s: {} fractional bits, {} nodes run per input ({} folded, {} BatchNormalization folded)",
            lowered.as_secs_f64(),
            plan.frac_bits,
            plan.nodes.len(),
            plan.folded_nodes,
            plan.folded_batchnorms
        );
    }
    let data: Vec<Vec<f64>> = run.outputs.into_iter().map(|(_, _, v)| v).collect();
    let text = if json {
        serde_json::json!({ "output_data": data, "frac_bits": plan.frac_bits, "seconds": (parse + lowered).as_secs_f64() }).to_string()
    } else {
        serde_json::json!({ "output_data": data }).to_string()
    };
    match &output {
        Some(o) => std::fs::write(o, text + "\n").map_err(|e| bad(format!("{}: {e}", o.display())))?,
        None => outln!("{text}"),
    }
    Ok(())
}

/// `sigil inspect`.
fn inspect(a: InspectArgs) -> Result<(), Failure> {
    let InspectArgs { model: path, input, quant, json } = a;
    let label = path.display().to_string();
    let model = sigil_onnx::load_model(&path).map_err(bad)?;
    let mut missing: Vec<&str> = model.graph.nodes.iter().filter(|n| n.op.is_none()).map(|n| n.op_type.as_str()).collect();
    missing.sort_unstable();
    missing.dedup();
    // What `compile` would do, node by node (the same lowering and layout, no key).
    let report = circuit::inspect(&model, &path, &quant.options(&model, CompileOptions::default())?);
    if json {
        let s = model.summary();
        let nodes: Vec<_> = report
            .nodes
            .iter()
            .map(|n| serde_json::json!({ "name": n.name, "op": n.op, "proved_by": n.proved_by, "status": n.status, "reason": n.reason }))
            .collect();
        let tables: Vec<_> = report
            .tables
            .iter()
            .map(|t| serde_json::json!({ "name": t.name, "log_height": t.log_height, "width": t.width, "lookup_width": t.lookup_width, "prep_width": t.prep_width, "quotient_width": t.quotient_width, "committed": t.committed() }))
            .collect();
        outln!(
            "{}",
            serde_json::json!({
                "model": label, "summary": s.to_string(), "unsupported": missing,
                "provable": report.provable, "stopped_at": report.stopped_at, "error": report.error, "nodes": nodes,
                "tables": tables,
            })
        );
        return Ok(());
    }
    out!("{}", model.summary());
    if missing.is_empty() {
        outln!("  every operator is executed");
    } else {
        outln!("  not executed yet: {}", missing.join(", "));
    }
    match (&report.error, report.provable) {
        (_, true) => outln!("  provable: every node is proved (`sigil compile` succeeds)"),
        (Some(e), false) => outln!("  not provable: {e}"),
        (None, false) => outln!("  not provable"),
    }
    outln!("nodes (what proves each):");
    for n in &report.nodes {
        let what = n.proved_by.clone().unwrap_or_else(|| n.status.to_string());
        outln!("  {:<40} {:<22} {what}", n.name, n.op);
    }
    if !report.tables.is_empty() {
        let total: u64 = report.tables.iter().map(|t| t.committed()).sum();
        outln!("tables ({}, 2^{:.1} elements committed per proof before the blowup; the largest first):", report.tables.len(), (total as f64).log2());
        let mut by_size: Vec<_> = report.tables.iter().collect();
        by_size.sort_by_key(|t| std::cmp::Reverse(t.committed()));
        for t in by_size.iter().take(12) {
            outln!("  {:<48} 2^{:<3} {:>3} main {:>3} lookup {:>2} quotient {:>5.1}%", t.name, t.log_height, t.width, t.lookup_width, t.quotient_width, 100.0 * t.committed() as f64 / total as f64);
        }
    }
    if let Some(input) = &input {
        let inputs = sigil_onnx::read_inputs(input, &model).map_err(bad)?;
        let total: usize = inputs.iter().map(|i| i.values.len()).sum();
        outln!("{}: {} inputs, {total} values, match the model", input.display(), inputs.len());
        let (plan, _) = lower_model(&model, inputs, &quant, &label)?;
        out!("{plan}");
    } else if missing.is_empty() {
        // Without an input, lower on zeros (or ones, where zeros divide by zero) for the
        // scales and shapes; ranges need a real input.
        let lowered = lower_model(&model, sigil_onnx::filled_inputs(&model, 0.0), &quant, &label)
            .or_else(|_| lower_model(&model, sigil_onnx::filled_inputs(&model, 1.0), &quant, &label));
        match lowered {
            Ok((plan, _)) => out!("{}", plan.describe(false)),
            Err((_, e)) => outln!("(lowering on an all-one input failed: {e}; give --input for scales and ranges)"),
        }
    }
    Ok(())
}

/// `sigil demo`.
fn demo(a: DemoArgs) -> Result<(), Failure> {
    let DemoArgs { demo, out, json } = a;
    let ex = build(&demo)?;
    let backend = CpuBackend::default();
    let t = Instant::now();
    let pk = ProvingKey::new(ex.circuit, &backend).map_err(bad)?;
    let setup = t.elapsed();
    let sec = pk.circuit.security;
    let opts = demo.proof.options();
    if !json {
        eprintln!(
            "circuit `{}`: {} tables, heights {:?}; circuit id {}",
            pk.circuit.name,
            ex.traces.len(),
            ex.traces.iter().map(|t| t.height()).collect::<Vec<_>>(),
            hex(&pk.circuit_id)
        );
        eprintln!(
            "options: blowup 2^{}, {} queries, {} grinding bits, folds of 2^{}: {} conjectured bits \
             (queries {}, algebraic rounds {}), {} proven; proofs are {} bytes",
            opts.log_blowup,
            opts.n_queries,
            opts.grinding_bits,
            opts.log_folding_factor,
            sec.conjectured_bits,
            sec.query_bits,
            sec.field_bits,
            sec.proven_bits,
            pk.circuit.proof_size()
        );
    }
    let config = ProverConfig { check_constraints: true, log_timings: !json };
    let t = Instant::now();
    let proof = sigil_prover::prove(&pk, ex.traces, &ex.publics, &backend, &config).map_err(bad)?;
    let prove_time = t.elapsed();
    let bytes = proof.to_bytes();
    if let Some(path) = &out {
        std::fs::write(path, &bytes).map_err(|e| bad(format!("{}: {e}", path.display())))?;
    }
    let t = Instant::now();
    let vopts = VerifierOptions { min_security_bits: demo.proof.min_security, ..Default::default() };
    let res = sigil_verifier::verify(&pk.circuit, &pk.circuit_id, &ex.publics, &bytes, &vopts);
    let verify_time = t.elapsed();
    if json {
        outln!(
            "{}",
            serde_json::json!({
                "circuit": pk.circuit.name, "circuit_id": hex(&pk.circuit_id), "setup_seconds": setup.as_secs_f64(),
                "prove_seconds": prove_time.as_secs_f64(), "verify_seconds": verify_time.as_secs_f64(),
                "proof_bytes": bytes.len(), "conjectured_bits": sec.conjectured_bits, "proven_bits": sec.proven_bits,
                "valid": res.is_ok(),
            })
        );
    } else {
        outln!(
            "setup {:.3} s, prove {:.3} s, verify {:.2} ms, proof {} bytes{}",
            setup.as_secs_f64(),
            prove_time.as_secs_f64(),
            verify_time.as_secs_f64() * 1e3,
            bytes.len(),
            out.as_ref().map(|p| format!(" -> {}", p.display())).unwrap_or_default()
        );
    }
    res.map_err(|e| (1, format!("proof rejected: {e}")))?;
    if !json {
        outln!("verified");
    }
    Ok(())
}

/// `sigil verify-demo`.
fn verify_demo(a: VerifyDemoArgs) -> Result<(), Failure> {
    let VerifyDemoArgs { demo, proof: path, json } = a;
    let label = path.display();
    let bytes = std::fs::read(&path).map_err(|e| bad(format!("{label}: {e}")))?;
    let ex = build(&demo)?;
    let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).map_err(bad)?;
    let vopts = VerifierOptions { min_security_bits: demo.proof.min_security, ..Default::default() };
    sigil_verifier::verify(&pk.circuit, &pk.circuit_id, &ex.publics, &bytes, &vopts).map_err(|e| (1, format!("{label}: proof rejected: {e}")))?;
    if json {
        outln!("{}", serde_json::json!({ "valid": true, "circuit_id": hex(&pk.circuit_id) }));
    } else {
        outln!("verified");
    }
    Ok(())
}

/// Lowers `model` calibrated on `input` and the `--calibration` files; returns the plan and its
/// run on `input`.
fn lower_model(model: &sigil_onnx::Model, input: Vec<sigil_onnx::InputTensor>, q: &Quant, path: &str) -> Result<(sigil_onnx::Plan, sigil_onnx::Execution), Failure> {
    let mut sets = vec![input];
    for c in &q.calibration {
        sets.extend(sigil_onnx::read_samples(c, model).map_err(bad)?);
    }
    let opts = sigil_onnx::LowerOptions { frac_bits: q.frac_bits, param_bits: q.param_bits, ..Default::default() };
    sigil_onnx::lower_and_run(model, &sets, &opts, path).map_err(bad)
}

fn main() -> ExitCode {
    let command = Cli::command().after_help(operators());
    let cli = match command.try_get_matches().and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand) {
                out!("{e}");
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand { ExitCode::from(2) } else { ExitCode::SUCCESS };
            }
            // One line: clap's message without its usage block.
            let text = e.to_string();
            let message = text.split("\n\nUsage:").next().unwrap_or("bad usage").trim_start_matches("error: ");
            let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
            eprintln!("error: {line} (see `sigil --help`)");
            return ExitCode::from(2);
        }
    };
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(code)
        }
    }
}
