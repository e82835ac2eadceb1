//! # sigil-onnx
//!
//! The ONNX frontend of Sigil: from an ONNX file and an input to the integer computation the
//! circuit proves.
//!
//! 1. [`load_model`] (or [`parse_model`] on bytes) decodes the protobuf with bounded sizes and
//!    recursion, and returns a typed [`Model`] or an [`OnnxError`] naming the file and what is
//!    wrong; [`Model::summary`] lists opsets, inputs, outputs, operators and parameter counts;
//! 2. [`read_inputs`] reads an `input.json` as EZKL and DSperse write it and checks it against
//!    the model's inputs;
//! 3. [`lower`] folds BatchNormalization into Conv/Gemm, quantizes with per-tensor
//!    power-of-two scales, folds constants and calibrates every value's bit range, giving a
//!    [`Plan`];
//! 4. [`Plan::execute`] runs the plan in fixed point exactly as the circuit will and returns
//!    the outputs and every intermediate value (the witness); [`execute`] does 3 and 4 in one.
//!
//! ```no_run
//! use sigil_onnx::{LowerOptions, load_model, lower, read_inputs};
//! let model = load_model("model.onnx")?;
//! let input = read_inputs("input.json", &model)?;
//! let plan = lower(&model, &[input.clone()], &LowerOptions::default(), "model.onnx")?;
//! let run = plan.execute(&input)?;
//! for (name, dims, values) in &run.outputs {
//!     println!("{name} {dims:?} {values:?}");
//! }
//! # Ok::<(), sigil_onnx::OnnxError>(())
//! ```

pub mod attrs;
pub mod circuit;
pub mod error;
pub mod exec;
pub mod fixed;
pub mod input;
pub mod io;
pub mod lower;
pub mod lut;
mod ops;
pub mod registry;
pub mod model;
pub mod tensor;

/// The ONNX protobuf types, generated at build time from the vendored `proto/onnx.proto`.
#[allow(missing_docs, missing_debug_implementations, clippy::all)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
}

pub use error::OnnxError;
pub use exec::{Execution, MAX_BITS, QTensor};
pub use registry::{Family, Op};
pub use input::{InputTensor, parse_inputs, read_inputs, read_samples};
pub use lower::{execute, Describe, InputDomain, LowerOptions, Plan, ValueRange, fold_batchnorm, lower, lower_and_run, filled_inputs};
pub use ops::common::{align, attr_s, window_pads_nd};
pub use model::{
    Attribute, Dim, ElemType, Graph, Model, ModelSummary, Node, ValueInfo, load_model, parse_model, read_model,
};
pub use tensor::{Tensor, TensorData};
