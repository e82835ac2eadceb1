//! The integer executor: runs a model in fixed point, exactly as the circuit will, and records
//! every intermediate tensor (the witness).
//!
//! Numbers are signed integers `q` standing for `q / 2^k` where `k` (the tensor's `frac_bits`) is
//! a per-tensor power-of-two scale chosen by [`crate::lower`]: weights have their own, every
//! other real value the activation precision `f`. A product carries the sum of its operands'
//! fractional bits and is rescaled to `f` by `floor(x / 2^(k - f) + 1/2)` (round half up), the
//! rounding the rescale chip will prove. Integer and boolean tensors (shapes, indices, masks)
//! are exact. Every fixed-point value, and every product accumulator before its rescale, is
//! checked to stay below `2^MAX_BITS` in magnitude: an overflow is an error naming the node,
//! never a silent wrap in the field.
//!
//! [`crate::registry`] lists the operators; any other is [`OnnxError::UnsupportedOp`] naming
//! the node, the op and the opset. Non-linear functions go through the tables of [`crate::lut`].

use std::collections::HashMap;

use crate::error::OnnxError;
use crate::fixed::{Ctx, Get};
use crate::input::InputTensor;
use crate::model::Node;
use crate::ops;
use crate::registry::Op;

pub use crate::fixed::{MAX_BITS, MAX_ELEMENTS, QTensor, attr_f, attr_i, attr_ints, bcast_index, broadcast, quantize, rescale};

/// The outputs and every intermediate value of one run.
#[derive(Clone, Debug)]
pub struct Execution {
    /// Graph outputs, dequantized, in the model's order: `(name, dims, values)`.
    pub outputs: Vec<(String, Vec<usize>, Vec<f64>)>,
    /// Every value the run computed, by name (the witness).
    pub values: HashMap<String, QTensor>,
}

/// A graph input as a tensor of the executor: floats with `f` fractional bits, integers and
/// booleans exact; a value past [`MAX_BITS`] bits is an error naming the input (and `path`).
pub(crate) fn input_tensor(i: &InputTensor, f: u32, path: &str) -> Result<QTensor, OnnxError> {
    let numel = crate::fixed::checked_numel(&i.dims).map_err(|reason| OnnxError::BadInput { path: path.into(), reason: format!("input `{}`: {reason}", i.name) })?;
    if numel != i.values.len() {
        return Err(OnnxError::BadInput { path: path.into(), reason: format!("input `{}`: {} values for shape {:?}", i.name, i.values.len(), i.dims) });
    }
    let exact = !i.elem_type.is_float();
    let frac_bits = if exact { 0 } else { f };
    let limit = (1u64 << (MAX_BITS - frac_bits)) as f64;
    if let Some(v) = i.values.iter().find(|v| !v.is_finite() || v.abs() >= limit) {
        return Err(OnnxError::BadInput {
            path: path.into(),
            reason: format!("input `{}`: value {v} does not fit {MAX_BITS} bits with {frac_bits} fractional bits", i.name),
        });
    }
    let data = if exact { i.values.iter().map(|&v| v as i64).collect() } else { i.values.iter().map(|&v| quantize(v, f)).collect() };
    Ok(QTensor { dims: i.dims.clone(), data, frac_bits })
}

/// Runs one node on `values`: its named outputs, each checked to stay in range.
pub(crate) fn run_one(ctx: &Ctx<'_>, n: &Node, values: &HashMap<String, QTensor>) -> Result<Vec<(String, QTensor)>, OnnxError> {
    let get = |k: usize| -> Result<&QTensor, OnnxError> {
        let name = n.inputs.get(k).filter(|s| !s.is_empty()).ok_or_else(|| ctx.err(n, format!("input {k} is missing")))?;
        values.get(name).ok_or_else(|| ctx.err(n, format!("input `{name}` is not computed before this node")))
    };
    let mut out = Vec::with_capacity(n.outputs.len());
    let multi = n.outputs.iter().skip(1).any(|o| !o.is_empty());
    if matches!(n.op, Some(Op::LSTM | Op::LayerNormalization | Op::Split)) || (matches!(n.op, Some(Op::MaxPool | Op::BatchNormalization)) && multi) {
        let ts = match n.op {
            Some(Op::LSTM) => ops::lstm(ctx, n, &get)?,
            Some(Op::Split) => ops::movement::split(ctx, n, &get)?,
            Some(Op::LayerNormalization) => ops::layer_norm(ctx, n, &get)?,
            Some(Op::BatchNormalization) => ops::batch_norm(ctx, n, &get)?,
            _ => ops::pool(ctx, n, get(0)?)?,
        };
        for (name, t) in n.outputs.iter().zip(ts) {
            if !name.is_empty() {
                out.push((name.clone(), ctx.check(n, t)?));
            }
        }
        return Ok(out);
    }
    let t = ctx.check(n, run_node(ctx, n, &get)?)?;
    let name = n.outputs.first().ok_or_else(|| ctx.err(n, "the node has no output"))?;
    if n.op == Some(Op::Dropout) && multi {
        // The mask of an inference-mode Dropout is all true.
        out.push((n.outputs[1].clone(), QTensor { dims: t.dims.clone(), data: vec![1; t.data.len()], frac_bits: 0 }));
    } else if multi {
        return Err(ctx.err(n, "only the first output of this operator is supported"));
    }
    out.push((name.clone(), t));
    Ok(out)
}


fn run_node<'a>(ctx: &Ctx<'_>, n: &Node, get: &Get<'a>) -> Result<QTensor, OnnxError> {
    ops::run(ctx, n, get)
}
