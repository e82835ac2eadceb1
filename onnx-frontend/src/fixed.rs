//! Fixed-point values and the helpers every operator of the executor shares: the base layer
//! of the frontend (the executor, the op families, the tables and lowering build on it; it
//! builds on nothing of theirs).
//!
//! Numbers are signed integers `q` standing for `q / 2^k` where `k` (the tensor's `frac_bits`) is
//! a per-tensor power-of-two scale chosen by [`crate::lower`]; see [`crate::exec`] for the
//! rounding rules.

use std::collections::BTreeMap;


use crate::error::OnnxError;
use crate::model::{Attribute, Node};
use crate::tensor::{Tensor, TensorData};

/// Magnitude bound of every value, well inside the Goldilocks field (64 bits).
pub const MAX_BITS: u32 = 60;

/// What an infinite constant becomes: 2^14 of its sign, far past where the tables of
/// exponentials and the other functions are flat (`exp(-2^14)` is 0 at every precision), so a
/// mask of `-inf` zeroes its Softmax weights, while staying 30 bits at 16 fractional bits
/// (`docs/quantization.md`).
pub const INFINITY: f64 = 16384.0;

/// The most elements a tensor may have (a shape from the model cannot make the executor
/// allocate without bound).
pub const MAX_ELEMENTS: usize = 1 << 28;

/// The element count of `dims`, or an error above [`MAX_ELEMENTS`]. The product of the
/// non-zero dimensions is bounded too: a tensor with an empty axis has no element, but loops
/// over its other axes (`[2^40, 0]`) must stay bounded.
pub(crate) fn checked_numel(dims: &[usize]) -> Result<usize, String> {
    let nonzero = dims.iter().filter(|&&d| d != 0).try_fold(1usize, |acc, &d| acc.checked_mul(d)).filter(|&n| n <= MAX_ELEMENTS);
    match nonzero {
        Some(n) => Ok(if dims.contains(&0) { 0 } else { n }),
        None => Err(format!("shape {dims:?} has more than {MAX_ELEMENTS} elements (or, with an empty axis, its other axes do)")),
    }
}

/// A tensor of the executor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QTensor {
    pub dims: Vec<usize>,
    pub data: Vec<i64>,
    /// Fractional bits: `f` for real values, 0 for exact integers (shapes, indices).
    pub frac_bits: u32,
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
    /// The error for an operator the registry does not know.
    pub(crate) fn unsupported(&self, n: &Node) -> OnnxError {
        OnnxError::UnsupportedOp { path: self.path.into(), node: n.name.clone(), op: n.op_type.clone(), opset: self.opset }
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
        let check = |x: f64| {
            // An infinite constant (a mask's `-inf`, as `masked_fill` exports it) stands for
            // [`INFINITY`] of its sign: past where every function's table is flat.
            let x = if x.is_infinite() { INFINITY.copysign(x) } else { x };
            if x.is_finite() && x.abs() < (1u64 << (MAX_BITS - f.min(MAX_BITS))) as f64 {
                Ok(quantize(x, f))
            } else {
                Err(format!("value {x} cannot be represented with {f} fractional bits in {MAX_BITS} bits"))
            }
        };
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

/// How an operator reads its inputs: input `k`, computed or constant.
pub(crate) type Get<'a> = dyn Fn(usize) -> Result<&'a QTensor, OnnxError> + 'a;
