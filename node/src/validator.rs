//! `sigil validator`: hands out proof requests to the miners of the metagraph, verifies every
//! answer with the verifier crate, scores the miners ([`crate::scoring`]) and sets weights
//! through a [`WeightSetter`].
//!
//! Each request carries a fresh input (the shape and range of the circuit's sample, one the
//! circuit's executor accepts: `Circuit::request_input`) and a fresh nonce. An answer counts as verified only if, in this order: the miner answered 200
//! within the timeout; the answer's proof hex is no longer than the circuit's largest proof
//! file (checked before decoding); the file parses for the circuit whose id this validator
//! derived from the model file itself; its context is this request's (nonce and the miner's
//! hotkey: a relayed or replayed proof fails here); its statement's input is the input sent;
//! the STARK verifies; and the proof's hash was never seen before (recorded only then, in one
//! atomic insert). Outputs are read from the verified statement, never from the answer's other
//! fields. Anything else is a scored failure, never a crash.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sigil_onnx::circuit::{ModelProof, hex};

use crate::axon::{self, Dendrite, Target};
use crate::circuits::{Circuit, Circuits};
use crate::keys::hex_decode;
use crate::metagraph::{MetagraphSource, Neuron};
use crate::scoring::{Outcome, Params, Standing, standings};
use crate::store::{Record, Store};
use crate::synapse::{Kind, ProofAnswer, ProofRequest, request_context};

/// Where weights go: a file and the log today; a chain client implements the same trait.
pub trait WeightSetter: Send + Sync + std::fmt::Debug {
    fn set_weights(&self, uids: &[u16], weights: &[u16]) -> Result<(), String>;
}

/// Writes each set of weights as `{"at", "uids", "weights"}` JSON to a file (replaced
/// atomically) and logs it.
#[derive(Debug)]
pub struct FileWeights {
    pub path: PathBuf,
}

impl WeightSetter for FileWeights {
    fn set_weights(&self, uids: &[u16], weights: &[u16]) -> Result<(), String> {
        let v = serde_json::json!({ "at": unix_now(), "uids": uids, "weights": weights });
        let tmp = self.path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, v.to_string() + "\n").and_then(|()| std::fs::rename(&tmp, &self.path)).map_err(|e| format!("{}: {e}", self.path.display()))?;
        tracing::info!(uids = ?uids, weights = ?weights, file = %self.path.display(), "weights set");
        Ok(())
    }
}

/// A validator's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// How long a miner has to answer.
    pub timeout: Duration,
    /// Retries of a request whose connection failed before anything was sent.
    pub retries: u32,
    /// The message sent.
    pub kind: Kind,
    /// The scoring constants.
    pub params: Params,
    /// Requests in flight at once.
    pub concurrency: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(60), retries: 2, kind: Kind::DSperseProofGeneration, params: Params::default(), concurrency: 16 }
    }
}

/// A validator.
#[derive(Debug)]
pub struct Validator {
    pub dendrite: Dendrite,
    pub circuits: Arc<Circuits>,
    pub metagraph: Box<dyn MetagraphSource>,
    pub store: Mutex<Store>,
    pub weights: Box<dyn WeightSetter>,
    pub config: Config,
    http: reqwest::Client,
    /// Talk btlightning (QUIC) instead of the HTTP axon protocol.
    pub quic: Option<crate::lightning::Client>,
}

/// Now, in Unix seconds.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// A failed query: why, the proof's size and hash if there was one, and the status the
/// axon answered with if it answered.
struct Failure {
    reason: String,
    proof: Option<(usize, String)>,
    status: Option<u16>,
}

impl Validator {
    pub fn new(dendrite: Dendrite, circuits: Arc<Circuits>, metagraph: Box<dyn MetagraphSource>, store: Store, weights: Box<dyn WeightSetter>, config: Config) -> Self {
        let http = reqwest::Client::builder().pool_max_idle_per_host(4).build().expect("a plain HTTP client");
        Self { dendrite, circuits, metagraph, store: Mutex::new(store), weights, config, http, quic: None }
    }

    /// Sends one request for `circuit` to `miner`, checks the answer and records the result.
    pub async fn query(&self, miner: &Neuron, circuit: &Arc<Circuit>) -> Record {
        let seed: u64 = rand::random();
        let nonce = hex(&rand::random::<[u8; 16]>());
        let c = circuit.clone();
        let input = tokio::task::spawn_blocking(move || c.request_input(seed)).await.unwrap_or_else(|_| circuit.fresh_input(seed));
        let req = ProofRequest { kind: self.config.kind, circuit: circuit.id.clone(), input, nonce: Some(nonce) };
        let started = Instant::now();
        let result = self.exchange(miner, circuit, &req).await;
        let latency = started.elapsed().as_secs_f64();
        let (verified, reason, proof, status) = match result {
            Ok(bytes_and_hash) => (true, String::new(), Some(bytes_and_hash), Some(200)),
            Err(f) => (false, f.reason, f.proof, f.status),
        };
        let outcome = Outcome {
            at: unix_now(),
            uid: miner.uid,
            hotkey: miner.hotkey.clone(),
            circuit: circuit.id.clone(),
            verified,
            latency,
            proof_bytes: proof.as_ref().map_or(0, |p| p.0),
        };
        let record = Record { outcome, kind: self.config.kind.wire_name().into(), reason, proof_hash: proof.map(|p| p.1), status };
        if let Err(e) = self.store.lock().expect("not poisoned").record(&record) {
            tracing::error!("could not record a result: {e}");
        }
        if verified {
            tracing::info!(uid = miner.uid, circuit = %circuit.name, seconds = latency, "verified");
        } else {
            tracing::warn!(uid = miner.uid, circuit = %circuit.name, seconds = latency, "failed: {}", record.reason);
        }
        record
    }

    async fn exchange(&self, miner: &Neuron, circuit: &Arc<Circuit>, req: &ProofRequest) -> Result<(usize, String), Failure> {
        let (status, message, json) = match &self.quic {
            None => self.send_http(miner, circuit, req).await?,
            Some(q) => match q.send(miner, req.kind, &req.to_fields(), self.config.timeout).await {
                Ok(json) => (200, String::new(), json),
                Err(e) => return Err(Failure { reason: format!("quic: {e}"), proof: None, status: None }),
            },
        };
        let answered = |reason: String| Failure { reason, proof: None, status: Some(status) };
        if status != 200 {
            // A miner that does not know the circuit id: say what this validator's circuit is,
            // beside the miner's list, so that a sample input calibrated differently shows.
            let ours = if message.contains("unknown circuit") { format!("; this validator's is {}", circuit.describe()) } else { String::new() };
            return Err(answered(format!("status {status}: {message}{ours}")));
        }
        let proof_hex = ProofAnswer::proof_hex_of(req.kind, &json).map_err(answered)?;
        if proof_hex.len() > circuit.max_proof_hex_len() {
            return Err(answered(format!("the proof's hex is {} characters; this circuit's are at most {}", proof_hex.len(), circuit.max_proof_hex_len())));
        }
        let bytes = hex_decode(&proof_hex).ok_or_else(|| answered("the proof is not hex".into()))?;
        let hash = hex(blake3::hash(&bytes).as_bytes());
        let proof_fail = |reason: String| Failure { reason, proof: Some((bytes.len(), hash.clone())), status: Some(status) };
        let file = ModelProof::from_bytes(&bytes, &circuit.model).map_err(|e| proof_fail(e.to_string()))?;
        let want = request_context(req.nonce.as_deref().unwrap_or(""), &miner.hotkey);
        if file.context != want.as_bytes() {
            return Err(proof_fail(format!("the proof was made for another request or miner (context {:?})", String::from_utf8_lossy(&file.context))));
        }
        let input = circuit.parse_input(&req.input).map_err(|e| proof_fail(format!("our own input: {e}")))?;
        let sent = circuit.model.input_statement(&input).map_err(|e| proof_fail(e.to_string()))?;
        if file.statement.get(..sent.len()) != Some(&sent[..]) {
            return Err(proof_fail("the proof is for another input than the one sent".into()));
        }
        let c = circuit.clone();
        let verdict = tokio::task::spawn_blocking(move || c.model.verify_in_context(&file.statement, &file.context, &file.proof))
            .await
            .map_err(|e| proof_fail(format!("the verifier stopped: {e}")))?;
        verdict.map_err(|e| proof_fail(format!("the proof does not verify: {e}")))?;
        // Recorded once verified, in one atomic insert: of two answers with the same bytes
        // (verified at once, in parallel) only the first is paid, and no hash of a proof that
        // failed is stored (a miner's garbage does not fill the database).
        let first = self.store.lock().expect("not poisoned").first_sighting(&hash, unix_now()).map_err(|e| proof_fail(format!("the store: {e}")))?;
        if !first {
            return Err(proof_fail("a proof seen before (replayed)".into()));
        }
        Ok((bytes.len(), hash))
    }

    /// Posts `req` to `miner`'s HTTP axon: the status, message and body of its answer.
    async fn send_http(&self, miner: &Neuron, circuit: &Arc<Circuit>, req: &ProofRequest) -> Result<(u16, String, Value), Failure> {
        let fail = |reason: String| Failure { reason, proof: None, status: None };
        let target = Target { ip: miner.ip.clone(), port: miner.port, hotkey: miner.hotkey.clone() };
        let timeout = self.config.timeout;
        let deadline = Instant::now() + timeout;
        let mut attempt = 0;
        let resp = loop {
            let signed = self.dendrite.request(&target, req.kind.class(), timeout.as_secs_f64(), &req.to_fields(), req.kind.required_fields());
            let mut rb = self.http.post(&signed.url).body(signed.body).timeout(deadline.saturating_duration_since(Instant::now()));
            for (k, v) in &signed.headers {
                rb = rb.header(k, v);
            }
            rb = rb.header("content-type", "application/json");
            match rb.send().await {
                Ok(r) => break r,
                Err(e) if e.is_connect() && attempt < self.config.retries && Instant::now() < deadline => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                }
                Err(e) if e.is_timeout() => return Err(fail(format!("timed out after {:.1} s", timeout.as_secs_f64()))),
                Err(e) if e.is_connect() => return Err(fail(format!("unreachable after {} tries: {e}", attempt + 1))),
                Err(e) => return Err(fail(format!("transport: {e}"))),
            }
        };
        // The answer's size is capped before it is read: the proof file's hex plus room for
        // the echoed request.
        let cap = circuit.max_proof_hex_len() + req.input.to_string().len() + (1 << 20);
        let http_status = resp.status().as_u16();
        let header = |k: &str| resp.headers().get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (status_h, message_h) = (header("bt_header_axon_status_code"), header("bt_header_axon_status_message"));
        if resp.content_length().is_some_and(|n| n as usize > cap) {
            return Err(fail(format!("the answer is {} bytes, over the {cap} this circuit's answers can take", resp.content_length().unwrap_or(0))));
        }
        let mut body = Vec::new();
        let mut resp = resp;
        loop {
            match tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), resp.chunk()).await {
                Err(_) => return Err(fail(format!("timed out after {:.1} s", timeout.as_secs_f64()))),
                Ok(Err(e)) => return Err(fail(format!("the answer broke off: {e}"))),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(c))) => {
                    body.extend_from_slice(&c);
                    if body.len() > cap {
                        return Err(fail(format!("the answer passed the {cap} bytes this circuit's answers can take")));
                    }
                }
            }
        }
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let (status, message) = axon::read_response(status_h.as_deref(), message_h.as_deref(), http_status, &json);
        Ok((status, message, json))
    }

    /// Queries every queryable miner of the metagraph once (each on a random circuit),
    /// `config.concurrency` at a time. Returns the records.
    pub async fn round(self: &Arc<Self>) -> Result<Vec<Record>, String> {
        let miners: Vec<Neuron> = self.metagraph.neurons()?.into_iter().filter(|n| n.is_queryable_miner() && n.hotkey != self.dendrite.hotkey.ss58()).collect();
        if let Some(q) = &self.quic
            && let Err(e) = q.sync(&miners).await
        {
            tracing::warn!("QUIC connections: {e}");
        }
        let limit = Arc::new(tokio::sync::Semaphore::new(self.config.concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for m in miners {
            let circuit = self.circuits.list[rand::random::<usize>() % self.circuits.list.len()].clone();
            let (this, limit) = (self.clone(), limit.clone());
            tasks.spawn(async move {
                let _p = limit.acquire_owned().await;
                this.query(&m, &circuit).await
            });
        }
        let mut out = Vec::new();
        while let Some(r) = tasks.join_next().await {
            out.push(r.map_err(|e| format!("a query task stopped: {e}"))?);
        }
        Ok(out)
    }

    /// The miners' standings now, from every stored result in the window.
    pub fn standings(&self) -> Result<Vec<Standing>, String> {
        let now = unix_now();
        let outcomes = self.store.lock().expect("not poisoned").outcomes_since(now - self.config.params.window_s)?;
        Ok(standings(&self.config.params, &outcomes, now))
    }

    /// Computes the weights and hands them to the weight setter (and the store).
    pub fn set_weights(&self) -> Result<Vec<Standing>, String> {
        let s = self.standings()?;
        let (uids, weights): (Vec<u16>, Vec<u16>) = s.iter().map(|s| (s.uid, s.weight_u16)).unzip();
        self.weights.set_weights(&uids, &weights)?;
        let mut store = self.store.lock().expect("not poisoned");
        let now = unix_now();
        store.record_scores(now, &s)?;
        store.record_weights(now, &uids, &weights)?;
        Ok(s)
    }

    /// A table of the miners: uid, hotkey, verified, failed, latency, work, weight, and the
    /// last failure.
    pub fn table(&self) -> Result<String, String> {
        let s = self.standings()?;
        let store = self.store.lock().expect("not poisoned");
        let mut t = format!("{:>4}  {:<14} {:>8} {:>7} {:>9} {:>9} {:>7}  {}\n", "uid", "hotkey", "verified", "failed", "latency", "work", "weight", "last failure");
        for m in &s {
            let last = store.last_reason(&m.hotkey)?.unwrap_or_default();
            let last: String = last.chars().take(60).collect();
            t += &format!(
                "{:>4}  {:<14} {:>8} {:>7} {:>8.3}s {:>9.3} {:>7.4}  {}\n",
                m.uid,
                format!("{}…", &m.hotkey[..12.min(m.hotkey.len())]),
                m.verified,
                m.failed,
                m.mean_latency,
                m.work,
                m.weight,
                last
            );
        }
        t += &format!("{} results stored\n", store.count()?);
        Ok(t)
    }

    /// Runs rounds every `interval` (and sets weights every `weights_every` rounds) until
    /// `rounds` have run (forever with `None`), printing the table to stderr after each round
    /// when `table` is set.
    pub async fn run(self: Arc<Self>, rounds: Option<u64>, interval: Duration, weights_every: u64, table: bool) -> Result<(), String> {
        let mut n = 0u64;
        loop {
            let t = Instant::now();
            match self.round().await {
                Ok(_) => {}
                Err(e) => tracing::error!("round {n}: {e}"),
            }
            n += 1;
            if n.is_multiple_of(weights_every.max(1))
                && let Err(e) = self.set_weights()
            {
                tracing::error!("setting weights: {e}");
            }
            if table {
                eprintln!("round {n}\n{}", self.table()?);
            }
            if rounds.is_some_and(|r| n >= r) {
                return Ok(());
            }
            tokio::time::sleep(interval.saturating_sub(t.elapsed())).await;
        }
    }
}
