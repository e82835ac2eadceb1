//! The CPU quotient: every point of the quotient domain in parallel.

use p3_field::{Field, PrimeCharacteristicRing, batch_multiplicative_inverse};
use p3_matrix::Matrix;
use p3_maybe_rayon::prelude::*;
use sigil_air::{Chip, ConstraintFolder, EF, F};
use sigil_verifier::protocol::{lde_shift, omega};

use super::CpuBackend;
use crate::backend::{QuotientInputs, QuotientOps, vanishing_values};

impl QuotientOps for CpuBackend {
    fn quotient_values(&self, chip: &dyn Chip, inputs: &QuotientInputs<'_>) -> Vec<EF> {
        quotient_values(chip, inputs)
    }
}

/// The folded constraints divided by the vanishing polynomial over the quotient domain
/// `shift * H_{n Q}`, a subset of the LDE domain: one row of every LDE per point, in parallel.
fn quotient_values(chip: &dyn Chip, inputs: &QuotientInputs<'_>) -> Vec<EF> {
    let &QuotientInputs {
        log_n,
        log_quotient_degree: log_q,
        log_blowup,
        main_lde,
        prep_lde,
        perm_lde,
        publics,
        alpha,
        lookup,
        challenges,
        aux_width,
        cumulative_sum,
        logup_batches,
    } = inputs;
    let n = 1usize << log_n;
    let log_qd = log_n + log_q;
    let qn = 1usize << log_qd;
    let lde_n = n << log_blowup;
    let stride = 1usize << (log_blowup - log_q);
    let next_step = 1usize << log_blowup; // one trace row in LDE positions
    let shift = lde_shift();
    let w = omega(log_qd);
    let g_inv = omega(log_n).inverse();
    let n_f = F::from_u64(n as u64);
    let zh = vanishing_values(log_n, log_q);
    let zh_inv = batch_multiplicative_inverse(&zh);
    // Selector denominators over the whole quotient domain.
    let points: Vec<F> = {
        let mut v = Vec::with_capacity(qn);
        let mut x = shift;
        for _ in 0..qn {
            v.push(x);
            x *= w;
        }
        v
    };
    let d_first: Vec<F> = points.iter().map(|&x| (x - F::ONE) * n_f).collect();
    let d_last: Vec<F> = points.iter().map(|&x| (x - g_inv) * n_f).collect();
    let inv_first = batch_multiplicative_inverse(&d_first);
    let inv_last = batch_multiplicative_inverse(&d_last);
    let mw = main_lde.width();
    let pw = prep_lde.map_or(0, |p| p.width());
    let permw = perm_lde.map_or(0, |p| p.width());
    let x_ext = sigil_air::field::ef_x();
    (0..qn)
        .into_par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(perm_l, perm_n): &mut (Vec<EF>, Vec<EF>), i| {
                let li = i * stride;
                let ni = (li + next_step) % lde_n;
                let main_local = &main_lde.values[li * mw..(li + 1) * mw];
                let main_next = &main_lde.values[ni * mw..(ni + 1) * mw];
                let (prep_local, prep_next): (&[F], &[F]) = match prep_lde {
                    Some(p) => (&p.values[li * pw..(li + 1) * pw], &p.values[ni * pw..(ni + 1) * pw]),
                    None => (&[], &[]),
                };
                perm_l.clear();
                perm_n.clear();
                if let Some(p) = perm_lde {
                    let l = &p.values[li * permw..(li + 1) * permw];
                    let nx = &p.values[ni * permw..(ni + 1) * permw];
                    perm_l.extend(l.chunks_exact(2).map(|c| EF::from(c[0]) + x_ext * c[1]));
                    perm_n.extend(nx.chunks_exact(2).map(|c| EF::from(c[0]) + x_ext * c[1]));
                }
                // The LogUp columns, then the auxiliary columns.
                let n_logup = perm_l.len() - aux_width;
                let (perm_l, aux_l) = perm_l.split_at(n_logup);
                let (perm_n, aux_n) = perm_n.split_at(n_logup);
                let x = points[i];
                let z = zh[i & ((1 << log_q) - 1)];
                let mut folder = ConstraintFolder {
                    main_local,
                    main_next,
                    prep_local,
                    prep_next,
                    publics,
                    is_first_row: z * inv_first[i],
                    is_last_row: z * g_inv * inv_last[i],
                    is_transition: x - g_inv,
                    alpha,
                    acc: EF::ZERO,
                    perm_local: perm_l,
                    perm_next: perm_n,
                    lookup,
                    cumulative_sum,
                    logup_batches,
                    pending: Default::default(),
                    aux_local: aux_l,
                    aux_next: aux_n,
                    challenges,
                    stacking: None,
                };
                chip.eval_base(&mut folder);
                folder.acc * zh_inv[i & ((1 << log_q) - 1)]
            },
        )
        .collect()
}
