//! A circuit: the chips of a proof, what their symbolic evaluation tells, and its id.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use sigil_air::{BusId, Chip, ChipDefinitionError, ChipInfo};

use crate::hash::{ActiveHasher, Digest, Hasher};
use crate::proof::CircuitId;

/// Why a set of chips does not make a circuit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CircuitError {
    #[error("{0}")]
    Chip(ChipDefinitionError),
    #[error("a circuit needs at least one chip")]
    Empty,
    #[error("bus {bus} is used with {a} and with {b} fields")]
    BusArity { bus: BusId, a: usize, b: usize },
    #[error("chip `{chip}` reads public value {index}, but the circuit has {n_publics}")]
    PublicOutOfRange { chip: String, index: usize, n_publics: usize },
    #[error("two chips are named `{0}`")]
    DuplicateName(String),
}

/// The chips of a proof, in order, with their inferred shapes.
pub struct Circuit {
    pub name: String,
    pub chips: Vec<Box<dyn Chip>>,
    pub infos: Vec<ChipInfo>,
    pub n_publics: usize,
    /// Hash of every chip's description; with the preprocessed roots it makes the circuit id.
    pub description_hash: Digest,
}

impl core::fmt::Debug for Circuit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Circuit")
            .field("name", &self.name)
            .field("chips", &self.infos.iter().map(|i| &i.name).collect::<Vec<_>>())
            .field("n_publics", &self.n_publics)
            .finish()
    }
}

impl Circuit {
    /// Builds a circuit from its chips and the number of public values.
    pub fn new(
        name: impl Into<String>,
        chips: Vec<Box<dyn Chip>>,
        n_publics: usize,
    ) -> Result<Self, CircuitError> {
        if chips.is_empty() {
            return Err(CircuitError::Empty);
        }
        let mut infos = Vec::with_capacity(chips.len());
        let mut arity: BTreeMap<BusId, usize> = BTreeMap::new();
        for c in &chips {
            let info = ChipInfo::of(c.as_ref()).map_err(CircuitError::Chip)?;
            if infos.iter().any(|i: &ChipInfo| i.name == info.name) {
                return Err(CircuitError::DuplicateName(info.name));
            }
            if info.n_publics_read > n_publics {
                return Err(CircuitError::PublicOutOfRange {
                    chip: info.name,
                    index: info.n_publics_read - 1,
                    n_publics,
                });
            }
            for i in &info.interactions {
                let a = *arity.entry(i.bus).or_insert(i.arity);
                if a != i.arity {
                    return Err(CircuitError::BusArity { bus: i.bus, a, b: i.arity });
                }
            }
            infos.push(info);
        }
        let name = name.into();
        let mut parts: Vec<&[u8]> = Vec::new();
        let n = (infos.len() as u64).to_le_bytes();
        let np = (n_publics as u64).to_le_bytes();
        parts.push(b"sigil-circuit-v1");
        parts.push(&n);
        parts.push(&np);
        for i in &infos {
            parts.push(&i.description);
        }
        let description_hash = ActiveHasher::hash_bytes(&parts);
        Ok(Self { name, chips, infos, n_publics, description_hash })
    }

    /// Number of tables.
    pub fn n_tables(&self) -> usize {
        self.chips.len()
    }

    /// The circuit id for a blowup, a folding factor and the preprocessed commitments (one
    /// Merkle cap per group).
    pub fn circuit_id(&self, log_blowup: u8, log_folding_factor: u8, prep_caps: &[crate::merkle::Cap]) -> CircuitId {
        let params = [log_blowup, log_folding_factor];
        let mut parts: Vec<&[u8]> = alloc::vec![b"sigil-circuit-id-v1", &self.description_hash, &params];
        let sizes: Vec<[u8; 8]> = prep_caps.iter().map(|c| (c.len() as u64).to_le_bytes()).collect();
        for (c, n) in prep_caps.iter().zip(&sizes) {
            parts.push(n);
            parts.push(c.as_flattened());
        }
        ActiveHasher::hash_bytes(&parts)
    }
}
