//! btlightning, the QUIC transport of the 2026 subnet (`../shared/protocol/README.md` §3),
//! through the `btlightning` crate: the same miner and messages as the HTTP axon, as a second
//! front end. Handshakes (sr25519 over the TLS certificate's fingerprint, both sides) and
//! framing are the crate's; this module supplies the hotkey as its signer, the miner's
//! allow-list as its permit resolver, and converts MessagePack maps to and from the messages'
//! JSON fields. Over QUIC there is no signed per-request header nonce, so every request must
//! carry its own `nonce` field.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use btlightning::{AsyncSynapseHandler, LightningClient, LightningClientConfig, LightningError, LightningServer, LightningServerConfig, QuicAxonInfo, QuicRequest};
use serde_json::{Map, Value};

use crate::keys::Hotkey;
use sigil_onnx::circuit::hex;
use crate::metagraph::Neuron;
use crate::miner::{Allow, Miner};
use crate::synapse::{Kind, ProofRequest};

/// The largest frame either side accepts: the subnet's `TRANSPORT_PAYLOAD_LIMIT` (128 MiB).
pub const MAX_FRAME_BYTES: usize = 128 << 20;

/// A hotkey as btlightning's signer (raw 64-byte sr25519 signatures, context `substrate`).
struct HotkeySigner(Hotkey);

impl btlightning::Signer for HotkeySigner {
    fn sign(&self, message: &[u8]) -> btlightning::Result<Vec<u8>> {
        Ok(self.0.sign(message).to_vec())
    }
}

/// The miner's allow-list as the set of validators that may complete a handshake.
struct AllowResolver(Arc<Miner>);

impl btlightning::ValidatorPermitResolver for AllowResolver {
    fn resolve_permitted_validators(&self) -> btlightning::Result<HashSet<String>> {
        match &self.0.allow {
            Allow::List(keys) => Ok(keys.clone()),
            Allow::Metagraph { source, min_stake } => {
                let neurons = source.neurons().map_err(LightningError::Handshake)?;
                Ok(neurons.into_iter().filter(|n| n.validator_permit && n.stake >= *min_stake).map(|n| n.hotkey).collect())
            }
        }
    }
}

/// MessagePack to JSON: binary values become hex strings (as the subnet's validator reads
/// them), map keys must be strings.
pub fn to_json(v: &rmpv::Value) -> Value {
    use rmpv::Value as M;
    match v {
        M::Nil => Value::Null,
        M::Boolean(b) => (*b).into(),
        M::Integer(i) => i.as_i64().map(Value::from).or_else(|| i.as_u64().map(Value::from)).unwrap_or(Value::Null),
        M::F32(f) => serde_json::Number::from_f64(*f as f64).map_or(Value::Null, Value::Number),
        M::F64(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        M::String(s) => s.as_str().map_or(Value::Null, Value::from),
        M::Binary(b) => hex(b).into(),
        M::Array(a) => a.iter().map(to_json).collect(),
        M::Map(m) => Value::Object(m.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), to_json(v)))).collect()),
        M::Ext(..) => Value::Null,
    }
}

/// JSON to MessagePack.
pub fn to_msgpack(v: &Value) -> rmpv::Value {
    use rmpv::Value as M;
    match v {
        Value::Null => M::Nil,
        Value::Bool(b) => M::Boolean(*b),
        Value::Number(n) => n.as_i64().map(M::from).or_else(|| n.as_u64().map(M::from)).unwrap_or_else(|| M::F64(n.as_f64().unwrap_or(f64::NAN))),
        Value::String(s) => M::String(s.as_str().into()),
        Value::Array(a) => M::Array(a.iter().map(to_msgpack).collect()),
        Value::Object(o) => M::Map(o.iter().map(|(k, v)| (M::String(k.as_str().into()), to_msgpack(v))).collect()),
    }
}

fn fields_of(data: &HashMap<String, rmpv::Value>) -> Map<String, Value> {
    data.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()
}

fn data_of(fields: &Map<String, Value>) -> HashMap<String, rmpv::Value> {
    fields.iter().map(|(k, v)| (k.clone(), to_msgpack(v))).collect()
}

/// One message type served over QUIC.
struct Handler {
    miner: Arc<Miner>,
    kind: Kind,
    /// How long a request may wait for a prover (the server's handler timeout).
    timeout: Duration,
}

#[async_trait::async_trait]
impl AsyncSynapseHandler for Handler {
    async fn handle(&self, _synapse_type: &str, data: HashMap<String, rmpv::Value>) -> btlightning::Result<HashMap<String, rmpv::Value>> {
        // A refusal is an answer with `status` and `error` (btlightning replaces a handler's
        // error with "request processing failed", which would hide the reason).
        let refuse = |status: u16, error: String| {
            tracing::info!(status, transport = "quic", "refused: {error}");
            let mut out = Map::new();
            out.insert("status".into(), status.into());
            out.insert("error".into(), error.into());
            Ok(data_of(&out))
        };
        let req = match ProofRequest::from_fields(self.kind, &fields_of(&data)) {
            Ok(r) => r,
            Err(e) => return refuse(400, e),
        };
        if req.nonce.is_none() {
            return refuse(400, "a QUIC request must carry its `nonce` (it binds the proof)".into());
        }
        let circuit = req.circuit.clone();
        let started = std::time::Instant::now();
        let answer = match self.miner.prove(req, None, Some(started + self.timeout)).await {
            Ok(a) => a,
            Err(r) => return refuse(r.status, r.message),
        };
        tracing::info!(circuit = %circuit, seconds = started.elapsed().as_secs_f64(), bytes = answer.proof_hex.len() / 2, transport = "quic", "proved");
        let mut out = Map::new();
        answer.write_fields(self.kind, &mut out);
        Ok(data_of(&out))
    }
}

/// Starts a btlightning server for `miner` on `host:port` (UDP; 0 picks a port): only
/// validators on its allow-list complete a handshake. Returns the server (serving in the
/// background) and its port.
pub async fn serve(miner: Arc<Miner>, host: &str, port: u16, handler_timeout: Duration) -> Result<(Arc<LightningServer>, u16), String> {
    let config = LightningServerConfig::builder()
        .require_validator_permit(true)
        .validator_permit_refresh_secs(60)
        .max_frame_payload_bytes(MAX_FRAME_BYTES)
        .handler_timeout_secs(handler_timeout.as_secs().max(1))
        .idle_timeout_secs((2 * handler_timeout.as_secs()).max(150))
        .build()
        .map_err(|e| e.to_string())?;
    let mut server = LightningServer::with_config(miner.hotkey.ss58().to_string(), host.to_string(), port, config).map_err(|e| e.to_string())?;
    server.set_miner_signer(Box::new(HotkeySigner(miner.hotkey.clone())));
    server.set_validator_permit_resolver(Box::new(AllowResolver(miner.clone())));
    for kind in Kind::ALL {
        server.register_async_synapse_handler(kind.wire_name().to_string(), Arc::new(Handler { miner: miner.clone(), kind, timeout: handler_timeout })).await.map_err(|e| e.to_string())?;
    }
    server.start().await.map_err(|e| e.to_string())?;
    let port = server.local_addr().map_err(|e| e.to_string())?.port();
    let server = Arc::new(server);
    let s = server.clone();
    tokio::spawn(async move {
        if let Err(e) = s.serve_forever().await {
            tracing::error!("the QUIC server stopped: {e}");
        }
    });
    Ok((server, port))
}

/// A validator's btlightning client.
pub struct Client {
    client: LightningClient,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("lightning::Client").finish_non_exhaustive()
    }
}

fn axon_of(n: &Neuron) -> QuicAxonInfo {
    QuicAxonInfo { hotkey: n.hotkey.clone(), ip: n.ip.clone(), port: n.port, protocol: 4 }
}

impl Client {
    /// A client signing handshakes with `hotkey`, connected to `miners` (failed handshakes
    /// are dropped and retried at the next [`Client::sync`]), receiving frames of at most
    /// `max_answer_bytes` (raised to btlightning's least, 1 MiB; at most [`MAX_FRAME_BYTES`]):
    /// a longer answer is refused by the transport as it arrives, before it is parsed.
    pub async fn new(hotkey: &Hotkey, miners: &[Neuron], max_answer_bytes: usize) -> Result<Self, String> {
        let cap = max_answer_bytes.clamp(1 << 20, MAX_FRAME_BYTES);
        let config = LightningClientConfig::builder().max_frame_payload_bytes(cap).max_stream_payload_bytes(cap).build().map_err(|e| e.to_string())?;
        let mut client = LightningClient::with_config(hotkey.ss58().to_string(), config).map_err(|e| e.to_string())?;
        client.set_signer(Box::new(HotkeySigner(hotkey.clone())));
        client.initialize_connections(miners.iter().map(axon_of).collect()).await.map_err(|e| e.to_string())?;
        Ok(Self { client })
    }

    /// Brings the connections in line with the metagraph's miners.
    pub async fn sync(&self, miners: &[Neuron]) -> Result<(), String> {
        self.client.update_miner_registry(miners.iter().map(axon_of).collect()).await.map_err(|e| e.to_string())
    }

    /// Sends `fields` as a `kind` message to `miner`; returns the answer's fields, or why it
    /// failed.
    pub async fn send(&self, miner: &Neuron, kind: Kind, fields: &Map<String, Value>, timeout: Duration) -> Result<Value, String> {
        let req = QuicRequest::new(kind.wire_name().to_string(), data_of(fields));
        let resp = self.client.query_axon_with_timeout(axon_of(miner), req, timeout).await.map_err(|e| e.to_string())?;
        if !resp.success {
            return Err(resp.error.unwrap_or_else(|| "the miner answered success: false".into()));
        }
        let fields = fields_of(&resp.data);
        if let Some(e) = fields.get("error").and_then(Value::as_str) {
            return Err(format!("status {}: {e}", fields.get("status").and_then(Value::as_u64).unwrap_or(500)));
        }
        Ok(Value::Object(fields))
    }
}
