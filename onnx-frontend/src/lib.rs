//! # sigil-onnx
//!
//! The ONNX frontend of Sigil. This version parses models into a typed graph IR:
//!
//! 1. [`load_model`] (or [`parse_model`] on bytes) decodes the protobuf with bounded sizes and
//!    recursion, and returns a [`Model`] or an [`OnnxError`] naming the file and what is wrong;
//! 2. [`Model::summary`] lists opsets, inputs, outputs, operators and parameter counts
//!    (what `sigil inspect` prints);
//! 3. [`read_inputs`] reads an `input.json` as EZKL and DSperse write it and checks it against
//!    the model's inputs.
//!
//! Quantization, shape inference, lowering to chips and the integer executor come next (see
//! `../shared/DESIGN.md`); nothing here claims to run a model yet.

pub mod error;
pub mod exec;
pub mod input;
pub mod lut;
mod ops;
pub mod model;
pub mod tensor;

/// The ONNX protobuf types, generated at build time from the vendored `proto/onnx.proto`.
#[allow(missing_docs, missing_debug_implementations, clippy::all)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
}

pub use error::OnnxError;
pub use exec::{Execution, QTensor, execute};
pub use input::{InputTensor, parse_inputs, read_inputs};
pub use model::{
    Attribute, Dim, ElemType, Graph, Model, ModelSummary, Node, ValueInfo, load_model, parse_model,
};
pub use tensor::{Tensor, TensorData};
