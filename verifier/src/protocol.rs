//! What the prover and the verifier must agree on besides the proof: parameters, domains,
//! how tables are grouped into commitments, and the order of columns in the DEEP combination.

use alloc::vec;
use alloc::vec::Vec;

use p3_field::{Field, PrimeCharacteristicRing, TwoAdicField};
use sigil_air::{ChipInfo, EF, F};

/// The transcript's domain separator.
pub const TRANSCRIPT_DOMAIN: &[u8] = b"sigil-stark-v1";
/// The largest table height the protocol accepts (log2). With the default options every
/// height up to this one keeps 100 conjectured bits: the FRI round's error grows with the LDE
/// (`2^log_folding_factor * N_lde / |EF|`, see [`crate::security`]), and at 2^23 rows, blowup 8
/// and folds of 8 it passes 2^-100 in the quadratic extension.
pub const MAX_LOG_HEIGHT: usize = 22;

/// Security parameters of a proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProofOptions {
    /// log2 of the LDE blowup factor (the inverse code rate).
    pub log_blowup: u8,
    /// Number of FRI queries.
    pub n_queries: u16,
    /// Proof-of-work bits before the queries are drawn.
    pub grinding_bits: u8,
    /// log2 of the number of coefficients of the last FRI polynomial (capped by the smallest
    /// table).
    pub log_final_poly_len: u8,
    /// log2 of the FRI folding factor: every step, the first one included, folds
    /// `2^log_folding_factor` values into one (the last step may fold fewer).
    pub log_folding_factor: u8,
}

impl Default for ProofOptions {
    /// Blowup 8, 28 queries, 16 grinding bits: 100 conjectured bits.
    fn default() -> Self {
        Self { log_blowup: 3, n_queries: 28, grinding_bits: 16, log_final_poly_len: 5, log_folding_factor: 3 }
    }
}

impl ProofOptions {
    /// Checks that every parameter lies in the range the protocol supports.
    pub fn check(&self) -> Result<(), &'static str> {
        if !(1..=6).contains(&self.log_blowup) {
            return Err("log_blowup must be in 1..=6");
        }
        if !(1..=512).contains(&self.n_queries) {
            return Err("n_queries must be in 1..=512");
        }
        if self.grinding_bits > 40 {
            return Err("grinding_bits must be at most 40");
        }
        if self.log_final_poly_len > 12 {
            return Err("log_final_poly_len must be at most 12");
        }
        if !(1..=4).contains(&self.log_folding_factor) {
            return Err("log_folding_factor must be in 1..=4");
        }
        Ok(())
    }

    /// The conjectured bits of the query phase: `log_blowup` per query (the ethSTARK
    /// conjecture) plus the grinding bits.
    pub fn conjectured_query_bits(&self) -> u32 {
        u32::from(self.log_blowup) * u32::from(self.n_queries) + u32::from(self.grinding_bits)
    }
}

/// The coset shift of every LDE domain.
pub fn lde_shift() -> F {
    F::GENERATOR
}

/// The generator of the subgroup of order `2^log_n`.
pub fn omega(log_n: usize) -> F {
    F::two_adic_generator(log_n)
}

/// The row selectors and the vanishing polynomial of the trace domain of size `2^log_n`,
/// evaluated at `x` outside it: `(is_first_row, is_last_row, is_transition, z_h)`, or `None`
/// when `x` lies in the domain.
pub fn selectors_at(x: EF, log_n: usize) -> Option<(EF, EF, EF, EF)> {
    let n = F::from_u64(1u64 << log_n);
    let g_inv = omega(log_n).inverse();
    let z_h = x.exp_power_of_2(log_n) - EF::ONE;
    let first = z_h * ((x - EF::ONE) * n).try_inverse()?;
    let last = z_h * g_inv * ((x - g_inv) * n).try_inverse()?;
    (z_h != EF::ZERO).then_some((first, last, x - g_inv, z_h))
}

/// Base-field widths of one table in each commitment phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhaseWidths {
    pub prep: usize,
    pub main: usize,
    /// Two base columns per LogUp column, then two per auxiliary column (committed together,
    /// after the challenges).
    pub perm: usize,
    /// Of which LogUp (the rest are auxiliary): a table with LogUp columns sends a sum.
    pub logup: usize,
    /// Two base columns per quotient chunk.
    pub quotient: usize,
}

impl PhaseWidths {
    /// The widths of a chip's commitments.
    pub fn of(info: &ChipInfo) -> Self {
        Self {
            prep: info.prep_width,
            main: info.width,
            perm: 2 * (info.perm_width() + info.aux_width),
            logup: 2 * info.perm_width(),
            quotient: 2 * info.quotient_degree(),
        }
    }
    /// Columns opened at `z` (all) and at `z * g` (all but the quotient).
    pub fn n_at_z(&self) -> usize {
        self.prep + self.main + self.perm + self.quotient
    }
    /// The widths in phase order: preprocessed, main, LogUp, quotient.
    pub fn phases(&self) -> [usize; 4] {
        [self.prep, self.main, self.perm, self.quotient]
    }
    /// Columns opened at `z * g`.
    pub fn n_at_zg(&self) -> usize {
        self.prep + self.main + self.perm
    }
}

/// Per table, the table that holds its quotient: the first table (in circuit order) of the
/// same height and number of quotient chunks. Tables sharing an owner share one quotient,
/// `Q = Σ_i ν^(g-1-i) C_i / Z_H` over the group's tables `i` in circuit order (`ν` drawn after
/// `α`): one set of quotient columns per group instead of one per table.
pub fn quotient_owners(log_heights: &[usize], infos: &[ChipInfo]) -> Vec<usize> {
    let key = |t: usize| (log_heights.get(t).copied(), infos.get(t).map(|i| i.log_quotient_degree));
    (0..infos.len()).map(|t| (0..=t).find(|&u| key(u) == key(t)).unwrap_or(t)).collect()
}

/// Tables committed together: equal heights, in circuit order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub log_height: usize,
    pub tables: Vec<usize>,
}

/// Groups the tables whose `widths[t] > 0` by height, tallest first.
pub fn groups(log_heights: &[usize], widths: &[usize]) -> Vec<Group> {
    let present: Vec<(usize, usize)> = log_heights
        .iter()
        .zip(widths)
        .enumerate()
        .filter(|(_, (_, w))| **w > 0)
        .map(|(t, (h, _))| (t, *h))
        .collect();
    let mut hs: Vec<usize> = present.iter().map(|&(_, h)| h).collect();
    hs.sort_unstable_by(|a, b| b.cmp(a));
    hs.dedup();
    hs.into_iter()
        .map(|h| Group {
            log_height: h,
            tables: present.iter().filter(|&&(_, g)| g == h).map(|&(t, _)| t).collect(),
        })
        .collect()
}

/// The log sizes of the FRI layers for a set of table heights: layer 0 is the tallest tables'
/// LDE; each fold takes at most `log_folding_factor` bits and stops at every table's LDE size
/// (so a shorter table enters exactly at the start of a layer, at the query's one position),
/// down to the last layer, whose polynomial has `2^min(log_final_poly_len, smallest log
/// height)` coefficients. Every layer but the last is committed; the last is sent as its
/// polynomial.
pub fn fri_layers(log_heights: &[usize], opts: &ProofOptions) -> Vec<usize> {
    let lb = usize::from(opts.log_blowup);
    let max = log_heights.iter().copied().max().unwrap_or(0) + lb;
    let min = log_heights.iter().copied().min().unwrap_or(0);
    let last = usize::from(opts.log_final_poly_len).min(min) + lb;
    let r = usize::from(opts.log_folding_factor).max(1);
    let mut v = vec![max];
    let mut c = max;
    while c > last {
        let mut next = c.saturating_sub(r).max(last);
        // The largest table size strictly between: the fold stops there.
        if let Some(s) = log_heights.iter().map(|h| h + lb).filter(|&s| s > next && s < c).max() {
            next = s;
        }
        c = next;
        v.push(c);
    }
    v
}

/// Number of bits of a query index: a position in FRI layer 0 (the tallest tables' LDE).
pub fn query_index_bits(layers: &[usize]) -> usize {
    layers.first().copied().unwrap_or(0)
}

/// The DEEP coefficients of every table: powers of `lambda`, one per column opened at `z`
/// (preprocessed, main, LogUp, quotient) then one per column opened at `z * g`.
pub fn deep_coefficients(lambda: EF, widths: &[PhaseWidths]) -> Vec<(Vec<EF>, Vec<EF>)> {
    let mut pow = EF::ONE;
    let mut next = || {
        let p = pow;
        pow *= lambda;
        p
    };
    widths
        .iter()
        .map(|w| {
            let z: Vec<EF> = (0..w.n_at_z()).map(|_| next()).collect();
            let zg: Vec<EF> = (0..w.n_at_zg()).map(|_| next()).collect();
            (z, zg)
        })
        .collect()
}

/// Evaluates a polynomial with extension coefficients (lowest first) at `x`.
pub fn eval_poly(coeffs: &[EF], x: EF) -> EF {
    coeffs.iter().rev().fold(EF::ZERO, |acc, &c| acc * x + c)
}

/// The extension values of columns opened coordinate by coordinate: `v[2c] + X v[2c+1]`.
pub fn recombine(v: &[EF]) -> Vec<EF> {
    let x = sigil_air::field::ef_x();
    v.chunks_exact(2).map(|p| p.iter().rev().fold(EF::ZERO, |acc, c| acc * x + *c)).collect()
}
