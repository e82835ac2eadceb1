//! Stacked tables: chips of one shape, one above the other in a single table.
//!
//! A deep model repeats its chips: an LSTM's time steps, a network's rescales after every
//! layer. Each chip is a table of its own, and a proof opens one row of every column of every
//! table per query, so the proof grows with the number of tables. Chips whose constraints are
//! the same polynomials (the same columns, constraints and interactions, whatever their buses
//! and preprocessed values) can share a table instead: their traces are stacked, segment
//! after segment, and the table is padded to a power of two with copies of the first
//! segment's rows.
//!
//! # What a stacked table proves
//! - Only chips whose constraints read the current row alone are stacked ([`shape_key`]
//!   refuses a chip that reads the next row, a first-, last-row or transition selector, an
//!   auxiliary column or a challenge): a constraint on a row of a segment is the member's
//!   constraint on its own row, so every member's trace satisfies its own constraints, and a
//!   padding row is a row on which the template's constraints hold too.
//! - A bus that differs between segments is read from a preprocessed column
//!   ([`StackedBuses`]), which holds on every row the bus of the row's segment: the LogUp
//!   fingerprint `beta + bus + gamma f_0 + ..` of a row is the member's. The column is part of
//!   the preprocessed commitment, so of the circuit id: a prover cannot move a row to another
//!   bus.
//! - When the segments do not fill the table, every multiplicity is multiplied by a
//!   preprocessed `enabled` column (1 on the segments, 0 on padding): whatever a prover writes
//!   on a padding row, the row puts nothing on any bus.
//!
//! `docs/soundness.md` ("Stacked tables") gives the argument in full.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{
    BusId, Chip, ConstraintFolder, LogUpRow, RowBuilder, StackedBuses, SymbolicBuilder,
};
use crate::expr::{Expr, Var};
use crate::field::{EF, F};
use crate::info::{Description, visit};
use crate::trace::Trace;

#[cfg(test)]
mod tests;

/// Chips, as a circuit holds them.
pub type Chips = Vec<Box<dyn Chip>>;

/// The most interactions a stacked chip may make (one bit each in [`StackedBuses::varying`]).
const MAX_INTERACTIONS: usize = 64;

/// The shape of a chip as far as stacking goes: its widths, constraints and interactions with
/// every bus left out, or `None` when the chip cannot be stacked (it reads the next row, a
/// selector, an auxiliary column or a challenge, or makes more than 64 interactions). Two
/// chips of one shape evaluate the same polynomials on a row.
pub fn shape_key(chip: &dyn Chip) -> Option<Vec<u8>> {
    if chip.aux_width() > 0 || chip.n_challenges() > 0 || chip.aux_products() {
        return None;
    }
    let mut sb = SymbolicBuilder::default();
    chip.eval_symbolic(&mut sb);
    if sb.interactions.len() > MAX_INTERACTIONS {
        return None;
    }
    let mut row_local = true;
    let mut local = |e: &Expr| {
        visit(e, &mut |v| {
            if !matches!(
                v,
                Var::Main { next: false, .. } | Var::Prep { next: false, .. } | Var::Public(_)
            ) {
                row_local = false;
            }
        })
    };
    for (_, c) in &sb.constraints {
        local(c);
    }
    for i in &sb.interactions {
        i.fields.iter().for_each(&mut local);
        local(&i.multiplicity);
    }
    if !row_local {
        return None;
    }
    let mut d = Description::default();
    d.bytes(b"stack-shape");
    d.u64(chip.width() as u64);
    d.u64(chip.preprocessed_trace().map_or(0, |t| t.width) as u64);
    d.u64(sb.steps.len() as u64);
    d.u64(sb.constraints.len() as u64);
    for (label, c) in &sb.constraints {
        d.bytes(label.as_bytes());
        d.expr(c);
    }
    d.u64(sb.interactions.len() as u64);
    for i in &sb.interactions {
        d.u64(u64::from(i.dir == crate::air::Direction::Receive));
        d.u64(i.fields.len() as u64);
        for f in &i.fields {
            d.expr(f);
        }
        d.expr(&i.multiplicity);
    }
    // The order of constraints and interactions fixes the LogUp batches' folds.
    for s in &sb.steps {
        d.u64(match s {
            crate::air::Step::Constraint(k) => 2 * *k as u64,
            crate::air::Step::Interaction(k) => 2 * *k as u64 + 1,
        });
    }
    Some(d.0)
}

/// The buses of every interaction of `chip`, in `eval` order.
fn buses_of(chip: &dyn Chip) -> Vec<BusId> {
    let mut sb = SymbolicBuilder::default();
    chip.eval_symbolic(&mut sb);
    sb.interactions.iter().map(|i| i.bus).collect()
}

/// Chips of one shape ([`shape_key`]) in one table: the first member's `eval` (the template)
/// over every segment, with the buses that differ read from preprocessed columns.
pub struct Stacked {
    name: String,
    members: Vec<Box<dyn Chip>>,
    /// log2 of each member's height.
    member_log_heights: Vec<usize>,
    log_height: usize,
    buses: StackedBuses,
    /// Per interaction, every member's bus.
    segment_buses: Vec<Vec<BusId>>,
    /// The members' own preprocessed columns.
    inner_prep_width: usize,
}

impl core::fmt::Debug for Stacked {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Stacked")
            .field("name", &self.name)
            .field(
                "members",
                &self.members.iter().map(|m| m.name()).collect::<Vec<_>>(),
            )
            .field("member_log_heights", &self.member_log_heights)
            .field("log_height", &self.log_height)
            .field("buses", &self.buses)
            .finish()
    }
}

impl Stacked {
    /// Stacks `members` (at least two, of one shape, with these log heights) in a table of
    /// `2^log_height` rows, or says why not.
    pub fn new(
        members: Vec<Box<dyn Chip>>,
        member_log_heights: Vec<usize>,
        log_height: usize,
    ) -> Result<Self, String> {
        let first = members.first().ok_or("a stacked table needs a member")?;
        let key = shape_key(first.as_ref())
            .ok_or_else(|| format!("chip `{}` cannot be stacked", first.name()))?;
        if members.len() != member_log_heights.len() {
            return Err(format!(
                "{} members but {} heights",
                members.len(),
                member_log_heights.len()
            ));
        }
        if let Some(m) = members
            .iter()
            .skip(1)
            .find(|m| shape_key(m.as_ref()).as_ref() != Some(&key))
        {
            return Err(format!(
                "chip `{}` differs in shape from `{}`",
                m.name(),
                first.name()
            ));
        }
        let rows: usize = member_log_heights.iter().map(|&h| 1usize << h).sum();
        if log_height >= usize::BITS as usize || rows > 1 << log_height {
            return Err(format!("{rows} rows of members do not fit 2^{log_height}"));
        }
        let per_member: Vec<Vec<BusId>> = members.iter().map(|m| buses_of(m.as_ref())).collect();
        let n_interactions = per_member[0].len();
        let segment_buses: Vec<Vec<BusId>> = (0..n_interactions)
            .map(|k| per_member.iter().map(|b| b[k]).collect())
            .collect();
        let inner_prep_width = first.preprocessed_trace().map_or(0, |t| t.width);
        let padded = rows < 1 << log_height;
        let mut varying = 0u64;
        for (k, b) in segment_buses.iter().enumerate() {
            if b.iter().any(|&x| x != b[0]) {
                varying |= 1 << k;
            }
        }
        let enabled = padded.then_some(inner_prep_width);
        let buses = StackedBuses {
            varying,
            first_col: inner_prep_width + usize::from(padded),
            enabled,
        };
        let name = format!("{} (+{} stacked)", first.name(), members.len() - 1);
        Ok(Self {
            name,
            members,
            member_log_heights,
            log_height,
            buses,
            segment_buses,
            inner_prep_width,
        })
    }

    /// The table's main trace from the members' traces (in segment order): their rows one
    /// after the other, then copies of the first segment's rows up to the table's height.
    pub fn stack_traces(&self, traces: Vec<Trace>) -> Result<Trace, String> {
        stack_rows(
            traces,
            self.members[0].width(),
            &self.member_log_heights,
            self.log_height,
        )
    }
}

/// `traces` (each `2^log_heights[i]` rows of `width`) one after the other, padded to
/// `2^log_height` rows with the first trace's rows, cyclically.
fn stack_rows(
    traces: Vec<Trace>,
    width: usize,
    log_heights: &[usize],
    log_height: usize,
) -> Result<Trace, String> {
    if traces.len() != log_heights.len() {
        return Err(format!(
            "{} traces for {} segments",
            traces.len(),
            log_heights.len()
        ));
    }
    let n = 1usize << log_height;
    let mut values = Vec::with_capacity(n * width);
    for (i, (t, &lh)) in traces.iter().zip(log_heights).enumerate() {
        if t.width != width || t.height() != 1 << lh {
            return Err(format!(
                "segment {i}: a trace of {}x{} where {}x{width} is due",
                t.height(),
                t.width,
                1usize << lh
            ));
        }
        values.extend_from_slice(&t.values);
    }
    let first = traces.first().ok_or("no segment")?;
    let h0 = first.height();
    let mut r = 0;
    while values.len() < n * width {
        values.extend_from_slice(first.row(r % h0));
        r += 1;
    }
    Ok(Trace::new(values, width))
}

impl Chip for Stacked {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        self.members[0].width()
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        let n = 1usize << self.log_height;
        let pw = self.inner_prep_width;
        let padded = self.buses.enabled.is_some();
        let varying: Vec<usize> = (0..self.segment_buses.len())
            .filter(|&k| self.buses.bus_col(k).is_some())
            .collect();
        let width = pw + usize::from(padded) + varying.len();
        let mut t = Trace::new(vec![F::ZERO; n * width], width);
        let mut r = 0;
        for (m, member) in self.members.iter().enumerate() {
            let prep = member.preprocessed_trace();
            for i in 0..1usize << self.member_log_heights[m] {
                let row = t.row_mut(r);
                if let Some(p) = &prep {
                    row[..pw].copy_from_slice(p.row(i));
                }
                if padded {
                    row[pw] = F::ONE;
                }
                for (j, &k) in varying.iter().enumerate() {
                    row[self.buses.first_col + j] = F::from_u32(self.segment_buses[k][m]);
                }
                r += 1;
            }
        }
        // Padding: the first segment's rows again, switched off.
        let h0 = 1usize << self.member_log_heights[0];
        for p in r..n {
            let from = t.row((p - r) % h0).to_vec();
            let row = t.row_mut(p);
            row.copy_from_slice(&from);
            if padded {
                row[pw] = F::ZERO;
            }
        }
        Some(t)
    }
    fn n_challenges(&self) -> usize {
        0
    }
    fn aux_width(&self) -> usize {
        0
    }
    fn aux_trace(&self, _main: &Trace, _prep: Option<&Trace>, _challenges: &[EF]) -> Vec<EF> {
        Vec::new()
    }
    fn aux_products(&self) -> bool {
        false
    }
    fn eval_symbolic(&self, b: &mut SymbolicBuilder) {
        let saved = b.stacking.replace(self.buses);
        self.members[0].eval_symbolic(b);
        b.stacking = saved;
    }
    fn eval_base(&self, b: &mut ConstraintFolder<'_, F>) {
        let saved = b.stacking.replace(self.buses);
        self.members[0].eval_base(b);
        b.stacking = saved;
    }
    fn eval_ext(&self, b: &mut ConstraintFolder<'_, EF>) {
        let saved = b.stacking.replace(self.buses);
        self.members[0].eval_ext(b);
        b.stacking = saved;
    }
    fn eval_row(&self, b: &mut RowBuilder<'_>) {
        let saved = b.stacking.replace(self.buses);
        self.members[0].eval_row(b);
        b.stacking = saved;
    }
    fn eval_logup(&self, b: &mut LogUpRow<'_>) {
        let saved = b.stacking.replace(self.buses);
        self.members[0].eval_logup(b);
        b.stacking = saved;
    }
    fn segment_buses(&self) -> Vec<Vec<BusId>> {
        self.segment_buses.clone()
    }
    fn member_names(&self) -> Vec<String> {
        self.members.iter().map(|m| m.name()).collect()
    }
}

/// Which of a circuit's original tables make each table after stacking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StackPlan {
    /// Per table, in circuit order: the original tables (one for a table left alone), and for
    /// a stacked one the members' log heights and its own.
    pub tables: Vec<StackedTable>,
    /// Tables before stacking.
    pub n_original: usize,
}

/// One table of a [`StackPlan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackedTable {
    pub members: Vec<usize>,
    pub member_log_heights: Vec<usize>,
    pub log_height: usize,
    pub width: usize,
}

impl StackPlan {
    /// The traces of the stacked tables from those of the original ones (in the original
    /// circuit order).
    pub fn apply(&self, traces: Vec<Trace>) -> Result<Vec<Trace>, String> {
        if traces.len() != self.n_original {
            return Err(format!(
                "{} traces for {} tables",
                traces.len(),
                self.n_original
            ));
        }
        let mut slots: Vec<Option<Trace>> = traces.into_iter().map(Some).collect();
        let mut out = Vec::with_capacity(self.tables.len());
        for t in &self.tables {
            let mut ts = Vec::with_capacity(t.members.len());
            for &m in &t.members {
                ts.push(
                    slots
                        .get_mut(m)
                        .and_then(Option::take)
                        .ok_or_else(|| format!("table {m} is stacked twice"))?,
                );
            }
            if ts.len() == 1 {
                out.extend(ts);
            } else {
                out.push(stack_rows(
                    ts,
                    t.width,
                    &t.member_log_heights,
                    t.log_height,
                )?);
            }
        }
        Ok(out)
    }

    /// Whether any table is stacked.
    pub fn stacks(&self) -> bool {
        self.tables.iter().any(|t| t.members.len() > 1)
    }
}

/// Whether a padded stacked table needs more quotient chunks or LogUp columns than its
/// members do (its multiplicities times the `enabled` column may raise a batch's degree).
fn padding_costs(s: &Stacked) -> Result<bool, String> {
    let (a, b) = (crate::ChipInfo::of(s).map_err(|e| e.to_string())?, crate::ChipInfo::of(s.members[0].as_ref()).map_err(|e| e.to_string())?);
    Ok(a.log_quotient_degree > b.log_quotient_degree || a.logup_batches.len() > b.logup_batches.len())
}

/// The most padding rows a stacked table may take: an eighth of its members' rows, or
/// `2^PAD_LOG` rows.
const PAD_LOG: usize = 11;

/// Members `(index, rows)` (rows powers of two, tallest first) in bins of `cap` rows (a power
/// of two, at least the tallest member's): the bins filled one after the other (sizes that are
/// powers of two fill each exactly), and what is left in one more table when padding it to a
/// power of two takes few rows, or else split by the binary digits of its rows (each part
/// exactly a power of two: a prefix of members sorted tallest first always adds up to one).
fn pack(members: &[(usize, usize)], cap: usize, pad: bool) -> Vec<Vec<usize>> {
    let mut bins = Vec::new();
    let mut rest = members;
    while !rest.is_empty() {
        let total: usize = rest.iter().map(|m| m.1).sum();
        let room = if total >= cap { cap } else { total.next_power_of_two() };
        if total < cap && (room == total || (pad && room - total <= (total / 8).max(1 << PAD_LOG))) {
            bins.push(rest.iter().map(|m| m.0).collect());
            break;
        }
        // The largest power of two the members fill exactly.
        let target = if total >= cap { cap } else { room / 2 };
        let (mut sum, mut n) = (0, 0);
        while n < rest.len() && sum + rest[n].1 <= target {
            sum += rest[n].1;
            n += 1;
        }
        bins.push(rest[..n].iter().map(|m| m.0).collect());
        rest = &rest[n..];
    }
    bins
}

/// Stacks the chips of a circuit (`log_heights` their tables' heights) that share a shape:
/// per shape, members are packed tallest first into tables no taller than the circuit's
/// tallest table, with little padding ([`pack`]).
/// A stacked table takes the place of its first member; the others go.
pub fn stack(
    chips: Vec<Box<dyn Chip>>,
    log_heights: &[usize],
) -> Result<(Chips, Vec<usize>, StackPlan), String> {
    if chips.len() != log_heights.len() {
        return Err(format!(
            "{} chips but {} heights",
            chips.len(),
            log_heights.len()
        ));
    }
    let mut shapes: BTreeMap<Vec<u8>, Vec<usize>> = BTreeMap::new();
    for (i, c) in chips.iter().enumerate() {
        if let Some(k) = shape_key(c.as_ref()) {
            shapes.entry(k).or_default().push(i);
        }
    }
    // Never taller than the circuit's tallest table: a taller one would lengthen every
    // query's Merkle paths and FRI layers by more than the stacking saves.
    let tallest = log_heights.iter().copied().max().unwrap_or(0);
    // Bins: lists of members (original indices).
    let mut bins: Vec<Vec<usize>> = Vec::new();
    for members in shapes.into_values().filter(|m| m.len() > 1) {
        let mut by_height = members;
        by_height.sort_by_key(|&i| (core::cmp::Reverse(log_heights[i]), i));
        let cap = 1usize << tallest;
        let sized: Vec<(usize, usize)> = by_height.iter().map(|&i| (i, 1usize << log_heights[i])).collect();
        bins.extend(pack(&sized, cap, true).into_iter().map(|mut b| {
            b.sort_unstable();
            b
        }));
    }
    bins.retain(|b| b.len() > 1);
    // Each original table: alone, the head of a bin, or a member placed in its head's table.
    let mut head_of: Vec<Option<usize>> = vec![None; chips.len()];
    for (bi, b) in bins.iter().enumerate() {
        for &m in b {
            head_of[m] = Some(bi);
        }
    }
    let mut slots: Vec<Option<Box<dyn Chip>>> = chips.into_iter().map(Some).collect();
    let (mut out, mut heights, mut tables) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..slots.len() {
        match head_of[i] {
            None => {
                let c = slots[i].take().ok_or("a table taken twice")?;
                tables.push(StackedTable {
                    members: vec![i],
                    member_log_heights: vec![log_heights[i]],
                    log_height: log_heights[i],
                    width: c.width(),
                });
                out.push(c);
                heights.push(log_heights[i]);
            }
            Some(bi) if bins[bi][0] == i => {
                let b = &bins[bi];
                let members: Vec<Box<dyn Chip>> = b
                    .iter()
                    .map(|&m| slots[m].take().ok_or("a table taken twice"))
                    .collect::<Result<_, _>>()?;
                let mlh: Vec<usize> = b.iter().map(|&m| log_heights[m]).collect();
                let rows: usize = mlh.iter().map(|&h| 1usize << h).sum();
                let lh = rows.next_power_of_two().trailing_zeros() as usize;
                let s = Stacked::new(members, mlh.clone(), lh)?;
                // Padding multiplies the multiplicities by a column: where that would cost a
                // quotient chunk or a LogUp column, the bin is split exactly instead.
                let parts: Vec<(Vec<usize>, Chips)> = if s.buses.enabled.is_some() && padding_costs(&s)? {
                    let mut sized: Vec<(usize, usize)> = b.iter().enumerate().map(|(j, &m)| (j, 1usize << log_heights[m])).collect();
                    sized.sort_by_key(|&(j, h)| (core::cmp::Reverse(h), j));
                    let mut chips: Vec<Option<Box<dyn Chip>>> = s.members.into_iter().map(Some).collect();
                    pack(&sized, 1 << lh, false)
                        .into_iter()
                        .map(|mut part| {
                            part.sort_unstable();
                            let cs = part.iter().map(|&j| chips[j].take().ok_or("a member taken twice")).collect::<Result<Vec<_>, _>>()?;
                            Ok((part.iter().map(|&j| b[j]).collect(), cs))
                        })
                        .collect::<Result<_, String>>()?
                } else {
                    tables.push(StackedTable { members: b.clone(), member_log_heights: mlh, log_height: lh, width: s.width() });
                    out.push(Box::new(s) as Box<dyn Chip>);
                    heights.push(lh);
                    Vec::new()
                };
                for (ms, mut cs) in parts {
                    let mlh: Vec<usize> = ms.iter().map(|&m| log_heights[m]).collect();
                    let rows: usize = mlh.iter().map(|&h| 1usize << h).sum();
                    let lh = rows.next_power_of_two().trailing_zeros() as usize;
                    let width = cs[0].width();
                    let c: Box<dyn Chip> = if cs.len() == 1 { cs.remove(0) } else { Box::new(Stacked::new(cs, mlh.clone(), lh)?) };
                    tables.push(StackedTable { members: ms, member_log_heights: mlh, log_height: lh, width });
                    out.push(c);
                    heights.push(lh);
                }
            }
            Some(_) => {}
        }
    }
    Ok((
        out,
        heights,
        StackPlan {
            tables,
            n_original: log_heights.len(),
        },
    ))
}
