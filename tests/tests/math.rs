//! Field and extension arithmetic against a `u128` reference; the CPU backend's LDE,
//! interpolation and FRI fold against naive polynomial evaluation.

use p3_field::{Field, PrimeCharacteristicRing};
use p3_matrix::dense::RowMajorMatrix;
use proptest::prelude::*;
use sigil_air::field::{P, ef_from_base, ef_to_base, f_to_u64};
use sigil_air::{EF, F};
use sigil_prover::{CpuBackend, FriOps, NttOps};
use sigil_verifier::protocol::{lde_shift, omega};

fn mulmod(a: u64, b: u64) -> u64 {
    ((a as u128 * b as u128) % P as u128) as u64
}

fn edge() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(P - 1),
        Just(P - 2),
        Just((1u64 << 32) - 1),
        Just(1u64 << 32),
        Just((1u64 << 32) + 1),
        0..P,
    ]
}

proptest! {
    #[test]
    fn base_field_matches_u128(a in edge(), b in edge()) {
        let (fa, fb) = (F::from_u64(a), F::from_u64(b));
        prop_assert_eq!(f_to_u64(fa + fb), ((a as u128 + b as u128) % P as u128) as u64);
        prop_assert_eq!(f_to_u64(fa - fb), ((a as u128 + P as u128 - b as u128) % P as u128) as u64);
        prop_assert_eq!(f_to_u64(fa * fb), mulmod(a, b));
        if a != 0 {
            prop_assert_eq!(mulmod(f_to_u64(fa.inverse()), a), 1);
        }
    }

    #[test]
    fn extension_field_matches_u128(a0 in edge(), a1 in edge(), b0 in edge(), b1 in edge()) {
        // (a0 + a1 X)(b0 + b1 X) = a0 b0 + 7 a1 b1 + (a0 b1 + a1 b0) X, since X^2 = 7.
        let a = ef_from_base([F::from_u64(a0), F::from_u64(a1)]);
        let b = ef_from_base([F::from_u64(b0), F::from_u64(b1)]);
        let c0 = (mulmod(a0, b0) as u128 + mulmod(7, mulmod(a1, b1)) as u128) % P as u128;
        let c1 = (mulmod(a0, b1) as u128 + mulmod(a1, b0) as u128) % P as u128;
        let [r0, r1] = ef_to_base(a * b);
        prop_assert_eq!((f_to_u64(r0), f_to_u64(r1)), (c0 as u64, c1 as u64));
        if a != EF::ZERO {
            prop_assert_eq!(a * a.inverse(), EF::ONE);
        }
    }
}

fn seeded(n: usize, seed: u64) -> Vec<F> {
    let mut r = sigil_air::chips::SplitMix64(seed);
    (0..n).map(|_| F::from_u64(r.next_u64() % P)).collect()
}

/// Coefficients of the polynomial through `evals` over the subgroup, by the naive O(n^2)
/// inverse DFT.
fn naive_interpolate(evals: &[F]) -> Vec<F> {
    let n = evals.len();
    let w_inv = omega(n.trailing_zeros() as usize).inverse();
    let n_inv = F::from_u64(n as u64).inverse();
    (0..n)
        .map(|k| {
            let wk = w_inv.exp_u64(k as u64);
            let mut x = F::ONE;
            let mut s = F::ZERO;
            for e in evals {
                s += *e * x;
                x *= wk;
            }
            s * n_inv
        })
        .collect()
}

fn horner<T: Field + From<F>>(coeffs: &[F], x: T) -> T {
    coeffs.iter().rev().fold(T::ZERO, |acc, &c| acc * x + T::from(c))
}

#[test]
fn lde_matches_naive_evaluation() {
    let backend = CpuBackend::default();
    for log_n in 0..7 {
        for log_blowup in 1..4 {
            let n = 1 << log_n;
            let width = 3;
            let vals = seeded(n * width, (log_n * 10 + log_blowup) as u64);
            let lde = backend.coset_lde(RowMajorMatrix::new(vals.clone(), width), log_blowup, lde_shift());
            let big = n << log_blowup;
            let w = omega(log_n + log_blowup);
            for c in 0..width {
                let col: Vec<F> = (0..n).map(|r| vals[r * width + c]).collect();
                let coeffs = naive_interpolate(&col);
                for i in 0..big {
                    let x = lde_shift() * w.exp_u64(i as u64);
                    assert_eq!(lde.values[i * width + c], horner(&coeffs, x), "log_n {log_n} blowup {log_blowup} row {i}");
                }
            }
        }
    }
}

#[test]
fn coset_interpolation_inverts_evaluation() {
    let backend = CpuBackend::default();
    for log_n in 0..8 {
        let n = 1 << log_n;
        let coeffs = seeded(n * 2, 77 + log_n as u64);
        let evals = backend.coset_evaluate(RowMajorMatrix::new(coeffs.clone(), 2), lde_shift());
        let back = backend.coset_interpolate(evals.into_matrix(), lde_shift());
        assert_eq!(back.values, coeffs);
    }
}

#[test]
fn fri_fold_matches_naive_folding() {
    // f(x) = f_e(x^2) + x f_o(x^2)  ->  fold(f, beta)(y) = f_e(y) + beta f_o(y).
    let backend = CpuBackend::default();
    for log_n in 1..8 {
        let n = 1usize << log_n;
        let deg = n / 2;
        let c0 = seeded(deg, 5 + log_n as u64);
        let c1 = seeded(deg, 6 + log_n as u64);
        let coeff = |i: usize| ef_from_base([c0[i], c1[i]]);
        let shift = lde_shift().exp_u64(3);
        let w = omega(log_n);
        let f = |x: F| (0..deg).rev().fold(EF::ZERO, |acc, i| acc * x + coeff(i));
        let evals: Vec<EF> = (0..n).map(|i| f(shift * w.exp_u64(i as u64))).collect();
        let beta = ef_from_base([F::from_u64(12345), F::from_u64(678)]);
        let folded = backend.fold(&evals, beta, shift);
        assert_eq!(folded.len(), n / 2);
        for (j, v) in folded.iter().enumerate() {
            let y = (shift * w.exp_u64(j as u64)).square();
            let fe = (0..deg / 2 + deg % 2).rev().fold(EF::ZERO, |acc, i| acc * y + coeff(2 * i));
            let fo = (0..deg / 2).rev().fold(EF::ZERO, |acc, i| acc * y + coeff(2 * i + 1));
            assert_eq!(*v, fe + beta * fo, "log_n {log_n}, j {j}");
        }
    }
}

#[test]
fn barycentric_free_check_of_horner_helper() {
    // The test helper itself: x^2 + 2x + 3 at 5 is 38.
    let c = [F::from_u64(3), F::from_u64(2), F::ONE];
    assert_eq!(horner(&c, F::from_u64(5)), F::from_u64(38));
}

#[test]
fn lde_matches_plonky3_naive_dft() {
    use p3_dft::{NaiveDft, TwoAdicSubgroupDft};
    let backend = CpuBackend::default();
    for log_n in 0..9 {
        let n = 1 << log_n;
        let vals = seeded(n * 5, 1000 + log_n as u64);
        let ours = backend.coset_lde(RowMajorMatrix::new(vals.clone(), 5), 3, lde_shift());
        let p3 = NaiveDft.coset_lde_batch(RowMajorMatrix::new(vals, 5), 3, lde_shift());
        assert_eq!(*ours.values, *p3.values, "log_n {log_n}");
    }
}
