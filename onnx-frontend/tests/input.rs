//! `input.json` against the corpus models, and malformed inputs.

use std::path::PathBuf;

use sigil_onnx::{OnnxError, load_model, parse_inputs, read_inputs};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models")
}

#[test]
fn corpus_inputs_match_their_models() {
    let mut checked = 0;
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        if !dir.join("input.json").is_file() {
            continue;
        }
        let model = load_model(dir.join("model.onnx")).unwrap();
        let r = read_inputs(dir.join("input.json"), &model);
        match name.as_str() {
            // The published input belongs to an earlier version of the model with 19 inputs.
            "sn27-pow-reward" => {
                let e = r.unwrap_err().to_string();
                assert!(e.contains("has 19 lists but the model has 16 inputs"), "{e}");
            }
            _ => {
                let inputs = r.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(inputs.len(), model.graph.inputs.len(), "{name}");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 14);
}

#[test]
fn malformed_inputs_name_what_is_wrong() {
    let model = load_model(corpus().join("sn2-reward-sim/model.onnx")).unwrap();
    let n = model.graph.inputs.len();
    let ok = format!("{{\"input_data\": [{}]}}", vec!["[1.0]"; n].join(", "));
    parse_inputs(&ok, &model, "ok.json").unwrap();
    let cases = [
        ("", "not valid JSON"),
        ("{}", "no `input_data` field"),
        ("{\"input_data\": 3}", "is not a list"),
        ("{\"input_data\": [[1.0]]}", "has 1 lists but the model has"),
        (&*format!("{{\"input_data\": [{}]}}", vec!["[1.0, 2.0]"; n].join(", ")), "2 values, but its shape"),
        (&*format!("{{\"input_data\": [{}]}}", vec!["[\"a\"]"; n].join(", ")), "neither a number nor a boolean"),
        (&*format!("{{\"input_data\": [{}]}}", vec!["[1e999]"; n].join(", ")), "not valid JSON"),
    ];
    for (text, want) in cases {
        let e = parse_inputs(text, &model, "bad.json").unwrap_err();
        assert!(matches!(e, OnnxError::BadInput { .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.starts_with("bad.json: ") && msg.contains(want), "{text:?}: {msg}");
    }
    // Integer and boolean inputs hold integers; floats past the 60-bit range are refused when
    // the model is lowered, naming the input.
    let tan = load_model(corpus().join("sn2-pow-reward-tan/model.onnx")).unwrap();
    let text = std::fs::read_to_string(corpus().join("sn2-pow-reward-tan/input.json")).unwrap();
    let good = parse_inputs(&text, &tan, "tan.json").unwrap();
    let e = parse_inputs(&text.replacen("2080000", "2080000.5", 1), &tan, "tan.json").unwrap_err().to_string();
    assert!(e.contains("`block_number`) is Int32 but holds 2080000.5, which is not an integer"), "{e}");
    let e = parse_inputs(&text.replacen("true", "2", 1), &tan, "tan.json").unwrap_err().to_string();
    assert!(e.contains("`verified`) is BOOL but holds 2"), "{e}");
    let mut huge = good.clone();
    huge[0].values[0] = 1e30;
    let e = sigil_onnx::execute(&tan, &huge, 16, "tan.onnx").unwrap_err().to_string();
    assert!(e.starts_with("tan.onnx: input `max_score`: value 1000000000000000000000000000000 does not fit 60 bits"), "{e}");
    // Booleans read as 0 and 1.
    let b = format!("{{\"input_data\": [{}]}}", vec!["[true]"; n].join(", "));
    assert_eq!(parse_inputs(&b, &model, "b.json").unwrap()[0].values, vec![1.0]);
}

#[test]
fn calibration_files_hold_several_samples() {
    let model = load_model(corpus().join("sn2-reward-sim/model.onnx")).unwrap();
    let n = model.graph.inputs.len();
    let tmp = std::env::temp_dir().join(format!("sigil-cal-{}.json", std::process::id()));
    // Three samples per input, one after another.
    std::fs::write(&tmp, format!("{{\"input_data\": [{}]}}", vec!["[1.0, 2.0, 3.0]"; n].join(", "))).unwrap();
    let sets = sigil_onnx::read_samples(&tmp, &model).unwrap();
    assert_eq!(sets.len(), 3);
    for (j, set) in sets.iter().enumerate() {
        assert_eq!(set.len(), n);
        assert!(set.iter().all(|t| t.values == vec![j as f64 + 1.0]));
    }
    // The input reader takes exactly one sample.
    let e = read_inputs(&tmp, &model).unwrap_err().to_string();
    assert!(e.contains("3 values, but its shape [1] holds 1"), "{e}");
    // Every input must hold the same number of samples.
    let mut lists = vec!["[1.0, 2.0, 3.0]"; n];
    lists[1] = "[1.0, 2.0]";
    std::fs::write(&tmp, format!("{{\"input_data\": [{}]}}", lists.join(", "))).unwrap();
    let e = sigil_onnx::read_samples(&tmp, &model).unwrap_err().to_string();
    assert!(e.contains("holds a different number of samples"), "{e}");
    std::fs::remove_file(&tmp).ok();
}

#[test]
fn one_flat_list_and_inputs_by_name_read_as_the_lists_do() {
    // A one-input model's values as one flat list (DSperse's layout).
    let net = load_model(corpus().join("dsperse-net/model.onnx")).unwrap();
    let text = std::fs::read_to_string(corpus().join("dsperse-net/input.json")).unwrap();
    let nested = parse_inputs(&text, &net, "net.json").unwrap();
    let flat = format!("{{\"input_data\": {}}}", serde_json::to_string(&nested[0].values).unwrap());
    assert_eq!(parse_inputs(&flat, &net, "flat.json").unwrap(), nested);
    // A model of several inputs, its inputs by name in reverse order.
    let tan = load_model(corpus().join("sn2-pow-reward-tan/model.onnx")).unwrap();
    let text = std::fs::read_to_string(corpus().join("sn2-pow-reward-tan/input.json")).unwrap();
    let lists = parse_inputs(&text, &tan, "tan.json").unwrap();
    let by_name: serde_json::Map<String, serde_json::Value> = lists.iter().rev().map(|t| (t.name.clone(), serde_json::json!(t.values))).collect();
    let named = serde_json::json!({ "input_data": by_name }).to_string();
    assert_eq!(parse_inputs(&named, &tan, "named.json").unwrap(), lists);
    // A name the model lacks, and an input left out, are refused by name.
    let mut extra = by_name.clone();
    extra.insert("attention_mask".into(), serde_json::json!([1]));
    let e = parse_inputs(&serde_json::json!({ "input_data": extra }).to_string(), &tan, "x.json").unwrap_err().to_string();
    assert!(e.contains("names `attention_mask`, which is not an input of the model"), "{e}");
    let mut missing = by_name;
    missing.remove(&lists[0].name);
    let e = parse_inputs(&serde_json::json!({ "input_data": missing }).to_string(), &tan, "x.json").unwrap_err().to_string();
    assert!(e.contains(&format!("no values for input `{}`", lists[0].name)), "{e}");
    // Several inputs need one list each: a flat list of numbers is not read as the first.
    let e = parse_inputs("{\"input_data\": [1, 2, 3]}", &tan, "x.json").unwrap_err().to_string();
    assert!(e.contains("has 3 lists but the model has"), "{e}");
}
