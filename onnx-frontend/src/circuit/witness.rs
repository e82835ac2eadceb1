//! Traces from a run of the executor: each chip recomputes its outputs from the values on its
//! input bus, and every rescaled result is compared with the executor's value, so the proof's
//! output is `sigil run`'s output or proving stops with a named mismatch.

use p3_field::PrimeCharacteristicRing;
use std::collections::HashMap;

use sigil_air::chips::binary::Operand;
use sigil_air::chips::range::RangeTable;
use sigil_air::{BusId, F, Trace};
use crate::Execution;

/// The output column of the unary chips (input, rescale, ReLU, division).
const Y: usize = sigil_air::chips::unary::Y;

use super::ModelError;
use super::compile::{Layout, Step};

/// A lie for the soundness tests: element `index` of node `node`'s output is `delta` more, and
/// every later chip computes from the changed value.
#[derive(Clone, Debug)]
pub struct Tamper {
    pub node: String,
    pub index: usize,
    pub delta: i64,
}

/// The values an operand reads: its producer's outputs (a constant's are in the chip).
fn operand<'a>(bus: &'a HashMap<BusId, Vec<i64>>, o: &Operand) -> &'a [i64] {
    match o {
        Operand::Bus { bus: b, .. } => &bus[b],
        Operand::Const(_) => &[],
    }
}

/// One trace per chip, in the circuit's order, and the public values (input, then output).
pub(crate) fn traces(layout: &Layout, run: &Execution, path: &str, tamper: Option<&Tamper>) -> Result<(Vec<Trace>, Vec<F>), ModelError> {
    let mut lied = false;
    let mut bus: HashMap<BusId, Vec<i64>> = HashMap::new();
    let mut traces = Vec::new();
    let mut lookups = Vec::new();
    let mut publics = Vec::new();
    // Indices looked up in each function table.
    let mut looked_up: Vec<Vec<i64>> = vec![Vec::new(); layout.tables.len()];
    let value = |name: &str| {
        run.values.get(name).ok_or_else(|| ModelError::Statement(format!("{path}: the run has no value `{name}`")))
    };
    // What a step's output must equal: the executor's value, or nothing for a step inside a
    // node the compiler split (an LSTM's gates), whose consumers are compared instead.
    let want = |name: &str| -> Result<Option<&[i64]>, ModelError> { if name.is_empty() { Ok(None) } else { Ok(Some(&value(name)?.data)) } };
    // `cell`: the row stride and the column of the output in the chip's trace (the lie is
    // written on the row that sends the element).
    let same = |node: &str, got: &mut Vec<i64>, trace: &mut Trace, cell: (usize, usize), want: Option<&[i64]>, lied: &mut bool| -> Result<(), ModelError> {
        if let Some(t) = tamper.filter(|t| t.node == node) {
            got[t.index] += t.delta;
            trace.set(t.index * cell.0, cell.1, F::from_i64(got[t.index]));
            *lied = true;
        }
        let Some(want) = want.filter(|_| !*lied) else {
            return Ok(());
        };
        match got.iter().zip(want).position(|(a, b)| a != b) {
            Some(i) => Err(ModelError::Mismatch { path: path.into(), node: node.into(), index: i, got: got[i], want: want[i] }),
            None if got.len() != want.len() => Err(ModelError::Mismatch { path: path.into(), node: node.into(), index: got.len().min(want.len()), got: 0, want: 0 }),
            None => Ok(()),
        }
    };
    // A step's output: compared with the executor's (or lied about), its trace and lookups kept,
    // its values put on its bus.
    macro_rules! emit {
        ($node:expr, $want:expr, $cell:expr, $out_bus:expr, $gen:expr) => {{
            let (mut t, mut y, l): (Trace, Vec<i64>, Vec<F>) = $gen;
            same($node, &mut y, &mut t, $cell, $want, &mut lied)?;
            traces.push(t);
            lookups.extend(l);
            bus.insert($out_bus, y);
        }};
    }
    for step in &layout.steps {
        match step {
            Step::Input { value: name, bus: b } => {
                let x = &value(name)?.data;
                publics.extend(x.iter().map(|&v| F::from_i64(v)));
                bus.insert(*b, x.clone());
            }
            Step::Linear { node, value: name, linear, rescale } => {
                let (t, acc) = linear.generate_trace(&bus[&linear.in_bus]);
                traces.push(t);
                emit!(node, want(name)?, (1, Y), rescale.io.out_bus, rescale.generate_trace(&acc));
            }
            Step::Conv { node, value: name, conv, rescale } => {
                let (t, acc) = conv.generate_trace(&bus[&conv.in_bus]);
                traces.push(t);
                emit!(node, want(name)?, (1, Y), rescale.io.out_bus, rescale.generate_trace(&acc));
            }
            Step::Relu { node, value: name, chip } => {
                emit!(node, want(name)?, (1, Y), chip.io.out_bus, chip.generate_trace(&chip.io.inputs(&bus[&chip.io.in_bus])));
            }
            Step::Binary { node, value: name, chip, rescale } => {
                let (t, y) = chip.generate_trace(operand(&bus, &chip.a), operand(&bus, &chip.b));
                match rescale {
                    None => emit!(node, want(name)?, (1, sigil_air::chips::binary::Y), chip.out_bus, (t, y, Vec::new())),
                    Some(r) => {
                        traces.push(t);
                        emit!(node, want(name)?, (1, Y), r.io.out_bus, r.generate_trace(&y));
                    }
                }
            }
            Step::MinMax { node, value: name, chip } => {
                emit!(node, want(name)?, (1, sigil_air::chips::minmax::Y), chip.out_bus, chip.generate_trace(operand(&bus, &chip.a), operand(&bus, &chip.b)));
            }
            Step::DivConst { node, value: name, chip } => {
                emit!(node, want(name)?, (1, Y), chip.io.out_bus, chip.generate_trace(&chip.io.inputs(&bus[&chip.io.in_bus])));
            }
            Step::MaxPool { node, value: name, chip } => {
                emit!(node, want(name)?, (chip.window, sigil_air::chips::maxpool::Y), chip.out_bus, chip.generate_trace(&bus[&chip.in_bus]));
            }
            Step::Lut { node, value: name, chip, table } => {
                let inputs = &chip.io.inputs(&bus[&chip.io.in_bus]);
                let (mut t, mut y, l, idx) = chip.generate_trace(&layout.tables[*table], inputs).map_err(|i| {
                    ModelError::Statement(format!("{path}: node `{node}`: input {} (element {i}) lies outside the function's compiled table", inputs[i]))
                })?;
                same(node, &mut y, &mut t, (1, Y), want(name)?, &mut lied)?;
                traces.push(t);
                lookups.extend(l);
                looked_up[*table].extend(idx);
                bus.insert(chip.io.out_bus, y);
            }
            Step::Div { node, value: name, chip } => {
                emit!(node, want(name)?, (1, sigil_air::chips::div::Y), chip.out_bus, chip.generate_trace(operand(&bus, &chip.a), operand(&bus, &chip.b)).map_err(|i| ModelError::Statement(format!("{path}: node `{node}`: element {i} divides by zero")))?);
            }
            Step::Select { node, value: name, chip } => {
                let (t, y) = chip
                    .generate_trace(operand(&bus, &chip.c), operand(&bus, &chip.a), operand(&bus, &chip.b))
                    .map_err(|i| ModelError::Statement(format!("{path}: node `{node}`: the condition of element {i} is not 0 or 1")))?;
                emit!(node, want(name)?, (1, sigil_air::chips::select::Y), chip.out_bus, (t, y, Vec::new()));
            }
            Step::TanPeriod { node, k, times_pi, rescale, diff } => {
                let (t, kv, l) = k.generate_trace(&k.io.inputs(&bus[&k.io.in_bus]));
                traces.push(t);
                lookups.extend(l);
                bus.insert(k.io.out_bus, kv);
                let (t, p) = times_pi.generate_trace(operand(&bus, &times_pi.a), operand(&bus, &times_pi.b));
                traces.push(t);
                let (t, r, l) = rescale.generate_trace(&p);
                traces.push(t);
                lookups.extend(l);
                bus.insert(rescale.io.out_bus, r);
                let (t, y) = diff.generate_trace(operand(&bus, &diff.a), operand(&bus, &diff.b));
                emit!(node, None, (1, sigil_air::chips::binary::Y), diff.out_bus, (t, y, Vec::new()));
            }
            Step::Bilinear { node, value: name, chip, rescale } => {
                let (t, acc) = chip.generate_trace(&bus[&chip.a_bus], &bus[&chip.b_bus]);
                traces.push(t);
                emit!(node, want(name)?, (1, Y), rescale.io.out_bus, rescale.generate_trace(&acc));
            }
            Step::MatProd { node, value: name, chip, rescale } => {
                let (t, acc) = chip.generate_trace(&bus[&chip.a_bus], &bus[&chip.b_bus]);
                traces.push(t);
                emit!(node, want(name)?, (1, Y), rescale.io.out_bus, rescale.generate_trace(&acc));
            }
            Step::Sqrt { node, value: name, chip } => {
                let inputs = chip.io.inputs(&bus[&chip.io.in_bus]);
                let r = chip.generate_trace(&inputs).map_err(|i| ModelError::Statement(format!("{path}: node `{node}`: element {i} ({}) has no square root of at least 1", inputs[i])))?;
                emit!(node, want(name)?, (1, Y), chip.io.out_bus, r);
            }
            Step::Embed { node, value: name, chip, table } => {
                let ids = chip.io.inputs(&bus[&chip.io.in_bus]);
                let (mut t, mut y, keys) = chip.generate_trace(table, &ids).map_err(|i| {
                    ModelError::Statement(format!("{path}: node `{node}`: id {} (element {i}) lies outside the table's {} rows", ids[i], table.entries.len() as u64 / chip.stride))
                })?;
                same(node, &mut y, &mut t, (1, Y), want(name)?, &mut lied)?;
                traces.push(t);
                traces.push(table.generate_trace(keys));
                bus.insert(chip.io.out_bus, y);
            }
            Step::AvgPool { node, value: name, sum, div } => {
                let (t, acc) = sum.generate_trace(&bus[&sum.in_bus]);
                traces.push(t);
                emit!(node, want(name)?, (1, Y), div.io.out_bus, div.generate_trace(&acc));
            }
        }
    }
    for (table, idx) in layout.tables.iter().zip(looked_up) {
        traces.push(table.generate_trace(idx));
    }
    for (_, b) in &layout.outputs {
        publics.extend(bus[b].iter().map(|&v| F::from_i64(v)));
    }
    traces.push(RangeTable { bits: 8 }.generate_trace(lookups));
    if let Some(t) = tamper.filter(|_| !lied) {
        return Err(ModelError::Statement(format!("{path}: no step answers for node `{}`: nothing to tamper with", t.node)));
    }
    let traces = layout.stack.apply(traces).map_err(|e| ModelError::Statement(format!("{path}: stacking the tables: {e}")))?;
    Ok((traces, publics))
}
