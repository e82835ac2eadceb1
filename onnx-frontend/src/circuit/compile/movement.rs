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
        if n.op == Some(Op::Gather) && self.plan.consts.contains_key(&n.inputs[0]) {
            return self.embed(n);
        }
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

    /// Gather of a constant table's rows by computed ids (an embedding by token ids): one
    /// lookup per output element into the table, preprocessed ([`Embed`], [`EmbedTable`]).
    /// The table is gathered along its first axis that is not 1 (what embeddings gather);
    /// the ids are integers, each in `0..rows` (negative ids, which ONNX counts from the end,
    /// are refused by the proof).
    pub(crate) fn embed(&mut self, n: &Node) -> Result<(), ModelError> {
        let table = self.constant(n, 0)?.ok_or_else(|| self.err(n, "the table is missing"))?;
        let ids = self.wire(n, 1)?;
        let (_, _, fi) = self.range_bits(n, &n.inputs[1])?;
        if fi != 0 {
            return Err(self.err(n, "the indices are not integers"));
        }
        let r = table.dims.len() as i64;
        let axis = n.attrs.gather_axis();
        let axis = crate::fixed::axis_of(axis, table.dims.len()).ok_or_else(|| self.err(n, format!("axis {axis} out of range for rank {r}")))?;
        if table.dims[..axis].iter().any(|&d| d != 1) {
            return Err(self.err(n, "a Gather of computed indices is proved along the table's first axis only"));
        }
        let stride: usize = table.dims[axis + 1..].iter().product();
        let total = ids.len() * stride;
        if stride == 0 || total == 0 {
            return Err(self.err(n, "an empty Gather is not proved"));
        }
        let (id_bus, id_idx) = self.gathered(n, &ids)?;
        let at: Vec<u32> = (0..total).map(|e| id_idx[e / stride]).collect();
        for e in 0..total {
            self.read(&ids, (e / stride) as u32);
        }
        let out_bus = self.bus(total);
        let table_bus = self.next_bus;
        self.next_bus += 1;
        let entries = table.data.clone();
        let t = EmbedTable { name: format!("{} table", n.name), bus: table_bus, log_height: log_rows(entries.len()), entries };
        let io = UnaryIo { in_bus: id_bus, out_bus, uses: vec![], log_height: log_rows(total), in_index: Some(at) };
        let offsets = (0..total as u64).map(|e| e % stride as u64).collect();
        let chip = Embed::new(n.name.clone(), stride as u64, offsets, ids.bits, table_bus, io).map_err(|e| self.wide(n, e.to_string()))?;
        let out = n.outputs[0].clone();
        self.wires.insert(out.clone(), Wire::new(out_bus, total, t.bits()));
        self.steps.push(Step::Embed { node: n.name.clone(), value: out, chip, table: t });
        Ok(())
    }
}
