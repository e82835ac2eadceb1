//! Add, Sub, Mul, Min, Max, Div, Cast and Clip: one element per row ([`Binary`], [`MinMax`],
//! [`DivConst`], [`Div`]).

use super::*;

impl<'a> Compiler<'a> {
    /// Relu and Abs: one row per element ([`Relu`]).
    pub(crate) fn relu(&mut self, n: &Node) -> Result<(), ModelError> {
        let out_name = n.outputs[0].clone();
        let x = self.wire(n, 0)?;
        let io = self.unary_io(n, &x)?;
        let (bus, len) = (io.out_bus, x.len());
        let chip = Relu { name: n.name.clone(), bits: x.bits + 1, abs: n.op == Some(Op::Abs), io };
        self.wires.insert(out_name.clone(), Wire::new(bus, len, x.bits));
        self.steps.push(Step::Relu { node: n.name.clone(), value: out_name, chip });
        Ok(())
    }

    /// Neg: `-x` is `x` divided by -1, exactly ([`DivConst`] with a negative divisor), one row
    /// per element.
    pub(crate) fn neg(&mut self, n: &Node) -> Result<(), ModelError> {
        let out = n.outputs[0].clone();
        let (rb, _, _) = self.range_bits(n, &out)?;
        let x = self.wire(n, 0)?;
        let io = self.unary_io(n, &x)?;
        let (bus, len) = (io.out_bus, x.len());
        let chip = DivConst::new(n.name.clone(), -1, 0, x.bits, rb + 1, io).map_err(|e| self.wide(n, e.to_string()))?;
        self.wires.insert(out.clone(), Wire::new(bus, len, rb + 1));
        self.steps.push(Step::DivConst { node: n.name.clone(), value: out, chip });
        Ok(())
    }

    /// Sqrt: `round(sqrt(x 2^(2f - fx)))`, the root at the output's `f` fractional bits, as the
    /// executor takes it ([`Sqrt`]: a negative input has no root); an output with fewer than
    /// half the input's fractional bits (a rounded radicand) is not proved.
    pub(crate) fn sqrt(&mut self, n: &Node) -> Result<(), ModelError> {
        let out = n.outputs[0].clone();
        let (_, _, f) = self.range_bits(n, &out)?;
        let (_, _, fx) = self.range_bits(n, &n.inputs[0])?;
        let shift = (2 * f).checked_sub(fx).ok_or_else(|| self.err(n, format!("a root at {f} fractional bits of an input at {fx} (a rounded radicand) is not proved yet")))?;
        let x = self.wire(n, 0)?;
        let io = self.unary_io(n, &x)?;
        let (bus, len) = (io.out_bus, x.len());
        let chip = Sqrt::new(n.name.clone(), 0, shift, x.bits, io).map_err(|e| self.wide(n, e.to_string()))?;
        self.wires.insert(out.clone(), Wire::new(bus, len, chip.y_bits + 1));
        self.steps.push(Step::Sqrt { node: n.name.clone(), value: out, chip });
        Ok(())
    }

    /// Pow by a constant exponent, as the executor computes it: about 1/2 is Sqrt; an integer
    /// `k` in `1..=16` is `k - 1` products by the base, each rescaled to the base's scale
    /// ([`Binary`] and [`Rescale`]: `x^2` of a decomposed LayerNormalization's variance is one).
    /// Other exponents (`exp(y ln x)` in the executor) are not proved yet.
    pub(crate) fn pow(&mut self, n: &Node) -> Result<(), ModelError> {
        let e = self.constant(n, 1)?.ok_or_else(|| self.err(n, "the exponent is missing"))?;
        let &[ev] = e.data.as_slice() else {
            return Err(self.err(n, "only a single exponent is proved"));
        };
        if align(i128::from(ev), e.frac_bits, 1) == 1 {
            return self.sqrt(n);
        }
        let unit = 1i64 << e.frac_bits;
        if ev % unit != 0 || !(1..=16).contains(&(ev / unit)) {
            return Err(self.err(n, "only integer exponents 1 to 16 and 1/2 are proved yet"));
        }
        let k = (ev / unit) as usize;
        let out = n.outputs[0].clone();
        let (rb, dims, fo) = self.range_bits(n, &out)?;
        let (_, xd, fa) = self.range_bits(n, &n.inputs[0])?;
        if fa != fo || xd != dims {
            return Err(self.err(n, "a power at another scale or shape than its base is not proved yet"));
        }
        let x = self.wire(n, 0)?;
        let len = x.len();
        let mut cur = x.clone();
        for step in 1..k {
            let last = step + 1 == k;
            let (name, value, out_bits) = if last { (n.name.clone(), out.clone(), Some(rb + 1)) } else { (format!("{}/power {}", n.name, step + 1), String::new(), None) };
            let (a, b) = (self.bus_operand(n, &cur, 0..len)?, self.bus_operand(n, &x, 0..len)?);
            cur = self.mul_rescaled(n, (name, value), a, b, len, (fo, out_bits))?;
        }
        self.wires.insert(out, cur);
        Ok(())
    }

    /// Div: by a constant ([`DivConst`]) or by a computed tensor ([`Div`]).
    pub(crate) fn div(&mut self, n: &Node) -> Result<(), ModelError> {
        if n.inputs.get(1).is_some_and(|d| !self.plan.consts.contains_key(d)) { self.div2(n) } else { self.div_const(n) }
    }

    /// An operand of an elementwise op: a computed value read through its wire, or a
    /// constant, broadcast to `out` dims. Returns it with its fractional bits.
    pub(super) fn operand(&mut self, n: &Node, k: usize, out: &[usize]) -> Result<(Operand, u32), ModelError> {
        let name = n.inputs.get(k).ok_or_else(|| self.err(n, format!("input {k} is missing")))?.clone();
        let numel: usize = out.iter().product();
        if let Some(c) = self.plan.consts.get(&name) {
            let v = (0..numel).map(|i| c.data[crate::exec::bcast_index(&c.dims, out, i)]).collect();
            return Ok((Operand::Const(v), c.frac_bits));
        }
        let w = self.wire(n, k)?;
        let (_, dims, frac) = self.range_bits(n, &name)?;
        let (bus, idx) = self.gathered(n, &w)?;
        let src: Vec<u32> = (0..numel).map(|i| idx[crate::exec::bcast_index(&dims, out, i)]).collect();
        for &s in &src {
            self.read_at(bus, s);
        }
        Ok((Operand::Bus { bus, src, bits: w.bits }, frac))
    }

    pub(crate) fn binary(&mut self, n: &Node) -> Result<(), ModelError> {
        if self.plan.bools.contains(&n.outputs[0]) {
            return Err(self.err(n, "boolean logic is not proved yet"));
        }
        let out = n.outputs[0].clone();
        let (_, dims, out_frac) = self.range_bits(n, &out)?;
        let (a, fa) = self.operand(n, 0, &dims)?;
        let (b, fb) = self.operand(n, 1, &dims)?;
        let len: usize = dims.iter().product();
        let op = match n.op {
            Some(Op::Add) => BinaryOp::Add,
            Some(Op::Sub) => BinaryOp::Sub,
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

    pub(crate) fn minmax(&mut self, n: &Node) -> Result<(), ModelError> {
        if n.inputs.len() != 2 {
            return Err(self.err(n, "no chip proves this operator yet (of other than two inputs)"));
        }
        let out = n.outputs[0].clone();
        let (_, dims, out_frac) = self.range_bits(n, &out)?;
        let (a, fa) = self.operand(n, 0, &dims)?;
        let (b, fb) = self.operand(n, 1, &dims)?;
        if fa.max(fb) != out_frac {
            return Err(self.err(n, "the operands' scales do not give the output's"));
        }
        let len: usize = dims.iter().product();
        let op = if n.op == Some(Op::Min) { MinMaxOp::Min } else { MinMaxOp::Max };
        let bus = self.bus(len);
        let mut chip = MinMax::new(n.name.clone(), op, (a, out_frac - fa), (b, out_frac - fb), len, bus, log_rows(len)).map_err(|e| self.wide(n, e.to_string()))?;
        chip.uses = vec![];
        self.wires.insert(out.clone(), Wire::new(bus, len, chip.output_bits()));
        self.steps.push(Step::MinMax { node: n.name.clone(), value: out, chip });
        Ok(())
    }

    pub(super) fn div_const(&mut self, n: &Node) -> Result<(), ModelError> {
        let out = n.outputs[0].clone();
        let (rb, dims, f) = self.range_bits(n, &out)?;
        let x = self.wire(n, 0)?;
        let (_, xd, fa) = self.range_bits(n, &n.inputs[0])?;
        let c = self.constant(n, 1)?.ok_or_else(|| self.err(n, "the divisor is missing"))?;
        if xd != dims {
            return Err(self.err(n, "only a computed tensor divided by a constant is proved (no broadcasting of the numerator)"));
        }
        let io = self.unary_io(n, &x)?;
        let (bus, len) = (io.out_bus, x.len());
        let Some(&d) = c.data.first().filter(|_| c.data.iter().all(|&v| v == c.data[0])) else {
            return Err(self.err(n, "only a divisor with one value is proved"));
        };
        if fa == 0 && c.frac_bits == 0 {
            return Err(self.err(n, "integer division is not proved yet"));
        }
        if d == 0 {
            return Err(self.err(n, "division by zero"));
        }
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
        let chip = DivConst::new(n.name.clone(), divisor, k, x.bits, rb + 1, io).map_err(|e| self.wide(n, e.to_string()))?;
        self.wires.insert(out.clone(), Wire::new(bus, len, rb + 1));
        self.steps.push(Step::DivConst { node: n.name.clone(), value: out, chip });
        Ok(())
    }

    /// Division by a computed tensor (either operand broadcast; the numerator may be a
    /// constant): the executor's `round(a 2^(fb + f) / (b 2^fa))`, with the power of two
    /// common to both sides cancelled (the rounded quotient is the same).
    pub(super) fn div2(&mut self, n: &Node) -> Result<(), ModelError> {
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
        let (chip, wire) = self.div_chip(n, n.name.clone(), (a, sa - c), (b, sb - c), rb + 1, len)?;
        self.wires.insert(out.clone(), wire);
        self.steps.push(Step::Div { node: n.name.clone(), value: out, chip });
        Ok(())
    }

    /// Cast: to the same kind of number, wiring (a real stays at its scale); from an integer or
    /// a boolean to a real, the exact shift to the real's scale (an Add of zero, shifted). To
    /// an integer from a real (truncation): not proved yet.
    pub(crate) fn cast(&mut self, n: &Node) -> Result<(), ModelError> {
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

    /// Clip with constant bounds: a maximum with the lower bound, then a minimum with the upper
    /// (each bound at the input's scale, as the executor aligns it).
    pub(crate) fn clip(&mut self, n: &Node) -> Result<(), ModelError> {
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
                let c = n.attrs.clip();
                Ok(if attr == "min" { c.min } else { c.max }.map(|v| crate::exec::quantize(f64::from(v).clamp(-1e15, 1e15), fa)))
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

    /// Elements `idx` of `w` as a chip operand, each read once.
    pub(super) fn bus_operand(&mut self, n: &Node, w: &Wire, idx: impl IntoIterator<Item = usize>) -> Result<Operand, ModelError> {
        let (bus, all) = self.gathered(n, w)?;
        let src: Vec<u32> = idx.into_iter().map(|i| all[i]).collect();
        for &s in &src {
            self.read_at(bus, s);
        }
        Ok(Operand::Bus { bus, src, bits: w.bits })
    }

    /// A product step `name` (answering for `value`, empty inside a node) of `len` elements
    /// ([`Binary`]) and its rescale by `2^shift` (`{name}/rescale`) to `out_bits` signed bits, by
    /// default the bound the product implies; the rescale's wire.
    pub(super) fn mul_rescaled(&mut self, n: &Node, (name, value): (String, String), a: Operand, b: Operand, len: usize, (shift, out_bits): (u32, Option<u32>)) -> Result<Wire, ModelError> {
        let (chip, p) = self.binary_chip(n, name.clone(), BinaryOp::Mul, (a, 0), (b, 0), len)?;
        let bits = out_bits.unwrap_or((p.bits + 2).saturating_sub(shift).max(2));
        let (rescale, w) = self.rescale_to(n, format!("{name}/rescale"), chip.out_bus, len, p.bits, shift, bits)?;
        self.steps.push(Step::Binary { node: name, value, chip, rescale: Some(rescale) });
        Ok(w)
    }

    /// A division chip `name` of `len` elements, `round(a 2^sa / (b 2^sb))` with its quotient
    /// range-checked to `out_bits` ([`Div`]); its output wire. A division the field cannot
    /// hold is refused with the operands' widths.
    pub(super) fn div_chip(&mut self, n: &Node, name: String, (a, sa): (Operand, u32), (b, sb): (Operand, u32), out_bits: u32, len: usize) -> Result<(Div, Wire), ModelError> {
        let bus = self.bus(len);
        let (ab, bb) = (a.bits(), b.bits());
        let mut chip = Div::new(name, (a, sa), (b, sb), out_bits, len, bus)
            .map_err(|e| self.wide(n, format!("{e} (numerator {ab} bits shifted by {sa}, divisor {bb} bits shifted by {sb}, quotient {out_bits} bits)")))?;
        chip.uses = vec![];
        Ok((chip, Wire::new(bus, len, out_bits)))
    }

    /// An elementwise chip `name` of `len` elements; its output wire.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn binary_chip(&mut self, n: &Node, name: String, op: BinaryOp, a: (Operand, u32), b: (Operand, u32), len: usize) -> Result<(Binary, Wire), ModelError> {
        let bus = self.bus(len);
        let mut chip = Binary::new(name, op, a, b, len, bus, log_rows(len)).map_err(|e| self.wide(n, e.to_string()))?;
        chip.uses = vec![];
        let bits = chip.output_bits();
        Ok((chip, Wire::new(bus, len, bits)))
    }
}
