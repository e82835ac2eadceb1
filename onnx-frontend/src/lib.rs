//! # sigil-onnx
//!
//! The ONNX frontend (parsing, quantization to fixed point, lowering to chips, the integer
//! executor) will live here. It is not built yet: this crate is empty, and nothing uses it.
