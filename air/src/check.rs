//! The debug checker: evaluates every constraint on every row and balances every bus with the
//! concrete tuples, reporting each failure as (chip, row, label).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{AuxRows, BusId, Chip, Direction, RowInteraction, eval_row};
use crate::chips::SplitMix64;
use crate::field::{EF, F, ef_from_base, f_to_u64};
use crate::trace::Trace;

/// One reason a set of traces does not satisfy its circuit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckFailure {
    /// A constraint does not hold.
    Constraint { chip: String, row: usize, label: &'static str },
    /// A tuple is sent and received a different number of times (`net` = sends - receives).
    BusImbalance { bus: BusId, fields: Vec<u64>, net: u64 },
    /// A chip's auxiliary trace has the wrong number of values.
    AuxShape { chip: String, expected: usize, found: usize },
}

impl core::fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CheckFailure::Constraint { chip, row, label } => {
                write!(f, "chip `{chip}`, row {row}: constraint `{label}` fails")
            }
            CheckFailure::BusImbalance { bus, fields, net } => {
                write!(f, "bus {bus}: tuple {fields:?} is unbalanced (sent - received = {net} mod p)")
            }
            CheckFailure::AuxShape { chip, expected, found } => {
                write!(f, "chip `{chip}`: auxiliary trace has {found} values, {expected} expected")
            }
        }
    }
}

/// The challenges the debug checker computes auxiliary columns with: fixed pseudo-random
/// extension elements (a debugging aid: the proof draws its own from the transcript).
pub fn debug_challenges(n: usize) -> Vec<EF> {
    let mut rng = SplitMix64(0x5eed_c0de_d00d_f00d);
    let mut f = || F::from_u64(rng.next_u64() % crate::field::P);
    (0..n).map(|_| ef_from_base([f(), f()])).collect()
}

/// Checks every constraint of every chip on every row, and that every bus balances.
/// `traces[i]` is chip `i`'s main trace and `preps[i]` its preprocessed trace. Auxiliary
/// columns are computed with [`debug_challenges`] and their constraints checked too.
pub fn check_constraints(
    chips: &[&dyn Chip],
    traces: &[&Trace],
    preps: &[Option<&Trace>],
    publics: &[F],
) -> Result<(), Vec<CheckFailure>> {
    check_constraints_with(chips, traces, preps, publics, &[])
}

/// [`check_constraints`], with `public_tuples` on the buses besides the chips' interactions
/// (the tuples a circuit's public buses send or receive).
pub fn check_constraints_with(
    chips: &[&dyn Chip],
    traces: &[&Trace],
    preps: &[Option<&Trace>],
    publics: &[F],
    public_tuples: &[RowInteraction],
) -> Result<(), Vec<CheckFailure>> {
    let mut failures = Vec::new();
    let mut bus: BTreeMap<(BusId, Vec<u64>), F> = BTreeMap::new();
    for i in public_tuples {
        let e = bus.entry((i.bus, i.fields.iter().map(|&x| f_to_u64(x)).collect())).or_insert(F::ZERO);
        match i.dir {
            Direction::Send => *e += i.multiplicity,
            Direction::Receive => *e -= i.multiplicity,
        }
    }
    let challenges = debug_challenges(chips.iter().map(|c| c.n_challenges()).max().unwrap_or(0));
    for ((chip, main), prep) in chips.iter().zip(traces).zip(preps) {
        let width = chip.aux_width();
        let aux_values = if width > 0 { chip.aux_trace(main, *prep, &challenges) } else { Vec::new() };
        if aux_values.len() != width * main.height() {
            let (expected, found) = (width * main.height(), aux_values.len());
            failures.push(CheckFailure::AuxShape { chip: chip.name(), expected, found });
            continue;
        }
        let aux = AuxRows { values: &aux_values, width, challenges: &challenges };
        for r in 0..main.height() {
            let b = eval_row(*chip, main, *prep, Some(aux), publics, r);
            for label in b.failures {
                failures.push(CheckFailure::Constraint { chip: chip.name(), row: r, label });
            }
            for i in b.interactions {
                let key = (i.bus, i.fields.iter().map(|&x| f_to_u64(x)).collect());
                let e = bus.entry(key).or_insert(F::ZERO);
                match i.dir {
                    Direction::Send => *e += i.multiplicity,
                    Direction::Receive => *e -= i.multiplicity,
                }
            }
        }
    }
    for ((b, fields), net) in bus {
        if net != F::ZERO {
            failures.push(CheckFailure::BusImbalance { bus: b, fields, net: f_to_u64(net) });
        }
    }
    if failures.is_empty() { Ok(()) } else { Err(failures) }
}
