//! A circuit: the chips of a proof, the height of each table, the proof options, what the
//! chips' symbolic evaluation tells, and the circuit id that binds all of it.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use sigil_air::info::Description;
use p3_field::PrimeCharacteristicRing;
use sigil_air::{BusId, Chip, ChipDefinitionError, ChipInfo, Direction, F};

use crate::hash::{ActiveHasher, Digest, Domain, Hasher};
use crate::layout::ProofLayout;
use crate::merkle::Cap;
use crate::proof::CircuitId;
use crate::protocol::{MAX_LOG_HEIGHT, PhaseWidths, ProofOptions, fri_layers, quotient_owners};
use crate::security::{Security, TableShape, security};

/// Why a set of chips does not make a circuit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CircuitError {
    #[error("{0}")]
    Chip(ChipDefinitionError),
    #[error("a circuit needs at least one chip")]
    Empty,
    #[error("{chips} chips but {heights} heights")]
    HeightCount { chips: usize, heights: usize },
    #[error("chip `{chip}`: height 2^{log_height} must be between 2^1 and 2^{max}")]
    Height { chip: String, log_height: usize, max: usize },
    #[error("chip `{chip}`: height 2^{log_height} differs from its preprocessed height {prep_height}")]
    PreprocessedHeight { chip: String, log_height: usize, prep_height: usize },
    #[error("chip `{chip}`: constraint degree {degree} needs a blowup of at least {needed}")]
    DegreeTooHigh { chip: String, degree: usize, needed: usize },
    #[error("invalid proof options: {0}")]
    Options(&'static str),
    #[error("bus {bus} is used with {a} and with {b} fields")]
    BusArity { bus: BusId, a: usize, b: usize },
    #[error("chip `{chip}` reads public value {index}, but the circuit has {n_publics}")]
    PublicOutOfRange { chip: String, index: usize, n_publics: usize },
    #[error("public value {0} is read by no constraint: the proof would not bind it")]
    UnreadPublic(usize),
    #[error("public bus {bus}: values {start}..{end} pass the {n_publics} public values")]
    PublicBusRange { bus: BusId, start: usize, end: usize, n_publics: usize },
    #[error("public bus {bus}: {uses} multiplicities for {len} values, or a range of {bits} bits (1 to 62)")]
    PublicBusShape { bus: BusId, uses: usize, len: usize, bits: u32 },
    #[error("two chips are named `{0}`")]
    DuplicateName(String),
    #[error("stacking tables: {0}")]
    Stack(String),
}

/// Public values that enter a bus as the tuples `(i, publics[start + i])`, `i < len`, sent
/// (or received) by the verifier itself: how a circuit takes a tensor (a model's input or
/// output) as part of its statement. The verifier adds their LogUp terms to the bus balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicBus {
    pub bus: BusId,
    pub dir: Direction,
    pub start: usize,
    pub len: usize,
    /// How many times each tuple enters the bus (how many reads of the element the circuit's
    /// chips make); empty for once each.
    pub uses: Vec<u32>,
    /// When non-zero, every value must be a signed integer in `[-2^(bits-1), 2^(bits-1))`
    /// (or, when `unsigned`, in `[0, 2^bits)`), which the verifier checks itself: a model's
    /// input carries the bound its readers assume (in place of a range-check table).
    pub bits: u32,
    /// The range `[0, 2^bits)` instead of a signed one: a boolean input is `bits = 1`,
    /// `unsigned`, so 0 or 1.
    pub unsigned: bool,
}

impl PublicBus {
    /// `len` values from `start`, each entering the bus once, with no range.
    pub fn new(bus: BusId, dir: Direction, start: usize, len: usize) -> Self {
        Self { bus, dir, start, len, uses: Vec::new(), bits: 0, unsigned: false }
    }

    /// The multiplicity of tuple `i`.
    pub fn uses_of(&self, i: usize) -> u32 {
        if self.uses.is_empty() { 1 } else { self.uses.get(i).copied().unwrap_or(0) }
    }

    /// Whether `v` is within the bus's range (always, without one).
    pub fn in_range(&self, v: F) -> bool {
        if self.bits == 0 {
            return true;
        }
        let s = sigil_air::field::to_signed(v);
        if self.unsigned {
            return (0..1i64 << self.bits).contains(&s);
        }
        let half = 1i64 << (self.bits - 1);
        (-half..half).contains(&s)
    }

    /// The tuples `(i, publics[start + i])` the bus carries, or `None` if `publics` is too short.
    pub fn tuples<'a>(&self, publics: &'a [F]) -> Option<impl Iterator<Item = [F; 2]> + 'a> {
        let values = publics.get(self.start..self.start.checked_add(self.len)?)?;
        Some(values.iter().enumerate().map(|(i, &v)| [F::from_usize(i), v]))
    }
}

/// What a circuit's statement holds besides its id: the number of public values, and which of
/// them enter buses. `Statement::from(n)` is `n` values read by constraints only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Statement {
    pub n_publics: usize,
    pub public_buses: Vec<PublicBus>,
}

impl From<usize> for Statement {
    fn from(n_publics: usize) -> Self {
        Self { n_publics, public_buses: Vec::new() }
    }
}

/// The chips of a proof, in order, with the height of each table and the proof options: the
/// whole statement but the preprocessed commitments (see [`Circuit::circuit_id`]) and the
/// public values.
pub struct Circuit {
    pub name: String,
    pub chips: Vec<Box<dyn Chip>>,
    pub infos: Vec<ChipInfo>,
    /// log2 of every table's height, in chip order.
    pub log_heights: Vec<usize>,
    pub n_publics: usize,
    /// Public values that enter buses as tuples.
    pub public_buses: Vec<PublicBus>,
    /// Challenges drawn for auxiliary columns: the most any chip reads.
    pub n_challenges: usize,
    pub options: ProofOptions,
    /// Hash of the circuit's description: every chip, height, the number of public values and
    /// every option. With the preprocessed roots it makes the circuit id.
    pub description_hash: Digest,
    /// Every count of the circuit's proofs.
    pub layout: ProofLayout,
    /// Conjectured and proven security of the circuit's proofs.
    pub security: Security,
    /// Per table, the table whose quotient columns hold its quotient
    /// ([`crate::protocol::quotient_owners`]).
    pub quotient_owner: Vec<usize>,
}

impl core::fmt::Debug for Circuit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Circuit")
            .field("name", &self.name)
            .field("chips", &self.infos.iter().map(|i| &i.name).collect::<Vec<_>>())
            .field("log_heights", &self.log_heights)
            .field("n_publics", &self.n_publics)
            .field("options", &self.options)
            .finish()
    }
}

impl Circuit {
    /// Builds a circuit from its chips, the log2 height of each chip's table, the number of
    /// public values, and the proof options. Heights and options are part of the circuit id:
    /// a proof of other heights or parameters is refused.
    pub fn new(
        name: impl Into<String>,
        chips: Vec<Box<dyn Chip>>,
        log_heights: &[usize],
        statement: impl Into<Statement>,
        options: ProofOptions,
    ) -> Result<Self, CircuitError> {
        let Statement { n_publics, public_buses } = statement.into();
        if chips.is_empty() {
            return Err(CircuitError::Empty);
        }
        if chips.len() != log_heights.len() {
            return Err(CircuitError::HeightCount { chips: chips.len(), heights: log_heights.len() });
        }
        options.check().map_err(CircuitError::Options)?;
        let mut infos = Vec::with_capacity(chips.len());
        let mut arity: BTreeMap<BusId, usize> = BTreeMap::new();
        let mut read = alloc::vec![false; n_publics];
        for (c, &lh) in chips.iter().zip(log_heights) {
            let info = ChipInfo::of(c.as_ref()).map_err(CircuitError::Chip)?;
            if infos.iter().any(|i: &ChipInfo| i.name == info.name) {
                return Err(CircuitError::DuplicateName(info.name));
            }
            if !(1..=MAX_LOG_HEIGHT).contains(&lh) {
                return Err(CircuitError::Height { chip: info.name, log_height: lh, max: MAX_LOG_HEIGHT });
            }
            if let Some(ph) = info.prep_height
                && ph != 1 << lh
            {
                return Err(CircuitError::PreprocessedHeight { chip: info.name, log_height: lh, prep_height: ph });
            }
            if info.quotient_degree() > 1 << options.log_blowup {
                let (degree, needed) = (info.max_degree, info.quotient_degree());
                return Err(CircuitError::DegreeTooHigh { chip: info.name, degree, needed });
            }
            for &i in &info.publics_read {
                match read.get_mut(i) {
                    Some(r) => *r = true,
                    None => {
                        return Err(CircuitError::PublicOutOfRange { chip: info.name, index: i, n_publics });
                    }
                }
            }
            // A stacked table's interactions take each segment's bus: every one is checked.
            let segments = c.segment_buses();
            for (k, i) in info.interactions.iter().enumerate() {
                let buses = segments.get(k).map_or(core::slice::from_ref(&i.bus), Vec::as_slice);
                for &bus in buses {
                    let a = *arity.entry(bus).or_insert(i.arity);
                    if a != i.arity {
                        return Err(CircuitError::BusArity { bus, a, b: i.arity });
                    }
                }
            }
            infos.push(info);
        }
        for pb in &public_buses {
            if (!pb.uses.is_empty() && pb.uses.len() != pb.len) || pb.bits > 62 || (pb.unsigned && pb.bits == 0) {
                return Err(CircuitError::PublicBusShape { bus: pb.bus, uses: pb.uses.len(), len: pb.len, bits: pb.bits });
            }
            let end = pb.start.saturating_add(pb.len);
            let Some(r) = read.get_mut(pb.start..end) else {
                return Err(CircuitError::PublicBusRange { bus: pb.bus, start: pb.start, end, n_publics });
            };
            r.iter_mut().for_each(|x| *x = true);
            let a = *arity.entry(pb.bus).or_insert(2);
            if a != 2 {
                return Err(CircuitError::BusArity { bus: pb.bus, a, b: 2 });
            }
        }
        if let Some(i) = read.iter().position(|r| !r) {
            return Err(CircuitError::UnreadPublic(i));
        }

        let n_challenges = infos.iter().map(|i| i.n_challenges).max().unwrap_or(0);
        let mut d = Description::default();
        // v3: the running sum carries the last LogUp batch (no helper column of its own), and
        // tables of one height and chunk count share a quotient.
        d.bytes(b"sigil-circuit-v3");
        d.u64(infos.len() as u64);
        d.u64(n_publics as u64);
        let o = &options;
        d.bytes(&[o.log_blowup, o.grinding_bits, o.log_final_poly_len, o.log_folding_factor]);
        d.u64(u64::from(o.n_queries));
        for (info, &lh) in infos.iter().zip(log_heights) {
            d.u64(lh as u64);
            d.bytes(&info.description);
        }
        d.u64(public_buses.len() as u64);
        for pb in &public_buses {
            // Multiplicities and a range, when present, flag the direction word (2 + dir) and
            // follow the length, an unsigned range flags it with 4 more: a plain bus, or a
            // signed range, encodes as it always has.
            let extended = !pb.uses.is_empty() || pb.bits != 0;
            d.u64(u64::from(pb.bus));
            d.u64(u64::from(pb.dir == Direction::Receive) + 2 * u64::from(extended) + 4 * u64::from(pb.unsigned));
            d.u64(pb.start as u64);
            d.u64(pb.len as u64);
            if extended {
                d.u64(u64::from(pb.bits));
                d.u64(pb.uses.len() as u64);
                for &u in &pb.uses {
                    d.u64(u64::from(u));
                }
            }
        }
        let description_hash = ActiveHasher::hash_bytes(Domain::Circuit, &[b"description", &d.0]);

        // A table shares the quotient of the first table of its height and chunk count.
        let quotient_owner = quotient_owners(log_heights, &infos);
        let widths: Vec<PhaseWidths> = infos
            .iter()
            .zip(&quotient_owner)
            .enumerate()
            .map(|(t, (i, &o))| PhaseWidths { quotient: if o == t { 2 * i.quotient_degree() } else { 0 }, ..PhaseWidths::of(i) })
            .collect();
        let shapes: Vec<TableShape> = infos
            .iter()
            .zip(log_heights)
            .zip(&widths)
            .zip(&quotient_owner)
            .enumerate()
            .map(|(t, (((i, &lh), w), &o))| TableShape {
                log_height: lh,
                max_degree: i.max_degree,
                quotient_chunks: i.quotient_degree(),
                n_constraints: i.n_constraints + i.logup_batches.len() + usize::from(o != t),
                n_interactions: i.interactions.len(),
                max_arity: i.interactions.iter().map(|x| x.arity).max().unwrap_or(0),
                n_opened: w.n_at_z() + w.n_at_zg(),
                challenge_degree: i.challenge_degree,
            })
            .collect();
        let n_public_tuples: usize = public_buses.iter().map(|p| p.len).sum();
        let security = security(&shapes, n_public_tuples, &options, &fri_layers(log_heights, &options));
        let layout = ProofLayout::new(log_heights, widths, &options);
        Ok(Self {
            name: name.into(),
            chips,
            infos,
            log_heights: log_heights.to_vec(),
            n_publics,
            public_buses,
            n_challenges,
            options,
            description_hash,
            layout,
            security,
            quotient_owner,
        })
    }

    /// Number of tables.
    pub fn n_tables(&self) -> usize {
        self.chips.len()
    }

    /// The circuit id: the description hash and the preprocessed commitments (one Merkle cap
    /// per group), each length-prefixed.
    pub fn circuit_id(&self, prep_caps: &[Cap]) -> CircuitId {
        let mut d = Description::default();
        d.bytes(&self.description_hash);
        d.u64(prep_caps.len() as u64);
        for c in prep_caps {
            d.bytes(c.as_flattened());
        }
        ActiveHasher::hash_bytes(Domain::Circuit, &[b"circuit-id", &d.0])
    }

    /// The exact size of the circuit's proofs in bytes.
    pub fn proof_size(&self) -> usize {
        self.layout.size()
    }
}
