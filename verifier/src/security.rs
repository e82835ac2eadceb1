//! Security figures of a circuit: conjectured and proven bits, side by side.
//!
//! Both are round-by-round: after Fiat–Shamir, a cheating prover must get lucky in one round of
//! the protocol (the LogUp challenges, `alpha`, `z`, `lambda`, each FRI fold, the queries), so
//! the security is the smallest of the rounds' bits. A round whose challenge is drawn from
//! `EF` (`|EF| = p^2 ~ 2^128`) and fails only on the roots of a polynomial of degree `D` has
//! error `D / |EF|`, that is `128 - log2(D)` bits. `docs/soundness.md` derives every `D`.
//!
//! - *Conjectured* bits take the ethSTARK conjecture (Reed–Solomon proximity up to capacity):
//!   each query costs a cheater `log2(blowup)` bits, and the algebraic rounds cost what their
//!   degree says. The verifier enforces these (`VerifierOptions::min_security_bits`).
//! - *Proven* bits use what is proven: the better of the unique-decoding analysis (each query
//!   catches a word `(1 - rho) / 2`-far from the code) and the Johnson-bound list-decoding
//!   analysis (Ben-Sasson–Carmon–Ishai–Kopparty–Saraf 2020, Thm. 1.5; ethSTARK §5), with the
//!   proximity parameter `m` chosen for the best result. Reported, never enforced.

use alloc::vec::Vec;

use crate::protocol::ProofOptions;

/// log2 of the size of the challenge field (`p^2`, rounded: `log2(p^2) = 128 - 7e-10`).
const EF_BITS: f64 = 128.0;

/// What the security of one table depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableShape {
    pub log_height: usize,
    /// The largest constraint degree (LogUp constraints included).
    pub max_degree: usize,
    /// Number of quotient chunks.
    pub quotient_chunks: usize,
    /// Constraints folded by `alpha`: the chip's and one per LogUp batch.
    pub n_constraints: usize,
    pub n_interactions: usize,
    /// The largest number of fields of an interaction.
    pub max_arity: usize,
    /// Columns opened at `z` and at `z * g` together (each with its own power of `lambda`).
    pub n_opened: usize,
    /// The largest degree of a constraint in challenges and auxiliary columns together.
    pub challenge_degree: usize,
}

/// A circuit's security in bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Security {
    /// Under the ethSTARK conjecture: what the verifier enforces.
    pub conjectured_bits: u32,
    /// Proven (Johnson bound or unique decoding, whichever is better).
    pub proven_bits: u32,
    /// The conjectured bits of the query phase alone (queries and grinding).
    pub query_bits: u32,
    /// The smallest bits of an algebraic round (LogUp, `alpha`, `z`, `lambda`, FRI folds).
    pub field_bits: u32,
}

/// The degrees of the algebraic rounds' failure polynomials (see `docs/soundness.md`).
#[derive(Clone, Debug, PartialEq)]
struct Rounds {
    /// LogUp, joint in `(beta, gamma)`: `2 M D` for `M` interactions over all rows and tuples
    /// of degree `D` (the numerator of the sum, and a zero denominator); plus, drawn in the same
    /// round, the auxiliary columns' challenges: `n_t (d_t + 1)` per table whose constraints
    /// have degree `d_t` in challenges and auxiliary columns (linear recurrences over `n_t`
    /// rows).
    logup: f64,
    /// `alpha`: one power per folded constraint, summed over tables.
    ali: f64,
    /// `z`: `C - Z_H Q` has degree below `(Q + 1) n` per table, and `z` in a trace domain.
    deep_z: f64,
    /// `lambda`: one power per opened column.
    deep_batch: f64,
    /// Each FRI step from a layer of `N_k` points folding `2^r` values (with the tables rolled
    /// in): a curve of degree `2^r` in the step's challenge, `2^r N_k`; per step.
    fri: Vec<f64>,
    /// The size of the largest LDE.
    n_lde: f64,
}

fn rounds(tables: &[TableShape], n_public_tuples: usize, layers: &[usize]) -> Rounds {
    let n = |t: &TableShape| (1u64 << t.log_height) as f64;
    let m: f64 = tables.iter().map(|t| n(t) * t.n_interactions as f64).sum::<f64>() + n_public_tuples as f64;
    let arity = tables.iter().map(|t| t.max_arity).max().unwrap_or(0).max(if n_public_tuples > 0 { 2 } else { 1 }) as f64;
    let fri = layers
        .windows(2)
        .filter_map(|w| match *w {
            [a, b] => Some(((1u64 << (a - b)) as f64) * (1u64 << a) as f64),
            _ => None,
        })
        .collect();
    Rounds {
        logup: 2.0 * m * arity
            + tables
                .iter()
                .filter(|t| t.challenge_degree > 0)
                .map(|t| n(t) * (t.challenge_degree as f64 + 1.0))
                .sum::<f64>(),
        ali: tables.iter().map(|t| t.n_constraints as f64).sum(),
        deep_z: tables.iter().map(|t| (t.quotient_chunks.max(t.max_degree) as f64 + 2.0) * n(t)).sum(),
        deep_batch: tables.iter().map(|t| t.n_opened as f64).sum(),
        fri,
        n_lde: layers.first().map_or(1.0, |&l| (1u64 << l) as f64),
    }
}

fn bits(degree: f64) -> f64 {
    if degree <= 1.0 { EF_BITS } else { EF_BITS - libm::log2(degree) }
}

fn floor_bits(b: f64) -> u32 {
    if b <= 0.0 { 0 } else { libm::floor(b + 1e-9) as u32 }
}

/// The security of a circuit whose tables have these shapes, with `n_public_tuples` public
/// values entering buses, proven with `opts`; `layers` are the FRI layers' log sizes
/// ([`crate::protocol::fri_layers`]).
pub fn security(tables: &[TableShape], n_public_tuples: usize, opts: &ProofOptions, layers: &[usize]) -> Security {
    let r = rounds(tables, n_public_tuples, layers);
    let grinding = f64::from(opts.grinding_bits);
    let q = f64::from(opts.n_queries);
    let log_rho = -f64::from(opts.log_blowup);
    let rho = libm::exp2(log_rho);

    // Conjectured.
    let fri_max = r.fri.iter().copied().fold(1.0, f64::max);
    let field = [r.logup, r.ali, r.deep_z, r.deep_batch, fri_max].into_iter().map(bits).fold(EF_BITS, f64::min);
    let query_bits = opts.conjectured_query_bits();
    let field_bits = floor_bits(field);
    let conjectured = field_bits.min(query_bits);

    // Proven, unique decoding: a query passes a (1 - rho)/2-far word with probability
    // (1 + rho) / 2; the algebraic rounds are those above.
    let unique_query = q * -libm::log2((1.0 + rho) / 2.0) + grinding;
    let unique = unique_query.min(field);

    // Proven, Johnson bound with proximity parameter m: a query passes with probability
    // sqrt(rho) (1 + 1/2m); a committed word decodes to at most L = (m + 1/2) / sqrt(rho)
    // codewords, which multiplies the rounds that come after a commitment (L for LogUp and
    // alpha, L^2 for z), and the proximity gaps of the batching and the folds cost
    // (m + 1/2)^7 / (3 rho^(3/2)) * N^2 per unit of curve degree.
    let mut johnson = 0.0f64;
    for mi in 3..=64u32 {
        let m = f64::from(mi);
        let per_query = -(log_rho / 2.0 + libm::log2(1.0 + 1.0 / (2.0 * m)));
        let l = (m + 0.5) / libm::exp2(log_rho / 2.0);
        let gap = libm::pow(m + 0.5, 7.0) / (3.0 * libm::pow(rho, 1.5)) * r.n_lde * r.n_lde;
        let fri_gap = r.fri.iter().map(|&d| d / r.n_lde).fold(1.0, f64::max) * gap;
        let field_j = [l * r.logup, l * r.ali, l * l * r.deep_z, r.deep_batch * gap, fri_gap]
            .into_iter()
            .map(bits)
            .fold(EF_BITS, f64::min);
        johnson = johnson.max((q * per_query + grinding).min(field_j));
    }
    let proven = floor_bits(unique.max(johnson)).min(conjectured);
    Security { conjectured_bits: conjectured, proven_bits: proven, query_bits, field_bits }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::fri_layers;

    fn mac(log_n: usize) -> TableShape {
        TableShape {
            log_height: log_n,
            max_degree: 3,
            quotient_chunks: 2,
            n_constraints: 3,
            n_interactions: 0,
            max_arity: 0,
            n_opened: 3 + 3 + 4,
            challenge_degree: 0,
        }
    }

    #[test]
    fn default_options_keep_100_bits_up_to_the_largest_height() {
        let o = ProofOptions::default();
        for log_n in 2..=crate::protocol::MAX_LOG_HEIGHT {
            let s = security(&[mac(log_n)], 0, &o, &fri_layers(&[log_n], &o));
            assert!(s.conjectured_bits >= 100, "2^{log_n}: {s:?}");
            assert!(s.proven_bits < s.conjectured_bits, "2^{log_n}: {s:?}");
        }
        // One height more and the fold of the largest LDE passes 2^-100.
        let log_n = crate::protocol::MAX_LOG_HEIGHT + 1;
        let s = security(&[mac(log_n)], 0, &o, &fri_layers(&[log_n], &o));
        assert_eq!(s.field_bits, 99);
    }

    #[test]
    fn the_fri_round_is_counted_from_the_lde() {
        // 2^20 rows, blowup 8, folds of 8: 8 * 2^23 = 2^26, 102 bits.
        let o = ProofOptions::default();
        let s = security(&[mac(20)], 0, &o, &fri_layers(&[20], &o));
        assert_eq!((s.query_bits, s.field_bits, s.conjectured_bits), (100, 102, 100));
    }

    #[test]
    fn large_buses_lower_the_field_bits() {
        // 2^20 rows with 64 interactions of 16 fields: 2 * 2^26 * 16 = 2^31.
        let o = ProofOptions::default();
        let t = TableShape { n_interactions: 64, max_arity: 16, ..mac(20) };
        let s = security(&[t], 0, &o, &fri_layers(&[20], &o));
        assert_eq!(s.field_bits, 97);
        assert_eq!(s.conjectured_bits, 97);
    }

    #[test]
    fn proven_bits_are_those_of_the_johnson_bound_at_defaults() {
        // 28 queries at rate 1/8 and 16 grinding bits: about 1.28 bits per query at m = 3.
        let o = ProofOptions::default();
        let s = security(&[mac(16)], 0, &o, &fri_layers(&[16], &o));
        assert!((48..=56).contains(&s.proven_bits), "{s:?}");
    }
}
