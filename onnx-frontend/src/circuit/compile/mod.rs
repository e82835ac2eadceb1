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
use sigil_air::stack::StackPlan;
use sigil_air::F;
use sigil_air::chips::BUS_RANGE;
use sigil_air::chips::bilinear::Bilinear;
use sigil_air::chips::binary::{Binary, BinaryOp, Operand};
use sigil_air::chips::div::Div;
use sigil_air::chips::divconst::DivConst;
use sigil_air::chips::embed::{Embed, EmbedTable};
use sigil_air::chips::linear::Linear;
use sigil_air::chips::polyconv::PolyConv;
use sigil_air::chips::lut::{Lut, LutTable};
use sigil_air::chips::minmax::{MinMax, MinMaxOp};
use sigil_air::chips::matprod::MatProd;
use sigil_air::chips::maxpool::MaxPool;
use sigil_air::chips::range::RangeTable;
use sigil_air::chips::relu::Relu;
use sigil_air::chips::rescale::Rescale;
use sigil_air::chips::select::Select;
use sigil_air::chips::sqrt::Sqrt;
use sigil_air::chips::unary::{UnaryIo, log_rows};
use sigil_air::{Chip, Direction};
use crate::align;
use crate::lut::Func;
use crate::model::Node;
use crate::{Op, Plan, QTensor};
use sigil_verifier::{Circuit, ProofOptions, PublicBus, Statement};

use super::ModelError;

// The compiler's op families, mirroring the executor's (`crate::ops`).
mod elementwise;
mod linear;
mod logic;
mod lstm;
mod movement;
mod nonlinear;
mod norm;
mod pool;
mod reduce;

/// A compiler handler: lays out one node's chips ([`crate::registry`] names one per operator it
/// proves).
pub(crate) type Handler = for<'a, 'b> fn(&'b mut Compiler<'a>, &'b Node) -> Result<(), ModelError>;

macro_rules! handlers {
    ($($op:ident => $family:ident $([$handler:ident])?;)*) => {
        /// The handler the op registry names for `op`, or `None` (executed only).
        pub(crate) fn handler(op: Op) -> Option<Handler> {
            match op {
                $(Op::$op => handlers!(@handler $($handler)?),)*
            }
        }
    };
    (@handler) => { None };
    (@handler $h:ident) => { Some(|c, n| c.$h(n)) };
}
crate::registry::op_table!(handlers);

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

/// A chip as the compiler places it: the bus its outputs go to and how often each is read (none
/// for a table, which only receives), its height; and the chip itself for the circuit.
trait Placed {
    fn wiring(&mut self) -> (Option<(BusId, &mut Vec<u32>)>, &mut usize);
    fn width(&self) -> usize;
    fn boxed(&self) -> Box<dyn Chip>;
}

/// Chips whose wiring is a [`UnaryIo`].
macro_rules! placed_unary {
    ($($t:ty),*) => {$(
        impl Placed for $t {
            fn wiring(&mut self) -> (Option<(BusId, &mut Vec<u32>)>, &mut usize) {
                (Some((self.io.out_bus, &mut self.io.uses)), &mut self.io.log_height)
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
placed_unary!(Rescale, Relu, DivConst, Lut, Sqrt, Embed);

impl Placed for EmbedTable {
    fn wiring(&mut self) -> (Option<(BusId, &mut Vec<u32>)>, &mut usize) {
        (None, &mut self.log_height)
    }
    fn width(&self) -> usize {
        sigil_air::Air::width(self)
    }
    fn boxed(&self) -> Box<dyn Chip> {
        Box::new(self.clone())
    }
}

/// Chips with their own `out_bus`, `uses` and `log_height` fields.
macro_rules! placed_fields {
    ($($t:ty),*) => {$(
        impl Placed for $t {
            fn wiring(&mut self) -> (Option<(BusId, &mut Vec<u32>)>, &mut usize) {
                (Some((self.out_bus, &mut self.uses)), &mut self.log_height)
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
placed_fields!(Linear, PolyConv, MaxPool, Binary, MinMax, Bilinear, MatProd, Div, Select);

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
    /// MatMul of two computed tensors checked after a challenge, and its rescale.
    MatProd { node: String, value: String, chip: MatProd, rescale: Rescale },
    /// A rounded square root (LayerNormalization's standard deviation).
    Sqrt { node: String, value: String, chip: Sqrt },
    /// Rows of a constant table by computed ids (an embedding), and the table.
    Embed { node: String, value: String, chip: Embed, table: EmbedTable },
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
            Step::MatProd { .. } => &["matprod", "rescale"],
            Step::Sqrt { .. } => &["sqrt"],
            Step::Embed { .. } => &["embed"],
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
            Step::MatProd { chip, rescale, .. } => vec![chip, rescale],
            Step::Sqrt { chip, .. } => vec![chip],
            Step::Embed { chip, table, .. } => vec![chip, table],
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
    /// Which chips share a table ([`sigil_air::stack`]): the witness's traces, made per chip,
    /// are stacked by it.
    pub stack: StackPlan,
}

pub(crate) struct Compiler<'a> {
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

    /// A unary chip's input and output: every element of `x` read once, in order (through
    /// its index when `x` is not in order), sent on a new bus of the same length.
    fn unary_io(&mut self, n: &Node, x: &Wire) -> Result<UnaryIo, ModelError> {
        let (in_bus, in_index) = self.unary_source(n, x)?;
        let len = x.len();
        for i in 0..len as u32 {
            self.read(x, i);
        }
        let out_bus = self.bus(len);
        Ok(UnaryIo { in_bus, out_bus, uses: vec![], log_height: log_rows(len), in_index })
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

    /// Lays out node `n` with the handler the registry names for its operator.
    fn node(&mut self, n: &Node) -> Result<(), ModelError> {
        match n.op.and_then(handler) {
            Some(handler) => handler(self, n),
            None => Err(self.err(n, "no chip proves this operator yet")),
        }
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
        (!is_output && readers.next().is_none() && reader.op == Some(Op::Relu) && reader.inputs.len() == 1).then_some(reader)
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
        let h = *chip.wiring().1;
        natural.push((h, chip.width()));
    }
    natural.extend(tables.iter().map(|t| (t.log_height, 1)));
    let floor = height_floor(&natural);
    let mut chips: Vec<Box<dyn Chip>> = Vec::new();
    let mut heights = Vec::new();
    for chip in c.steps.iter_mut().flat_map(Step::chips) {
        let (out, log_height) = chip.wiring();
        if let Some((out_bus, chip_uses)) = out {
            *chip_uses = uses(out_bus);
        }
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
    // Chips of one shape share a table: fewer tables, fewer columns opened per query.
    let (chips, heights, stack) = sigil_air::stack::stack(chips, &heights).map_err(|reason| ModelError::Circuit { path: path.into(), reason })?;
    let circuit = Circuit::new(name, chips, &heights, statement, options).map_err(|e| ModelError::Circuit { path: path.into(), reason: e.to_string() })?;
    Ok((circuit, Layout { steps: c.steps, tables, inputs, outputs, stack }))
}
