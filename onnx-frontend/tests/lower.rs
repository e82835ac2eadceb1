//! Lowering: BatchNormalization folding, constant folding, per-tensor scales and calibrated
//! ranges, on corpus models.

use std::path::PathBuf;

use sigil_onnx::{InputTensor, LowerOptions, Model, OnnxError, TensorData, load_model, lower, read_inputs};

fn corpus(name: &str) -> (Model, Vec<InputTensor>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models").join(name);
    let model = load_model(dir.join("model.onnx")).unwrap();
    let input = read_inputs(dir.join("input.json"), &model).unwrap();
    (model, input)
}

fn outputs(model: &Model, input: &[InputTensor], opts: &LowerOptions) -> Vec<f64> {
    let plan = lower(model, &[input.to_vec()], opts, "m").unwrap();
    plan.execute(input).unwrap().outputs.into_iter().flat_map(|(_, _, v)| v).collect()
}

#[test]
fn batchnorm_folds_into_conv_and_keeps_the_outputs() {
    let (model, input) = corpus("age-ssrnet-competition1");
    let opts = LowerOptions { frac_bits: Some(16), ..Default::default() };
    let plan = lower(&model, std::slice::from_ref(&input), &opts, "age").unwrap();
    assert_eq!(plan.folded_batchnorms, 8);
    assert!(plan.nodes.iter().all(|n| n.op_type != "BatchNormalization"));
    // The folded weights replace the originals.
    assert!(plan.weight_scales.keys().any(|k| k.contains("/folded:")));
    let folded = outputs(&model, &input, &opts);
    let unfolded = outputs(&model, &input, &LowerOptions { fold_batchnorm: false, ..opts.clone() });
    assert_eq!(folded.len(), unfolded.len());
    for (a, b) in folded.iter().zip(&unfolded) {
        assert!((a - b).abs() < 1e-3, "{a} vs {b}");
    }
}

#[test]
fn shape_chains_and_constants_are_folded() {
    let (model, input) = corpus("age-ssrnet-competition1");
    let plan = lower(&model, &[input], &LowerOptions::default(), "age").unwrap();
    // Every Shape, Constant, and the Gather/Unsqueeze/Concat chains on shapes are gone.
    for op in ["Shape", "Constant", "Gather", "Unsqueeze", "Concat"] {
        assert!(plan.nodes.iter().all(|n| n.op_type != op), "{op} left in the plan");
    }
    assert_eq!(plan.folded_nodes, 12 + 6 + 6 + 12 + 6);
    // Every node left has an input computed per run.
    for n in &plan.nodes {
        assert!(n.inputs.iter().any(|i| !i.is_empty() && !plan.consts.contains_key(i)), "{} is constant", n.name);
    }
}

#[test]
fn weights_get_the_significant_bits_asked_for() {
    for name in ["dsperse-net", "dsperse-doom", "age-ssrnet-competition1", "lstm-benchmark"] {
        let (model, input) = corpus(name);
        for bits in [8, 16] {
            let opts = LowerOptions { param_bits: bits, ..Default::default() };
            let plan = lower(&model, std::slice::from_ref(&input), &opts, name).unwrap();
            assert!(!plan.weight_scales.is_empty(), "{name}");
            for (w, &frac) in &plan.weight_scales {
                let t = &plan.model.graph.initializers[w];
                let max = match &t.data {
                    TensorData::F32(v) => v.iter().fold(0.0f64, |m, &x| m.max(f64::from(x).abs())),
                    TensorData::F64(v) => v.iter().fold(0.0f64, |m, &x| m.max(x.abs())),
                    _ => unreachable!(),
                };
                let scaled = max * 2f64.powi(frac as i32);
                // max |w| 2^frac in [2^(bits-1), 2^bits), unless the scale hit its bounds.
                assert!(frac == 0 || frac == 32 || (2f64.powi(bits as i32 - 1)..2f64.powi(bits as i32)).contains(&scaled), "{name}/{w}: {max} at 2^-{frac}");
                assert_eq!(plan.consts[w].frac_bits, frac);
            }
        }
    }
}

#[test]
fn ranges_come_from_calibration_and_are_enforced() {
    let (model, input) = corpus("dsperse-net");
    let plan = lower(&model, std::slice::from_ref(&input), &LowerOptions::default(), "net").unwrap();
    assert_eq!(plan.frac_bits, 16);
    for (name, r) in &plan.ranges {
        assert_eq!(r.range_bits, (r.seen_bits + 2).min(sigil_onnx::MAX_BITS), "{name}");
    }
    // The plan's run of the calibration input is, bit for bit and value for value, the run
    // lowering made (which `execute` returns).
    let run = plan.execute(&input).unwrap();
    let direct = sigil_onnx::execute(&model, &input, 16, "net").unwrap();
    assert_eq!(run.outputs, direct.outputs);
    assert_eq!(run.values, direct.values);
    // An input 64 times larger needs more bits than calibrated: an error naming the node.
    let big: Vec<InputTensor> = input.iter().map(|i| InputTensor { values: i.values.iter().map(|v| v * 64.0 + 1.0).collect(), ..i.clone() }).collect();
    match plan.execute(&big) {
        Err(OnnxError::OutOfRange { node, bits, limit, .. }) => assert!(bits > limit && !node.is_empty()),
        other => panic!("{other:?}"),
    }
    // Calibrating on both inputs covers both.
    let plan = lower(&model, &[input.clone(), big.clone()], &LowerOptions::default(), "net").unwrap();
    plan.execute(&input).unwrap();
    plan.execute(&big).unwrap();
}

#[test]
fn values_past_the_field_range_are_a_lowering_error_or_a_lower_precision() {
    let (model, input) = corpus("matmul-competition");
    let scaled = |k: f64| -> Vec<InputTensor> { input.iter().map(|i| InputTensor { values: i.values.iter().map(|v| v * k).collect(), ..i.clone() }).collect() };
    // Inputs a million times larger: at 16 fractional bits a product accumulator passes 2^60,
    // an error naming the node.
    let fixed = LowerOptions { frac_bits: Some(16), ..Default::default() };
    match lower(&model, &[scaled(1e6)], &fixed, "mm") {
        Err(e @ OnnxError::OutOfRange { .. }) => assert!(e.to_string().contains("node `"), "{e}"),
        other => panic!("{:?}", other.map(|p| p.frac_bits)),
    }
    // Left to choose, lowering drops to the largest precision at which they fit (10 bits),
    // and the outputs are the unscaled ones times 10^12 (the model multiplies two slices of its
    // input).
    let plan = lower(&model, &[scaled(1e6)], &LowerOptions::default(), "mm").unwrap();
    assert_eq!(plan.frac_bits, 10);
    let big: Vec<f64> = plan.execute(&scaled(1e6)).unwrap().outputs.into_iter().flat_map(|(_, _, v)| v).collect();
    let small = outputs(&model, &input, &LowerOptions::default());
    let norm = small.iter().map(|v| v * v).sum::<f64>().sqrt();
    let err = big.iter().zip(&small).map(|(b, s)| (b / 1e12 - s).powi(2)).sum::<f64>().sqrt();
    assert!(err / norm < 1e-3, "{}", err / norm);
    // A thousand times more does not fit at any precision: the node is named.
    match lower(&model, &[scaled(1e9)], &LowerOptions::default(), "mm") {
        Err(e @ OnnxError::OutOfRange { .. }) => assert!(e.to_string().contains("node `"), "{e}"),
        other => panic!("{:?}", other.map(|p| p.frac_bits)),
    }
}

#[test]
fn sn27_boolean_adds_are_found() {
    let model = load_model(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models/sn27-pow-reward/model.onnx")).unwrap();
    let bools = sigil_onnx::lower::bool_values(&model);
    let adds: Vec<&str> = model.graph.nodes.iter().filter(|n| n.op_type == "Add" && n.inputs.iter().all(|i| bools.contains(i))).map(|n| n.name.as_str()).collect();
    assert_eq!(adds, ["/Add", "/Add_1"]);
    // Comparisons and casts to bool are booleans; a float Cast of one is not.
    assert!(bools.contains("/Equal_output_0") && bools.contains("/Cast_14_output_0") && !bools.contains("/Cast_13_output_0"));
}
