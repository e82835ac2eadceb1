//! The network subcommands of `sigil`: keygen, miner, validator, devnet and query.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use sigil_node::axon::{DENDRITE_VERSION, Dendrite};
use sigil_node::circuits::Circuits;
use sigil_node::keys::Hotkey;
use sigil_node::metagraph::{JsonSnapshot, MetagraphSource, Neuron, Snapshot, StaticMetagraph};
use sigil_node::miner::{Allow, Fault, Miner};
use sigil_node::scoring::Params;
use sigil_node::store::Store;
use sigil_node::synapse::Kind;
use sigil_node::validator::{self, FileWeights, Validator};
use sigil_onnx::circuit::CompileOptions;

use crate::{Failure, bad};

/// Which hotkey to use: a hotkey file, or a Bittensor wallet's.
#[derive(Args, Debug, Clone)]
pub struct Identity {
    /// A plaintext hotkey file (JSON with secretSeed or privateKey, as Bittensor writes them).
    #[arg(long)]
    hotkey_file: Option<PathBuf>,
    /// The wallets' directory (used without --hotkey-file).
    #[arg(long, default_value = "~/.bittensor/wallets")]
    wallet_path: String,
    /// The wallet's name.
    #[arg(long, default_value = "default")]
    wallet_name: String,
    /// The wallet's hotkey.
    #[arg(long, default_value = "default")]
    wallet_hotkey: String,
}

impl Identity {
    fn load(&self) -> Result<Hotkey, Failure> {
        let path = match &self.hotkey_file {
            Some(p) => p.clone(),
            None => {
                let base = match self.wallet_path.strip_prefix("~/") {
                    Some(rest) => PathBuf::from(std::env::var_os("HOME").ok_or_else(|| bad("HOME is not set; pass --hotkey-file"))?).join(rest),
                    None => PathBuf::from(&self.wallet_path),
                };
                base.join(&self.wallet_name).join("hotkeys").join(&self.wallet_hotkey)
            }
        };
        Hotkey::load(&path).map_err(bad)
    }
}

/// Where circuits come from.
#[derive(Args, Debug, Clone)]
pub struct CircuitArgs {
    /// A directory of circuit folders (each: an .onnx model and its input.json), or one folder.
    #[arg(long)]
    models: PathBuf,
    /// Serve only these folders (repeat; all by default).
    #[arg(long = "circuit")]
    circuits: Vec<String>,
    /// Where proving keys and circuit ids are cached (default: $SIGIL_CACHE_DIR,
    /// $XDG_CACHE_HOME/sigil or ~/.cache/sigil). Its files are authenticated with a key kept
    /// outside it ($SIGIL_CONFIG_DIR/cache.key, else ~/.config/sigil/cache.key): a file
    /// written by anyone who cannot read that key is ignored and rebuilt.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Use no key cache: build every proving key and derive every circuit id from the model
    /// files at start (slower to start and, for a prover, more memory; trusts no file but the
    /// models).
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
}

impl CircuitArgs {
    fn load(&self, for_proving: bool) -> Result<Arc<Circuits>, Failure> {
        self.load_with(for_proving, usize::MAX)
    }

    fn load_bounded(&self, key_budget: usize, backend: Arc<dyn sigil_prover::Backend>) -> Result<Arc<Circuits>, Failure> {
        self.load_on(true, key_budget, backend)
    }

    fn load_with(&self, for_proving: bool, key_budget: usize) -> Result<Arc<Circuits>, Failure> {
        self.load_on(for_proving, key_budget, Arc::new(sigil_prover::CpuBackend::default()))
    }

    fn load_on(&self, for_proving: bool, key_budget: usize, backend: Arc<dyn sigil_prover::Backend>) -> Result<Arc<Circuits>, Failure> {
        let cache = if self.no_cache { None } else { self.cache_dir.clone().or_else(sigil_onnx::circuit::default_cache_dir) };
        let options = CompileOptions { cache_dir: cache, backend, ..CompileOptions::default() };
        let circuits = Circuits::load_with_options(&self.models, &self.circuits, for_proving, options, key_budget, |c| {
            tracing::info!(circuit = %c.name, id = %c.id, key_mb = c.key_bytes >> 20, "circuit ready");
        })
        .map_err(bad)?;
        Ok(Arc::new(circuits))
    }
}

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Write the new hotkey file here (refused if it exists).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args, Debug)]
pub struct MinerArgs {
    #[command(flatten)]
    identity: Identity,
    #[command(flatten)]
    circuits: CircuitArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port of the axon (TCP).
    #[arg(long, default_value_t = 8091)]
    port: u16,
    /// Accept requests from this validator hotkey (SS58; repeat).
    #[arg(long = "allow")]
    allow: Vec<String>,
    /// Accept requests from the metagraph's validators (permit and stake) in this JSON
    /// snapshot instead of an allow-list.
    #[arg(long)]
    metagraph: Option<PathBuf>,
    /// The stake (TAO) a validator needs, with --metagraph (the subnet's threshold).
    #[arg(long, default_value_t = 1024.0)]
    min_stake: f64,
    /// Requests admitted at once (proving or waiting); more are answered 503.
    #[arg(long, default_value_t = 8)]
    queue: usize,
    /// Proofs made at once (each uses every core).
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Also serve btlightning (QUIC, the 2026 subnet's transport) on the same port number,
    /// over UDP.
    #[arg(long)]
    quic: bool,
    /// Proving keys held in memory at most, in MB: the least recently used is dropped and
    /// read back from the key cache when asked for again; a circuit whose key alone is larger
    /// is refused (503) at once.
    #[arg(long, default_value_t = 8192)]
    key_memory_mb: usize,
    /// Which backend proves: cpu, gpu (any adapter, software ones too) or auto (a hardware
    /// GPU when there is one). The proofs are the same bytes on each; a GPU that fails
    /// mid-proof hands the rest to the CPU with a warning.
    #[arg(long, value_enum, default_value_t = crate::BackendArg::Auto)]
    backend: crate::BackendArg,
    /// Misbehave, to test validators.
    #[arg(long, value_enum, default_value = "none", hide = true)]
    fault: Fault,
}

#[derive(Args, Debug)]
pub struct ValidatorArgs {
    #[command(flatten)]
    identity: Identity,
    #[command(flatten)]
    circuits: CircuitArgs,
    /// The metagraph: a JSON snapshot file ({"netuid", "neurons": [{"uid", "hotkey", "ip",
    /// "port", "stake", "validator_permit"}]}).
    #[arg(long)]
    metagraph: PathBuf,
    /// The results database (SQLite, created when missing).
    #[arg(long, default_value = "sigil-validator.db")]
    db: PathBuf,
    /// Where weights are written.
    #[arg(long, default_value = "weights.json")]
    weights_file: PathBuf,
    #[command(flatten)]
    run: RunArgs,
    /// Print the stored standings and exit.
    #[arg(long)]
    show: bool,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Seconds between rounds (each round queries every miner once).
    #[arg(long, default_value_t = 12.0)]
    interval: f64,
    /// Set weights every this many rounds.
    #[arg(long, default_value_t = 10)]
    weights_every: u64,
    /// Seconds a miner has to answer.
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
    /// Retries of a request whose connection failed.
    #[arg(long, default_value_t = 2)]
    retries: u32,
    /// The message sent: query-zk-proof, dsperse-proof-generation or proof-of-weights.
    #[arg(long, default_value = "dsperse-proof-generation")]
    synapse: String,
    /// Stop after this many rounds (run until stopped by default).
    #[arg(long)]
    rounds: Option<u64>,
    /// Results a miner needs for weight (the subnet's 100).
    #[arg(long, default_value_t = 100)]
    min_samples: usize,
    /// Print the miners' table after each round.
    #[arg(long)]
    table: bool,
    /// Talk to miners over the HTTP axon protocol or btlightning (QUIC, at the same port).
    #[arg(long, value_enum, default_value = "http")]
    transport: Transport,
}

/// A transport to miners.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    Http,
    Quic,
}

/// Connects a validator's QUIC client to the metagraph's miners when asked to.
async fn connect(v: &mut Validator, transport: Transport) -> Result<(), Failure> {
    if transport == Transport::Quic {
        let miners: Vec<Neuron> = v.metagraph.neurons().map_err(bad)?.into_iter().filter(|n| n.is_queryable_miner()).collect();
        // Answers are capped at the largest this validator's circuits can take, not at the
        // transport's 128 MiB.
        let cap = v.circuits.max_answer_bytes();
        v.quic = Some(sigil_node::lightning::Client::new(&v.dendrite.hotkey, &miners, cap).await.map_err(|e| bad(format!("QUIC: {e}")))?);
    }
    Ok(())
}

impl RunArgs {
    fn config(&self) -> Result<validator::Config, Failure> {
        let kind = Kind::from_class(&self.synapse).ok_or_else(|| bad(format!("unknown --synapse `{}`", self.synapse)))?;
        if !(self.timeout > 0.0 && self.interval >= 0.0) {
            return Err(bad("--timeout must be positive and --interval not negative"));
        }
        Ok(validator::Config {
            timeout: Duration::from_secs_f64(self.timeout),
            retries: self.retries,
            kind,
            params: Params { min_samples: self.min_samples, ..Params::default() },
            ..validator::Config::default()
        })
    }
}

#[derive(Args, Debug)]
pub struct DevnetArgs {
    #[command(flatten)]
    circuits: CircuitArgs,
    /// Honest miners.
    #[arg(long, default_value_t = 3)]
    miners: usize,
    /// Add a misbehaving miner of each of these kinds (tamper, garbage, stall, replay; repeat).
    #[arg(long = "faulty", value_enum)]
    faulty: Vec<Fault>,
    /// Where the devnet keeps its hotkeys, metagraph, database and weights (a fresh
    /// temporary directory by default).
    #[arg(long)]
    dir: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args, Debug)]
pub struct QueryArgs {
    #[command(flatten)]
    identity: Identity,
    #[command(flatten)]
    circuits: CircuitArgs,
    /// The axon, IP:PORT.
    #[arg(long)]
    axon: String,
    /// The axon's hotkey (SS58).
    #[arg(long)]
    axon_hotkey: String,
    /// The message: query-zk-proof, dsperse-proof-generation or proof-of-weights.
    #[arg(long, default_value = "dsperse-proof-generation")]
    synapse: String,
    /// Seconds to wait.
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
    /// The HTTP axon protocol or btlightning (QUIC).
    #[arg(long, value_enum, default_value = "http")]
    transport: Transport,
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(bad)
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SIGIL_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).with_target(false).try_init();
}

pub fn keygen(a: KeygenArgs) -> Result<(), Failure> {
    if a.out.exists() {
        return Err(bad(format!("{} exists; not overwritten", a.out.display())));
    }
    let k = Hotkey::generate();
    k.save(&a.out).map_err(|e| bad(format!("{}: {e}", a.out.display())))?;
    println!("{}", k.ss58());
    Ok(())
}

pub fn miner(a: MinerArgs) -> Result<(), Failure> {
    init_logs();
    let hotkey = a.identity.load()?;
    let allow = match (&a.metagraph, a.allow.is_empty()) {
        (Some(path), true) => Allow::Metagraph { source: Box::new(JsonSnapshot { path: path.clone() }), min_stake: a.min_stake },
        (None, false) => {
            for k in &a.allow {
                sigil_node::keys::ss58_decode(k).map_err(|e| bad(format!("--allow: {e}")))?;
            }
            Allow::List(a.allow.iter().cloned().collect::<HashSet<_>>())
        }
        _ => return Err(bad("say who may ask: --allow HOTKEY (repeat) or --metagraph SNAPSHOT, one of the two")),
    };
    let chosen = a.backend.choose();
    if let Some(w) = &chosen.warning {
        tracing::warn!("{w}");
    }
    tracing::info!(backend = chosen.name, "{}", chosen.why);
    let circuits = a.circuits.load_bounded(a.key_memory_mb << 20, chosen.backend)?;
    let rt = runtime()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind((a.host.as_str(), a.port)).await.map_err(|e| bad(format!("{}:{}: {e}", a.host, a.port)))?;
        let port = listener.local_addr().map_err(bad)?.port();
        let mut m = Miner::new(hotkey, circuits, allow, a.queue, a.workers, a.fault);
        m.ip = a.host.clone();
        m.port = port;
        tracing::info!(hotkey = %m.hotkey.ss58(), address = %format!("{}:{port}", a.host), circuits = m.circuits.list.len(), "miner listening");
        let m = Arc::new(m);
        let _quic = if a.quic {
            let (server, _) = sigil_node::lightning::serve(m.clone(), &a.host, port, Duration::from_secs(180)).await.map_err(|e| bad(format!("QUIC on {}:{port}: {e}", a.host)))?;
            tracing::info!(address = %format!("{}:{port}/udp", a.host), "btlightning listening");
            Some(server)
        } else {
            None
        };
        sigil_node::miner::serve(m, listener).await.map_err(|e| (1, e.to_string()))
    })
}

pub fn validator(a: ValidatorArgs) -> Result<(), Failure> {
    init_logs();
    let config = a.run.config()?;
    let store = Store::open(&a.db).map_err(bad)?;
    if a.show {
        // The standings from the database alone: no keys, no circuits needed.
        let now = validator::unix_now();
        let outcomes = store.outcomes_since(now - config.params.window_s).map_err(bad)?;
        let s = sigil_node::scoring::standings(&config.params, &outcomes, now);
        println!("{}", serde_json::json!({
            "results": store.count().map_err(bad)?,
            "score_rows": store.score_rows().map_err(bad)?,
            "miners": s.iter().map(|m| serde_json::json!({"uid": m.uid, "hotkey": m.hotkey, "verified": m.verified, "failed": m.failed,
                "mean_latency": m.mean_latency, "work": m.work, "weight": m.weight, "weight_u16": m.weight_u16})).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    let hotkey = a.identity.load()?;
    let metagraph = JsonSnapshot { path: a.metagraph.clone() };
    metagraph.neurons().map_err(bad)?;
    let circuits = a.circuits.load(false)?;
    let mut v = Validator::new(Dendrite::new(hotkey, "127.0.0.1"), circuits, Box::new(metagraph), store, Box::new(FileWeights { path: a.weights_file.clone() }), config);
    tracing::info!(hotkey = %v.dendrite.hotkey.ss58(), version = DENDRITE_VERSION, transport = ?a.run.transport, "validator started");
    runtime()?.block_on(async {
        connect(&mut v, a.run.transport).await?;
        Arc::new(v).run(a.run.rounds, Duration::from_secs_f64(a.run.interval), a.run.weights_every, a.run.table).await.map_err(|e| (1, e))
    })
}

pub fn query(a: QueryArgs) -> Result<(), Failure> {
    init_logs();
    let hotkey = a.identity.load()?;
    let (ip, port) = a.axon.rsplit_once(':').ok_or_else(|| bad("--axon is IP:PORT"))?;
    let port: u16 = port.parse().map_err(|_| bad("--axon is IP:PORT"))?;
    sigil_node::keys::ss58_decode(&a.axon_hotkey).map_err(|e| bad(format!("--axon-hotkey: {e}")))?;
    let kind = Kind::from_class(&a.synapse).ok_or_else(|| bad(format!("unknown --synapse `{}`", a.synapse)))?;
    let circuits = a.circuits.load(false)?;
    let circuit = circuits.list[0].clone();
    let neuron = Neuron { uid: 0, hotkey: a.axon_hotkey.clone(), ip: ip.into(), port, stake: 0.0, validator_permit: false };
    let config = validator::Config { timeout: Duration::from_secs_f64(a.timeout), kind, ..validator::Config::default() };
    let mut v = Validator::new(Dendrite::new(hotkey, "127.0.0.1"), circuits, Box::new(StaticMetagraph(vec![neuron.clone()])), Store::open(":memory:").map_err(bad)?, Box::new(FileWeights { path: "/dev/null".into() }), config);
    let r = runtime()?.block_on(async {
        connect(&mut v, a.transport).await?;
        Ok::<_, Failure>(v.query(&neuron, &circuit).await)
    })?;
    println!("{}", serde_json::json!({
        "status": r.status, "verified": r.outcome.verified, "reason": r.reason, "seconds": r.outcome.latency,
        "proof_bytes": r.outcome.proof_bytes, "circuit": circuit.name, "circuit_id": circuit.id,
    }));
    if r.outcome.verified { Ok(()) } else { Err((1, format!("the answer was not a verified proof: {}", r.reason))) }
}

pub fn devnet(a: DevnetArgs) -> Result<(), Failure> {
    init_logs();
    let config = a.run.config()?;
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("sigil-devnet-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).map_err(|e| bad(format!("{}: {e}", dir.display())))?;
    let circuits = a.circuits.load(true)?;
    let validator_key = Hotkey::generate();
    let faults: Vec<Fault> = std::iter::repeat_n(Fault::None, a.miners).chain(a.faulty.iter().copied()).collect();
    if faults.is_empty() {
        return Err(bad("a devnet needs at least one miner"));
    }
    let snapshot_path = dir.join("metagraph.json");
    let rt = runtime()?;
    rt.block_on(async {
        let mut neurons = vec![Neuron { uid: 0, hotkey: validator_key.ss58().into(), ip: String::new(), port: 0, stake: 10_000.0, validator_permit: true }];
        let mut listeners = Vec::new();
        for (i, _) in faults.iter().enumerate() {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.map_err(bad)?;
            let port = listener.local_addr().map_err(bad)?.port();
            let key = Hotkey::generate();
            neurons.push(Neuron { uid: i as u16 + 1, hotkey: key.ss58().into(), ip: "127.0.0.1".into(), port, stake: 0.0, validator_permit: false });
            listeners.push((key, listener, port));
        }
        let snapshot = Snapshot { netuid: 2, neurons };
        std::fs::write(&snapshot_path, serde_json::to_string_pretty(&snapshot).map_err(bad)?).map_err(bad)?;
        let mut servers = Vec::new();
        for ((key, listener, port), fault) in listeners.into_iter().zip(&faults) {
            let allow = Allow::Metagraph { source: Box::new(JsonSnapshot { path: snapshot_path.clone() }), min_stake: 1024.0 };
            let mut m = Miner::new(key, circuits.clone(), allow, 8, 1, *fault);
            m.port = port;
            tracing::info!(hotkey = %m.hotkey.ss58(), port, fault = ?fault, "miner up");
            let m = Arc::new(m);
            if a.run.transport == Transport::Quic {
                let (server, _) = sigil_node::lightning::serve(m.clone(), "127.0.0.1", port, Duration::from_secs(180)).await.map_err(|e| bad(format!("QUIC: {e}")))?;
                servers.push(server);
            }
            tokio::spawn(sigil_node::miner::serve(m, listener));
        }
        let store = Store::open(dir.join("validator.db")).map_err(bad)?;
        let weights = FileWeights { path: dir.join("weights.json") };
        let mut v = Validator::new(Dendrite::new(validator_key, "127.0.0.1"), circuits, Box::new(JsonSnapshot { path: snapshot_path.clone() }), store, Box::new(weights), config);
        connect(&mut v, a.run.transport).await?;
        eprintln!("devnet: {} miners on loopback, validator {}; files in {}", faults.len(), v.dendrite.hotkey.ss58(), dir.display());
        Arc::new(v).run(a.run.rounds, Duration::from_secs_f64(a.run.interval), a.run.weights_every, true).await.map_err(|e| (1, e))
    })
}
