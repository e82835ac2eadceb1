//! Reductions: ReduceMean as the sums of its groups (a linear layer of ones) and their
//! division by the group's size, rounded as the executor rounds it ([`DivConst`]); the same
//! two chips prove AveragePool.

use super::*;

impl<'a> Compiler<'a> {
    /// ReduceMean over any axes (from the attribute or a constant input), with or without
    /// `keepdims`: the groups are the executor's own ([`crate::Plan::reduce_groups`]).
    pub(crate) fn mean(&mut self, n: &Node) -> Result<(), ModelError> {
        let x = self.wire(n, 0)?;
        let out = n.outputs[0].clone();
        let (rb, dims, _) = self.range_bits(n, &out)?;
        let (out_of, count) = self.plan.reduce_groups(n).map_err(|e| self.err(n, e.to_string()))?;
        let outputs: usize = dims.iter().product();
        if count == 0 || outputs * count != out_of.len() {
            return Err(self.err(n, "a reduction over an empty axis is not proved"));
        }
        // Each output's inputs, in input order: the taps of its position.
        let mut taps: Vec<Vec<u32>> = vec![Vec::with_capacity(count); outputs];
        for (i, &o) in out_of.iter().enumerate() {
            taps[o].push(i as u32);
        }
        let src = taps.into_iter().flatten().map(Some).collect();
        let (sum, div, wire) = self.sum_and_divide(n, &n.name, &x, src, (count, count as i64, outputs), rb + 1)?;
        self.wires.insert(out.clone(), wire);
        self.steps.push(Step::AvgPool { node: n.name.clone(), value: out, sum, div });
        Ok(())
    }

    /// The sums of `outputs` groups of `window` elements of `x` (`src[p window + j]`: tap `j`
    /// of group `p < outputs`, `None` for a zero), by a linear layer of ones, and their division by
    /// `divisor` (the window's size for a mean, 1 for a sum), rounded half up, range-checked to
    /// `out_bits`; the chips are named `{name}/sum` and `{name}/divide`. Returns them and the
    /// quotients' wire.
    pub(super) fn sum_and_divide(&mut self, n: &Node, name: &str, x: &Wire, src: Vec<Option<u32>>, (window, divisor, outputs): (usize, i64, usize), out_bits: u32) -> Result<(Linear, DivConst, Wire), ModelError> {
        let acc = self.bus(outputs);
        let sum = Linear {
            name: format!("{name}/sum"),
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
        let acc_bits = sum.output_bits(x.bits).ok_or_else(|| self.wide(n, "the sums' bound reaches the field"))?;
        for s in sum.reads().collect::<Vec<_>>() {
            self.read(x, s);
        }
        let (xbus, xidx) = self.gathered(n, x)?;
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
        let div = DivConst::new(format!("{name}/divide"), divisor, 0, acc_bits, out_bits, io).map_err(|e| self.wide(n, e.to_string()))?;
        Ok((sum, div, Wire::new(bus, outputs, out_bits)))
    }
}
