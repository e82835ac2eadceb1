//! From a lowered plan to a circuit: one chip per node (wiring ops cost no chip), one bus per
//! tensor, the input sent and the output received as public tuples.
//!
//! Every tensor value travels on its own bus as `(index, value)`. A producer sends element `i`
//! as many times as consumers read it (its preprocessed `uses`), so the compiler first walks
//! the plan recording every read, then builds the chips. Wiring ops (Reshape, Transpose,
//! Slice, Gather, Concat, ...) map a value onto its sources' buses and indices; chips read
//! through the map with preprocessed indices (a unary chip reading out of order gets an
//! input-index column), from one bus per operand (a value gathered from several tensors is
//! read by the chips that take one operand per element: the elementwise and output copies).
//!
//! Bounds: each wire carries `bits` with `|v| < 2^bits` *proven* by its producer's range
//! checks (an input or a rescale checks `v + 2^r` in `[0, 2^(r+1))` for the plan's range `r`,
//! so `|v| <= 2^r < 2^(r+1)`). The linear layers size their accumulators from it and the
//! compiler refuses a layer whose bound reaches the field (`docs/soundness.md`).

use p3_field::PrimeCharacteristicRing;
use std::collections::{HashMap, HashSet};

use sigil_air::BusId;
use sigil_air::F;
use sigil_air::chips::BUS_RANGE;
use sigil_air::chips::bilinear::Bilinear;
use sigil_air::chips::binary::{Binary, BinaryOp, Operand};
use sigil_air::chips::div::Div;
use sigil_air::chips::divconst::DivConst;
use sigil_air::chips::linear::Linear;
use sigil_air::chips::polyconv::PolyConv;
use sigil_air::chips::lut::{Lut, LutTable};
use sigil_air::chips::minmax::{MinMax, MinMaxOp};
use sigil_air::chips::maxpool::MaxPool;
use sigil_air::chips::range::RangeTable;
use sigil_air::chips::relu::Relu;
use sigil_air::chips::rescale::Rescale;
use sigil_air::chips::select::Select;
use sigil_air::chips::unary::{UnaryIo, log_rows};
use sigil_air::{Chip, Direction};
use sigil_onnx::align;
use sigil_onnx::exec::{attr_f, attr_i, attr_ints};
use sigil_onnx::lut::Func;
use sigil_onnx::model::Node;
use sigil_onnx::{Plan, QTensor};
use sigil_verifier::{Circuit, ProofOptions, PublicBus, Statement};

use super::ModelError;

/// Columns of a [`PolyConv`] table, every phase counted (main 1, preprocessed 12, auxiliary
/// 6 and LogUp 2 extension columns, 2 quotient chunks): what the compiler weighs against
/// [`LINEAR_COLUMNS`] plus the chunk for a convolution.
pub const POLYCONV_COLUMNS: usize = 1 + 12 + 12 + 4 + 4;
/// Columns of a [`Linear`] table besides its chunk of weights (main 2, preprocessed 7,
/// auxiliary 3 and LogUp 2 extension columns, 2 quotient chunks).
pub const LINEAR_COLUMNS: usize = 2 + 7 + 6 + 4 + 4;

/// The weights a linear layer's row aims to hold (4 measured faster and smaller than 8 or 16 on
/// dsperse-net and dsperse-doom): wider layers are cut into groups of outputs,
/// trading rows for the width every query opens, as long as the layer grows by at most
/// [`MAX_CHUNK_GROWTH`] doublings.
pub const MAX_CHUNK: usize = 4;
/// How many doublings of its height a dense layer may take to narrow its rows. Convolutions
/// take none: they are the tall tables that set the prover's time.
pub const MAX_CHUNK_GROWTH: usize = 2;

/// The outputs per block of a linear layer (see [`MAX_CHUNK`]).
fn chunk_for(positions: usize, k: usize, n: usize) -> usize {
    let full = Linear::min_log_height(positions, k, n, n);
    let growth = if positions == 1 { MAX_CHUNK_GROWTH } else { 0 };
    (n.min(MAX_CHUNK)..=n).find(|&c| Linear::min_log_height(positions, k, n, c) <= full + growth).unwrap_or(n)
}

/// Tables shorter than the tallest by more than this many doublings are padded up to it, as
/// long as the padding stays within [`PAD_BUDGET`].
pub const HEIGHT_SPAN: usize = 5;
/// The padding the height floor may add, as a fraction of the circuit's cells (columns plus
/// a few for the lookup columns, times rows): a model of many small layers next to a few large
/// ones would otherwise spend most of its time on padding.
pub const PAD_BUDGET: f64 = 0.125;

/// The floor height for tables of `(log_height, width)`: the tallest less [`HEIGHT_SPAN`]
/// doublings, lowered until the padding fits [`PAD_BUDGET`] (at least 4).
pub(crate) fn height_floor(tables: &[(usize, usize)]) -> usize {
    let cells = |floor: usize| tables.iter().map(|&(h, w)| ((w + 4) as f64) * (1u64 << h.max(floor)) as f64).sum::<f64>();
    let tallest = tables.iter().map(|t| t.0).max().unwrap_or(4);
    let base = cells(0);
    (4..=tallest.saturating_sub(HEIGHT_SPAN).max(4)).rev().find(|&f| cells(f) <= base * (1.0 + PAD_BUDGET)).unwrap_or(4)
}

/// Where a value's elements travel (see `src`), with `|v| < 2^bits` proven by their
/// producers.
#[derive(Clone, Debug)]
pub(crate) struct Wire {
    /// Element `i` is `(src[i].1, v)` on bus `src[i].0`: one bus for a node's output, several
    /// where a Concat or an LSTM's sequence output gathers tensors.
    pub src: Vec<(BusId, u32)>,
    pub bits: u32,
}

impl Wire {
    /// Elements `0..len` of `bus`, in order.
    fn new(bus: BusId, len: usize, bits: u32) -> Self {
        Self { src: (0..len as u32).map(|i| (bus, i)).collect(), bits }
    }

    fn len(&self) -> usize {
        self.src.len()
    }

    /// The bus, when the value is elements `0..len` of one bus in order (what elementwise
    /// chips read).
    fn identity_bus(&self) -> Option<BusId> {
        let bus = self.src.first().map_or(0, |s| s.0);
        self.src.iter().enumerate().all(|(i, &(b, j))| b == bus && j == i as u32).then_some(bus)
    }

    /// The bus and indices, when every element lies on one bus.
    fn one_bus(&self) -> Option<(BusId, Vec<u32>)> {
        let bus = self.src.first().map_or(0, |s| s.0);
        self.src.iter().all(|s| s.0 == bus).then(|| (bus, self.src.iter().map(|s| s.1).collect()))
    }
}

/// A chip as the compiler places it: the bus its outputs go to, how often each is read, its
/// height; and the chip itself for the circuit.
trait Placed {
    fn wiring(&mut self) -> (BusId, &mut Vec<u32>, &mut usize);
    fn width(&self) -> usize;
    fn boxed(&self) -> Box<dyn Chip>;
}

/// Chips whose wiring is a [`UnaryIo`].
macro_rules! placed_unary {
    ($($t:ty),*) => {$(
        impl Placed for $t {
            fn wiring(&mut self) -> (BusId, &mut Vec<u32>, &mut usize) {
                (self.io.out_bus, &mut self.io.uses, &mut self.io.log_height)
            }
            fn width(&self) -> usize {
                sigil_air::Air::width(self)
            }
            fn boxed(&self) -> Box<dyn Chip> {
                Box::new(self.clone())
            }
        }
    )*};
}
placed_unary!(Rescale, Relu, DivConst, Lut);

/// Chips with their own `out_bus`, `uses` and `log_height` fields.
macro_rules! placed_fields {
    ($($t:ty),*) => {$(
        impl Placed for $t {
            fn wiring(&mut self) -> (BusId, &mut Vec<u32>, &mut usize) {
                (self.out_bus, &mut self.uses, &mut self.log_height)
            }
            fn width(&self) -> usize {
                sigil_air::Air::width(self)
            }
            fn boxed(&self) -> Box<dyn Chip> {
                Box::new(self.clone())
            }
        }
    )*};
}
placed_fields!(Linear, PolyConv, MaxPool, Binary, MinMax, Bilinear, Div, Select);

/// A product with fixed weights reading one producer's bus (a Freivalds layer, a polynomial
/// convolution): what the compiler needs to wire it and rescale its result.
trait Product {
    /// `|result| < 2^bits` for inputs below `2^in_bits` (`None`: it may pass the field).
    fn output_bits(&self, in_bits: u32) -> Option<u32>;
    /// Every input element it reads, as often as it reads it.
    fn reads(&self) -> Vec<u32>;
    fn out_bus(&self) -> BusId;
    fn out_len(&self) -> usize;
    /// Reads from `bus`, input element `i` standing at `idx[i]` there.
    fn read_from(&mut self, bus: BusId, idx: &[u32]);
}

impl Product for Linear {
    fn output_bits(&self, in_bits: u32) -> Option<u32> {
        Linear::output_bits(self, in_bits)
    }
    fn reads(&self) -> Vec<u32> {
        Linear::reads(self).collect()
    }
    fn out_bus(&self) -> BusId {
        self.out_bus
    }
    fn out_len(&self) -> usize {
        self.uses.len()
    }
    fn read_from(&mut self, bus: BusId, idx: &[u32]) {
        self.in_bus = bus;
        for s in self.src.iter_mut().flatten() {
            *s = idx[*s as usize];
        }
    }
}

impl Product for PolyConv {
    fn output_bits(&self, in_bits: u32) -> Option<u32> {
        PolyConv::output_bits(self, in_bits)
    }
    fn reads(&self) -> Vec<u32> {
        PolyConv::reads(self).collect()
    }
    fn out_bus(&self) -> BusId {
        self.out_bus
    }
    fn out_len(&self) -> usize {
        self.uses.len()
    }
    fn read_from(&mut self, bus: BusId, idx: &[u32]) {
        self.in_bus = bus;
        for s in self.src.iter_mut() {
            *s = idx[*s as usize];
        }
    }
}

/// One step of the witness: the chips of one node and where their inputs come from.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// A model input: the verifier sends it on `bus` (with its range checked) as public tuples.
    Input { value: String, bus: BusId },
    /// A product (Conv, Gemm, MatMul by a constant) and its rescale.
    Linear { node: String, value: String, linear: Linear, rescale: Rescale },
    /// A convolution checked as a product of polynomials, and its rescale.
    Conv { node: String, value: String, conv: PolyConv, rescale: Rescale },
    Relu { node: String, value: String, chip: Relu },
    MinMax { node: String, value: String, chip: MinMax },
    DivConst { node: String, value: String, chip: DivConst },
    /// Add or Sub (`rescale: None`), or Mul and its rescale.
    Binary { node: String, value: String, chip: Binary, rescale: Option<Rescale> },
    MaxPool { node: String, value: String, chip: MaxPool },
    /// A non-linear function through `tables[table]`.
    Lut { node: String, value: String, chip: Lut, table: usize },
    /// AveragePool: the window sums (a linear layer of ones) and their division by the
    /// window's size.
    AvgPool { node: String, value: String, sum: Linear, div: DivConst },
    /// Division by a computed tensor.
    Div { node: String, value: String, chip: Div },
    /// Where.
    Select { node: String, value: String, chip: Select },
    /// Tan's period reduction `x - pi round(x / pi)`: the quotient (a division by the constant
    /// pi), its product with pi and that product's rescale, and the difference.
    TanPeriod { node: String, k: DivConst, times_pi: Binary, rescale: Rescale, diff: Binary },
    /// MatMul of two computed tensors and its rescale.
    Bilinear { node: String, value: String, chip: Bilinear, rescale: Rescale },
}

impl Step {
    /// The kinds of the step's chips (their modules in `air/src/chips`), in the circuit's
    /// order; empty for an input.
    fn kinds(&self) -> &'static [&'static str] {
        match self {
            Step::Input { .. } => &[],
            Step::Linear { .. } => &["linear", "rescale"],
            Step::Conv { .. } => &["polyconv", "rescale"],
            Step::Relu { .. } => &["relu"],
            Step::MinMax { .. } => &["minmax"],
            Step::DivConst { .. } => &["divconst"],
            Step::Binary { rescale: None, .. } => &["binary"],
            Step::Binary { rescale: Some(_), .. } => &["binary", "rescale"],
            Step::MaxPool { .. } => &["maxpool"],
            Step::Lut { .. } => &["lut"],
            Step::AvgPool { .. } => &["linear", "divconst"],
            Step::Bilinear { .. } => &["bilinear", "rescale"],
            Step::Div { .. } => &["div"],
            Step::Select { .. } => &["select"],
            Step::TanPeriod { .. } => &["divconst", "binary", "rescale"],
        }
    }

    /// The step's chips, in the circuit's order.
    fn chips(&mut self) -> Vec<&mut dyn Placed> {
        match self {
            Step::Input { .. } => vec![],
            Step::Linear { linear, rescale, .. } => vec![linear, rescale],
            Step::Conv { conv, rescale, .. } => vec![conv, rescale],
            Step::Relu { chip, .. } => vec![chip],
            Step::MinMax { chip, .. } => vec![chip],
            Step::DivConst { chip, .. } => vec![chip],
            Step::Binary { chip, rescale, .. } => {
                let mut v: Vec<&mut dyn Placed> = vec![chip];
                if let Some(r) = rescale {
                    v.push(r);
                }
                v
            }
            Step::MaxPool { chip, .. } => vec![chip],
            Step::Lut { chip, .. } => vec![chip],
            Step::AvgPool { sum, div, .. } => vec![sum, div],
            Step::Bilinear { chip, rescale, .. } => vec![chip, rescale],
            Step::Div { chip, .. } => vec![chip],
            Step::Select { chip, .. } => vec![chip],
            Step::TanPeriod { k, times_pi, rescale, diff, .. } => vec![k, times_pi, rescale, diff],
        }
    }
}

/// A model input or output in the statement: its name, shape, scale, and where its public
/// values start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    pub name: String,
    pub dims: Vec<usize>,
    pub frac_bits: u32,
    /// The first of its public values.
    pub start: usize,
    /// The number of elements.
    pub len: usize,
}

/// What the compiler produced: the circuit and how to fill its traces.
pub(crate) struct Layout {
    pub steps: Vec<Step>,
    /// The function tables, after the steps' chips in the circuit.
    pub tables: Vec<LutTable>,
    pub inputs: Vec<Port>,
    pub outputs: Vec<(Port, BusId)>,
}

struct Compiler<'a> {
    plan: &'a Plan,
    path: &'a str,
    wires: HashMap<String, Wire>,
    /// Reads of each bus element, by bus.
    reads: HashMap<BusId, Vec<u32>>,
    next_bus: BusId,
    steps: Vec<Step>,
    /// One table per function and output scale: the function, the scale, the indices every
    /// node can reach (union), its bus.
    tables: Vec<TableUse>,
    /// Relu nodes already proved by the rescale before them (see [`Compiler::relu_after`]).
    fused: HashSet<String>,
}

struct TableUse {
    func: Func,
    out_frac: u32,
    lo: i64,
    hi: i64,
    bus: BusId,
}

impl TableUse {
    fn build(&self) -> LutTable {
        let entries: Vec<i64> = (self.lo..=self.hi + 1).map(|i| self.func.entry(i, self.out_frac)).collect();
        LutTable { name: format!("table {} 2^-{}", self.func.name(), self.out_frac), bus: self.bus, lo: self.lo, log_height: log_rows(entries.len() - 1), entries }
    }
}

impl<'a> Compiler<'a> {
    fn err(&self, n: &Node, reason: impl Into<String>) -> ModelError {
        ModelError::Unsupported { path: self.path.into(), node: n.name.clone(), op: n.op_type.clone(), reason: reason.into() }
    }

    /// Where a unary chip reads `w`: its bus, and the index of each element when they are
    /// not in order.
    fn unary_source(&self, n: &Node, w: &Wire) -> Result<(BusId, Option<Vec<u32>>), ModelError> {
        if let Some(bus) = w.identity_bus() {
            return Ok((bus, None));
        }
        let (bus, idx) = self.gathered(n, w)?;
        Ok((bus, Some(idx)))
    }

    /// The bus and indices of a value read through an index map (one bus).
    fn gathered(&self, n: &Node, w: &Wire) -> Result<(BusId, Vec<u32>), ModelError> {
        w.one_bus().ok_or_else(|| self.err(n, "an input gathered from several tensors (a Concat) is not read by this chip yet"))
    }

    /// A bound that passes the field at this precision.
    fn wide(&self, n: &Node, reason: impl Into<String>) -> ModelError {
        ModelError::TooWide { path: self.path.into(), node: n.name.clone(), op: n.op_type.clone(), reason: reason.into() }
    }

    fn bus(&mut self, len: usize) -> BusId {
        let b = self.next_bus;
        self.next_bus += 1;
        self.reads.insert(b, vec![0; len]);
        b
    }

    fn wire(&self, n: &Node, k: usize) -> Result<Wire, ModelError> {
        let name = n.inputs.get(k).ok_or_else(|| self.err(n, format!("input {k} is missing")))?;
        if self.plan.consts.contains_key(name) {
            return Err(self.err(n, format!("input `{name}` is a constant where a computed value is expected")));
        }
        self.wires.get(name).cloned().ok_or_else(|| self.err(n, format!("input `{name}` is not produced by a proved node")))
    }

    fn constant(&self, n: &Node, k: usize) -> Result<Option<&'a QTensor>, ModelError> {
        match n.inputs.get(k) {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => self.plan.consts.get(s).map(Some).ok_or_else(|| self.err(n, format!("operand `{s}` must be a constant (weights fixed by the model)"))),
        }
    }

    /// One more read of element `i` of the value on `w`.
    fn read(&mut self, w: &Wire, i: u32) {
        let (bus, j) = w.src[i as usize];
        self.read_at(bus, j);
    }

    /// One more read of element `index` of `bus`.
    fn read_at(&mut self, bus: BusId, index: u32) {
        self.reads.get_mut(&bus).expect("every bus has a read count")[index as usize] += 1;
    }

    /// The plan's range `r` of a value: proven bound `r + 1` after a range check of `r + 1`
    /// signed bits.
    fn range_bits(&self, n: &Node, value: &str) -> Result<(u32, Vec<usize>, u32), ModelError> {
        let r = self.plan.ranges.get(value).ok_or_else(|| self.err(n, format!("value `{value}` has no calibrated range")))?;
        Ok((r.range_bits, r.dims.clone(), r.frac_bits))
    }

    /// The rescale after a product: from the accumulator on `acc_bus` (bound `acc_bits`) to
    /// the node's output at its scale and range.
    fn rescale(&mut self, n: &Node, acc_bus: BusId, len: usize, acc_bits: u32, shift: u32) -> Result<(Rescale, Wire), ModelError> {
        let out = n.outputs[0].clone();
        let (rb, _, _) = self.range_bits(n, &out)?;
        self.rescale_to(n, format!("{}/rescale", n.name), acc_bus, len, acc_bits, shift, rb + 1)
    }

    /// A rescale named `name` to `out_bits` signed bits.
    #[allow(clippy::too_many_arguments)]
    fn rescale_to(&mut self, n: &Node, name: String, acc_bus: BusId, len: usize, acc_bits: u32, shift: u32, out_bits: u32) -> Result<(Rescale, Wire), ModelError> {
        let rb = out_bits - 1;
        let bus = self.bus(len);
        let io = UnaryIo { in_bus: acc_bus, out_bus: bus, uses: vec![], log_height: log_rows(len), in_index: None };
        let chip = Rescale::new(name, shift, acc_bits, rb + 1, io)
            .map_err(|e| self.wide(n, format!("{e}: the accumulator may pass the field")))?;
        for i in 0..len {
            self.read_at(acc_bus, i as u32);
        }
        Ok((chip, Wire::new(bus, len, rb + 1)))
    }

    fn node(&mut self, n: &Node) -> Result<(), ModelError> {
        let out_name = n.outputs.first().cloned().unwrap_or_default();
        match n.op_type.as_str() {
            "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" => {
                // Row-major order is unchanged: the same elements under a new shape.
                let w = self.wire(n, 0)?;
                self.wires.insert(out_name, w);
            }
            "Transpose" | "Slice" | "Gather" | "Expand" | "Tile" | "DepthToSpace" | "SpaceToDepth" | "Concat" => {
                // The elements move: the executor itself, run on the element numbers, says
                // where each output element comes from (Concat: every input computed; the
                // others: input 0 computed, the rest constants).
                let computed: Vec<usize> = if n.op_type == "Concat" { (0..n.inputs.len()).collect() } else { vec![0] };
                let wires = computed.iter().map(|&k| self.wire(n, k)).collect::<Result<Vec<_>, _>>()?;
                for k in 1..n.inputs.len() {
                    if !computed.contains(&k) && !n.inputs[k].is_empty() && !self.plan.consts.contains_key(&n.inputs[k]) {
                        return Err(self.err(n, format!("input `{}` must be a constant for {} to move elements", n.inputs[k], n.op_type)));
                    }
                }
                let map = self.plan.source_indices(n, &computed).map_err(|e| self.err(n, e.to_string()))?;
                let src = map.into_iter().map(|(k, i)| wires[k].src[i]).collect();
                let bits = wires.iter().map(|w| w.bits).max().unwrap_or(0);
                self.wires.insert(out_name, Wire { src, bits });
            }
            "Relu" | "Abs" => {
                let x = self.wire(n, 0)?;
                let (xbus, in_index) = self.unary_source(n, &x)?;
                let len = x.len();
                let bus = self.bus(len);
                for i in 0..len as u32 {
                    self.read(&x, i);
                }
                let chip = Relu { name: n.name.clone(), bits: x.bits + 1, abs: n.op_type == "Abs", io: UnaryIo { in_bus: xbus, out_bus: bus, uses: vec![], log_height: log_rows(len), in_index } };
                self.wires.insert(out_name.clone(), Wire::new(bus, len, x.bits));
                self.steps.push(Step::Relu { node: n.name.clone(), value: out_name, chip });
            }
            "MaxPool" => self.maxpool(n)?,
            "AveragePool" | "GlobalAveragePool" => self.avgpool(n)?,
            "Sigmoid" => self.lut(n, Func::Sigmoid)?,
            "Tanh" => self.lut(n, Func::Tanh)?,
            "Erf" => self.lut(n, Func::Erf)?,
            "Exp" => self.lut(n, Func::Exp)?,
            "Tan" => self.tan(n)?,
            "Clip" => self.clip(n)?,
            "Where" => self.select(n)?,
            "Pad" => {
                // Zero pads leave the tensor as it is; others are not proved yet.
                let pads: Vec<i64> = match n.inputs.get(1).filter(|s| !s.is_empty()) {
                    Some(p) => self.plan.consts.get(p).map(|t| t.data.clone()).ok_or_else(|| self.err(n, "the pads must be constants"))?,
                    None => attr_ints(n, "pads").unwrap_or_default(),
                };
                if pads.iter().any(|&p| p != 0) {
                    return Err(self.err(n, format!("pads {pads:?}: only zero pads are proved yet")));
                }
                let w = self.wire(n, 0)?;
                self.wires.insert(out_name, w);
            }
            "Add" | "Sub" | "Mul" => self.binary(n)?,
            "Min" | "Max" if n.inputs.len() == 2 => self.minmax(n)?,
            "Div" if n.inputs.get(1).is_some_and(|d| !self.plan.consts.contains_key(d)) => self.div2(n)?,
            "Div" => self.div(n)?,
            "Cast" => self.cast(n)?,
            "Conv" => self.conv(n)?,
            "LSTM" => self.lstm(n)?,
            "MatMul" if n.inputs.get(1).is_some_and(|b| !self.plan.consts.contains_key(b)) => self.matmul2(n)?,
            "Gemm" | "MatMul" => self.gemm(n)?,
            _ => return Err(self.err(n, "no chip proves this operator yet")),
        }
        Ok(())
    }

    /// A product and its rescale by `2^shift` to the node's output range (with the Relu after
    /// it, when it is the only reader), as one step (`step` builds it).
    fn product_step<P: Product>(&mut self, n: &Node, x: Wire, chip: P, shift: u32, step: fn(String, String, P, Rescale) -> Step) -> Result<(), ModelError> {
        let (rb, _, _) = self.range_bits(n, &n.outputs[0])?;
        let (chip, rescale, wire) = self.product_chip(n, format!("{}/rescale", n.name), &x, chip, shift, Some(rb + 1))?;
        let (rescale, out, node) = self.fuse_relu(n, rescale);
        self.wires.insert(out.clone(), wire);
        self.steps.push(step(node, out, chip, rescale));
        Ok(())
    }

    fn linear_step(&mut self, n: &Node, x: Wire, linear: Linear, shift: u32) -> Result<(), ModelError> {
        self.product_step(n, x, linear, shift, |node, value, linear, rescale| Step::Linear { node, value, linear, rescale })
    }

    /// The Relu that is the only reader of `n`'s output, when that output is not a model
    /// output: the rescale before it can apply it.
    fn relu_after(&self, n: &Node) -> Option<&'a Node> {
        let out = n.outputs.first()?;
        let is_output = self.plan.model.graph.outputs.iter().any(|o| self.plan.aliases.get(&o.name).unwrap_or(&o.name) == out);
        let mut readers = self.plan.nodes.iter().filter(|m| m.inputs.iter().any(|i| i == out));
        let reader = readers.next()?;
        (!is_output && readers.next().is_none() && reader.op_type == "Relu" && reader.inputs.len() == 1).then_some(reader)
    }

    /// `rescale` with the Relu after `n` applied (that Relu is then skipped), the value its
    /// output stands for, and the node the step answers for (the Relu when fused: its value is
    /// the one compared with the executor's).
    fn fuse_relu(&mut self, n: &Node, rescale: Rescale) -> (Rescale, String, String) {
        match self.relu_after(n) {
            Some(relu) if rescale.out_bits >= 2 => {
                self.fused.insert(relu.name.clone());
                (Rescale { name: format!("{}+{}", rescale.name, relu.name), ..rescale.with_relu() }, relu.outputs[0].clone(), relu.name.clone())
            }
            _ => (rescale, n.outputs[0].clone(), n.name.clone()),
        }
    }

    /// A product reading `x` and its rescale (named `rescale_name`) by `2^shift` to
    /// `out_bits` (by default, the bound the accumulator implies).
    fn product_chip<P: Product>(&mut self, n: &Node, rescale_name: String, x: &Wire, chip: P, shift: u32, out_bits: Option<u32>) -> Result<(P, Rescale, Wire), ModelError> {
        let acc_bits = chip.output_bits(x.bits).ok_or_else(|| self.wide(n, "the layer's accumulator bound reaches the field (weights too large for the input range)"))?;
        for s in chip.reads() {
            self.read(x, s);
        }
        // |acc| < 2^acc_bits: the rounded quotient is at most 2^(acc_bits - shift) in magnitude.
        let out_bits = out_bits.unwrap_or((acc_bits + 2).saturating_sub(shift).max(2));
        let (rescale, wire) = self.rescale_to(n, rescale_name, chip.out_bus(), chip.out_len(), acc_bits, shift, out_bits)?;
        // The chip reads the producer's bus directly: map its sources through the wire.
        let (xbus, xidx) = self.gathered(n, x)?;
        let mut chip = chip;
        chip.read_from(xbus, &xidx);
        Ok((chip, rescale, wire))
    }

    fn conv(&mut self, n: &Node) -> Result<(), ModelError> {
        let x = self.wire(n, 0)?;
        let xin = n.inputs[0].clone();
        let (_, xd, xf) = self.range_bits(n, &xin)?;
        let w = self.constant(n, 1)?.ok_or_else(|| self.err(n, "the kernel is missing"))?;
        let bias = self.constant(n, 2)?;
        if xd.len() != 4 || w.dims.len() != 4 {
            return Err(self.err(n, "only 2-D convolutions are proved"));
        }
        let groups = usize::try_from(attr_i(n, "group", 1)).unwrap_or(0);
        let (bn, c, h, wd) = (xd[0], xd[1], xd[2], xd[3]);
        let (oc, icg, kh, kw) = (w.dims[0], w.dims[1], w.dims[2], w.dims[3]);
        if groups == 0 || c % groups != 0 || oc % groups != 0 || icg * groups != c {
            return Err(self.err(n, format!("kernel {:?} in {groups} groups does not fit {c} channels", w.dims)));
        }
        let s = attr_ints(n, "strides").unwrap_or(vec![1, 1]);
        let d = attr_ints(n, "dilations").unwrap_or(vec![1, 1]);
        let (sh, sw, dh, dw) = (s[0] as usize, s[1] as usize, d[0] as usize, d[1] as usize);
        let (ekh, ekw) = (dh * (kh - 1) + 1, dw * (kw - 1) + 1);
        let (pb, pe) = sigil_onnx::window_pads_nd(n, &[h, wd], &[ekh, ekw], &[sh, sw]).map_err(|e| self.err(n, e))?;
        let (pt, pl) = (pb[0], pb[1]);
        let oh = (h + pb[0] + pe[0] - ekh) / sh + 1;
        let ow = (wd + pb[1] + pe[1] - ekw) / sw + 1;
        let frac = xf + w.frac_bits;
        let (_, _, out_frac) = self.range_bits(n, &n.outputs[0])?;
        let bias = bias.map(|b| b.data.iter().map(|&v| F::from_i64(align(i128::from(v), b.frac_bits, frac) as i64)).collect()).unwrap_or_default();
        // The polynomial check costs a row per input, weight and output coefficient; the
        // Freivalds layout a row per position and kernel tap, with the weights beside them.
        let k = c * kh * kw;
        let len = bn * oc * oh * ow;
        let mut conv = PolyConv {
            name: n.name.clone(),
            batch: bn,
            groups,
            c,
            h,
            w: wd,
            pads: [pb[0], pb[1], pe[0], pe[1]],
            oc,
            kh,
            kw,
            sh,
            sw,
            weights: w.data.iter().map(|&v| F::from_i64(v)).collect(),
            bias,
            src: (0..(bn * c * h * wd) as u32).collect(),
            out: (0..len as u32).collect(),
            uses: vec![1; len],
            in_bus: 0,
            out_bus: 0,
            log_height: 0,
        };
        conv.log_height = conv.min_log_height();
        let poly_cells = POLYCONV_COLUMNS << conv.log_height;
        let chunk = chunk_for(bn * oh * ow, k, oc);
        let linear_cells = (LINEAR_COLUMNS + chunk) << Linear::min_log_height(bn * oh * ow, k, oc, chunk);
        if dh == 1 && dw == 1 && (groups > 1 || poly_cells < linear_cells) {
            conv.out_bus = self.bus(len);
            return self.product_step(n, x, conv, frac - out_frac, |node, value, conv, rescale| Step::Conv { node, value, conv, rescale });
        }
        if groups != 1 {
            return Err(self.err(n, "grouped convolutions with dilations are not proved yet"));
        }
        let plane = oh * ow;
        let positions = bn * plane;
        let mut src = Vec::with_capacity(positions * k);
        let mut out = Vec::with_capacity(positions * oc);
        for b in 0..bn {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ci in 0..c {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * sh + ky * dh) as isize - pt as isize;
                                let ix = (ox * sw + kx * dw) as isize - pl as isize;
                                let inside = iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd;
                                src.push(inside.then(|| (((b * c + ci) * h + iy as usize) * wd + ix as usize) as u32));
                            }
                        }
                    }
                    for o in 0..oc {
                        out.push(((b * oc + o) * plane + oy * ow + ox) as u32);
                    }
                }
            }
        }
        let weights = (0..k * oc).map(|i| F::from_i64(w.data[(i % oc) * k + i / oc])).collect();
        let acc = self.bus(len);
        let linear = Linear {
            name: n.name.clone(),
            positions,
            k,
            n: oc,
            chunk,
            weights,
            bias: std::mem::take(&mut conv.bias),
            src,
            out,
            uses: vec![1; len],
            in_bus: 0,
            out_bus: acc,
            log_height: Linear::min_log_height(positions, k, oc, chunk),
        };
        self.linear_step(n, x, linear, frac - out_frac)
    }

    fn gemm(&mut self, n: &Node) -> Result<(), ModelError> {
        let gemm = n.op_type == "Gemm";
        if gemm && (attr_f(n, "alpha", 1.0) != 1.0 || attr_f(n, "beta", 1.0) != 1.0 || attr_i(n, "transA", 0) != 0) {
            return Err(self.err(n, "alpha, beta and transA other than the defaults are not proved yet"));
        }
        let x = self.wire(n, 0)?;
        let (_, xd, xf) = self.range_bits(n, &n.inputs[0])?;
        let w = self.constant(n, 1)?.ok_or_else(|| self.err(n, "the weights are missing"))?;
        let c = if gemm { self.constant(n, 2)? } else { None };
        if xd.len() != 2 || w.dims.len() != 2 {
            return Err(self.err(n, format!("only 2-D products are proved, got {xd:?} by {:?}", w.dims)));
        }
        let tb = gemm && attr_i(n, "transB", 0) != 0;
        let (m, k) = (xd[0], xd[1]);
        let nn = if tb { w.dims[0] } else { w.dims[1] };
        let wt = |j: usize, o: usize| if tb { w.data[o * k + j] } else { w.data[j * nn + o] };
        let frac = xf + w.frac_bits;
        let (_, _, out_frac) = self.range_bits(n, &n.outputs[0])?;
        let bias = match c {
            None => vec![],
            Some(c) if c.data.len() == nn => c.data.iter().map(|&v| F::from_i64(align(i128::from(v), c.frac_bits, frac) as i64)).collect(),
            Some(c) => return Err(self.err(n, format!("a bias of shape {:?} (not one value per output) is not proved yet", c.dims))),
        };
        let len = m * nn;
        let acc = self.bus(len);
        let linear = Linear {
            name: n.name.clone(),
            positions: m,
            k,
            n: nn,
            chunk: chunk_for(m, k, nn),
            weights: (0..k * nn).map(|i| F::from_i64(wt(i / nn, i % nn))).collect(),
            bias,
            src: (0..m * k).map(|i| Some(i as u32)).collect(),
            out: (0..len as u32).collect(),
            uses: vec![1; len],
            in_bus: 0,
            out_bus: acc,
            log_height: Linear::min_log_height(m, k, nn, chunk_for(m, k, nn)),
        };
        self.linear_step(n, x, linear, frac - out_frac)
    }

    /// MatMul of two computed tensors `[..., m, k] x [..., k, n]` with the same batch dims:
    /// a row per term ([`Bilinear`]) and a rescale.
    fn matmul2(&mut self, n: &Node) -> Result<(), ModelError> {
        let (a, b) = (self.wire(n, 0)?, self.wire(n, 1)?);
        let (_, ad, fa) = self.range_bits(n, &n.inputs[0])?;
        let (_, bd, fb) = self.range_bits(n, &n.inputs[1])?;
        let out = n.outputs[0].clone();
        let (_, od, out_frac) = self.range_bits(n, &out)?;
        if ad.len() < 2 || bd.len() < 2 || ad[..ad.len() - 2] != bd[..bd.len() - 2] || ad[ad.len() - 1] != bd[bd.len() - 2] {
            return Err(self.err(n, format!("a product of {ad:?} by {bd:?} (batch dims broadcast, or 1-D operands) is not proved yet")));
        }
        let (m, k, nn) = (ad[ad.len() - 2], ad[ad.len() - 1], bd[bd.len() - 1]);
        let batches: usize = ad[..ad.len() - 2].iter().product();
        if od.iter().product::<usize>() != batches * m * nn {
            return Err(self.err(n, format!("output {od:?} does not fit {ad:?} x {bd:?}")));
        }
        let bus = self.bus(batches * m * nn);
        let ((abus, aidx), (bbus, bidx)) = (self.gathered(n, &a)?, self.gathered(n, &b)?);
        let chip = Bilinear::new(n.name.clone(), (batches, m, k, nn), (abus, aidx, a.bits), (bbus, bidx, b.bits), bus)
            .map_err(|e| self.wide(n, e.to_string()))?;
        for r in 0..batches * m * nn * k {
            let (l, rest) = (r % k, r / k);
            let (j, rest) = (rest % nn, rest / nn);
            let (i, t) = (rest % m, rest / m);
            self.read(&a, ((t * m + i) * k + l) as u32);
            self.read(&b, ((t * k + l) * nn + j) as u32);
        }
        let mut chip = chip;
        chip.uses = vec![];
        let (rescale, wire) = self.rescale(n, bus, batches * m * nn, chip.output_bits(), fa + fb - out_frac)?;
        self.wires.insert(out.clone(), wire);
        self.steps.push(Step::Bilinear { node: n.name.clone(), value: out, chip, rescale });
        Ok(())
    }

    /// An operand of an elementwise op: a computed value read through its wire, or a
    /// constant, broadcast to `out` dims. Returns it with its fractional bits.
    fn operand(&mut self, n: &Node, k: usize, out: &[usize]) -> Result<(Operand, u32), ModelError> {
        let name = n.inputs.get(k).ok_or_else(|| self.err(n, format!("input {k} is missing")))?.clone();
        let numel: usize = out.iter().product();
        if let Some(c) = self.plan.consts.get(&name) {
            let v = (0..numel).map(|i| c.data[sigil_onnx::exec::bcast_index(&c.dims, out, i)]).collect();
            return Ok((Operand::Const(v), c.frac_bits));
        }
        let w = self.wire(n, k)?;
        let (_, dims, frac) = self.range_bits(n, &name)?;
        let (bus, idx) = self.gathered(n, &w)?;
        let src: Vec<u32> = (0..numel).map(|i| idx[sigil_onnx::exec::bcast_index(&dims, out, i)]).collect();
        for &s in &src {
            self.read_at(bus, s);
        }
        Ok((Operand::Bus { bus, src, bits: w.bits }, frac))
    }

    fn binary(&mut self, n: &Node) -> Result<(), ModelError> {
        if self.plan.bools.contains(&n.outputs[0]) {
            return Err(self.err(n, "boolean logic is not proved yet"));
        }
        let out = n.outputs[0].clone();
        let (_, dims, out_frac) = self.range_bits(n, &out)?;
        let (a, fa) = self.operand(n, 0, &dims)?;
        let (b, fb) = self.operand(n, 1, &dims)?;
        let len: usize = dims.iter().product();
        let op = match n.op_type.as_str() {
            "Add" => BinaryOp::Add,
            "Sub" => BinaryOp::Sub,
            _ => BinaryOp::Mul,
        };
        let (sa, sb) = if op == BinaryOp::Mul { (0, 0) } else { (fa.max(fb) - fa, fa.max(fb) - fb) };
        let (chip, wire) = self.binary_chip(n, n.name.clone(), op, (a, sa), (b, sb), len)?;
        let (wire, rescale) = if op == BinaryOp::Mul {
            let (rescale, wire) = self.rescale(n, chip.out_bus, len, wire.bits, fa + fb - out_frac)?;
            (wire, Some(rescale))
        } else {
            (wire, None)
        };
        self.wires.insert(out.clone(), wire);
        self.steps.push(Step::Binary { node: n.name.clone(), value: out, chip, rescale });
        Ok(())
    }

    fn minmax(&mut self, n: &Node) -> Result<(), ModelError> {
        let out = n.outputs[0].clone();
        let (_, dims, out_frac) = self.range_bits(n, &out)?;
        let (a, fa) = self.operand(n, 0, &dims)?;
        let (b, fb) = self.operand(n, 1, &dims)?;
        if fa.max(fb) != out_frac {
            return Err(self.err(n, "the operands' scales do not give the output's"));
        }
        let len: usize = dims.iter().product();
        let op = if n.op_type == "Min" { MinMaxOp::Min } else { MinMaxOp::Max };
        let bus = self.bus(len);
        let mut chip = MinMax::new(n.name.clone(), op, (a, out_frac - fa), (b, out_frac - fb), len, bus, log_rows(len)).map_err(|e| self.wide(n, e.to_string()))?;
        chip.uses = vec![];
        self.wires.insert(out.clone(), Wire::new(bus, len, chip.output_bits()));
        self.steps.push(Step::MinMax { node: n.name.clone(), value: out, chip });
        Ok(())
    }

    fn div(&mut self, n: &Node) -> Result<(), ModelError> {
        let out = n.outputs[0].clone();
        let (rb, dims, f) = self.range_bits(n, &out)?;
        let x = self.wire(n, 0)?;
        let (_, xd, fa) = self.range_bits(n, &n.inputs[0])?;
        let c = self.constant(n, 1)?.ok_or_else(|| self.err(n, "the divisor is missing"))?;
        if xd != dims {
            return Err(self.err(n, "only a computed tensor divided by a constant is proved (no broadcasting of the numerator)"));
        }
        let (xbus, in_index) = self.unary_source(n, &x)?;
        let Some(&d) = c.data.first().filter(|_| c.data.iter().all(|&v| v == c.data[0])) else {
            return Err(self.err(n, "only a divisor with one value is proved"));
        };
        if fa == 0 && c.frac_bits == 0 {
            return Err(self.err(n, "integer division is not proved yet"));
        }
        if d == 0 {
            return Err(self.err(n, "division by zero"));
        }
        let len = x.len();
        for i in 0..len as u32 {
            self.read(&x, i);
        }
        let bus = self.bus(len);
        // The executor divides x 2^(fb + f) by d 2^fa; a power of two common to both (2^fa,
        // and the divisor's own trailing zeros) cancels without changing the rounded quotient.
        let mut k = c.frac_bits + f;
        let cancel = fa.min(k);
        let (mut divisor, mut shift_d) = (d, fa - cancel);
        k -= cancel;
        let tz = divisor.trailing_zeros().min(k);
        divisor >>= tz;
        k -= tz;
        while shift_d > 0 {
            divisor = divisor.checked_mul(2).ok_or_else(|| self.err(n, "the divisor is too large"))?;
            shift_d -= 1;
        }
        let io = UnaryIo { in_bus: xbus, out_bus: bus, uses: vec![], log_height: log_rows(len), in_index };
        let chip = DivConst::new(n.name.clone(), divisor, k, x.bits, rb + 1, io).map_err(|e| self.wide(n, e.to_string()))?;
        self.wires.insert(out.clone(), Wire::new(bus, len, rb + 1));
        self.steps.push(Step::DivConst { node: n.name.clone(), value: out, chip });
        Ok(())
    }

    /// The windows of a 2-D pooling node over its input `xd`: each window's source elements
    /// (`None` on the padding), the window's size, and the output's length.
    fn windows(&self, n: &Node, xd: &[usize]) -> Result<(Vec<Option<u32>>, usize, usize), ModelError> {
        if xd.len() != 4 {
            return Err(self.err(n, "only 2-D pooling is proved"));
        }
        let (bc, h, wd) = (xd[0] * xd[1], xd[2], xd[3]);
        let global = n.op_type.starts_with("Global");
        let (k, s, d) = if global {
            (vec![h as i64, wd as i64], vec![1, 1], vec![1, 1])
        } else {
            let k = attr_ints(n, "kernel_shape").ok_or_else(|| self.err(n, "kernel_shape is required"))?;
            (k, attr_ints(n, "strides").unwrap_or(vec![1, 1]), attr_ints(n, "dilations").unwrap_or(vec![1, 1]))
        };
        if k.len() != 2 || s.len() != 2 || d.len() != 2 || attr_i(n, "ceil_mode", 0) != 0 {
            return Err(self.err(n, "only 2-D pooling without ceil_mode is proved"));
        }
        let (kh, kw, sh, sw, dh, dw) = (k[0] as usize, k[1] as usize, s[0] as usize, s[1] as usize, d[0] as usize, d[1] as usize);
        let (ekh, ekw) = (dh * (kh - 1) + 1, dw * (kw - 1) + 1);
        let (pb, pe) = if global { (vec![0, 0], vec![0, 0]) } else { sigil_onnx::window_pads_nd(n, &[h, wd], &[ekh, ekw], &[sh, sw]).map_err(|e| self.err(n, e))? };
        let oh = (h + pb[0] + pe[0] - ekh) / sh + 1;
        let ow = (wd + pb[1] + pe[1] - ekw) / sw + 1;
        let window = kh * kw;
        let mut src = Vec::with_capacity(bc * oh * ow * window);
        for c in 0..bc {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * sh + ky * dh) as isize - pb[0] as isize;
                            let ix = (ox * sw + kx * dw) as isize - pb[1] as isize;
                            let inside = iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd;
                            src.push(inside.then(|| ((c * h + iy as usize) * wd + ix as usize) as u32));
                        }
                    }
                }
            }
        }
        for (q, win) in src.chunks(window).enumerate() {
            if win.iter().all(Option::is_none) {
                return Err(self.err(n, format!("window {q} lies entirely on the padding")));
            }
        }
        Ok((src, window, bc * oh * ow))
    }

    /// Division by a computed tensor (either operand broadcast; the numerator may be a
    /// constant): the executor's `round(a 2^(fb + f) / (b 2^fa))`, with the power of two
    /// common to both sides cancelled (the rounded quotient is the same).
    fn div2(&mut self, n: &Node) -> Result<(), ModelError> {
        let out = n.outputs[0].clone();
        let (rb, dims, f) = self.range_bits(n, &out)?;
        let (a, fa) = self.operand(n, 0, &dims)?;
        let (b, fb) = self.operand(n, 1, &dims)?;
        if fa == 0 && fb == 0 {
            return Err(self.err(n, "integer division (truncating) is not proved yet"));
        }
        let (sa, sb) = (fb + f, fa);
        let c = sa.min(sb);
        let len: usize = dims.iter().product();
        let bus = self.bus(len);
        let (ab, bb) = (a.bits(), b.bits());
        let mut chip = Div::new(n.name.clone(), (a, sa - c), (b, sb - c), rb + 1, len, bus).map_err(|e| self.wide(n, format!("{e} (numerator {ab} bits shifted by {}, divisor {bb} bits shifted by {}, quotient {} bits)", sa - c, sb - c, rb + 1)))?;
        chip.uses = vec![];
        self.wires.insert(out.clone(), Wire::new(bus, len, rb + 1));
        self.steps.push(Step::Div { node: n.name.clone(), value: out, chip });
        Ok(())
    }

    /// Cast: to the same kind of number, wiring (a real stays at its scale); from an integer or
    /// a boolean to a real, the exact shift to the real's scale (an Add of zero, shifted). To
    /// an integer from a real (truncation): not proved yet.
    fn cast(&mut self, n: &Node) -> Result<(), ModelError> {
        let out = n.outputs[0].clone();
        let (_, dims, fo) = self.range_bits(n, &out)?;
        let (_, _, fi) = self.range_bits(n, &n.inputs[0])?;
        let x = self.wire(n, 0)?;
        if self.plan.bools.contains(&out) && !self.plan.bools.contains(&n.inputs[0]) {
            return Err(self.err(n, "a cast to a boolean (a comparison with zero) is not proved yet"));
        }
        if fi == fo {
            self.wires.insert(out, x);
            return Ok(());
        }
        if fi != 0 || fo < fi {
            return Err(self.err(n, "a cast from a real to an integer (truncation) is not proved yet"));
        }
        let (a, _) = self.operand(n, 0, &dims)?;
        let len: usize = dims.iter().product();
        let (chip, wire) = self.binary_chip(n, n.name.clone(), BinaryOp::Add, (a, fo), (Operand::Const(vec![0; len]), 0), len)?;
        self.wires.insert(out.clone(), wire);
        self.steps.push(Step::Binary { node: n.name.clone(), value: out, chip, rescale: None });
        Ok(())
    }

    fn maxpool(&mut self, n: &Node) -> Result<(), ModelError> {
        if n.outputs.len() > 1 && !n.outputs[1].is_empty() {
            return Err(self.err(n, "MaxPool's Indices output is not proved"));
        }
        let x = self.wire(n, 0)?;
        let (_, xd, _) = self.range_bits(n, &n.inputs[0])?;
        let (src, window, outputs) = self.windows(n, &xd)?;
        for s in src.iter().flatten() {
            self.read(&x, *s);
        }
        let (xbus, xidx) = self.gathered(n, &x)?;
        let src = src.into_iter().map(|s| s.map(|s| xidx[s as usize])).collect();
        let bus = self.bus(outputs);
        let out = n.outputs[0].clone();
        let chip = MaxPool { name: n.name.clone(), window, src, uses: vec![], bits: x.bits + 1, in_bus: xbus, out_bus: bus, log_height: MaxPool::min_log_height(outputs, window) };
        self.wires.insert(out.clone(), Wire::new(bus, outputs, x.bits));
        self.steps.push(Step::MaxPool { node: n.name.clone(), value: out, chip });
        Ok(())
    }

    /// AveragePool: each window's sum by a linear layer of ones (one output per position), then
    /// its division by the window's size, rounded as the executor rounds it. Windows that
    /// overlap the padding with `count_include_pad = 0` divide by fewer elements, a divisor per
    /// element: not proved yet.
    fn avgpool(&mut self, n: &Node) -> Result<(), ModelError> {
        let x = self.wire(n, 0)?;
        let (_, xd, _) = self.range_bits(n, &n.inputs[0])?;
        let out = n.outputs[0].clone();
        let (rb, _, _) = self.range_bits(n, &out)?;
        let (src, window, outputs) = self.windows(n, &xd)?;
        if attr_i(n, "count_include_pad", 0) == 0 && src.iter().any(Option::is_none) {
            return Err(self.err(n, "windows on the padding divide by fewer elements: not proved yet"));
        }
        let acc = self.bus(outputs);
        let sum = Linear {
            name: format!("{}/sum", n.name),
            positions: outputs,
            k: window,
            n: 1,
            chunk: 1,
            weights: vec![F::ONE; window],
            bias: vec![],
            src,
            out: (0..outputs as u32).collect(),
            uses: vec![1; outputs],
            in_bus: 0,
            out_bus: acc,
            log_height: Linear::min_log_height(outputs, window, 1, 1),
        };
        let acc_bits = sum.output_bits(x.bits).ok_or_else(|| self.wide(n, "the window sums' bound reaches the field"))?;
        for s in sum.reads().collect::<Vec<_>>() {
            self.read(&x, s);
        }
        let (xbus, xidx) = self.gathered(n, &x)?;
        let mut sum = sum;
        sum.in_bus = xbus;
        for s in sum.src.iter_mut().flatten() {
            *s = xidx[*s as usize];
        }
        for i in 0..outputs as u32 {
            self.read_at(acc, i);
        }
        let bus = self.bus(outputs);
        let io = UnaryIo { in_bus: acc, out_bus: bus, uses: vec![], log_height: log_rows(outputs), in_index: None };
        let div = DivConst::new(format!("{}/divide", n.name), window as i64, 0, acc_bits, rb + 1, io).map_err(|e| self.wide(n, e.to_string()))?;
        self.wires.insert(out.clone(), Wire::new(bus, outputs, rb + 1));
        self.steps.push(Step::AvgPool { node: n.name.clone(), value: out, sum, div });
        Ok(())
    }

    /// A non-linear function elementwise through its table (one per function and output
    /// scale, over the indices every node using it can reach).
    fn lut(&mut self, n: &Node, func: Func) -> Result<(), ModelError> {
        let x = self.wire(n, 0)?;
        let (_, _, fx) = self.range_bits(n, &n.inputs[0])?;
        let out = n.outputs[0].clone();
        let (rb, _, out_frac) = self.range_bits(n, &out)?;
        let (chip, table, wire) = self.lut_chip(n, n.name.clone(), func, &x, fx, out_frac, rb + 1)?;
        self.wires.insert(out.clone(), wire);
        self.steps.push(Step::Lut { node: n.name.clone(), value: out, chip, table });
        Ok(())
    }

    /// The chip of `func` on `x` (at `fx` fractional bits) named `name`, its table, and its
    /// output (at `out_frac` bits, range-checked to `out_bits`).
    #[allow(clippy::too_many_arguments)]
    fn lut_chip(&mut self, n: &Node, name: String, func: Func, x: &Wire, fx: u32, out_frac: u32, out_bits: u32) -> Result<(Lut, usize, Wire), ModelError> {
        let (xbus, in_index) = self.unary_source(n, x)?;
        let spec = func.spec();
        let t = spec.in_frac;
        let (shift, k) = if fx >= t { (0, fx - t) } else { (t - fx, 0) };
        // |x 2^s| < 2^(bits + s): the index i = floor(x 2^s / 2^k) lies in [-2^b, 2^b).
        let b = (x.bits + shift).saturating_sub(k).min(40);
        let (lo, hi) = (spec.lo.max(-(1i64 << b)), spec.hi.min((1i64 << b) - 1));
        if lo > hi {
            return Err(self.err(n, "the input's range misses the function's table"));
        }
        let table = match self.tables.iter().position(|u| u.func == func && u.out_frac == out_frac) {
            Some(j) => {
                let u = &mut self.tables[j];
                u.lo = u.lo.min(lo);
                u.hi = u.hi.max(hi);
                j
            }
            None => {
                let bus = self.next_bus;
                self.next_bus += 1;
                self.tables.push(TableUse { func, out_frac, lo, hi, bus });
                self.tables.len() - 1
            }
        };
        let len = x.len();
        for i in 0..len as u32 {
            self.read(x, i);
        }
        let bus = self.bus(len);
        let io = UnaryIo { in_bus: xbus, out_bus: bus, uses: vec![], log_height: log_rows(len), in_index };
        // Its table's entries (and with them its bounds) are known once every node is placed:
        // `compile` then builds each table once and checks every chip with `Lut::new`.
        let chip = Lut {
            name,
            shift_in: shift,
            k,
            lo: spec.lo,
            hi: spec.hi,
            clamp_low: spec.clamp_low,
            clamp_high: spec.clamp_high,
            in_bits: x.bits,
            out_bits,
            table_bus: self.tables[table].bus,
            table_bounds: (0, 0),
            io,
        };
        Ok((chip, table, Wire::new(bus, len, out_bits)))
    }

    /// Tan: the period reduction `r = x - rescale(k pi', 8)` with `k = round(x 2^8 / pi')` and
    /// `pi'` pi at 8 more fractional bits than `x` (the executor's rule), then the table (which
    /// refuses inputs past its domain on both sides).
    fn tan(&mut self, n: &Node) -> Result<(), ModelError> {
        let x = self.wire(n, 0)?;
        let (xbus, in_index) = self.unary_source(n, &x)?;
        let (_, _, fx) = self.range_bits(n, &n.inputs[0])?;
        let out = n.outputs[0].clone();
        let (rb, _, out_frac) = self.range_bits(n, &out)?;
        let len = x.len();
        let pi = Func::tan_period(fx);
        // k = round(x 2^8 / pi'): |k| <= |x| / (pi 2^fx) + 1.
        for i in 0..len as u32 {
            self.read(&x, i);
        }
        let k_bus = self.bus(len);
        let k_bits = x.bits.saturating_sub(fx) + 2;
        let io = UnaryIo { in_bus: xbus, out_bus: k_bus, uses: vec![], log_height: log_rows(len), in_index };
        let k = DivConst::new(format!("{}/periods", n.name), pi, 8, x.bits, k_bits, io).map_err(|e| self.wide(n, e.to_string()))?;
        let kw = Wire::new(k_bus, len, k_bits);
        let ko = self.bus_operand(n, &kw, 0..len)?;
        let (times_pi, tp) = self.binary_chip(n, format!("{}/times pi", n.name), BinaryOp::Mul, (ko, 0), (Operand::Const(vec![pi; len]), 0), len)?;
        let (rescale, t) = self.rescale_to(n, format!("{}/times pi/rescale", n.name), times_pi.out_bus, len, tp.bits, 8, x.bits + 2)?;
        let (xo, to) = (self.bus_operand(n, &x, 0..len)?, self.bus_operand(n, &t, 0..len)?);
        let (diff, reduced) = self.binary_chip(n, format!("{}/reduced", n.name), BinaryOp::Sub, (xo, 0), (to, 0), len)?;
        self.steps.push(Step::TanPeriod { node: format!("{}/reduced", n.name), k, times_pi, rescale, diff });
        let (chip, table, wire) = self.lut_chip(n, n.name.clone(), Func::Tan, &reduced, fx, out_frac, rb + 1)?;
        self.wires.insert(out.clone(), wire);
        self.steps.push(Step::Lut { node: n.name.clone(), value: out, chip, table });
        Ok(())
    }

    /// Clip with constant bounds: a maximum with the lower bound, then a minimum with the upper
    /// (each bound at the input's scale, as the executor aligns it).
    fn clip(&mut self, n: &Node) -> Result<(), ModelError> {
        let x = self.wire(n, 0)?;
        let (_, xd, fa) = self.range_bits(n, &n.inputs[0])?;
        let out = n.outputs[0].clone();
        let (_, od, fo) = self.range_bits(n, &out)?;
        if xd != od || fa != fo {
            return Err(self.err(n, "the output's shape or scale differs from the input's"));
        }
        let bound = |k: usize, attr: &str| -> Result<Option<i64>, ModelError> {
            if self.plan.model.opset().unwrap_or(0) >= 11 {
                match self.constant(n, k)? {
                    None => Ok(None),
                    Some(t) => Ok(t.data.first().map(|&v| align(i128::from(v), t.frac_bits, fa) as i64)),
                }
            } else {
                Ok(n.attributes.get(attr).and_then(|a| match a {
                    sigil_onnx::model::Attribute::Float(v) => Some(sigil_onnx::exec::quantize(f64::from(*v).clamp(-1e15, 1e15), fa)),
                    _ => None,
                }))
            }
        };
        let bounds: Vec<(MinMaxOp, i64, &str)> = [(MinMaxOp::Max, bound(1, "min")?, "max"), (MinMaxOp::Min, bound(2, "max")?, "min")]
            .into_iter()
            .filter_map(|(op, b, tag)| b.map(|b| (op, b, tag)))
            .collect();
        let len = x.len();
        let mut cur = x;
        for (i, (op, b, tag)) in bounds.iter().enumerate() {
            let last = i + 1 == bounds.len();
            let a = self.bus_operand(n, &cur, 0..len)?;
            let bus = self.bus(len);
            let name = if last { n.name.clone() } else { format!("{}/{tag}", n.name) };
            let mut chip = MinMax::new(name.clone(), *op, (a, 0), (Operand::Const(vec![*b; len]), 0), len, bus, log_rows(len)).map_err(|e| self.wide(n, e.to_string()))?;
            chip.uses = vec![];
            cur = Wire::new(bus, len, chip.output_bits());
            self.steps.push(Step::MinMax { node: name, value: if last { out.clone() } else { String::new() }, chip });
        }
        self.wires.insert(out, cur);
        Ok(())
    }

    /// Where(c, a, b): the condition a boolean, the branches aligned to the output's scale.
    fn select(&mut self, n: &Node) -> Result<(), ModelError> {
        let out = n.outputs[0].clone();
        let (_, dims, fo) = self.range_bits(n, &out)?;
        let (c, _) = self.operand(n, 0, &dims)?;
        let (a, fa) = self.operand(n, 1, &dims)?;
        let (b, fb) = self.operand(n, 2, &dims)?;
        if fa.max(fb) != fo {
            return Err(self.err(n, "the branches' scales do not give the output's"));
        }
        let len: usize = dims.iter().product();
        let bus = self.bus(len);
        let mut chip = Select::new(n.name.clone(), c, (a, fo - fa), (b, fo - fb), len, bus).map_err(|e| self.wide(n, e.to_string()))?;
        chip.uses = vec![];
        self.wires.insert(out.clone(), Wire::new(bus, len, chip.output_bits()));
        self.steps.push(Step::Select { node: n.name.clone(), value: out, chip });
        Ok(())
    }

    /// Elements `idx` of `w` as a chip operand, each read once.
    fn bus_operand(&mut self, n: &Node, w: &Wire, idx: impl IntoIterator<Item = usize>) -> Result<Operand, ModelError> {
        let (bus, all) = self.gathered(n, w)?;
        let src: Vec<u32> = idx.into_iter().map(|i| all[i]).collect();
        for &s in &src {
            self.read_at(bus, s);
        }
        Ok(Operand::Bus { bus, src, bits: w.bits })
    }

    /// An elementwise chip `name` of `len` elements; its output wire.
    #[allow(clippy::too_many_arguments)]
    fn binary_chip(&mut self, n: &Node, name: String, op: BinaryOp, a: (Operand, u32), b: (Operand, u32), len: usize) -> Result<(Binary, Wire), ModelError> {
        let bus = self.bus(len);
        let mut chip = Binary::new(name, op, a, b, len, bus, log_rows(len)).map_err(|e| self.wide(n, e.to_string()))?;
        chip.uses = vec![];
        let bits = chip.output_bits();
        Ok((chip, Wire::new(bus, len, bits)))
    }

    /// LSTM (forward, Sigmoid/Tanh/Tanh, no peepholes, constant weights and initial states)
    /// laid out step by step with the chips above, exactly as the executor computes it
    /// (`onnx-frontend/src/ops/lstm.rs`): per step `t`, the gates' pre-activations
    /// `rescale(x_t W^T) + rescale(h_{t-1} R^T) + b` (the biases, and `h_{-1} R^T` for a
    /// constant initial state, folded into the first product's accumulator, which leaves its
    /// rounding unchanged since they are whole multiples of its scale), the four activations
    /// through their tables, `c_t = rescale(f c_{t-1} + i g)` and `h_t = rescale(o tanh(c_t))`.
    /// The states' ranges are bounded from the activations' (|sigmoid|, |tanh| <= 1), not
    /// calibrated: `|c_t| <= |c_{t-1}| + 1`, `|h_t| <= 1`.
    fn lstm(&mut self, n: &Node) -> Result<(), ModelError> {
        let x = self.wire(n, 0)?;
        let (_, xd, fx) = self.range_bits(n, &n.inputs[0])?;
        let f = self.plan.frac_bits;
        let hidden = attr_i(n, "hidden_size", 0).max(0) as usize;
        if sigil_onnx::attr_s(n, "direction", "forward") != "forward" || attr_i(n, "layout", 0) != 0 {
            return Err(self.err(n, "only forward LSTMs in the default layout are proved yet"));
        }
        if n.inputs.get(7).is_some_and(|p| !p.is_empty()) {
            return Err(self.err(n, "peepholes are not proved yet"));
        }
        let w = self.constant(n, 1)?.ok_or_else(|| self.err(n, "W is missing"))?;
        let r = self.constant(n, 2)?.ok_or_else(|| self.err(n, "R is missing"))?;
        let bias = self.constant(n, 3)?;
        let h0 = self.constant(n, 5)?;
        let c0 = self.constant(n, 6)?;
        if xd.len() != 3 || hidden == 0 {
            return Err(self.err(n, format!("X of shape {xd:?}: [seq, batch, input] expected")));
        }
        let (seq, batch, inp) = (xd[0], xd[1], xd[2]);
        let h4 = 4 * hidden;
        if w.dims != [1, h4, inp] || r.dims != [1, h4, hidden] || fx + w.frac_bits < f {
            return Err(self.err(n, format!("W {:?}, R {:?} or their scales do not fit", w.dims, r.dims)));
        }
        let state = |t: Option<&QTensor>| -> Vec<i64> {
            t.map_or(vec![0; batch * hidden], |t| t.data.iter().take(batch * hidden).map(|&v| align(i128::from(v), t.frac_bits, f) as i64).collect())
        };
        let (h_init, c_init) = (state(h0), state(c0));
        // The constant part of each gate's pre-activation, at f bits, per batch row: both biases,
        // and the initial state's product (the executor rounds it as it does every h R^T).
        let bconst: Vec<i64> = (0..h4)
            .map(|row| bias.map_or(0, |b| (align(i128::from(b.data[row]), b.frac_bits, f) + align(i128::from(b.data[h4 + row]), b.frac_bits, f)) as i64))
            .collect();
        let h0r = |bi: usize, row: usize| -> i64 {
            let v: i128 = (0..hidden).map(|p| i128::from(h_init[bi * hidden + p]) * i128::from(r.data[row * hidden + p])).sum();
            align(v, f + r.frac_bits, f) as i64
        };
        let sx = fx + w.frac_bits - f;
        let sr = r.frac_bits;
        let lin = |name: String, k: usize, weights: &[i64], bias: Vec<F>| {
            let chunk = chunk_for(batch, k, h4);
            Linear {
                name,
                positions: batch,
                k,
                n: h4,
                chunk,
                weights: (0..k * h4).map(|i| F::from_i64(weights[(i % h4) * k + i / h4])).collect(),
                bias,
                src: (0..batch * k).map(|i| Some(i as u32)).collect(),
                out: (0..(batch * h4) as u32).collect(),
                uses: vec![1; batch * h4],
                in_bus: 0,
                out_bus: 0,
                log_height: Linear::min_log_height(batch, k, h4, chunk),
            }
        };
        let one = 1i64 << f;
        let act_bits = f + 2;
        let bits_of = |m: i64| 64 - m.unsigned_abs().leading_zeros() + 1;
        if batch != 1 && h0.is_some() {
            return Err(self.err(n, "an initial state with several batch rows is not proved yet"));
        }
        let mut c_bound = c_init.iter().map(|v| v.abs()).max().unwrap_or(0);
        let mut h_prev: Option<Wire> = None;
        let mut c_prev: Option<Wire> = None;
        let mut ys: Vec<Wire> = Vec::new();
        for t in 0..seq {
            let tag = |s: &str| format!("{}/t{t}/{s}", n.name);
            // x_t W^T + biases (+ h_{-1} R^T at t = 0), rescaled.
            let xt = Wire { src: x.src[t * batch * inp..(t + 1) * batch * inp].to_vec(), bits: x.bits };
            let bias_acc: Vec<F> = (0..h4)
                .map(|row| {
                    let extra = if t == 0 { h0r(0, row) } else { 0 };
                    F::from_i64((bconst[row] + extra) << sx)
                })
                .collect();
            let mut gx = lin(tag("x W"), inp, &w.data, bias_acc);
            gx.out_bus = self.bus(batch * h4);
            let (gx, gx_r, gx_w) = self.product_chip(n, tag("x W/rescale"), &xt, gx, sx, None)?;
            self.steps.push(Step::Linear { node: tag("x W"), value: String::new(), linear: gx, rescale: gx_r });
            let gh_w = match &h_prev {
                None => None,
                Some(h) => {
                    let mut gh = lin(tag("h R"), hidden, &r.data, vec![]);
                    gh.out_bus = self.bus(batch * h4);
                    let (gh, gh_r, gh_w) = self.product_chip(n, tag("h R/rescale"), h, gh, sr, None)?;
                    self.steps.push(Step::Linear { node: tag("h R"), value: String::new(), linear: gh, rescale: gh_r });
                    Some(gh_w)
                }
            };
            // The gates' pre-activations as one tensor [batch, 4H] (ONNX order i, o, f, c; the
            // cell input c called g here); i, o, f through one Sigmoid table chip, g through Tanh.
            let (len, len4) = (batch * hidden, batch * h4);
            let a = self.bus_operand(n, &gx_w, 0..len4)?;
            let b = match &gh_w {
                Some(gh) => self.bus_operand(n, gh, 0..len4)?,
                None => Operand::Const(vec![0; len4]),
            };
            let (chip, pre) = self.binary_chip(n, tag("gates"), BinaryOp::Add, (a, 0), (b, 0), len4)?;
            self.steps.push(Step::Binary { node: tag("gates"), value: String::new(), chip, rescale: None });
            let part = |from: usize, width: usize| Wire {
                src: (0..batch).flat_map(|bi| (from..from + width).map(move |j| bi * h4 + j)).map(|i| pre.src[i]).collect(),
                bits: pre.bits,
            };
            let (chip, table, sig) = self.lut_chip(n, tag("Sigmoid i o f"), Func::Sigmoid, &part(0, 3 * hidden), f, f, act_bits)?;
            self.steps.push(Step::Lut { node: tag("Sigmoid i o f"), value: String::new(), chip, table });
            let (chip, table, g) = self.lut_chip(n, tag("Tanh g"), Func::Tanh, &part(3 * hidden, hidden), f, f, act_bits)?;
            self.steps.push(Step::Lut { node: tag("Tanh g"), value: String::new(), chip, table });
            // Gate q of every batch row in the Sigmoid chip's output [batch, 3H].
            let gate = |q: usize| (0..batch).flat_map(move |bi| (0..hidden).map(move |j| bi * 3 * hidden + q * hidden + j));
            let all = || 0..len;
            // c_t = rescale(f c_{t-1} + i g).
            let fo = self.bus_operand(n, &sig, gate(2))?;
            let cp = match &c_prev {
                Some(c) => self.bus_operand(n, c, all())?,
                None => Operand::Const(c_init.clone()),
            };
            let (fc, fc_w) = self.binary_chip(n, tag("f c"), BinaryOp::Mul, (fo, 0), (cp, 0), len)?;
            self.steps.push(Step::Binary { node: tag("f c"), value: String::new(), chip: fc, rescale: None });
            let (io_, go) = (self.bus_operand(n, &sig, gate(0))?, self.bus_operand(n, &g, all())?);
            let (ig, ig_w) = self.binary_chip(n, tag("i g"), BinaryOp::Mul, (io_, 0), (go, 0), len)?;
            self.steps.push(Step::Binary { node: tag("i g"), value: String::new(), chip: ig, rescale: None });
            let (a, b) = (self.bus_operand(n, &fc_w, all())?, self.bus_operand(n, &ig_w, all())?);
            let (sum, sum_w) = self.binary_chip(n, tag("c"), BinaryOp::Add, (a, 0), (b, 0), len)?;
            c_bound += one + 1;
            let sum_bus = sum.out_bus;
            let (c_r, c_w) = self.rescale_to(n, tag("c/rescale"), sum_bus, len, sum_w.bits, f, bits_of(c_bound))?;
            self.steps.push(Step::Binary { node: tag("c"), value: String::new(), chip: sum, rescale: Some(c_r) });
            // h_t = rescale(o tanh(c_t)).
            let (chip, table, tc) = self.lut_chip(n, tag("Tanh c"), Func::Tanh, &c_w, f, f, act_bits)?;
            self.steps.push(Step::Lut { node: tag("Tanh c"), value: String::new(), chip, table });
            let (a, b) = (self.bus_operand(n, &sig, gate(1))?, self.bus_operand(n, &tc, all())?);
            let (oh, oh_w) = self.binary_chip(n, tag("h"), BinaryOp::Mul, (a, 0), (b, 0), len)?;
            let oh_bus = oh.out_bus;
            let (h_r, h_w) = self.rescale_to(n, tag("h/rescale"), oh_bus, len, oh_w.bits, f, bits_of(one + 1))?;
            self.steps.push(Step::Binary { node: tag("h"), value: String::new(), chip: oh, rescale: Some(h_r) });
            ys.push(h_w.clone());
            h_prev = Some(h_w);
            c_prev = Some(c_w);
        }
        // Y [seq, 1, batch, hidden], Y_h and Y_c [1, batch, hidden].
        let y = Wire { src: ys.iter().flat_map(|w| w.src.iter().copied()).collect(), bits: ys.iter().map(|w| w.bits).max().unwrap_or(0) };
        let outs = [Some(y), h_prev, c_prev];
        for (name, w) in n.outputs.iter().zip(outs) {
            if let (false, Some(w)) = (name.is_empty(), w) {
                self.wires.insert(name.clone(), w);
            }
        }
        Ok(())
    }
}

/// Lays `plan` out as a circuit with `options`, recording in `survey`, for each node of the
/// plan it lays out (up to the one that stops it), the kinds of chip that prove it: `wiring`
/// for a node that only moves elements (no rows), `rescale` for a ReLU its producer's rescale
/// applies.
pub(crate) fn compile_surveyed(plan: &Plan, name: &str, path: &str, options: ProofOptions, survey: &mut Vec<(String, String)>) -> Result<(Circuit, Layout), ModelError> {
    let mut c = Compiler {
        plan,
        path,
        wires: HashMap::new(),
        reads: HashMap::new(),
        next_bus: BUS_RANGE + 1,
        steps: Vec::new(),
        tables: Vec::new(),
        fused: HashSet::new(),
    };
    let mut public_buses = Vec::new();
    let mut inputs = Vec::new();
    let mut n_publics = 0;
    for i in &plan.model.graph.inputs {
        if plan.consts.contains_key(&i.name) {
            continue;
        }
        let r = plan.ranges.get(&i.name).ok_or_else(|| ModelError::Unsupported {
            path: path.into(),
            node: i.name.clone(),
            op: "input".into(),
            reason: "the input is not used by any proved node".into(),
        })?;
        let len: usize = r.dims.iter().product();
        // The verifier sends the input itself, each element as often as chips read it, and
        // checks its range (`PublicBus::bits`): no table range-checks a public value. A
        // boolean input is 0 or 1 (unsigned, one bit), so every chip reading it reads a
        // boolean; any other input is a signed integer of its calibrated bits.
        let boolean = plan.bools.contains(&i.name);
        let (bits, wire_bits) = if boolean { (1, 2) } else { (r.range_bits + 1, r.range_bits + 1) };
        if bits > 61 {
            return Err(ModelError::TooWide { path: path.into(), node: i.name.clone(), op: "input".into(), reason: format!("a {bits}-bit input does not fit the field") });
        }
        let public = c.bus(len);
        public_buses.push(PublicBus { bus: public, dir: Direction::Send, start: n_publics, len, uses: Vec::new(), bits, unsigned: boolean });
        inputs.push(Port { name: i.name.clone(), dims: r.dims.clone(), frac_bits: r.frac_bits, start: n_publics, len });
        n_publics += len;
        c.wires.insert(i.name.clone(), Wire::new(public, len, wire_bits));
        c.steps.push(Step::Input { value: i.name.clone(), bus: public });
    }
    for n in &plan.nodes {
        if c.fused.contains(&n.name) {
            survey.push((n.name.clone(), "rescale".into()));
            continue;
        }
        let before = c.steps.len();
        c.node(n)?;
        let mut kinds: Vec<&str> = Vec::new();
        for k in c.steps[before..].iter().flat_map(Step::kinds) {
            if !kinds.contains(k) {
                kinds.push(k);
            }
        }
        survey.push((n.name.clone(), if kinds.is_empty() { "wiring".into() } else { kinds.join("+") }));
    }
    let mut outputs = Vec::new();
    for o in &plan.model.graph.outputs {
        let name = plan.aliases.get(&o.name).unwrap_or(&o.name);
        let unsupported = |reason: &str| ModelError::Unsupported { path: path.into(), node: o.name.clone(), op: "output".into(), reason: reason.into() };
        let chip_name = format!("output {}", o.name);
        // A copy of constants or of elements out of order, sent in order on its own bus (a
        // Where of constant condition 1).
        let copy = |c: &mut Compiler<'_>, a: Operand, len: usize| -> Result<Wire, ModelError> {
            let bus = c.bus(len);
            let one = Operand::Const(vec![1; len]);
            let mut chip = Select::new(chip_name.clone(), one, (a, 0), (Operand::Const(vec![0; len]), 0), len, bus).map_err(|e| unsupported(&e.to_string()))?;
            chip.uses = vec![];
            let bits = chip.output_bits();
            c.steps.push(Step::Select { node: chip_name.clone(), value: String::new(), chip });
            Ok(Wire::new(bus, len, bits))
        };
        let (w, dims, frac_bits) = if let Some(t) = plan.consts.get(name) {
            // The model's output does not depend on its input: the statement still carries it.
            (copy(&mut c, Operand::Const(t.data.clone()), t.data.len())?, t.dims.clone(), t.frac_bits)
        } else {
            let w = c.wires.get(name).cloned().ok_or_else(|| unsupported("the output is not computed by a proved node"))?;
            let r = &plan.ranges[name];
            let w = if w.identity_bus().is_some() {
                w
            } else {
                let (bus, src) = w.one_bus().ok_or_else(|| unsupported("the output gathers several tensors; not proved yet"))?;
                for &s in &src {
                    c.read_at(bus, s);
                }
                let len = src.len();
                copy(&mut c, Operand::Bus { bus, src, bits: w.bits }, len)?
            };
            (w, r.dims.clone(), r.frac_bits)
        };
        let wbus = w.identity_bus().expect("an output is sent in order");
        let len = w.len();
        for i in 0..len as u32 {
            c.read(&w, i);
        }
        public_buses.push(PublicBus::new(wbus, Direction::Receive, n_publics, len));
        outputs.push((Port { name: o.name.clone(), dims, frac_bits, start: n_publics, len }, wbus));
        n_publics += len;
    }

    // Every node is placed: the function tables take their final indices, and each lookup chip
    // is checked against its whole table.
    let mut tables: Vec<LutTable> = c.tables.iter().map(TableUse::build).collect();
    for step in &mut c.steps {
        if let Step::Lut { node, chip, table, .. } = step {
            let l = chip.clone();
            *chip = Lut::new(l.name, (l.shift_in, l.k), (l.lo, l.hi, l.clamp_low, l.clamp_high), l.in_bits, l.out_bits, &tables[*table], l.io).map_err(|e| ModelError::TooWide {
                path: path.into(),
                node: node.clone(),
                op: "table".into(),
                reason: e.to_string(),
            })?;
        }
    }

    // Every producer now learns how often each of its elements is read; small tables grow to
    // a floor height (fewer distinct heights: fewer FRI steps and smaller query paths).
    let uses = |bus: BusId| c.reads.get(&bus).cloned().unwrap_or_default();
    let mut natural: Vec<(usize, usize)> = Vec::new();
    for chip in c.steps.iter_mut().flat_map(Step::chips) {
        let h = *chip.wiring().2;
        natural.push((h, chip.width()));
    }
    natural.extend(tables.iter().map(|t| (t.log_height, 1)));
    let floor = height_floor(&natural);
    let mut chips: Vec<Box<dyn Chip>> = Vec::new();
    let mut heights = Vec::new();
    for chip in c.steps.iter_mut().flat_map(Step::chips) {
        let (out_bus, chip_uses, log_height) = chip.wiring();
        *chip_uses = uses(out_bus);
        *log_height = (*log_height).max(floor);
        heights.push(*log_height);
        chips.push(chip.boxed());
    }
    for t in &mut tables {
        t.log_height = t.log_height.max(floor);
        heights.push(t.log_height);
        chips.push(Box::new(t.clone()));
    }
    chips.push(Box::new(RangeTable { bits: 8 }));
    heights.push(8);
    for pb in public_buses.iter_mut().filter(|pb| pb.dir == Direction::Send) {
        pb.uses = uses(pb.bus);
    }
    let statement = Statement { n_publics, public_buses };
    let circuit = Circuit::new(name, chips, &heights, statement, options).map_err(|e| ModelError::Circuit { path: path.into(), reason: e.to_string() })?;
    Ok((circuit, Layout { steps: c.steps, tables, inputs, outputs }))
}
