//! The subnet's messages (`../shared/protocol/README.md` §4) with `STARK` as the proof system,
//! mapped to one transport-free request and answer: a front end (the HTTP axon today) turns a
//! message's fields into a [`ProofRequest`], the miner answers a [`ProofAnswer`], and the
//! front end writes it back into the message's own fields.
//!
//! | message | HTTP class | circuit | input | answer |
//! |---|---|---|---|---|
//! | `query-zk-proof` | `QueryZkProof` | `model_id` or `query_input.model_id` | `query_input.public_inputs` | `query_output`: a JSON string `{proof, public_signals, circuit_id, context, proof_system}` |
//! | `dsperse-proof-generation` | `DSperseProofGeneration` (the subnet has no HTTP class; ours) | `circuit` | `inputs` (`{input_data}`; `input`, `data` too) | `proof`, `computed_outputs`, `circuit_id`, `context` |
//! | `proof-of-weights` | `ProofOfWeightsSynapse` | `verification_key_hash` | `inputs` | `proof`, `public_signals` (JSON string of the outputs), `circuit_id`, `context` |
//!
//! Each request may carry a `nonce` (in `query_input` for `QueryZkProof`); over HTTP the
//! dendrite's signed header nonce stands in when it does not. The proof is the hex of a
//! `sigil` proof file (statement, context, STARK proof) made in the context
//! [`request_context`]`(nonce, miner hotkey)`: a proof relayed from another miner or replayed
//! from another request does not verify.

use serde_json::{Map, Value};

/// The proof system Sigil adds to the subnet's `ProofSystem` values (sent as this string).
pub const PROOF_SYSTEM: &str = "STARK";

/// The longest request nonce accepted (it becomes part of the proof's context).
pub const MAX_NONCE_LEN: usize = 128;

/// A message type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    QueryZkProof,
    DSperseProofGeneration,
    ProofOfWeights,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::QueryZkProof, Kind::DSperseProofGeneration, Kind::ProofOfWeights];

    /// The HTTP route and Python class name.
    pub fn class(self) -> &'static str {
        match self {
            Kind::QueryZkProof => "QueryZkProof",
            Kind::DSperseProofGeneration => "DSperseProofGeneration",
            Kind::ProofOfWeights => "ProofOfWeightsSynapse",
        }
    }

    /// The subnet's name (btlightning `synapse_type`).
    pub fn wire_name(self) -> &'static str {
        match self {
            Kind::QueryZkProof => "query-zk-proof",
            Kind::DSperseProofGeneration => "dsperse-proof-generation",
            Kind::ProofOfWeights => "proof-of-weights",
        }
    }

    pub fn from_class(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.class() == name || k.wire_name() == name)
    }

    /// The fields the Python class requires (each gets a `bt_header_input_obj_*` header).
    pub fn required_fields(self) -> &'static [&'static str] {
        match self {
            Kind::ProofOfWeights => &["subnet_uid", "verification_key_hash", "proof_system", "inputs", "proof", "public_signals"],
            _ => &[],
        }
    }
}

/// A proof request, whatever message carried it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProofRequest {
    pub kind: Kind,
    /// The circuit: its id (hex) or its folder's name.
    pub circuit: String,
    /// The input as `{"input_data": [...]}` (the EZKL/DSperse layout).
    pub input: Value,
    /// The request's nonce, if the message carried one.
    pub nonce: Option<String>,
}

/// A miner's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct ProofAnswer {
    /// The outputs, dequantized, per output (read from the proof's statement).
    pub outputs: Vec<Vec<f64>>,
    /// Hex of the proof file.
    pub proof_hex: String,
    pub circuit_id: String,
    /// The context the proof was made in.
    pub context: String,
}

/// The context a miner proves a request in: the request's nonce and the miner's hotkey.
pub fn request_context(nonce: &str, miner_hotkey: &str) -> String {
    format!("sigil/request/1 nonce={nonce} miner={miner_hotkey}")
}

/// Whether `nonce` may enter a context: 1 to [`MAX_NONCE_LEN`] characters of `[0-9A-Za-z_-]`.
pub fn valid_nonce(nonce: &str) -> bool {
    (1..=MAX_NONCE_LEN).contains(&nonce.len()) && nonce.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Wraps a bare nested array as `{"input_data": ...}`; takes the subnet's other key names.
fn input_of(v: &Value) -> Option<Value> {
    match v {
        Value::Array(_) => Some(serde_json::json!({ "input_data": v })),
        Value::Object(m) => {
            let data = ["input_data", "input", "data", "inputs", "public_inputs"].iter().find_map(|k| m.get(*k))?;
            match data {
                Value::Object(_) => input_of(data),
                _ => Some(serde_json::json!({ "input_data": data })),
            }
        }
        _ => None,
    }
}

impl ProofRequest {
    /// Reads a request from a message's fields. Errors name the missing or malformed field.
    pub fn from_fields(kind: Kind, f: &Map<String, Value>) -> Result<Self, String> {
        let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let (circuit, input, nonce, system) = match kind {
            Kind::QueryZkProof => {
                let q = f.get("query_input").filter(|v| !v.is_null()).ok_or("`query_input` is missing")?;
                let q = match q {
                    // Legacy validators sent it as a JSON string.
                    Value::String(text) => serde_json::from_str(text).map_err(|_| "`query_input` is a string but not JSON")?,
                    q => q.clone(),
                };
                let circuit = s(f.get("model_id")).or_else(|| s(q.get("model_id")));
                (circuit, q.get("public_inputs").and_then(input_of), s(q.get("nonce")), s(q.get("proof_system")))
            }
            Kind::DSperseProofGeneration => {
                let input = f.get("inputs").and_then(input_of).or_else(|| input_of(&Value::Object(f.clone())));
                (s(f.get("circuit")), input, s(f.get("nonce")), s(f.get("proof_system")))
            }
            Kind::ProofOfWeights => (s(f.get("verification_key_hash")), f.get("inputs").and_then(input_of), s(f.get("nonce")), s(f.get("proof_system"))),
        };
        if let Some(sys) = system
            && !sys.eq_ignore_ascii_case(PROOF_SYSTEM)
        {
            return Err(format!("unsupported proof system `{sys}`: this miner proves `{PROOF_SYSTEM}`"));
        }
        let circuit = circuit.filter(|c| !c.is_empty()).ok_or("no circuit named (`model_id`, `circuit` or `verification_key_hash`)")?;
        let input = input.ok_or("no input (`{\"input_data\": [...]}`)")?;
        if let Some(n) = &nonce
            && !valid_nonce(n)
        {
            return Err(format!("the nonce must be 1 to {MAX_NONCE_LEN} characters of [0-9A-Za-z_-]"));
        }
        Ok(Self { kind, circuit, input, nonce })
    }

    /// The message's fields for this request (what a validator sends).
    pub fn to_fields(&self) -> Map<String, Value> {
        let mut f = Map::new();
        match self.kind {
            Kind::QueryZkProof => {
                f.insert(
                    "query_input".into(),
                    serde_json::json!({ "model_id": self.circuit, "public_inputs": self.input, "nonce": self.nonce, "proof_system": PROOF_SYSTEM }),
                );
                f.insert("query_output".into(), Value::Null);
                f.insert("model_id".into(), self.circuit.clone().into());
            }
            Kind::DSperseProofGeneration => {
                f.insert("circuit".into(), self.circuit.clone().into());
                f.insert("proof_system".into(), PROOF_SYSTEM.into());
                f.insert("inputs".into(), self.input.clone());
                f.insert("nonce".into(), self.nonce.clone().into());
            }
            Kind::ProofOfWeights => {
                f.insert("subnet_uid".into(), 2.into());
                f.insert("verification_key_hash".into(), self.circuit.clone().into());
                f.insert("proof_system".into(), PROOF_SYSTEM.into());
                f.insert("inputs".into(), self.input.clone());
                f.insert("proof".into(), "".into());
                f.insert("public_signals".into(), "".into());
                f.insert("nonce".into(), self.nonce.clone().into());
            }
        }
        f
    }
}

impl ProofAnswer {
    /// Writes the answer into the message's fields.
    pub fn write_fields(&self, kind: Kind, f: &mut Map<String, Value>) {
        let flat: Vec<f64> = self.outputs.iter().flatten().copied().collect();
        match kind {
            Kind::QueryZkProof => {
                let out = serde_json::json!({
                    "proof": self.proof_hex, "public_signals": self.outputs, "circuit_id": self.circuit_id,
                    "context": self.context, "proof_system": PROOF_SYSTEM,
                });
                f.insert("query_output".into(), out.to_string().into());
            }
            Kind::DSperseProofGeneration | Kind::ProofOfWeights => {
                f.insert("proof".into(), self.proof_hex.clone().into());
                f.insert("circuit_id".into(), self.circuit_id.clone().into());
                f.insert("context".into(), self.context.clone().into());
                if kind == Kind::ProofOfWeights {
                    f.insert("public_signals".into(), serde_json::to_string(&self.outputs).expect("numbers").into());
                } else {
                    f.insert("computed_outputs".into(), flat.into());
                }
            }
        }
    }

    /// The proof's hex from a response body (what a validator reads; everything else in the
    /// answer is recomputed from the proof, never trusted).
    pub fn proof_hex_of(kind: Kind, body: &Value) -> Result<String, String> {
        let hex = match kind {
            Kind::QueryZkProof => {
                let out = body.get("query_output").and_then(Value::as_str).ok_or("no `query_output`")?;
                let out: Value = serde_json::from_str(out).map_err(|_| "`query_output` is not JSON")?;
                out.get("proof").and_then(Value::as_str).map(str::to_string)
            }
            _ => body.get("proof").and_then(Value::as_str).map(str::to_string),
        };
        hex.filter(|h| !h.is_empty()).ok_or_else(|| "no proof in the answer".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_round_trips_a_request_and_an_answer() {
        for kind in Kind::ALL {
            let req = ProofRequest { kind, circuit: "ab12".into(), input: serde_json::json!({"input_data": [[0.5, 1.0]]}), nonce: Some("n-1".into()) };
            let fields = req.to_fields();
            assert_eq!(ProofRequest::from_fields(kind, &fields).unwrap(), req, "{kind:?}");
            let ans = ProofAnswer { outputs: vec![vec![1.5]], proof_hex: "00ff".into(), circuit_id: "ab12".into(), context: "c".into() };
            let mut out = fields.clone();
            ans.write_fields(kind, &mut out);
            assert_eq!(ProofAnswer::proof_hex_of(kind, &Value::Object(out)).unwrap(), "00ff");
            assert_eq!(Kind::from_class(kind.class()), Some(kind));
        }
    }

    #[test]
    fn bad_requests_are_refused_by_field() {
        let f = |v: Value| v.as_object().unwrap().clone();
        let e = ProofRequest::from_fields(Kind::DSperseProofGeneration, &f(serde_json::json!({"circuit": "x", "proof_system": "JSTPROVE", "inputs": {"input_data": [1]}})));
        assert!(e.unwrap_err().contains("JSTPROVE"));
        let e = ProofRequest::from_fields(Kind::DSperseProofGeneration, &f(serde_json::json!({"inputs": {"input_data": [1]}})));
        assert!(e.unwrap_err().contains("no circuit"));
        let e = ProofRequest::from_fields(Kind::QueryZkProof, &f(serde_json::json!({"model_id": "x"})));
        assert!(e.unwrap_err().contains("query_input"));
        let e = ProofRequest::from_fields(Kind::ProofOfWeights, &f(serde_json::json!({"verification_key_hash": "x", "inputs": {"input_data": [1]}, "nonce": "a b"})));
        assert!(e.unwrap_err().contains("nonce"));
        // The subnet's other input key names, and a legacy string query_input.
        let r = ProofRequest::from_fields(Kind::QueryZkProof, &f(serde_json::json!({"query_input": "{\"model_id\": \"x\", \"public_inputs\": [1, 2]}"}))).unwrap();
        assert_eq!(r.input, serde_json::json!({"input_data": [1, 2]}));
        let r = ProofRequest::from_fields(Kind::DSperseProofGeneration, &f(serde_json::json!({"circuit": "x", "inputs": {"data": [3]}}))).unwrap();
        assert_eq!(r.input, serde_json::json!({"input_data": [3]}));
    }
}
