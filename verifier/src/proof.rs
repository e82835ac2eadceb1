//! The proof format: a fixed-width header, then the body, every number little-endian at a fixed
//! width. No length is written: every count follows from the circuit ([`crate::ProofLayout`]),
//! so a proof of a circuit has exactly one size, the decoder checks it before it allocates
//! anything, and one proof has exactly one byte string (the decoder also refuses field elements
//! that are not canonical), so a proof's hash identifies it.

use alloc::vec::Vec;

use crate::hash::Digest;
use crate::merkle::Cap;

/// The first four bytes of every proof.
pub const MAGIC: [u8; 4] = *b"SGL\x01";
/// The current proof format version: 2 is fixed-width, with heights and every parameter
/// bound by the circuit id; 3 opens one row of every table per query; 4 has no LogUp helper
/// column for a table's last batch (`sigil-circuit-v3`).
pub const FORMAT_VERSION: u16 = 4;
/// Field identifier: Goldilocks with its quadratic extension `X^2 - 7`.
pub const FIELD_GOLDILOCKS_EXT2: u8 = 1;
/// Size of the encoded header.
pub const HEADER_BYTES: usize = 4 + 2 + 1 + 1 + 1 + 2 + 1 + 1 + 1 + 32;

/// A circuit id: the hash of a circuit's description and its preprocessed commitments.
pub type CircuitId = Digest;

/// A list of field-element words (base-field elements, or extension elements as pairs),
/// encoded as little-endian `u64`s.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Words(pub Vec<u64>);

/// The header: what the proof claims about itself, checked before anything else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofHeader {
    pub magic: [u8; 4],
    pub version: u16,
    pub field: u8,
    pub hash: u8,
    pub log_blowup: u8,
    pub n_queries: u16,
    pub grinding_bits: u8,
    pub log_final_poly_len: u8,
    pub log_folding_factor: u8,
    pub circuit_id: CircuitId,
}

/// A Merkle opening of one leaf: its values (the coset of rows of every table in the group)
/// and the sibling digests from the leaf up to the cap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleOpening {
    pub values: Words,
    pub siblings: Vec<Digest>,
}

/// Everything opened for one query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryProof {
    /// The query's index into the first FRI layer's cosets (`< 2^query_index_bits`).
    pub index: u64,
    /// One opening per group of each commitment phase, in group order.
    pub prep: Vec<MerkleOpening>,
    pub main: Vec<MerkleOpening>,
    pub perm: Vec<MerkleOpening>,
    pub quotient: Vec<MerkleOpening>,
    /// One opening per committed FRI layer; each holds the layer's folding coset (two words
    /// per extension element).
    pub fri_layers: Vec<MerkleOpening>,
}

/// The values of one table's polynomials at the out-of-domain point `z` (`*_local`) and at
/// `z * g` (`*_next`), as extension elements (pairs of words). LogUp and quotient columns are
/// opened coordinate by coordinate (two base columns per extension column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableOpenings {
    pub prep_local: Words,
    pub prep_next: Words,
    pub main_local: Words,
    pub main_next: Words,
    pub perm_local: Words,
    pub perm_next: Words,
    pub quotient: Words,
}

/// The FRI part of a proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FriProof {
    /// Roots of the committed layers 1..L (layer 0 is not committed: the verifier computes it
    /// from the table openings).
    pub layer_roots: Vec<Cap>,
    /// Coefficients of the last layer's polynomial, as extension elements (pairs of words).
    pub final_poly: Words,
    pub pow_nonce: u64,
    pub queries: Vec<QueryProof>,
}

/// A Sigil STARK proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    pub header: ProofHeader,
    /// log2 of every table's height, in circuit order: a copy of the circuit's, so that a proof
    /// made for other heights is refused by name.
    pub log_heights: Vec<u8>,
    /// Commitments (Merkle caps), one per group of tables of equal height (tallest first).
    pub prep_roots: Vec<Cap>,
    pub main_roots: Vec<Cap>,
    pub perm_roots: Vec<Cap>,
    /// The LogUp sum of every table with interactions (extension elements as word pairs).
    pub cumulative_sums: Words,
    pub quotient_roots: Vec<Cap>,
    pub openings: Vec<TableOpenings>,
    pub fri: FriProof,
}

/// Appends the fixed-width encoding of proof parts.
#[derive(Debug, Default)]
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    pub(crate) fn words(&mut self, w: &Words) {
        for v in &w.0 {
            self.u64(*v);
        }
    }
    pub(crate) fn caps(&mut self, caps: &[Cap]) {
        for c in caps {
            self.bytes(c.as_flattened());
        }
    }
    pub(crate) fn opening(&mut self, o: &MerkleOpening) {
        self.words(&o.values);
        self.bytes(o.siblings.as_flattened());
    }
}

impl ProofHeader {
    /// The header's encoding: what the transcript absorbs first.
    pub fn to_bytes(&self) -> [u8; HEADER_BYTES] {
        let mut out = [0u8; HEADER_BYTES];
        let mut w = Writer(Vec::with_capacity(HEADER_BYTES));
        w.bytes(&self.magic);
        w.bytes(&self.version.to_le_bytes());
        w.bytes(&[self.field, self.hash, self.log_blowup]);
        w.bytes(&self.n_queries.to_le_bytes());
        w.bytes(&[self.grinding_bits, self.log_final_poly_len, self.log_folding_factor]);
        w.bytes(&self.circuit_id);
        out.copy_from_slice(&w.0);
        out
    }

    /// Reads a header from the first [`HEADER_BYTES`] bytes; `None` if there are fewer.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let b: &[u8; HEADER_BYTES] = bytes.get(..HEADER_BYTES)?.try_into().ok()?;
        let [m0, m1, m2, m3, v0, v1, field, hash, log_blowup, q0, q1, grinding_bits, log_final_poly_len, log_folding_factor, id @ ..] = *b;
        Some(Self {
            magic: [m0, m1, m2, m3],
            version: u16::from_le_bytes([v0, v1]),
            field,
            hash,
            log_blowup,
            n_queries: u16::from_le_bytes([q0, q1]),
            grinding_bits,
            log_final_poly_len,
            log_folding_factor,
            circuit_id: id,
        })
    }
}

impl Proof {
    /// Encodes the proof. Its length is [`crate::ProofLayout::size`] of its circuit.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.bytes(&self.header.to_bytes());
        w.bytes(&self.log_heights);
        w.caps(&self.prep_roots);
        w.caps(&self.main_roots);
        w.caps(&self.perm_roots);
        w.words(&self.cumulative_sums);
        w.caps(&self.quotient_roots);
        for o in &self.openings {
            for x in [&o.prep_local, &o.prep_next, &o.main_local, &o.main_next, &o.perm_local, &o.perm_next, &o.quotient] {
                w.words(x);
            }
        }
        w.caps(&self.fri.layer_roots);
        w.words(&self.fri.final_poly);
        w.u64(self.fri.pow_nonce);
        for q in &self.fri.queries {
            w.u64(q.index);
            for o in q.prep.iter().chain(&q.main).chain(&q.perm).chain(&q.quotient).chain(&q.fri_layers) {
                w.opening(o);
            }
        }
        w.0
    }
}
