//! Lowering: from a parsed model to the plan the executor runs and the circuit will prove.
//!
//! 1. **BatchNormalization folding** ([`fold_batchnorm`]): a BatchNormalization whose input is
//!    the sole use of a Conv's (or Gemm's) output, with every parameter a float initializer,
//!    is folded into that Conv's weights and bias in f64 before anything is quantized.
//! 2. **Quantization**: per-tensor power-of-two scales. Weights (initializers used only as a
//!    Conv kernel, a MatMul/Gemm operand or LSTM weights) get `param_bits` significant bits:
//!    `frac = param_bits - 1 - floor(log2 max |w|)`, clamped to [0, 32]. Every other real value
//!    (inputs, biases, other constants, activations) has `frac_bits` fractional bits; products
//!    are rescaled back to it with round-half-up. Integer and boolean tensors are exact.
//! 3. **Calibration and constant folding**: the graph runs on each calibration input. A node
//!    whose inputs are all constant, and every Shape (input shapes are fixed, symbolic
//!    dimensions set to 1), is folded: its outputs become constants and the node leaves the
//!    plan. This removes the `Shape → Gather → Unsqueeze → Concat → Reshape` chains PyTorch
//!    exports, Constant, ConstantOfShape and the like. Identity and inference Dropout become
//!    aliases. Every remaining value's magnitude is recorded: its range is the bits it needed
//!    on the calibration set plus `headroom_bits`, at most [`MAX_BITS`]. A value (or product
//!    accumulator) past [`MAX_BITS`] during calibration is an error naming the node; without
//!    a fixed `frac_bits`, lowering retries with 2 fewer fractional bits, down to 8.
//! 4. [`Plan::execute`] runs only the remaining nodes and checks each value against its range:
//!    an input that drives a value past the range the circuit was sized for is an error naming
//!    the node, never a silent wrap.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::error::OnnxError;
use crate::exec::{Execution, input_tensor, run_one};
use crate::fixed::{Ctx, MAX_BITS, QTensor, attr_f, attr_i, bits_of, out_of_range};
use crate::input::InputTensor;
use crate::model::{Attribute, Model, Node};
use crate::registry::Op;
use crate::ops::{bn_affine, param_frac};
use crate::tensor::{Tensor, TensorData};

/// How to lower a model.
#[derive(Clone, Debug)]
pub struct LowerOptions {
    /// Fractional bits of activations; `None` chooses the largest of 16, 14, ..., 8 that the
    /// calibration set fits.
    pub frac_bits: Option<u32>,
    /// Significant bits of each weight tensor.
    pub param_bits: u32,
    /// Bits of margin above the magnitudes seen in calibration.
    pub headroom_bits: u32,
    /// Fold BatchNormalization into the preceding Conv or Gemm.
    pub fold_batchnorm: bool,
    /// The values requests may carry, per input ([`InputDomain`]): a quotient by an input is
    /// bounded by the smallest divisor its domain holds. Empty: nothing is known, a divisor
    /// may be as small as one step of its scale.
    pub domains: Vec<InputDomain>,
}

impl Default for LowerOptions {
    fn default() -> Self {
        LowerOptions { frac_bits: None, param_bits: 16, headroom_bits: 2, fold_batchnorm: true, domains: Vec::new() }
    }
}

/// The values requests may carry for one input: each value in `[lo, hi]` (integers and
/// booleans rounded), as the subnet's validators draw them around a model's sample input.
#[derive(Clone, Debug, PartialEq)]
pub struct InputDomain {
    pub name: String,
    pub lo: f64,
    pub hi: f64,
}

impl InputDomain {
    /// The smallest magnitude a value of the domain has (0 when the domain holds 0).
    pub fn min_abs(&self) -> f64 {
        if self.lo <= 0.0 && self.hi >= 0.0 { 0.0 } else { self.lo.abs().min(self.hi.abs()) }
    }
}

/// The scale and range of one value of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueRange {
    /// The value's shape (fixed: symbolic dimensions are 1).
    pub dims: Vec<usize>,
    /// Fractional bits (the scale is 2^-frac).
    pub frac_bits: u32,
    /// Bits of the largest magnitude seen in calibration.
    pub seen_bits: u32,
    /// Bits every run must stay within.
    pub range_bits: u32,
}

/// A lowered model: constants folded and quantized, the nodes left to run, and every value's
/// scale and range.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The model after BatchNormalization folding (its initializers in float).
    pub model: Model,
    /// Activation fractional bits.
    pub frac_bits: u32,
    /// Constants: quantized initializers and folded node outputs.
    pub consts: HashMap<String, QTensor>,
    /// The nodes that run per input, in order, with aliases resolved.
    pub nodes: Vec<Node>,
    /// `name -> source` for Identity and Dropout outputs.
    pub aliases: HashMap<String, String>,
    /// Scale and range of every value computed per input, by name.
    pub ranges: BTreeMap<String, ValueRange>,
    /// Scale of each weight tensor with its own scale.
    pub weight_scales: BTreeMap<String, u32>,
    /// The values that are booleans.
    pub bools: HashSet<String>,
    /// BatchNormalization nodes folded into a Conv or Gemm.
    pub folded_batchnorms: usize,
    /// Nodes folded into constants.
    pub folded_nodes: usize,
    path: String,
    headroom_bits: u32,
}

/// An input for each of `model`'s inputs (symbolic dimensions set to 1) with every value `v`,
/// to lower a model for its scales and shapes when no real input is at hand.
pub fn filled_inputs(model: &Model, v: f64) -> Vec<InputTensor> {
    model
        .graph
        .inputs
        .iter()
        .map(|i| {
            let dims = i.fixed_dims();
            let n = dims.iter().product();
            InputTensor { name: i.name.clone(), elem_type: i.elem_type, dims, values: vec![v; n] }
        })
        .collect()
}

/// Runs `model` on `inputs` with `frac_bits` fractional bits for activations: lowers it with
/// `inputs` as the calibration set ([`crate::lower`]) and returns that run.
pub fn execute(model: &Model, inputs: &[InputTensor], frac_bits: u32, path: &str) -> Result<Execution, OnnxError> {
    let opts = LowerOptions { frac_bits: Some(frac_bits), ..Default::default() };
    Ok(lower_and_run(model, std::slice::from_ref(&inputs.to_vec()), &opts, path)?.1)
}

/// Lowers `model`, calibrating on `calibration` (at least one input set).
pub fn lower(model: &Model, calibration: &[Vec<InputTensor>], opts: &LowerOptions, path: &str) -> Result<Plan, OnnxError> {
    Ok(lower_and_run(model, calibration, opts, path)?.0)
}

/// Lowers `model` like [`lower`] and also returns the run on `calibration[0]` that lowering
/// made anyway: the same [`Execution`] as `plan.execute(&calibration[0])`, without running the
/// model twice.
pub fn lower_and_run(model: &Model, calibration: &[Vec<InputTensor>], opts: &LowerOptions, path: &str) -> Result<(Plan, Execution), OnnxError> {
    if calibration.is_empty() {
        return Err(OnnxError::BadInput { path: path.into(), reason: "lowering needs at least one calibration input".into() });
    }
    let (model, folded_batchnorms) = if opts.fold_batchnorm { fold_batchnorm(model) } else { (model.clone(), 0) };
    let candidates: Vec<u32> = match opts.frac_bits {
        Some(f) => vec![f],
        None => vec![16, 14, 12, 10, 8],
    };
    let mut last = None;
    for &f in &candidates {
        match lower_at(&model, calibration, opts, f, path) {
            Ok((mut plan, values)) => {
                plan.folded_batchnorms = folded_batchnorms;
                let run = plan.finish(values)?;
                return Ok((plan, run));
            }
            Err(e @ OnnxError::OutOfRange { .. }) if opts.frac_bits.is_none() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| OnnxError::BadInput { path: path.into(), reason: "no precision fits".into() }))
}

/// The values of `model` that are booleans: boolean inputs and initializers, comparisons and
/// logic, casts to bool, boolean constants, and what data movement and selection make of them.
pub fn bool_values(model: &Model) -> HashSet<String> {
    use crate::model::ElemType;
    let mut b: HashSet<String> = model.graph.inputs.iter().filter(|i| i.elem_type == ElemType::Bool).map(|i| i.name.clone()).collect();
    b.extend(model.graph.initializers.iter().filter(|(_, t)| t.elem_type == ElemType::Bool).map(|(k, _)| k.clone()));
    for n in &model.graph.nodes {
        let is = |k: usize| n.inputs.get(k).is_some_and(|i| b.contains(i));
        let all = n.inputs.iter().filter(|i| !i.is_empty()).all(|i| b.contains(i)) && !n.inputs.is_empty();
        let tensor_attr_bool = |k: &str| matches!(n.attributes.get(k), Some(Attribute::Tensor(t)) if t.elem_type == ElemType::Bool);
        let out = match n.op {
            Some(Op::Equal | Op::Greater | Op::GreaterOrEqual | Op::Less | Op::LessOrEqual | Op::And | Op::Or | Op::Xor | Op::Not) => true,
            Some(Op::Cast) => matches!(n.attributes.get("to"), Some(Attribute::Int(9))),
            Some(Op::Constant | Op::ConstantOfShape) => tensor_attr_bool("value"),
            Some(Op::Identity | Op::Dropout | Op::Reshape | Op::Expand | Op::Squeeze | Op::Unsqueeze | Op::Flatten | Op::Transpose | Op::Slice | Op::Gather | Op::ScatterND | Op::Pad) => is(0),
            Some(Op::Where) => is(1) && is(2),
            Some(Op::Concat | Op::Max | Op::Min | Op::Add | Op::Mul) => all,
            _ => false,
        };
        if out && let Some(o) = n.outputs.first() {
            b.insert(o.clone());
        }
    }
    b
}

/// Initializers used only as weights of a product (Conv kernel, MatMul/Gemm operand, LSTM W/R).
fn weight_names(model: &Model) -> HashSet<String> {
    let mut weight = HashSet::new();
    let mut other = HashSet::new();
    for n in &model.graph.nodes {
        for (k, name) in n.inputs.iter().enumerate() {
            let is_weight = matches!((n.op, k), (Some(Op::Conv), 1) | (Some(Op::MatMul | Op::Gemm), 0 | 1) | (Some(Op::LSTM), 1 | 2));
            if is_weight { weight.insert(name.clone()) } else { other.insert(name.clone()) };
        }
    }
    for o in &model.graph.outputs {
        other.insert(o.name.clone());
    }
    weight.retain(|w| !other.contains(w) && model.graph.initializers.get(w).is_some_and(|t| matches!(t.data, TensorData::F32(_) | TensorData::F64(_))));
    weight
}

/// Lowering at `f` fractional bits: the plan and the values of the run on `calibration[0]`.
fn lower_at(model: &Model, calibration: &[Vec<InputTensor>], opts: &LowerOptions, f: u32, path: &str) -> Result<(Plan, HashMap<String, QTensor>), OnnxError> {
    let bools = bool_values(model);
    let ctx = Ctx { path, opset: model.opset().unwrap_or(0), f, inits: &model.graph.initializers, bools: &bools };
    let weights = weight_names(model);
    let mut consts: HashMap<String, QTensor> = HashMap::new();
    let mut weight_scales = BTreeMap::new();
    for (name, t) in &model.graph.initializers {
        let frac = if weights.contains(name) {
            let max = t.data.floats().unwrap_or_default().iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let fr = param_frac(max, opts.param_bits, 32);
            weight_scales.insert(name.clone(), fr);
            fr
        } else {
            f
        };
        let q = ctx.quantize_with(t, frac).map_err(|reason| OnnxError::BadTensor { path: path.into(), tensor: name.clone(), reason })?;
        consts.insert(name.clone(), q);
    }
    // The first calibration run folds constants and aliases, and records the plan's nodes.
    let first = &calibration[0];
    let mut values = consts.clone();
    for i in first {
        values.insert(i.name.clone(), input_tensor(i, f, path)?);
    }
    let mut nodes = Vec::new();
    let mut aliases: HashMap<String, String> = HashMap::new();
    let mut folded_nodes = 0;
    let resolve = |aliases: &HashMap<String, String>, name: &str| -> String { aliases.get(name).cloned().unwrap_or_else(|| name.to_string()) };
    for n in &model.graph.nodes {
        let mut n = n.clone();
        for i in &mut n.inputs {
            if !i.is_empty() {
                *i = resolve(&aliases, i);
            }
        }
        let outs = run_one(&ctx, &n, &values)?;
        let is_const = n.op == Some(Op::Shape) || n.inputs.iter().all(|i| i.is_empty() || consts.contains_key(i));
        if is_const {
            for (name, t) in &outs {
                consts.insert(name.clone(), t.clone());
            }
            folded_nodes += 1;
        } else if matches!(n.op, Some(Op::Identity | Op::Dropout)) {
            aliases.insert(n.outputs[0].clone(), n.inputs[0].clone());
            if n.outputs.len() > 1 && !n.outputs[1].is_empty() {
                // The all-true mask depends on the shape only.
                if let Some((name, t)) = outs.iter().find(|(name, _)| *name == n.outputs[1]) {
                    consts.insert(name.clone(), t.clone());
                }
            }
        } else {
            nodes.push(n);
        }
        values.extend(outs);
    }
    let mut plan = Plan {
        model: model.clone(),
        frac_bits: f,
        consts,
        nodes,
        aliases,
        ranges: BTreeMap::new(),
        weight_scales,
        bools,
        folded_batchnorms: 0,
        folded_nodes,
        path: path.into(),
        headroom_bits: opts.headroom_bits,
    };
    plan.observe(&values, first)?;
    for inputs in &calibration[1..] {
        let more = plan.run(inputs, false)?;
        plan.observe(&more, inputs)?;
    }
    plan.bound_quotients(&opts.domains);
    Ok((plan, values))
}

impl Plan {
    /// The executor's context for this plan's nodes.
    fn ctx(&self) -> Ctx<'_> {
        Ctx { path: &self.path, opset: self.model.opset().unwrap_or(0), f: self.frac_bits, inits: &self.model.graph.initializers, bools: &self.bools }
    }

    /// Widens the range of each quotient by a computed divisor to what any dividend in its
    /// range gives over the smallest divisor a request can bring: `|x| < 2^bx` at `fx`
    /// fractional bits over `|y| >= m` at `fy` gives `|q| <= 2^(bx + fy + f - fx) / m + 1` at
    /// `f`, where `m` is the smallest magnitude of the divisor's [`InputDomain`] (in steps of
    /// its scale) when the divisor is a model input whose domain is known, else one step. A
    /// quotient is the one value whose range calibration cannot size: it grows without bound
    /// as the divisor nears zero, and a few calibration inputs say nothing of how near a
    /// request's divisor comes (sn2-pow-reward-tan's response time over its maximum, both
    /// drawn in `[0, 20]`, passed the calibrated range on 1.3% of a validator's requests).
    /// Exact integer quotients (`|q| <= |x|`) and ranges past [`MAX_BITS`] are left as they
    /// are; a divisor of exactly zero is refused by the executor.
    fn bound_quotients(&mut self, domains: &[InputDomain]) {
        for n in &self.nodes {
            if n.op != Some(Op::Div) || n.inputs.len() < 2 || n.outputs.is_empty() || self.consts.contains_key(&n.inputs[1]) {
                continue;
            }
            let (Some(x), Some(y), Some(q)) = (self.ranges.get(&n.inputs[0]), self.ranges.get(&n.inputs[1]), self.ranges.get(&n.outputs[0])) else { continue };
            if q.frac_bits == 0 {
                continue;
            }
            let steps = |v: f64| (v * (1u64 << y.frac_bits) as f64).floor();
            let m = domains.iter().find(|d| d.name == n.inputs[1]).map_or(1.0, |d| steps(d.min_abs()).max(1.0));
            let shift = i64::from(x.range_bits) + i64::from(y.frac_bits) + i64::from(q.frac_bits) - i64::from(x.frac_bits);
            if !(0..=120).contains(&shift) {
                continue;
            }
            let bound = ((1u128 << shift) as f64 / m).ceil() as u128 + 1;
            let bits = 128 - bound.leading_zeros();
            if bits <= MAX_BITS {
                let out = n.outputs[0].clone();
                let r = self.ranges.get_mut(&out).expect("present");
                r.range_bits = r.range_bits.max(bits);
            }
        }
    }

    /// Widens the recorded ranges to cover `values` (the non-constant ones). A value that needs
    /// more than [`MAX_BITS`] bits (an integer result too, which the per-node check leaves to
    /// this one) is an error naming its node.
    fn observe(&mut self, values: &HashMap<String, QTensor>, inputs: &[InputTensor]) -> Result<(), OnnxError> {
        let mut seen: Vec<(String, u32, Vec<usize>, u32)> = Vec::new();
        for n in &self.nodes {
            for name in &n.outputs {
                let Some(t) = values.get(name) else { continue };
                let bits = t.data.iter().map(|&v| bits_of(v)).max().unwrap_or(0);
                if bits > MAX_BITS {
                    let at = t.data.iter().copied().find(|&v| bits_of(v) == bits).unwrap_or(0);
                    return Err(out_of_range(&self.path, n, i128::from(at), t.frac_bits, MAX_BITS));
                }
                seen.push((name.clone(), bits, t.dims.clone(), t.frac_bits));
            }
        }
        for i in inputs {
            if let Some(t) = values.get(&i.name) {
                seen.push((i.name.clone(), t.data.iter().map(|&v| bits_of(v)).max().unwrap_or(0), t.dims.clone(), t.frac_bits));
            }
        }
        for (name, bits, dims, frac_bits) in seen {
            let r = self.ranges.entry(name).or_insert(ValueRange { dims, frac_bits, seen_bits: 0, range_bits: 0 });
            r.seen_bits = r.seen_bits.max(bits);
            r.range_bits = (r.seen_bits + self.headroom_bits).min(MAX_BITS);
        }
        Ok(())
    }

    /// Where each output element of `n` comes from, for a node that only moves the elements of
    /// its inputs `computed` (Reshape, Transpose, Slice, Gather with constant indices, Expand,
    /// Concat, ...): `(k, i)` for element `i` of input `computed[k]`. The executor itself runs
    /// the node on the inputs' element numbers (its other inputs constants), so the map follows
    /// its semantics exactly. Inputs at different scales (which a Concat would align) are an
    /// error.
    pub fn source_indices(&self, n: &Node, computed: &[usize]) -> Result<Vec<(usize, usize)>, OnnxError> {
        let mut all = self.source_indices_all(n, computed)?;
        Ok(all.swap_remove(0))
    }

    /// [`Plan::source_indices`] for every output of `n` (a Split's parts), in order.
    pub fn source_indices_all(&self, n: &Node, computed: &[usize]) -> Result<Vec<Vec<(usize, usize)>>, OnnxError> {
        let ctx = self.ctx();
        let mut values: HashMap<String, QTensor> = n.inputs.iter().filter_map(|i| self.consts.get(i).map(|c| (i.clone(), c.clone()))).collect();
        let mut bases = Vec::with_capacity(computed.len() + 1);
        let mut base = 0usize;
        let mut frac = None;
        for &k in computed {
            let name = n.inputs.get(k).ok_or_else(|| ctx.err(n, format!("input {k} is missing")))?;
            let r = self.ranges.get(name).ok_or_else(|| ctx.err(n, format!("input `{name}` has no recorded shape")))?;
            if *frac.get_or_insert(r.frac_bits) != r.frac_bits {
                return Err(ctx.err(n, "inputs at different scales are not moved as they are"));
            }
            let numel: usize = r.dims.iter().product();
            values.insert(name.clone(), QTensor { dims: r.dims.clone(), data: (base as i64..(base + numel) as i64).collect(), frac_bits: r.frac_bits });
            bases.push(base);
            base += numel;
        }
        bases.push(base);
        let out = crate::exec::run_one(&ctx, n, &values)?;
        if out.is_empty() {
            return Err(ctx.err(n, "the node has no output"));
        }
        Ok(out
            .iter()
            .map(|(_, t)| {
                t.data
                    .iter()
                    .map(|&v| {
                        let v = v as usize;
                        let k = bases.partition_point(|&b| b <= v) - 1;
                        (k, v - bases[k])
                    })
                    .collect()
            })
            .collect())
    }

    /// The groups of reduction `n` (ReduceSum, ReduceMean, ...): for each element of its
    /// input, the output element it goes to, and how many elements each output reduces, as
    /// the executor reduces them (its axes from the node's attribute or constant input).
    pub fn reduce_groups(&self, n: &Node) -> Result<(Vec<usize>, usize), OnnxError> {
        let ctx = self.ctx();
        let name = n.inputs.first().ok_or_else(|| ctx.err(n, "input 0 is missing"))?;
        let r = self.ranges.get(name).ok_or_else(|| ctx.err(n, format!("input `{name}` has no recorded shape")))?;
        let x = QTensor { dims: r.dims.clone(), data: vec![0; r.dims.iter().product()], frac_bits: r.frac_bits };
        let get = |k: usize| -> Result<&QTensor, OnnxError> {
            if k == 0 {
                return Ok(&x);
            }
            let name = n.inputs.get(k).filter(|s| !s.is_empty()).ok_or_else(|| ctx.err(n, format!("input {k} is missing")))?;
            self.consts.get(name).ok_or_else(|| ctx.err(n, format!("input `{name}` must be a constant")))
        };
        let g = crate::ops::reduce::groups(&ctx, n, &get, &x)?;
        Ok((g.out_of, g.count))
    }

    /// The groups Softmax node `n` normalizes: `(outer, len, inner)` as the executor takes
    /// them (`ops::nonlinear::softmax_layout`).
    pub fn softmax_groups(&self, n: &Node) -> Result<(usize, usize, usize), OnnxError> {
        let ctx = self.ctx();
        let name = n.inputs.first().ok_or_else(|| ctx.err(n, "input 0 is missing"))?;
        let r = self.ranges.get(name).ok_or_else(|| ctx.err(n, format!("input `{name}` has no recorded shape")))?;
        crate::ops::nonlinear::softmax_layout(&ctx, n, &r.dims)
    }

    /// Runs the plan's nodes on `inputs`; with `check`, every value against its range.
    fn run(&self, inputs: &[InputTensor], check: bool) -> Result<HashMap<String, QTensor>, OnnxError> {
        let ctx = self.ctx();
        let mut values = self.consts.clone();
        for want in &self.model.graph.inputs {
            let i = inputs.iter().find(|i| i.name == want.name).ok_or_else(|| OnnxError::BadInput { path: self.path.clone(), reason: format!("input `{}` is missing", want.name) })?;
            values.insert(i.name.clone(), input_tensor(i, self.frac_bits, &self.path)?);
        }
        for n in &self.nodes {
            for (name, t) in run_one(&ctx, n, &values)? {
                if check && let Some(r) = self.ranges.get(&name) {
                    ctx.check_within(n, &t, r.range_bits)?;
                }
                values.insert(name, t);
            }
        }
        Ok(values)
    }

    /// Runs the plan on `inputs` (already checked against the model, e.g. by
    /// [`crate::read_inputs`]): the outputs and every value (the witness), with each computed
    /// value checked against its calibrated range.
    pub fn execute(&self, inputs: &[InputTensor]) -> Result<Execution, OnnxError> {
        self.finish(self.run(inputs, true)?)
    }

    /// The outputs of a run's `values`, with aliases filled in.
    fn finish(&self, mut values: HashMap<String, QTensor>) -> Result<Execution, OnnxError> {
        for (name, src) in &self.aliases {
            if let Some(t) = values.get(src).cloned() {
                values.insert(name.clone(), t);
            }
        }
        let mut outputs = Vec::new();
        for o in &self.model.graph.outputs {
            let t = values.get(&o.name).ok_or_else(|| OnnxError::BadValueInfo {
                path: self.path.clone(),
                value: o.name.clone(),
                reason: "the graph output is never computed".into(),
            })?;
            let s = (1u64 << t.frac_bits) as f64;
            outputs.push((o.name.clone(), t.dims.clone(), t.data.iter().map(|&v| v as f64 / s).collect()));
        }
        Ok(Execution { outputs, values })
    }
}

/// Per-channel `(a, b)` of an inference BatchNormalization from float initializers:
/// `y = a x + b`, `a = scale / sqrt(var + eps)`, `b = B - mean a`.
fn batchnorm_affine(model: &Model, bn: &Node) -> Option<(Vec<f64>, Vec<f64>)> {
    if bn.inputs.len() != 5 || attr_i(bn, "training_mode", 0) != 0 {
        return None;
    }
    let floats = |k: usize| model.graph.initializers.get(&bn.inputs[k])?.data.floats();
    let params = [floats(1)?, floats(2)?, floats(3)?, floats(4)?];
    bn_affine(&params, f64::from(attr_f(bn, "epsilon", 1e-5))).ok()
}

/// Folds each BatchNormalization that follows a Conv or Gemm into its weights and bias.
/// Returns the new model and how many were folded.
pub fn fold_batchnorm(model: &Model) -> (Model, usize) {
    let mut m = model.clone();
    let mut uses: HashMap<String, usize> = HashMap::new();
    for n in &m.graph.nodes {
        for i in &n.inputs {
            *uses.entry(i.clone()).or_default() += 1;
        }
    }
    for o in &m.graph.outputs {
        *uses.entry(o.name.clone()).or_default() += 1;
    }
    let producer: HashMap<String, usize> = m.graph.nodes.iter().enumerate().flat_map(|(k, n)| n.outputs.iter().map(move |o| (o.clone(), k))).collect();
    let mut removed = HashSet::new();
    for bi in 0..m.graph.nodes.len() {
        let bn = m.graph.nodes[bi].clone();
        if bn.op != Some(Op::BatchNormalization) || bn.outputs.iter().skip(1).any(|o| !o.is_empty()) {
            continue;
        }
        let (Some(x), Some(y)) = (bn.inputs.first(), bn.outputs.first()) else { continue };
        let Some(&pi) = producer.get(x) else { continue };
        if uses.get(x) != Some(&1) || removed.contains(&pi) {
            continue;
        }
        let Some((a, b)) = batchnorm_affine(&m, &bn) else { continue };
        let p = m.graph.nodes[pi].clone();
        let Some(new_inputs) = fold_into(&mut m, &p, &a, &b, &bn.name) else { continue };
        let node = &mut m.graph.nodes[pi];
        node.inputs = new_inputs;
        node.outputs[0] = y.clone();
        removed.insert(bi);
    }
    let n = removed.len();
    m.graph.nodes = m.graph.nodes.into_iter().enumerate().filter(|(k, _)| !removed.contains(k)).map(|(_, n)| n).collect();
    // Drop the initializers only the folded nodes used (the original weights and BN parameters).
    let used: HashSet<&String> = m.graph.nodes.iter().flat_map(|n| n.inputs.iter()).chain(m.graph.outputs.iter().map(|o| &o.name)).collect();
    let stale: Vec<String> = m.graph.initializers.keys().filter(|k| uses.contains_key(*k) && !used.contains(k)).cloned().collect();
    for k in stale {
        m.graph.initializers.remove(&k);
    }
    (m, n)
}

/// Scales the output channels of Conv/Gemm `p` by `a` and adds `b`; the new weight and bias
/// are new initializers. `None` when `p` cannot absorb the BatchNormalization.
fn fold_into(m: &mut Model, p: &Node, a: &[f64], b: &[f64], tag: &str) -> Option<Vec<String>> {
    let c = a.len();
    let w = m.graph.initializers.get(p.inputs.get(1)?)?.clone();
    let mut wv = w.data.floats()?;
    // Output channel of each weight element.
    let channel: Box<dyn Fn(usize) -> usize> = match p.op {
        Some(Op::Conv) if w.dims.first() == Some(&c) => {
            let inner: usize = w.dims[1..].iter().product();
            Box::new(move |i| i / inner)
        }
        Some(Op::Gemm) if w.dims.len() == 2 => {
            if attr_f(p, "alpha", 1.0) != 1.0 || attr_f(p, "beta", 1.0) != 1.0 {
                return None;
            }
            if attr_i(p, "transB", 0) != 0 {
                if w.dims[0] != c {
                    return None;
                }
                let k = w.dims[1];
                Box::new(move |i| i / k)
            } else {
                if w.dims[1] != c {
                    return None;
                }
                Box::new(move |i| i % c)
            }
        }
        _ => return None,
    };
    let bias_name = p.inputs.get(2).filter(|s| !s.is_empty());
    let mut bv = match bias_name {
        Some(name) => {
            let v = m.graph.initializers.get(name)?.data.floats()?;
            if v.len() != c {
                return None;
            }
            v
        }
        None => vec![0.0; c],
    };
    for (i, x) in wv.iter_mut().enumerate() {
        *x *= a[channel(i)];
    }
    for ch in 0..c {
        bv[ch] = bv[ch] * a[ch] + b[ch];
    }
    let w_name = format!("{}/folded:{tag}", p.inputs[1]);
    let b_name = format!("{}/bias:{tag}", p.outputs[0]);
    m.graph.initializers.insert(w_name.clone(), Tensor { name: w_name.clone(), elem_type: w.elem_type, dims: w.dims.clone(), data: TensorData::F64(wv) });
    m.graph.initializers.insert(b_name.clone(), Tensor { name: b_name.clone(), elem_type: w.elem_type, dims: vec![c], data: TensorData::F64(bv) });
    Some(vec![p.inputs[0].clone(), w_name, b_name])
}

/// Describes a plan: with ranges (calibrated on a real input) or without (scales and shapes).
#[derive(Debug)]
pub struct Describe<'a> {
    plan: &'a Plan,
    ranges: bool,
}

impl Plan {
    /// A description of the plan for people (what `sigil inspect` prints); `ranges` adds the
    /// calibrated bits of each value, meaningful only when the calibration input was real.
    pub fn describe(&self, ranges: bool) -> Describe<'_> {
        Describe { plan: self, ranges }
    }
}

impl std::fmt::Display for Plan {
    /// The plan with its calibrated ranges.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.describe(true).fmt(f)
    }
}

impl std::fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let with_ranges = self.ranges;
        let this = self.plan;
        writeln!(
            f,
            "plan: activations with {} fractional bits; {} BatchNormalization folded into Conv/Gemm; {} nodes folded into constants; {} aliases; {} nodes run per input",
            this.frac_bits,
            this.folded_batchnorms,
            this.folded_nodes,
            this.aliases.len(),
            this.nodes.len()
        )?;
        writeln!(f, "weights with their own scale ({}):", this.weight_scales.len())?;
        for (name, frac) in &this.weight_scales {
            let dims = this.consts.get(name).map(|t| t.dims.clone()).unwrap_or_default();
            writeln!(f, "  {name} {dims:?}: 2^-{frac}")?;
        }
        if with_ranges {
            writeln!(f, "values (shape, scale, bits seen in calibration, range):")?;
        } else {
            writeln!(f, "values (shape, scale; give an input for the calibrated ranges):")?;
        }
        let op_of: HashMap<&String, &str> = this.nodes.iter().flat_map(|n| n.outputs.iter().map(move |o| (o, n.op_type.as_str()))).collect();
        let order = this.model.graph.inputs.iter().map(|i| &i.name).chain(this.nodes.iter().flat_map(|n| n.outputs.iter()));
        for name in order {
            if let Some(r) = this.ranges.get(name) {
                let op = op_of.get(name).copied().unwrap_or("input");
                if with_ranges {
                    writeln!(f, "  {name} ({op}) {:?}: 2^-{}, {} bits seen, range {} bits", r.dims, r.frac_bits, r.seen_bits, r.range_bits)?;
                } else {
                    writeln!(f, "  {name} ({op}) {:?}: 2^-{}", r.dims, r.frac_bits)?;
                }
            }
        }
        Ok(())
    }
}
