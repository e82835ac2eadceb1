//! The debug checker: evaluates every constraint on every row and balances every bus with the
//! concrete tuples, reporting each failure as (chip, row, label).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{BusId, Chip, Direction, eval_row};
use crate::field::{F, f_to_u64};
use crate::trace::Trace;

/// One reason a set of traces does not satisfy its circuit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckFailure {
    /// A constraint does not hold.
    Constraint { chip: String, row: usize, label: &'static str },
    /// A tuple is sent and received a different number of times (`net` = sends - receives).
    BusImbalance { bus: BusId, fields: Vec<u64>, net: u64 },
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
        }
    }
}

/// Checks every constraint of every chip on every row, and that every bus balances.
/// `traces[i]` is chip `i`'s main trace and `preps[i]` its preprocessed trace.
pub fn check_constraints(
    chips: &[&dyn Chip],
    traces: &[&Trace],
    preps: &[Option<&Trace>],
    publics: &[F],
) -> Result<(), Vec<CheckFailure>> {
    let mut failures = Vec::new();
    let mut bus: BTreeMap<(BusId, Vec<u64>), F> = BTreeMap::new();
    for ((chip, main), prep) in chips.iter().zip(traces).zip(preps) {
        for r in 0..main.height() {
            let b = eval_row(*chip, main, *prep, publics, r);
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
