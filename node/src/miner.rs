//! `sigil miner`: proves requests for the circuits it serves, behind the HTTP axon protocol.
//!
//! Each request passes, in the Python axon's order (`../shared/protocol/README.md` §2.6):
//! route (404), required-field headers (500), blacklist (403: the caller's hotkey must be on
//! the allow-list, or in the metagraph with a validator permit and enough stake), signature and
//! nonce (401), body hash (500), then the message's own checks (400: unknown circuit, bad
//! input, another proof system) and the queue (503 when full). No proving work is done for a
//! refused request. The proof is made in the request's context (its nonce and this miner's
//! hotkey) and checked before it leaves.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use tokio::sync::Semaphore;

use crate::axon::{self, Rejection, RequestHead, TerminalInfo, Verifier};
use crate::circuits::Circuits;
use crate::keys::Hotkey;
use crate::metagraph::MetagraphSource;
use crate::synapse::{Kind, ProofAnswer, ProofRequest, request_context};
use sigil_onnx::circuit::{ModelProof, hex};

/// The largest request body read (a request carries one input; 64 MiB holds any model's of
/// the corpus many times over).
pub const MAX_REQUEST_BYTES: usize = 64 << 20;

/// Who may ask for proofs.
#[derive(Debug)]
pub enum Allow {
    /// These hotkeys (SS58) only.
    List(HashSet<String>),
    /// Neurons of the metagraph with a validator permit and at least `min_stake` TAO (the
    /// subnet's `VALIDATOR_STAKE_THRESHOLD` is 1024).
    Metagraph { source: Box<dyn MetagraphSource>, min_stake: f64 },
}

impl Allow {
    /// `Ok` when `hotkey` may ask; else the reason, for a 403.
    pub fn check(&self, hotkey: Option<&str>) -> Result<(), String> {
        let hotkey = hotkey.ok_or("no hotkey")?;
        match self {
            Allow::List(keys) => keys.contains(hotkey).then_some(()).ok_or_else(|| format!("{hotkey} is not on the allow-list")),
            Allow::Metagraph { source, min_stake } => {
                let neurons = source.neurons()?;
                let n = neurons.iter().find(|n| n.hotkey == hotkey).ok_or_else(|| format!("{hotkey} is not registered"))?;
                if !n.validator_permit {
                    return Err(format!("{hotkey} has no validator permit"));
                }
                if n.stake < *min_stake {
                    return Err(format!("{hotkey} has {} TAO staked, under {min_stake}", n.stake));
                }
                Ok(())
            }
        }
    }
}

/// How a miner misbehaves, for the validator's fault tests (`sigil miner --fault`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// Proves honestly.
    None,
    /// Flips a byte of each proof's STARK part.
    Tamper,
    /// Answers random bytes as the proof.
    Garbage,
    /// Answers only after the caller has stopped waiting.
    Stall,
    /// Answers its first proof to every later request (a replay).
    Replay,
    /// Answers a proof file padded to 8 MiB (past every corpus circuit's answer size).
    Bloat,
}

/// A miner's state, shared by its request handlers.
#[derive(Debug)]
pub struct Miner {
    pub hotkey: Hotkey,
    pub circuits: Arc<Circuits>,
    pub allow: Allow,
    /// The address it announces in answers.
    pub ip: String,
    pub port: u16,
    verifier: Mutex<Verifier>,
    /// Requests admitted (proving or waiting); one more is refused with 503.
    queue: Arc<Semaphore>,
    /// Proofs made at once (the prover uses every core for one).
    workers: Arc<Semaphore>,
    pub fault: Fault,
    replay: Mutex<Option<ProofAnswer>>,
    proofs_made: std::sync::atomic::AtomicU64,
}

impl Miner {
    /// A miner admitting `queue` requests at once (proving `workers` of them at a time).
    pub fn new(hotkey: Hotkey, circuits: Arc<Circuits>, allow: Allow, queue: usize, workers: usize, fault: Fault) -> Self {
        let verifier = Mutex::new(Verifier::new(hotkey.ss58()));
        Self {
            hotkey,
            circuits,
            allow,
            ip: "127.0.0.1".into(),
            port: 0,
            verifier,
            queue: Arc::new(Semaphore::new(queue.max(1))),
            workers: Arc::new(Semaphore::new(workers.max(1))),
            fault,
            replay: Mutex::new(None),
            proofs_made: Default::default(),
        }
    }

    /// The axon's routes: `POST /<SynapseName>` for every message, 404 elsewhere.
    pub fn router(self: Arc<Self>) -> axum::Router {
        axum::Router::new()
            .route("/{name}", axum::routing::post(handle))
            .fallback(|| async { error_response(&RequestHead::default(), None, &Rejection::new(404, "Not Found")) })
            .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
            .with_state(self)
    }

    /// Proves `req` (transport-free): checks the circuit and input, waits for a worker, proves
    /// in the context of the request's nonce and this miner's hotkey, and checks the proof. A
    /// request still waiting for a worker at `deadline` (the caller has stopped waiting) is
    /// answered 408 without proving.
    pub async fn prove(self: &Arc<Self>, req: ProofRequest, fallback_nonce: Option<String>, deadline: Option<std::time::Instant>) -> Result<ProofAnswer, Rejection> {
        let bad = |m: String| Rejection::new(400, m);
        let circuit = self
            .circuits
            .find(&req.circuit)
            .ok_or_else(|| bad(format!("unknown circuit `{}`: this miner serves {} (a circuit id depends on the model file, its sample input.json and the settings: the same model calibrated on another sample is another circuit)", req.circuit, self.served())))?
            .clone();
        let input = circuit.parse_input(&req.input).map_err(bad)?;
        let nonce = req.nonce.or(fallback_nonce).ok_or_else(|| bad("the request has no nonce".into()))?;
        let context = request_context(&nonce, self.hotkey.ss58());
        let Ok(_admitted) = self.queue.clone().try_acquire_owned() else {
            return Err(Rejection::new(503, "Service at capacity: the proving queue is full"));
        };
        if self.fault == Fault::Replay
            && let Some(a) = self.replay.lock().expect("not poisoned").clone()
        {
            return Ok(a);
        }
        let _worker = self.workers.clone().acquire_owned().await.map_err(|_| Rejection::new(503, "shutting down"))?;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Rejection::new(408, "the request's timeout passed while it waited for a prover; not proved"));
        }
        self.proofs_made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let this = self.clone();
        let answer = tokio::task::spawn_blocking(move || -> Result<ProofAnswer, (u16, String)> {
            let m = this.circuits.prover(&circuit).map_err(|e| (503, e))?;
            let e500 = |e: String| (500, e);
            let p = m.prove_in_context(&input, context.as_bytes()).map_err(|e| e500(e.to_string()))?;
            m.verify_in_context(&p.statement, &p.context, &p.proof).map_err(|e| e500(format!("the proof made does not verify: {e}")))?;
            let mut file = ModelProof { circuit_id: m.circuit_id(), statement: p.statement, context: p.context, proof: p.proof }.to_bytes();
            match this.fault {
                Fault::Tamper => {
                    let n = file.len();
                    file[n - 200] ^= 1;
                }
                Fault::Garbage => file = (0..file.len()).map(|_| rand::random()).collect(),
                Fault::Bloat => file.resize(8 << 20, 0),
                _ => {}
            }
            Ok(ProofAnswer { outputs: p.outputs, proof_hex: hex(&file), circuit_id: circuit.id.clone(), context })
        })
        .await
        .map_err(|e| Rejection::new(500, format!("the prover stopped: {e}")))?
        .map_err(|(status, e)| Rejection::new(status, e))?;
        if self.fault == Fault::Replay {
            *self.replay.lock().expect("not poisoned") = Some(answer.clone());
        }
        Ok(answer)
    }

    /// How many proofs this miner has started.
    pub fn proofs_made(&self) -> u64 {
        self.proofs_made.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn served(&self) -> String {
        self.circuits.list.iter().map(|c| c.describe()).collect::<Vec<_>>().join(", ")
    }

    fn terminal(&self, status: u16, message: &str, started: Instant) -> TerminalInfo {
        TerminalInfo {
            status_code: Some(status as i64),
            status_message: Some(message.into()),
            process_time: Some(started.elapsed().as_secs_f64()),
            ip: Some(self.ip.clone()),
            port: Some(self.port),
            hotkey: Some(self.hotkey.ss58().into()),
            ..Default::default()
        }
    }
}

fn with_headers(status: u16, headers: Vec<(String, String)>, body: String) -> Response {
    let mut r = (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), body).into_response();
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            h.insert(k, v);
        }
    }
    r
}

/// An error answer as the Python axon gives it: `{"message": ...}` and the status headers.
fn error_response(head: &RequestHead, axon: Option<TerminalInfo>, r: &Rejection) -> Response {
    let axon = axon.unwrap_or(TerminalInfo { status_code: Some(r.status as i64), status_message: Some(r.message.clone()), ..Default::default() });
    with_headers(r.status, axon::response_headers(head, &axon), serde_json::json!({ "message": r.message }).to_string())
}

async fn handle(State(miner): State<Arc<Miner>>, Path(name): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let pairs: Vec<(&str, &str)> = headers.iter().filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))).collect();
    let head = RequestHead::parse(&name, pairs);
    let refuse = |r: Rejection| {
        tracing::info!(status = r.status, caller = head.dendrite.hotkey.as_deref().unwrap_or("-"), synapse = %name, "refused: {}", r.message);
        error_response(&head, Some(miner.terminal(r.status, &r.message, started)), &r)
    };
    let Some(kind) = Kind::from_class(&name) else {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.class()).collect();
        return refuse(Rejection::new(404, format!("Synapse name '{name}' not found. Available synapses {names:?}")));
    };
    if let Some(f) = kind.required_fields().iter().find(|f| !head.input_obj.iter().any(|h| h == *f)) {
        return refuse(Rejection::new(500, format!("Internal Server Error: missing the header bt_header_input_obj_{f} of required field `{f}`")));
    }
    if let Err(why) = miner.allow.check(head.dendrite.hotkey.as_deref()) {
        return refuse(Rejection::new(403, format!("Forbidden. Key is blacklisted: {why}.")));
    }
    if let Err(r) = miner.verifier.lock().expect("not poisoned").verify(&head, axon::now_ns()) {
        return refuse(r);
    }
    if head.computed_body_hash.as_deref() != Some(axon::EMPTY_BODY_HASH) {
        return refuse(Rejection::new(500, format!("Internal Server Error #{}: the body hash is not the hash of this synapse", head.dendrite.uuid.as_deref().unwrap_or(""))));
    }
    let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(&body) else {
        return refuse(Rejection::new(400, "the body is not a JSON object"));
    };
    let req = match ProofRequest::from_fields(kind, &fields) {
        Ok(r) => r,
        Err(e) => return refuse(Rejection::new(400, e)),
    };
    let (circuit, caller) = (req.circuit.clone(), head.dendrite.hotkey.clone().unwrap_or_default());
    let header_nonce = head.dendrite.nonce.map(|n| n.to_string());
    let answer = if miner.fault == Fault::Stall {
        tokio::time::sleep(std::time::Duration::from_secs_f64(head.timeout.min(600.0) + 1.0)).await;
        Err(Rejection::new(408, "stalled"))
    } else {
        let deadline = started + std::time::Duration::from_secs_f64(head.timeout.min(3600.0));
        miner.prove(req, header_nonce, Some(deadline)).await
    };
    let answer = match answer {
        Ok(a) => a,
        Err(r) => return refuse(r),
    };
    tracing::info!(caller = %caller, circuit = %circuit, seconds = started.elapsed().as_secs_f64(), bytes = answer.proof_hex.len() / 2, "proved");
    answer.write_fields(kind, &mut fields);
    let axon = miner.terminal(200, "Success", started);
    // The caller's terminal as the body gave it (Python echoes the parsed synapse).
    let dendrite: TerminalInfo = fields.remove("dendrite").and_then(|d| serde_json::from_value(d).ok()).unwrap_or_else(|| head.dendrite.clone());
    let fields: Map<String, Value> = fields.into_iter().filter(|(k, _)| !matches!(k.as_str(), "name" | "timeout" | "total_size" | "header_size" | "axon" | "computed_body_hash")).collect();
    let body = axon::synapse_body(&name, head.timeout, &dendrite, &axon, &fields);
    with_headers(200, axon::response_headers(&head, &axon), body.to_string())
}

/// Serves `miner` on `listener` until the process ends.
pub async fn serve(miner: Arc<Miner>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, miner.router()).await
}
