//! Normalization: LayerNormalization as the executor computes it (`ops::norm::layer_norm`),
//! from the chips that prove each of its integer steps.

use super::*;
use crate::ops::norm::layer_norm_epsilon;

impl<'a> Compiler<'a> {
    /// LayerNormalization over the axes from `axis` on, each row of `len` elements at `fx`
    /// fractional bits: its mean `m = round(sum x / len)` and variance `v = round(sum (x -
    /// m)^2 / len)` (sums of a linear layer of ones, [`Linear`], divided by [`DivConst`]), the
    /// difference and its square ([`Binary`]), the standard deviation `s = round(sqrt(v +
    /// eps))` ([`Sqrt`]), `y = round((x - m) 2^f / s)` ([`Div`]), then the scale (a [`Binary`]
    /// product and its [`Rescale`]) and the bias (a [`Binary`] sum). Each is its chip's one
    /// answer, so a prover can choose neither another mean, another variance nor another
    /// normalization (`docs/soundness.md`). The Mean and InvStdDev outputs are not proved.
    pub(crate) fn layer_norm(&mut self, n: &Node) -> Result<(), ModelError> {
        if n.outputs.iter().skip(1).any(|o| !o.is_empty() && self.plan.nodes.iter().any(|m| m.inputs.contains(o))) {
            return Err(self.err(n, "the Mean and InvStdDev outputs are not proved yet"));
        }
        let x = self.wire(n, 0)?;
        let (_, dims, fx) = self.range_bits(n, &n.inputs[0])?;
        let out = n.outputs[0].clone();
        let (_, _, f) = self.range_bits(n, &out)?;
        let axis = crate::fixed::axis_of(n.attrs.norm().axis, dims.len()).ok_or_else(|| self.err(n, "axis out of range"))?;
        let (outer, len) = (dims[..axis].iter().product::<usize>(), dims[axis..].iter().product::<usize>());
        let total = outer * len;
        if len == 0 || total != x.len() {
            return Err(self.err(n, "a normalization over an empty axis is not proved"));
        }
        let scale = self.constant(n, 1)?.ok_or_else(|| self.err(n, "the scale is missing"))?;
        let bias = self.constant(n, 2)?;
        let norm_dims = &dims[axis..];
        let per_row = |c: &QTensor| -> Vec<i64> { (0..len).map(|j| c.data[crate::exec::bcast_index(&c.dims, norm_dims, j)]).collect() };
        let row_of = |e: usize| e / len;
        let rows: Vec<Option<u32>> = (0..total as u32).map(Some).collect();
        let name = |part: &str| format!("{}/{part}", n.name);

        // The mean of each row, |m| < 2^bits(x).
        let (sum, div, m) = self.sum_and_divide(n, &name("mean"), &x, rows.clone(), (len, len as i64, outer), x.bits + 1)?;
        self.steps.push(Step::AvgPool { node: name("mean"), value: String::new(), sum, div });
        // d = x - m.
        let (a, b) = (self.bus_operand(n, &x, 0..total)?, self.bus_operand(n, &m, (0..total).map(row_of))?);
        let (diff, d) = self.binary_chip(n, name("centre"), BinaryOp::Sub, (a, 0), (b, 0), total)?;
        self.steps.push(Step::Binary { node: name("centre"), value: String::new(), chip: diff, rescale: None });
        // d^2, and the variance: the mean of the squares.
        let (a, b) = (self.bus_operand(n, &d, 0..total)?, self.bus_operand(n, &d, 0..total)?);
        let (square, sq) = self.binary_chip(n, name("square"), BinaryOp::Mul, (a, 0), (b, 0), total)?;
        self.steps.push(Step::Binary { node: name("square"), value: String::new(), chip: square, rescale: None });
        let (sum, div, var) = self.sum_and_divide(n, &name("variance"), &sq, rows, (len, len as i64, outer), sq.bits + 1)?;
        self.steps.push(Step::AvgPool { node: name("variance"), value: String::new(), sum, div });
        // s = round(sqrt(v + eps)) >= 1.
        let eps = layer_norm_epsilon(n.attrs.norm().epsilon, fx);
        let io = self.unary_io(n, &var)?;
        let sbus = io.out_bus;
        let chip = Sqrt::new(name("deviation"), eps as u64, 0, var.bits, io).map_err(|e| self.wide(n, e.to_string()))?;
        let s = Wire::new(sbus, outer, chip.y_bits + 1);
        self.steps.push(Step::Sqrt { node: name("deviation"), value: String::new(), chip });
        // y = round(d 2^f / s): |d| <= sqrt(len (v + 1/2)) and s >= sqrt(v) - 1/2 with v >= 1
        // bound |y| below 1.6 sqrt(len) 2^f + 1.
        let root_bits = 64 - ((len as u64).isqrt() + 1).leading_zeros();
        let y_bits = f + root_bits + 2;
        let (num, den) = (self.bus_operand(n, &d, 0..total)?, self.bus_operand(n, &s, (0..total).map(row_of))?);
        let (chip, y) = self.div_chip(n, name("normalize"), (num, f), (den, 0), y_bits, total)?;
        // The scale, rescaled to f bits, then the bias aligned to f bits, as the executor adds
        // them (the last step is the node's output).
        let sv: Vec<i64> = (0..total).map(|e| per_row(scale)[e % len]).collect();
        let a = self.bus_operand(n, &y, 0..total)?;
        let (times, p) = self.binary_chip(n, name("scale"), BinaryOp::Mul, (a, 0), (Operand::Const(sv), 0), total)?;
        let shift = scale.frac_bits;
        let out_bits = (p.bits + 2).saturating_sub(shift).max(2);
        let (rescale, z) = self.rescale_to(n, name("scale/rescale"), times.out_bus, total, p.bits, shift, out_bits)?;
        let last = bias.is_none();
        self.steps.push(Step::Div { node: name("normalize"), value: String::new(), chip });
        self.steps.push(Step::Binary { node: if last { n.name.clone() } else { name("scale") }, value: if last { out.clone() } else { String::new() }, chip: times, rescale: Some(rescale) });
        let z = match bias {
            None => z,
            Some(b) => {
                let bv: Vec<i64> = per_row(b).into_iter().map(|v| align(i128::from(v), b.frac_bits, f) as i64).collect();
                let bv = (0..total).map(|e| bv[e % len]).collect();
                let a = self.bus_operand(n, &z, 0..total)?;
                let (add, z) = self.binary_chip(n, n.name.clone(), BinaryOp::Add, (a, 0), (Operand::Const(bv), 0), total)?;
                self.steps.push(Step::Binary { node: n.name.clone(), value: out.clone(), chip: add, rescale: None });
                z
            }
        };
        self.wires.insert(out, z);
        Ok(())
    }
}
