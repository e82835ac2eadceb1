//! The node on loopback: a miner's refusals (no proving work for them), a validator's checks
//! of answers, and a network with faulty miners that survives `kill -9` of its validator.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use sigil_node::axon::{Dendrite, Target, now_ns};
use sigil_node::circuits::Circuits;
use sigil_node::keys::Hotkey;
use sigil_node::metagraph::{Neuron, Snapshot, StaticMetagraph};
use sigil_node::miner::{Allow, Fault, Miner};
use sigil_node::store::Store;
use sigil_node::synapse::{Kind, ProofRequest};
use sigil_node::validator::{Config, FileWeights, Validator};

fn models() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models"))
}

/// dsperse-net, compiled once for every test here (no key cache: hermetic).
fn circuits() -> Arc<Circuits> {
    static C: OnceLock<Arc<Circuits>> = OnceLock::new();
    C.get_or_init(|| Arc::new(Circuits::load(&models(), &["dsperse-net".into()], true, None, |_| {}).unwrap())).clone()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sigil-net-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn start(miner: Miner) -> (Arc<Miner>, u16) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut miner = miner;
    miner.port = port;
    let m = Arc::new(miner);
    tokio::spawn(sigil_node::miner::serve(m.clone(), listener));
    (m, port)
}

async fn post(req: &sigil_node::axon::SignedRequest, edit: impl Fn(&str, &str) -> String) -> (u16, Value) {
    let mut rb = reqwest::Client::new().post(&req.url).body(req.body.clone()).header("content-type", "application/json");
    for (k, v) in &req.headers {
        rb = rb.header(k, edit(k, v));
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn validator(key: Hotkey, miner: &Neuron, db: &Path) -> Validator {
    let config = Config { timeout: Duration::from_secs(60), ..Config::default() };
    Validator::new(
        Dendrite::new(key, "127.0.0.1"),
        circuits(),
        Box::new(StaticMetagraph(vec![miner.clone()])),
        Store::open(db).unwrap(),
        Box::new(FileWeights { path: db.with_extension("weights.json") }),
        config,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_cost_no_proving_and_honest_ones_verify() {
    let vseed = [3u8; 32];
    let (vkey, stranger) = (Hotkey::from_seed(vseed), Hotkey::generate());
    let mkey = Hotkey::generate();
    let miner_ss58 = mkey.ss58().to_string();
    let allow = Allow::List([vkey.ss58().to_string()].into());
    let (miner, port) = start(Miner::new(mkey, circuits(), allow, 4, 1, Fault::None)).await;
    let target = Target { ip: "127.0.0.1".into(), port, hotkey: miner_ss58.clone() };
    let circuit = &circuits().list[0];
    let req = |nonce: &str| ProofRequest { kind: Kind::DSperseProofGeneration, circuit: circuit.id.clone(), input: circuit.fresh_input(1), nonce: Some(nonce.into()) };
    let class = Kind::DSperseProofGeneration.class();
    let d = Dendrite::new(Hotkey::from_seed(*b"sigil-node-test-validator-key-01"), "127.0.0.1");
    let same = |_: &str, v: &str| v.to_string();

    // An unknown hotkey: 403, before its signature is even looked at.
    let s = Dendrite::new(stranger, "127.0.0.1").request(&target, class, 12.0, &req("a").to_fields(), &[]);
    assert_eq!(post(&s, same).await.0, 403);
    // The allowed validator's key, but a signature by another key: 401.
    let allowed = Dendrite::new(vkey, "127.0.0.1");
    let signed = allowed.request(&target, class, 12.0, &req("b").to_fields(), &[]);
    let forged = d.request(&target, class, 12.0, &req("b").to_fields(), &[]);
    let forged_sig = forged.headers.iter().find(|(k, _)| k == "bt_header_dendrite_signature").unwrap().1.clone();
    let (status, body) = post(&signed, |k, v| if k == "bt_header_dendrite_signature" { forged_sig.clone() } else { v.to_string() }).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["message"].as_str().unwrap().contains("Signature mismatch"));
    // A nonce 30 s old from a fresh (hotkey, uuid): 401, too old.
    let stale = allowed.request_with_nonce(now_ns() - 30_000_000_000, &target, class, 12.0, &req("c").to_fields(), &[]);
    let (status, body) = post(&stale, same).await;
    assert_eq!(status, 401);
    assert!(body["message"].as_str().unwrap().contains("acceptable delta is 16.00 seconds"), "{body}");
    // The signed request itself: 200 with a proof; its replay: 401, not proved again.
    let (status, body) = post(&signed, same).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["axon"]["status_code"], 200);
    assert_eq!(body["context"], format!("sigil/request/1 nonce=b miner={miner_ss58}"));
    let (status, body) = post(&signed, same).await;
    assert_eq!(status, 401);
    assert!(body["message"].as_str().unwrap().contains("a newer one was last processed"));
    assert_eq!(miner.proofs_made(), 1);
    // Unknown circuit, another proof system: 400, named.
    let mut bad = req("d");
    bad.circuit = "no-such-circuit".into();
    let (status, body) = post(&allowed.request(&target, class, 12.0, &bad.to_fields(), &[]), same).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("unknown circuit"), "{body}");
    let mut fields = req("e").to_fields();
    fields.insert("proof_system".into(), "JSTPROVE".into());
    assert_eq!(post(&allowed.request(&target, class, 12.0, &fields, &[]), same).await.0, 400);
    // ProofOfWeightsSynapse without its required-field headers: 500, as the Python axon.
    let pow = ProofRequest { kind: Kind::ProofOfWeights, ..req("f") };
    assert_eq!(post(&allowed.request(&target, Kind::ProofOfWeights.class(), 12.0, &pow.to_fields(), &[]), same).await.0, 500);
    // A request whose caller stopped waiting before a prover was free is not proved.
    let late = miner.prove(req("g"), None, Some(Instant::now())).await.unwrap_err();
    assert_eq!(late.status, 408, "{late:?}");
    assert_eq!(miner.proofs_made(), 1, "no refused request was proved");

    // Through the validator, every message type verifies.
    let neuron = Neuron { uid: 1, hotkey: miner_ss58.clone(), ip: "127.0.0.1".into(), port, stake: 0.0, validator_permit: false };
    let dir = tmp("honest");
    for kind in Kind::ALL {
        let mut v = validator(Hotkey::from_seed(vseed), &neuron, &dir.join("v.db"));
        v.config.kind = kind;
        let r = v.query(&neuron, circuit).await;
        assert!(r.outcome.verified, "{kind:?}: {}", r.reason);
    }
    assert_eq!(miner.proofs_made(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_and_tampered_proofs_fail_at_the_validator() {
    let vkey = Hotkey::from_seed([9; 32]);
    for (fault, why) in [(Fault::Replay, "another request"), (Fault::Tamper, "does not verify"), (Fault::Garbage, "")] {
        let mkey = Hotkey::generate();
        let ss58 = mkey.ss58().to_string();
        let (_, port) = start(Miner::new(mkey, circuits(), Allow::List([vkey.ss58().to_string()].into()), 4, 1, fault)).await;
        let neuron = Neuron { uid: 1, hotkey: ss58, ip: "127.0.0.1".into(), port, stake: 0.0, validator_permit: false };
        let dir = tmp(&format!("{fault:?}"));
        let v = validator(Hotkey::from_seed([9; 32]), &neuron, &dir.join("v.db"));
        let first = v.query(&neuron, &circuits().list[0]).await;
        let second = v.query(&neuron, &circuits().list[0]).await;
        if fault == Fault::Replay {
            assert!(first.outcome.verified, "{}", first.reason);
        } else {
            assert!(!first.outcome.verified);
        }
        assert!(!second.outcome.verified);
        assert!(second.reason.contains(why), "{fault:?}: {}", second.reason);
        // A proof that failed is not recorded as seen (only verified proofs are): its hash is
        // still new to the store.
        if fault == Fault::Tamper {
            let hash = second.proof_hash.clone().expect("a tampered proof has a hash");
            assert!(v.store.lock().unwrap().first_sighting(&hash, 0.0).unwrap(), "a failed proof's hash was recorded as seen");
        }
    }
}

fn sigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sigil"))
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn try_show(db: &Path) -> Result<Value, String> {
    let out = sigil().args(["validator", "--show", "--min-samples", "1", "--db"]).arg(db).args(["--metagraph", "unused", "--models", "unused"]).output().unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

fn show(db: &Path) -> Value {
    try_show(db).unwrap()
}

/// The number of results stored, while a validator may still be creating the database.
fn results(db: &Path) -> u64 {
    try_show(db).ok().and_then(|v| v["results"].as_u64()).unwrap_or(0)
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(secs), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn faulty_miners_are_scored_below_the_honest_one_and_a_killed_validator_keeps_its_history() {
    let dir = tmp("faults");
    let cache = dir.join("cache");
    let keygen = |name: &str| {
        let path = dir.join(format!("{name}.json"));
        let out = sigil().args(["keygen", "--out"]).arg(&path).output().unwrap();
        assert!(out.status.success());
        (path, String::from_utf8(out.stdout).unwrap().trim().to_string())
    };
    let (vpath, vss58) = keygen("validator");
    let faults = ["none", "tamper", "garbage", "stall", "none"];
    let mut neurons = vec![Neuron { uid: 0, hotkey: vss58.clone(), ip: String::new(), port: 0, stake: 5000.0, validator_permit: true }];
    let mut miners = Vec::new();
    for (i, fault) in faults.iter().enumerate() {
        let (path, ss58) = keygen(&format!("miner{i}"));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = sigil()
            .args(["miner", "--models"])
            .arg(models())
            .args(["--circuit", "dsperse-net", "--fault", fault, "--port", &port.to_string(), "--allow", &vss58, "--hotkey-file"])
            .arg(&path)
            .arg("--cache-dir")
            .arg(&cache)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        miners.push(Kill(child));
        neurons.push(Neuron { uid: i as u16 + 1, hotkey: ss58, ip: "127.0.0.1".into(), port, stake: 0.0, validator_permit: false });
    }
    for n in &neurons[1..] {
        wait_for("the miners to listen", 300, || std::net::TcpStream::connect(("127.0.0.1", n.port)).is_ok());
    }
    let snapshot = dir.join("metagraph.json");
    std::fs::write(&snapshot, serde_json::to_string(&Snapshot { netuid: 2, neurons: neurons.clone() }).unwrap()).unwrap();
    let db = dir.join("validator.db");
    let run_validator = |rounds: Option<u64>| {
        let mut c = sigil();
        c.args(["validator", "--models"]).arg(models()).args(["--circuit", "dsperse-net", "--metagraph"]).arg(&snapshot);
        c.arg("--db").arg(&db).arg("--weights-file").arg(dir.join("weights.json")).arg("--hotkey-file").arg(&vpath).arg("--cache-dir").arg(&cache);
        c.args(["--interval", "0", "--timeout", "12", "--min-samples", "1", "--weights-every", "1"]);
        if let Some(r) = rounds {
            c.args(["--rounds", &r.to_string()]);
        }
        c.stdout(Stdio::null()).stderr(Stdio::null());
        c
    };
    // Rounds until every miner has an answer on record; then miner 5 dies mid-run (kill -9).
    let v = Kill(run_validator(None).spawn().unwrap());
    wait_for("a first round", 300, || db.exists() && results(&db) >= 5);
    drop(miners.pop());
    wait_for("rounds after the death", 300, || results(&db) >= 15);
    // kill -9 the validator mid-run: its history stays.
    let mut v = v;
    v.0.kill().unwrap();
    v.0.wait().unwrap();
    let before = show(&db);
    let n_before = before["results"].as_u64().unwrap();
    assert!(n_before >= 15);
    let scores_before = before["score_rows"].as_u64().unwrap();
    assert!(scores_before >= 5, "{before}");
    // A restart continues the same record.
    let status = run_validator(Some(1)).status().unwrap();
    assert!(status.success());
    let after = show(&db);
    assert!(after["results"].as_u64().unwrap() >= n_before + 5, "{after}");
    assert!(after["score_rows"].as_u64().unwrap() >= scores_before + 5, "{after}");
    let miners_of = |v: &Value| v["miners"].as_array().unwrap().iter().map(|m| (m["uid"].as_u64().unwrap(), m.clone())).collect::<std::collections::BTreeMap<_, _>>();
    let m = miners_of(&after);
    let weight = |uid: u64| m[&uid]["weight"].as_f64().unwrap();
    // The honest miner verified every time and holds the most weight; the forger (tampered
    // proofs), the garbage one and the staller verified nothing and hold none.
    assert_eq!(m[&1]["failed"], 0, "{after}");
    assert!(weight(1) > 0.5, "{after}");
    for uid in [2, 3, 4] {
        assert_eq!(m[&uid]["verified"], 0, "{after}");
        assert_eq!(weight(uid), 0.0, "{after}");
    }
    // The killed miner: its failures after death cost it (below the honest miner).
    assert!(m[&5]["failed"].as_u64().unwrap() >= 1, "{after}");
    assert!(weight(5) < weight(1), "{after}");
    let weights: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("weights.json")).unwrap()).unwrap();
    assert_eq!(weights["uids"].as_array().unwrap().len(), 5, "{weights}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn btlightning_carries_the_same_messages_and_refuses_strangers_at_the_handshake() {
    let vseed = [5u8; 32];
    let mkey = Hotkey::generate();
    let allow = Allow::List([Hotkey::from_seed(vseed).ss58().to_string()].into());
    let (miner, port) = start(Miner::new(mkey.clone(), circuits(), allow, 4, 1, Fault::None)).await;
    let (_server, qport) = sigil_node::lightning::serve(miner.clone(), "127.0.0.1", port, Duration::from_secs(60)).await.unwrap();
    assert_eq!(qport, port, "QUIC (UDP) takes the HTTP axon's port number");
    let neuron = Neuron { uid: 1, hotkey: mkey.ss58().into(), ip: "127.0.0.1".into(), port, stake: 0.0, validator_permit: false };
    let dir = tmp("quic");
    for kind in Kind::ALL {
        let mut v = validator(Hotkey::from_seed(vseed), &neuron, &dir.join("v.db"));
        v.config.kind = kind;
        v.quic = Some(sigil_node::lightning::Client::new(&v.dendrite.hotkey, std::slice::from_ref(&neuron), circuits().max_answer_bytes()).await.unwrap());
        let r = v.query(&neuron, &circuits().list[0]).await;
        assert!(r.outcome.verified, "{kind:?}: {}", r.reason);
    }
    assert_eq!(miner.proofs_made(), 3);
    // A hotkey off the allow-list does not get past the handshake: nothing is proved.
    let mut v = validator(Hotkey::generate(), &neuron, &dir.join("s.db"));
    v.quic = Some(sigil_node::lightning::Client::new(&v.dendrite.hotkey, std::slice::from_ref(&neuron), circuits().max_answer_bytes()).await.unwrap());
    let r = v.query(&neuron, &circuits().list[0]).await;
    assert!(!r.outcome.verified);
    assert!(r.reason.starts_with("quic:"), "{}", r.reason);
    // A message without a nonce is refused (QUIC has no signed header nonce to bind instead).
    let q = sigil_node::lightning::Client::new(&Hotkey::from_seed(vseed), std::slice::from_ref(&neuron), circuits().max_answer_bytes()).await.unwrap();
    let c = &circuits().list[0];
    let req = ProofRequest { kind: Kind::DSperseProofGeneration, circuit: c.id.clone(), input: c.fresh_input(2), nonce: None };
    let e = q.send(&neuron, req.kind, &req.to_fields(), Duration::from_secs(30)).await.unwrap_err();
    assert!(e.contains("nonce"), "{e}");
    assert_eq!(miner.proofs_made(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quic_answer_past_the_circuits_size_is_refused_before_it_is_parsed() {
    // A miner answering an 8 MiB proof file (16 MiB of hex): the validator's client takes
    // frames of the largest answer its circuits can take (about 1.4 MiB for dsperse-net), so
    // the transport refuses the frame as it arrives; nothing of it is parsed or stored.
    let vseed = [6u8; 32];
    let mkey = Hotkey::generate();
    let allow = Allow::List([Hotkey::from_seed(vseed).ss58().to_string()].into());
    let (miner, port) = start(Miner::new(mkey.clone(), circuits(), allow, 4, 1, Fault::Bloat)).await;
    let (_server, _) = sigil_node::lightning::serve(miner.clone(), "127.0.0.1", port, Duration::from_secs(60)).await.unwrap();
    let neuron = Neuron { uid: 1, hotkey: mkey.ss58().into(), ip: "127.0.0.1".into(), port, stake: 0.0, validator_permit: false };
    let cap = circuits().max_answer_bytes();
    assert!(cap < 4 << 20, "{cap}");
    let dir = tmp("quic-bloat");
    let mut v = validator(Hotkey::from_seed(vseed), &neuron, &dir.join("v.db"));
    v.quic = Some(sigil_node::lightning::Client::new(&v.dendrite.hotkey, std::slice::from_ref(&neuron), cap).await.unwrap());
    let r = v.query(&neuron, &circuits().list[0]).await;
    assert!(!r.outcome.verified);
    assert!(r.reason.starts_with("quic:"), "refused by the transport, not by the size check after parsing: {}", r.reason);
    assert_eq!(r.proof_hash, None, "{}", r.reason);
    assert_eq!(miner.proofs_made(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proving_keys_in_memory_stay_within_the_budget() {
    // Two circuits, a budget that holds only the larger key: proving one drops the other,
    // which is read back from the key cache when asked for again; every proof verifies.
    let dir = tmp("budget");
    let names = ["dsperse-net".to_string(), "sn2-reward-factor-v0".to_string()];
    let probe = Circuits::load(&models(), &names, true, Some(dir.join("cache")), |_| {}).unwrap();
    let budget = probe.list.iter().map(|c| c.key_bytes).max().unwrap();
    assert!(probe.list.iter().all(|c| c.key_bytes > 0));
    let circuits = Arc::new(Circuits::load_bounded(&models(), &names, true, Some(dir.join("cache")), budget, |_| {}).unwrap());
    assert_eq!(circuits.held().len(), 1, "one key fits");
    let vkey = Hotkey::generate();
    let mkey = Hotkey::generate();
    let (miner, port) = start(Miner::new(mkey.clone(), circuits.clone(), Allow::List([vkey.ss58().to_string()].into()), 4, 1, Fault::None)).await;
    let neuron = Neuron { uid: 1, hotkey: mkey.ss58().into(), ip: "127.0.0.1".into(), port, stake: 0.0, validator_permit: false };
    let v = validator(vkey, &neuron, &dir.join("v.db"));
    for c in [0, 1, 0] {
        let circuit = &circuits.list[c];
        let r = v.query(&neuron, circuit).await;
        assert!(r.outcome.verified, "{}: {}", circuit.name, r.reason);
        assert_eq!(circuits.held(), std::slice::from_ref(&circuit.id), "only the key just used is held");
    }
    assert_eq!(miner.proofs_made(), 3);
    // A budget under a key: that circuit is refused at once, as out of memory.
    let tight = Circuits::load_bounded(&models(), &names[..1], true, Some(dir.join("cache")), 1 << 20, |_| {}).unwrap();
    assert!(tight.held().is_empty());
    let e = tight.prover(&tight.list[0]).unwrap_err();
    assert!(e.contains("not enough memory"), "{e}");
}

/// A copy of dsperse-net's folder in `dir` with one weight changed by about 6% (mantissa bit 20
/// of a weight tensor's first float flipped): the same architecture, another circuit.
fn net_with_a_changed_weight(dir: &Path) {
    let path = models().join("dsperse-net/model.onnx");
    let mut bytes = std::fs::read(&path).unwrap();
    let model = sigil_onnx::load_model(&path).unwrap();
    let floats = model
        .graph
        .initializers
        .values()
        .find_map(|t| match &t.data {
            sigil_onnx::TensorData::F32(v) if v.len() >= 16 => Some(v[..4].to_vec()),
            _ => None,
        })
        .unwrap();
    let pattern: Vec<u8> = floats.iter().flat_map(|f| f.to_le_bytes()).collect();
    let at = bytes.windows(pattern.len()).position(|w| w == pattern.as_slice()).unwrap();
    bytes[at + 2] ^= 0x10;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("model.onnx"), &bytes).unwrap();
    std::fs::copy(models().join("dsperse-net/input.json"), dir.join("input.json")).unwrap();
}

/// The tags of the keys a cache directory holds (its `keys/<tag>.id` files).
fn cached_tags(cache: &Path) -> Vec<String> {
    let mut tags: Vec<String> = std::fs::read_dir(cache.join("keys"))
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".id").map(str::to_string)).collect())
        .unwrap_or_default();
    tags.sort();
    tags
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_circuit_id_in_the_key_cache_makes_no_verifier_accept_another_models_proof() {
    use sigil_onnx::circuit::{CompileOptions, CompiledModel, ModelProof, hex};
    // Model A (dsperse-net) and model B (A with one weight changed); one key cache, written by
    // compiling both, whose writer (not the verifier: it cannot read the cache's key, kept
    // outside the cache) then rewrites A's circuit id file with B's id and A's proving key
    // with B's, each with a check computed as it can: unkeyed (the format before the key), or
    // keyed with a guess. Every verifier must still derive A's own id, so B's proofs are
    // refused: in process, by `sigil verify`, by `sigil query` and by a validator.
    let dir = tmp("forged-cache");
    let (a_dir, b_dir) = (dir.join("a/dsperse-net"), dir.join("b/dsperse-net"));
    std::fs::create_dir_all(&a_dir).unwrap();
    for f in ["model.onnx", "input.json"] {
        std::fs::copy(models().join("dsperse-net").join(f), a_dir.join(f)).unwrap();
    }
    net_with_a_changed_weight(&b_dir);
    let (cache, config) = (dir.join("cache"), dir.join("config"));
    let opts = CompileOptions { cache_dir: Some(cache.clone()), cache_key_file: Some(config.join("cache.key")), ..CompileOptions::default() };
    let a = CompiledModel::compile(a_dir.join("model.onnx"), &opts).unwrap();
    let tag_a = cached_tags(&cache).pop().unwrap();
    let b = CompiledModel::compile(b_dir.join("model.onnx"), &opts).unwrap();
    let tag_b = cached_tags(&cache).into_iter().find(|t| *t != tag_a).unwrap();
    assert_ne!(a.circuit_id(), b.circuit_id());
    let keys = cache.join("keys");
    let id_b = b.circuit_id();
    let tag: [u8; 32] = sigil_node::keys::hex_decode(&tag_a).unwrap().try_into().unwrap();
    let unkeyed = *blake3::Hasher::new().update(b"sigil circuit id 1").update(&tag).update(&id_b).finalize().as_bytes();
    let guessed = *blake3::Hasher::new_keyed(&[0; 32]).update(b"sigil circuit id 2").update(&tag).update(&id_b).finalize().as_bytes();
    // B's proving key under A's tag, its trailing hash recomputed both ways.
    let pk_b = std::fs::read(keys.join(format!("{tag_b}.pk"))).unwrap();
    let mut pk_forged = pk_b[..pk_b.len() - 32].to_vec();
    pk_forged[8..40].copy_from_slice(&tag);
    let pk_unkeyed = [pk_forged.clone(), blake3::hash(&pk_forged).as_bytes().to_vec()].concat();
    let pk_guessed = [pk_forged.clone(), blake3::keyed_hash(&[0; 32], &pk_forged).as_bytes().to_vec()].concat();
    let proof_b = dir.join("b.proof");
    let input = b.read_input(b_dir.join("input.json")).unwrap();
    let p = b.prove(&input).unwrap();
    std::fs::write(&proof_b, ModelProof { circuit_id: id_b, statement: p.statement.clone(), context: vec![], proof: p.proof.clone() }.to_bytes()).unwrap();

    let vseed = [9u8; 32];
    let vkey_file = dir.join("validator.json");
    Hotkey::from_seed(vseed).save(&vkey_file).unwrap();
    let mkey = Hotkey::generate();
    let b_circuits = Arc::new(Circuits::load(&dir.join("b"), &[], true, None, |_| {}).unwrap());
    let (miner, port) = start(Miner::new(mkey.clone(), b_circuits, Allow::List([Hotkey::from_seed(vseed).ss58().to_string()].into()), 4, 1, Fault::None)).await;
    let neuron = Neuron { uid: 1, hotkey: mkey.ss58().into(), ip: "127.0.0.1".into(), port, stake: 0.0, validator_permit: false };

    for (id_check, pk) in [(unkeyed, &pk_unkeyed), (guessed, &pk_guessed)] {
        std::fs::write(keys.join(format!("{tag_a}.id")), [id_b.as_slice(), &id_check].concat()).unwrap();
        std::fs::write(keys.join(format!("{tag_a}.pk")), pk).unwrap();
        // In process: the verifier's id and the prover's are A's own.
        let v = CompiledModel::compile_for_verifying(a_dir.join("model.onnx"), &opts).unwrap();
        assert_eq!(hex(&v.circuit_id()), hex(&a.circuit_id()));
        assert!(v.verify(&p.statement, &p.proof).is_err());
        let prover = CompiledModel::compile(a_dir.join("model.onnx"), &opts).unwrap();
        assert_eq!(hex(&prover.circuit_id()), hex(&a.circuit_id()));
        // `sigil verify`, reading the same cache: refused (exit 1), B's output never printed.
        let cli = |args: Vec<std::ffi::OsString>| {
            let (cache, config) = (cache.clone(), config.clone());
            tokio::task::spawn_blocking(move || sigil().args(args).env("SIGIL_CACHE_DIR", &cache).env("SIGIL_CONFIG_DIR", &config).output().unwrap())
        };
        let out = cli(vec!["verify".into(), "--model".into(), a_dir.join("model.onnx").into(), "--proof".into(), proof_b.clone().into()]).await.unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
        // `sigil query` against the miner serving B: not verified (exit 1).
        let out = cli(vec![
            "query".into(), "--models".into(), dir.join("a").into(), "--axon".into(), format!("127.0.0.1:{port}").into(),
            "--axon-hotkey".into(), mkey.ss58().into(), "--hotkey-file".into(), vkey_file.clone().into(), "--timeout".into(), "30".into(),
        ])
        .await
        .unwrap();
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        assert_eq!(answer["verified"], false, "{answer} {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(answer["circuit_id"], hex(&a.circuit_id()), "{answer}");
        assert_eq!(out.status.code(), Some(1));
        // A validator loading its circuits from the cache.
        let circuits = Arc::new(Circuits::load_with_options(&dir.join("a"), &[], false, opts.clone(), usize::MAX, |_| {}).unwrap());
        assert_eq!(circuits.list[0].id, hex(&a.circuit_id()));
        let v = Validator::new(
            Dendrite::new(Hotkey::from_seed(vseed), "127.0.0.1"),
            circuits.clone(),
            Box::new(StaticMetagraph(vec![neuron.clone()])),
            Store::open(dir.join("v.db")).unwrap(),
            Box::new(FileWeights { path: dir.join("w.json") }),
            Config { timeout: Duration::from_secs(60), ..Config::default() },
        );
        let r = v.query(&neuron, &circuits.list[0]).await;
        assert!(!r.outcome.verified);
        assert!(r.reason.contains("unknown circuit") && r.reason.contains("this validator's is"), "{}", r.reason);
    }
    assert_eq!(miner.proofs_made(), 0, "the miner serving B was never asked for A's circuit");
}
