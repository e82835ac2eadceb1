//! The operators of the integer executor, one module per op family; the circuit's chips for
//! the same family live in `sigil_air::chips` (named in each module's docs).
//!
//! | module | operators |
//! |---|---|
//! | [`linear`] | Conv, Gemm, MatMul |
//! | [`pool`] | MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool |
//! | [`elementwise`] | Add, Sub, Mul, Div, Min, Max, Abs, Neg, Relu, LeakyRelu, Clip, Sqrt, Pow, Reciprocal |
//! | [`nonlinear`] | Sigmoid, Tanh, Exp, Erf, Tan, Log, Softplus, Softmax, LogSoftmax, Gelu |
//! | [`logic`] | Equal, Greater, GreaterOrEqual, Less, LessOrEqual, And, Or, Xor, Not, Where |
//! | [`reduce`] | ReduceSum, ReduceMean, ReduceMax, ReduceMin |
//! | [`norm`] | BatchNormalization, LayerNormalization |
//! | [`movement`] | Constant, Identity, Dropout, Shape, ConstantOfShape, Cast, Squeeze, Unsqueeze, Flatten, Reshape, Concat, Gather, Slice, Transpose, Expand, Pad, ScatterND |
//! | [`lstm`] | LSTM |
//!
//! [`run`] dispatches a node to its family ([`crate::registry`]); the operators with several outputs (LSTM,
//! LayerNormalization, BatchNormalization in training mode, MaxPool with Indices) go through
//! their family's function from `crate::exec::run_one`.
//!
//! Every operator works on exact integers with the rounding the circuit proves: rescales round
//! half up ([`rescale`]), divisions round half up ([`div_round`]), square roots round to nearest
//! ([`isqrt_round`]), and non-linear functions go through [`Func`]'s tables.

pub(crate) mod elementwise;
pub(crate) mod linear;
pub(crate) mod logic;
pub(crate) mod lstm;
pub(crate) mod movement;
pub(crate) mod nonlinear;
pub(crate) mod norm;
pub(crate) mod pool;
pub(crate) mod reduce;

pub mod common;

pub(crate) use common::param_frac;
pub(crate) use lstm::lstm;
pub(crate) use norm::{batch_norm, bn_affine, layer_norm};
pub(crate) use pool::pool;

use crate::fixed::{Ctx, Get, QTensor};
use crate::model::Node;
use crate::registry::Family;
use common::R;

/// Runs one single-output node through its family's executor ([`crate::registry`] says
/// which); an operator the registry does not know is [`OnnxError::UnsupportedOp`].
pub(crate) fn run<'a>(ctx: &Ctx<'_>, n: &Node, get: &Get<'a>) -> R<QTensor> {
    let Some(op) = n.op else { return Err(ctx.unsupported(n)) };
    match op.family() {
        Family::Movement => movement::run(ctx, n, get),
        Family::Elementwise => elementwise::run(ctx, n, get),
        Family::Logic => logic::run(ctx, n, get),
        Family::Linear => linear::run(ctx, n, get),
        Family::Pool => pool::run(ctx, n, get),
        Family::Nonlinear => nonlinear::run(ctx, n, get),
        Family::Reduce => reduce::run(ctx, n, get),
        Family::Norm => norm::run(ctx, n, get),
        // Several outputs: `crate::exec::run_one` calls it.
        Family::Lstm => Err(ctx.err(n, "LSTM runs with its outputs together")),
    }
}
