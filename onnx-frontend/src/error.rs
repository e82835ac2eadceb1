//! Errors of the ONNX frontend: each names the file, node, tensor or field at fault.

/// Why a model could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: the file is empty")]
    Empty { path: String },
    #[error("{path}: {size} bytes is above the limit of {limit}")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("{path}: not an ONNX model (protobuf decoding failed: {reason})")]
    Decode { path: String, reason: String },
    #[error("{path}: the model has no graph")]
    MissingGraph { path: String },
    #[error("{path}: tensor `{tensor}`: {reason}")]
    BadTensor { path: String, tensor: String, reason: String },
    #[error("{path}: node `{node}` ({op}): {reason}")]
    BadNode { path: String, node: String, op: String, reason: String },
    #[error("{path}: {reason}")]
    BadInput { path: String, reason: String },
    #[error("{path}: node `{node}`: operator {op} (opset {opset}) is not supported yet")]
    UnsupportedOp { path: String, node: String, op: String, opset: i64 },
    #[error("{path}: node `{node}` ({op}): value {value} needs {bits} bits, above its range of {limit} bits")]
    OutOfRange { path: String, node: String, op: String, value: f64, bits: u32, limit: u32 },
    #[error("{path}: value `{value}`: {reason}")]
    BadValueInfo { path: String, value: String, reason: String },
}
