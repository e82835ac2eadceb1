//! Why a proof was rejected.

use alloc::string::String;

/// A commitment phase, named in Merkle errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Preprocessed,
    Main,
    Lookup,
    Quotient,
    /// Committed FRI layer `k` (1-based: layer 0 is not committed).
    FriLayer(usize),
}

/// Every way a proof can fail verification. The verifier returns one of these on any input and
/// never panics.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("proof bytes end before the end of the header")]
    Truncated,
    #[error("proof is {found} bytes; proofs of this circuit are {expected}")]
    WrongSize { expected: usize, found: usize },
    #[error("proof is {size} bytes, above the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("the proof's context is {len} bytes, above the limit of {limit}")]
    ContextTooLong { len: usize, limit: usize },
    #[error("not a Sigil proof (bad magic)")]
    BadMagic,
    #[error("unsupported proof format version {0}")]
    UnsupportedVersion(u16),
    #[error("unsupported field id {0}")]
    UnsupportedField(u8),
    #[error("unsupported hash id {0}")]
    UnsupportedHash(u8),
    #[error("proof is for another circuit")]
    WrongCircuit,
    #[error("preprocessed commitments do not match the circuit id")]
    CircuitIdMismatch,
    #[error("proof has {parameter} = {found}; the circuit fixes {expected}")]
    ParameterMismatch { parameter: &'static str, expected: u64, found: u64 },
    #[error("proof has table `{chip}` at 2^{found} rows; the circuit fixes 2^{expected}")]
    HeightMismatch { chip: String, expected: u64, found: u64 },
    #[error("conjectured security {bits} bits is below the required {required}")]
    InsufficientSecurity { bits: u32, required: u32 },
    #[error("{expected} public values expected, {found} given")]
    PublicValuesLength { expected: usize, found: usize },
    #[error("public value {index} is not {} integer of {bits} bits, as the circuit's readers of it assume", if *unsigned { "an unsigned" } else { "a signed" })]
    PublicValueOutOfRange { index: usize, bits: u32, unsigned: bool },
    #[error("invalid proof shape: {0}")]
    InvalidShape(&'static str),
    #[error("non-canonical field element in {0}")]
    NonCanonical(&'static str),
    #[error("the out-of-domain point falls in a trace domain")]
    OodPointInDomain,
    #[error("the buses do not balance")]
    BusImbalance,
    #[error("a public tuple's fingerprint is zero (a challenge fell on it)")]
    ZeroFingerprint,
    #[error("constraints of `{chip}` (the tables sharing one quotient) do not match it at the out-of-domain point")]
    OodMismatch { chip: String },
    #[error("query {query}: Merkle path of {phase:?} commitment does not reach its root")]
    MerklePath { phase: Phase, query: usize },
    #[error("query {query}: FRI layer {layer} is inconsistent with the layer below")]
    FriFoldMismatch { query: usize, layer: usize },
    #[error("query {query}: the final FRI polynomial does not match the last layer")]
    FinalPolyMismatch { query: usize },
    #[error("invalid proof-of-work nonce")]
    InvalidPowNonce,
    #[error("query {query}: index differs from the one drawn from the transcript")]
    QueryIndexMismatch { query: usize },
}
