//! Where ([`Select`]).

use super::*;

impl<'a> Compiler<'a> {
    /// Where(c, a, b): the condition a boolean, the branches aligned to the output's scale.
    pub(crate) fn select(&mut self, n: &Node) -> Result<(), ModelError> {
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
}
