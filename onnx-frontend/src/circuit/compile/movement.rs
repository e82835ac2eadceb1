//! Data movement as wiring: Reshape and its kin keep the elements' order, Transpose, Slice,
//! Gather, Expand and Concat move them, Pad with zero pads keeps them. None of them costs a
//! row: the chips that read their output read through the map.

use super::*;

impl<'a> Compiler<'a> {
    /// Reshape, Flatten, Squeeze, Unsqueeze: row-major order is unchanged, the same elements
    /// under a new shape.
    pub(crate) fn same_order(&mut self, n: &Node) -> Result<(), ModelError> {
        let w = self.wire(n, 0)?;
        self.wires.insert(n.outputs[0].clone(), w);
        Ok(())
    }

    /// Transpose, Slice, Gather, Expand, Concat: the elements move. The executor itself, run
    /// on the element numbers, says where each output element comes from (Concat: every input
    /// computed; the others: input 0 computed, the rest constants).
    pub(crate) fn moved(&mut self, n: &Node) -> Result<(), ModelError> {
        let computed: Vec<usize> = if n.op == Some(Op::Concat) { (0..n.inputs.len()).collect() } else { vec![0] };
        let wires = computed.iter().map(|&k| self.wire(n, k)).collect::<Result<Vec<_>, _>>()?;
        for k in 1..n.inputs.len() {
            if !computed.contains(&k) && !n.inputs[k].is_empty() && !self.plan.consts.contains_key(&n.inputs[k]) {
                return Err(self.err(n, format!("input `{}` must be a constant for {} to move elements", n.inputs[k], n.op_type)));
            }
        }
        let map = self.plan.source_indices(n, &computed).map_err(|e| self.err(n, e.to_string()))?;
        let src = map.into_iter().map(|(k, i)| wires[k].src[i]).collect();
        let bits = wires.iter().map(|w| w.bits).max().unwrap_or(0);
        self.wires.insert(n.outputs[0].clone(), Wire { src, bits });
        Ok(())
    }

    /// Split: each part a map onto the input's elements, as the executor cuts them (run on
    /// the element numbers, [`crate::Plan::source_indices_all`]).
    pub(crate) fn split(&mut self, n: &Node) -> Result<(), ModelError> {
        let w = self.wire(n, 0)?;
        for k in 1..n.inputs.len() {
            if !n.inputs[k].is_empty() && !self.plan.consts.contains_key(&n.inputs[k]) {
                return Err(self.err(n, format!("input `{}` must be a constant for {} to move elements", n.inputs[k], n.op_type)));
            }
        }
        let maps = self.plan.source_indices_all(n, &[0]).map_err(|e| self.err(n, e.to_string()))?;
        let named = n.outputs.iter().filter(|o| !o.is_empty()).count();
        if maps.len() != named {
            return Err(self.err(n, format!("{} parts for {named} outputs", maps.len())));
        }
        for (name, map) in n.outputs.iter().filter(|o| !o.is_empty()).zip(maps) {
            let src = map.into_iter().map(|(_, i)| w.src[i]).collect();
            self.wires.insert(name.clone(), Wire { src, bits: w.bits });
        }
        Ok(())
    }

    /// Pad: zero pads leave the tensor as it is; others are not proved yet.
    pub(crate) fn pad(&mut self, n: &Node) -> Result<(), ModelError> {
        let pads: Vec<i64> = match n.inputs.get(1).filter(|s| !s.is_empty()) {
            Some(p) => self.plan.consts.get(p).map(|t| t.data.clone()).ok_or_else(|| self.err(n, "the pads must be constants"))?,
            None => n.attrs.pad().and_then(|p| p.pads.clone()).unwrap_or_default(),
        };
        if pads.iter().any(|&p| p != 0) {
            return Err(self.err(n, format!("pads {pads:?}: only zero pads are proved yet")));
        }
        let w = self.wire(n, 0)?;
        self.wires.insert(n.outputs[0].clone(), w);
        Ok(())
    }
}
