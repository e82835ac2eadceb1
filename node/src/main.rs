//! `sigil`: prove and verify with Sigil from the command line.

use std::process::ExitCode;
use std::time::Instant;

use sigil_prover::{examples, model};
use sigil_prover::{CpuBackend, ProverConfig, ProvingKey, prove};
use sigil_verifier::protocol::MAX_LOG_HEIGHT;
use sigil_verifier::{ProofOptions, VerifierOptions, verify};

const HELP: &str = "\
sigil — zero-knowledge proofs of machine-learning inference (STARK over Goldilocks)

USAGE:
    sigil demo [--example mac|transfer|vecmat|mlp] [--log-rows N] [--out PROOF] [--queries Q]
               [--blowup-log B] [--grinding G] [--min-security S]
        Build a built-in example circuit, prove it, write the proof, verify it, and
        report times, sizes and security (conjectured and proven bits).
          mac       a multiply-accumulate chain of 2^N rows (default N = 16)
          transfer  four tables of four heights on two buses: a MAC chain of 2^N rows,
                    a producer, a consumer and an 8-bit range table (default, N = 12)
          vecmat    a fully connected layer of 2^N inputs and 2^N outputs (byte weights,
                    fixed) checked by Freivalds' test, between a producer of its inputs
                    and a consumer of its outputs (default N = 8)
          mlp       a two-layer quantized perceptron (16 -> 16 -> 4, ReLU, rescales)
                    whose statement is its input and output (N is ignored)
        N is at most 22. The circuit fixes the heights and every proof parameter: they
        are part of its id. Verification requires S conjectured bits (default 100).
    sigil inspect MODEL.onnx [--input INPUT.json] [--calibration CAL.json]...
        Parse an ONNX model and list its opsets, inputs, outputs, operators (and which of
        them the executor does not support) and parameter count. With --input, check an
        EZKL/DSperse input.json against the model's inputs, lower the model calibrated on it
        (and on each CAL.json) and list the quantization: the activation precision, folded
        BatchNormalizations and constants, each weight's scale and each value's shape, scale
        and bit range. Without --input, the scales and shapes come from an all-zero (or
        all-one) input.
    sigil run MODEL.onnx --input INPUT.json [--output OUT.json] [--frac-bits F]
              [--param-bits P] [--calibration CAL.json]...
        Run a model with the integer (fixed-point) executor, exactly as the circuit will,
        and print its outputs as {\"output_data\": [...]}, or write them to OUT.json.
          --frac-bits F      fractional bits of activations (default: the largest of 16, 14,
                             ..., 8 for which no value leaves the 60-bit range)
          --param-bits P     significant bits of each weight tensor (default 16)
          --calibration CAL  more inputs to size the value ranges with: input.json format,
                             each list may hold several samples one after another;
                             the model is always calibrated on INPUT.json too
        Times go to stderr. Operators:
{OPS}
        any other is reported with its node and opset.
    sigil verify-demo --example E --log-rows N [--queries Q] [--blowup-log B]
                      [--grinding G] [--min-security S] PROOF
        Verify a proof written by `sigil demo` with the same example, size and options.
    sigil --help
        Show this text.

EXIT CODES: 0 success, 1 proof rejected, 2 bad usage or input.
";

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

struct Args {
    example: String,
    log_rows: Option<usize>,
    out: Option<String>,
    input: Option<String>,
    calibration: Vec<String>,
    frac_bits: Option<u32>,
    param_bits: u32,
    opts: ProofOptions,
    min_security: u32,
    positional: Vec<String>,
    proof: Option<String>,
    model: Option<String>,
    json: bool,
}

fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        example: "transfer".into(),
        log_rows: None,
        out: None,
        input: None,
        calibration: vec![],
        frac_bits: None,
        param_bits: 16,
        opts: ProofOptions::default(),
        min_security: VerifierOptions::default().min_security_bits,
        positional: vec![],
        proof: None,
        model: None,
        json: false,
    };
    while let Some(x) = it.next() {
        let mut val = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        // The option's number, which must lie in [lo, hi].
        let mut num = |name: &str, lo: u64, hi: u64| -> Result<u64, String> {
            let s = val(name)?;
            let v = s.parse::<u64>().map_err(|_| format!("{name}: `{s}` is not a number"))?;
            if (lo..=hi).contains(&v) { Ok(v) } else { Err(format!("{name} {v}: must be between {lo} and {hi}")) }
        };
        match x.as_str() {
            "--example" => a.example = val("--example")?,
            "--log-rows" => a.log_rows = Some(num("--log-rows", 0, u64::MAX)? as usize),
            "--out" => a.out = Some(val("--out")?),
            "--input" => a.input = Some(val("--input")?),
            "--output" => a.out = Some(val("--output")?),
            "--frac-bits" => a.frac_bits = Some(num("--frac-bits", 1, 24)? as u32),
            "--param-bits" => a.param_bits = num("--param-bits", 2, 32)? as u32,
            "--calibration" => a.calibration.push(val("--calibration")?),
            "--proof" => a.proof = Some(val("--proof")?),
            "--model" => a.model = Some(val("--model")?),
            "--json" => a.json = true,
            "--queries" => a.opts.n_queries = num("--queries", 0, u64::from(u16::MAX))? as u16,
            "--blowup-log" => a.opts.log_blowup = num("--blowup-log", 0, u64::from(u8::MAX))? as u8,
            "--grinding" => a.opts.grinding_bits = num("--grinding", 0, u64::from(u8::MAX))? as u8,
            "--fold-log" => a.opts.log_folding_factor = num("--fold-log", 1, 4)? as u8,
            "--min-security" => a.min_security = num("--min-security", 0, 128)? as u32,
            s if s.starts_with("--") => return Err(format!("unknown option `{s}`")),
            _ => a.positional.push(x),
        }
    }
    Ok(a)
}

fn build(a: &Args) -> Result<examples::Example, String> {
    if let Some(n) = a.log_rows.filter(|&n| !(2..=MAX_LOG_HEIGHT).contains(&n)) {
        return Err(format!("--log-rows {n}: must be between 2 and {MAX_LOG_HEIGHT}"));
    }
    let r = match a.example.as_str() {
        "mac" => examples::mac(a.log_rows.unwrap_or(16), 1, a.opts),
        "transfer" => examples::transfer(a.log_rows.unwrap_or(12), 10, 1, a.opts),
        "vecmat" => {
            let n = a.log_rows.unwrap_or(8);
            examples::vecmat(n, 1 << n, 1, a.opts)
        }
        "mlp" => examples::mlp(1, a.opts),
        other => return Err(format!("unknown example `{other}` (mac, transfer, vecmat, mlp)")),
    };
    r.map_err(|e| e.to_string())
}

/// The help text, with the supported operators listed from the executor.
fn help() -> String {
    let mut lines = vec![String::from("         ")];
    for op in sigil_onnx::SUPPORTED_OPS {
        if lines.last().is_some_and(|l| l.len() + op.len() + 1 > 88) {
            lines.push(String::from("         "));
        }
        if let Some(l) = lines.last_mut() {
            l.push(' ');
            l.push_str(op);
        }
    }
    HELP.replace("{OPS}", &lines.join("\n"))
}

fn run() -> Result<(), (u8, String)> {
    let mut it = std::env::args().skip(1);
    let Some(cmd) = it.next() else {
        out!("{}", help());
        return Err((2, "no command given".into()));
    };
    let bad = |e: String| (2u8, e);
    match cmd.as_str() {
        "--help" | "-h" | "help" => {
            out!("{}", help());
            Ok(())
        }
        "demo" => {
            let a = parse(it).map_err(bad)?;
            let ex = build(&a).map_err(bad)?;
            let backend = CpuBackend::default();
            let t = Instant::now();
            let pk = ProvingKey::new(ex.circuit, &backend).map_err(|e| bad(e.to_string()))?;
            let setup = t.elapsed();
            let sec = pk.circuit.security;
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
                a.opts.log_blowup,
                a.opts.n_queries,
                a.opts.grinding_bits,
                a.opts.log_folding_factor,
                sec.conjectured_bits,
                sec.query_bits,
                sec.field_bits,
                sec.proven_bits,
                pk.circuit.proof_size()
            );
            let config = ProverConfig { check_constraints: true, log_timings: true };
            let t = Instant::now();
            let proof = prove(&pk, ex.traces, &ex.publics, &backend, &config).map_err(|e| bad(e.to_string()))?;
            let prove_time = t.elapsed();
            let bytes = proof.to_bytes();
            if let Some(path) = &a.out {
                std::fs::write(path, &bytes).map_err(|e| bad(format!("{path}: {e}")))?;
            }
            let t = Instant::now();
            let vopts = VerifierOptions { min_security_bits: a.min_security, ..Default::default() };
            let res = verify(&pk.circuit, &pk.circuit_id, &ex.publics, &bytes, &vopts);
            let verify_time = t.elapsed();
            outln!(
                "setup {:.3} s, prove {:.3} s, verify {:.2} ms, proof {} bytes{}",
                setup.as_secs_f64(),
                prove_time.as_secs_f64(),
                verify_time.as_secs_f64() * 1e3,
                bytes.len(),
                a.out.as_ref().map(|p| format!(" -> {p}")).unwrap_or_default()
            );
            res.map_err(|e| (1, format!("proof rejected: {e}")))?;
            outln!("verified");
            Ok(())
        }
        "inspect" => {
            let a = parse(it).map_err(bad)?;
            let [path] = a.positional.as_slice() else {
                return Err(bad("inspect needs one MODEL.onnx path".into()));
            };
            let model = sigil_onnx::load_model(path).map_err(|e| bad(e.to_string()))?;
            out!("{}", model.summary());
            let mut missing: Vec<&str> = model.graph.nodes.iter().map(|n| n.op_type.as_str()).filter(|op| !sigil_onnx::SUPPORTED_OPS.contains(op)).collect();
            missing.sort_unstable();
            missing.dedup();
            if missing.is_empty() {
                outln!("  every operator is supported");
            } else {
                outln!("  not supported yet: {}", missing.join(", "));
            }
            if let Some(input) = &a.input {
                let inputs = sigil_onnx::read_inputs(input, &model).map_err(|e| bad(e.to_string()))?;
                let total: usize = inputs.iter().map(|i| i.values.len()).sum();
                outln!("{input}: {} inputs, {total} values, match the model", inputs.len());
                let (plan, _) = lower_model(&model, inputs, &a, path)?;
                out!("{plan}");
            } else if missing.is_empty() {
                // Without an input, lower on zeros (or ones, where zeros divide by zero) for the
                // scales and shapes; ranges need a real input.
                let lowered = lower_model(&model, sigil_onnx::filled_inputs(&model, 0.0), &a, path)
                    .or_else(|_| lower_model(&model, sigil_onnx::filled_inputs(&model, 1.0), &a, path));
                match lowered {
                    Ok((plan, _)) => out!("{}", plan.describe(false)),
                    Err((_, e)) => outln!("(lowering on an all-one input failed: {e}; give --input for scales and ranges)"),
                }
            }
            Ok(())
        }
        "run" => {
            let a = parse(it).map_err(bad)?;
            let [path] = a.positional.as_slice() else {
                return Err(bad("run needs one MODEL.onnx path".into()));
            };
            let Some(input) = &a.input else {
                return Err(bad("run needs --input INPUT.json".into()));
            };
            let t = Instant::now();
            let model = sigil_onnx::load_model(path).map_err(|e| bad(e.to_string()))?;
            let inputs = sigil_onnx::read_inputs(input, &model).map_err(|e| bad(e.to_string()))?;
            eprintln!("parsed {path} ({} nodes) and {input} in {:.3} s", model.graph.nodes.len(), t.elapsed().as_secs_f64());
            let t = Instant::now();
            let (plan, run) = lower_model(&model, inputs, &a, path)?;
            eprintln!(
                "lowered and executed in {:.3} s: {} fractional bits, {} nodes run per input ({} folded, {} BatchNormalization folded)",
                t.elapsed().as_secs_f64(),
                plan.frac_bits,
                plan.nodes.len(),
                plan.folded_nodes,
                plan.folded_batchnorms
            );
            let data: Vec<Vec<f64>> = run.outputs.into_iter().map(|(_, _, v)| v).collect();
            let text = serde_json::json!({ "output_data": data }).to_string();
            match &a.out {
                Some(o) => std::fs::write(o, text + "\n").map_err(|e| bad(format!("{o}: {e}")))?,
                None => outln!("{text}"),
            }
            Ok(())
        }
        "compile" => {
            let a = parse(it).map_err(bad)?;
            let [path] = a.positional.as_slice() else {
                return Err(bad("compile needs one MODEL.onnx path".into()));
            };
            let m = compile_model(path, &a)?;
            let sec = m.key.circuit.security;
            if a.json {
                outln!("{}", serde_json::json!({
                    "model": path, "circuit_id": hex(&m.circuit_id()), "proof_bytes": m.proof_size(),
                    "tables": m.key.circuit.chips.len(), "conjectured_bits": sec.conjectured_bits, "proven_bits": sec.proven_bits,
                    "frac_bits": m.plan.frac_bits, "compile_seconds": m.compile_time.as_secs_f64(),
                }));
            } else {
                outln!("{path}: circuit id {}", hex(&m.circuit_id()));
                outln!("{} tables, proofs of {} bytes, {} conjectured bits ({} proven), activations with {} fractional bits; compiled in {:.3} s",
                    m.key.circuit.chips.len(), m.proof_size(), sec.conjectured_bits, sec.proven_bits, m.plan.frac_bits, m.compile_time.as_secs_f64());
                for (k, v) in size_breakdown(&m.key.circuit) {
                    outln!("  {k}: {v}");
                }
                for (name, h, w) in model::layout_summary(&m) {
                    outln!("  {name:<40} 2^{h:<3} rows x {w} columns");
                }
            }
            Ok(())
        }
        "prove" => {
            let a = parse(it).map_err(bad)?;
            let [path] = a.positional.as_slice() else {
                return Err(bad("prove needs one MODEL.onnx path".into()));
            };
            let (Some(input), Some(proof_path)) = (&a.input, &a.proof) else {
                return Err(bad("prove needs --input INPUT.json and --proof OUT.proof".into()));
            };
            let mut m = compile_model(path, &a)?;
            m.log_timings = !a.json;
            let inputs = m.read_input(input).map_err(|e| bad(e.to_string()))?;
            let p = m.prove(&inputs).map_err(|e| bad(e.to_string()))?;
            let file = model::ModelProof { circuit_id: m.circuit_id(), statement: p.statement.clone(), proof: p.proof.clone() };
            let bytes = file.to_bytes();
            std::fs::write(proof_path, &bytes).map_err(|e| bad(format!("{proof_path}: {e}")))?;
            let outputs = serde_json::json!({ "output_data": p.outputs });
            if let Some(o) = &a.out {
                std::fs::write(o, outputs.to_string() + "\n").map_err(|e| bad(format!("{o}: {e}")))?;
            }
            let sec = m.key.circuit.security;
            if a.json {
                outln!("{}", serde_json::json!({
                    "output_data": p.outputs, "circuit_id": hex(&m.circuit_id()), "proof": proof_path, "proof_bytes": p.proof.len(),
                    "conjectured_bits": sec.conjectured_bits, "compile_seconds": m.compile_time.as_secs_f64(),
                    "execute_seconds": p.execute_time.as_secs_f64(), "witness_seconds": p.witness_time.as_secs_f64(),
                    "prove_seconds": p.prove_time.as_secs_f64(),
                }));
            } else {
                outln!("{outputs}");
                outln!("circuit id {}; proof {} bytes -> {proof_path}; {} conjectured bits", hex(&m.circuit_id()), p.proof.len(), sec.conjectured_bits);
                outln!("compile {:.3} s, execute {:.3} s, witness {:.3} s, prove {:.3} s",
                    m.compile_time.as_secs_f64(), p.execute_time.as_secs_f64(), p.witness_time.as_secs_f64(), p.prove_time.as_secs_f64());
            }
            Ok(())
        }
        "verify" => {
            let a = parse(it).map_err(bad)?;
            let (Some(path), Some(proof_path)) = (&a.model, &a.proof) else {
                return Err(bad("verify needs --model MODEL.onnx and --proof PROOF".into()));
            };
            let m = compile_model(path, &a)?;
            let size = std::fs::metadata(proof_path).map_err(|e| bad(format!("{proof_path}: {e}")))?.len();
            let want = model::ModelProof::size_for(&m);
            if size != want as u64 {
                return Err((1, format!("{proof_path}: proof rejected: the file is {size} bytes; this model's proofs are {want}")));
            }
            let bytes = std::fs::read(proof_path).map_err(|e| bad(format!("{proof_path}: {e}")))?;
            let file = model::ModelProof::from_bytes(&bytes, &m).map_err(|e| (1, format!("{proof_path}: proof rejected: {e}")))?;
            if let Some(input) = &a.input {
                let inputs = m.read_input(input).map_err(|e| bad(e.to_string()))?;
                let want = m.input_statement(&inputs).map_err(|e| bad(e.to_string()))?;
                if file.statement[..want.len()] != want[..] {
                    return Err((1, format!("{proof_path}: proof rejected: it proves another input than {input}")));
                }
            }
            let outputs = m.statement_outputs(&file.statement);
            if let Some(o) = &a.out {
                let text = std::fs::read_to_string(o).map_err(|e| bad(format!("{o}: {e}")))?;
                let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("{o}: {e}")))?;
                let claimed: Vec<Vec<f64>> = serde_json::from_value(v["output_data"].clone()).map_err(|e| bad(format!("{o}: output_data: {e}")))?;
                if claimed != outputs {
                    return Err((1, format!("{proof_path}: proof rejected: it proves another output than {o}")));
                }
            }
            let t = Instant::now();
            let res = m.verify(&file.statement, &file.proof);
            let dt = t.elapsed();
            res.map_err(|e| (1, format!("{proof_path}: proof rejected: {e}")))?;
            if a.json {
                outln!("{}", serde_json::json!({ "valid": true, "circuit_id": hex(&m.circuit_id()), "output_data": outputs, "verify_seconds": dt.as_secs_f64() }));
            } else {
                outln!("{}", serde_json::json!({ "output_data": outputs }));
                outln!("verified in {:.2} ms (circuit id {})", dt.as_secs_f64() * 1e3, hex(&m.circuit_id()));
            }
            Ok(())
        }
        "verify-demo" => {
            let a = parse(it).map_err(bad)?;
            let [path] = a.positional.as_slice() else {
                return Err(bad("verify-demo needs one PROOF path".into()));
            };
            let bytes = std::fs::read(path).map_err(|e| bad(format!("{path}: {e}")))?;
            let ex = build(&a).map_err(bad)?;
            let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).map_err(|e| bad(e.to_string()))?;
            let vopts = VerifierOptions { min_security_bits: a.min_security, ..Default::default() };
            verify(&pk.circuit, &pk.circuit_id, &ex.publics, &bytes, &vopts)
                .map_err(|e| (1, format!("{path}: proof rejected: {e}")))?;
            outln!("verified");
            Ok(())
        }
        other => Err(bad(format!("unknown command `{other}`; see `sigil --help`"))),
    }
}

/// Compiles the model at `path` with the command's quantization options.
fn compile_model(path: &str, a: &Args) -> Result<model::CompiledModel, (u8, String)> {
    let mut opts = model::CompileOptions::default();
    opts.lower.frac_bits = a.frac_bits;
    opts.lower.param_bits = a.param_bits;
    opts.proof = a.opts;
    let m = sigil_onnx::load_model(path).map_err(|e| (2, e.to_string()))?;
    for c in &a.calibration {
        opts.calibration.extend(sigil_onnx::read_samples(c, &m).map_err(|e| (2, e.to_string()))?);
    }
    model::CompiledModel::compile(path, &opts).map_err(|e| (2, e.to_string()))
}

/// Lowers `model` calibrated on `input` and the `--calibration` files; returns the plan and its
/// run on `input`.
fn lower_model(model: &sigil_onnx::Model, input: Vec<sigil_onnx::InputTensor>, a: &Args, path: &str) -> Result<(sigil_onnx::Plan, sigil_onnx::Execution), (u8, String)> {
    let mut sets = vec![input];
    for c in &a.calibration {
        sets.extend(sigil_onnx::read_samples(c, model).map_err(|e| (2, e.to_string()))?);
    }
    let opts = sigil_onnx::LowerOptions { frac_bits: a.frac_bits, param_bits: a.param_bits, ..Default::default() };
    sigil_onnx::lower_and_run(model, &sets, &opts, path).map_err(|e| (2, e.to_string()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(code)
        }
    }
}

#[doc(hidden)]
pub fn size_breakdown(c: &sigil_verifier::Circuit) -> Vec<(String, usize)> {
    let l = &c.layout;
    let per = |ts: &[sigil_verifier::layout::TreeLayout]| -> (usize, usize) {
        ts.iter().fold((0, 0), |(a, b), t| (a + 8 * t.leaf_words(), b + 32 * t.n_siblings()))
    };
    let mut v = vec![];
    for (name, ts) in [("prep", &l.prep), ("main", &l.main), ("perm", &l.perm), ("quotient", &l.quotient)] {
        let (leaf, path) = per(ts);
        v.push((format!("{name} leaves/query ({} trees)", ts.len()), leaf));
        v.push((format!("{name} paths/query"), path));
    }
    let fri: usize = l.committed.iter().map(|f| 8 * f.leaf_words() + 32 * f.n_siblings()).sum();
    v.push(("fri/query".into(), fri));
    v.push(("openings".into(), 8 * l.openings_words()));
    v
}
