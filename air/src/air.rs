//! The AIR language: chips write their constraints and bus interactions once, against an
//! [`AirBuilder`]; the same `eval` then serves degree inference ([`SymbolicBuilder`]), the
//! prover's quotient and the verifier's out-of-domain check ([`ConstraintFolder`]), trace
//! generation for lookups and the debug checker ([`RowBuilder`]).

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use p3_field::{PrimeCharacteristicRing, PrimeField64};

use crate::expr::{Expr, FieldExpr, Var};
use crate::field::{EF, F};
use crate::trace::Trace;

/// The most interactions one LogUp helper column sums.
pub const MAX_LOGUP_BATCH: usize = 4;

/// Identifies a bus. Every tuple sent on a bus must be received on it with the same multiplicity.
pub type BusId = u32;

/// Where a stacked table's interactions read their buses ([`crate::stack`]): the segments of
/// one table each talk on their own buses, so a bus that differs between segments is a
/// preprocessed column, and rows past the segments (padding) are switched off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackedBuses {
    /// Bit `k`: interaction `k` (in `eval` order) reads its bus from a preprocessed column.
    pub varying: u64,
    /// The preprocessed column of the first varying interaction; the others follow in order.
    pub first_col: usize,
    /// When set, every multiplicity is multiplied by this preprocessed column (1 on the
    /// segments' rows, 0 on padding rows).
    pub enabled: Option<usize>,
}

impl StackedBuses {
    /// The preprocessed column interaction `k` reads its bus from, if it varies.
    pub fn bus_col(&self, k: usize) -> Option<usize> {
        if k >= 64 || (self.varying >> k) & 1 == 0 {
            return None;
        }
        Some(self.first_col + (self.varying & ((1u64 << k) - 1)).count_ones() as usize)
    }
}

/// Which side of a bus an interaction is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Adds `multiplicity` copies of the tuple to the bus.
    Send,
    /// Takes `multiplicity` copies of the tuple off the bus.
    Receive,
}

/// What a chip's `eval` is written against.
pub trait AirBuilder {
    /// A value: a field element, an extension element or a symbolic expression.
    type Var: FieldExpr;
    /// An extension-field value: challenges, auxiliary columns and what is built from them.
    /// Base values enter with `Self::Ext::from(v)`.
    type Ext: FieldExpr + From<Self::Var>;

    /// Main column `col` on the current row.
    fn main(&self, col: usize) -> Self::Var;
    /// Main column `col` on the next row (the last row's next row is the first).
    fn main_next(&self, col: usize) -> Self::Var;
    /// Preprocessed column `col` on the current row.
    fn prep(&self, col: usize) -> Self::Var;
    /// Preprocessed column `col` on the next row.
    fn prep_next(&self, col: usize) -> Self::Var;
    /// Public value `index` of the statement.
    fn public(&self, index: usize) -> Self::Var;
    /// 1 on the first row, 0 on the others.
    fn is_first_row(&self) -> Self::Var;
    /// 1 on the last row, 0 on the others.
    fn is_last_row(&self) -> Self::Var;
    /// 0 on the last row, non-zero on the others.
    fn is_transition(&self) -> Self::Var;

    /// Constrains `value` to be zero on every row. `label` names the constraint in reports.
    fn assert_zero(&mut self, label: &'static str, value: Self::Var);

    /// Challenge `index` (below [`Air::n_challenges`]), drawn after the main traces are
    /// committed.
    fn challenge(&self, index: usize) -> Self::Ext;
    /// Auxiliary column `col` (below [`Air::aux_width`]) on the current row.
    fn aux(&self, col: usize) -> Self::Ext;
    /// Auxiliary column `col` on the next row.
    fn aux_next(&self, col: usize) -> Self::Ext;
    /// Constrains an extension value to be zero on every row.
    ///
    /// # Soundness
    /// Auxiliary columns are the prover's, committed after the challenges: a constraint must
    /// pin each of them down (a recurrence linear in the auxiliary columns; `ChipInfo` refuses
    /// others), and the chip must argue why a false main trace makes its identity fail for all
    /// but a few challenges (`docs/soundness.md`).
    fn assert_zero_ext(&mut self, label: &'static str, value: Self::Ext);

    /// Puts (`Send`) or takes (`Receive`) `multiplicity` copies of the tuple `fields` on `bus`.
    ///
    /// # Soundness
    /// A bus balances only if, over all chips, every tuple is sent as often as it is received.
    /// Every interaction on one bus must use the same number of fields.
    fn interact(&mut self, bus: BusId, dir: Direction, fields: &[Self::Var], multiplicity: Self::Var);

    /// Constrains `a == b`.
    fn assert_eq(&mut self, label: &'static str, a: Self::Var, b: Self::Var) {
        self.assert_zero(label, a - b);
    }
    /// Constrains `a` to be 0 or 1.
    fn assert_bool(&mut self, label: &'static str, a: Self::Var) {
        self.assert_zero(label, a.clone() * (a - Self::Var::lit(1)));
    }
    /// `interact(bus, Send, fields, multiplicity)`.
    fn send(&mut self, bus: BusId, fields: &[Self::Var], multiplicity: Self::Var) {
        self.interact(bus, Direction::Send, fields, multiplicity);
    }
    /// `interact(bus, Receive, fields, multiplicity)`.
    fn receive(&mut self, bus: BusId, fields: &[Self::Var], multiplicity: Self::Var) {
        self.interact(bus, Direction::Receive, fields, multiplicity);
    }
}

/// A table of the proof: its columns and constraints, written once.
pub trait Air: Send + Sync {
    /// A short unique name, used in reports and hashed into the circuit id.
    fn name(&self) -> String;
    /// Number of main columns.
    fn width(&self) -> usize;
    /// Fixed columns, committed once per circuit. Their height fixes the chip's height.
    fn preprocessed_trace(&self) -> Option<Trace> {
        None
    }
    /// Number of challenges the chip reads (the circuit draws the most any chip reads).
    fn n_challenges(&self) -> usize {
        0
    }
    /// Number of auxiliary (extension-field) columns.
    fn aux_width(&self) -> usize {
        0
    }
    /// The auxiliary columns, row-major (`aux_width` per row), from the main and preprocessed
    /// traces and the challenges.
    fn aux_trace(&self, main: &Trace, prep: Option<&Trace>, challenges: &[EF]) -> Vec<EF> {
        let _ = (main, prep, challenges);
        Vec::new()
    }
    /// Whether the chip's constraints may multiply two auxiliary columns (degree 2 in them).
    /// By default they must be linear in the auxiliary columns, which bounds every auxiliary
    /// value's degree in the challenges by the constraints' degree in the challenges times the
    /// height. A chip that opts in argues in `docs/soundness.md` that its constraints still pin
    /// each auxiliary column and that its auxiliary values stay within `(challenge degree + 1)
    /// x height` (what the security estimate charges); the choice is part of the circuit id.
    fn aux_products(&self) -> bool {
        false
    }
    /// The constraints and interactions.
    fn eval<B: AirBuilder>(&self, b: &mut B);
}

/// The object-safe form of [`Air`], implemented for every `Air`; circuits hold `dyn Chip`s.
pub trait Chip: Send + Sync {
    /// See [`Air::name`].
    fn name(&self) -> String;
    /// See [`Air::width`].
    fn width(&self) -> usize;
    /// See [`Air::preprocessed_trace`].
    fn preprocessed_trace(&self) -> Option<Trace>;
    /// See [`Air::n_challenges`].
    fn n_challenges(&self) -> usize;
    /// See [`Air::aux_width`].
    fn aux_width(&self) -> usize;
    /// See [`Air::aux_trace`].
    fn aux_trace(&self, main: &Trace, prep: Option<&Trace>, challenges: &[EF]) -> Vec<EF>;
    /// See [`Air::aux_products`].
    fn aux_products(&self) -> bool;
    /// `eval` against the symbolic builder.
    fn eval_symbolic(&self, b: &mut SymbolicBuilder);
    /// `eval` against the base-field folder (the prover's quotient).
    fn eval_base(&self, b: &mut ConstraintFolder<'_, F>);
    /// `eval` against the extension-field folder (the verifier's out-of-domain check).
    fn eval_ext(&self, b: &mut ConstraintFolder<'_, EF>);
    /// `eval` on one concrete row (the debug checker).
    fn eval_row(&self, b: &mut RowBuilder<'_>);
    /// `eval` on one concrete row for its interactions alone (the LogUp columns).
    fn eval_logup(&self, b: &mut LogUpRow<'_>);
    /// For a stacked table ([`crate::stack`]): per interaction, the bus of every segment (so
    /// that the circuit checks each bus's arity). Empty for an ordinary chip, whose
    /// interactions name their buses themselves.
    fn segment_buses(&self) -> Vec<Vec<BusId>> {
        Vec::new()
    }
    /// The chips whose rows the table holds: a stacked table's members, or the chip itself.
    fn member_names(&self) -> Vec<String> {
        vec![self.name()]
    }
}

impl<A: Air> Chip for A {
    fn name(&self) -> String {
        Air::name(self)
    }
    fn width(&self) -> usize {
        Air::width(self)
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        Air::preprocessed_trace(self)
    }
    fn n_challenges(&self) -> usize {
        Air::n_challenges(self)
    }
    fn aux_width(&self) -> usize {
        Air::aux_width(self)
    }
    fn aux_trace(&self, main: &Trace, prep: Option<&Trace>, challenges: &[EF]) -> Vec<EF> {
        Air::aux_trace(self, main, prep, challenges)
    }
    fn aux_products(&self) -> bool {
        Air::aux_products(self)
    }
    fn eval_symbolic(&self, b: &mut SymbolicBuilder) {
        self.eval(b)
    }
    fn eval_base(&self, b: &mut ConstraintFolder<'_, F>) {
        self.eval(b)
    }
    fn eval_ext(&self, b: &mut ConstraintFolder<'_, EF>) {
        self.eval(b)
    }
    fn eval_row(&self, b: &mut RowBuilder<'_>) {
        self.eval(b)
    }
    fn eval_logup(&self, b: &mut LogUpRow<'_>) {
        self.eval(b)
    }
}

// ---------------------------------------------------------------------------------------------
// Symbolic builder
// ---------------------------------------------------------------------------------------------

/// An interaction as recorded by the symbolic builder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolicInteraction {
    pub bus: BusId,
    /// In a stacked table: the preprocessed column the bus is read from (`bus` is then the
    /// first segment's).
    pub bus_col: Option<usize>,
    pub dir: Direction,
    pub fields: Vec<Expr>,
    pub multiplicity: Expr,
}

/// One call of a chip's `eval`, in the order it was made: what [`ConstraintFolder`] folds in
/// that order (an interaction's LogUp batch is folded when its last interaction is made).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// `constraints[i]`.
    Constraint(usize),
    /// `interactions[i]`.
    Interaction(usize),
}

/// Records a chip's constraints and interactions as expressions.
#[derive(Clone, Debug, Default)]
pub struct SymbolicBuilder {
    pub constraints: Vec<(&'static str, Expr)>,
    pub interactions: Vec<SymbolicInteraction>,
    /// Both, interleaved as `eval` made them.
    pub steps: Vec<Step>,
    /// Set by a stacked table around its template's `eval`.
    pub stacking: Option<StackedBuses>,
}

impl AirBuilder for SymbolicBuilder {
    type Var = Expr;
    type Ext = Expr;
    fn main(&self, col: usize) -> Expr {
        Var::Main { col, next: false }.into()
    }
    fn main_next(&self, col: usize) -> Expr {
        Var::Main { col, next: true }.into()
    }
    fn prep(&self, col: usize) -> Expr {
        Var::Prep { col, next: false }.into()
    }
    fn prep_next(&self, col: usize) -> Expr {
        Var::Prep { col, next: true }.into()
    }
    fn public(&self, index: usize) -> Expr {
        Var::Public(index).into()
    }
    fn is_first_row(&self) -> Expr {
        Var::IsFirstRow.into()
    }
    fn is_last_row(&self) -> Expr {
        Var::IsLastRow.into()
    }
    fn is_transition(&self) -> Expr {
        Var::IsTransition.into()
    }
    fn assert_zero(&mut self, label: &'static str, value: Expr) {
        self.steps.push(Step::Constraint(self.constraints.len()));
        self.constraints.push((label, value));
    }
    fn challenge(&self, index: usize) -> Expr {
        Var::Challenge(index).into()
    }
    fn aux(&self, col: usize) -> Expr {
        Var::Aux { col, next: false }.into()
    }
    fn aux_next(&self, col: usize) -> Expr {
        Var::Aux { col, next: true }.into()
    }
    fn assert_zero_ext(&mut self, label: &'static str, value: Expr) {
        self.steps.push(Step::Constraint(self.constraints.len()));
        self.constraints.push((label, value));
    }
    fn interact(&mut self, bus: BusId, dir: Direction, fields: &[Expr], multiplicity: Expr) {
        let k = self.interactions.len();
        self.steps.push(Step::Interaction(k));
        let bus_col = self.stacking.and_then(|s| s.bus_col(k));
        let multiplicity = match self.stacking.and_then(|s| s.enabled) {
            Some(c) => multiplicity * self.prep(c),
            None => multiplicity,
        };
        self.interactions.push(SymbolicInteraction {
            bus,
            bus_col,
            dir,
            fields: fields.to_vec(),
            multiplicity,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Constraint folder (prover and verifier)
// ---------------------------------------------------------------------------------------------

/// The random challenges of the LogUp argument: a tuple `(f_0, .., f_k)` on bus `b` is
/// fingerprinted as `beta + b + gamma f_0 + gamma^2 f_1 + ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LookupChallenges {
    pub beta: EF,
    pub gamma: EF,
}

/// A bus id as an extension element.
fn bus_ef(bus: BusId) -> EF {
    EF::from(F::from_u32(bus))
}

impl LookupChallenges {
    /// The fingerprint (LogUp denominator) of a tuple on a bus.
    pub fn fingerprint<V: Clone + Into<EF>>(&self, bus: BusId, fields: &[V]) -> EF {
        self.fingerprint_on(bus_ef(bus), fields)
    }

    /// The fingerprint of a tuple on the bus whose id is `bus` (a stacked table's bus column).
    pub fn fingerprint_on<V: Clone + Into<EF>>(&self, bus: EF, fields: &[V]) -> EF {
        let mut d = self.beta + bus;
        let mut g = self.gamma;
        for f in fields {
            d += g * f.clone().into();
            g *= self.gamma;
        }
        d
    }
}

/// The interactions of a LogUp batch not yet folded: (fingerprint, signed multiplicity).
#[derive(Clone, Copy, Debug, Default)]
pub struct LogupPending {
    terms: [(EF, EF); MAX_LOGUP_BATCH],
    len: usize,
    /// Batches folded so far.
    batch: usize,
    /// Interactions made so far.
    made: usize,
}

/// Folds every constraint of one row into one extension element, `acc = acc * alpha + c`, in
/// the order `eval` states them, a LogUp batch's constraint where its last interaction is
/// made.
///
/// With `V = F` it runs in the prover over the quotient domain; with `V = EF` in the verifier
/// at the out-of-domain point. Both see the same constraints in the same order.
#[derive(Debug)]
pub struct ConstraintFolder<'a, V> {
    pub main_local: &'a [V],
    pub main_next: &'a [V],
    pub prep_local: &'a [V],
    pub prep_next: &'a [V],
    pub publics: &'a [F],
    pub is_first_row: V,
    pub is_last_row: V,
    pub is_transition: V,
    pub alpha: EF,
    pub acc: EF,
    /// LogUp columns: one helper per batch of interactions but the last, then the running sum.
    pub perm_local: &'a [EF],
    pub perm_next: &'a [EF],
    pub lookup: LookupChallenges,
    /// The table's claimed LogUp sum (the running sum on its last row).
    pub cumulative_sum: EF,
    /// The chip's LogUp batches (`ChipInfo::logup_batches`), and the batch being filled.
    pub logup_batches: &'a [usize],
    pub pending: LogupPending,
    /// Auxiliary columns on this row and the next, and the circuit's challenges.
    pub aux_local: &'a [EF],
    pub aux_next: &'a [EF],
    pub challenges: &'a [EF],
    /// Set by a stacked table around its template's `eval`.
    pub stacking: Option<StackedBuses>,
}

impl<'a, V> ConstraintFolder<'a, V>
where
    V: FieldExpr + Into<EF>,
{
    #[inline]
    fn fold(&mut self, c: EF) {
        self.acc = self.acc * self.alpha + c;
    }
}

impl<'a, V> AirBuilder for ConstraintFolder<'a, V>
where
    V: FieldExpr + Into<EF>,
    EF: From<V>,
{
    type Var = V;
    type Ext = EF;
    #[inline]
    fn main(&self, col: usize) -> V {
        self.main_local[col].clone()
    }
    #[inline]
    fn main_next(&self, col: usize) -> V {
        self.main_next[col].clone()
    }
    #[inline]
    fn prep(&self, col: usize) -> V {
        self.prep_local[col].clone()
    }
    #[inline]
    fn prep_next(&self, col: usize) -> V {
        self.prep_next[col].clone()
    }
    #[inline]
    fn public(&self, index: usize) -> V {
        V::from(self.publics[index])
    }
    #[inline]
    fn is_first_row(&self) -> V {
        self.is_first_row.clone()
    }
    #[inline]
    fn is_last_row(&self) -> V {
        self.is_last_row.clone()
    }
    #[inline]
    fn is_transition(&self) -> V {
        self.is_transition.clone()
    }
    #[inline]
    fn assert_zero(&mut self, _label: &'static str, value: V) {
        self.fold(value.into());
    }
    #[inline]
    fn challenge(&self, index: usize) -> EF {
        self.challenges[index]
    }
    #[inline]
    fn aux(&self, col: usize) -> EF {
        self.aux_local[col]
    }
    #[inline]
    fn aux_next(&self, col: usize) -> EF {
        self.aux_next[col]
    }
    #[inline]
    fn assert_zero_ext(&mut self, _label: &'static str, value: EF) {
        self.fold(value);
    }
    fn interact(&mut self, bus: BusId, dir: Direction, fields: &[V], multiplicity: V) {
        // Batch k of interactions has the value u_k = sum of ±m_j / d_j, stated as
        // u_k * prod d_j = sum_j ±m_j prod_{i != j} d_i. Every batch but the last owns a
        // helper column h_k = u_k; the last batch's value is the step of the running sum T
        // (the last LogUp column, an exclusive prefix sum), taken cyclically: on every row,
        // u_last = T_next - T + [last row] * sigma - sum_{k < last} h_k. Summed over the rows
        // the steps of T cancel, so the table's values add up to its claimed sum sigma.
        let (d, m): (EF, EF) = match self.stacking {
            None => (self.lookup.fingerprint(bus, fields), multiplicity.into()),
            Some(s) => {
                let k = self.pending.made;
                let bus = match s.bus_col(k) {
                    Some(c) => self.prep_local[c].clone().into(),
                    None => bus_ef(bus),
                };
                let m = match s.enabled {
                    Some(c) => multiplicity * self.prep_local[c].clone(),
                    None => multiplicity,
                };
                (self.lookup.fingerprint_on(bus, fields), m.into())
            }
        };
        let m = match dir {
            Direction::Send => m,
            Direction::Receive => -m,
        };
        let p = &mut self.pending;
        p.made += 1;
        let Some(slot) = p.terms.get_mut(p.len) else { return };
        *slot = (d, m);
        p.len += 1;
        if Some(&p.len) == self.logup_batches.get(p.batch) {
            let terms = &p.terms[..p.len];
            let prod: EF = terms.iter().map(|t| t.0).product();
            let rhs: EF = (0..terms.len())
                .map(|j| terms.iter().enumerate().filter(|&(i, _)| i != j).map(|(_, t)| t.0).product::<EF>() * terms[j].1)
                .sum();
            let u = if p.batch + 1 < self.logup_batches.len() {
                self.perm_local.get(p.batch).copied().unwrap_or_default()
            } else {
                let t = self.perm_local.get(p.batch).copied().unwrap_or_default();
                let t_next = self.perm_next.get(p.batch).copied().unwrap_or_default();
                let helpers: EF = self.perm_local.iter().take(p.batch).copied().sum();
                let last: EF = self.is_last_row.clone().into();
                t_next - t + last * self.cumulative_sum - helpers
            };
            p.batch += 1;
            p.len = 0;
            self.fold(u * prod - rhs);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Row builder (debug checker, LogUp trace generation)
// ---------------------------------------------------------------------------------------------

/// An interaction evaluated on one concrete row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowInteraction {
    pub bus: BusId,
    pub dir: Direction,
    pub fields: Vec<F>,
    pub multiplicity: F,
}

/// Evaluates a chip on one concrete row of its trace.
#[derive(Debug)]
pub struct RowBuilder<'a> {
    /// The row, its successor and the statement.
    pub at: RowAt<'a>,
    /// Labels of the constraints that do not hold on this row.
    pub failures: Vec<&'static str>,
    pub interactions: Vec<RowInteraction>,
    /// Auxiliary columns on this row and the next, and the challenges they were made with;
    /// empty where they are not computed (LogUp trace generation): extension constraints are
    /// then not checked.
    pub aux_local: &'a [EF],
    pub aux_next: &'a [EF],
    pub challenges: &'a [EF],
    /// Set by a stacked table around its template's `eval`.
    pub stacking: Option<StackedBuses>,
}

/// One concrete row of a table (and the next, cyclically) and the statement: what both row
/// builders ([`RowBuilder`], [`LogUpRow`]) read.
#[derive(Clone, Copy, Debug)]
pub struct RowAt<'a> {
    pub main_local: &'a [F],
    pub main_next: &'a [F],
    pub prep_local: &'a [F],
    pub prep_next: &'a [F],
    pub publics: &'a [F],
    pub row: usize,
    pub height: usize,
}

impl<'a> RowAt<'a> {
    /// Interaction `k`'s bus and multiplicity on this row, as a stacked table's columns make
    /// them ([`StackedBuses`]), or as the chip wrote them.
    pub fn stacked(&self, stacking: Option<StackedBuses>, k: usize, bus: BusId, multiplicity: F) -> (F, F) {
        let Some(s) = stacking else { return (F::from_u32(bus), multiplicity) };
        let prep = |c: usize| self.prep_local.get(c).copied().unwrap_or(F::ZERO);
        let bus = s.bus_col(k).map_or(F::from_u32(bus), prep);
        (bus, s.enabled.map_or(multiplicity, |c| multiplicity * prep(c)))
    }

    /// Row `r` of `main` (and of `prep`), its successor (the last row's is the first).
    pub fn new(main: &'a Trace, prep: Option<&'a Trace>, publics: &'a [F], r: usize) -> Self {
        let height = main.height();
        let next = (r + 1) % height;
        let (prep_local, prep_next): (&[F], &[F]) = match prep {
            Some(p) => (p.row(r), p.row(next)),
            None => (&[], &[]),
        };
        Self { main_local: main.row(r), main_next: main.row(next), prep_local, prep_next, publics, row: r, height }
    }
}

/// The [`AirBuilder`] accessors of a row builder over a [`RowAt`] in its field `at`.
macro_rules! row_accessors {
    () => {
        fn main(&self, col: usize) -> F {
            self.at.main_local[col]
        }
        fn main_next(&self, col: usize) -> F {
            self.at.main_next[col]
        }
        fn prep(&self, col: usize) -> F {
            self.at.prep_local[col]
        }
        fn prep_next(&self, col: usize) -> F {
            self.at.prep_next[col]
        }
        fn public(&self, index: usize) -> F {
            self.at.publics[index]
        }
        fn is_first_row(&self) -> F {
            F::from_bool(self.at.row == 0)
        }
        fn is_last_row(&self) -> F {
            F::from_bool(self.at.row + 1 == self.at.height)
        }
        fn is_transition(&self) -> F {
            F::from_bool(self.at.row + 1 != self.at.height)
        }
    };
}

impl AirBuilder for RowBuilder<'_> {
    type Var = F;
    type Ext = EF;
    row_accessors!();
    fn assert_zero(&mut self, label: &'static str, value: F) {
        if value != F::ZERO {
            self.failures.push(label);
        }
    }
    fn challenge(&self, index: usize) -> EF {
        self.challenges.get(index).copied().unwrap_or(EF::ZERO)
    }
    fn aux(&self, col: usize) -> EF {
        self.aux_local.get(col).copied().unwrap_or(EF::ZERO)
    }
    fn aux_next(&self, col: usize) -> EF {
        self.aux_next.get(col).copied().unwrap_or(EF::ZERO)
    }
    fn assert_zero_ext(&mut self, label: &'static str, value: EF) {
        if !self.aux_local.is_empty() && value != EF::ZERO {
            self.failures.push(label);
        }
    }
    fn interact(&mut self, bus: BusId, dir: Direction, fields: &[F], multiplicity: F) {
        let (bus, multiplicity) = self.at.stacked(self.stacking, self.interactions.len(), bus, multiplicity);
        // A bus column holds a bus id (below 2^32); another value names no bus.
        let bus = BusId::try_from(bus.as_canonical_u64()).unwrap_or(BusId::MAX);
        self.interactions.push(RowInteraction {
            bus,
            dir,
            fields: fields.to_vec(),
            multiplicity,
        });
    }
}

/// Evaluates a chip's interactions on one concrete row, as [`RowBuilder`] does without
/// auxiliary columns (the LogUp columns come before them), writing each interaction's
/// fingerprint and signed multiplicity (`-m` for a receive) in place; constraints are not
/// evaluated and nothing is allocated.
#[derive(Debug)]
pub struct LogUpRow<'a> {
    /// The row, its successor and the statement.
    pub at: RowAt<'a>,
    pub lookup: &'a LookupChallenges,
    /// One slot per interaction, in the order `eval` makes them.
    pub fingerprints: &'a mut [EF],
    pub multiplicities: &'a mut [F],
    /// Interactions made so far (past the slots: not written).
    pub made: usize,
    /// Set by a stacked table around its template's `eval`.
    pub stacking: Option<StackedBuses>,
}

impl AirBuilder for LogUpRow<'_> {
    type Var = F;
    type Ext = EF;
    row_accessors!();
    fn assert_zero(&mut self, _label: &'static str, _value: F) {}
    fn challenge(&self, _index: usize) -> EF {
        EF::ZERO
    }
    fn aux(&self, _col: usize) -> EF {
        EF::ZERO
    }
    fn aux_next(&self, _col: usize) -> EF {
        EF::ZERO
    }
    fn assert_zero_ext(&mut self, _label: &'static str, _value: EF) {}
    fn interact(&mut self, bus: BusId, dir: Direction, fields: &[F], multiplicity: F) {
        let (bus, multiplicity) = self.at.stacked(self.stacking, self.made, bus, multiplicity);
        if let (Some(d), Some(m)) = (self.fingerprints.get_mut(self.made), self.multiplicities.get_mut(self.made)) {
            *d = self.lookup.fingerprint_on(EF::from(bus), fields);
            *m = match dir {
                Direction::Send => multiplicity,
                Direction::Receive => -multiplicity,
            };
        }
        self.made += 1;
    }
}

/// The auxiliary columns of one table (row-major, `width` per row) and the challenges they
/// were computed with.
#[derive(Clone, Copy, Debug)]
pub struct AuxRows<'a> {
    pub values: &'a [EF],
    pub width: usize,
    pub challenges: &'a [EF],
}

/// Runs `f` with a [`RowBuilder`] for row `r` of `main` (and `prep`, and `aux` when given),
/// returning the builder.
pub fn eval_row<'a>(
    chip: &dyn Chip,
    main: &'a Trace,
    prep: Option<&'a Trace>,
    aux: Option<AuxRows<'a>>,
    publics: &'a [F],
    r: usize,
) -> RowBuilder<'a> {
    let next = (r + 1) % main.height();
    let mut b = RowBuilder {
        at: RowAt::new(main, prep, publics, r),
        failures: vec![],
        interactions: vec![],
        aux_local: &[],
        aux_next: &[],
        challenges: &[],
        stacking: None,
    };
    if let Some(a) = aux
        && a.width > 0
    {
        b.aux_local = a.values.get(r * a.width..(r + 1) * a.width).unwrap_or_default();
        b.aux_next = a.values.get(next * a.width..(next + 1) * a.width).unwrap_or_default();
        b.challenges = a.challenges;
    }
    chip.eval_row(&mut b);
    b
}
