//! The verifier, as the protocol's rounds (`docs/soundness.md` names them the same way):
//!
//! 1. [`check_statement`]: the header against the circuit (format, field, hash, circuit id,
//!    every parameter), the heights, the public values, the security policy;
//! 2. the shape ([`crate::ProofLayout::check`]): after it every length is known to match;
//! 3. [`check_circuit_id`]: the preprocessed commitments make the circuit id;
//! 4. [`replay_transcript`]: every challenge, in the prover's order;
//! 5. [`check_bus_balance`]: the LogUp sums cancel;
//! 6. [`check_out_of_domain`]: every chip's constraints against its quotient at `z`;
//! 7. [`check_pow_and_indices`]: the grinding nonce and the query indices;
//! 8. [`check_query`], per query: Merkle openings, DEEP values, every FRI fold, the final
//!    polynomial.

use alloc::string::ToString;
use alloc::vec::Vec;

use p3_field::{Field, PrimeCharacteristicRing};
use sigil_air::field::{ef_from_canonical, f_from_canonical, f_to_u64};
use sigil_air::{Chip, ConstraintFolder, Direction, EF, F, LookupChallenges};

use crate::circuit::Circuit;
use crate::error::{Phase, VerifyError};
use crate::hash::{ActiveHasher, Hasher};
use crate::layout::{ProofLayout, TreeLayout};
use crate::merkle::{Cap, verify_mixed_path, verify_path};
use crate::proof::{
    CircuitId, FIELD_GOLDILOCKS_EXT2, FORMAT_VERSION, HEADER_BYTES, MAGIC, MerkleOpening, Proof, ProofHeader,
    QueryProof, TableOpenings, Words,
};
use crate::protocol::{
    PhaseWidths, TRANSCRIPT_DOMAIN, deep_coefficients, eval_poly, lde_shift, omega, recombine,
    selectors_at,
};
use crate::transcript::Transcript;

/// What the verifier demands of a proof besides validity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifierOptions {
    /// Circuits whose conjectured security is below this are refused.
    pub min_security_bits: u32,
    /// Proofs longer than this are rejected before anything else.
    pub max_proof_bytes: usize,
}

impl Default for VerifierOptions {
    fn default() -> Self {
        Self { min_security_bits: 100, max_proof_bytes: 64 << 20 }
    }
}

/// Decodes proof bytes of `circuit`: the length must be exactly the circuit's proof size
/// (checked before anything is allocated) and every field element canonical.
pub fn decode_proof(circuit: &Circuit, bytes: &[u8], max_bytes: usize) -> Result<Proof, VerifyError> {
    if bytes.len() > max_bytes {
        return Err(VerifyError::TooLarge { size: bytes.len(), limit: max_bytes });
    }
    circuit.layout.decode(bytes)
}

/// Verifies proof bytes against a circuit, its id and the public values. The header and the
/// heights are checked against the circuit, and the length against the circuit's proof size,
/// before the body is decoded.
pub fn verify(
    circuit: &Circuit,
    circuit_id: &CircuitId,
    publics: &[F],
    proof_bytes: &[u8],
    opts: &VerifierOptions,
) -> Result<(), VerifyError> {
    verify_in_context(circuit, circuit_id, publics, &[], proof_bytes, opts)
}

/// The most bytes a proof's context may hold (see [`verify_in_context`]).
pub const MAX_CONTEXT_BYTES: usize = 1024;

/// As [`verify`], for a proof made in `context`: bytes outside the circuit that the prover's
/// transcript absorbed right after the public values (a request's nonce and the prover's
/// identity, say), so that the proof verifies in that context only. An empty context is no
/// context: the transcript absorbs nothing for it, as [`verify`].
pub fn verify_in_context(
    circuit: &Circuit,
    circuit_id: &CircuitId,
    publics: &[F],
    context: &[u8],
    proof_bytes: &[u8],
    opts: &VerifierOptions,
) -> Result<(), VerifyError> {
    if context.len() > MAX_CONTEXT_BYTES {
        return Err(VerifyError::ContextTooLong { len: context.len(), limit: MAX_CONTEXT_BYTES });
    }
    if proof_bytes.len() > opts.max_proof_bytes {
        return Err(VerifyError::TooLarge { size: proof_bytes.len(), limit: opts.max_proof_bytes });
    }
    let header = ProofHeader::from_bytes(proof_bytes).ok_or(VerifyError::Truncated)?;
    check_header(circuit, circuit_id, &header)?;
    let Some(heights) = proof_bytes.get(HEADER_BYTES..HEADER_BYTES + circuit.n_tables()) else {
        return Err(VerifyError::WrongSize { expected: circuit.layout.size(), found: proof_bytes.len() });
    };
    check_heights_and_policy(circuit, heights, publics, opts)?;
    let proof = circuit.layout.decode(proof_bytes)?;
    verify_body(circuit, circuit_id, publics, context, &proof)
}

/// Verifies a decoded proof.
pub fn verify_proof(
    circuit: &Circuit,
    circuit_id: &CircuitId,
    publics: &[F],
    proof: &Proof,
    opts: &VerifierOptions,
) -> Result<(), VerifyError> {
    check_statement(circuit, circuit_id, &proof.header, &proof.log_heights, publics, opts)?;
    verify_body(circuit, circuit_id, publics, &[], proof)
}

/// Every round after the statement (which the caller has checked).
fn verify_body(circuit: &Circuit, circuit_id: &CircuitId, publics: &[F], context: &[u8], proof: &Proof) -> Result<(), VerifyError> {
    circuit.layout.check(proof)?;
    check_circuit_id(circuit, circuit_id, &proof.prep_roots)?;
    let ch = replay_transcript(proof, circuit, publics, context);
    let final_poly = efs(&proof.fri.final_poly, "final polynomial")?;
    let sums = check_bus_balance(circuit, &proof.cumulative_sums, publics, &ch.lookup)?;
    let opened = check_out_of_domain(circuit, proof, publics, &ch, &sums)?;
    check_pow_and_indices(proof, &circuit.layout, ch.transcript)?;
    let ctx = QueryContext::new(circuit, &opened, ch.z, ch.lambda)?;
    for (qi, q) in proof.fri.queries.iter().enumerate() {
        check_query(&ctx, proof, q, qi, &ch.fri_betas, &final_poly)?;
    }
    Ok(())
}

// ---- Helpers ------------------------------------------------------------------------------

/// `v[i]`, or an error: used where the shape check has already made `i` valid, so that a
/// mistake there is a rejection, not a panic.
fn at<T>(v: &[T], i: usize) -> Result<&T, VerifyError> {
    v.get(i).ok_or(VerifyError::InvalidShape("index out of range"))
}

fn felts(w: &Words, what: &'static str) -> Result<Vec<F>, VerifyError> {
    w.0.iter().map(|&v| f_from_canonical(v).ok_or(VerifyError::NonCanonical(what))).collect()
}

fn efs(w: &Words, what: &'static str) -> Result<Vec<EF>, VerifyError> {
    w.0.chunks_exact(2)
        .map(|c| match c {
            [a, b] => ef_from_canonical([*a, *b]).ok_or(VerifyError::NonCanonical(what)),
            _ => Err(VerifyError::InvalidShape("odd number of words for extension elements")),
        })
        .collect()
}

// ---- 1. Statement -------------------------------------------------------------------------

/// The header, the heights and the public values against the circuit; the circuit's security
/// against the policy. Reads nothing else, allocates nothing.
pub fn check_statement(
    circuit: &Circuit,
    circuit_id: &CircuitId,
    h: &ProofHeader,
    log_heights: &[u8],
    publics: &[F],
    opts: &VerifierOptions,
) -> Result<(), VerifyError> {
    check_header(circuit, circuit_id, h)?;
    check_heights_and_policy(circuit, log_heights, publics, opts)
}

/// The heights against the circuit's, the circuit's security against the policy, and the
/// number of public values.
fn check_heights_and_policy(
    circuit: &Circuit,
    log_heights: &[u8],
    publics: &[F],
    opts: &VerifierOptions,
) -> Result<(), VerifyError> {
    if log_heights.len() != circuit.n_tables() {
        return Err(VerifyError::InvalidShape("one height per table"));
    }
    for ((&found, &expected), info) in log_heights.iter().zip(&circuit.log_heights).zip(&circuit.infos) {
        if usize::from(found) != expected {
            return Err(VerifyError::HeightMismatch {
                chip: info.name.to_string(),
                expected: expected as u64,
                found: found.into(),
            });
        }
    }
    let bits = circuit.security.conjectured_bits;
    if bits < opts.min_security_bits {
        return Err(VerifyError::InsufficientSecurity { bits, required: opts.min_security_bits });
    }
    if publics.len() != circuit.n_publics {
        return Err(VerifyError::PublicValuesLength { expected: circuit.n_publics, found: publics.len() });
    }
    for pb in circuit.public_buses.iter().filter(|pb| pb.bits != 0) {
        let values = publics.get(pb.start..pb.start.saturating_add(pb.len)).ok_or(VerifyError::InvalidShape("public bus range"))?;
        if let Some(i) = values.iter().position(|&v| !pb.in_range(v)) {
            return Err(VerifyError::PublicValueOutOfRange { index: pb.start + i, bits: pb.bits, unsigned: pb.unsigned });
        }
    }
    Ok(())
}

/// The header alone against the circuit: format, field, hash, circuit id, every parameter.
fn check_header(circuit: &Circuit, circuit_id: &CircuitId, h: &ProofHeader) -> Result<(), VerifyError> {
    if h.magic != MAGIC {
        return Err(VerifyError::BadMagic);
    }
    if h.version != FORMAT_VERSION {
        // Version 1 wrote the version as a varint followed by the field id: its bytes read
        // here as 0x0101. Name it as the version it is.
        let v1 = h.version == 0x0101;
        return Err(VerifyError::UnsupportedVersion(if v1 { 1 } else { h.version }));
    }
    if h.field != FIELD_GOLDILOCKS_EXT2 {
        return Err(VerifyError::UnsupportedField(h.field));
    }
    if h.hash != ActiveHasher::ID {
        return Err(VerifyError::UnsupportedHash(h.hash));
    }
    if &h.circuit_id != circuit_id {
        return Err(VerifyError::WrongCircuit);
    }
    let o = &circuit.options;
    let params: [(&'static str, u64, u64); 5] = [
        ("log_blowup", o.log_blowup.into(), h.log_blowup.into()),
        ("n_queries", o.n_queries.into(), h.n_queries.into()),
        ("grinding_bits", o.grinding_bits.into(), h.grinding_bits.into()),
        ("log_final_poly_len", o.log_final_poly_len.into(), h.log_final_poly_len.into()),
        ("log_folding_factor", o.log_folding_factor.into(), h.log_folding_factor.into()),
    ];
    for (parameter, expected, found) in params {
        if expected != found {
            return Err(VerifyError::ParameterMismatch { parameter, expected, found });
        }
    }
    Ok(())
}

// ---- 3. Circuit id --------------------------------------------------------------------------

/// The preprocessed commitments, with the circuit's description, must make the circuit id.
fn check_circuit_id(circuit: &Circuit, circuit_id: &CircuitId, prep_roots: &[Cap]) -> Result<(), VerifyError> {
    if circuit.circuit_id(prep_roots) != *circuit_id {
        return Err(VerifyError::CircuitIdMismatch);
    }
    Ok(())
}

// ---- 4. Transcript ----------------------------------------------------------------------------

/// Every challenge of the proof, and the transcript after the final polynomial (ready for the
/// proof of work).
struct Challenges {
    lookup: LookupChallenges,
    /// The circuit's challenges for auxiliary columns, drawn with the LogUp ones.
    challenges: Vec<EF>,
    alpha: EF,
    /// Combines the quotients of the tables that share one (`Circuit::quotient_owner`).
    nu: EF,
    z: EF,
    lambda: EF,
    /// One per FRI step.
    fri_betas: Vec<EF>,
    transcript: Transcript,
}

/// Replays the prover's transcript: absorbs what the prover sent, in its order, and draws the
/// same challenges.
fn replay_transcript(proof: &Proof, circuit: &Circuit, publics: &[F], context: &[u8]) -> Challenges {
    let mut tr = Transcript::new(TRANSCRIPT_DOMAIN);
    tr.absorb(b"header", &proof.header.to_bytes());
    tr.absorb(b"heights", &proof.log_heights);
    let pub_words: Vec<u64> = publics.iter().map(|&p| f_to_u64(p)).collect();
    tr.absorb_u64s(b"publics", &pub_words);
    if !context.is_empty() {
        tr.absorb(b"context", context);
    }
    tr.absorb_caps(b"prep", &proof.prep_roots);
    tr.absorb_caps(b"main", &proof.main_roots);
    let lookup = LookupChallenges { beta: tr.sample_ef(), gamma: tr.sample_ef() };
    let challenges = (0..circuit.n_challenges).map(|_| tr.sample_ef()).collect();
    tr.absorb_caps(b"perm", &proof.perm_roots);
    tr.absorb_u64s(b"sums", &proof.cumulative_sums.0);
    let alpha = tr.sample_ef();
    let nu = tr.sample_ef();
    tr.absorb_caps(b"quotient", &proof.quotient_roots);
    let z = tr.sample_ef();
    for o in &proof.openings {
        for w in [&o.prep_local, &o.prep_next, &o.main_local, &o.main_next, &o.perm_local, &o.perm_next, &o.quotient] {
            tr.absorb_u64s(b"open", &w.0);
        }
    }
    let lambda = tr.sample_ef();
    let fri = &proof.fri;
    let mut fri_betas = Vec::with_capacity(fri.layer_roots.len());
    // Each layer's fold challenge, after its commitment.
    for root in &fri.layer_roots {
        tr.absorb_caps(b"fri", core::slice::from_ref(root));
        fri_betas.push(tr.sample_ef());
    }
    tr.absorb_u64s(b"final", &fri.final_poly.0);
    Challenges { lookup, challenges, alpha, nu, z, lambda, fri_betas, transcript: tr }
}

// ---- 5. Bus balance -----------------------------------------------------------------------------

/// The LogUp sums of all tables, with the terms of the public tuples the verifier sends or
/// receives itself, must cancel.
fn check_bus_balance(circuit: &Circuit, sums: &Words, publics: &[F], lookup: &LookupChallenges) -> Result<Vec<EF>, VerifyError> {
    let sums = efs(sums, "LogUp sums")?;
    let mut total: EF = sums.iter().copied().sum();
    total += public_bus_sum(circuit, publics, lookup)?;
    if total != EF::ZERO {
        return Err(VerifyError::BusImbalance);
    }
    Ok(sums)
}

/// `sum ±m_i / fingerprint(bus, (i, v_i))` over every public tuple (`m_i` its multiplicity):
/// `+` for what the verifier sends, `-` for what it receives (as a table's LogUp sum counts
/// them). One batch inversion.
pub fn public_bus_sum(circuit: &Circuit, publics: &[F], lookup: &LookupChallenges) -> Result<EF, VerifyError> {
    let mut dens = Vec::new();
    let mut mults = Vec::new();
    for pb in &circuit.public_buses {
        for (i, t) in pb.tuples(publics).ok_or(VerifyError::InvalidShape("public bus range"))?.enumerate() {
            dens.push(lookup.fingerprint(pb.bus, &t));
            let m = F::from_u32(pb.uses_of(i));
            mults.push(if pb.dir == Direction::Send { m } else { -m });
        }
    }
    if dens.contains(&EF::ZERO) {
        return Err(VerifyError::ZeroFingerprint);
    }
    let inv = p3_field::batch_multiplicative_inverse(&dens);
    Ok(inv.iter().zip(&mults).map(|(&x, &m)| x * m).sum())
}

// ---- 6. Out-of-domain check -----------------------------------------------------------------------

/// The openings of one table at `z` and `z * g`, as extension elements.
#[derive(Clone, Debug)]
pub struct Opened {
    pub prep_local: Vec<EF>,
    pub prep_next: Vec<EF>,
    pub main_local: Vec<EF>,
    pub main_next: Vec<EF>,
    pub perm_local: Vec<EF>,
    pub perm_next: Vec<EF>,
    pub quotient: Vec<EF>,
}

impl Opened {
    /// Decodes a table's openings (`NonCanonical` on a word that is not a field element).
    pub fn decode(o: &TableOpenings) -> Result<Self, VerifyError> {
        Ok(Self {
            prep_local: efs(&o.prep_local, "openings")?,
            prep_next: efs(&o.prep_next, "openings")?,
            main_local: efs(&o.main_local, "openings")?,
            main_next: efs(&o.main_next, "openings")?,
            perm_local: efs(&o.perm_local, "openings")?,
            perm_next: efs(&o.perm_next, "openings")?,
            quotient: efs(&o.quotient, "openings")?,
        })
    }
}

/// One table's folded constraints `C(z)` (the chip's, then LogUp's) from its openings, and the
/// vanishing polynomial `Z_H(z)` of its trace domain of `2^log_n` rows.
#[allow(clippy::too_many_arguments)]
pub fn constraints_at(
    chip: &dyn Chip,
    logup_batches: &[usize],
    op: &Opened,
    publics: &[F],
    log_n: usize,
    z: EF,
    alpha: EF,
    lookup: &LookupChallenges,
    challenges: &[EF],
    cumulative_sum: EF,
) -> Result<(EF, EF), VerifyError> {
    let (first, last, trans, z_h) = selectors_at(z, log_n).ok_or(VerifyError::OodPointInDomain)?;
    // The LogUp columns, then the auxiliary columns.
    let perm_local = recombine(&op.perm_local);
    let perm_next = recombine(&op.perm_next);
    let n_logup = perm_local.len().saturating_sub(chip.aux_width());
    let (perm_local, aux_local) = perm_local.split_at(n_logup);
    let (perm_next, aux_next) = perm_next.split_at(n_logup.min(perm_next.len()));
    let mut folder = ConstraintFolder {
        main_local: &op.main_local,
        main_next: &op.main_next,
        prep_local: &op.prep_local,
        prep_next: &op.prep_next,
        publics,
        is_first_row: first,
        is_last_row: last,
        is_transition: trans,
        alpha,
        acc: EF::ZERO,
        perm_local,
        perm_next,
        lookup: *lookup,
        cumulative_sum,
        logup_batches,
        pending: Default::default(),
        aux_local,
        aux_next,
        challenges,
        stacking: None,
    };
    chip.eval_ext(&mut folder);
    Ok((folder.acc, z_h))
}

/// Every chip's folded constraints at `z`, from the opened values, must equal the vanishing
/// polynomial times the opened quotient.
fn check_out_of_domain(
    circuit: &Circuit,
    proof: &Proof,
    publics: &[F],
    ch: &Challenges,
    sums: &[EF],
) -> Result<Vec<Opened>, VerifyError> {
    let mut opened = Vec::with_capacity(circuit.n_tables());
    let mut sum_iter = sums.iter();
    let mut combined: Vec<Option<(EF, EF)>> = alloc::vec![None; circuit.n_tables()];
    for (t, (((chip, o), info), &lh)) in circuit.chips.iter().zip(&proof.openings).zip(&circuit.infos).zip(&circuit.log_heights).enumerate() {
        let op = Opened::decode(o)?;
        let cumulative_sum = if info.interactions.is_empty() {
            EF::ZERO
        } else {
            *sum_iter.next().ok_or(VerifyError::InvalidShape("LogUp sums"))?
        };
        let (c, z_h) =
            constraints_at(chip.as_ref(), &info.logup_batches, &op, publics, lh, ch.z, ch.alpha, &ch.lookup, &ch.challenges, cumulative_sum)?;
        combine_into_owner(&mut combined, circuit, t, ch.nu, c, z_h).ok_or(VerifyError::InvalidShape("quotient owners"))?;
        opened.push(op);
    }
    for (t, slot) in combined.iter().enumerate() {
        if let (Some((c, z_h)), Some(op), Some(&lh)) = (slot, opened.get(t), circuit.log_heights.get(t))
            && *c != *z_h * combine_quotient(&op.quotient, ch.z, lh)
        {
            // Every table of the group: any of them may be the one that fails.
            let names: Vec<&str> =
                circuit.infos.iter().zip(&circuit.quotient_owner).filter(|(_, o)| **o == t).map(|(i, _)| i.name.as_str()).collect();
            return Err(VerifyError::OodMismatch { chip: names.join(" + ") });
        }
    }
    Ok(opened)
}

/// Adds table `t`'s folded constraints `c` at `z` (and `Z_H(z)`) to its quotient owner's slot
/// of `combined` (`Circuit::quotient_owner`): `acc = acc * nu + c`, the tables taken in circuit
/// order, as the prover combines their quotients. `None` when `t` or its owner is out of range.
pub fn combine_into_owner(combined: &mut [Option<(EF, EF)>], circuit: &Circuit, t: usize, nu: EF, c: EF, z_h: EF) -> Option<()> {
    let slot = combined.get_mut(*circuit.quotient_owner.get(t)?)?;
    *slot = Some(match *slot {
        Some((acc, _)) => (acc * nu + c, z_h),
        None => (c, z_h),
    });
    Some(())
}

/// `Q(z) = sum_j z^(j n) Q_j(z)` from the opened chunks (coordinates as pairs).
pub fn combine_quotient(chunks: &[EF], z: EF, log_n: usize) -> EF {
    let z_n = z.exp_power_of_2(log_n);
    let mut quotient = EF::ZERO;
    let mut zpow = EF::ONE;
    for c in recombine(chunks) {
        quotient += zpow * c;
        zpow *= z_n;
    }
    quotient
}

// ---- 7. Proof of work and query indices --------------------------------------------------------------

/// The nonce must solve the grinding puzzle, and each query index must be the one drawn after it.
fn check_pow_and_indices(proof: &Proof, layout: &ProofLayout, mut tr: Transcript) -> Result<(), VerifyError> {
    if !tr.check_pow(proof.header.grinding_bits, proof.fri.pow_nonce) {
        return Err(VerifyError::InvalidPowNonce);
    }
    tr.absorb_u64s(b"pow", &[proof.fri.pow_nonce]);
    for (qi, q) in proof.fri.queries.iter().enumerate() {
        if tr.sample_bits(layout.index_bits) != q.index {
            return Err(VerifyError::QueryIndexMismatch { query: qi });
        }
    }
    Ok(())
}

// ---- 8. Queries ------------------------------------------------------------------------------------

/// What every query needs: the layout, each table's place in each phase's leaves, the DEEP
/// coefficients and constants.
struct QueryContext<'a> {
    layout: &'a ProofLayout,
    log_heights: &'a [usize],
    log_blowup: usize,
    log_max_lde: usize,
    /// Per table and phase: (tree, offset of the table's row in the tree's opening).
    places: Vec<[Option<(usize, usize)>; 4]>,
    /// Per table: the DEEP coefficients at `z` and at `z * g`.
    coeffs: Vec<(Vec<EF>, Vec<EF>)>,
    /// Per table: the combined openings at `z` and at `z g`, and `z g`.
    deep_const: Vec<(EF, EF, EF)>,
    z: EF,
}

impl<'a> QueryContext<'a> {
    fn new(circuit: &'a Circuit, opened: &[Opened], z: EF, lambda: EF) -> Result<Self, VerifyError> {
        let layout = &circuit.layout;
        let widths = &layout.widths;
        let phase_widths: [fn(&PhaseWidths) -> usize; 4] = [|w| w.prep, |w| w.main, |w| w.perm, |w| w.quotient];
        let trees: [&[TreeLayout]; 4] = [&layout.prep, &layout.main, &layout.perm, &layout.quotient];
        let places = (0..layout.n_tables)
            .map(|t| {
                core::array::from_fn(|p| {
                    let (ts, w) = (trees.get(p)?, phase_widths.get(p)?);
                    ts.iter().enumerate().find(|(_, tl)| tl.tables().any(|u| u == t)).map(|(gi, tl)| {
                        let off = tl.tables().take_while(|&u| u != t).filter_map(|u| widths.get(u)).map(w).sum();
                        (gi, off)
                    })
                })
            })
            .collect();
        let coeffs = deep_coefficients(lambda, widths);
        let mut deep_const = Vec::with_capacity(layout.n_tables);
        for ((op, (cz, czg)), &lh) in opened.iter().zip(&coeffs).zip(&circuit.log_heights) {
            let at_z = op.prep_local.iter().chain(&op.main_local).chain(&op.perm_local).chain(&op.quotient);
            let at_zg = op.prep_next.iter().chain(&op.main_next).chain(&op.perm_next);
            let a: EF = at_z.zip(cz).map(|(v, c)| *v * *c).sum();
            let b: EF = at_zg.zip(czg).map(|(v, c)| *v * *c).sum();
            deep_const.push((a, b, z * omega(lh)));
        }
        Ok(Self {
            layout,
            log_heights: &circuit.log_heights,
            log_blowup: usize::from(circuit.options.log_blowup),
            log_max_lde: *at(&layout.fri_layers, 0)?,
            places,
            coeffs,
            deep_const,
            z,
        })
    }

    /// The row of table `t` at the query's position, every phase concatenated, from the opened
    /// leaves (one row each).
    fn row_of(&self, values: &[Vec<Vec<F>>], t: usize) -> Result<Vec<F>, VerifyError> {
        let wt = at(&self.layout.widths, t)?;
        let mut row = Vec::with_capacity(wt.n_at_z());
        for ((place, vs), w) in at(&self.places, t)?.iter().zip(values).zip(wt.phases()) {
            let Some((gi, off)) = *place else { continue };
            let slice = at(vs, gi)?.get(off..off + w).ok_or(VerifyError::InvalidShape("leaf row"))?;
            row.extend_from_slice(slice);
        }
        Ok(row)
    }

    /// The DEEP value of table `t` at LDE position `pos` (the query's position in the table's
    /// LDE, whose row was opened).
    fn deep(&self, values: &[Vec<Vec<F>>], t: usize, pos: u64) -> Result<EF, VerifyError> {
        let lde = at(self.log_heights, t)? + self.log_blowup;
        let x = lde_shift() * omega(lde).exp_u64(pos);
        let row = self.row_of(values, t)?;
        let (cz, czg) = at(&self.coeffs, t)?;
        let &(a_z, a_zg, zg) = at(&self.deep_const, t)?;
        let a: EF = row.iter().zip(cz).map(|(v, c)| *c * *v).sum();
        let b: EF = row.iter().zip(czg).map(|(v, c)| *c * *v).sum();
        let dz = (EF::from(x) - self.z).try_inverse().ok_or(VerifyError::OodPointInDomain)?;
        let dzg = (EF::from(x) - zg).try_inverse().ok_or(VerifyError::OodPointInDomain)?;
        Ok((a - a_z) * dz + (b - a_zg) * dzg)
    }

    /// The sum of the DEEP values of the tables whose LDE has `2^log_lde` points.
    fn deep_sum(&self, values: &[Vec<Vec<F>>], log_lde: usize, pos: u64) -> Result<EF, VerifyError> {
        let mut s = EF::ZERO;
        for (t, h) in self.log_heights.iter().enumerate() {
            if h + self.log_blowup == log_lde {
                s += self.deep(values, t, pos)?;
            }
        }
        Ok(s)
    }
}

/// One commitment phase of a query: openings, caps, trees, and the phase's name.
type PhaseOpenings<'a> = (&'a [MerkleOpening], &'a [Cap], &'a [TreeLayout], Phase);

/// One query: the Merkle openings of the four phases at the query's leaf of each tree, then
/// the FRI folds from layer 0 (computed from the openings) through every committed layer to
/// the final polynomial.
fn check_query(
    ctx: &QueryContext<'_>,
    proof: &Proof,
    q: &QueryProof,
    qi: usize,
    betas: &[EF],
    final_poly: &[EF],
) -> Result<(), VerifyError> {
    let layout = ctx.layout;
    // Merkle openings, at leaf `index mod 2^depth` of each tree.
    let phases: [PhaseOpenings<'_>; 4] = [
        (&q.prep, &proof.prep_roots, &layout.prep, Phase::Preprocessed),
        (&q.main, &proof.main_roots, &layout.main, Phase::Main),
        (&q.perm, &proof.perm_roots, &layout.perm, Phase::Lookup),
        (&q.quotient, &proof.quotient_roots, &layout.quotient, Phase::Quotient),
    ];
    let mut values: Vec<Vec<Vec<F>>> = Vec::with_capacity(4);
    for (os, roots, trees, phase) in phases {
        let mut vs = Vec::with_capacity(os.len());
        for ((o, root), tree) in os.iter().zip(roots).zip(trees) {
            let v = felts(&o.values, "Merkle leaf")?;
            if !verify_mixed_path(&v, &tree.levels, q.index, &o.siblings, root, tree.depth) {
                return Err(VerifyError::MerklePath { phase, query: qi });
            }
            vs.push(v);
        }
        values.push(vs);
    }

    let layers = &layout.fri_layers;
    let shift = lde_shift();
    let two_inv = F::TWO.inverse();
    // The query's position in layer 0; in each later layer, its position modulo the size.
    let mut pos = q.index;
    // Layer 0 at the query is the tallest tables' DEEP value.
    let mut expected = ctx.deep_sum(&values, *at(layers, 0)?, pos)?;
    for (k, (&log_n, &log_next)) in layers.iter().zip(layers.iter().skip(1)).enumerate() {
        let j = pos % (1u64 << log_next);
        // The committed layer's coset must hold the value reached so far at the query.
        let layer = at(&q.fri_layers, k)?;
        let v = felts(&layer.values, "FRI layer")?;
        if !verify_path(&v, j, &layer.siblings, at(&proof.fri.layer_roots, k)?) {
            return Err(VerifyError::MerklePath { phase: Phase::FriLayer(k), query: qi });
        }
        let mut vals: Vec<EF> = v
            .chunks_exact(2)
            .filter_map(|c| c.first().zip(c.get(1)))
            .map(|(a, b)| sigil_air::field::ef_from_base([*a, *b]))
            .collect();
        if vals.get((pos >> log_next) as usize).copied() != Some(expected) {
            return Err(VerifyError::FriFoldMismatch { query: qi, layer: k });
        }
        // Fold the coset bit by bit with beta, beta^2, beta^4, ...
        let mut beta = *at(betas, k)?;
        let mut sub_log = log_n;
        while vals.len() > 1 {
            let half = vals.len() / 2;
            let sub_shift = shift.exp_power_of_2(ctx.log_max_lde - sub_log);
            let w_sub = omega(sub_log);
            let step = 1u64 << (sub_log - vals.len().trailing_zeros() as usize);
            let (lo, hi) = vals.split_at(half);
            vals = lo
                .iter()
                .zip(hi)
                .enumerate()
                .map(|(i, (&a, &b))| {
                    let x = sub_shift * w_sub.exp_u64(j + i as u64 * step);
                    (a + b) * two_inv + beta * (a - b) * (x + x).inverse()
                })
                .collect();
            beta = beta.square();
            sub_log -= 1;
        }
        // The tables whose LDE has the next layer's size enter, times the last power of beta.
        pos = j;
        expected = *at(&vals, 0)? + beta * ctx.deep_sum(&values, log_next, pos)?;
    }
    let log_last = *at(layers, layers.len().saturating_sub(1))?;
    let y = shift.exp_power_of_2(ctx.log_max_lde - log_last) * omega(log_last).exp_u64(pos);
    if eval_poly(final_poly, y.into()) != expected {
        return Err(VerifyError::FinalPolyMismatch { query: qi });
    }
    Ok(())
}
