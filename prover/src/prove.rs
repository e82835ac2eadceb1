//! The multi-table STARK prover.
//!
//! 1. Commit every table's main trace (LDE on a coset, Merkle tree per group of equal height).
//! 2. Draw the LogUp challenges; build, extend and commit every table's LogUp columns.
//! 3. Draw `alpha`; compute, split, extend and commit every table's quotient.
//! 4. Draw `z`; open every column at `z` and `z * g`.
//! 5. Draw `lambda`; build the DEEP codewords and run FRI over all heights at once, each table
//!    entering the fold at the layer of its own size.
//! 6. Grind, draw the queries, open everything at them.

use std::time::Instant;

use p3_field::{Field, PrimeCharacteristicRing, batch_multiplicative_inverse};
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use p3_maybe_rayon::prelude::*;
use sigil_air::field::{ef_from_base, ef_to_base, ef_to_u64, f_to_u64};
use sigil_air::{
    CheckFailure, EF, F, LogUpRow, LookupChallenges, RowAt, RowInteraction, Trace, check_constraints_with,
};
use sigil_verifier::layout::{ProofLayout, TreeLayout};
use sigil_verifier::merkle::{Cap, MerkleTree, MixedTree};
use sigil_verifier::proof::{
    FIELD_GOLDILOCKS_EXT2, FORMAT_VERSION, FriProof, MAGIC, MerkleOpening, Proof, ProofHeader,
    QueryProof, TableOpenings, Words,
};
use sigil_verifier::protocol::{
    ProofOptions, TRANSCRIPT_DOMAIN, deep_coefficients, fri_layers,
    lde_shift, omega, query_index_bits,
};
use sigil_verifier::transcript::Transcript;
use sigil_verifier::{Circuit, CircuitId};
use sigil_verifier::hash::{ActiveHasher, Digest, Hasher};

use crate::backend::{Backend, DeepInputs, Lde, LdeMatrix, QuotientInputs};

/// Why a proof could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error("{expected} traces expected, {found} given")]
    TraceCount { expected: usize, found: usize },
    #[error("chip `{chip}`: trace has {found} columns, the chip has {expected}")]
    TraceWidth { chip: String, expected: usize, found: usize },
    #[error("chip `{chip}`: trace has {height} rows; the circuit fixes 2^{log_height}")]
    TraceHeight { chip: String, height: usize, log_height: usize },
    #[error("{expected} public values expected, {found} given")]
    PublicValuesLength { expected: usize, found: usize },
    #[error("the context is {len} bytes, above the limit of {limit}")]
    ContextTooLong { len: usize, limit: usize },
    #[error("the traces do not satisfy the circuit: {}", .0.iter().take(8).map(|f| f.to_string()).collect::<Vec<_>>().join("; "))]
    Unsatisfied(Vec<CheckFailure>),
    #[error("an auxiliary trace has {found} values, {expected} expected")]
    AuxShape { expected: usize, found: usize },
    #[error("the out-of-domain point fell in a trace domain; prove again")]
    OodPointInDomain,
    #[error("this key was made for verifying only (its preprocessed columns were not built)")]
    VerifyingOnly,
}

/// Prover settings that do not change the proof.
#[derive(Clone, Copy, Debug)]
pub struct ProverConfig {
    /// Check every constraint and bus on the concrete traces before proving (on by default
    /// in debug builds).
    pub check_constraints: bool,
    /// Print the time of each phase to stderr.
    pub log_timings: bool,
}

impl Default for ProverConfig {
    fn default() -> Self {
        Self { check_constraints: cfg!(debug_assertions), log_timings: false }
    }
}

/// A circuit ready to prove: the preprocessed columns extended and committed once.
#[derive(Debug)]
pub struct ProvingKey {
    pub circuit: Circuit,
    pub options: ProofOptions,
    pub circuit_id: CircuitId,
    prep_traces: Vec<Option<Trace>>,
    /// Per table, the LDE of its preprocessed columns.
    prep_ldes: Vec<Option<Lde>>,
    /// The preprocessed phase's tree (none when no table has preprocessed columns).
    prep_tree: Vec<MixedTree>,
}

impl ProvingKey {
    /// Extends and commits the preprocessed columns of `circuit` (the work a prover caches).
    /// The circuit fixes the heights and the options (`Circuit::new` checked both).
    pub fn new<B: Backend + ?Sized>(circuit: Circuit, backend: &B) -> Result<Self, ProveError> {
        let options = circuit.options;
        let prep_traces: Vec<Option<Trace>> = circuit.chips.iter().map(|c| c.preprocessed_trace()).collect();
        let lb = usize::from(options.log_blowup);
        let prep_ldes: Vec<Option<Lde>> = prep_traces
            .iter()
            .map(|p| p.as_ref().map(|p| backend.coset_lde(RowMajorMatrix::new(p.values.clone(), p.width), lb, lde_shift())))
            .collect();
        let prep_tree = commit_tree(backend, &circuit.layout.prep, |t| prep_ldes[t].as_ref());
        Ok(Self::from_parts(circuit, prep_traces, prep_ldes, prep_tree))
    }

    /// A key from its parts; the circuit id is computed from the trees' caps.
    pub(crate) fn from_parts(
        circuit: Circuit,
        prep_traces: Vec<Option<Trace>>,
        prep_ldes: Vec<Option<Lde>>,
        prep_tree: Vec<MixedTree>,
    ) -> Self {
        let caps: Vec<_> = prep_tree.iter().map(|t| t.cap()).collect();
        let circuit_id = circuit.circuit_id(&caps);
        Self { options: circuit.options, circuit, circuit_id, prep_traces, prep_ldes, prep_tree }
    }

    /// A key that can only verify: the circuit and its id (from a trusted source, such as a
    /// cache of ids this machine computed), without the preprocessed columns' extension.
    pub fn verifying_only(circuit: Circuit, circuit_id: CircuitId) -> Self {
        Self { options: circuit.options, circuit, circuit_id, prep_traces: Vec::new(), prep_ldes: Vec::new(), prep_tree: Vec::new() }
    }

    /// This key without its preprocessed columns' extension and tree: what verifying needs.
    pub fn into_verifying_only(self) -> Self {
        Self::verifying_only(self.circuit, self.circuit_id)
    }

    /// Whether the key can prove (it holds the preprocessed columns' extension and tree).
    pub fn can_prove(&self) -> bool {
        self.prep_traces.len() == self.circuit.chips.len()
    }

    /// Per table, the LDE of its preprocessed columns.
    pub fn prep_ldes(&self) -> &[Option<Lde>] {
        &self.prep_ldes
    }

    /// The preprocessed phase's trees.
    pub fn prep_trees(&self) -> &[MixedTree] {
        &self.prep_tree
    }

    /// Bytes the preprocessed LDEs and trees take (what a cached key writes).
    pub fn prep_bytes(&self) -> usize {
        let ldes: usize = self.prep_ldes.iter().flatten().map(|m| 8 * m.values.len()).sum();
        let trees: usize = self.prep_tree.iter().flat_map(|t| &t.levels).map(|l| 32 * l.len()).sum();
        ldes + trees
    }
}

/// One table's committed data during proving.
struct TableData {
    log_n: usize,
    main: Trace,
    main_lde: Lde,
    perm: Option<RowMajorMatrix<F>>,
    perm_lde: Option<Lde>,
    quotient_coeffs: Option<RowMajorMatrix<F>>,
    quotient_lde: Option<Lde>,
}

struct Timer {
    on: bool,
    t: Instant,
}

impl Timer {
    fn lap(&mut self, what: &str) {
        if self.on {
            eprintln!("  {what:<28} {:>9.3} s", self.t.elapsed().as_secs_f64());
        }
        self.t = Instant::now();
    }
}

/// Proves that `traces` (one per chip, in circuit order) satisfy the circuit of `pk` with the
/// public values `publics`.
pub fn prove<B: Backend + ?Sized>(
    pk: &ProvingKey,
    traces: Vec<Trace>,
    publics: &[F],
    backend: &B,
    config: &ProverConfig,
) -> Result<Proof, ProveError> {
    prove_in_context(pk, traces, publics, &[], backend, config)
}

/// As [`prove`], in `context`: bytes outside the circuit that the transcript absorbs after the
/// public values, so that the proof verifies only in the same context
/// ([`sigil_verifier::verify_in_context`]). At most [`sigil_verifier::MAX_CONTEXT_BYTES`].
pub fn prove_in_context<B: Backend + ?Sized>(
    pk: &ProvingKey,
    traces: Vec<Trace>,
    publics: &[F],
    context: &[u8],
    backend: &B,
    config: &ProverConfig,
) -> Result<Proof, ProveError> {
    if context.len() > sigil_verifier::MAX_CONTEXT_BYTES {
        return Err(ProveError::ContextTooLong { len: context.len(), limit: sigil_verifier::MAX_CONTEXT_BYTES });
    }
    prove_inner(pk, traces, publics, context, backend, config, Attack::None)
}

/// What a malicious prover rewrites (only [`Attack::None`] outside the `malicious` feature).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attack {
    /// An honest prover.
    None,
    /// Opens each quotient at `z` so that the out-of-domain equation holds whatever the
    /// traces: the quotient's opening then disagrees with its commitment, which only FRI sees.
    ForgeOutOfDomain,
    /// As [`Attack::ForgeOutOfDomain`], and first rewrites the last lookup table's claimed
    /// LogUp sum so that the sums cancel: the running sum then breaks its last-row constraint.
    BalanceBusesAndForgeOutOfDomain,
}

/// A malicious prover for soundness tests: proves like [`prove`] (without the constraint
/// check) but lies as `attack` says. A sound verifier rejects what it makes.
#[cfg(feature = "malicious")]
pub fn prove_malicious<B: Backend + ?Sized>(
    pk: &ProvingKey,
    traces: Vec<Trace>,
    publics: &[F],
    backend: &B,
    attack: Attack,
) -> Result<Proof, ProveError> {
    let config = ProverConfig { check_constraints: false, log_timings: false };
    prove_inner(pk, traces, publics, &[], backend, &config, attack)
}

fn prove_inner<B: Backend + ?Sized>(
    pk: &ProvingKey,
    traces: Vec<Trace>,
    publics: &[F],
    context: &[u8],
    backend: &B,
    config: &ProverConfig,
    attack: Attack,
) -> Result<Proof, ProveError> {
    if !pk.can_prove() {
        return Err(ProveError::VerifyingOnly);
    }
    let mut timer = Timer { on: config.log_timings, t: Instant::now() };
    check_witness(pk, &traces, publics, config)?;
    timer.lap("constraint check");
    let mut p = Prover::new(pk, publics, context, backend, attack);
    let (header, log_heights, prep_roots) = p.absorb_statement();
    let main_roots = p.commit_main(traces);
    timer.lap("main LDE and commit");
    let perm_roots = p.commit_lookups()?;
    timer.lap("lookup columns");
    let quotient_roots = p.commit_quotients();
    timer.lap("quotient");
    let openings = p.open_out_of_domain()?;
    timer.lap("openings");
    let deep = p.deep_codewords(&openings);
    timer.lap("DEEP");
    let fri = p.commit_fri(deep);
    timer.lap("FRI commit");
    let pow_nonce = p.grind();
    timer.lap("grinding");
    let queries = p.open_queries(&fri);
    timer.lap("queries");
    Ok(Proof {
        header,
        log_heights,
        prep_roots,
        main_roots,
        perm_roots,
        cumulative_sums: Words(p.cumulative_sums.iter().flat_map(|&s| ef_to_u64(s)).collect()),
        quotient_roots,
        openings,
        fri: FriProof { layer_roots: fri.roots, final_poly: Words(fri.final_words), pow_nonce, queries },
    })
}

/// The traces against the circuit: count, widths, heights, public values; and, when asked,
/// every constraint and bus on the concrete rows.
fn check_witness(pk: &ProvingKey, traces: &[Trace], publics: &[F], config: &ProverConfig) -> Result<(), ProveError> {
    let circuit = &pk.circuit;
    if traces.len() != circuit.n_tables() {
        return Err(ProveError::TraceCount { expected: circuit.n_tables(), found: traces.len() });
    }
    if publics.len() != circuit.n_publics {
        return Err(ProveError::PublicValuesLength { expected: circuit.n_publics, found: publics.len() });
    }
    for ((tr, info), &lh) in traces.iter().zip(&circuit.infos).zip(&circuit.log_heights) {
        if tr.width != info.width {
            return Err(ProveError::TraceWidth { chip: info.name.clone(), expected: info.width, found: tr.width });
        }
        if tr.height() != 1 << lh {
            return Err(ProveError::TraceHeight { chip: info.name.clone(), height: tr.height(), log_height: lh });
        }
    }
    if config.check_constraints {
        let chips: Vec<&dyn sigil_air::Chip> = circuit.chips.iter().map(|c| c.as_ref()).collect();
        let trs: Vec<&Trace> = traces.iter().collect();
        let preps: Vec<Option<&Trace>> = pk.prep_traces.iter().map(|p| p.as_ref()).collect();
        let mut tuples = Vec::new();
        for pb in &circuit.public_buses {
            for (i, t) in pb.tuples(publics).into_iter().flatten().enumerate() {
                tuples.push(RowInteraction { bus: pb.bus, dir: pb.dir, fields: t.to_vec(), multiplicity: F::from_u32(pb.uses_of(i)) });
            }
        }
        check_constraints_with(&chips, &trs, &preps, publics, &tuples).map_err(ProveError::Unsatisfied)?;
    }
    Ok(())
}

/// The committed FRI layers: trees, codewords and roots; the final polynomial's words.
struct FriCommitment {
    trees: Vec<MerkleTree>,
    evals: Vec<Vec<EF>>,
    roots: Vec<Cap>,
    final_words: Vec<u64>,
}

/// The prover's state across the rounds of the protocol, in the order `docs/soundness.md`
/// gives them; each round is a method that absorbs what it sends and draws what follows.
struct Prover<'a, B: Backend + ?Sized> {
    pk: &'a ProvingKey,
    publics: &'a [F],
    context: &'a [u8],
    backend: &'a B,
    attack: Attack,
    tr: Transcript,
    layers: Vec<usize>,
    tables: Vec<TableData>,
    trees: [Vec<MixedTree>; 3],
    lookup: LookupChallenges,
    challenges: Vec<EF>,
    cumulative_sums: Vec<EF>,
    alpha: EF,
    nu: EF,
    z: EF,
}

/// Indices into `Prover::trees`.
const MAIN: usize = 0;
const PERM: usize = 1;
const QUOT: usize = 2;

impl<'a, B: Backend + ?Sized> Prover<'a, B> {
    fn new(pk: &'a ProvingKey, publics: &'a [F], context: &'a [u8], backend: &'a B, attack: Attack) -> Self {
        let circuit = &pk.circuit;
        let layers = fri_layers(&circuit.log_heights, &pk.options);
        let zero = LookupChallenges { beta: EF::ZERO, gamma: EF::ZERO };
        Self {
            pk,
            publics,
            context,
            backend,
            attack,
            tr: Transcript::new(TRANSCRIPT_DOMAIN),
            layers,
            tables: Vec::new(),
            trees: Default::default(),
            lookup: zero,
            challenges: Vec::new(),
            cumulative_sums: Vec::new(),
            alpha: EF::ZERO,
            nu: EF::ZERO,
            z: EF::ZERO,
        }
    }

    fn lb(&self) -> usize {
        usize::from(self.pk.options.log_blowup)
    }

    /// The phase's mixed-height tree, shaped as the circuit's layout says.
    fn commit_phase(&mut self, phase: usize, mat: fn(&TableData) -> Option<&Lde>) -> Vec<Cap> {
        let tables = &self.tables;
        let trees = commit_tree(self.backend, phase_trees(&self.pk.circuit.layout, phase), |t| mat(&tables[t]));
        let roots: Vec<Cap> = trees.iter().map(|t| t.cap()).collect();
        self.trees[phase] = trees;
        roots
    }

    /// Round 1: the statement: header, heights, public values, preprocessed commitments.
    fn absorb_statement(&mut self) -> (ProofHeader, Vec<u8>, Vec<Cap>) {
        let opts = &self.pk.options;
        let header = ProofHeader {
            magic: MAGIC,
            version: FORMAT_VERSION,
            field: FIELD_GOLDILOCKS_EXT2,
            hash: ActiveHasher::ID,
            log_blowup: opts.log_blowup,
            n_queries: opts.n_queries,
            grinding_bits: opts.grinding_bits,
            log_final_poly_len: opts.log_final_poly_len,
            log_folding_factor: opts.log_folding_factor,
            circuit_id: self.pk.circuit_id,
        };
        let heights: Vec<u8> = self.pk.circuit.log_heights.iter().map(|&h| h as u8).collect();
        self.tr.absorb(b"header", &header.to_bytes());
        self.tr.absorb(b"heights", &heights);
        let pub_words: Vec<u64> = self.publics.iter().map(|&p| f_to_u64(p)).collect();
        self.tr.absorb_u64s(b"publics", &pub_words);
        if !self.context.is_empty() {
            self.tr.absorb(b"context", self.context);
        }
        let prep_roots: Vec<Cap> = self.pk.prep_tree.iter().map(|t| t.cap()).collect();
        self.tr.absorb_caps(b"prep", &prep_roots);
        (header, heights, prep_roots)
    }

    /// Round 4: every table's main trace, extended and committed.
    fn commit_main(&mut self, traces: Vec<Trace>) -> Vec<Cap> {
        let (lb, shift, backend) = (self.lb(), lde_shift(), self.backend);
        let items: Vec<(Trace, usize)> = traces.into_iter().zip(self.pk.circuit.log_heights.iter().copied()).collect();
        self.tables = per_table(backend, items, |(main, log_n)| {
            let m = RowMajorMatrix::new(main.values.clone(), main.width);
            let main_lde = backend.coset_lde(m, lb, shift);
            TableData { log_n, main, main_lde, perm: None, perm_lde: None, quotient_coeffs: None, quotient_lde: None }
        });
        let roots = self.commit_phase(MAIN, |t| Some(&t.main_lde));
        self.tr.absorb_caps(b"main", &roots);
        roots
    }

    /// Round 5: the LogUp challenges, every table's LogUp columns and claimed sums.
    fn commit_lookups(&mut self) -> Result<Vec<Cap>, ProveError> {
        let (lb, shift) = (self.lb(), lde_shift());
        self.lookup = LookupChallenges { beta: self.tr.sample_ef(), gamma: self.tr.sample_ef() };
        let circuit = &self.pk.circuit;
        self.challenges = (0..circuit.n_challenges).map(|_| self.tr.sample_ef()).collect();
        // The columns of every table at once (each table's rows are built in parallel too, but a
        // model of many small tables keeps the cores busy only across tables); their
        // extensions too where the backend allows (`Backend::concurrent_tables`), else in the
        // circuit's order.
        let (pk, publics, lookup, challenges) = (self.pk, self.publics, &self.lookup, &self.challenges);
        let columns: Vec<Option<PermColumns>> = self
            .tables
            .par_iter()
            .enumerate()
            .map(|(t, td)| {
                let (chip, info, prep) = (circuit.chips[t].as_ref(), &circuit.infos[t], pk.prep_traces[t].as_ref());
                if info.interactions.is_empty() && info.aux_width == 0 {
                    return Ok(None);
                }
                // The LogUp columns, then the auxiliary columns, as pairs of base columns.
                let (mut values, mut width, mut sum) = (Vec::new(), 0, None);
                if !info.interactions.is_empty() {
                    let (perm, s) = lookup_trace(chip, &info.logup_batches, &td.main, prep, publics, lookup);
                    sum = Some(s);
                    width = perm.width();
                    values = perm.values;
                }
                if info.aux_width > 0 {
                    let aux = chip.aux_trace(&td.main, prep, challenges);
                    (values, width) = append_ext_columns(values, width, &aux, info.aux_width, td.main.height())?;
                }
                Ok(Some((values, width, sum)))
            })
            .collect::<Result<_, ProveError>>()?;
        let backend = self.backend;
        let extended = per_table(backend, columns, |c: Option<PermColumns>| {
            c.map(|(values, width, sum)| {
                let perm = RowMajorMatrix::new(values, width);
                (backend.coset_lde(perm.clone(), lb, shift), perm, sum)
            })
        });
        let mut sums = Vec::new();
        for (td, e) in self.tables.iter_mut().zip(extended) {
            let Some((lde, perm, sum)) = e else { continue };
            sums.extend(sum);
            td.perm_lde = Some(lde);
            td.perm = Some(perm);
        }
        if self.attack == Attack::BalanceBusesAndForgeOutOfDomain {
            let public = sigil_verifier::verify::public_bus_sum(circuit, self.publics, &self.lookup).unwrap_or(EF::ZERO);
            let total: EF = sums.iter().copied().sum::<EF>() + public;
            if let Some(last) = sums.last_mut() {
                *last -= total;
            }
        }
        let roots = self.commit_phase(PERM, |t| t.perm_lde.as_ref());
        self.tr.absorb_caps(b"perm", &roots);
        let sum_words: Vec<u64> = sums.iter().flat_map(|&s| ef_to_u64(s)).collect();
        self.tr.absorb_u64s(b"sums", &sum_words);
        self.cumulative_sums = sums;
        Ok(roots)
    }

    /// Round 6: `alpha` and `nu`; every table's quotient, combined with the others of its
    /// height and chunk count (`acc = acc * nu + Q_t` in circuit order, held by the first of
    /// them: `Circuit::quotient_owner`), split, extended and committed.
    fn commit_quotients(&mut self) -> Vec<Cap> {
        self.alpha = self.tr.sample_ef();
        self.nu = self.tr.sample_ef();
        let (pk, lb) = (self.pk, self.lb());
        let owners = &pk.circuit.quotient_owner;
        let mut sum_iter = self.cumulative_sums.iter();
        let mut combined: Vec<Option<Vec<EF>>> = vec![None; self.tables.len()];
        for (t, td) in self.tables.iter().enumerate() {
            let info = &pk.circuit.infos[t];
            let cum = if info.interactions.is_empty() { EF::ZERO } else { *sum_iter.next().unwrap_or(&EF::ZERO) };
            let q = self.backend.quotient_values(
                pk.circuit.chips[t].as_ref(),
                &QuotientInputs {
                    log_n: td.log_n,
                    log_quotient_degree: info.log_quotient_degree,
                    log_blowup: lb,
                    main_lde: &td.main_lde,
                    prep_lde: prep_lde_of(pk, t),
                    perm_lde: td.perm_lde.as_ref(),
                    publics: self.publics,
                    alpha: self.alpha,
                    lookup: self.lookup,
                    challenges: &self.challenges,
                    aux_width: info.aux_width,
                    cumulative_sum: cum,
                    logup_batches: &info.logup_batches,
                },
            );
            let nu = self.nu;
            match &mut combined[owners[t]] {
                Some(acc) => acc.par_iter_mut().zip(q.par_iter()).for_each(|(a, q)| *a = *a * nu + *q),
                slot => *slot = Some(q),
            }
        }
        for (t, q) in combined.into_iter().enumerate() {
            let Some(q) = q else { continue };
            let td = &mut self.tables[t];
            let (coeffs, lde) = split_quotient(self.backend, q, td.log_n, pk.circuit.infos[t].log_quotient_degree, lb);
            td.quotient_coeffs = Some(coeffs);
            td.quotient_lde = Some(lde);
        }
        let roots = self.commit_phase(QUOT, |t| t.quotient_lde.as_ref());
        self.tr.absorb_caps(b"quotient", &roots);
        roots
    }

    /// Round 7: `z`; every committed column at `z` and `z * g`.
    fn open_out_of_domain(&mut self) -> Result<Vec<TableOpenings>, ProveError> {
        let z = self.tr.sample_ef();
        self.z = z;
        let mut openings: Vec<TableOpenings> = Vec::with_capacity(self.tables.len());
        for (t, td) in self.tables.iter().enumerate() {
            let zg = z * omega(td.log_n);
            let wz = barycentric_weights(z, td.log_n).ok_or(ProveError::OodPointInDomain)?;
            let wzg = barycentric_weights(zg, td.log_n).ok_or(ProveError::OodPointInDomain)?;
            let open = |m: &[F], w: usize, weights: &[EF]| -> Words {
                Words(eval_columns(m, w, weights).into_iter().flat_map(ef_to_u64).collect())
            };
            let (pl, pn) = match &self.pk.prep_traces[t] {
                Some(p) => (open(&p.values, p.width, &wz), open(&p.values, p.width, &wzg)),
                None => (Words::default(), Words::default()),
            };
            let (perm_l, perm_n) = match &td.perm {
                Some(p) => (open(&p.values, p.width, &wz), open(&p.values, p.width, &wzg)),
                None => (Words::default(), Words::default()),
            };
            let quotient = match &td.quotient_coeffs {
                Some(c) => Words(horner_columns(c, z).into_iter().flat_map(ef_to_u64).collect()),
                None => Words::default(),
            };
            openings.push(TableOpenings {
                prep_local: pl,
                prep_next: pn,
                main_local: open(&td.main.values, td.main.width, &wz),
                main_next: open(&td.main.values, td.main.width, &wzg),
                perm_local: perm_l,
                perm_next: perm_n,
                quotient,
            });
        }
        if self.attack != Attack::None {
            let c = &self.pk.circuit;
            let ch = (self.alpha, self.nu, self.lookup, self.challenges.as_slice());
            forge_out_of_domain(c, &mut openings, self.publics, z, ch, &self.cumulative_sums);
        }
        for o in &openings {
            for w in [&o.prep_local, &o.prep_next, &o.main_local, &o.main_next, &o.perm_local, &o.perm_next, &o.quotient] {
                self.tr.absorb_u64s(b"open", &w.0);
            }
        }
        Ok(openings)
    }

    /// Round 8: `lambda`; every table's DEEP codeword, summed per LDE size (index: log size).
    fn deep_codewords(&mut self, openings: &[TableOpenings]) -> Vec<Option<Vec<EF>>> {
        let lambda = self.tr.sample_ef();
        let coeffs = deep_coefficients(lambda, &self.pk.circuit.layout.widths);
        let (z, lb, shift) = (self.z, self.lb(), lde_shift());
        let log_max_lde = self.layers[0];
        let mut inputs: Vec<Option<Vec<EF>>> = vec![None; log_max_lde + 1];
        for (t, td) in self.tables.iter().enumerate() {
            let o = &openings[t];
            let to_ef = |w: &Words| -> Vec<EF> {
                w.0.chunks_exact(2).map(|c| ef_from_base([F::from_u64(c[0]), F::from_u64(c[1])])).collect()
            };
            let at_z: Vec<EF> = [&o.prep_local, &o.main_local, &o.perm_local, &o.quotient].iter().flat_map(|w| to_ef(w)).collect();
            let at_zg: Vec<EF> = [&o.prep_next, &o.main_next, &o.perm_next].iter().flat_map(|w| to_ef(w)).collect();
            let (cz, czg) = &coeffs[t];
            let a_z: EF = at_z.iter().zip(cz).map(|(v, c)| *v * *c).sum();
            let a_zg: EF = at_zg.iter().zip(czg).map(|(v, c)| *v * *c).sum();
            let log_lde = td.log_n + lb;
            let zg = z * omega(td.log_n);
            // `A = sum cz_k p_k` and `B = sum czg_k p_k` have degree below the table's height:
            // combined on the trace domain and extended once (four base columns), not column by
            // column at every point of the extension. The codeword is the same.
            let ab = combined_lde(self.backend, self.pk.prep_traces[t].as_ref(), td, cz, czg, lb);
            let x = sigil_air::field::ef_x();
            let (one, zero) = (EF::ONE, EF::ZERO);
            let f = self.backend.deep_codeword(&DeepInputs {
                mats: &[&ab],
                cz: &[one, x, zero, zero],
                czg: &[zero, zero, one, x],
                a_z,
                a_zg,
                z,
                zg,
                log_lde,
                shift,
            });
            match &mut inputs[log_lde] {
                Some(acc) => acc.par_iter_mut().zip(f.par_iter()).for_each(|(a, b)| *a += *b),
                slot => *slot = Some(f),
            }
        }
        inputs
    }

    /// Round 9: FRI over all heights: each layer is committed, then folded by its challenge;
    /// shorter tables enter at the layer of their size (the layers stop at every table size).
    fn commit_fri(&mut self, mut inputs: Vec<Option<Vec<EF>>>) -> FriCommitment {
        let layers = self.layers.clone();
        let log_final = layers[layers.len() - 1] - self.lb();
        let mut f = inputs[layers[0]].take().unwrap_or_default();
        let mut c = FriCommitment { trees: Vec::new(), evals: Vec::new(), roots: Vec::new(), final_words: Vec::new() };
        let mut layer_shift = lde_shift();
        for k in 0..layers.len() - 1 {
            let (log_n, log_next) = (layers[k], layers[k + 1]);
            let tree = self.backend.commit_ext_cosets(&f, log_n - log_next);
            self.tr.absorb_caps(b"fri", &[tree.cap()]);
            c.roots.push(tree.cap());
            c.trees.push(tree);
            c.evals.push(f.clone());
            let mut beta = self.tr.sample_ef();
            f = self.backend.fold_rounds(&f, beta, layer_shift, log_n - log_next);
            for _ in log_next..log_n {
                layer_shift = layer_shift.square();
                beta = beta.square();
            }
            // Tables whose LDE has the next layer's size enter, weighted by the last power.
            if let Some(extra) = inputs[log_next].take() {
                f.par_iter_mut().zip(extra.par_iter()).for_each(|(a, e)| *a += beta * *e);
            }
        }
        // The last layer's polynomial: interpolate over its coset, keep 2^log_final coefficients.
        let final_len = 1usize << log_final;
        let base: Vec<F> = f.iter().flat_map(|&e| ef_to_base(e)).collect();
        let coeffs = self.backend.coset_interpolate(RowMajorMatrix::new(base, 2), layer_shift);
        c.final_words = (0..final_len)
            .flat_map(|i| ef_to_u64(ef_from_base([coeffs.values[2 * i], coeffs.values[2 * i + 1]])))
            .collect();
        self.tr.absorb_u64s(b"final", &c.final_words);
        c
    }

    /// Round 10: the proof-of-work nonce.
    fn grind(&mut self) -> u64 {
        let nonce = grind(&self.tr, self.pk.options.grinding_bits);
        self.tr.absorb_u64s(b"pow", &[nonce]);
        nonce
    }

    /// Round 11: the query indices, and everything opened at each.
    fn open_queries(&mut self, fri: &FriCommitment) -> Vec<QueryProof> {
        let pk = self.pk;
        let (lb, opts, layout) = (self.lb(), &pk.options, &pk.circuit.layout);
        let tables = &self.tables;
        let mut queries = Vec::with_capacity(usize::from(opts.n_queries));
        for _ in 0..opts.n_queries {
            let index = self.tr.sample_bits(query_index_bits(&self.layers));
            let fri_layers = fri
                .trees
                .iter()
                .zip(&fri.evals)
                .zip(self.layers.windows(2))
                .map(|((tree, evals), w)| {
                    let m = 1usize << w[1];
                    let j = (index as usize) % m;
                    let values = (0..1usize << (w[0] - w[1])).flat_map(|i| ef_to_u64(evals[j + i * m])).collect();
                    MerkleOpening { values: Words(values), siblings: tree.path(j) }
                })
                .collect();
            queries.push(QueryProof {
                index,
                prep: open_groups(&pk.prep_tree, &layout.prep, lb, &|t| prep_lde_of(pk, t).map(|l| &l.matrix), index),
                main: open_groups(&self.trees[MAIN], phase_trees(layout, MAIN), lb, &|t| Some(&tables[t].main_lde.matrix), index),
                perm: open_groups(&self.trees[PERM], phase_trees(layout, PERM), lb, &|t| tables[t].perm_lde.as_deref(), index),
                quotient: open_groups(&self.trees[QUOT], phase_trees(layout, QUOT), lb, &|t| tables[t].quotient_lde.as_deref(), index),
                fri_layers,
            });
        }
        queries
    }
}

/// Rewrites the first quotient chunk's opening at `z` of every quotient owner so that its
/// out-of-domain equation holds: what a malicious prover does to get past the out-of-domain
/// check.
#[allow(clippy::too_many_arguments)]
fn forge_out_of_domain(
    circuit: &Circuit,
    openings: &mut [TableOpenings],
    publics: &[F],
    z: EF,
    (alpha, nu, lookup, challenges): (EF, EF, LookupChallenges, &[EF]),
    sums: &[EF],
) {
    let log_heights = &circuit.log_heights;
    use sigil_verifier::verify::{Opened, combine_into_owner, combine_quotient, constraints_at};
    let mut sum_iter = sums.iter();
    let mut combined: Vec<Option<(EF, EF)>> = vec![None; circuit.n_tables()];
    for (t, ((chip, info), &lh)) in circuit.chips.iter().zip(&circuit.infos).zip(log_heights).enumerate() {
        let cum = if info.interactions.is_empty() { EF::ZERO } else { *sum_iter.next().unwrap_or(&EF::ZERO) };
        let Ok(op) = Opened::decode(&openings[t]) else { continue };
        let Ok((c, z_h)) = constraints_at(chip.as_ref(), &info.logup_batches, &op, publics, lh, z, alpha, &lookup, challenges, cum) else {
            continue;
        };
        let _ = combine_into_owner(&mut combined, circuit, t, nu, c, z_h);
    }
    for (t, slot) in combined.into_iter().enumerate() {
        let (Some((c, z_h)), Some(o)) = (slot, openings.get_mut(t)) else { continue };
        let Ok(op) = Opened::decode(o) else { continue };
        let Some(inv) = z_h.try_inverse() else { continue };
        let delta = c * inv - combine_quotient(&op.quotient, z, log_heights[t]);
        // Chunk 0 is z^0 times (column 0 + X column 1): adding delta to column 0's value adds
        // delta to Q(z).
        let q0 = ef_from_base([F::from_u64(o.quotient.0[0]), F::from_u64(o.quotient.0[1])]) + delta;
        let [a, b] = ef_to_u64(q0);
        o.quotient.0[0] = a;
        o.quotient.0[1] = b;
    }
}

/// The layout's trees of a proving phase (`MAIN`, `PERM`, `QUOT`).
fn phase_trees(layout: &ProofLayout, phase: usize) -> &[TreeLayout] {
    match phase {
        MAIN => &layout.main,
        PERM => &layout.perm,
        _ => &layout.quotient,
    }
}

/// The phase's mixed-height tree (none when no table has columns in it), as its layout says.
fn commit_tree<'a, B: Backend + ?Sized>(backend: &B, tls: &[TreeLayout], mat: impl Fn(usize) -> Option<&'a Lde>) -> Vec<MixedTree> {
    tls.iter().map(|tl| backend.commit_mixed(&tree_levels(tl, &mat), tl.depth, tl.cap_log)).collect()
}

/// A tree's matrices by the level they enter (`MerkleOps::commit_mixed`'s argument), from
/// the tables' matrices `mat` (none for a table without columns in the phase).
fn tree_levels<'a, M>(tl: &TreeLayout, mat: &impl Fn(usize) -> Option<&'a M>) -> Vec<(usize, Vec<&'a M>)> {
    tl.groups.iter().zip(&tl.levels).map(|(g, &(level, _))| (level, g.tables.iter().filter_map(|&t| mat(t)).collect())).collect()
}

/// `f` on every table's item, several tables at once where the backend allows
/// ([`Backend::concurrent_tables`]), else one after another in the circuit's order.
fn per_table<B: Backend + ?Sized, T: Send, R: Send>(backend: &B, items: Vec<T>, f: impl Fn(T) -> R + Sync + Send) -> Vec<R> {
    if backend.concurrent_tables() { items.into_par_iter().map(f).collect() } else { items.into_iter().map(f).collect() }
}

fn prep_lde_of(pk: &ProvingKey, t: usize) -> Option<&Lde> {
    pk.prep_ldes.get(t).and_then(Option::as_ref)
}

/// A row-major matrix (`m`, `w0` columns) with the extension columns `ext` (row-major, `width`
/// per row, `height` rows) appended as pairs of base columns; returns the values and the width.
fn append_ext_columns(
    m: Vec<F>,
    w0: usize,
    ext: &[EF],
    width: usize,
    height: usize,
) -> Result<(Vec<F>, usize), ProveError> {
    if ext.len() != width * height {
        return Err(ProveError::AuxShape { expected: width * height, found: ext.len() });
    }
    let w = w0 + 2 * width;
    let mut values = Vec::with_capacity(w * height);
    for r in 0..height {
        values.extend_from_slice(&m[r * w0..(r + 1) * w0]);
        for e in &ext[r * width..(r + 1) * width] {
            values.extend_from_slice(&ef_to_base(*e));
        }
    }
    Ok((values, w))
}

/// A table's committed lookup and auxiliary columns (row-major base values and their width)
/// and its LogUp sum (none for a table without interactions).
type PermColumns = (Vec<F>, usize, Option<EF>);

/// The LogUp columns of a table (a helper column per batch but the last, then the running
/// sum `T`; each an extension value as two base columns) and its total. `T` is the exclusive
/// prefix sum of the rows' values (`T_0 = 0`, `T_{r+1} = T_r + Σ_k u_k(r)`), so its step from
/// row `r` is row `r`'s value and the last row's step wraps to `T_0` less the total
/// (`ConstraintFolder::interact`). Rows in parallel chunks: each chunk's fingerprints evaluated
/// in place ([`LogUpRow`]) and inverted in one batch, its running sum offset by the chunks
/// before it (field sums, so the values are those of one pass in order).
fn lookup_trace(
    chip: &dyn sigil_air::Chip,
    batches: &[usize],
    main: &Trace,
    prep: Option<&Trace>,
    publics: &[F],
    lookup: &LookupChallenges,
) -> (RowMajorMatrix<F>, EF) {
    const CHUNK: usize = 1 << 12;
    let n = main.height();
    let k: usize = batches.iter().sum();
    let nb = batches.len();
    let width = 2 * nb;
    let sum_col = 2 * (nb - 1);
    let mut values = vec![F::ZERO; n * width];
    let sums: Vec<EF> = values
        .par_chunks_mut(CHUNK * width)
        .enumerate()
        .map(|(c, out)| {
            let (r0, rows) = (c * CHUNK, out.len() / width);
            let mut dens = vec![EF::ZERO; rows * k];
            let mut mults = vec![F::ZERO; rows * k];
            for ((i, d), m) in dens.chunks_mut(k.max(1)).enumerate().zip(mults.chunks_mut(k.max(1))) {
                chip.eval_logup(&mut LogUpRow {
                    at: RowAt::new(main, prep, publics, r0 + i),
                    lookup,
                    fingerprints: d,
                    multiplicities: m,
                    made: 0,
                    stacking: None,
                });
            }
            let inv = batch_multiplicative_inverse(&dens);
            let mut running = EF::ZERO;
            for (i, row) in out.chunks_mut(width).enumerate() {
                [row[sum_col], row[sum_col + 1]] = ef_to_base(running);
                let mut j = 0;
                for (b, &size) in batches.iter().enumerate() {
                    let u: EF = (j..j + size).map(|t| inv[i * k + t] * mults[i * k + t]).sum();
                    j += size;
                    running += u;
                    if b + 1 < nb {
                        [row[2 * b], row[2 * b + 1]] = ef_to_base(u);
                    }
                }
            }
            running
        })
        .collect();
    // Each chunk's running sum starts at the total of the chunks before it.
    let mut offsets = Vec::with_capacity(sums.len());
    let mut total = EF::ZERO;
    for s in &sums {
        offsets.push(total);
        total += *s;
    }
    values.par_chunks_mut(CHUNK * width).zip(offsets).for_each(|(out, offset)| {
        if offset != EF::ZERO {
            for row in out.chunks_mut(width) {
                [row[sum_col], row[sum_col + 1]] = ef_to_base(ef_from_base([row[sum_col], row[sum_col + 1]]) + offset);
            }
        }
    });
    (RowMajorMatrix::new(values, width), total)
}

/// The extension of a table's two DEEP combinations (`A` then `B`, two base columns each):
/// both are combined row by row on the trace domain, from the traces and the quotient chunks'
/// values there, then extended by `2^log_blowup` onto the LDE coset.
fn combined_lde<B: Backend + ?Sized>(backend: &B, prep: Option<&Trace>, td: &TableData, cz: &[EF], czg: &[EF], log_blowup: usize) -> Lde {
    let n = 1usize << td.log_n;
    let quotient_h = td.quotient_coeffs.as_ref().map(|c| backend.coset_evaluate(c.clone(), F::ONE));
    let parts: Vec<(&[F], usize)> = [
        prep.map(|p| (p.values.as_slice(), p.width)),
        Some((td.main.values.as_slice(), td.main.width)),
        td.perm.as_ref().map(|p| (p.values.as_slice(), p.width)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut values = vec![F::ZERO; 4 * n];
    values.par_chunks_mut(4).enumerate().for_each(|(r, out)| {
        let (mut a, mut b, mut k) = (EF::ZERO, EF::ZERO, 0);
        for &(v, w) in &parts {
            for &x in &v[r * w..(r + 1) * w] {
                a += cz[k] * x;
                b += czg[k] * x;
                k += 1;
            }
        }
        if let Some(q) = &quotient_h {
            let w = q.width();
            for &x in &q.values[r * w..(r + 1) * w] {
                a += cz[k] * x;
                k += 1;
            }
        }
        let ([a0, a1], [b0, b1]) = (ef_to_base(a), ef_to_base(b));
        out.copy_from_slice(&[a0, a1, b0, b1]);
    });
    backend.coset_lde(RowMajorMatrix::new(values, 4), log_blowup, lde_shift())
}

/// Interpolates the quotient, splits it into `2^log_q` chunks of degree below `n`, and extends
/// each (as two base columns) to the LDE domain. Returns the chunks' coefficients (for the
/// out-of-domain openings) and their LDE.
fn split_quotient<B: Backend + ?Sized>(
    backend: &B,
    q: Vec<EF>,
    log_n: usize,
    log_q: usize,
    log_blowup: usize,
) -> (RowMajorMatrix<F>, Lde) {
    let n = 1usize << log_n;
    let chunks = 1usize << log_q;
    let base: Vec<F> = q.iter().flat_map(|&e| ef_to_base(e)).collect();
    let coeffs = backend.coset_interpolate(RowMajorMatrix::new(base, 2), lde_shift());
    // Chunk j holds coefficients j*n .. (j+1)*n: column pair (2j, 2j+1) of an n-row matrix.
    let width = 2 * chunks;
    let mut split = vec![F::ZERO; n * width];
    for j in 0..chunks {
        for i in 0..n {
            split[i * width + 2 * j] = coeffs.values[2 * (j * n + i)];
            split[i * width + 2 * j + 1] = coeffs.values[2 * (j * n + i) + 1];
        }
    }
    let split = RowMajorMatrix::new(split, width);
    let mut padded = split.values.clone();
    padded.resize((n * width) << log_blowup, F::ZERO);
    let lde = backend.coset_evaluate(RowMajorMatrix::new(padded, width), lde_shift());
    (split, lde)
}

/// `w_i = c * g^i / (x - g^i)` with `c = (x^n - 1) / n`, so that `p(x) = sum_i w_i p(g^i)` for
/// any `p` of degree below `n`; `None` if `x` is in the domain.
fn barycentric_weights(x: EF, log_n: usize) -> Option<Vec<EF>> {
    let n = 1usize << log_n;
    let g = omega(log_n);
    let pts: Vec<F> = g.powers().take(n).collect();
    let dens: Vec<EF> = pts.iter().map(|&p| x - p).collect();
    if dens.contains(&EF::ZERO) {
        return None;
    }
    let inv = batch_multiplicative_inverse(&dens);
    let c = (x.exp_power_of_2(log_n) - EF::ONE) * F::from_u64(n as u64).inverse();
    Some(pts.iter().zip(inv).map(|(&p, i)| c * i * p).collect())
}

/// `sum_i weights[i] * row_i` for the rows of a row-major matrix.
fn eval_columns(values: &[F], width: usize, weights: &[EF]) -> Vec<EF> {
    if width == 0 {
        return vec![];
    }
    values
        .par_chunks(width * 1024)
        .enumerate()
        .map(|(c, block)| {
            let mut acc = vec![EF::ZERO; width];
            for (r, row) in block.chunks_exact(width).enumerate() {
                let w = weights[c * 1024 + r];
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a += w * v;
                }
            }
            acc
        })
        .collect::<Vec<Vec<EF>>>()
        .into_iter()
        .fold(vec![EF::ZERO; width], |mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
            a
        })
}

/// Evaluates every column of a coefficient matrix at `x`.
fn horner_columns(coeffs: &RowMajorMatrix<F>, x: EF) -> Vec<EF> {
    let w = coeffs.width();
    let mut acc = vec![EF::ZERO; w];
    for row in coeffs.values.chunks_exact(w).rev() {
        for (a, &c) in acc.iter_mut().zip(row) {
            *a = *a * x + c;
        }
    }
    acc
}

/// Finds the smallest nonce that solves the proof-of-work puzzle.
fn grind(tr: &Transcript, bits: u8) -> u64 {
    if bits == 0 {
        return 0;
    }
    // Search in blocks so that the smallest solution is found whatever the thread count, 16
    // nonces per hash call (Blake3 in lanes).
    const BLOCK: u64 = 1 << 12;
    let lanes = crate::cpu::lanes::LANES as u64;
    let prefix = tr.pow_prefix();
    let mut start = 0u64;
    loop {
        let found: Option<u64> = (0..BLOCK / lanes)
            .into_par_iter()
            .filter_map(|c| {
                let first = start + c * lanes;
                let d = crate::cpu::lanes::pow_digests(&prefix, first);
                d.iter().position(|d| Transcript::pow_digest_ok(d, bits)).map(|l| first + l as u64)
            })
            .min();
        if let Some(n) = found {
            debug_assert!(tr.check_pow(bits, n));
            return n;
        }
        start += BLOCK;
    }
}

/// Opens the phase's tree at the query's position: one row of every table (at the position
/// modulo its LDE's size), tallest group first.
fn open_groups<'a>(
    trees: &[MixedTree],
    tls: &[TreeLayout],
    lb: usize,
    mats: &dyn Fn(usize) -> Option<&'a LdeMatrix>,
    index: u64,
) -> Vec<MerkleOpening> {
    trees
        .iter()
        .zip(tls)
        .map(|(tree, tl)| {
            let mut values = Vec::new();
            for g in &tl.groups {
                let r = (index as usize) % (1usize << (g.log_height + lb));
                for &t in &g.tables {
                    if let Some(mat) = mats(t) {
                        let w = mat.width();
                        values.extend(mat.values[r * w..(r + 1) * w].iter().map(|&v| f_to_u64(v)));
                    }
                }
            }
            MerkleOpening { values: Words(values), siblings: mixed_path(tree, &tree_levels(tl, &mats), tl.depth, index as usize) }
        })
        .collect()
}

/// The siblings of position `index` in `tree` (of `2^depth` leaves over the matrices of
/// `levels`, each group at the level it enters), from level 0 to the cap: those below the
/// stored levels recomputed from the rows, as the tree was built.
fn mixed_path(tree: &MixedTree, levels: &[(usize, Vec<&LdeMatrix>)], depth: usize, index: usize) -> Vec<Digest> {
    let mut out = Vec::with_capacity(tree.base + tree.levels.len());
    for s in 0..tree.base {
        let (w, half) = (1usize << (depth - s), 1usize << (depth - s - 1));
        let j = index % w;
        out.push(mixed_node(levels, depth, s, if j < half { j + half } else { j - half }));
    }
    out.extend(tree.path(index));
    out
}

/// Node `x` of level `s` of a mixed tree over `levels` (`commit_mixed`'s layout: level 0 hashes
/// the first group's rows; node `x` of level `s` pairs nodes `x` and `x + 2^(depth - s)` of the
/// level below, then hashes in the row `x` of the group entering at `s`, if any).
fn mixed_node(levels: &[(usize, Vec<&LdeMatrix>)], depth: usize, s: usize, x: usize) -> Digest {
    let leaf = |mats: &[&LdeMatrix]| {
        let row: Vec<F> = mats.iter().flat_map(|m| m.values[x * m.width()..(x + 1) * m.width()].iter().copied()).collect();
        ActiveHasher::hash_leaf(&row)
    };
    if s == 0 {
        return leaf(levels.first().map_or(&[], |(_, m)| m.as_slice()));
    }
    let w = 1usize << (depth - s);
    let pair = ActiveHasher::hash_node(&mixed_node(levels, depth, s - 1, x), &mixed_node(levels, depth, s - 1, x + w));
    match levels.iter().find(|(l, _)| *l == s) {
        Some((_, mats)) => ActiveHasher::hash_node(&pair, &leaf(mats)),
        None => pair,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CpuBackend;
    use crate::backend::MerkleOps;
    use sigil_verifier::merkle::verify_mixed_path;

    /// The LogUp columns built in parallel chunks equal those of one pass over the rows with
    /// the debug checker's row builder (`eval_row`): the transfer example's four tables on two
    /// buses, with 2^13 and 2^14 rows (several chunks, so the running sum's offsets count).
    #[test]
    fn lookup_columns_equal_a_pass_over_the_rows() {
        use sigil_air::{Direction, eval_row};
        let ex = crate::examples::transfer(13, 13, 7, ProofOptions::default()).unwrap();
        let lookup = LookupChallenges { beta: ef_from_base([F::from_u64(3), F::from_u64(5)]), gamma: ef_from_base([F::from_u64(11), F::from_u64(13)]) };
        let mut rows_checked = 0;
        for (t, chip) in ex.circuit.chips.iter().enumerate() {
            let info = &ex.circuit.infos[t];
            if info.interactions.is_empty() {
                continue;
            }
            let prep = chip.preprocessed_trace();
            let main = &ex.traces[t];
            let (got, total) = lookup_trace(chip.as_ref(), &info.logup_batches, main, prep.as_ref(), &ex.publics, &lookup);
            let mut running = EF::ZERO;
            let nb = info.logup_batches.len();
            let width = 2 * nb;
            assert_eq!(got.width, width);
            for r in 0..main.height() {
                let b = eval_row(chip.as_ref(), main, prep.as_ref(), None, &ex.publics, r);
                let mut terms = b.interactions.iter().map(|i| {
                    let m = if i.dir == Direction::Send { i.multiplicity } else { -i.multiplicity };
                    lookup.fingerprint(i.bus, &i.fields).inverse() * m
                });
                // The helpers of every batch but the last, then the sum of the rows before.
                let mut want = Vec::new();
                let before = running;
                for (k, &size) in info.logup_batches.iter().enumerate() {
                    let h: EF = terms.by_ref().take(size).sum();
                    running += h;
                    if k + 1 < nb {
                        want.extend(ef_to_base(h));
                    }
                }
                want.extend(ef_to_base(before));
                assert_eq!(&got.values[r * width..(r + 1) * width], want.as_slice(), "table {t}, row {r}");
                rows_checked += 1;
            }
            assert_eq!(total, running, "table {t}");
        }
        assert!(rows_checked > 3 << 12, "{rows_checked} rows checked");
    }

    /// The LogUp constraints on concrete rows: with the honest columns and the table's total
    /// as its claimed sum every row folds to zero; one changed helper or running-sum cell, or
    /// another claimed sum, leaves a row that does not. The running sum's start is free (every
    /// cell moved by one constant still folds to zero): only its cyclic steps are constrained,
    /// and they add up to the claimed sum whatever the start (`docs/soundness.md`, LogUp).
    #[test]
    fn the_running_sum_carries_the_last_batch_and_one_changed_cell_breaks_a_row() {
        let lookup = LookupChallenges { beta: ef_from_base([F::from_u64(7), F::from_u64(2)]), gamma: ef_from_base([F::from_u64(5), F::from_u64(9)]) };
        let alpha = ef_from_base([F::from_u64(17), F::from_u64(4)]);
        let examples = [crate::examples::transfer(6, 6, 3, ProofOptions::default()).unwrap(), crate::examples::mlp(5, ProofOptions::default()).unwrap()];
        // Every row's fold, from the LogUp columns `perm` (extension values, row-major).
        let folds = |ex: &crate::examples::Example, t: usize, perm: &[EF], sum: EF| -> Vec<EF> {
            let (chip, info) = (ex.circuit.chips[t].as_ref(), &ex.circuit.infos[t]);
            let (main, prep) = (&ex.traces[t], chip.preprocessed_trace());
            let (n, w) = (main.height(), info.logup_batches.len());
            (0..n)
                .map(|r| {
                    let at = RowAt::new(main, prep.as_ref(), &ex.publics, r);
                    let next = (r + 1) % n;
                    let mut folder = sigil_air::ConstraintFolder {
                        main_local: at.main_local,
                        main_next: at.main_next,
                        prep_local: at.prep_local,
                        prep_next: at.prep_next,
                        publics: &ex.publics,
                        is_first_row: F::from_bool(r == 0),
                        is_last_row: F::from_bool(r + 1 == n),
                        is_transition: F::from_bool(r + 1 != n),
                        alpha,
                        acc: EF::ZERO,
                        perm_local: &perm[r * w..(r + 1) * w],
                        perm_next: &perm[next * w..(next + 1) * w],
                        lookup,
                        cumulative_sum: sum,
                        logup_batches: &info.logup_batches,
                        pending: Default::default(),
                        aux_local: &[],
                        aux_next: &[],
                        challenges: &[],
                        stacking: None,
                    };
                    // The LogUp terms alone: the chip's own constraints hold on honest rows.
                    chip.eval_base(&mut folder);
                    folder.acc
                })
                .collect()
        };
        let (mut tables, mut with_helpers) = (0, 0);
        for ex in &examples {
            for (t, chip) in ex.circuit.chips.iter().enumerate() {
                let info = &ex.circuit.infos[t];
                if info.interactions.is_empty() || info.aux_width > 0 {
                    continue;
                }
                let prep = chip.preprocessed_trace();
                let (cols, sum) = lookup_trace(chip.as_ref(), &info.logup_batches, &ex.traces[t], prep.as_ref(), &ex.publics, &lookup);
                let perm: Vec<EF> = cols.values.chunks_exact(2).map(|c| ef_from_base([c[0], c[1]])).collect();
                let w = info.logup_batches.len();
                let all_zero = |p: &[EF], s: EF| folds(ex, t, p, s).iter().all(|f| *f == EF::ZERO);
                assert!(all_zero(&perm, sum), "table {t}: honest columns");
                assert!(!all_zero(&perm, sum + EF::ONE), "table {t}: another claimed sum");
                let n = ex.traces[t].height();
                for col in 0..w {
                    let mut bad = perm.clone();
                    bad[(n / 2) * w + col] += EF::ONE;
                    assert!(!all_zero(&bad, sum), "table {t}: column {col} changed");
                }
                let moved: Vec<EF> = perm.iter().enumerate().map(|(i, &v)| if i % w == w - 1 { v + ef_from_base([F::from_u64(99), F::ONE]) } else { v }).collect();
                assert!(all_zero(&moved, sum), "table {t}: the running sum moved by a constant");
                tables += 1;
                with_helpers += usize::from(w > 1);
            }
        }
        assert!(tables >= 4 && with_helpers >= 1, "{tables} tables, {with_helpers} with helper columns");
    }

    /// A tree whose lowest levels are not stored opens every position with the siblings the
    /// verifier checks: groups entering below, at and above the stored base, every depth from
    /// a cap-only tree to one with all four levels pruned.
    #[test]
    fn pruned_mixed_trees_open_every_position() {
        for (depth, cap_log, entering) in [(0, 0, vec![0]), (3, 1, vec![0, 1]), (8, 2, vec![0, 1, 3, 4, 6]), (9, 5, vec![0, 2, 4])] {
            let mats: Vec<(usize, Lde)> = entering
                .iter()
                .enumerate()
                .map(|(k, &s)| {
                    let (rows, w) = (1usize << (depth - s), 1 + k % 3);
                    (s, Lde::host(RowMajorMatrix::new((0..rows * w).map(|i| F::from_u64((i * 7919 + k * 31) as u64)).collect(), w)))
                })
                .collect();
            let levels: Vec<(usize, Vec<&Lde>)> = mats.iter().map(|(s, m)| (*s, vec![m])).collect();
            let tree = CpuBackend::default().commit_mixed(&levels, depth, cap_log);
            assert_eq!(tree.base, sigil_verifier::merkle::mixed_tree_base(depth, cap_log));
            assert_eq!(tree.levels[0].len(), 1 << (depth - tree.base));
            let rows: Vec<(usize, Vec<&LdeMatrix>)> = mats.iter().map(|(s, m)| (*s, vec![&m.matrix])).collect();
            let words: Vec<(usize, usize)> = mats.iter().map(|(s, m)| (*s, m.width())).collect();
            for index in 0..1usize << depth {
                let siblings = mixed_path(&tree, &rows, depth, index);
                assert_eq!(siblings.len(), depth - cap_log);
                let values: Vec<F> = mats.iter().flat_map(|(s, m)| m.row_slice(index % (1 << (depth - s))).unwrap().to_vec()).collect();
                assert!(verify_mixed_path(&values, &words, index as u64, &siblings, &tree.cap(), depth), "depth {depth}, position {index}");
                // One sibling changed: refused.
                if let Some(first) = siblings.first() {
                    let mut bad = siblings.clone();
                    bad[0] = [first[0] ^ 1; 32];
                    assert!(!verify_mixed_path(&values, &words, index as u64, &bad, &tree.cap(), depth));
                }
            }
        }
    }
}
