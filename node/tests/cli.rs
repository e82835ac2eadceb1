//! The `sigil` binary: exit codes and output.

use std::process::Command;

/// The test process's key cache, away from the user's: under the build's own temporary
/// directory (`cargo clean` takes it), not the system's, where every run would leave one.
fn cache_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sigil-cli-cache-{}", std::process::id()))
}

fn sigil(args: &[&str]) -> (i32, String, String) {
    sigil_env(args, &[])
}

/// The test process's configuration directory (the key cache's secret), away from the user's
/// and outside the cache.
fn config_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sigil-cli-config-{}", std::process::id()))
}

/// `sigil` with `envs` set too.
fn sigil_env(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sigil"))
        .args(args)
        .env("SIGIL_CACHE_DIR", cache_dir())
        .env("SIGIL_CONFIG_DIR", config_dir())
        .envs(envs.iter().copied())
        .output()
        .expect("run sigil");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn demo_proves_and_verifies() {
    let dir = std::env::temp_dir().join(format!("sigil-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let proof = dir.join("mac.proof");
    let p = proof.to_str().unwrap();
    // The default options verify under the default policy (100 conjectured bits).
    let (code, out, err) = sigil(&["demo", "--example", "mac", "--log-rows", "8", "--out", p]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("verified"), "{out}");
    assert!(err.contains("100 conjectured bits"), "{err}");
    let (code, out, err) = sigil(&["verify-demo", "--example", "mac", "--log-rows", "8", p]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("verified"), "{out}");
    // The proof is for its circuit only: another size or other parameters are another id.
    let (code, _, err) = sigil(&["verify-demo", "--example", "mac", "--log-rows", "9", p]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("another circuit"), "{err}");
    // Weaker options verify only under a policy that asks for no more.
    let (code, out, err) = sigil(&["demo", "--example", "mac", "--log-rows", "8", "--grinding", "4", "--out", p]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("conjectured security 88 bits is below the required 100"), "{err}");
    let (code, out, err) =
        sigil(&["demo", "--example", "mac", "--log-rows", "8", "--grinding", "4", "--min-security", "88", "--out", p]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("verified"), "{out}");
    let (code, _, err) = sigil(&["verify-demo", "--example", "mac", "--log-rows", "8", "--grinding", "4", p]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("below the required"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn demo_proves_a_freivalds_layer() {
    let (code, out, err) = sigil(&["demo", "--example", "vecmat", "--log-rows", "5"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("verified"), "{out}");
    assert!(err.contains("circuit `vecmat`: 4 tables"), "{err}");
}

#[test]
fn demo_proves_a_quantized_perceptron() {
    let (code, out, err) = sigil(&["demo", "--example", "mlp"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("verified"), "{out}");
    assert!(err.contains("circuit `mlp`: 6 tables"), "{err}");
}

#[test]
fn inspect_lists_a_corpus_model() {
    let m = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/dsperse-net/model.onnx");
    let (code, out, err) = sigil(&["inspect", m]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("12 nodes, 62006 parameters"), "{out}");
    assert!(out.contains("input  input FLOAT [batch_size, 3, 32, 32]"), "{out}");
    let i = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/dsperse-net/input.json");
    let (code, out, err) = sigil(&["inspect", m, "--input", i]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 inputs, 3072 values, match the model"), "{out}");
    let bad = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/sn27-pow-reward/input.json");
    let (code, _, err) = sigil(&["inspect", m, "--input", bad]);
    assert_eq!(code, 2);
    assert!(err.contains("has 19 lists but the model has 1 inputs"), "{err}");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    for args in [
        vec!["inspect", "/nonexistent.onnx"],
        vec!["inspect", "/etc/hostname"],
        vec!["inspect"],
        vec!["frobnicate"],
        vec!["demo", "--example", "nope"],
        vec!["demo", "--log-rows", "x"],
        // Past u16: refused, not truncated to 1 query.
        vec!["demo", "--queries", "65537"],
        // Past the largest table and past the protocol's ranges: refused by name.
        vec!["demo", "--log-rows", "23"],
        vec!["demo", "--queries", "600"],
    ] {
        let (code, _, err) = sigil(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
}

#[test]
fn help_explains_the_commands() {
    let (code, out, _) = sigil(&["--help"]);
    assert_eq!(code, 0);
    for cmd in ["compile", "prove", "verify", "demo", "inspect", "run", "verify-demo", "LayerNormalization", "Xor"] {
        assert!(out.contains(cmd), "{out}");
    }
    for sub in ["run", "prove", "compile"] {
        let (code, out, _) = sigil(&[sub, "--help"]);
        assert_eq!(code, 0);
        for flag in ["--calibration", "--param-bits", "--frac-bits"] {
            assert!(out.contains(flag), "{sub}: {out}");
        }
    }
}

#[test]
fn run_executes_a_corpus_model() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/dsperse-net");
    let (code, out, err) = sigil(&["run", &format!("{dir}/model.onnx"), "--input", &format!("{dir}/input.json")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("{\"output_data\":[["), "{out}");
    // A calibration file with two samples (the input, then the input doubled) widens the
    // ranges that inspect lists, and leaves the outputs alone.
    let input: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(format!("{dir}/input.json")).unwrap()).unwrap();
    let mut flat = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<f64>) {
        match v {
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            x => out.push(x.as_f64().unwrap()),
        }
    }
    walk(&input["input_data"][0], &mut flat);
    let two: Vec<f64> = flat.iter().copied().chain(flat.iter().map(|v| v * 2.0)).collect();
    let cal = std::env::temp_dir().join(format!("sigil-cal2-{}.json", std::process::id()));
    std::fs::write(&cal, serde_json::json!({ "input_data": [two] }).to_string()).unwrap();
    let (code, out2, err) = sigil(&["run", &format!("{dir}/model.onnx"), "--input", &format!("{dir}/input.json"), "--calibration", cal.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out2, out);
    let bits = |text: &str| -> u32 { text.lines().find(|l| l.starts_with("  input (input)")).and_then(|l| l.split(" bits seen").next()).and_then(|p| p.rsplit(' ').next()).and_then(|b| b.parse().ok()).unwrap() };
    let (_, plain, _) = sigil(&["inspect", &format!("{dir}/model.onnx"), "--input", &format!("{dir}/input.json")]);
    let (_, wide, _) = sigil(&["inspect", &format!("{dir}/model.onnx"), "--input", &format!("{dir}/input.json"), "--calibration", cal.to_str().unwrap()]);
    assert_eq!(bits(&wide), bits(&plain) + 1, "{plain}\n{wide}");
    std::fs::remove_file(&cal).ok();
    let lstm = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/lstm-benchmark");
    let (code, out, err) = sigil(&["run", &format!("{lstm}/model.onnx"), "--input", &format!("{lstm}/input.json"), "--frac-bits", "14", "--param-bits", "12"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("lowered and executed in") && err.contains("14 fractional bits"), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // onnxruntime: -0.1862019 (onnx-frontend/tests/reference/lstm-benchmark.json).
    let got = v["output_data"][0][0].as_f64().unwrap();
    assert!((got + 0.1862019).abs() < 2e-3, "{got}");
}

#[test]
fn run_names_an_unsupported_operator() {
    // dsperse-net with every `Relu` renamed `Selu` (same length: the protobuf stays valid).
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/dsperse-net");
    let mut bytes = std::fs::read(format!("{dir}/model.onnx")).unwrap();
    let mut hits = 0;
    for i in 0..bytes.len().saturating_sub(3) {
        if &bytes[i..i + 4] == b"Relu" {
            bytes[i] = b'S';
            bytes[i + 1] = b'e';
            hits += 1;
        }
    }
    assert!(hits > 0);
    let tmp = std::env::temp_dir().join(format!("sigil-selu-{}.onnx", std::process::id()));
    std::fs::write(&tmp, &bytes).unwrap();
    let (code, _, err) = sigil(&["run", tmp.to_str().unwrap(), "--input", &format!("{dir}/input.json")]);
    assert_eq!(code, 2);
    assert!(err.contains("operator Selu (opset") && err.contains("is not supported yet"), "{err}");
    let (code, out, _) = sigil(&["inspect", tmp.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("not executed yet: Selu") && out.contains("not provable"), "{out}");
    std::fs::remove_file(&tmp).ok();
}

#[test]
fn inspect_lists_the_quantization() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/age-ssrnet-competition1");
    let (code, out, err) = sigil(&["inspect", &format!("{dir}/model.onnx"), "--input", &format!("{dir}/input.json")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("every operator is executed") && out.contains("provable: every node is proved"), "{out}");
    assert!(out.contains("8 BatchNormalization folded into Conv/Gemm"), "{out}");
    assert!(out.contains("weights with their own scale") && out.contains("range"), "{out}");
    // Without an input: scales and shapes from an all-zero (or all-one) input, no ranges.
    let (code, out, err) = sigil(&["inspect", &format!("{dir}/model.onnx")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("weights with their own scale") && out.contains("give an input for the calibrated ranges"), "{out}");
    assert!(!out.contains("bits seen"), "{out}");
    // A model that divides by an input falls back to an all-one input.
    let sn48 = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/sn48-pow-reward/model.onnx");
    let (code, out, err) = sigil(&["inspect", sn48]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("plan: activations with 16 fractional bits"), "{out}");
    // A calibration file that does not fit the model is a one-line error.
    let (code, _, err) = sigil(&["inspect", &format!("{dir}/model.onnx"), "--input", &format!("{dir}/input.json"), "--calibration", "/nonexistent.json"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: /nonexistent.json"), "{err}");
}

#[test]
fn run_rejects_bad_models_and_inputs_with_one_line() {
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models");
    let net = format!("{corpus}/dsperse-net/model.onnx");
    let net_in = format!("{corpus}/dsperse-net/input.json");
    let tmp = std::env::temp_dir().join(format!("sigil-bad-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let file = |name: &str, bytes: &[u8]| -> String {
        let p = tmp.join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    };
    let model = std::fs::read(&net).unwrap();
    let empty = file("empty.onnx", b"");
    let truncated = file("truncated.onnx", &model[..model.len() / 2]);
    let random = file("random.onnx", &(0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect::<Vec<_>>());
    let values = |v: &str| format!("{{\"input_data\": [[{}]]}}", vec![v; 3072].join(","));
    let short = file("short.json", b"{\"input_data\": [[1.0, 2.0]]}");
    let text = file("text.json", values("\"a\"").as_bytes());
    let nan = file("nan.json", values("NaN").as_bytes());
    let inf = file("inf.json", values("1e999").as_bytes());
    let huge = file("huge.json", values("1e30").as_bytes());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run", &empty, "--input", &net_in], "the file is empty"),
        (vec!["run", &truncated, "--input", &net_in], "not an ONNX model"),
        (vec!["run", &random, "--input", &net_in], "not an ONNX model"),
        (vec!["run", &net, "--input", &short], "2 values, but its shape [1, 3, 32, 32] holds 3072"),
        (vec!["run", &net, "--input", &text], "neither a number nor a boolean"),
        (vec!["run", &net, "--input", &nan], "not valid JSON"),
        (vec!["run", &net, "--input", &inf], "not valid JSON"),
        (vec!["run", &net, "--input", &huge], "input `input`: value 1000000000000000000000000000000 does not fit 60 bits"),
        (vec!["run", &net], "required arguments were not provided: --input <INPUT>"),
        (vec!["run", &net, "--input", &net_in, "--frac-bits", "40"], "40 is not in 1..=24"),
        (vec!["run", &net, "--input", &net_in, "--param-bits", "x"], "invalid digit found in string"),
    ];
    for (args, want) in cases {
        let (code, out, err) = sigil(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        // Progress lines may come first; the error is one line, the last.
        let last = err.trim().lines().last().unwrap_or_default();
        assert_eq!(err.lines().filter(|l| l.starts_with("error: ")).count(), 1, "{args:?}: {err}");
        assert!(last.starts_with("error: ") && last.contains(want), "{args:?}: {err}");
    }
    std::fs::remove_dir_all(&tmp).ok();
}

#[test]
fn prove_and_verify_a_corpus_model() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/dsperse-net");
    let (model, input) = (format!("{dir}/model.onnx"), format!("{dir}/input.json"));
    let tmp = std::env::temp_dir().join(format!("sigil-prove-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let path = |n: &str| tmp.join(n).to_str().unwrap().to_string();
    let (proof, output) = (path("net.proof"), path("net.out.json"));
    let (code, out, err) = sigil(&["prove", &model, "--input", &input, "--proof", &proof, "--output", &output, "--json"]);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(j["proof_bytes"].as_u64().unwrap() > 0 && j["conjectured_bits"].as_u64().unwrap() >= 100, "{out}");
    // The proved output is `sigil run`'s.
    let (_, run, _) = sigil(&["run", &model, "--input", &input]);
    let ran: serde_json::Value = serde_json::from_str(&run).unwrap();
    assert_eq!(j["output_data"], ran["output_data"]);
    // Valid, with and without the statement checks.
    let (code, out, err) = sigil(&["verify", "--model", &model, "--proof", &proof, "--input", &input, "--output", &output, "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"valid\":true"), "{out}");
    let id = j["circuit_id"].as_str().unwrap();
    let (code, _, err) = sigil(&["verify", "--model", &model, "--proof", &proof, "--circuit-id", id]);
    assert_eq!(code, 0, "{err}");
    // Another claimed output, another input, an edited proof, a truncated proof: exit 1.
    std::fs::write(path("other.json"), "{\"output_data\": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]}").unwrap();
    let (code, _, err) = sigil(&["verify", "--model", &model, "--proof", &proof, "--output", &path("other.json")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("another output"), "{err}");
    let other_input = format!("{}/../dsperse-net/input.json", dir);
    let mut x: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&other_input).unwrap()).unwrap();
    x["input_data"][0][0] = serde_json::json!(0.5);
    std::fs::write(path("in2.json"), x.to_string()).unwrap();
    let (code, _, err) = sigil(&["verify", "--model", &model, "--proof", &proof, "--input", &path("in2.json")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("another input"), "{err}");
    let mut bytes = std::fs::read(&proof).unwrap();
    let n = bytes.len();
    bytes[n - 100] ^= 1;
    std::fs::write(path("edited.proof"), &bytes).unwrap();
    let (code, _, err) = sigil(&["verify", "--model", &model, "--proof", &path("edited.proof")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("proof rejected"), "{err}");
    std::fs::write(path("short.proof"), &bytes[..n - 1]).unwrap();
    let (code, _, err) = sigil(&["verify", "--model", &model, "--proof", &path("short.proof")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("for a proof of"), "{err}");
    // A proof made in a context verifies in it only, and names it.
    let ctx = "sigil/request/1 nonce=42 miner=5DoHMxBAWs1xSc1JJyZ8zanuUxMWSShgvKTQ8uCiDSr5doBv";
    let (code, _, err) = sigil(&["prove", &model, "--input", &input, "--proof", &path("ctx.proof"), "--context", ctx]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = sigil(&["verify", "--model", &model, "--proof", &path("ctx.proof"), "--context", ctx]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("context: {ctx}")), "{out}");
    let (code, _, err) = sigil(&["verify", "--model", &model, "--proof", &path("ctx.proof"), "--context", "sigil/request/1 nonce=43"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("made in the context"), "{err}");
    // The context's bytes edited in the file (its length kept): the transcript differs.
    let mut bytes = std::fs::read(path("ctx.proof")).unwrap();
    let at = bytes.windows(8).position(|w| w == b"nonce=42").unwrap() + 6;
    bytes[at] = b'3';
    std::fs::write(path("ctx-edited.proof"), &bytes).unwrap();
    let (code, _, err) = sigil(&["verify", "--model", &model, "--proof", &path("ctx-edited.proof")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("proof rejected"), "{err}");
    // A wrong expected id is bad usage; an unreadable proof file too.
    let (code, _, _) = sigil(&["verify", "--model", &model, "--proof", &proof, "--circuit-id", "00"]);
    assert_eq!(code, 2);
    let (code, _, _) = sigil(&["verify", "--model", &model, "--proof", "/nonexistent.proof"]);
    assert_eq!(code, 2);
    // An input past the compiled ranges is refused before proving, naming the node.
    x["input_data"][0][0] = serde_json::json!(1.0e6);
    std::fs::write(path("far.json"), x.to_string()).unwrap();
    let (code, _, err) = sigil(&["prove", &model, "--input", &path("far.json"), "--proof", &path("far.proof")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("node `") && err.contains("above its range"), "{err}");
    std::fs::remove_dir_all(&tmp).ok();
}

#[test]
fn a_compiled_artifact_stands_for_its_model() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/sn2-reward-sim");
    let (model, input) = (format!("{dir}/model.onnx"), format!("{dir}/input.json"));
    let tmp = std::env::temp_dir().join(format!("sigil-artifact-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let path = |n: &str| tmp.join(n).to_str().unwrap().to_string();
    let (code, out, err) = sigil(&["compile", &model, "--out", &path("sim.sigil"), "--json"]);
    assert_eq!(code, 0, "{err}");
    let c: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (code, out, err) = sigil(&["prove", &path("sim.sigil"), "--input", &input, "--proof", &path("sim.proof"), "--json"]);
    assert_eq!(code, 0, "{err}");
    let p: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(p["circuit_id"], c["circuit_id"]);
    // The artifact and the model verify the same proof.
    for m in [path("sim.sigil"), model.clone()] {
        let (code, _, err) = sigil(&["verify", "--model", &m, "--proof", &path("sim.proof")]);
        assert_eq!(code, 0, "{m}: {err}");
    }
    // An artifact whose recorded id the compilation does not reproduce is refused.
    let text = std::fs::read_to_string(path("sim.sigil")).unwrap();
    let id = c["circuit_id"].as_str().unwrap();
    std::fs::write(path("bad.sigil"), text.replace(id, &"0".repeat(64))).unwrap();
    let (code, _, err) = sigil(&["prove", &path("bad.sigil"), "--input", &input, "--proof", &path("x.proof")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not the recorded"), "{err}");
    std::fs::remove_dir_all(&tmp).ok();
}

#[test]
fn the_sample_input_is_part_of_the_circuit_and_an_artifact_says_so() {
    // A copy of sn2-reward-sim's folder: compiled with its sample, then with another sample
    // (and none): other circuit ids, and the artifact names the calibration as the reason.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/sn2-reward-sim");
    let tmp = std::env::temp_dir().join(format!("sigil-sample-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let path = |n: &str| tmp.join(n).to_str().unwrap().to_string();
    std::fs::copy(format!("{dir}/model.onnx"), path("model.onnx")).unwrap();
    let sample = std::fs::read_to_string(format!("{dir}/input.json")).unwrap();
    std::fs::write(path("input.json"), &sample).unwrap();
    let (code, out, err) = sigil(&["compile", &path("model.onnx"), "--out", &path("sim.sigil"), "--json"]);
    assert_eq!(code, 0, "{err}");
    let first: serde_json::Value = serde_json::from_str(&out).unwrap();
    let artifact: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path("sim.sigil")).unwrap()).unwrap();
    assert_eq!(artifact["calibration_blake3"].as_str().map(str::len), Some(64), "{artifact}");
    // Another sample: every value doubled.
    let mut v: serde_json::Value = serde_json::from_str(&sample).unwrap();
    for list in v["input_data"].as_array_mut().unwrap() {
        for x in list.as_array_mut().unwrap() {
            *x = serde_json::json!(x.as_f64().unwrap() * 2.0 + 1.0);
        }
    }
    std::fs::write(path("input.json"), v.to_string()).unwrap();
    let (code, out, err) = sigil(&["compile", &path("model.onnx"), "--json"]);
    assert_eq!(code, 0, "{err}");
    let second: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_ne!(first["circuit_id"], second["circuit_id"]);
    let (code, _, err) = sigil(&["verify", "--model", &path("sim.sigil"), "--proof", &path("none.proof")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("calibrates on other inputs") && err.contains("input.json"), "{err}");
    // No sample at all: yet another circuit.
    std::fs::remove_file(path("input.json")).unwrap();
    let (code, out, err) = sigil(&["compile", &path("model.onnx"), "--json"]);
    assert_eq!(code, 0, "{err}");
    let third: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_ne!(third["circuit_id"], first["circuit_id"]);
    assert_ne!(third["circuit_id"], second["circuit_id"]);
    std::fs::remove_dir_all(&tmp).ok();
}

#[test]
fn prove_caches_the_key_and_proves_the_same_bytes() {
    let m = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/sn2-reward-sim");
    let (model, input) = (format!("{m}/model.onnx"), format!("{m}/input.json"));
    let dir = std::env::temp_dir().join(format!("sigil-cli-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let proof = |k: usize| dir.join(format!("{k}.proof")).to_str().unwrap().to_string();
    let (p0, p1, p2) = (proof(0), proof(1), proof(2));
    // A cache of this test's own (the other tests share the process's).
    let sigil = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sigil")).args(args).env("SIGIL_CACHE_DIR", dir.join("cache")).output().expect("run sigil");
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, out, err) = sigil(&["prove", &model, "--input", &input, "--proof", &p0, "--no-cache"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("key built, cache off"), "{out}");
    let (code, out, err) = sigil(&["prove", &model, "--input", &input, "--proof", &p1]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("key built and cached in"), "{out}");
    let (code, out, err) = sigil(&["prove", &model, "--input", &input, "--proof", &p2, "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(r#""key_cache":"hit""#), "{out}");
    let bytes = |p: &str| std::fs::read(p).unwrap();
    assert_eq!(bytes(&p0), bytes(&p1));
    assert_eq!(bytes(&p1), bytes(&p2));
    let (code, _, err) = sigil(&["verify", "--model", &model, "--proof", &p2, "--input", &input]);
    assert_eq!(code, 0, "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn prove_on_each_backend_writes_the_same_proof() {
    // `--backend gpu` takes any adapter (lavapipe in CI) and says so; `cpu` the CPU; the two
    // proof files are the same bytes, and `verify` accepts them.
    let dir = std::env::temp_dir().join(format!("sigil-cli-backend-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = format!("{}/../../shared/models/dsperse-net/model.onnx", env!("CARGO_MANIFEST_DIR"));
    let input = model.replace("model.onnx", "input.json");
    let mut files = Vec::new();
    for backend in ["cpu", "gpu"] {
        let proof = dir.join(format!("{backend}.proof"));
        let (code, _, err) = sigil(&["prove", &model, "--input", &input, "--proof", proof.to_str().unwrap(), "--backend", backend, "--no-cache"]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains(&format!("backend: {backend} (")), "{err}");
        assert!(!err.contains("warning"), "{err}");
        let (code, _, err) = sigil(&["verify", "--model", &model, "--proof", proof.to_str().unwrap(), "--no-cache"]);
        assert_eq!(code, 0, "{err}");
        files.push(std::fs::read(&proof).unwrap());
    }
    assert!(files[0] == files[1], "the GPU backend's proof file differs from the CPU's");
    let (code, _, err) = sigil(&["prove", &model, "--input", &input, "--proof", "x", "--backend", "tpu"]);
    assert_eq!(code, 2, "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bench_reports_kernels_and_proofs_on_both_backends() {
    let model = format!("{}/../../shared/models/dsperse-net", env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = sigil(&["bench", "--log-size", "8", "--reps", "1", "--mac", "8", "--models", &model, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(v["adapter"]["name"].is_string(), "{v}");
    assert_eq!(v["kernels"].as_array().map(Vec::len), Some(8), "{v}");
    let rows = v["end_to_end"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    for r in rows {
        assert_eq!(r["same_bytes"], true, "{r}");
        assert!(r["cpu_seconds"].as_f64().unwrap() > 0.0 && r["gpu_seconds"].as_f64().unwrap() > 0.0, "{r}");
    }
    // The table, without --json.
    let (code, out, err) = sigil(&["bench", "--log-size", "6", "--reps", "1", "--mac", "6", "--models", &model]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("adapter:") && out.contains("merkle leaves") && out.contains("same bytes"), "{out}");
}

/// `sigil` with every GPU adapter hidden, as on a machine without a GPU driver.
fn sigil_without_gpu(args: &[&str]) -> (i32, String, String) {
    sigil_env(args, &[("SIGIL_GPU", "off")])
}

#[test]
fn without_a_gpu_the_cpu_proves_and_bench_says_so() {
    let dir = std::env::temp_dir().join(format!("sigil-cli-nogpu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = format!("{}/../../shared/models/dsperse-net/model.onnx", env!("CARGO_MANIFEST_DIR"));
    let input = model.replace("model.onnx", "input.json");
    let proof = dir.join("p.proof");
    // Asked for by name: a warning, then the CPU.
    let (code, _, err) = sigil_without_gpu(&["prove", &model, "--input", &input, "--proof", proof.to_str().unwrap(), "--backend", "gpu", "--no-cache"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: --backend gpu: no GPU adapter") && err.contains("backend: cpu (no GPU"), "{err}");
    // auto on a small circuit: the CPU, without looking for a GPU.
    let (code, _, err) = sigil_without_gpu(&["prove", &model, "--input", &input, "--proof", proof.to_str().unwrap(), "--no-cache"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning") && err.contains("backend: cpu (") && err.contains("no GPU looked for"), "{err}");
    // auto on a circuit large enough to look (dsperse-doom): the CPU, without a warning.
    let doom = model.replace("dsperse-net", "dsperse-doom");
    let (code, _, err) = sigil_without_gpu(&["prove", &doom, "--input", &doom.replace("model.onnx", "input.json"), "--proof", proof.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning") && err.contains("backend: cpu (") && err.contains("no GPU adapter"), "{err}");
    // An adapter asked for by a name none has: named in the warning.
    let (code, _, err) = sigil_env(&["prove", &model, "--input", &input, "--proof", proof.to_str().unwrap(), "--backend", "gpu", "--no-cache"], &[("WGPU_ADAPTER_NAME", "no-such-card")]);
    assert!(code == 0 && err.contains("WGPU_ADAPTER_NAME=no-such-card names none of the adapters"), "{err}");
    // bench: the CPU's figures alone.
    let (code, out, err) = sigil_without_gpu(&["bench", "--reps", "1", "--mac", "6", "--models", &model.replace("/model.onnx", ""), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(v["adapter"].is_null() && v["no_adapter"].is_string() && v.get("kernels").is_none(), "{v}");
    for r in v["end_to_end"].as_array().unwrap() {
        assert!(r["cpu_seconds"].as_f64().unwrap() > 0.0 && r["gpu_seconds"].is_null() && r["same_bytes"].is_null(), "{r}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Runs `sigil` (with the test cache), polling its peak resident memory (VmHWM, Linux) until
/// it exits: exit code, stderr, seconds, peak bytes seen.
fn sigil_peak(args: &[&str]) -> (i32, String, f64, u64) {
    use std::io::Read;
    let t = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sigil"))
        .args(args)
        .env("SIGIL_CACHE_DIR", cache_dir())
        .env("SIGIL_CONFIG_DIR", config_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code().unwrap_or(-1);
        }
        if let Ok(text) = std::fs::read_to_string(&status)
            && let Some(kb) = text.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kb << 10);
        }
        if t.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (code, err, t.elapsed().as_secs_f64(), peak)
}

#[test]
fn verify_reads_at_most_one_proof_file_from_a_device_or_a_fifo() {
    let model = format!("{}/../../shared/models/dsperse-net/model.onnx", env!("CARGO_MANIFEST_DIR"));
    // The circuit id in the cache first, so that what is timed is reading the proof.
    let (code, _, err) = sigil(&["compile", &model]);
    assert_eq!(code, 0, "{err}");
    let dir = std::env::temp_dir().join(format!("sigil-cli-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("proof.fifo");
    let _ = std::fs::remove_file(&fifo);
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // A writer that never stops (until the reader closes the pipe).
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            let zeros = vec![0u8; 1 << 16];
            while f.write_all(&zeros).is_ok() {}
        })
    };
    for proof in ["/dev/zero", fifo.to_str().unwrap()] {
        let (code, err, secs, peak) = sigil_peak(&["verify", "--model", &model, "--proof", proof]);
        assert_eq!(code, 1, "{proof}: {err}");
        assert!(err.contains("the most a proof file of this model takes"), "{proof}: {err}");
        assert!(secs < 1.0, "{proof}: {secs} s");
        assert!(peak < 64 << 20, "{proof}: peak {} MB", peak >> 20);
    }
    writer.join().unwrap();
    // An input file from a device is refused too, naming it.
    let (code, _, err) = sigil(&["run", &model, "--input", "/dev/zero"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/dev/zero") && err.contains("more than"), "{err}");
}

#[test]
fn verify_accepts_the_output_file_prove_wrote() {
    // matmul-competition and sn48-pow-reward: outputs whose decimal form did not survive a
    // JSON round trip as the same f64, which `verify --output` compared before it compared the
    // proved fixed-point integers. An output edited by one step of its scale is refused.
    let tmp = std::env::temp_dir().join(format!("sigil-output-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for name in ["matmul-competition", "sn48-pow-reward"] {
        let dir = format!("{}/../../shared/models/{name}", env!("CARGO_MANIFEST_DIR"));
        let (model, input) = (format!("{dir}/model.onnx"), format!("{dir}/input.json"));
        let path = |n: &str| tmp.join(format!("{name}.{n}")).to_str().unwrap().to_string();
        let (code, _, err) = sigil(&["prove", &model, "--input", &input, "--proof", &path("proof"), "--output", &path("out.json")]);
        assert_eq!(code, 0, "{name}: {err}");
        let (code, _, err) = sigil(&["verify", "--model", &model, "--proof", &path("proof"), "--input", &input, "--output", &path("out.json")]);
        assert_eq!(code, 0, "{name}: {err}");
        let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path("out.json")).unwrap()).unwrap();
        let x = v["output_data"][0][0].as_f64().unwrap();
        v["output_data"][0][0] = serde_json::json!(x + 1.0 / 1024.0);
        std::fs::write(path("edited.json"), v.to_string()).unwrap();
        let (code, _, err) = sigil(&["verify", "--model", &model, "--proof", &path("proof"), "--output", &path("edited.json")]);
        assert_eq!(code, 1, "{name}: {err}");
        assert!(err.contains("another output") && err.contains("element 0"), "{name}: {err}");
    }
    std::fs::remove_dir_all(&tmp).ok();
}

#[test]
fn inspect_json_says_whether_a_model_is_provable_and_what_proves_each_node() {
    let shared = format!("{}/../../shared", env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = sigil(&["inspect", &format!("{shared}/models/dsperse-net/model.onnx"), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["provable"], true, "{out}");
    let nodes = v["nodes"].as_array().unwrap();
    assert!(!nodes.is_empty());
    for n in nodes {
        assert!(n["name"].is_string() && n["op"].is_string() && n["proved_by"].is_string(), "{n}");
    }
    assert!(nodes.iter().any(|n| n["op"] == "Conv" && n["proved_by"].as_str().unwrap().contains("polyconv")), "{out}");
    // nanoGPT: provable, every node proved, wiring or folded (the token embedding by its
    // lookup, LayerNormalization with its square root), and the circuit's tables listed.
    let nano = format!("{shared}/transformers/nanogpt/model.onnx");
    let (code, out, err) = sigil(&["inspect", &nano, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["provable"], true, "{out}");
    let nodes = v["nodes"].as_array().unwrap();
    assert!(nodes.iter().all(|n| ["proved", "wiring", "folded"].contains(&n["status"].as_str().unwrap())), "{out}");
    assert!(nodes.iter().any(|n| n["op"] == "Gather" && n["proved_by"] == "embed"), "{out}");
    let norms: Vec<_> = nodes.iter().filter(|n| n["op"] == "LayerNormalization").collect();
    assert!(!norms.is_empty() && norms.iter().all(|n| n["proved_by"].as_str().unwrap().contains("sqrt")), "{out}");
    let tables = v["tables"].as_array().unwrap();
    assert!(tables.len() > 100 && tables.iter().all(|t| t["committed"].as_u64().unwrap() > 0), "{out}");
    // The same model with its attention's scaling Div spelled Mod (executed, no chip): not
    // provable, stopped there as `executed only`, the nodes after it `not reached`, and
    // `sigil compile` refuses it.
    let tmp = std::env::temp_dir().join(format!("sigil-inspect-mod-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let bytes = std::fs::read(&nano).unwrap();
    std::fs::write(tmp.join("model.onnx"), replace_all(&bytes, b"/Div", b"/Mod")).unwrap();
    let bytes = std::fs::read(tmp.join("model.onnx")).unwrap();
    std::fs::write(tmp.join("model.onnx"), replace_all(&bytes, b"\x22\x03Div", b"\x22\x03Mod")).unwrap();
    std::fs::copy(format!("{shared}/transformers/nanogpt/input.json"), tmp.join("input.json")).unwrap();
    let (code, out, err) = sigil(&["inspect", tmp.join("model.onnx").to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["provable"], false, "{out}");
    let stop = v["stopped_at"].as_str().unwrap();
    let nodes = v["nodes"].as_array().unwrap();
    let n = nodes.iter().find(|n| n["name"] == stop).unwrap();
    assert_eq!(n["proved_by"], serde_json::Value::Null);
    assert_eq!((n["op"].as_str(), n["status"].as_str()), (Some("Mod"), Some("executed only")), "{n}");
    assert!(nodes.iter().filter(|n| n["op"] == "Softmax").all(|n| n["status"] == "not reached"), "{out}");
    let (code, out, _) = sigil(&["compile", tmp.join("model.onnx").to_str().unwrap()]);
    assert_ne!(code, 0, "{out}");
    std::fs::remove_dir_all(&tmp).ok();
    // A model with an operator the executor does not run: that node is `unsupported`.
    let tmp = std::env::temp_dir().join(format!("sigil-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    // dsperse-net with every `Relu` (op types and node names alike) spelled `Tile`, a name of
    // the same length that the executor does not run.
    let bytes = std::fs::read(format!("{shared}/models/dsperse-net/model.onnx")).unwrap();
    std::fs::write(tmp.join("model.onnx"), replace_all(&bytes, b"Relu", b"Tile")).unwrap();
    let (code, out, err) = sigil(&["inspect", tmp.join("model.onnx").to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["provable"], false, "{out}");
    assert_eq!(v["unsupported"], serde_json::json!(["Tile"]), "{out}");
    let tiles: Vec<_> = v["nodes"].as_array().unwrap().iter().filter(|n| n["op"] == "Tile").collect();
    assert!(!tiles.is_empty() && tiles.iter().all(|n| n["status"] == "unsupported" && n["proved_by"].is_null()), "{out}");
    std::fs::remove_dir_all(&tmp).ok();
}

/// `bytes` with every `from` replaced by `to`, of the same length (protobuf lengths stay right).
fn replace_all(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
    out
}
