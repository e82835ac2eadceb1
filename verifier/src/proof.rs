//! The proof format: a versioned header, then the body. Serialized with serde (postcard);
//! field elements travel as canonical little-endian `u64`s and are checked on the way in.

use alloc::vec::Vec;
use core::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::hash::Digest;
use crate::merkle::Cap;

/// The first four bytes of every proof.
pub const MAGIC: [u8; 4] = *b"SGL\x01";
/// The current proof format version.
pub const FORMAT_VERSION: u16 = 1;
/// Field identifier: Goldilocks with its quadratic extension `X^2 - 7`.
pub const FIELD_GOLDILOCKS_EXT2: u8 = 1;

/// A circuit id: the hash of a circuit's description and its preprocessed commitments.
pub type CircuitId = Digest;

/// A list of field-element words (base-field elements, or extension elements as pairs),
/// serialized as little-endian bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Words(pub Vec<u64>);

impl Serialize for Words {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(self.0.len() * 8);
        for w in &self.0 {
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        s.serialize_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for Words {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Words;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string whose length is a multiple of 8")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Words, E> {
                if !v.len().is_multiple_of(8) {
                    return Err(E::invalid_length(v.len(), &self));
                }
                Ok(Words(
                    v.chunks_exact(8)
                        .map(|c| {
                            let mut b = [0u8; 8];
                            b.copy_from_slice(c);
                            u64::from_le_bytes(b)
                        })
                        .collect(),
                ))
            }
            fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Words, E> {
                self.visit_bytes(v)
            }
        }
        d.deserialize_bytes(V)
    }
}

/// The header: what the proof claims about itself, checked before anything else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleOpening {
    pub values: Words,
    pub siblings: Vec<Digest>,
}

/// Everything opened for one query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryProof {
    /// The query's index into the first FRI layer's pairs (`< N_max / 2`).
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    pub header: ProofHeader,
    /// log2 of every table's height, in circuit order.
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

impl Proof {
    /// Serializes the proof.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing into a Vec cannot fail for these types.
        postcard::to_allocvec(self).unwrap_or_default()
    }
}
