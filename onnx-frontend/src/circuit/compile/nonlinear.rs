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
}
