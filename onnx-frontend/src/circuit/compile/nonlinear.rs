//! Functions through tables ([`Lut`]): Sigmoid, Tanh, Erf, Exp, and Tan with its period
//! reduction.

use super::*;

impl<'a> Compiler<'a> {
    /// A non-linear function elementwise through its table (one per function and output
    /// scale, over the indices every node using it can reach).
    pub(crate) fn lut(&mut self, n: &Node) -> Result<(), ModelError> {
        let func = n.op.and_then(Func::of).ok_or_else(|| self.err(n, "no table computes this operator"))?;
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
    pub(super) fn lut_chip(&mut self, n: &Node, name: String, func: Func, x: &Wire, fx: u32, out_frac: u32, out_bits: u32) -> Result<(Lut, usize, Wire), ModelError> {
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
    pub(crate) fn tan(&mut self, n: &Node) -> Result<(), ModelError> {
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

    /// Softmax over its groups (an axis, or the flattened trailing axes before opset 13), as
    /// the executor computes it (`ops::nonlinear::softmax`): the group's maximum `m`
    /// ([`MaxPool`] over the group's elements), `d = x - m` ([`Binary`]), `e = exp(d)` through
    /// exp's table at the output's scale ([`Lut`]), the group's sum `s` (a linear layer of
    /// ones, range-checked by a division by 1, [`DivConst`]), and `q = round(e 2^f / s)`
    /// ([`Div`], its remainder range-checked). Each step is its chip's unique answer, so a
    /// prover can choose neither another maximum nor another normalization
    /// (`docs/soundness.md`).
    pub(crate) fn softmax(&mut self, n: &Node) -> Result<(), ModelError> {
        let x = self.wire(n, 0)?;
        let (_, _, fx) = self.range_bits(n, &n.inputs[0])?;
        let out = n.outputs[0].clone();
        let (rb, _, f) = self.range_bits(n, &out)?;
        let (outer, len, inner) = self.plan.softmax_groups(n).map_err(|e| self.err(n, e.to_string()))?;
        let (groups, total) = (outer * inner, outer * len * inner);
        if len == 0 || total != x.len() {
            return Err(self.err(n, "a Softmax over an empty axis is not proved"));
        }
        let member = |g: usize, j: usize| ((g / inner) * len + j) * inner + g % inner;
        let group_of = |e: usize| (e / (len * inner)) * inner + e % inner;
        // The maximum of each group.
        let taps: Vec<u32> = (0..groups).flat_map(|g| (0..len).map(move |j| member(g, j) as u32)).collect();
        for &t in &taps {
            self.read(&x, t);
        }
        let (xbus, xidx) = self.gathered(n, &x)?;
        let mbus = self.bus(groups);
        let max = MaxPool {
            name: format!("{}/max", n.name),
            window: len,
            src: taps.iter().map(|&t| Some(xidx[t as usize])).collect(),
            uses: vec![],
            bits: x.bits + 1,
            in_bus: xbus,
            out_bus: mbus,
            log_height: MaxPool::min_log_height(groups, len),
        };
        self.steps.push(Step::MaxPool { node: format!("{}/max", n.name), value: String::new(), chip: max });
        let m = Wire::new(mbus, groups, x.bits);
        // Each element minus its group's maximum.
        let a = self.bus_operand(n, &x, 0..total)?;
        let b = self.bus_operand(n, &m, (0..total).map(group_of))?;
        let (shift, d) = self.binary_chip(n, format!("{}/shift", n.name), BinaryOp::Sub, (a, 0), (b, 0), total)?;
        self.steps.push(Step::Binary { node: format!("{}/shift", n.name), value: String::new(), chip: shift, rescale: None });
        // Its exponential, at most 1 (f + 1 bits).
        let (exp, table, e) = self.lut_chip(n, format!("{}/exp", n.name), Func::Exp, &d, fx, f, f + 2)?;
        self.steps.push(Step::Lut { node: format!("{}/exp", n.name), value: String::new(), chip: exp, table });
        // The sums of the groups.
        let src = taps.into_iter().map(Some).collect();
        let sum_bits = f + 2 + usize::BITS - len.leading_zeros();
        let (sum, check, s) = self.sum_and_divide(n, &format!("{}/total", n.name), &e, src, (len, 1, groups), sum_bits)?;
        self.steps.push(Step::AvgPool { node: format!("{}/total", n.name), value: String::new(), sum, div: check });
        // Each exponential over its group's sum.
        let num = self.bus_operand(n, &e, 0..total)?;
        let den = self.bus_operand(n, &s, (0..total).map(group_of))?;
        let (chip, wire) = self.div_chip(n, n.name.clone(), (num, f), (den, 0), rb + 1, total)?;
        self.wires.insert(out.clone(), wire);
        self.steps.push(Step::Div { node: n.name.clone(), value: out, chip });
        Ok(())
    }

    /// Gelu (opset 20) as the executor computes it (`ops::nonlinear::gelu`), each product an
    /// elementwise chip and its rescale, each function its table: the exact form
    /// `g = erf(rescale(x round(2^f / sqrt 2), f))` (erf's input at x's `fx` bits), or the tanh
    /// form (`x` at `f` bits, `x^3 = rescale(rescale(x x, f) x, f)`,
    /// `u = rescale((x + rescale(x^3 k, f)) c, f)` with `k = 0.044715` and `c = sqrt(2 / pi)` at
    /// `f` bits, `g = tanh(u)`); then `y = rescale(x (2^f + g), f + 1)` at `fx` bits.
    pub(crate) fn gelu(&mut self, n: &Node) -> Result<(), ModelError> {
        let tanh = n.attrs.gelu_tanh().map_err(|m| self.err(n, format!("approximate = {m} is unknown")))?;
        let x = self.wire(n, 0)?;
        let (_, _, fx) = self.range_bits(n, &n.inputs[0])?;
        let out = n.outputs[0].clone();
        let (rb, _, fo) = self.range_bits(n, &out)?;
        let f = self.plan.frac_bits;
        if fo != fx || (tanh && fx != f) {
            return Err(self.err(n, format!("a Gelu of an input at {fx} fractional bits (activations at {f}) is not proved yet")));
        }
        let len = x.len();
        let q = |v: f64| crate::exec::quantize(v, f);
        // `a b` rescaled by `f` (`b` a constant when it is `Err`), the step `{node}/{part}`.
        let product = |c: &mut Self, part: &str, a: &Wire, b: Result<&Wire, i64>| -> Result<Wire, ModelError> {
            let ao = c.bus_operand(n, a, 0..len)?;
            let bo = match b {
                Ok(w) => c.bus_operand(n, w, 0..len)?,
                Err(k) => Operand::Const(vec![k; len]),
            };
            c.mul_rescaled(n, (format!("{}/{part}", n.name), String::new()), ao, bo, len, (f, None))
        };
        let g = if tanh {
            let x2 = product(self, "square", &x, Ok(&x))?;
            let x3 = product(self, "cube", &x2, Ok(&x))?;
            let t = product(self, "cube k", &x3, Err(q(0.044715)))?;
            let (a, b) = (self.bus_operand(n, &x, 0..len)?, self.bus_operand(n, &t, 0..len)?);
            let (add, s) = self.binary_chip(n, format!("{}/inner", n.name), BinaryOp::Add, (a, 0), (b, 0), len)?;
            self.steps.push(Step::Binary { node: format!("{}/inner", n.name), value: String::new(), chip: add, rescale: None });
            let u = product(self, "inner c", &s, Err(q((2.0 / std::f64::consts::PI).sqrt())))?;
            let (chip, table, g) = self.lut_chip(n, format!("{}/tanh", n.name), Func::Tanh, &u, f, f, f + 2)?;
            self.steps.push(Step::Lut { node: format!("{}/tanh", n.name), value: String::new(), chip, table });
            g
        } else {
            let u = product(self, "scaled", &x, Err(q(std::f64::consts::FRAC_1_SQRT_2)))?;
            let (chip, table, g) = self.lut_chip(n, format!("{}/erf", n.name), Func::Erf, &u, fx, f, f + 2)?;
            self.steps.push(Step::Lut { node: format!("{}/erf", n.name), value: String::new(), chip, table });
            g
        };
        // 2^f + g, then x (2^f + g) rescaled by f + 1.
        let a = self.bus_operand(n, &g, 0..len)?;
        let (add, w) = self.binary_chip(n, format!("{}/one plus", n.name), BinaryOp::Add, (a, 0), (Operand::Const(vec![1i64 << f; len]), 0), len)?;
        self.steps.push(Step::Binary { node: format!("{}/one plus", n.name), value: String::new(), chip: add, rescale: None });
        let (a, b) = (self.bus_operand(n, &x, 0..len)?, self.bus_operand(n, &w, 0..len)?);
        let y = self.mul_rescaled(n, (n.name.clone(), out.clone()), a, b, len, (f + 1, Some(rb + 1)))?;
        self.wires.insert(out, y);
        Ok(())
    }
}
