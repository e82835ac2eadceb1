//! The HTTP axon protocol of the Bittensor Python SDK (9.x and 10.x; `../shared/protocol/
//! README.md` §2): JSON synapses posted to `/<SynapseName>`, metadata in flat `bt_header_*`
//! headers, an sr25519 signature over `"{nonce}.{dendrite}.{axon}.{uuid}.{body_hash}"`, nonce
//! rules per `(hotkey, uuid)`, and the status codes the Python axon answers with. Both sides
//! live here: checking a request (the miner) and building one (the validator). Message
//! handling is elsewhere ([`crate::synapse`]): this module knows headers and signatures only.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sigil_onnx::circuit::hex;

use crate::keys::{self, Hotkey};

/// `sha3_256("")`: the body hash of every synapse without `required_hash_fields` (none of the
/// subnet's have any, and neither have ours, §2.3).
pub const EMPTY_BODY_HASH: &str = "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a";
/// The version a Sigil dendrite announces: bittensor 9.9.0's (the subnet's pin), above
/// 7.2.0, from which the axon applies the nonce age window.
pub const DENDRITE_VERSION: u64 = 9_009_000;
/// From this dendrite version on, an unseen `(hotkey, uuid)` must send a recent nonce.
const NONCE_WINDOW_VERSION: u64 = 7_002_000;
/// The fixed part of the nonce window (Python `ALLOWED_DELTA`: 4 s), to which the request's
/// timeout is added.
const ALLOWED_DELTA_NS: u64 = 4_000_000_000;
/// The longest timeout that widens the nonce window (the header is not signed, so it is capped:
/// the subnet's `MAX_SIGNATURE_LIFESPAN`, 300 s).
const MAX_WINDOW_TIMEOUT_S: f64 = 300.0;
/// The most `(hotkey, uuid)` pairs the nonce table holds; keys whose nonce has left the window
/// are dropped first (their replays fail the window anyway).
const MAX_NONCE_KEYS: usize = 100_000;

/// A terminal (`dendrite` or `axon`) of a synapse: Python's `TerminalInfo`, every field
/// optional, in its order.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct TerminalInfo {
    pub status_code: Option<i64>,
    pub status_message: Option<String>,
    pub process_time: Option<f64>,
    pub ip: Option<String>,
    pub port: Option<u16>,
    pub version: Option<u64>,
    pub nonce: Option<u64>,
    pub uuid: Option<String>,
    pub hotkey: Option<String>,
    pub signature: Option<String>,
}

/// What the axon reads from a request's headers before its body: the Python axon builds the
/// synapse from these.
#[derive(Clone, Debug, Default)]
pub struct RequestHead {
    /// The synapse class (from the route).
    pub name: String,
    /// Seconds the caller waits (header `timeout`; 12 when absent, as in Python).
    pub timeout: f64,
    /// The caller, as it claims in the headers (checked by [`Verifier::verify`]).
    pub dendrite: TerminalInfo,
    /// The hotkey the caller addressed.
    pub axon_hotkey: Option<String>,
    pub computed_body_hash: Option<String>,
    /// The request's `bt_header_input_obj_*` field names.
    pub input_obj: Vec<String>,
}

/// A refused request: the status and message the Python axon gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub message: String,
}

impl Rejection {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }
}

impl RequestHead {
    /// Reads the `bt_header_*` headers (names compared case-insensitively, as HTTP does);
    /// `header(name)` returns a header's value.
    pub fn parse<'a>(name: &str, headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut h = Self { name: name.into(), timeout: 12.0, ..Default::default() };
        for (k, v) in headers {
            let k = k.to_ascii_lowercase();
            let v = v.trim();
            match k.as_str() {
                "timeout" => h.timeout = v.parse().ok().filter(|t: &f64| t.is_finite() && *t > 0.0).unwrap_or(12.0),
                "bt_header_dendrite_ip" => h.dendrite.ip = Some(v.into()),
                "bt_header_dendrite_port" => h.dendrite.port = v.parse().ok(),
                "bt_header_dendrite_version" => h.dendrite.version = v.parse().ok(),
                "bt_header_dendrite_nonce" => h.dendrite.nonce = v.parse().ok(),
                "bt_header_dendrite_uuid" => h.dendrite.uuid = Some(v.into()),
                "bt_header_dendrite_hotkey" => h.dendrite.hotkey = Some(v.into()),
                "bt_header_dendrite_signature" => h.dendrite.signature = Some(v.into()),
                "bt_header_axon_hotkey" => h.axon_hotkey = Some(v.into()),
                "computed_body_hash" => h.computed_body_hash = Some(v.into()),
                _ => {
                    if let Some(field) = k.strip_prefix("bt_header_input_obj_") {
                        h.input_obj.push(field.into());
                    }
                }
            }
        }
        h
    }
}

/// The message a dendrite signs.
pub fn signed_message(nonce: u64, dendrite_hotkey: &str, axon_hotkey: &str, uuid: &str, body_hash: &str) -> String {
    format!("{nonce}.{dendrite_hotkey}.{axon_hotkey}.{uuid}.{body_hash}")
}

/// How far behind the newest accepted nonce of a `(hotkey, uuid)` a nonce may arrive and
/// still be accepted once: concurrent requests of one dendrite reach the axon out of order.
const REORDER_WINDOW_NS: u64 = 2_000_000_000;
/// The most nonces remembered per `(hotkey, uuid)` inside that window; past it, the oldest is
/// forgotten and everything up to it refused.
const MAX_RECENT_NONCES: usize = 256;

/// The nonces accepted from one `(hotkey, uuid)`.
#[derive(Debug, Default)]
struct Seen {
    /// The newest.
    last: u64,
    /// Nonces at or below this are refused.
    floor: u64,
    /// Accepted nonces above the floor (each is accepted once).
    recent: std::collections::BTreeSet<u64>,
}

impl Seen {
    fn accepts(&self, nonce: u64) -> bool {
        nonce > self.floor.max(self.last.saturating_sub(REORDER_WINDOW_NS)) && !self.recent.contains(&nonce)
    }

    fn record(&mut self, nonce: u64) {
        self.last = self.last.max(nonce);
        self.floor = self.floor.max(self.last.saturating_sub(REORDER_WINDOW_NS));
        self.recent.insert(nonce);
        self.recent = self.recent.split_off(&(self.floor + 1));
        while self.recent.len() > MAX_RECENT_NONCES {
            self.floor = self.recent.pop_first().expect("not empty");
        }
    }
}

/// Checks signatures and nonces for one axon hotkey: Python's `default_verify`, with the
/// signature required, the table bounded, and one difference: a nonce at most 2 s older than
/// the newest accepted from its `(hotkey, uuid)` is accepted once (Python refuses anything not
/// newer, so concurrent requests of one dendrite that arrive out of order fail there). A
/// replay (the same nonce again) is refused either way.
#[derive(Debug)]
pub struct Verifier {
    /// The axon's own address: a request signed for another hotkey fails.
    pub hotkey: String,
    /// Accepted nonces per `"{hotkey}:{uuid}"`.
    nonces: HashMap<String, Seen>,
}

impl Verifier {
    pub fn new(hotkey: impl Into<String>) -> Self {
        Self { hotkey: hotkey.into(), nonces: HashMap::new() }
    }

    /// Verifies `head` at time `now_ns` (Unix nanoseconds) and records its nonce. Refusals
    /// are 401 with Python's messages.
    pub fn verify(&mut self, head: &RequestHead, now_ns: u64) -> Result<(), Rejection> {
        let fail = |why: String| Rejection::new(401, format!("Not Verified with error: {why}"));
        let d = &head.dendrite;
        let nonce = d.nonce.ok_or_else(|| fail("Missing Nonce".into()))?;
        let (Some(hotkey), Some(signature)) = (&d.hotkey, &d.signature) else {
            return Err(fail("Missing signature (a Sigil miner requires one)".into()));
        };
        let uuid = d.uuid.as_deref().unwrap_or("");
        let key = format!("{hotkey}:{uuid}");
        let window_ns = ALLOWED_DELTA_NS + (head.timeout.min(MAX_WINDOW_TIMEOUT_S) * 1e9) as u64;
        match self.nonces.get(&key) {
            Some(seen) if !seen.accepts(nonce) => return Err(fail("Nonce is too old, a newer one was last processed".into())),
            Some(_) => {}
            None => {
                if d.version.unwrap_or(0) >= NONCE_WINDOW_VERSION && nonce.saturating_add(window_ns) <= now_ns {
                    return Err(fail(format!(
                        "Nonce is too old: acceptable delta is {:.2} seconds but request was {:.2} seconds old",
                        window_ns as f64 / 1e9,
                        (now_ns - nonce) as f64 / 1e9
                    )));
                }
            }
        }
        let body_hash = head.computed_body_hash.as_deref().unwrap_or("");
        let message = signed_message(nonce, hotkey, &self.hotkey, uuid, body_hash);
        let sig = keys::hex_decode(signature.strip_prefix("0x").unwrap_or(signature));
        if !sig.is_some_and(|s| keys::verify(hotkey, message.as_bytes(), &s)) {
            return Err(fail(format!("Signature mismatch with {message} and {signature}")));
        }
        self.record(key, nonce, now_ns);
        Ok(())
    }

    fn record(&mut self, key: String, nonce: u64, now_ns: u64) {
        if self.nonces.len() >= MAX_NONCE_KEYS && !self.nonces.contains_key(&key) {
            // A dropped key's last nonce is outside every window: its replay is refused as
            // too old.
            let horizon = now_ns.saturating_sub(ALLOWED_DELTA_NS + (MAX_WINDOW_TIMEOUT_S * 1e9) as u64);
            self.nonces.retain(|_, s| s.last > horizon);
        }
        self.nonces.entry(key).or_default().record(nonce);
    }

    /// How many `(hotkey, uuid)` pairs are tracked.
    pub fn tracked(&self) -> usize {
        self.nonces.len()
    }
}

/// Now, in Unix nanoseconds.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// The response headers the Python axon sends (§2.7): the status in
/// `bt_header_axon_status_code` (which the dendrite reads first), the caller's values echoed.
pub fn response_headers(head: &RequestHead, axon: &TerminalInfo) -> Vec<(String, String)> {
    let mut h = vec![("name".to_string(), head.name.clone()), ("timeout".into(), head.timeout.to_string())];
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            h.push((k.to_string(), v));
        }
    };
    put("bt_header_axon_status_code", axon.status_code.map(|c| c.to_string()));
    put("bt_header_axon_status_message", axon.status_message.clone());
    put("bt_header_axon_process_time", axon.process_time.map(|t| t.to_string()));
    put("bt_header_axon_ip", axon.ip.clone());
    put("bt_header_axon_port", axon.port.map(|p| p.to_string()));
    put("bt_header_axon_hotkey", axon.hotkey.clone());
    let d = &head.dendrite;
    put("bt_header_dendrite_ip", d.ip.clone());
    put("bt_header_dendrite_version", d.version.map(|v| v.to_string()));
    put("bt_header_dendrite_nonce", d.nonce.map(|v| v.to_string()));
    put("bt_header_dendrite_uuid", d.uuid.clone());
    put("bt_header_dendrite_hotkey", d.hotkey.clone());
    put("bt_header_dendrite_signature", d.signature.clone());
    put("computed_body_hash", Some(EMPTY_BODY_HASH.into()));
    h
}

/// A synapse's body as the Python SDK lays it out: `name, timeout, total_size, header_size,
/// dendrite, axon, computed_body_hash`, then the message's fields.
pub fn synapse_body(name: &str, timeout: f64, dendrite: &TerminalInfo, axon: &TerminalInfo, fields: &Map<String, Value>) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), name.into());
    m.insert("timeout".into(), timeout.into());
    m.insert("total_size".into(), 0.into());
    m.insert("header_size".into(), 0.into());
    m.insert("dendrite".into(), serde_json::to_value(dendrite).expect("plain struct"));
    m.insert("axon".into(), serde_json::to_value(axon).expect("plain struct"));
    m.insert("computed_body_hash".into(), "".into());
    for (k, v) in fields {
        m.insert(k.clone(), v.clone());
    }
    Value::Object(m)
}

/// Where a request goes.
#[derive(Clone, Debug)]
pub struct Target {
    pub ip: String,
    pub port: u16,
    pub hotkey: String,
}

/// A signed request, ready to post to `http://{ip}:{port}/{name}`.
#[derive(Clone, Debug)]
pub struct SignedRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub nonce: u64,
}

/// A dendrite: one hotkey and one uuid per process (as Python's `Dendrite`), signing each
/// request with a fresh `time_ns` nonce (strictly increasing within the process).
#[derive(Debug)]
pub struct Dendrite {
    pub hotkey: Hotkey,
    pub uuid: String,
    pub ip: String,
    last_nonce: std::sync::atomic::AtomicU64,
}

impl Dendrite {
    pub fn new(hotkey: Hotkey, ip: impl Into<String>) -> Self {
        let r: u128 = rand::random();
        let b = r.to_be_bytes();
        let h = hex(&b);
        let uuid = format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]);
        Self { hotkey, uuid, ip: ip.into(), last_nonce: Default::default() }
    }

    fn nonce(&self) -> u64 {
        use std::sync::atomic::Ordering;
        let now = now_ns();
        let prev = self.last_nonce.fetch_max(now, Ordering::SeqCst);
        if prev >= now { self.last_nonce.fetch_add(1, Ordering::SeqCst) + 1 } else { now }
    }

    /// Builds the signed request of synapse `name` with `fields`; `required` names the fields
    /// the Python class requires (each gets its `bt_header_input_obj_*` header, §2.2).
    pub fn request(&self, target: &Target, name: &str, timeout: f64, fields: &Map<String, Value>, required: &[&str]) -> SignedRequest {
        self.request_with_nonce(self.nonce(), target, name, timeout, fields, required)
    }

    /// As [`Dendrite::request`] with a given nonce (tests send stale ones).
    pub fn request_with_nonce(&self, nonce: u64, target: &Target, name: &str, timeout: f64, fields: &Map<String, Value>, required: &[&str]) -> SignedRequest {
        let message = signed_message(nonce, self.hotkey.ss58(), &target.hotkey, &self.uuid, EMPTY_BODY_HASH);
        let signature = format!("0x{}", hex(&self.hotkey.sign(message.as_bytes())));
        let dendrite = TerminalInfo {
            ip: Some(self.ip.clone()),
            version: Some(DENDRITE_VERSION),
            nonce: Some(nonce),
            uuid: Some(self.uuid.clone()),
            hotkey: Some(self.hotkey.ss58().into()),
            signature: Some(signature.clone()),
            ..Default::default()
        };
        let axon = TerminalInfo { ip: Some(target.ip.clone()), port: Some(target.port), hotkey: Some(target.hotkey.clone()), ..Default::default() };
        let body = synapse_body(name, timeout, &dendrite, &axon, fields).to_string();
        let mut headers = vec![
            ("name".to_string(), name.to_string()),
            ("timeout".into(), format!("{timeout:?}")),
            ("bt_header_axon_ip".into(), target.ip.clone()),
            ("bt_header_axon_port".into(), target.port.to_string()),
            ("bt_header_axon_hotkey".into(), target.hotkey.clone()),
            ("bt_header_dendrite_ip".into(), self.ip.clone()),
            ("bt_header_dendrite_version".into(), DENDRITE_VERSION.to_string()),
            ("bt_header_dendrite_nonce".into(), nonce.to_string()),
            ("bt_header_dendrite_uuid".into(), self.uuid.clone()),
            ("bt_header_dendrite_hotkey".into(), self.hotkey.ss58().into()),
            ("bt_header_dendrite_signature".into(), signature),
        ];
        for f in required {
            // Base64 of the JSON of an empty value of the field's type: the axon only builds
            // a placeholder from it (§2.2). Our required fields are strings or objects.
            let empty = match fields.get(*f) {
                Some(Value::Object(_)) => "e30=",
                Some(Value::Number(_)) => "MA==",
                _ => "IiI=",
            };
            headers.push((format!("bt_header_input_obj_{f}"), empty.into()));
        }
        headers.push(("header_size".into(), "0".into()));
        headers.push(("total_size".into(), "0".into()));
        headers.push(("computed_body_hash".into(), EMPTY_BODY_HASH.into()));
        SignedRequest { url: format!("http://{}:{}/{name}", target.ip, target.port), headers, body, nonce }
    }
}

/// The outcome of a response as the Python dendrite reads it (§2.7): the status from
/// `bt_header_axon_status_code` (which wins) or the body's `axon.status_code`, the message
/// from `bt_header_axon_status_message` or the error body's `message`.
pub fn read_response(status_header: Option<&str>, message_header: Option<&str>, http_status: u16, body: &Value) -> (u16, String) {
    let status = status_header
        .and_then(|s| s.trim().parse::<u16>().ok())
        .or_else(|| body.pointer("/axon/status_code").and_then(Value::as_u64).map(|c| c as u16))
        .unwrap_or(http_status);
    let message = message_header
        .map(str::to_string)
        .or_else(|| body.get("message").and_then(Value::as_str).map(str::to_string))
        .or_else(|| body.pointer("/axon/status_message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    (status, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha3::{Digest, Sha3_256};

    /// A request a real bittensor 9.9.0 dendrite sent (`../shared/protocol/captures`).
    fn captured() -> (String, Vec<(String, String)>) {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/protocol/captures/captured_request_bt9.9.0.txt")).unwrap();
        let (head, _) = text.split_once("\r\n\r\n").or_else(|| text.split_once("\n\n")).unwrap();
        let mut lines = head.lines();
        let route = lines.next().unwrap().split(' ').nth(1).unwrap().trim_start_matches('/').to_string();
        let headers = lines.filter_map(|l| l.split_once(": ")).map(|(k, v)| (k.to_string(), v.trim().to_string())).collect();
        (route, headers)
    }

    fn head_of(route: &str, headers: &[(String, String)]) -> RequestHead {
        RequestHead::parse(route, headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    #[test]
    fn a_real_python_dendrite_request_verifies_and_its_replay_does_not() {
        let (route, headers) = captured();
        let head = head_of(&route, &headers);
        assert_eq!(head.name, "QueryZkProof");
        assert_eq!(head.dendrite.version, Some(9_009_000));
        let axon = head.axon_hotkey.clone().unwrap();
        let nonce = head.dendrite.nonce.unwrap();
        let mut v = Verifier::new(axon.clone());
        // Within the window (12 s timeout + 4 s), as the real axon received it.
        v.verify(&head, nonce + 1_000_000_000).unwrap();
        let replay = v.verify(&head, nonce + 2_000_000_000).unwrap_err();
        assert_eq!(replay, Rejection::new(401, "Not Verified with error: Nonce is too old, a newer one was last processed"));
        // The same request 30 s later, to a fresh axon: too old.
        let stale = Verifier::new(axon.clone()).verify(&head, nonce + 30_000_000_000).unwrap_err();
        assert_eq!(stale.message, "Not Verified with error: Nonce is too old: acceptable delta is 16.00 seconds but request was 30.00 seconds old");
        // Addressed to another hotkey: the axon rebuilds the message with its own, and fails.
        let other = Verifier::new(Hotkey::generate().ss58()).verify(&head, nonce + 1).unwrap_err();
        assert!(other.message.contains("Signature mismatch"), "{other:?}");
        // A header changed after signing (the body hash, the nonce) fails the signature.
        for (k, val) in [("computed_body_hash", "00"), ("bt_header_dendrite_nonce", "1795631662963129537")] {
            let mut h = headers.clone();
            h.iter_mut().find(|(n, _)| n == k).unwrap().1 = val.into();
            let e = Verifier::new(axon.clone()).verify(&head_of(&route, &h), nonce + 1).unwrap_err();
            assert_eq!(e.status, 401);
            assert!(e.message.contains("Signature mismatch"), "{e:?}");
        }
        // No signature, no nonce.
        let mut h = head.clone();
        h.dendrite.signature = None;
        assert_eq!(Verifier::new(axon.clone()).verify(&h, nonce).unwrap_err().status, 401);
        h.dendrite.nonce = None;
        assert_eq!(Verifier::new(axon).verify(&h, nonce).unwrap_err().message, "Not Verified with error: Missing Nonce");
    }

    #[test]
    fn out_of_order_nonces_are_accepted_once_within_the_window() {
        let d = Dendrite::new(Hotkey::generate(), "127.0.0.2");
        let miner = Hotkey::generate();
        let target = Target { ip: "127.0.0.1".into(), port: 1, hotkey: miner.ss58().into() };
        let at = |nonce: u64| d.request_with_nonce(nonce, &target, "QueryZkProof", 12.0, &Map::new(), &[]);
        let now = now_ns();
        let mut v = Verifier::new(miner.ss58());
        let head = |r: &SignedRequest| head_of("QueryZkProof", &r.headers);
        let (a, b, c) = (at(now), at(now + 1_000_000_000), at(now - 500_000_000));
        v.verify(&head(&b), now).unwrap();
        // Older than the newest, inside the window: once.
        v.verify(&head(&a), now).unwrap();
        assert!(v.verify(&head(&a), now).is_err());
        v.verify(&head(&c), now).unwrap();
        assert!(v.verify(&head(&c), now).is_err());
        // Past the window: refused.
        let old = at(now - 1);
        let newest = at(now + 2_000_000_000);
        v.verify(&head(&newest), now).unwrap();
        assert_eq!(v.verify(&head(&old), now).unwrap_err().message, "Not Verified with error: Nonce is too old, a newer one was last processed");
    }

    #[test]
    fn our_requests_verify_at_an_axon_and_carry_the_python_headers() {
        let d = Dendrite::new(Hotkey::generate(), "127.0.0.2");
        let miner = Hotkey::generate();
        let target = Target { ip: "127.0.0.1".into(), port: 8091, hotkey: miner.ss58().into() };
        let mut fields = Map::new();
        fields.insert("verification_key_hash".into(), "ab".into());
        fields.insert("inputs".into(), serde_json::json!({"input_data": [[1.0]]}));
        let r1 = d.request(&target, "ProofOfWeightsSynapse", 12.0, &fields, &["verification_key_hash", "inputs"]);
        let r2 = d.request(&target, "ProofOfWeightsSynapse", 12.0, &fields, &["verification_key_hash", "inputs"]);
        assert!(r2.nonce > r1.nonce);
        let mut v = Verifier::new(miner.ss58());
        for r in [&r1, &r2] {
            let head = head_of("ProofOfWeightsSynapse", &r.headers);
            assert_eq!(head.input_obj, ["verification_key_hash", "inputs"]);
            v.verify(&head, r.nonce + 1).unwrap();
        }
        assert!(r1.headers.contains(&("bt_header_input_obj_inputs".into(), "e30=".into())));
        let body: Value = serde_json::from_str(&r1.body).unwrap();
        assert_eq!(body["dendrite"]["hotkey"], d.hotkey.ss58());
        assert_eq!(body["axon"]["hotkey"], miner.ss58());
        assert_eq!(body["computed_body_hash"], "");
    }

    #[test]
    fn the_empty_body_hash_is_sha3_of_nothing() {
        assert_eq!(hex(&Sha3_256::digest(b"")), EMPTY_BODY_HASH);
    }

    #[test]
    fn statuses_are_read_as_the_python_dendrite_reads_them() {
        let body = serde_json::json!({"axon": {"status_code": 200, "status_message": "Success"}});
        assert_eq!(read_response(None, None, 200, &body), (200, "Success".into()));
        assert_eq!(read_response(Some("401"), None, 200, &serde_json::json!({"message": "no"})), (401, "no".into()));
        assert_eq!(read_response(None, None, 503, &Value::Null), (503, String::new()));
    }
}
