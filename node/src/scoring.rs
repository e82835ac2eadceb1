//! How a validator scores miners: every constant in [`Params`], each with where it comes from
//! (the subnet's 2026 delivered-work scoring, `../shared/protocol/README.md` §6.1, with
//! response time and proof size entering the credit as the seed asks).
//!
//! - **Price.** Each circuit's price is the [`Params::price_quantile`] of the last
//!   [`Params::price_window`] verified latencies of all miners on it (with fewer than
//!   [`Params::price_min_samples`], their median; with none, 1 s): heavier circuits are worth
//!   more.
//! - **Credit.** A verified proof earns `price × speed^latency_exponent × size^size_exponent`,
//!   where `speed = min(1, price / latency)` and `size = smallest verified proof of the circuit
//!   / this proof's size`.
//! - **Debit.** Any failure (refused, timed out, unreachable, garbage, a proof that does not
//!   verify, a replayed or relayed proof) costs `failure_debit × price`.
//! - **Decay.** `work = max(0, Σ (credit − debit) · 0.5^(age / half_life))` over the results of
//!   the last [`Params::window_s`].
//! - **Weight.** 0 below [`Params::min_samples`] results in the window; else
//!   `work^weight_power`, normalized to sum 1, then `u16 = trunc(w × 65535)`.

use std::collections::HashMap;

/// The scoring constants.
#[derive(Clone, Debug)]
pub struct Params {
    /// Half-life of a result's value, seconds (subnet: 7200, `scoring.rs`, #587).
    pub half_life_s: f64,
    /// Results older than this are ignored, seconds (subnet: 24 h window + one 1 h bucket).
    pub window_s: f64,
    /// A failure costs this many times the circuit's price (`FAILURE_DEBIT_MULTIPLIER` 2.0).
    pub failure_debit: f64,
    /// The price is this quantile of recent verified latencies (subnet: the 10th percentile).
    pub price_quantile: f64,
    /// Recent verified latencies kept per circuit for its price (subnet: 256).
    pub price_window: usize,
    /// Below this many verified latencies, the price is their median (subnet: 8).
    pub price_min_samples: usize,
    /// Exponent of the speed factor `min(1, price / latency)` (Sigil; the subnet prices work
    /// by latency only through the price).
    pub latency_exponent: f64,
    /// Exponent of the size factor `smallest proof / this proof` (Sigil; the subnet's
    /// `PROOF_SIZE_WEIGHT` is 0).
    pub size_exponent: f64,
    /// Weight = work^this (subnet: 1.3, #587; 5.0 earlier in 2026).
    pub weight_power: f64,
    /// Results a miner needs in the window to get weight (`PERFORMANCE_MIN_SAMPLES` 100).
    pub min_samples: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            half_life_s: 7200.0,
            window_s: 25.0 * 3600.0,
            failure_debit: 2.0,
            price_quantile: 0.10,
            price_window: 256,
            price_min_samples: 8,
            latency_exponent: 1.0,
            size_exponent: 0.5,
            weight_power: 1.3,
            min_samples: 100,
        }
    }
}

/// One stored result.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Unix seconds.
    pub at: f64,
    pub uid: u16,
    pub hotkey: String,
    pub circuit: String,
    pub verified: bool,
    /// Seconds from sending to a complete answer.
    pub latency: f64,
    pub proof_bytes: usize,
}

/// A miner's standing.
#[derive(Clone, Debug, PartialEq)]
pub struct Standing {
    pub uid: u16,
    pub hotkey: String,
    pub verified: usize,
    pub failed: usize,
    /// Mean latency of verified answers, seconds.
    pub mean_latency: f64,
    pub work: f64,
    /// Normalized weight (sums to 1 over miners with weight).
    pub weight: f64,
    pub weight_u16: u16,
}

/// The standings of the miners in `results` (in time order) at time `now`, by uid.
pub fn standings(p: &Params, results: &[Outcome], now: f64) -> Vec<Standing> {
    let recent: Vec<&Outcome> = results.iter().filter(|r| now - r.at <= p.window_s).collect();
    // Prices and smallest proofs per circuit.
    let mut lat: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut smallest: HashMap<&str, usize> = HashMap::new();
    for r in recent.iter().filter(|r| r.verified) {
        lat.entry(&r.circuit).or_default().push(r.latency);
        let s = smallest.entry(&r.circuit).or_insert(r.proof_bytes);
        *s = (*s).min(r.proof_bytes);
    }
    let price: HashMap<&str, f64> = lat
        .into_iter()
        .map(|(c, mut v)| {
            let start = v.len().saturating_sub(p.price_window);
            let mut v = v.split_off(start);
            v.sort_by(f64::total_cmp);
            let q = if v.len() < p.price_min_samples { 0.5 } else { p.price_quantile };
            (c, v[((v.len() - 1) as f64 * q).round() as usize].max(1e-3))
        })
        .collect();
    let mut by: HashMap<u16, Standing> = HashMap::new();
    for r in &recent {
        let s = by.entry(r.uid).or_insert_with(|| Standing {
            uid: r.uid,
            hotkey: r.hotkey.clone(),
            verified: 0,
            failed: 0,
            mean_latency: 0.0,
            work: 0.0,
            weight: 0.0,
            weight_u16: 0,
        });
        if s.hotkey != r.hotkey {
            // A new hotkey on the uid starts afresh (as the subnet resets a re-registered uid).
            *s = Standing { hotkey: r.hotkey.clone(), verified: 0, failed: 0, mean_latency: 0.0, work: 0.0, ..s.clone() };
        }
        let price = price.get(r.circuit.as_str()).copied().unwrap_or(1.0);
        let decay = 0.5f64.powf((now - r.at).max(0.0) / p.half_life_s);
        if r.verified {
            let speed = (price / r.latency.max(1e-6)).min(1.0);
            let size = smallest.get(r.circuit.as_str()).map_or(1.0, |&m| m as f64 / r.proof_bytes.max(1) as f64);
            s.work += price * speed.powf(p.latency_exponent) * size.powf(p.size_exponent) * decay;
            s.mean_latency += (r.latency - s.mean_latency) / (s.verified + 1) as f64;
            s.verified += 1;
        } else {
            s.work -= p.failure_debit * price * decay;
            s.failed += 1;
        }
    }
    let mut out: Vec<Standing> = by.into_values().collect();
    out.sort_by_key(|s| s.uid);
    for s in &mut out {
        s.work = s.work.max(0.0);
        s.weight = if s.verified + s.failed >= p.min_samples { s.work.powf(p.weight_power) } else { 0.0 };
    }
    let total: f64 = out.iter().map(|s| s.weight).sum();
    for s in &mut out {
        s.weight = if total > 0.0 { s.weight / total } else { 0.0 };
        s.weight_u16 = (s.weight * 65535.0) as u16;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(at: f64, uid: u16, verified: bool, latency: f64) -> Outcome {
        Outcome { at, uid, hotkey: format!("k{uid}"), circuit: "c".into(), verified, latency, proof_bytes: 1000 }
    }

    #[test]
    fn faster_verified_work_weighs_more_and_failures_cost_twice() {
        let p = Params { min_samples: 1, ..Params::default() };
        let mut rs = Vec::new();
        for i in 0..20 {
            rs.push(r(i as f64, 1, true, 0.5));
            rs.push(r(i as f64, 2, true, 1.0));
            rs.push(r(i as f64, 3, i % 2 == 0, 0.5));
            rs.push(r(i as f64, 4, false, 0.1));
        }
        let s = standings(&p, &rs, 20.0);
        let w: Vec<f64> = s.iter().map(|s| s.weight).collect();
        assert!(w[0] > w[1] && w[1] > 0.0, "{s:?}");
        // Half failures at twice the debit: no work left.
        assert_eq!(w[2], 0.0);
        assert_eq!(w[3], 0.0);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(s[0].verified, 20);
        assert_eq!(s[3].failed, 20);
    }

    #[test]
    fn old_results_decay_and_few_samples_get_no_weight() {
        let p = Params { min_samples: 1, ..Params::default() };
        let old = standings(&p, &[r(0.0, 1, true, 1.0)], 7200.0)[0].work;
        let new = standings(&p, &[r(0.0, 1, true, 1.0)], 0.0)[0].work;
        assert!((old / new - 0.5).abs() < 1e-9);
        assert!(standings(&p, &[r(0.0, 1, true, 1.0)], p.window_s + 1.0).is_empty());
        let s = standings(&Params::default(), &[r(0.0, 1, true, 1.0)], 0.0);
        assert_eq!(s[0].weight, 0.0);
    }
}
