//! The verifier.
//!
//! Order of checks: decode; header; public values; shape (after which every length below is
//! known to match); circuit id; transcript replay up to the out-of-domain point; bus balance;
//! the out-of-domain constraint check of every table; the FRI challenges; then per query the
//! Merkle openings, the DEEP values, every fold and the final polynomial, all at the claimed
//! indices; then the proof of work; then the claimed indices against the drawn ones.

use alloc::vec::Vec;

use p3_field::{Field, PrimeCharacteristicRing};
use sigil_air::field::{ef_from_canonical, f_from_canonical, f_to_u64};
use sigil_air::{ConstraintFolder, EF, F, LookupChallenges};

use crate::circuit::Circuit;
use crate::error::{Phase, VerifyError};
use crate::hash::{ActiveHasher, Hasher};
use crate::merkle::{Cap, cap_log, verify_path};
use crate::proof::{
    CircuitId, FIELD_GOLDILOCKS_EXT2, FORMAT_VERSION, MAGIC, MerkleOpening, Proof, Words,
};
use crate::protocol::{
    Group, MAX_LOG_HEIGHT, PhaseWidths, ProofOptions, TRANSCRIPT_DOMAIN, deep_coefficients,
    eval_poly, fri_layers, groups, leaf_log_arity, query_index_bits, lde_shift, omega, recombine, selectors_at,
};
use crate::transcript::Transcript;

/// One commitment phase of a query: openings, caps, groups, and the phase's name.
type PhaseOpenings<'a> = (&'a [MerkleOpening], &'a [Cap], &'a [Group], Phase);

/// What the verifier demands of a proof besides validity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifierOptions {
    /// Proofs whose conjectured security is below this are rejected.
    pub min_security_bits: u32,
    /// Proofs longer than this are rejected before decoding.
    pub max_proof_bytes: usize,
}

impl Default for VerifierOptions {
    fn default() -> Self {
        Self { min_security_bits: 100, max_proof_bytes: 64 << 20 }
    }
}

/// Decodes proof bytes, rejecting truncated, malformed, oversized or padded input.
pub fn decode_proof(bytes: &[u8], max_bytes: usize) -> Result<Proof, VerifyError> {
    if bytes.len() > max_bytes {
        return Err(VerifyError::TooLarge { size: bytes.len(), limit: max_bytes });
    }
    match postcard::take_from_bytes::<Proof>(bytes) {
        Ok((p, [])) => Ok(p),
        Ok((_, rest)) => Err(VerifyError::TrailingBytes(rest.len())),
        Err(postcard::Error::DeserializeUnexpectedEnd) => Err(VerifyError::Truncated),
        Err(e) => Err(VerifyError::Malformed(alloc::format!("{e}"))),
    }
}

/// Verifies proof bytes against a circuit, its id and the public values.
pub fn verify(
    circuit: &Circuit,
    circuit_id: &CircuitId,
    publics: &[F],
    proof_bytes: &[u8],
    opts: &VerifierOptions,
) -> Result<(), VerifyError> {
    let proof = decode_proof(proof_bytes, opts.max_proof_bytes)?;
    verify_proof(circuit, circuit_id, publics, &proof, opts)
}

fn shape(ok: bool, what: &'static str) -> Result<(), VerifyError> {
    if ok { Ok(()) } else { Err(VerifyError::InvalidShape(what)) }
}

/// `v[i]`, or an error: used where the shape check has already made `i` valid, so that a
/// mistake there is a rejection, not a panic.
fn at<T>(v: &[T], i: usize) -> Result<&T, VerifyError> {
    v.get(i).ok_or(VerifyError::InvalidShape("index out of range"))
}

fn ef_from_base_pair(a: F, b: F) -> EF {
    sigil_air::field::ef_from_base([a, b])
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

/// The options a proof header declares.
fn header_options(proof: &Proof) -> ProofOptions {
    ProofOptions {
        log_blowup: proof.header.log_blowup,
        n_queries: proof.header.n_queries,
        grinding_bits: proof.header.grinding_bits,
        log_final_poly_len: proof.header.log_final_poly_len,
        log_folding_factor: proof.header.log_folding_factor,
    }
}

/// The decoded openings of one table at `z` and `z * g`.
struct Opened {
    prep_local: Vec<EF>,
    prep_next: Vec<EF>,
    main_local: Vec<EF>,
    main_next: Vec<EF>,
    perm_local: Vec<EF>,
    perm_next: Vec<EF>,
    quotient: Vec<EF>,
}

/// Verifies a decoded proof.
pub fn verify_proof(
    circuit: &Circuit,
    circuit_id: &CircuitId,
    publics: &[F],
    proof: &Proof,
    opts: &VerifierOptions,
) -> Result<(), VerifyError> {
    // ---- Header ------------------------------------------------------------------------------
    let h = &proof.header;
    if h.magic != MAGIC {
        return Err(VerifyError::BadMagic);
    }
    if h.version != FORMAT_VERSION {
        return Err(VerifyError::UnsupportedVersion(h.version));
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
    shape((1..=6).contains(&h.log_blowup), "log_blowup must be in 1..=6")?;
    shape((1..=512).contains(&h.n_queries), "n_queries must be in 1..=512")?;
    shape(h.grinding_bits <= 40, "grinding_bits must be at most 40")?;
    shape(h.log_final_poly_len <= 12, "log_final_poly_len must be at most 12")?;
    shape((1..=4).contains(&h.log_folding_factor), "log_folding_factor must be in 1..=4")?;
    let popts = header_options(proof);
    // The field bound is checked again below with the real sizes; the query bound first.
    let bound = popts.conjectured_security_bits(0);
    if bound < opts.min_security_bits {
        return Err(VerifyError::InsufficientSecurity { bits: bound, required: opts.min_security_bits });
    }
    if publics.len() != circuit.n_publics {
        return Err(VerifyError::PublicValuesLength {
            expected: circuit.n_publics,
            found: publics.len(),
        });
    }

    // ---- Shape -------------------------------------------------------------------------------
    let n_tables = circuit.n_tables();
    shape(proof.log_heights.len() == n_tables, "one height per table")?;
    let log_heights: Vec<usize> = proof.log_heights.iter().map(|&x| usize::from(x)).collect();
    let log_blowup = usize::from(h.log_blowup);
    for (info, &lh) in circuit.infos.iter().zip(&log_heights) {
        shape((1..=MAX_LOG_HEIGHT).contains(&lh), "table height out of range")?;
        if let Some(ph) = info.prep_height {
            shape(1usize << lh == ph, "table height differs from its preprocessed height")?;
        }
        shape(info.quotient_degree() <= 1 << log_blowup, "constraint degree exceeds the blowup")?;
    }
    let layers = fri_layers(&log_heights, &popts);
    let log_max_lde = layers.first().copied().unwrap_or(0);
    let log_last = layers.last().copied().unwrap_or(0);
    let log_final = log_last - log_blowup;
    let n_committed = layers.len().saturating_sub(2);
    // Each fold step (L_k -> L_k+1); the committed layers are the sources of steps 1...
    let steps: Vec<(usize, usize)> = layers.iter().copied().zip(layers.iter().copied().skip(1)).collect();
    let bits = popts.conjectured_security_bits(log_max_lde);
    if bits < opts.min_security_bits {
        return Err(VerifyError::InsufficientSecurity { bits, required: opts.min_security_bits });
    }
    let widths: Vec<PhaseWidths> = circuit.infos.iter().map(PhaseWidths::of).collect();
    let g_prep = groups(&log_heights, &widths.iter().map(|w| w.prep).collect::<Vec<_>>());
    let g_main = groups(&log_heights, &widths.iter().map(|w| w.main).collect::<Vec<_>>());
    let g_perm = groups(&log_heights, &widths.iter().map(|w| w.perm).collect::<Vec<_>>());
    let g_quot = groups(&log_heights, &widths.iter().map(|w| w.quotient).collect::<Vec<_>>());
    let arity = |g: &Group| leaf_log_arity(g.log_height + log_blowup, &popts);
    let tree_depth = |g: &Group| g.log_height + log_blowup - arity(g);
    let caps_ok = |caps: &[Cap], gs: &[Group]| {
        caps.len() == gs.len() && caps.iter().zip(gs).all(|(c, g)| c.len() == 1 << cap_log(tree_depth(g)))
    };
    shape(caps_ok(&proof.prep_roots, &g_prep), "one preprocessed cap per group")?;
    shape(caps_ok(&proof.main_roots, &g_main), "one main cap per group")?;
    shape(caps_ok(&proof.perm_roots, &g_perm), "one lookup cap per group")?;
    shape(caps_ok(&proof.quotient_roots, &g_quot), "one quotient cap per group")?;
    let n_lookup_tables = widths.iter().filter(|w| w.perm > 0).count();
    shape(proof.cumulative_sums.0.len() == 2 * n_lookup_tables, "one LogUp sum per lookup table")?;
    shape(proof.openings.len() == n_tables, "one opening per table")?;
    for (o, w) in proof.openings.iter().zip(&widths) {
        shape(o.prep_local.0.len() == 2 * w.prep && o.prep_next.0.len() == 2 * w.prep, "preprocessed openings")?;
        shape(o.main_local.0.len() == 2 * w.main && o.main_next.0.len() == 2 * w.main, "main openings")?;
        shape(o.perm_local.0.len() == 2 * w.perm && o.perm_next.0.len() == 2 * w.perm, "lookup openings")?;
        shape(o.quotient.0.len() == 2 * w.quotient, "quotient openings")?;
    }
    let fri = &proof.fri;
    shape(fri.layer_roots.len() == n_committed, "one cap per committed FRI layer")?;
    for (c, &(_, next)) in fri.layer_roots.iter().zip(steps.iter().skip(1)) {
        shape(c.len() == 1 << cap_log(next), "FRI layer cap size")?;
    }
    shape(fri.final_poly.0.len() == 2 << log_final, "final polynomial length")?;
    shape(fri.queries.len() == usize::from(h.n_queries), "one opening per query")?;
    let group_width = |g: &Group, w: fn(&PhaseWidths) -> usize| -> usize {
        g.tables.iter().filter_map(|&t| widths.get(t)).map(w).sum()
    };
    let check_openings = |os: &[MerkleOpening], gs: &[Group], w: fn(&PhaseWidths) -> usize| {
        os.len() == gs.len()
            && os.iter().zip(gs).all(|(o, g)| {
                o.values.0.len() == group_width(g, w) << arity(g)
                    && o.siblings.len() == tree_depth(g) - cap_log(tree_depth(g))
            })
    };
    // Where each table's rows sit in each phase's leaves: (group, group width, offset in group).
    let phase_widths: [fn(&PhaseWidths) -> usize; 4] = [|w| w.prep, |w| w.main, |w| w.perm, |w| w.quotient];
    let places: Vec<Vec<Option<(usize, usize, usize)>>> = (0..n_tables)
        .map(|t| {
            [&g_prep, &g_main, &g_perm, &g_quot]
                .into_iter()
                .zip(phase_widths)
                .map(|(gs, w)| {
                    gs.iter().enumerate().find(|(_, g)| g.tables.contains(&t)).map(|(gi, g)| {
                        let off = g.tables.iter().take_while(|&&u| u != t).filter_map(|&u| widths.get(u)).map(w).sum();
                        (gi, group_width(g, w), off)
                    })
                })
                .collect()
        })
        .collect();
    let index_bits = query_index_bits(&layers);
    for q in &fri.queries {
        shape(q.index < 1u64 << index_bits, "query index out of range")?;
        shape(check_openings(&q.prep, &g_prep, |w| w.prep), "preprocessed query openings")?;
        shape(check_openings(&q.main, &g_main, |w| w.main), "main query openings")?;
        shape(check_openings(&q.perm, &g_perm, |w| w.perm), "lookup query openings")?;
        shape(check_openings(&q.quotient, &g_quot, |w| w.quotient), "quotient query openings")?;
        shape(q.fri_layers.len() == n_committed, "one opening per FRI layer")?;
        for (l, &(log_n, next)) in q.fri_layers.iter().zip(steps.iter().skip(1)) {
            // Layer log_n folds into next: cosets of 2^(log_n - next) values, 2^next leaves.
            shape(
                l.values.0.len() == 2 << (log_n - next) && l.siblings.len() == next - cap_log(next),
                "FRI layer opening",
            )?;
        }
    }

    // ---- Circuit id ----------------------------------------------------------------------------
    if circuit.circuit_id(h.log_blowup, h.log_folding_factor, &proof.prep_roots) != *circuit_id {
        return Err(VerifyError::CircuitIdMismatch);
    }

    // ---- Transcript up to the out-of-domain point ----------------------------------------------
    let mut tr = Transcript::new(TRANSCRIPT_DOMAIN);
    let header_bytes = postcard::to_allocvec(&proof.header)
        .map_err(|_| VerifyError::InvalidShape("header does not serialize"))?;
    tr.absorb(b"header", &header_bytes);
    tr.absorb(b"heights", &proof.log_heights);
    let pub_words: Vec<u64> = publics.iter().map(|&p| f_to_u64(p)).collect();
    tr.absorb_u64s(b"publics", &pub_words);
    tr.absorb_caps(b"prep", &proof.prep_roots);
    tr.absorb_caps(b"main", &proof.main_roots);
    let lookup = LookupChallenges { beta: tr.sample_ef(), gamma: tr.sample_ef() };
    tr.absorb_caps(b"perm", &proof.perm_roots);
    tr.absorb_u64s(b"sums", &proof.cumulative_sums.0);
    let alpha = tr.sample_ef();
    tr.absorb_caps(b"quotient", &proof.quotient_roots);
    let z = tr.sample_ef();
    for o in &proof.openings {
        for w in [&o.prep_local, &o.prep_next, &o.main_local, &o.main_next, &o.perm_local, &o.perm_next, &o.quotient] {
            tr.absorb_u64s(b"open", &w.0);
        }
    }
    let lambda = tr.sample_ef();

    // ---- Bus balance -----------------------------------------------------------------------------
    let sums = efs(&proof.cumulative_sums, "LogUp sums")?;
    if sums.iter().copied().sum::<EF>() != EF::ZERO {
        return Err(VerifyError::BusImbalance);
    }

    // ---- Out-of-domain check ---------------------------------------------------------------------
    let mut opened = Vec::with_capacity(n_tables);
    let mut sum_iter = sums.iter();
    for (((chip, o), info), &lh) in circuit.chips.iter().zip(&proof.openings).zip(&circuit.infos).zip(&log_heights) {
        let op = Opened {
            prep_local: efs(&o.prep_local, "openings")?,
            prep_next: efs(&o.prep_next, "openings")?,
            main_local: efs(&o.main_local, "openings")?,
            main_next: efs(&o.main_next, "openings")?,
            perm_local: efs(&o.perm_local, "openings")?,
            perm_next: efs(&o.perm_next, "openings")?,
            quotient: efs(&o.quotient, "openings")?,
        };
        let (first, last, trans, z_h) = selectors_at(z, lh).ok_or(VerifyError::OodPointInDomain)?;
        let perm_local = recombine(&op.perm_local);
        let perm_next = recombine(&op.perm_next);
        let cumulative_sum = if info.interactions.is_empty() {
            EF::ZERO
        } else {
            *sum_iter.next().ok_or(VerifyError::InvalidShape("LogUp sums"))?
        };
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
            perm_local: &perm_local,
            perm_next: &perm_next,
            lookup,
            cumulative_sum,
            n_interactions: 0,
        };
        chip.eval_ext(&mut folder);
        folder.finish_lookups();
        let z_n = z.exp_power_of_2(lh);
        let chunks = recombine(&op.quotient);
        let mut quotient = EF::ZERO;
        let mut zpow = EF::ONE;
        for c in chunks {
            quotient += zpow * c;
            zpow *= z_n;
        }
        if folder.acc != z_h * quotient {
            return Err(VerifyError::OodMismatch { chip: info.name.clone() });
        }
        opened.push(op);
    }

    // ---- FRI challenges --------------------------------------------------------------------------
    let mut betas = Vec::with_capacity(layers.len());
    if layers.len() > 1 {
        betas.push(tr.sample_ef());
    }
    for root in &fri.layer_roots {
        tr.absorb_caps(b"fri", core::slice::from_ref(root));
        betas.push(tr.sample_ef());
    }
    tr.absorb_u64s(b"final", &fri.final_poly.0);
    let final_poly = efs(&fri.final_poly, "final polynomial")?;

    // DEEP constants per table: the combined openings at z and at z*g.
    let coeffs = deep_coefficients(lambda, &widths);
    let mut deep_const = Vec::with_capacity(n_tables);
    for ((op, (cz, czg)), &lh) in opened.iter().zip(&coeffs).zip(&log_heights) {
        let at_z = op.prep_local.iter().chain(&op.main_local).chain(&op.perm_local).chain(&op.quotient);
        let at_zg = op.prep_next.iter().chain(&op.main_next).chain(&op.perm_next);
        let a: EF = at_z.zip(cz).map(|(v, c)| *v * *c).sum();
        let b: EF = at_zg.zip(czg).map(|(v, c)| *v * *c).sum();
        let zg = z * omega(lh);
        deep_const.push((a, b, zg));
    }

    // ---- Queries ---------------------------------------------------------------------------------
    let shift = lde_shift();
    let two_inv = F::TWO.inverse();
    for (qi, q) in fri.queries.iter().enumerate() {
        // Merkle openings of the four phases, at leaf `index mod 2^(log N - a)` of each group.
        let phases: [PhaseOpenings<'_>; 4] = [
            (&q.prep, &proof.prep_roots, &g_prep, Phase::Preprocessed),
            (&q.main, &proof.main_roots, &g_main, Phase::Main),
            (&q.perm, &proof.perm_roots, &g_perm, Phase::Lookup),
            (&q.quotient, &proof.quotient_roots, &g_quot, Phase::Quotient),
        ];
        let mut values: Vec<Vec<Vec<F>>> = Vec::with_capacity(4);
        for (os, roots, gs, phase) in phases {
            let mut vs = Vec::with_capacity(os.len());
            for ((o, root), g) in os.iter().zip(roots).zip(gs) {
                let leaf = q.index % (1u64 << (g.log_height + log_blowup - arity(g)));
                let v = felts(&o.values, "Merkle leaf")?;
                if !verify_path(&v, leaf, &o.siblings, root) {
                    return Err(VerifyError::MerklePath { phase, query: qi });
                }
                vs.push(v);
            }
            values.push(vs);
        }
        // The row of table `t` at LDE position `pos` in each phase, concatenated. `pos` lies
        // in the opened leaf: the caller asks only for positions of the query's cosets.
        let row_of = |t: usize, pos: u64| -> Result<Vec<F>, VerifyError> {
            let lde = at(&log_heights, t)? + log_blowup;
            let coset = (pos >> (lde - leaf_log_arity(lde, &popts))) as usize;
            let wt = at(&widths, t)?;
            let mut row = Vec::with_capacity(wt.n_at_z());
            for ((place, vs), w) in at(&places, t)?.iter().zip(&values).zip(wt.phases()) {
                let Some((gi, gw, off)) = *place else { continue };
                let start = coset * gw + off;
                let slice = at(vs, gi)?.get(start..start + w).ok_or(VerifyError::InvalidShape("leaf row"))?;
                row.extend_from_slice(slice);
            }
            Ok(row)
        };
        // The DEEP value of table `t` at LDE position `pos`.
        let deep = |t: usize, pos: u64| -> Result<EF, VerifyError> {
            let lde = at(&log_heights, t)? + log_blowup;
            let x = shift * omega(lde).exp_u64(pos);
            let row = row_of(t, pos)?;
            let (cz, czg) = at(&coeffs, t)?;
            let &(a_z, a_zg, zg) = at(&deep_const, t)?;
            let a: EF = row.iter().zip(cz).map(|(v, c)| *c * *v).sum();
            let b: EF = row.iter().zip(czg).map(|(v, c)| *c * *v).sum();
            let dz = (EF::from(x) - z).try_inverse().ok_or(VerifyError::OodPointInDomain)?;
            let dzg = (EF::from(x) - zg).try_inverse().ok_or(VerifyError::OodPointInDomain)?;
            Ok((a - a_z) * dz + (b - a_zg) * dzg)
        };
        // The sum of the DEEP values of the tables whose LDE has `2^log_lde` points.
        let deep_sum = |log_lde: usize, pos: u64| -> Result<EF, VerifyError> {
            let mut s = EF::ZERO;
            for t in (0..n_tables).filter(|&t| log_heights.get(t).is_some_and(|h| h + log_blowup == log_lde)) {
                s += deep(t, pos)?;
            }
            Ok(s)
        };

        let final_shift = shift.exp_power_of_2(log_max_lde - log_last);
        if layers.len() == 1 {
            // No fold: the tallest tables are the last layer; check `x` and `-x`.
            let half = 1u64 << (log_max_lde - 1);
            for pos in [q.index, q.index + half] {
                let x = final_shift * omega(log_last).exp_u64(pos);
                if eval_poly(&final_poly, x.into()) != deep_sum(log_max_lde, pos)? {
                    return Err(VerifyError::FinalPolyMismatch { query: qi });
                }
            }
            continue;
        }
        // Layer 0's coset, computed from the table openings.
        let &(l0, l1) = at(&steps, 0)?;
        let mut vals: Vec<EF> = Vec::with_capacity(1 << (l0 - l1));
        for i in 0..1u64 << (l0 - l1) {
            vals.push(deep_sum(l0, q.index + (i << l1))?);
        }
        let mut pos = q.index;
        for (k, &(log_n, log_next)) in steps.iter().enumerate() {
            let j = pos % (1u64 << log_next);
            if k >= 1 {
                // A committed layer: its coset must hold the value folded so far.
                let layer = at(&q.fri_layers, k - 1)?;
                let v = felts(&layer.values, "FRI layer")?;
                if !verify_path(&v, j, &layer.siblings, at(&fri.layer_roots, k - 1)?) {
                    return Err(VerifyError::MerklePath { phase: Phase::FriLayer(k), query: qi });
                }
                let opened: Vec<EF> = v.chunks_exact(2).filter_map(|c| c.first().zip(c.get(1))).map(|(a, b)| ef_from_base_pair(*a, *b)).collect();
                if opened.get((pos >> log_next) as usize).copied() != vals.first().copied() {
                    return Err(VerifyError::FriFoldMismatch { query: qi, layer: k });
                }
                vals = opened;
            }
            // Fold the coset bit by bit; tables enter where the size matches their LDE.
            let mut beta = *at(&betas, k)?;
            let mut sub_log = log_n;
            while vals.len() > 1 {
                let half = vals.len() / 2;
                let sub_shift = shift.exp_power_of_2(log_max_lde - sub_log);
                let w_sub = omega(sub_log);
                let step = 1u64 << (sub_log - vals.len().trailing_zeros() as usize);
                let (lo, hi) = vals.split_at(half);
                let mut next: Vec<EF> = lo
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
                for (i, v) in next.iter_mut().enumerate() {
                    *v += beta * deep_sum(sub_log, j + i as u64 * step)?;
                }
                vals = next;
            }
            pos = j;
        }
        let y = final_shift * omega(log_last).exp_u64(pos);
        if Some(eval_poly(&final_poly, y.into())) != vals.first().copied() {
            return Err(VerifyError::FinalPolyMismatch { query: qi });
        }
    }

    // ---- Proof of work and query indices ---------------------------------------------------------
    if !tr.check_pow(h.grinding_bits, fri.pow_nonce) {
        return Err(VerifyError::InvalidPowNonce);
    }
    tr.absorb_u64s(b"pow", &[fri.pow_nonce]);
    for (qi, q) in fri.queries.iter().enumerate() {
        if tr.sample_bits(index_bits) != q.index {
            return Err(VerifyError::QueryIndexMismatch { query: qi });
        }
    }
    Ok(())
}
