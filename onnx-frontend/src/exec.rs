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
//! [`SUPPORTED_OPS`] lists the operators; any other is [`OnnxError::UnsupportedOp`] naming the
//! node, the op and the opset. Non-linear functions go through the tables of [`crate::lut`].

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use crate::error::OnnxError;
use crate::input::InputTensor;
use crate::lut::Func;
use crate::model::{Attribute, ElemType, Model, Node};
use crate::ops;
use crate::tensor::{Tensor, TensorData};

/// Every operator the executor runs (ONNX default domain).
pub const SUPPORTED_OPS: &[&str] = &[
    "Abs", "Add", "And", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant",
    "ConstantOfShape", "Conv", "Div", "Dropout", "Equal", "Erf", "Exp", "Expand", "Flatten",
    "Gather", "Gelu", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "Greater", "GreaterOrEqual",
    "Identity", "LSTM", "LayerNormalization", "LeakyRelu", "Less", "LessOrEqual", "Log",
    "LogSoftmax", "MatMul", "Max", "MaxPool", "Min", "Mul", "Neg", "Not", "Or", "Pad", "Pow",
    "Reciprocal", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceSum", "Relu", "Reshape",
    "ScatterND", "Shape", "Sigmoid", "Slice", "Softmax", "Softplus", "Sqrt", "Squeeze", "Sub", "Tan",
    "Tanh", "Transpose", "Unsqueeze", "Where", "Xor",
];

/// Magnitude bound of every value, well inside the Goldilocks field (64 bits).
pub const MAX_BITS: u32 = 60;

/// The most elements a tensor may have (a shape from the model cannot make the executor
/// allocate without bound).
pub const MAX_ELEMENTS: usize = 1 << 28;

/// The element count of `dims`, or an error above [`MAX_ELEMENTS`].
pub(crate) fn checked_numel(dims: &[usize]) -> Result<usize, String> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| format!("shape {dims:?} has more than {MAX_ELEMENTS} elements"))
}

/// A tensor of the executor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QTensor {
    pub dims: Vec<usize>,
    pub data: Vec<i64>,
    /// Fractional bits: `f` for real values, 0 for exact integers (shapes, indices).
    pub frac_bits: u32,
}

/// The outputs and every intermediate value of one run.
#[derive(Clone, Debug)]
pub struct Execution {
    /// Graph outputs, dequantized, in the model's order: `(name, dims, values)`.
    pub outputs: Vec<(String, Vec<usize>, Vec<f64>)>,
    /// Every value the run computed, by name (the witness).
    pub values: HashMap<String, QTensor>,
}

/// `v` saturated to i64: a result past i64 becomes i64::MIN or MAX, which every range check
/// refuses, so an overflow is an error naming its node, never a wrapped value.
pub(crate) fn sat(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// `v * 2^s`, saturated (see [`sat`]).
pub(crate) fn lift(v: i64, s: u32) -> i64 {
    sat(i128::from(v) << s)
}

/// The error for a value `v` (with `frac` fractional bits) computed by `n`, past `limit` bits.
pub(crate) fn out_of_range(path: &str, n: &Node, v: i128, frac: u32, limit: u32) -> OnnxError {
    OnnxError::OutOfRange {
        path: path.into(),
        node: n.name.clone(),
        op: n.op_type.clone(),
        value: v as f64 / (1u128 << frac) as f64,
        bits: 128 - v.unsigned_abs().leading_zeros(),
        limit,
    }
}

/// Bits of `|v|`.
pub(crate) fn bits_of(v: i64) -> u32 {
    64 - v.unsigned_abs().leading_zeros()
}

/// Rounds `x / 2^k` to the nearest integer, halves up.
pub fn rescale(x: i128, k: u32) -> i128 {
    if k == 0 { x } else { (x + (1i128 << (k - 1))) >> k }
}

/// `round(v 2^f)`, ties away from zero: how real inputs and constants become fixed point.
pub fn quantize(v: f64, f: u32) -> i64 {
    (v * (1u64 << f) as f64).round() as i64
}

pub(crate) struct Ctx<'a> {
    pub(crate) path: &'a str,
    pub(crate) opset: i64,
    pub(crate) f: u32,
    /// The model's initializers as stored (floats before quantization).
    pub(crate) inits: &'a BTreeMap<String, Tensor>,
    /// The values that are booleans ([`crate::lower::bool_values`]).
    pub(crate) bools: &'a std::collections::HashSet<String>,
}

impl Ctx<'_> {
    pub(crate) fn err(&self, n: &Node, reason: impl Into<String>) -> OnnxError {
        OnnxError::BadNode { path: self.path.into(), node: n.name.clone(), op: n.op_type.clone(), reason: reason.into() }
    }
    pub(crate) fn check(&self, n: &Node, t: QTensor) -> Result<QTensor, OnnxError> {
        // Exact integers (shapes, indices, INT64_MAX as "to the end") are folded away before
        // proving; fixed-point values enter the circuit and must stay in range.
        if t.frac_bits != 0 {
            self.check_within(n, &t, MAX_BITS)?;
        }
        Ok(t)
    }
    /// Checks that every value of `t` (computed by `n`) is below `2^bits` in magnitude.
    pub(crate) fn check_within(&self, n: &Node, t: &QTensor, bits: u32) -> Result<(), OnnxError> {
        match t.data.iter().find(|v| v.unsigned_abs() >= 1u64 << bits) {
            Some(&v) => Err(out_of_range(self.path, n, i128::from(v), t.frac_bits, bits)),
            None => Ok(()),
        }
    }
    /// Checks the accumulators of a product sum (before their rescale), which the circuit holds
    /// in field elements, against [`MAX_BITS`].
    pub(crate) fn check_acc(&self, n: &Node, acc: &[i128], frac: u32) -> Result<(), OnnxError> {
        match acc.iter().find(|v| v.unsigned_abs() >= 1u128 << MAX_BITS) {
            Some(&v) => Err(out_of_range(self.path, n, v, frac, MAX_BITS)),
            None => Ok(()),
        }
    }
    pub(crate) fn quantize_tensor(&self, t: &Tensor) -> Result<QTensor, String> {
        self.quantize_with(t, self.f)
    }
    /// Quantizes a constant with `f` fractional bits for its floats (integers stay exact).
    pub(crate) fn quantize_with(&self, t: &Tensor, f: u32) -> Result<QTensor, String> {
        let check = |x: f64| if x.is_finite() && x.abs() < (1u64 << (MAX_BITS - f.min(MAX_BITS))) as f64 { Ok(quantize(x, f)) } else { Err(format!("value {x} cannot be represented with {f} fractional bits in {MAX_BITS} bits")) };
        let (data, frac_bits) = match &t.data {
            TensorData::F32(v) => (v.iter().map(|&x| check(f64::from(x))).collect::<Result<_, _>>()?, f),
            TensorData::F64(v) => (v.iter().map(|&x| check(x)).collect::<Result<_, _>>()?, f),
            TensorData::I64(v) => (v.clone(), 0),
            TensorData::I32(v) | TensorData::Small(v) => (v.iter().map(|&x| i64::from(x)).collect(), 0),
            TensorData::U64(v) => (v.iter().map(|&x| x as i64).collect(), 0),
        };
        Ok(QTensor { dims: t.dims.clone(), data, frac_bits })
    }
}

/// Integer attribute `k` of `n`, or `d`.
pub fn attr_i(n: &Node, k: &str, d: i64) -> i64 {
    match n.attributes.get(k) {
        Some(Attribute::Int(v)) => *v,
        _ => d,
    }
}
/// Float attribute `k` of `n`, or `d`.
pub fn attr_f(n: &Node, k: &str, d: f32) -> f32 {
    match n.attributes.get(k) {
        Some(Attribute::Float(v)) => *v,
        _ => d,
    }
}
/// Integer-list attribute `k` of `n`.
pub fn attr_ints(n: &Node, k: &str) -> Option<Vec<i64>> {
    match n.attributes.get(k) {
        Some(Attribute::Ints(v)) => Some(v.clone()),
        _ => None,
    }
}

/// Broadcast shape of two shapes (numpy rules).
pub fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    let mut out = vec![0; r];
    for i in 0..r {
        let x = if i + a.len() >= r { a[i + a.len() - r] } else { 1 };
        let y = if i + b.len() >= r { b[i + b.len() - r] } else { 1 };
        out[i] = if x == y || y == 1 { x } else if x == 1 { y } else { return None };
    }
    Some(out)
}

/// The flat index into a tensor of shape `dims` for an output multi-index (broadcasting).
pub fn bcast_index(dims: &[usize], out_dims: &[usize], mut flat: usize) -> usize {
    let mut idx = 0;
    let mut stride = 1;
    for k in (0..out_dims.len()).rev() {
        let coord = flat % out_dims[k];
        flat /= out_dims[k];
        let dk = k as isize - (out_dims.len() - dims.len()) as isize;
        if dk >= 0 {
            let d = dims[dk as usize];
            if d != 1 {
                idx += coord * stride;
            }
            stride *= d;
        }
    }
    idx
}

/// Bits of the largest magnitude in `v`.
fn bits_max(v: &[i64]) -> u32 {
    v.iter().map(|&x| bits_of(x)).max().unwrap_or(0)
}

/// Whether every partial sum of up to `terms` products of an element of `x` and one of `w`,
/// plus a start value of at most `init_bits` bits, stays below 2^62 in magnitude:
/// `(terms + 1) * 2^max(bits(x) + bits(w), init_bits) <= 2^62`.
fn sums_fit_i64(x: &[i64], w: &[i64], init_bits: u32, terms: usize) -> bool {
    let t = 64 - (terms as u64 + 1).leading_zeros();
    (bits_max(x) + bits_max(w)).max(init_bits) + t <= 62
}

/// The shape of a 2-D convolution: input channels, height, width; input channels per group;
/// kernel; strides; dilations; top and left pads; output height and width.
struct ConvGeom {
    c: usize,
    h: usize,
    wd: usize,
    icg: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    dh: usize,
    dw: usize,
    pt: usize,
    pl: usize,
    oh: usize,
    ow: usize,
}

/// One output plane (batch `b`, output channel `o` of group `g`) of a convolution: the product
/// sums before rescaling, accumulated in `A`.
fn conv_plane<A>(g: &ConvGeom, x: &[i64], w: &[i64], b: usize, o: usize, grp: usize, init: A) -> Vec<i128>
where
    A: Copy + From<i64> + std::ops::Add<Output = A> + std::ops::Mul<Output = A> + Into<i128>,
{
    let mut out = Vec::with_capacity(g.oh * g.ow);
    for oy in 0..g.oh {
        for ox in 0..g.ow {
            let mut acc = init;
            for ci in 0..g.icg {
                let cin = grp * g.icg + ci;
                for ky in 0..g.kh {
                    let iy = (oy * g.sh + ky * g.dh) as isize - g.pt as isize;
                    if iy < 0 || iy >= g.h as isize {
                        continue;
                    }
                    let xrow = ((b * g.c + cin) * g.h + iy as usize) * g.wd;
                    let wrow = ((o * g.icg + ci) * g.kh + ky) * g.kw;
                    for kx in 0..g.kw {
                        let ix = (ox * g.sw + kx * g.dw) as isize - g.pl as isize;
                        if ix < 0 || ix >= g.wd as isize {
                            continue;
                        }
                        acc = acc + A::from(x[xrow + ix as usize]) * A::from(w[wrow + kx]);
                    }
                }
            }
            out.push(acc.into());
        }
    }
    out
}

/// Row-major strides of `dims`.
pub(crate) fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for k in (0..dims.len().saturating_sub(1)).rev() {
        s[k] = s[k + 1] * dims[k + 1];
    }
    s
}

/// `floor(num / den + 1/2)` for `den != 0`, exact in integers.
pub(crate) fn div_round(num: i128, den: i128) -> i128 {
    let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
    (2 * num + den).div_euclid(2 * den)
}

/// Normalizes a possibly negative axis against a rank.
pub(crate) fn axis_of(a: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if a < 0 { a + r } else { a };
    (0..r).contains(&a).then_some(a as usize)
}

/// Whether optional input `k` of `n` is given (present and not the empty name).
pub(crate) fn opt_input(n: &Node, k: usize) -> bool {
    n.inputs.len() > k && !n.inputs[k].is_empty()
}

/// The output shape of a broadcast and the operand pairs.
pub(crate) type Zipped = (Vec<usize>, Vec<(i64, i64)>);

/// Pairs of elements of `a` and `b` under broadcasting, with the output shape.
pub(crate) fn zip2(ctx: &Ctx<'_>, n: &Node, a: &QTensor, b: &QTensor) -> Result<Zipped, OnnxError> {
    let dims = broadcast(&a.dims, &b.dims).ok_or_else(|| ctx.err(n, format!("shapes {:?} and {:?} do not broadcast", a.dims, b.dims)))?;
    let numel = checked_numel(&dims).map_err(|e| ctx.err(n, e))?;
    let pairs = (0..numel).map(|i| (a.data[bcast_index(&a.dims, &dims, i)], b.data[bcast_index(&b.dims, &dims, i)])).collect();
    Ok((dims, pairs))
}

/// An exact integer tensor as a list of i64 (shape inputs, indices, axes).
pub(crate) fn ints(t: &QTensor) -> Option<&[i64]> {
    (t.frac_bits == 0).then_some(&t.data[..])
}

/// Runs `model` on `inputs` with `frac_bits` fractional bits for activations: lowers it with
/// `inputs` as the calibration set ([`crate::lower`]) and returns that run.
pub fn execute(model: &Model, inputs: &[InputTensor], frac_bits: u32, path: &str) -> Result<Execution, OnnxError> {
    let opts = crate::lower::LowerOptions { frac_bits: Some(frac_bits), ..Default::default() };
    Ok(crate::lower::lower_and_run(model, std::slice::from_ref(&inputs.to_vec()), &opts, path)?.1)
}

/// A graph input as a tensor of the executor: floats with `f` fractional bits, integers and
/// booleans exact; a value past [`MAX_BITS`] bits is an error naming the input (and `path`).
pub(crate) fn input_tensor(i: &InputTensor, f: u32, path: &str) -> Result<QTensor, OnnxError> {
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
    if n.op_type == "LSTM" || n.op_type == "LayerNormalization" || (matches!(n.op_type.as_str(), "MaxPool" | "BatchNormalization") && multi) {
        let ts = match n.op_type.as_str() {
            "LSTM" => ops::lstm(ctx, n, &get)?,
            "LayerNormalization" => ops::layer_norm(ctx, n, &get)?,
            "BatchNormalization" => ops::batch_norm(ctx, n, &get)?,
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
    if n.op_type == "Dropout" && multi {
        // The mask of an inference-mode Dropout is all true.
        out.push((n.outputs[1].clone(), QTensor { dims: t.dims.clone(), data: vec![1; t.data.len()], frac_bits: 0 }));
    } else if multi {
        return Err(ctx.err(n, "only the first output of this operator is supported"));
    }
    out.push((name.clone(), t));
    Ok(out)
}

pub(crate) type Get<'a> = dyn Fn(usize) -> Result<&'a QTensor, OnnxError> + 'a;

fn run_node<'a>(ctx: &Ctx<'_>, n: &Node, get: &Get<'a>) -> Result<QTensor, OnnxError> {
    let f = ctx.f;
    match n.op_type.as_str() {
        "Constant" => match n.attributes.get("value") {
            Some(Attribute::Tensor(t)) => ctx.quantize_tensor(t).map_err(|e| ctx.err(n, e)),
            _ => Err(ctx.err(n, "only the `value` form of Constant is supported")),
        },
        "Identity" => Ok(get(0)?.clone()),
        "Dropout" => {
            // Inference, or training with ratio 0: the identity. Training mode with a ratio (a
            // random mask) cannot be proven.
            let training = opt_input(n, 2) && get(2)?.data.iter().any(|&v| v != 0);
            let ratio_zero = opt_input(n, 1) && get(1)?.data.iter().all(|&v| v == 0);
            if training && !ratio_zero {
                return Err(ctx.err(n, "training-mode Dropout with a non-zero ratio is not supported"));
            }
            Ok(get(0)?.clone())
        }
        "Abs" => {
            let a = get(0)?;
            Ok(QTensor { dims: a.dims.clone(), data: a.data.iter().map(|v| v.saturating_abs()).collect(), frac_bits: a.frac_bits })
        }
        "Max" | "Min" => {
            let mut acc = get(0)?.clone();
            for k in 1..n.inputs.len() {
                let b = get(k)?;
                let (dims, pairs) = zip2(ctx, n, &acc, b)?;
                let frac = acc.frac_bits.max(b.frac_bits);
                let data = pairs
                    .into_iter()
                    .map(|(x, y)| {
                        let (x, y) = (lift(x, frac - acc.frac_bits), lift(y, frac - b.frac_bits));
                        if n.op_type == "Max" { x.max(y) } else { x.min(y) }
                    })
                    .collect();
                acc = QTensor { dims, data, frac_bits: frac };
            }
            Ok(acc)
        }
        "Div" => {
            let (a, b) = (get(0)?, get(1)?);
            let (dims, pairs) = zip2(ctx, n, a, b)?;
            let exact = a.frac_bits == 0 && b.frac_bits == 0;
            // Real quotient (a / 2^fa) / (b / 2^fb) at f fractional bits; exact integers truncate
            // toward zero as ONNX's integer Div does.
            let mut data = Vec::with_capacity(pairs.len());
            for (x, y) in pairs {
                let (x, y) = (i128::from(x), i128::from(y));
                if y == 0 {
                    return Err(ctx.err(n, "division by zero"));
                }
                data.push(if exact {
                    sat(x / y)
                } else {
                    // (x / 2^fa) / (y / 2^fb) * 2^f = x 2^(fb + f) / (y 2^fa), rounded half up.
                    sat(div_round(x << (b.frac_bits + f), y << a.frac_bits))
                });
            }
            Ok(QTensor { dims, data, frac_bits: if exact { 0 } else { f } })
        }
        "Shape" => {
            let a = get(0)?;
            let r = a.dims.len() as i64;
            let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
            let start = clamp(attr_i(n, "start", 0));
            let end = clamp(attr_i(n, "end", r));
            let d: Vec<i64> = a.dims[start..end.max(start)].iter().map(|&x| x as i64).collect();
            Ok(QTensor { dims: vec![d.len()], data: d, frac_bits: 0 })
        }
        "ConstantOfShape" => {
            let s = ints(get(0)?).ok_or_else(|| ctx.err(n, "the shape is not an integer tensor"))?;
            let dims: Vec<usize> = s.iter().map(|&d| d.max(0) as usize).collect();
            checked_numel(&dims).map_err(|e| ctx.err(n, e))?;
            let (v, fb) = match n.attributes.get("value") {
                Some(Attribute::Tensor(t)) => {
                    let q = ctx.quantize_tensor(t).map_err(|e| ctx.err(n, e))?;
                    (q.data.first().copied().unwrap_or(0), q.frac_bits)
                }
                _ => (0, f),
            };
            Ok(QTensor { data: vec![v; dims.iter().product()], dims, frac_bits: fb })
        }
        "Cast" => {
            let a = get(0)?;
            let to = ElemType::from_code(attr_i(n, "to", 1) as i32);
            let float = to.is_float();
            let data: Vec<i64> = match (float, a.frac_bits) {
                (true, 0) => a.data.iter().map(|&v| lift(v, f)).collect(),
                (true, _) => a.data.iter().map(|&v| lift(v, f - a.frac_bits.min(f)) >> (a.frac_bits - a.frac_bits.min(f))).collect(),
                // To integers: truncate toward zero; to bool: non-zero.
                (false, fa) => a
                    .data
                    .iter()
                    .map(|&v| {
                        let t = if fa == 0 { v } else { (i128::from(v) / (1i128 << fa)) as i64 };
                        if to == ElemType::Bool { i64::from(v != 0) } else { t }
                    })
                    .collect(),
            };
            Ok(QTensor { dims: a.dims.clone(), data, frac_bits: if float { f } else { 0 } })
        }
        "Unsqueeze" | "Squeeze" => {
            let a = get(0)?;
            let axes: Vec<i64> = if ctx.opset >= 13 {
                if opt_input(n, 1) {
                    ints(get(1)?).ok_or_else(|| ctx.err(n, "axes are not integers"))?.to_vec()
                } else {
                    vec![]
                }
            } else {
                attr_ints(n, "axes").unwrap_or_default()
            };
            let dims = if n.op_type == "Unsqueeze" {
                let r = a.dims.len() + axes.len();
                let mut ax: Vec<usize> = axes.iter().map(|&x| axis_of(x, r).ok_or_else(|| ctx.err(n, "axis out of range"))).collect::<Result<_, _>>()?;
                ax.sort_unstable();
                if ax.windows(2).any(|w| w[0] == w[1]) {
                    return Err(ctx.err(n, format!("axes {axes:?} repeat an axis")));
                }
                let mut dims = a.dims.clone();
                for x in ax {
                    dims.insert(x, 1);
                }
                dims
            } else {
                let ax: Vec<usize> = axes.iter().map(|&x| axis_of(x, a.dims.len()).ok_or_else(|| ctx.err(n, "axis out of range"))).collect::<Result<_, _>>()?;
                if let Some(&x) = ax.iter().find(|&&x| a.dims[x] != 1) {
                    return Err(ctx.err(n, format!("axis {x} of shape {:?} is not 1", a.dims)));
                }
                a.dims.iter().enumerate().filter(|(i, d)| !(if ax.is_empty() { **d == 1 } else { ax.contains(i) })).map(|(_, d)| *d).collect()
            };
            Ok(QTensor { dims, data: a.data.clone(), frac_bits: a.frac_bits })
        }
        "Concat" => {
            let parts: Vec<&QTensor> = (0..n.inputs.len()).map(get).collect::<Result<_, _>>()?;
            let first = parts.first().ok_or_else(|| ctx.err(n, "no inputs"))?;
            let axis = axis_of(attr_i(n, "axis", 0), first.dims.len()).ok_or_else(|| ctx.err(n, "axis out of range"))?;
            let frac = parts.iter().map(|p| p.frac_bits).max().unwrap_or(0);
            let outer: usize = first.dims[..axis].iter().product();
            let mut dims = first.dims.clone();
            dims[axis] = 0;
            for p in &parts {
                if p.dims.len() != first.dims.len() || p.dims.iter().enumerate().any(|(i, d)| i != axis && *d != first.dims[i]) {
                    return Err(ctx.err(n, format!("shapes {:?} and {:?} do not concatenate", first.dims, p.dims)));
                }
                dims[axis] += p.dims[axis];
            }
            let mut data = Vec::with_capacity(dims.iter().product());
            for o in 0..outer {
                for p in &parts {
                    let inner: usize = p.dims[axis..].iter().product();
                    data.extend(p.data[o * inner..(o + 1) * inner].iter().map(|&v| lift(v, frac - p.frac_bits)));
                }
            }
            Ok(QTensor { dims, data, frac_bits: frac })
        }
        "Gather" => {
            let (a, idx) = (get(0)?, get(1)?);
            let iv = ints(idx).ok_or_else(|| ctx.err(n, "indices are not integers"))?;
            let axis = axis_of(attr_i(n, "axis", 0), a.dims.len()).ok_or_else(|| ctx.err(n, "axis out of range"))?;
            let len = a.dims[axis] as i64;
            let outer: usize = a.dims[..axis].iter().product();
            let inner: usize = a.dims[axis + 1..].iter().product();
            let mut data = Vec::with_capacity(outer * iv.len() * inner);
            for o in 0..outer {
                for &i in iv {
                    let i = if i < 0 { i + len } else { i };
                    if !(0..len).contains(&i) {
                        return Err(ctx.err(n, format!("index {i} out of range {len}")));
                    }
                    let base = (o * a.dims[axis] + i as usize) * inner;
                    data.extend_from_slice(&a.data[base..base + inner]);
                }
            }
            let mut dims: Vec<usize> = a.dims[..axis].to_vec();
            dims.extend_from_slice(&idx.dims);
            dims.extend_from_slice(&a.dims[axis + 1..]);
            Ok(QTensor { dims, data, frac_bits: a.frac_bits })
        }
        "Slice" => {
            let a = get(0)?;
            let r = a.dims.len();
            let opt = |k: usize| -> Result<Option<Vec<i64>>, OnnxError> {
                if opt_input(n, k) {
                    Ok(Some(ints(get(k)?).ok_or_else(|| ctx.err(n, "slice parameters are not integers"))?.to_vec()))
                } else {
                    Ok(None)
                }
            };
            let (starts, ends, axes, steps) = if ctx.opset >= 10 {
                (opt(1)?.unwrap_or_default(), opt(2)?.unwrap_or_default(), opt(3)?, opt(4)?)
            } else {
                (attr_ints(n, "starts").unwrap_or_default(), attr_ints(n, "ends").unwrap_or_default(), attr_ints(n, "axes"), None)
            };
            let axes = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
            let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
            let mut lo: Vec<i64> = vec![0; r];
            let mut st: Vec<i64> = vec![1; r];
            let mut cnt: Vec<usize> = a.dims.clone();
            for k in 0..starts.len().min(ends.len()).min(axes.len()).min(steps.len()) {
                let ax = axis_of(axes[k], r).ok_or_else(|| ctx.err(n, "axis out of range"))?;
                let d = a.dims[ax] as i64;
                let step = steps[k];
                if step == 0 {
                    return Err(ctx.err(n, "step 0"));
                }
                let norm = |v: i64| if v < 0 { v + d } else { v };
                let (s0, e0) = (norm(starts[k]), norm(ends[k]));
                let (s0, e0) = if step > 0 { (s0.clamp(0, d), e0.clamp(0, d)) } else { (s0.clamp(-1, d - 1), e0.clamp(-1, d - 1)) };
                let c = if step > 0 { (e0 - s0 + step - 1).max(0) / step } else { (s0 - e0 - step - 1).max(0) / -step };
                lo[ax] = s0;
                st[ax] = step;
                cnt[ax] = c as usize;
            }
            let src = strides(&a.dims);
            let numel = checked_numel(&cnt).map_err(|e| ctx.err(n, e))?;
            let mut data = Vec::with_capacity(numel);
            for flat in 0..numel {
                let mut rem = flat;
                let mut off = 0i64;
                for k in (0..r).rev() {
                    let c = (rem % cnt[k]) as i64;
                    rem /= cnt[k];
                    off += (lo[k] + c * st[k]) * src[k] as i64;
                }
                data.push(a.data[off as usize]);
            }
            Ok(QTensor { dims: cnt, data, frac_bits: a.frac_bits })
        }
        "Transpose" => {
            let a = get(0)?;
            let r = a.dims.len();
            let perm: Vec<usize> = attr_ints(n, "perm").map(|p| p.iter().map(|&x| x as usize).collect()).unwrap_or_else(|| (0..r).rev().collect());
            let mut seen = vec![false; r];
            if perm.len() != r || perm.iter().any(|&p| p >= r || std::mem::replace(&mut seen[p], true)) {
                return Err(ctx.err(n, format!("perm {perm:?} is not a permutation of rank {r}")));
            }
            let dims: Vec<usize> = perm.iter().map(|&p| a.dims[p]).collect();
            let src = strides(&a.dims);
            let numel = checked_numel(&dims).map_err(|e| ctx.err(n, e))?;
            let mut data = Vec::with_capacity(numel);
            for flat in 0..numel {
                let mut rem = flat;
                let mut off = 0;
                for k in (0..r).rev() {
                    let c = rem % dims[k];
                    rem /= dims[k];
                    off += c * src[perm[k]];
                }
                data.push(a.data[off]);
            }
            Ok(QTensor { dims, data, frac_bits: a.frac_bits })
        }
        "Expand" => {
            let (a, s) = (get(0)?, get(1)?);
            let shape: Vec<usize> = ints(s).ok_or_else(|| ctx.err(n, "the shape is not an integer tensor"))?.iter().map(|&d| d.max(0) as usize).collect();
            let dims = broadcast(&a.dims, &shape).ok_or_else(|| ctx.err(n, "shapes do not broadcast"))?;
            let numel = checked_numel(&dims).map_err(|e| ctx.err(n, e))?;
            let data = (0..numel).map(|i| a.data[bcast_index(&a.dims, &dims, i)]).collect();
            Ok(QTensor { dims, data, frac_bits: a.frac_bits })
        }
        "Relu" => {
            let a = get(0)?;
            Ok(QTensor { dims: a.dims.clone(), data: a.data.iter().map(|&v| v.max(0)).collect(), frac_bits: a.frac_bits })
        }
        "Add" | "Mul" if n.inputs.len() == 2 && ctx.bools.contains(&n.inputs[0]) && ctx.bools.contains(&n.inputs[1]) => {
            // bool + bool is a logical or and bool * bool a logical and, as in PyTorch, which
            // exports them although ONNX's type rules forbid them.
            ops::logic(ctx, n, get(0)?, get(1)?, if n.op_type == "Add" { "Or" } else { "And" })
        }
        "Add" | "Sub" | "Mul" => {
            let (a, b) = (get(0)?, get(1)?);
            let (dims, pairs) = zip2(ctx, n, a, b)?;
            let mul = n.op_type == "Mul";
            // Align exact integers with fixed-point operands.
            let fa = a.frac_bits;
            let fb = b.frac_bits;
            let frac = if mul { fa + fb } else { fa.max(fb) };
            let out_frac = if mul && frac > f { f } else { frac };
            let data = pairs
                .into_iter()
                .map(|(x, y)| {
                    let (x, y) = (i128::from(x), i128::from(y));
                    let v = match n.op_type.as_str() {
                        "Add" => (x << (frac - fa)) + (y << (frac - fb)),
                        "Sub" => (x << (frac - fa)) - (y << (frac - fb)),
                        _ => x * y,
                    };
                    sat(rescale(v, frac - out_frac))
                })
                .collect();
            Ok(QTensor { dims, data, frac_bits: out_frac })
        }
        "Flatten" => {
            let a = get(0)?;
            let axis = attr_i(n, "axis", 1);
            let r = a.dims.len() as i64;
            let axis = if axis < 0 { axis + r } else { axis };
            if !(0..=r).contains(&axis) {
                return Err(ctx.err(n, format!("axis {axis} out of range for rank {r}")));
            }
            let outer: usize = a.dims[..axis as usize].iter().product();
            let inner: usize = a.dims[axis as usize..].iter().product();
            Ok(QTensor { dims: vec![outer, inner], data: a.data.clone(), frac_bits: a.frac_bits })
        }
        "Reshape" => {
            let (a, s) = (get(0)?, get(1)?);
            if s.frac_bits != 0 {
                return Err(ctx.err(n, "the shape input is not an integer tensor"));
            }
            let numel: usize = a.dims.iter().product();
            let mut dims = Vec::with_capacity(s.data.len());
            let mut infer = None;
            for (k, &d) in s.data.iter().enumerate() {
                match d {
                    0 if attr_i(n, "allowzero", 0) == 0 => dims.push(*a.dims.get(k).ok_or_else(|| ctx.err(n, "0 copies a missing dimension"))?),
                    -1 if infer.is_none() => {
                        infer = Some(k);
                        dims.push(1);
                    }
                    d if d >= 0 => dims.push(d as usize),
                    d => return Err(ctx.err(n, format!("invalid target dimension {d}"))),
                }
            }
            let known = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or_else(|| ctx.err(n, "the target shape overflows"))?;
            if let Some(k) = infer {
                if known == 0 || !numel.is_multiple_of(known) {
                    return Err(ctx.err(n, format!("cannot reshape {:?} to {:?}", a.dims, s.data)));
                }
                dims[k] = numel / known;
            }
            if checked_numel(&dims).ok() != Some(numel) {
                return Err(ctx.err(n, format!("cannot reshape {:?} to {:?}", a.dims, s.data)));
            }
            Ok(QTensor { dims, data: a.data.clone(), frac_bits: a.frac_bits })
        }
        "MatMul" if get(0)?.dims.len() != 2 || get(1)?.dims.len() != 2 => {
            let (a, b) = (get(0)?, get(1)?);
            if a.dims.is_empty() || b.dims.is_empty() {
                return Err(ctx.err(n, "MatMul of a scalar is not defined"));
            }
            // numpy's rule: a 1-D left operand is a row [1, k], a 1-D right operand a column
            // [k, 1], and the added dimension is dropped from the result.
            let (a_vec, b_vec) = (a.dims.len() == 1, b.dims.len() == 1);
            let promoted_a;
            let a = if a_vec {
                promoted_a = QTensor { dims: vec![1, a.dims[0]], ..a.clone() };
                &promoted_a
            } else {
                a
            };
            let promoted_b;
            let b = if b_vec {
                promoted_b = QTensor { dims: vec![b.dims[0], 1], ..b.clone() };
                &promoted_b
            } else {
                b
            };
            let (ra, rb) = (a.dims.len(), b.dims.len());
            let (m, k, k2, nn) = (a.dims[ra - 2], a.dims[ra - 1], b.dims[rb - 2], b.dims[rb - 1]);
            if k != k2 {
                return Err(ctx.err(n, format!("inner dimensions {k} and {k2} differ")));
            }
            let batch = broadcast(&a.dims[..ra - 2], &b.dims[..rb - 2]).ok_or_else(|| ctx.err(n, "batch dimensions do not broadcast"))?;
            let nb: usize = batch.iter().product();
            let frac = a.frac_bits + b.frac_bits;
            let out_frac = frac.min(f);
            let mut data = Vec::with_capacity(nb * m * nn);
            for bi in 0..nb {
                let ab = bcast_index(&a.dims[..ra - 2], &batch, bi) * m * k;
                let bb = bcast_index(&b.dims[..rb - 2], &batch, bi) * k * nn;
                for i in 0..m {
                    for j in 0..nn {
                        let mut acc: i128 = 0;
                        for p in 0..k {
                            acc += i128::from(a.data[ab + i * k + p]) * i128::from(b.data[bb + p * nn + j]);
                        }
                        ctx.check_acc(n, &[acc], frac)?;
                        data.push(rescale(acc, frac - out_frac) as i64);
                    }
                }
            }
            let mut dims = batch;
            if !a_vec {
                dims.push(m);
            }
            if !b_vec {
                dims.push(nn);
            }
            Ok(QTensor { dims, data, frac_bits: out_frac })
        }
        "Gemm" | "MatMul" => {
            let (a, b) = (get(0)?, get(1)?);
            let gemm = n.op_type == "Gemm";
            if a.dims.len() != 2 || b.dims.len() != 2 {
                return Err(ctx.err(n, format!("only 2-D operands are supported, got {:?} and {:?}", a.dims, b.dims)));
            }
            // alpha and beta other than 1 multiply with f fractional bits, rounded.
            let alpha = (gemm && attr_f(n, "alpha", 1.0) != 1.0).then(|| i128::from(quantize(f64::from(attr_f(n, "alpha", 1.0)), f)));
            let beta = (gemm && attr_f(n, "beta", 1.0) != 1.0).then(|| i128::from(quantize(f64::from(attr_f(n, "beta", 1.0)), f)));
            let ta = gemm && attr_i(n, "transA", 0) != 0;
            let tb = gemm && attr_i(n, "transB", 0) != 0;
            let (m, k) = if ta { (a.dims[1], a.dims[0]) } else { (a.dims[0], a.dims[1]) };
            let (k2, nn) = if tb { (b.dims[1], b.dims[0]) } else { (b.dims[0], b.dims[1]) };
            if k != k2 {
                return Err(ctx.err(n, format!("inner dimensions {k} and {k2} differ")));
            }
            let at = |i: usize, j: usize| if ta { a.data[j * m + i] } else { a.data[i * k + j] };
            let bt = |i: usize, j: usize| if tb { b.data[j * k + i] } else { b.data[i * nn + j] };
            let frac = a.frac_bits + b.frac_bits;
            let c = if gemm && opt_input(n, 2) { Some(get(2)?) } else { None };
            if c.is_some_and(|c| broadcast(&c.dims, &[m, nn]).as_deref() != Some(&[m, nn][..])) {
                return Err(ctx.err(n, "C does not broadcast to the output"));
            }
            let mut data = Vec::with_capacity(m * nn);
            for i in 0..m {
                for j in 0..nn {
                    let mut acc: i128 = 0;
                    for p in 0..k {
                        acc += i128::from(at(i, p)) * i128::from(bt(p, j));
                    }
                    if let Some(al) = alpha {
                        acc = rescale(acc * al, f);
                    }
                    if let Some(c) = c {
                        let cv = i128::from(c.data[bcast_index(&c.dims, &[m, nn], i * nn + j)]);
                        let cv = beta.map_or(cv, |be| rescale(cv * be, f));
                        acc += ops::align(cv, c.frac_bits, frac);
                    }
                    data.push(acc);
                }
            }
            let out_frac = frac.min(f);
            ctx.check_acc(n, &data, frac)?;
            Ok(QTensor { dims: vec![m, nn], data: data.into_iter().map(|v| rescale(v, frac - out_frac) as i64).collect(), frac_bits: out_frac })
        }
        "Conv" => {
            let (x, w) = (get(0)?, get(1)?);
            if x.dims.len() != 4 || w.dims.len() != 4 {
                return Err(ctx.err(n, "only 2-D convolutions (NCHW) are supported"));
            }
            let (bn, c, h, wd) = (x.dims[0], x.dims[1], x.dims[2], x.dims[3]);
            let (oc, icg, kh, kw) = (w.dims[0], w.dims[1], w.dims[2], w.dims[3]);
            let group = usize::try_from(attr_i(n, "group", 1)).unwrap_or(0);
            if group == 0 || icg.checked_mul(group) != Some(c) || oc % group != 0 {
                return Err(ctx.err(n, format!("channels {c}, weight {:?} and group {group} do not fit", w.dims)));
            }
            let strides = attr_ints(n, "strides").unwrap_or(vec![1, 1]);
            let dil = attr_ints(n, "dilations").unwrap_or(vec![1, 1]);
            if strides.len() != 2 || dil.len() != 2 || strides.iter().chain(&dil).any(|&v| !(1..=ops::MAX_WINDOW).contains(&v)) || kh == 0 || kw == 0 {
                return Err(ctx.err(n, format!("strides {strides:?}, dilations {dil:?} or kernel {kh}x{kw} are invalid")));
            }
            let (sh, sw, dh, dw) = (strides[0] as usize, strides[1] as usize, dil[0] as usize, dil[1] as usize);
            let (ekh, ekw) = (dh * (kh - 1) + 1, dw * (kw - 1) + 1);
            let (pb0, pe0) = ops::window_pads_nd(n, &[h, wd], &[ekh, ekw], &[sh, sw]).map_err(|e| ctx.err(n, e))?;
            let [pt, pl, pb, pr] = [pb0[0], pb0[1], pe0[0], pe0[1]];
            if h + pt + pb < ekh || wd + pl + pr < ekw {
                return Err(ctx.err(n, format!("kernel {ekh}x{ekw} is larger than the padded input {:?}", x.dims)));
            }
            let oh = (h + pt + pb - ekh) / sh + 1;
            let ow = (wd + pl + pr - ekw) / sw + 1;
            let frac = x.frac_bits + w.frac_bits;
            let bias = if opt_input(n, 2) { Some(get(2)?) } else { None };
            if bias.is_some_and(|b| b.data.len() != oc) {
                return Err(ctx.err(n, format!("the bias does not have {oc} values")));
            }
            let ocg = oc / group;
            let geom = ConvGeom { c, h, wd, icg, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow };
            // Products summed in i64 when no partial sum can pass 2^62 (bounded by the largest
            // magnitudes), else in i128; the same sum either way.
            let narrow = sums_fit_i64(&x.data, &w.data, bias.map_or(0, |b| bits_max(&b.data) + frac - b.frac_bits.min(frac)), icg * kh * kw);
            let plane = oh * ow;
            let mut data = vec![0i64; bn * oc * plane];
            let out_frac = f.min(frac);
            if plane > 0 {
                data.par_chunks_mut(plane).enumerate().try_for_each(|(bo, out)| -> Result<(), OnnxError> {
                    let (b, o) = (bo / oc, bo % oc);
                    let init = bias.map_or(0, |bt| ops::align(i128::from(bt.data[o]), bt.frac_bits, frac));
                    let accs: Vec<i128> = if narrow {
                        conv_plane::<i64>(&geom, &x.data, &w.data, b, o, o / ocg, init as i64)
                    } else {
                        conv_plane::<i128>(&geom, &x.data, &w.data, b, o, o / ocg, init)
                    };
                    ctx.check_acc(n, &accs, frac)?;
                    for (dst, acc) in out.iter_mut().zip(accs) {
                        *dst = rescale(acc, frac - out_frac) as i64;
                    }
                    Ok(())
                })?;
            }
            Ok(QTensor { dims: vec![bn, oc, oh, ow], data, frac_bits: out_frac })
        }
        "MaxPool" | "AveragePool" | "GlobalAveragePool" | "GlobalMaxPool" => Ok(ops::pool(ctx, n, get(0)?)?.swap_remove(0)),
        "Sigmoid" => ops::unary_lut(ctx, n, get(0)?, Func::Sigmoid),
        "Tanh" => ops::unary_lut(ctx, n, get(0)?, Func::Tanh),
        "Exp" => ops::unary_lut(ctx, n, get(0)?, Func::Exp),
        "Erf" => ops::unary_lut(ctx, n, get(0)?, Func::Erf),
        "Tan" => ops::unary_lut(ctx, n, get(0)?, Func::Tan),
        "Softmax" | "LogSoftmax" => ops::softmax(ctx, n, get(0)?),
        "Log" => ops::log(ctx, n, get(0)?),
        "Softplus" => ops::softplus(ctx, n, get(0)?),
        "Sqrt" => ops::sqrt(ctx, n, get(0)?),
        "Pow" => ops::pow(ctx, n, get),
        "Reciprocal" => ops::reciprocal(ctx, n, get(0)?),
        "Gelu" => ops::gelu(ctx, n, get(0)?),
        "LeakyRelu" => ops::leaky_relu(ctx, n, get(0)?),
        "Neg" => {
            let a = get(0)?;
            Ok(QTensor { dims: a.dims.clone(), data: a.data.iter().map(|v| v.saturating_neg()).collect(), frac_bits: a.frac_bits })
        }
        "Not" => {
            let a = get(0)?;
            Ok(QTensor { dims: a.dims.clone(), data: a.data.iter().map(|&v| i64::from(v == 0)).collect(), frac_bits: 0 })
        }
        "Equal" | "Greater" | "GreaterOrEqual" | "Less" | "LessOrEqual" => ops::compare(ctx, n, get(0)?, get(1)?),
        "And" | "Or" | "Xor" => ops::logic(ctx, n, get(0)?, get(1)?, &n.op_type),
        "Where" => ops::where_op(ctx, n, get),
        "Clip" => ops::clip(ctx, n, get),
        "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" => ops::reduce(ctx, n, get),
        "ScatterND" => ops::scatter_nd(ctx, n, get),
        "BatchNormalization" => Ok(ops::batch_norm(ctx, n, get)?.swap_remove(0)),
        "Pad" => ops::pad(ctx, n, get),
        op => Err(OnnxError::UnsupportedOp { path: ctx.path.into(), node: n.name.clone(), op: op.into(), opset: ctx.opset }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At the edge of `sums_fit_i64`, the worst case (every product at its largest, same sign)
    /// sums in i64 without overflow (debug builds would panic) and equals the i128 sum.
    #[test]
    fn narrow_sums_cannot_overflow() {
        for bx in [1u32, 20, 30, 40] {
            for terms in [1usize, 9, 27, 300, 4096] {
                for bw in (1..62u32.saturating_sub(bx)).rev() {
                    let x = vec![-(1i64 << (bx - 1)) - ((1i64 << (bx - 1)) - 1); terms];
                    let w = vec![(1i64 << (bw - 1)) + ((1i64 << (bw - 1)) - 1); terms];
                    if !sums_fit_i64(&x, &w, 0, terms) {
                        continue;
                    }
                    let g = ConvGeom { c: 1, h: 1, wd: terms, icg: 1, kh: 1, kw: terms, sh: 1, sw: 1, dh: 1, dw: 1, pt: 0, pl: 0, oh: 1, ow: 1 };
                    let narrow = conv_plane::<i64>(&g, &x, &w, 0, 0, 0, 0);
                    let wide = conv_plane::<i128>(&g, &x, &w, 0, 0, 0, 0);
                    assert_eq!(narrow, wide);
                    // The bound is tight to a few bits: the largest fitting weight width.
                    assert!(bx + bw + (64 - (terms as u64 + 1).leading_zeros()) >= 61, "{bx} {bw} {terms}");
                    break;
                }
            }
        }
    }
}
