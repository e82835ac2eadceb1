//! The shape of a circuit's proofs: every count and length, derived from the circuit alone.
//!
//! A proof of a circuit has exactly [`ProofLayout::size`] bytes. [`ProofLayout::decode`]
//! checks the length before it allocates anything, so decoding costs what the circuit says,
//! never what the bytes say; [`ProofLayout::check`] checks a decoded (or hand-built) proof
//! against the same numbers, after which every index the verifier uses is in bounds.

use alloc::vec::Vec;

use sigil_air::field::P;

use crate::error::VerifyError;
use crate::hash::Digest;
use crate::merkle::{Cap, cap_log};
use crate::proof::{
    FriProof, HEADER_BYTES, MerkleOpening, Proof, ProofHeader, QueryProof, TableOpenings, Words,
};
use crate::merkle::mixed_cap_log;
use crate::protocol::{Group, PhaseWidths, ProofOptions, fri_layers, groups, query_index_bits};

/// The Merkle tree of a commitment phase: its tables, grouped by height (tallest first), all
/// in one mixed-height tree ([`crate::merkle::MixedTree`]), and the shape of its openings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeLayout {
    pub groups: Vec<Group>,
    /// log2 of the tallest LDE (the tree's level 0).
    pub depth: usize,
    /// log2 of the cap.
    pub cap_log: usize,
    /// Per group: the level it enters at and its words per row.
    pub levels: Vec<(usize, usize)>,
    /// Base-field words of one opening (one row of every table).
    pub row_width: usize,
}

impl TreeLayout {
    /// Digests in the tree's cap.
    pub fn cap_len(&self) -> usize {
        1 << self.cap_log
    }
    /// Siblings in an opening (level 0 up to the cap).
    pub fn n_siblings(&self) -> usize {
        self.depth - self.cap_log
    }
    /// Words in an opening.
    pub fn leaf_words(&self) -> usize {
        self.row_width
    }
    /// The tables in the opening's order.
    pub fn tables(&self) -> impl Iterator<Item = usize> + '_ {
        self.groups.iter().flat_map(|g| g.tables.iter().copied())
    }
    /// Bytes of one opening.
    fn opening_bytes(&self) -> usize {
        8 * self.leaf_words() + 32 * self.n_siblings()
    }
}

/// A committed FRI layer: `2^log_n` values folded `2^(log_n - log_next)` at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FriLayerLayout {
    pub log_n: usize,
    pub log_next: usize,
}

impl FriLayerLayout {
    /// Words in a leaf: one folding coset of extension elements.
    pub fn leaf_words(&self) -> usize {
        2 << (self.log_n - self.log_next)
    }
    pub fn cap_len(&self) -> usize {
        1 << cap_log(self.log_next)
    }
    pub fn n_siblings(&self) -> usize {
        self.log_next - cap_log(self.log_next)
    }
    fn opening_bytes(&self) -> usize {
        8 * self.leaf_words() + 32 * self.n_siblings()
    }
}

/// Every count of a circuit's proofs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofLayout {
    pub n_tables: usize,
    pub widths: Vec<PhaseWidths>,
    /// The trees of the four phases: preprocessed, main, LogUp, quotient.
    pub prep: Vec<TreeLayout>,
    pub main: Vec<TreeLayout>,
    pub perm: Vec<TreeLayout>,
    pub quotient: Vec<TreeLayout>,
    /// Tables with LogUp columns (each sends one cumulative sum).
    pub n_lookup_tables: usize,
    /// Log sizes of the FRI layers, layer 0 (the tallest LDE) first.
    pub fri_layers: Vec<usize>,
    /// The committed FRI layers (0..L-1).
    pub committed: Vec<FriLayerLayout>,
    /// Coefficients of the final polynomial.
    pub final_len: usize,
    pub n_queries: usize,
    pub index_bits: usize,
}

/// The tree of one phase (none when no table has columns in it).
fn trees(log_heights: &[usize], widths: &[PhaseWidths], w: fn(&PhaseWidths) -> usize, opts: &ProofOptions) -> Vec<TreeLayout> {
    let lb = usize::from(opts.log_blowup);
    let ws: Vec<usize> = widths.iter().map(w).collect();
    let groups = groups(log_heights, &ws);
    let (Some(top), Some(bottom)) = (groups.first(), groups.last()) else { return Vec::new() };
    let depth = top.log_height + lb;
    let cap_log = mixed_cap_log(depth, bottom.log_height + lb);
    let levels: Vec<(usize, usize)> =
        groups.iter().map(|g| (depth - (g.log_height + lb), g.tables.iter().filter_map(|&t| ws.get(t)).sum())).collect();
    let row_width = levels.iter().map(|&(_, w)| w).sum();
    alloc::vec![TreeLayout { groups, depth, cap_log, levels, row_width }]
}

/// Reads the fixed-width body of a proof. Lengths come from the layout, never from the bytes.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], VerifyError> {
        if n > self.bytes.len() {
            return Err(VerifyError::InvalidShape("proof shorter than its layout"));
        }
        let (a, b) = self.bytes.split_at(n);
        self.bytes = b;
        Ok(a)
    }
    fn u64(&mut self) -> Result<u64, VerifyError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }
    /// `n` field elements, each canonical.
    fn words(&mut self, n: usize, what: &'static str) -> Result<Words, VerifyError> {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let x = self.u64()?;
            if x >= P {
                return Err(VerifyError::NonCanonical(what));
            }
            v.push(x);
        }
        Ok(Words(v))
    }
    fn digests(&mut self, n: usize) -> Result<Vec<Digest>, VerifyError> {
        let b = self.take(32 * n)?;
        Ok(b.chunks_exact(32)
            .map(|c| {
                let mut d = [0u8; 32];
                d.copy_from_slice(c);
                d
            })
            .collect())
    }
    fn caps(&mut self, lens: impl Iterator<Item = usize>) -> Result<Vec<Cap>, VerifyError> {
        lens.map(|n| self.digests(n)).collect()
    }
    fn opening(&mut self, leaf_words: usize, n_siblings: usize, what: &'static str) -> Result<MerkleOpening, VerifyError> {
        Ok(MerkleOpening { values: self.words(leaf_words, what)?, siblings: self.digests(n_siblings)? })
    }
    fn tree_openings(&mut self, trees: &[TreeLayout]) -> Result<Vec<MerkleOpening>, VerifyError> {
        trees.iter().map(|t| self.opening(t.leaf_words(), t.n_siblings(), "Merkle leaf")).collect()
    }
}

impl ProofLayout {
    /// The layout of proofs of tables of these heights and widths, with these options.
    pub fn new(log_heights: &[usize], widths: Vec<PhaseWidths>, opts: &ProofOptions) -> Self {
        let layers = fri_layers(log_heights, opts);
        let lb = usize::from(opts.log_blowup);
        let committed = layers.iter().zip(layers.iter().skip(1)).map(|(&log_n, &log_next)| FriLayerLayout { log_n, log_next }).collect();
        let log_final = layers.last().map_or(0, |&l| l.saturating_sub(lb));
        Self {
            n_tables: log_heights.len(),
            prep: trees(log_heights, &widths, |w| w.prep, opts),
            main: trees(log_heights, &widths, |w| w.main, opts),
            perm: trees(log_heights, &widths, |w| w.perm, opts),
            quotient: trees(log_heights, &widths, |w| w.quotient, opts),
            n_lookup_tables: widths.iter().filter(|w| w.logup > 0).count(),
            widths,
            index_bits: query_index_bits(&layers),
            fri_layers: layers,
            committed,
            final_len: 1 << log_final,
            n_queries: usize::from(opts.n_queries),
        }
    }

    fn phases(&self) -> [&[TreeLayout]; 4] {
        [&self.prep, &self.main, &self.perm, &self.quotient]
    }

    /// Bytes of the openings at `z` and `z * g` of every table.
    pub fn openings_words(&self) -> usize {
        self.widths.iter().map(|w| 2 * (2 * w.prep + 2 * w.main + 2 * w.perm) + 2 * w.quotient).sum()
    }

    /// The exact size in bytes of every proof of the circuit.
    pub fn size(&self) -> usize {
        let caps: usize = self.phases().iter().flat_map(|p| p.iter()).map(|t| 32 * t.cap_len()).sum();
        let fri_caps: usize = self.committed.iter().map(|l| 32 * l.cap_len()).sum();
        let query: usize = 8
            + self.phases().iter().flat_map(|p| p.iter()).map(TreeLayout::opening_bytes).sum::<usize>()
            + self.committed.iter().map(FriLayerLayout::opening_bytes).sum::<usize>();
        HEADER_BYTES
            + self.n_tables
            + caps
            + 16 * self.n_lookup_tables
            + 8 * self.openings_words()
            + fri_caps
            + 16 * self.final_len
            + 8
            + self.n_queries * query
    }

    /// Decodes a proof of exactly [`Self::size`] bytes; any other length is refused before
    /// anything is allocated. Field elements must be canonical. The header and heights are
    /// read as they are: the verifier checks them against the circuit.
    pub fn decode(&self, bytes: &[u8]) -> Result<Proof, VerifyError> {
        let expected = self.size();
        if bytes.len() != expected {
            return Err(VerifyError::WrongSize { expected, found: bytes.len() });
        }
        let header = ProofHeader::from_bytes(bytes).ok_or(VerifyError::Truncated)?;
        let mut r = Reader { bytes: bytes.get(HEADER_BYTES..).unwrap_or_default() };
        let log_heights = r.take(self.n_tables)?.to_vec();
        let prep_roots = r.caps(self.prep.iter().map(TreeLayout::cap_len))?;
        let main_roots = r.caps(self.main.iter().map(TreeLayout::cap_len))?;
        let perm_roots = r.caps(self.perm.iter().map(TreeLayout::cap_len))?;
        let cumulative_sums = r.words(2 * self.n_lookup_tables, "LogUp sums")?;
        let quotient_roots = r.caps(self.quotient.iter().map(TreeLayout::cap_len))?;
        let mut openings = Vec::with_capacity(self.n_tables);
        for w in &self.widths {
            openings.push(TableOpenings {
                prep_local: r.words(2 * w.prep, "openings")?,
                prep_next: r.words(2 * w.prep, "openings")?,
                main_local: r.words(2 * w.main, "openings")?,
                main_next: r.words(2 * w.main, "openings")?,
                perm_local: r.words(2 * w.perm, "openings")?,
                perm_next: r.words(2 * w.perm, "openings")?,
                quotient: r.words(2 * w.quotient, "openings")?,
            });
        }
        let layer_roots = r.caps(self.committed.iter().map(FriLayerLayout::cap_len))?;
        let final_poly = r.words(2 * self.final_len, "final polynomial")?;
        let pow_nonce = r.u64()?;
        let mut queries = Vec::with_capacity(self.n_queries);
        for _ in 0..self.n_queries {
            let index = r.u64()?;
            let prep = r.tree_openings(&self.prep)?;
            let main = r.tree_openings(&self.main)?;
            let perm = r.tree_openings(&self.perm)?;
            let quotient = r.tree_openings(&self.quotient)?;
            let fri_layers = self
                .committed
                .iter()
                .map(|l| r.opening(l.leaf_words(), l.n_siblings(), "FRI layer"))
                .collect::<Result<_, _>>()?;
            queries.push(QueryProof { index, prep, main, perm, quotient, fri_layers });
        }
        Ok(Proof {
            header,
            log_heights,
            prep_roots,
            main_roots,
            perm_roots,
            cumulative_sums,
            quotient_roots,
            openings,
            fri: FriProof { layer_roots, final_poly, pow_nonce, queries },
        })
    }

    /// Checks every count of a proof against the layout (`InvalidShape` naming the part), and
    /// every query index against its range.
    pub fn check(&self, proof: &Proof) -> Result<(), VerifyError> {
        let shape = |ok: bool, what: &'static str| if ok { Ok(()) } else { Err(VerifyError::InvalidShape(what)) };
        let caps_ok = |caps: &[Cap], trees: &[TreeLayout]| {
            caps.len() == trees.len() && caps.iter().zip(trees).all(|(c, t)| c.len() == t.cap_len())
        };
        let openings_ok = |os: &[MerkleOpening], trees: &[TreeLayout]| {
            os.len() == trees.len()
                && os.iter().zip(trees).all(|(o, t)| o.values.0.len() == t.leaf_words() && o.siblings.len() == t.n_siblings())
        };
        shape(proof.log_heights.len() == self.n_tables, "one height per table")?;
        shape(caps_ok(&proof.prep_roots, &self.prep), "one preprocessed cap per group")?;
        shape(caps_ok(&proof.main_roots, &self.main), "one main cap per group")?;
        shape(caps_ok(&proof.perm_roots, &self.perm), "one lookup cap per group")?;
        shape(caps_ok(&proof.quotient_roots, &self.quotient), "one quotient cap per group")?;
        shape(proof.cumulative_sums.0.len() == 2 * self.n_lookup_tables, "one LogUp sum per lookup table")?;
        shape(proof.openings.len() == self.n_tables, "one opening per table")?;
        for (o, w) in proof.openings.iter().zip(&self.widths) {
            shape(o.prep_local.0.len() == 2 * w.prep && o.prep_next.0.len() == 2 * w.prep, "preprocessed openings")?;
            shape(o.main_local.0.len() == 2 * w.main && o.main_next.0.len() == 2 * w.main, "main openings")?;
            shape(o.perm_local.0.len() == 2 * w.perm && o.perm_next.0.len() == 2 * w.perm, "lookup openings")?;
            shape(o.quotient.0.len() == 2 * w.quotient, "quotient openings")?;
        }
        let fri = &proof.fri;
        shape(
            fri.layer_roots.len() == self.committed.len()
                && fri.layer_roots.iter().zip(&self.committed).all(|(c, l)| c.len() == l.cap_len()),
            "one cap per committed FRI layer",
        )?;
        shape(fri.final_poly.0.len() == 2 * self.final_len, "final polynomial length")?;
        shape(fri.queries.len() == self.n_queries, "one opening per query")?;
        for q in &fri.queries {
            shape(q.index < 1u64 << self.index_bits, "query index out of range")?;
            shape(openings_ok(&q.prep, &self.prep), "preprocessed query openings")?;
            shape(openings_ok(&q.main, &self.main), "main query openings")?;
            shape(openings_ok(&q.perm, &self.perm), "lookup query openings")?;
            shape(openings_ok(&q.quotient, &self.quotient), "quotient query openings")?;
            shape(
                q.fri_layers.len() == self.committed.len()
                    && q.fri_layers.iter().zip(&self.committed).all(|(o, l)| {
                        o.values.0.len() == l.leaf_words() && o.siblings.len() == l.n_siblings()
                    }),
                "FRI layer opening",
            )?;
        }
        Ok(())
    }
}
