use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use super::*;
use crate::chips::SplitMix64;
use crate::chips::range::RangeTable;
use crate::chips::transfer::{Consumer, Producer};
use crate::chips::{BUS_DATA, BUS_OUT};
use crate::{Chip, ChipInfo, check_constraints};

fn layer(k: usize, n: usize, seed: u64) -> VecMat {
    let mut rng = SplitMix64(seed);
    let weights = (0..k * n).map(|_| F::from_u64(rng.next_u64() & 0xff)).collect();
    VecMat { name: "fc".into(), k, n, weights, bias: vec![], log_height: VecMat::min_log_height(k, n), in_bus: Some(BUS_DATA), out_bus: Some(BUS_OUT) }
}

fn inputs(k: usize, seed: u64) -> Vec<F> {
    let mut rng = SplitMix64(seed ^ 0xa11ce);
    (0..k).map(|_| F::from_u64(rng.next_u64() & 0xff)).collect()
}

/// The layer between a producer of its inputs (range-checked to 8 bits) and a consumer of its
/// outputs, checked together.
fn check(m: &VecMat, a: &[F], trace: &Trace) -> Result<(), Vec<crate::CheckFailure>> {
    let p = Producer.generate_trace(a);
    let c_vals: Vec<F> = (0..m.n).map(|l| trace.get(l, 1)).collect();
    let consumer = Consumer { sum_public: 0, bus: BUS_OUT, name: "out" };
    let (ct, sum) = consumer.generate_trace(&c_vals, m.n.next_power_of_two().max(2));
    let range = RangeTable { bits: 8 };
    let rt = range.generate_trace(a.iter().copied());
    let (prep, range_prep) = (Air::preprocessed_trace(m), Air::preprocessed_trace(&range));
    let chips: [&dyn Chip; 4] = [&Producer, m, &consumer, &range];
    check_constraints(&chips, &[&p, trace, &ct, &rt], &[None, prep.as_ref(), None, range_prep.as_ref()], &[sum])
}

#[test]
fn honest_trace_passes() {
    for (k, n) in [(4, 3), (8, 8), (16, 5), (2, 10)] {
        let m = layer(k, n, 1);
        let a = inputs(k, 2);
        let (t, c) = m.generate_trace(&a);
        assert_eq!(c, m.reference(&a));
        check(&m, &a, &t).unwrap_or_else(|e| panic!("{k}x{n}: {e:?}"));
    }
}

#[test]
fn one_changed_output_fails_the_product() {
    let m = layer(8, 6, 3);
    let a = inputs(8, 4);
    let (t, _) = m.generate_trace(&a);
    for l in 0..8 {
        let mut bad = t.clone();
        bad.set(l, 1, t.get(l, 1) + F::ONE);
        let e = check(&m, &a, &bad).unwrap_err();
        assert!(
            e.iter().any(|f| matches!(f, crate::CheckFailure::Constraint { label: "s ends at zero", .. })),
            "row {l}: {e:?}"
        );
    }
}

#[test]
fn one_changed_cell_fails() {
    let m = layer(4, 4, 5);
    let a = inputs(4, 6);
    let (t, _) = m.generate_trace(&a);
    for idx in 0..t.values.len() {
        let mut bad = t.clone();
        bad.values[idx] += F::ONE;
        assert!(check(&m, &a, &bad).is_err(), "cell {idx} changed but passed");
    }
}

#[test]
fn seeded_random_products_match_the_reference() {
    let mut rng = SplitMix64(99);
    for case in 0..200 {
        let k = 1 + (rng.next_u64() % 33) as usize;
        let n = 1 + (rng.next_u64() % 33) as usize;
        let m = layer(k, n, case);
        let a: Vec<F> = (0..k).map(|_| F::from_u64(rng.next_u64() >> 1)).collect();
        let (t, c) = m.generate_trace(&a);
        assert_eq!(c, m.reference(&a), "case {case}");
        let challenges = crate::debug_challenges(1);
        let aux = Air::aux_trace(&m, &t, Air::preprocessed_trace(&m).as_ref(), &challenges);
        assert_eq!(aux[aux.len() - 1], EF::ZERO, "case {case}: the running sum must end at zero");
    }
}

#[test]
fn shape_and_degrees_are_inferred() {
    let m = layer(8, 5, 7);
    let info = ChipInfo::of(&m as &dyn Chip).unwrap();
    assert_eq!((info.aux_width, info.n_challenges), (3, 1));
    assert_eq!(info.max_degree, 3); // selector * activation * v
    assert_eq!(info.challenge_degree, 4); // sigma^4 W_j4 in v
    assert_eq!(info.prep_width, 4 + 5);
}

#[test]
fn bias_is_added_and_proven() {
    let mut m = layer(8, 5, 11);
    m.bias = (0..5u64).map(|l| F::from_u64(1000 + l)).collect();
    let a = inputs(8, 12);
    let (t, c) = m.generate_trace(&a);
    assert_eq!(c, m.reference(&a));
    let plain = layer(8, 5, 11).reference(&a);
    for l in 0..5 {
        assert_eq!(c[l], plain[l] + F::from_u64(1000 + l as u64));
    }
    check(&m, &a, &t).unwrap();
    // Without the bias in the output, the product check fails.
    let mut bad = t.clone();
    bad.set(2, 1, plain[2]);
    let e = check(&m, &a, &bad).unwrap_err();
    assert!(e.iter().any(|f| matches!(f, crate::CheckFailure::Constraint { label: "s ends at zero", .. })), "{e:?}");
}

#[test]
fn output_bits_bound_the_integer_result() {
    // 4 inputs below 2^3, weights 1..=12, bias 5: the worst column sums 3 weights... every
    // column's |w| sum times 8 plus 5.
    let weights: Vec<F> = (1..=12u64).map(F::from_u64).collect();
    let m = VecMat { name: "fc".into(), k: 4, n: 3, weights, bias: vec![F::from_u64(5); 3], log_height: 2, in_bus: None, out_bus: None };
    // Column 2: 3 + 6 + 9 + 12 = 30; 30 * 8 + 5 = 245 < 2^8.
    assert_eq!(m.output_bits(3), Some(8));
    // Negative weights count by magnitude.
    let neg = VecMat { weights: m.weights.iter().map(|&w| -w).collect(), ..m.clone() };
    assert_eq!(neg.output_bits(3), Some(8));
    // Inputs of 60 bits would let the sum reach p/2.
    assert_eq!(m.output_bits(60), None);
}
