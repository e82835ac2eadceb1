//! `sigil bench`: the standard benchmark a miner runs on any machine: the adapter, each GPU
//! kernel's throughput beside the CPU backend's same operation, and end-to-end proofs on
//! models and the MAC chain with both backends (checking that their proofs are the same
//! bytes). As a table, or one JSON object.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;
use sigil_gpu::bench::vendor_name;
use sigil_gpu::{DEFAULT_MIN_ELEMENTS, GpuBackend};
use sigil_node::circuits::{model_file, name_of};
use sigil_onnx::circuit::{CompileOptions, CompiledModel};
use sigil_prover::{Backend, CpuBackend, ProverConfig, ProvingKey, examples, prove};
use sigil_verifier::ProofOptions;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// log2 of the kernels' size (rows of 8 columns, points, parents).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(4..=24))]
    pub log_size: u32,
    /// Runs of each kernel and each proof; the best is reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub reps: u32,
    /// Models to prove end to end: model folders (an .onnx and its input.json) or .onnx files
    /// with an input.json beside them. Default: dsperse-net and dsperse-doom from
    /// ../shared/models when that folder exists.
    #[arg(long)]
    pub models: Vec<PathBuf>,
    /// MAC chains to prove, as log2 of their rows (comma-separated; none with --mac '').
    #[arg(long, value_delimiter = ',', default_value = "16")]
    pub mac: Vec<String>,
    /// The card's memory bandwidth in GB/s, for each kernel's ratio to its memory floor.
    #[arg(long)]
    pub bandwidth_gbs: Option<f64>,
    /// Skip the kernels (end to end only).
    #[arg(long)]
    pub no_kernels: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// A model folder's (or file's) model and input.
fn model_files(p: &Path) -> Result<(PathBuf, PathBuf), String> {
    let (model, dir) = if p.is_dir() {
        (model_file(p).ok_or_else(|| format!("{}: no model.onnx, network.onnx or single .onnx in the folder", p.display()))?, p)
    } else {
        (p.to_path_buf(), p.parent().unwrap_or(Path::new(".")))
    };
    let input = dir.join("input.json");
    if !input.exists() {
        return Err(format!("{}: no input.json beside the model", input.display()));
    }
    Ok((model, input))
}

/// One end-to-end row.
struct E2e {
    name: String,
    cpu: Duration,
    gpu: Option<Duration>,
    same: Option<bool>,
    proof_bytes: usize,
}

/// Proves `name` with the CPU backend and, when there is one, the GPU backend: one proof to
/// warm up and `settle` (the GPU's kernels compiled in the background are waited for, so that
/// they neither slow the next timings on the CPU nor count as a proof's), then the best of
/// `reps` proofs each, and whether the proofs are the same bytes.
fn e2e(name: String, reps: u32, backends: &[Arc<dyn Backend>], settle: &dyn Fn(), prove_once: impl Fn(&Arc<dyn Backend>) -> Result<Box<dyn Fn() -> Result<Vec<u8>, String>>, String>) -> Result<E2e, String> {
    let mut times = Vec::new();
    let mut proofs = Vec::new();
    for b in backends {
        let run = prove_once(b)?;
        run()?;
        settle();
        let mut best = Duration::MAX;
        let mut bytes = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            bytes = run()?;
            best = best.min(t.elapsed());
        }
        times.push(best);
        proofs.push(bytes);
    }
    Ok(E2e { name, cpu: times[0], gpu: times.get(1).copied(), same: proofs.get(1).map(|p| *p == proofs[0]), proof_bytes: proofs[0].len() })
}

pub fn run(a: BenchArgs) -> Result<(), String> {
    let gpu = sigil_gpu::shared_gpu();
    let mut report = serde_json::Map::new();
    let say = |s: String| {
        if !a.json {
            println!("{s}");
        }
    };
    match &gpu {
        Ok(g) => {
            let i = &g.info;
            say(format!("adapter: {} ({}, {:?}, {:?}); driver {} {}", i.name, vendor_name(i.vendor), i.device_type, i.backend, i.driver, i.driver_info));
            report.insert("adapter".into(), json!({ "name": i.name, "vendor": vendor_name(i.vendor), "vendor_id": i.vendor, "device_type": format!("{:?}", i.device_type), "backend": format!("{:?}", i.backend), "driver": i.driver, "driver_info": i.driver_info, "binding_limit_bytes": g.binding_limit() }));
        }
        Err(e) => {
            say(format!("{e}: CPU figures only"));
            report.insert("adapter".into(), serde_json::Value::Null);
            report.insert("no_adapter".into(), json!(e));
        }
    }
    say(format!("cpu: {} threads", std::thread::available_parallelism().map_or(1, |n| n.get())));

    if let (Ok(g), false) = (&gpu, a.no_kernels) {
        let figures = g.bench_kernels(a.log_size as usize, a.reps as usize).map_err(|e| e.to_string())?;
        say(String::new());
        say(format!("{:<14} {:>18} {:>11} {:>11} {:>9} {:>10}{}", "kernel", "size", "gpu ms", "cpu ms", "gpu/cpu", "gpu GB/s", if a.bandwidth_gbs.is_some() { "  x floor" } else { "" }));
        let mut rows = Vec::new();
        for f in &figures {
            let bw = f.gpu_bandwidth() / 1e9;
            let floor = a.bandwidth_gbs.map(|b| b / bw);
            say(format!(
                "{:<14} {:>18} {:>11.3} {:>11.3} {:>8.2}x {:>10.1}{}",
                f.kernel,
                f.size,
                secs(f.gpu) * 1e3,
                secs(f.cpu) * 1e3,
                secs(f.cpu) / secs(f.gpu),
                bw,
                floor.map_or(String::new(), |x| format!("  {x:>7.1}"))
            ));
            rows.push(json!({ "kernel": f.kernel, "size": f.size, "gpu_seconds": secs(f.gpu), "cpu_seconds": secs(f.cpu), "speedup": secs(f.cpu) / secs(f.gpu), "gpu_bytes_per_second": f.gpu_bandwidth(), "min_bytes": f.bytes, "times_floor": floor }));
        }
        report.insert("kernels".into(), json!(rows));
    }

    // End to end.
    let mut backends: Vec<Arc<dyn Backend>> = vec![Arc::new(CpuBackend::default())];
    if let Ok(g) = &gpu {
        backends.push(Arc::new(GpuBackend::new(g.clone(), DEFAULT_MIN_ELEMENTS)));
    }
    let mut models = a.models.clone();
    if models.is_empty() {
        for m in ["dsperse-net", "dsperse-doom"] {
            let p = Path::new("../shared/models").join(m);
            if p.is_dir() {
                models.push(p);
            }
        }
    }
    let settle = || {
        if let Ok(g) = &gpu {
            let t = Instant::now();
            while g.quotient_pipelines_pending() > 0 && t.elapsed() < Duration::from_secs(600) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    let mut rows = Vec::new();
    for m in &models {
        let (model, input) = model_files(m)?;
        rows.push(e2e(name_of(m), a.reps, &backends, &settle, |b| {
            let opts = CompileOptions { backend: b.clone(), ..CompileOptions::default() };
            let mut c = CompiledModel::compile(&model, &opts).map_err(|e| e.to_string())?;
            c.check_constraints = false;
            let x = c.read_input(&input).map_err(|e| e.to_string())?;
            Ok(Box::new(move || c.prove(&x).map(|p| p.proof).map_err(|e| e.to_string())))
        })?);
    }
    for log in a.mac.iter().filter(|s| !s.is_empty()) {
        let log: usize = log.parse().map_err(|_| format!("--mac {log}: not a number"))?;
        if !(4..=24).contains(&log) {
            return Err(format!("--mac {log}: from 4 to 24"));
        }
        rows.push(e2e(format!("mac 2^{log}"), a.reps, &backends, &settle, |b| {
            let b = b.clone();
            let ex = examples::mac(log, 1, ProofOptions::default()).map_err(|e| e.to_string())?;
            let pk = ProvingKey::new(ex.circuit, b.as_ref()).map_err(|e| e.to_string())?;
            let (traces, publics) = (ex.traces, ex.publics);
            let config = ProverConfig { check_constraints: false, log_timings: false };
            Ok(Box::new(move || prove(&pk, traces.clone(), &publics, b.as_ref(), &config).map(|p| p.to_bytes()).map_err(|e| e.to_string())))
        })?);
    }
    say(String::new());
    say(format!("{:<22} {:>10} {:>10} {:>9} {:>11} {:>10}", "proof", "cpu s", "gpu s", "gpu/cpu", "same bytes", "proof KB"));
    let mut out = Vec::new();
    for r in &rows {
        let speedup = r.gpu.map(|g| secs(r.cpu) / secs(g));
        say(format!(
            "{:<22} {:>10.3} {:>10} {:>9} {:>11} {:>10.1}",
            r.name,
            secs(r.cpu),
            r.gpu.map_or("-".into(), |g| format!("{:.3}", secs(g))),
            speedup.map_or("-".into(), |s| format!("{s:.2}x")),
            r.same.map_or("-", |s| if s { "yes" } else { "NO" }),
            r.proof_bytes as f64 / 1024.0
        ));
        out.push(json!({ "name": r.name, "cpu_seconds": secs(r.cpu), "gpu_seconds": r.gpu.map(secs), "speedup": speedup, "same_bytes": r.same, "proof_bytes": r.proof_bytes }));
    }
    report.insert("end_to_end".into(), json!(out));
    if a.json {
        println!("{}", serde_json::Value::Object(report));
    }
    if rows.iter().any(|r| r.same == Some(false)) {
        return Err("the GPU backend's proof differs from the CPU backend's: a bug, please report it".into());
    }
    Ok(())
}
