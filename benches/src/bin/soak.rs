//! A bounded soak of the node on loopback: one `sigil miner` process and a validator sending
//! it proof requests (each verified), `--concurrency` at a time, until `--requests` have been
//! answered. Reports requests per second, latency percentiles and the miner's memory over the
//! run (resident set sampled every 250 ms from /proc, and its peak).
//!
//! ```sh
//! cargo build --release -p sigil-node -p sigil-benches
//! target/release/soak --requests 1000 --concurrency 4 --circuit dsperse-net
//! ```

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sigil_node::axon::Dendrite;
use sigil_node::circuits::Circuits;
use sigil_node::keys::Hotkey;
use sigil_node::metagraph::{Neuron, StaticMetagraph};
use sigil_node::store::Store;
use sigil_node::validator::{Config, FileWeights, Validator};

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
}

/// (VmRSS, VmHWM) of a process, in MiB.
fn memory(pid: u32) -> Option<(f64, f64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |k: &str| s.lines().find(|l| l.starts_with(k)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<f64>().ok()).map(|kb| kb / 1024.0);
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let requests: usize = arg(&args, "--requests", "1000").parse().expect("--requests N");
    let concurrency: usize = arg(&args, "--concurrency", "4").parse().expect("--concurrency N");
    let circuit = arg(&args, "--circuit", "dsperse-net");
    let models = PathBuf::from(arg(&args, "--models", concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models")));
    let sigil = arg(&args, "--sigil", concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/sigil"));
    let dir = std::env::temp_dir().join(format!("sigil-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let vseed: [u8; 32] = rand::random();
    let validator_key = Hotkey::from_seed(vseed);
    let miner_key_path = dir.join("miner.json");
    let miner_key = Hotkey::generate();
    miner_key.save(&miner_key_path).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut miner = Command::new(&sigil)
        .args(["miner", "--models"])
        .arg(&models)
        .args(["--circuit", &circuit, "--port", &port.to_string(), "--allow", validator_key.ss58(), "--queue", &(concurrency + 1).to_string(), "--hotkey-file"])
        .arg(&miner_key_path)
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .env("SIGIL_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("run sigil (build it first: cargo build --release -p sigil-node)");
    let pid = miner.id();
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(600), "the miner did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let circuits = Arc::new(Circuits::load(&models, std::slice::from_ref(&circuit), false, Some(dir.join("cache")), |_| {}).unwrap());
    let neuron = Neuron { uid: 1, hotkey: miner_key.ss58().into(), ip: "127.0.0.1".into(), port, stake: 0.0, validator_permit: false };
    let v = Arc::new(Validator::new(
        Dendrite::new(validator_key, "127.0.0.1"),
        circuits.clone(),
        Box::new(StaticMetagraph(vec![neuron.clone()])),
        Store::open(dir.join("soak.db")).unwrap(),
        Box::new(FileWeights { path: dir.join("weights.json") }),
        Config { timeout: Duration::from_secs(120), ..Config::default() },
    ));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let start_mem = memory(pid).unwrap_or_default();
    let samples = Arc::new(std::sync::Mutex::new(Vec::<(f64, usize, f64)>::new()));
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t0 = Instant::now();
    let (latencies, failures) = rt.block_on(async {
        let sampler = {
            let (samples, done) = (samples.clone(), done.clone());
            tokio::spawn(async move {
                loop {
                    if let Some((rss, _)) = memory(pid) {
                        samples.lock().unwrap().push((t0.elapsed().as_secs_f64(), done.load(std::sync::atomic::Ordering::Relaxed), rss));
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            })
        };
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            let (v, next, done, c, n) = (v.clone(), next.clone(), done.clone(), circuits.list[0].clone(), neuron.clone());
            tasks.spawn(async move {
                let mut out = Vec::new();
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
                    let r = v.query(&n, &c).await;
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    out.push((r.outcome.latency, r.outcome.verified, r.reason));
                }
                out
            });
        }
        let mut lat = Vec::new();
        let mut failures = Vec::new();
        while let Some(r) = tasks.join_next().await {
            for (l, ok, why) in r.unwrap() {
                if ok {
                    lat.push(l);
                } else {
                    failures.push(why);
                }
            }
        }
        sampler.abort();
        (lat, failures)
    });
    let wall = t0.elapsed().as_secs_f64();
    let (end_rss, peak) = memory(pid).unwrap_or_default();
    let _ = miner.kill();
    let _ = miner.wait();
    let mut lat = latencies;
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| lat.get(((lat.len().max(1) - 1) as f64 * p).round() as usize).copied().unwrap_or(f64::NAN);
    let samples = samples.lock().unwrap().clone();
    let rss_at = |frac: f64| samples.iter().find(|s| s.1 as f64 >= frac * requests as f64).map_or(f64::NAN, |s| s.2);
    println!("soak: {requests} requests for {circuit}, {concurrency} in flight, miner pid {pid}");
    println!("  wall {wall:.1} s, {:.2} requests/s, {} verified, {} failed", requests as f64 / wall, lat.len(), failures.len());
    println!("  latency p50 {:.3} s, p90 {:.3} s, p99 {:.3} s, max {:.3} s", pct(0.5), pct(0.9), pct(0.99), pct(1.0));
    println!(
        "  miner resident memory: {:.0} MiB idle, {:.0} / {:.0} / {:.0} MiB after 10% / 50% / 90% of the requests, {:.0} MiB at the end, peak {:.0} MiB",
        start_mem.0,
        rss_at(0.1),
        rss_at(0.5),
        rss_at(0.9),
        end_rss,
        peak
    );
    for f in failures.iter().take(5) {
        println!("  failure: {f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::process::exit(if failures.is_empty() { 0 } else { 1 });
}
