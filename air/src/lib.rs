//! # sigil-air
//!
//! Field types, the AIR description language, and the lookup/bus argument of Sigil.
//!
//! A *chip* is one table of the proof. It names its columns, then writes its constraints and
//! its bus interactions once, in [`Air::eval`], against an [`AirBuilder`]:
//!
//! 1. declare the columns with [`columns!`];
//! 2. implement [`Air`]: `name`, `width`, optional fixed columns, and `eval`;
//! 3. give the chip to the prover with its trace; the verifier needs only the chip.
//!
//! The same `eval` runs symbolically (degree inference and the circuit id, [`ChipInfo`]), over
//! the base field in the prover's quotient, over the extension field in the verifier's
//! out-of-domain check, and row by row in the debug checker ([`check_constraints`]).
//!
//! Tuples `(f_0, .., f_k)` travel between chips on buses ([`AirBuilder::send`],
//! [`AirBuilder::receive`]) and are balanced by a LogUp argument over [`EF`]. A lookup into a
//! fixed table is a receive by a chip whose columns are preprocessed.
//!
//! Features: `std` (default). Without it the crate is `no_std` + `alloc`.
#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod air;
pub mod check;
pub mod chips;
pub mod expr;
pub mod field;
pub mod info;
pub mod par;
pub mod stack;
pub mod trace;

pub use air::{
    Air, AirBuilder, AuxRows, BusId, Chip, ConstraintFolder, Direction, LogUpRow, LookupChallenges, RowAt, RowBuilder,
    RowInteraction, StackedBuses, Step, SymbolicBuilder, SymbolicInteraction, eval_row,
};
pub use check::{CheckFailure, check_constraints, check_constraints_with, debug_challenges};
pub use expr::{Expr, FieldExpr, Var};
pub use field::{EF, F};
pub use info::{ChipDefinitionError, ChipInfo, InteractionShape};
pub use trace::Trace;

/// Declares a chip's named columns: a struct generic over the cell type, with `WIDTH`,
/// `from_fn` (build from column indices) and `index()` (the column index of every field).
///
/// ```
/// sigil_air::columns! {
///     /// The columns of a toy chip.
///     pub struct ToyCols {
///         /// The running value.
///         acc,
///         /// The increment.
///         step,
///     }
/// }
/// assert_eq!(ToyCols::<u8>::WIDTH, 2);
/// assert_eq!(ToyCols::index().step, 1);
/// ```
#[macro_export]
macro_rules! columns {
    ($(#[$m:meta])* $vis:vis struct $name:ident { $( $(#[$fm:meta])* $field:ident ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis struct $name<T> { $( $(#[$fm])* pub $field: T ),* }

        impl<T> $name<T> {
            /// Number of columns.
            pub const WIDTH: usize = [$(stringify!($field)),*].len();

            /// Builds the struct from a function of the column index.
            #[allow(unused_assignments)]
            pub fn from_fn(mut f: impl FnMut(usize) -> T) -> Self {
                let mut i = 0;
                $( let $field = f(i); i += 1; )*
                Self { $($field),* }
            }
        }

        impl $name<usize> {
            /// The column index of every field, as a constant (`pub const A: usize =
            /// Cols::INDEX.a;` names a column by its place in the struct).
            #[allow(unused_assignments)]
            pub const INDEX: Self = {
                let mut i = 0;
                $( let $field = i; i += 1; )*
                Self { $($field),* }
            };

            /// The column index of every field.
            pub fn index() -> Self {
                Self::INDEX
            }
        }
    };
}
