//! `input.json` as EZKL and DSperse write it: `{"input_data": [...]}` with one list per graph
//! input, flat or nested, of numbers or booleans; for a one-input model, one flat list of its
//! values (DSperse's layout); or the inputs by name, `{"input_data": {"input_ids": [...],
//! "attention_mask": [...]}}`. Checked against the model's declared inputs.

use std::path::Path;

use serde_json::Value;

use crate::error::OnnxError;
pub use crate::io::read_bounded;
use crate::model::{ElemType, Model};

/// One graph input's values, flattened in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub struct InputTensor {
    pub name: String,
    pub elem_type: ElemType,
    /// The declared shape with symbolic dimensions (the batch) set to 1.
    pub dims: Vec<usize>,
    pub values: Vec<f64>,
}


/// The most bytes an input file of `model` may have: a generous 256 per value (pretty-printed
/// JSON with deep indentation takes about 40) plus 1 MiB.
pub fn max_input_file_bytes(model: &Model) -> usize {
    let values: usize = model.graph.inputs.iter().map(|i| i.fixed_dims().iter().product::<usize>()).sum();
    (1 << 20) + 256 * values
}

/// The most bytes a calibration file may have (it may hold many samples).
pub const MAX_CALIBRATION_FILE_BYTES: usize = 1 << 30;

fn read_text(path: &Path, max: usize) -> Result<(String, String), OnnxError> {
    let label = path.display().to_string();
    let io = |e| OnnxError::Io { path: label.clone(), source: e };
    let bytes = read_bounded(path, max).map_err(io)?;
    let text = String::from_utf8(bytes).map_err(|_| io(std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text")))?;
    Ok((text, label))
}

/// Reads `path` (at most [`max_input_file_bytes`]) and checks it against `model`'s inputs.
pub fn read_inputs(path: impl AsRef<Path>, model: &Model) -> Result<Vec<InputTensor>, OnnxError> {
    let (text, label) = read_text(path.as_ref(), max_input_file_bytes(model))?;
    parse_inputs(&text, model, &label)
}

/// Parses input JSON text; `label` names the source in errors.
pub fn parse_inputs(text: &str, model: &Model, label: &str) -> Result<Vec<InputTensor>, OnnxError> {
    Ok(parse_lists(text, model, label, false)?.swap_remove(0))
}

/// Reads a calibration file: the `input.json` format, where each input's list may hold several
/// samples one after another (as EZKL's calibration data does) — the same number for every
/// input. Returns one input set per sample.
pub fn read_samples(path: impl AsRef<Path>, model: &Model) -> Result<Vec<Vec<InputTensor>>, OnnxError> {
    let (text, label) = read_text(path.as_ref(), MAX_CALIBRATION_FILE_BYTES)?;
    parse_lists(&text, model, &label, true)
}

/// The input sets of `text`: exactly one, or with `many`, as many as the lists hold.
fn parse_lists(text: &str, model: &Model, label: &str, many: bool) -> Result<Vec<Vec<InputTensor>>, OnnxError> {
    let bad = |reason: String| OnnxError::BadInput { path: label.to_string(), reason };
    let json: Value = serde_json::from_str(text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let Some(data) = json.get("input_data") else {
        return Err(bad("no `input_data` field".into()));
    };
    let inputs = &model.graph.inputs;
    let named;
    let lists: &[Value] = match data {
        // One input's values as one flat list of numbers (DSperse's layout).
        Value::Array(items) if inputs.len() == 1 && !items.is_empty() && items.iter().all(|v| v.is_number() || v.is_boolean()) => {
            std::slice::from_ref(data)
        }
        Value::Array(lists) => lists,
        // The inputs by name (`{"input_ids": [...], "attention_mask": [...]}`), in any order.
        Value::Object(by_name) => {
            if let Some(unknown) = by_name.keys().find(|k| !inputs.iter().any(|i| &i.name == *k)) {
                return Err(bad(format!(
                    "`input_data` names `{unknown}`, which is not an input of the model ({})",
                    inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
                )));
            }
            named = inputs
                .iter()
                .map(|i| by_name.get(&i.name).cloned().ok_or_else(|| bad(format!("`input_data` has no values for input `{}`", i.name))))
                .collect::<Result<Vec<_>, _>>()?;
            &named
        }
        _ => return Err(bad("`input_data` is not a list (one list per input, in the model's order) or an object (the inputs by name)".into())),
    };
    if lists.len() != inputs.len() {
        return Err(bad(format!(
            "`input_data` has {} lists but the model has {} inputs ({})",
            lists.len(),
            inputs.len(),
            inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    let mut parsed = Vec::with_capacity(inputs.len());
    for (k, (list, info)) in lists.iter().zip(inputs).enumerate() {
        let mut values = Vec::new();
        flatten(list, &mut values, 0).map_err(|e| bad(format!("input {k} (`{}`): {e}", info.name)))?;
        let dims = info.fixed_dims();
        let numel: usize = dims.iter().product();
        let samples = values.len().checked_div(numel).unwrap_or(1);
        if values.len() != numel * samples || samples == 0 || (!many && samples != 1) {
            return Err(bad(format!(
                "input {k} (`{}`): {} values, but its shape {:?} holds {numel}{}",
                info.name,
                values.len(),
                dims,
                if many { " (or a multiple, one sample after another)" } else { "" }
            )));
        }
        if !info.elem_type.is_float() && let Some(v) = values.iter().find(|v| v.fract() != 0.0 || v.abs() >= 9.2e18) {
            return Err(bad(format!("input {k} (`{}`) is {:?} but holds {v}, which is not an integer", info.name, info.elem_type)));
        }
        if info.elem_type == ElemType::Bool && let Some(v) = values.iter().find(|&&v| v != 0.0 && v != 1.0) {
            return Err(bad(format!("input {k} (`{}`) is BOOL but holds {v}", info.name)));
        }
        parsed.push((info, dims, numel, values, samples));
    }
    let samples = parsed.first().map_or(1, |p| p.4);
    if let Some((info, ..)) = parsed.iter().find(|p| p.4 != samples) {
        return Err(bad(format!("input `{}` holds a different number of samples than `{}` ({samples})", info.name, parsed[0].0.name)));
    }
    Ok((0..samples)
        .map(|j| {
            parsed
                .iter()
                .map(|(info, dims, numel, values, _)| InputTensor {
                    name: info.name.clone(),
                    elem_type: info.elem_type,
                    dims: dims.clone(),
                    values: values[j * numel..(j + 1) * numel].to_vec(),
                })
                .collect()
        })
        .collect())
}

/// Appends the numbers of a nested list, in order.
fn flatten(v: &Value, out: &mut Vec<f64>, depth: usize) -> Result<(), String> {
    if depth > 32 {
        return Err("lists nested more than 32 deep".into());
    }
    match v {
        Value::Array(items) => {
            for i in items {
                flatten(i, out, depth + 1)?;
            }
            Ok(())
        }
        Value::Number(n) => {
            let x = n.as_f64().ok_or_else(|| format!("`{n}` is not a number Sigil can read"))?;
            if !x.is_finite() {
                return Err(format!("value {x} is not finite"));
            }
            out.push(x);
            Ok(())
        }
        Value::Bool(b) => {
            out.push(if *b { 1.0 } else { 0.0 });
            Ok(())
        }
        other => Err(format!("`{other}` is neither a number nor a boolean")),
    }
}
