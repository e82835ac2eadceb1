//! LSTM, laid out step by step with the chips of the other families.

use super::*;

impl<'a> Compiler<'a> {
    /// LSTM (forward, Sigmoid/Tanh/Tanh, no peepholes, constant weights and initial states)
    /// laid out step by step with the chips above, exactly as the executor computes it
    /// (`onnx-frontend/src/ops/lstm.rs`): per step `t`, the gates' pre-activations
    /// `rescale(x_t W^T) + rescale(h_{t-1} R^T) + b` (the biases, and `h_{-1} R^T` for a
    /// constant initial state, folded into the first product's accumulator, which leaves its
    /// rounding unchanged since they are whole multiples of its scale), the four activations
    /// through their tables, `c_t = rescale(f c_{t-1} + i g)` and `h_t = rescale(o tanh(c_t))`.
    /// The states' ranges are bounded from the activations' (|sigmoid|, |tanh| <= 1), not
    /// calibrated: `|c_t| <= |c_{t-1}| + 1`, `|h_t| <= 1`.
    pub(crate) fn lstm(&mut self, n: &Node) -> Result<(), ModelError> {
        let x = self.wire(n, 0)?;
        let (_, xd, fx) = self.range_bits(n, &n.inputs[0])?;
        let f = self.plan.frac_bits;
        let at = n.attrs.lstm().ok_or_else(|| self.err(n, "not an LSTM"))?;
        let hidden = at.hidden_size.max(0) as usize;
        if at.direction != "forward" || at.batchwise {
            return Err(self.err(n, "only forward LSTMs in the default layout are proved yet"));
        }
        if n.inputs.get(7).is_some_and(|p| !p.is_empty()) {
            return Err(self.err(n, "peepholes are not proved yet"));
        }
        let w = self.constant(n, 1)?.ok_or_else(|| self.err(n, "W is missing"))?;
        let r = self.constant(n, 2)?.ok_or_else(|| self.err(n, "R is missing"))?;
        let bias = self.constant(n, 3)?;
        let h0 = self.constant(n, 5)?;
        let c0 = self.constant(n, 6)?;
        if xd.len() != 3 || hidden == 0 {
            return Err(self.err(n, format!("X of shape {xd:?}: [seq, batch, input] expected")));
        }
        let (seq, batch, inp) = (xd[0], xd[1], xd[2]);
        let h4 = 4 * hidden;
        if w.dims != [1, h4, inp] || r.dims != [1, h4, hidden] || fx + w.frac_bits < f {
            return Err(self.err(n, format!("W {:?}, R {:?} or their scales do not fit", w.dims, r.dims)));
        }
        let state = |t: Option<&QTensor>| -> Vec<i64> {
            t.map_or(vec![0; batch * hidden], |t| t.data.iter().take(batch * hidden).map(|&v| align(i128::from(v), t.frac_bits, f) as i64).collect())
        };
        let (h_init, c_init) = (state(h0), state(c0));
        // The constant part of each gate's pre-activation, at f bits, per batch row: both biases,
        // and the initial state's product (the executor rounds it as it does every h R^T).
        let bconst: Vec<i64> = (0..h4)
            .map(|row| bias.map_or(0, |b| (align(i128::from(b.data[row]), b.frac_bits, f) + align(i128::from(b.data[h4 + row]), b.frac_bits, f)) as i64))
            .collect();
        let h0r = |bi: usize, row: usize| -> i64 {
            let v: i128 = (0..hidden).map(|p| i128::from(h_init[bi * hidden + p]) * i128::from(r.data[row * hidden + p])).sum();
            align(v, f + r.frac_bits, f) as i64
        };
        let sx = fx + w.frac_bits - f;
        let sr = r.frac_bits;
        let lin = |name: String, k: usize, weights: &[i64], bias: Vec<F>| {
            let chunk = chunk_for(batch, k, h4);
            Linear {
                name,
                positions: batch,
                k,
                n: h4,
                chunk,
                weights: (0..k * h4).map(|i| F::from_i64(weights[(i % h4) * k + i / h4])).collect(),
                bias,
                src: (0..batch * k).map(|i| Some(i as u32)).collect(),
                out: (0..(batch * h4) as u32).collect(),
                uses: vec![1; batch * h4],
                in_bus: 0,
                out_bus: 0,
                log_height: Linear::min_log_height(batch, k, h4, chunk),
            }
        };
        let one = 1i64 << f;
        let act_bits = f + 2;
        let bits_of = |m: i64| 64 - m.unsigned_abs().leading_zeros() + 1;
        if batch != 1 && h0.is_some() {
            return Err(self.err(n, "an initial state with several batch rows is not proved yet"));
        }
        let mut c_bound = c_init.iter().map(|v| v.abs()).max().unwrap_or(0);
        let mut h_prev: Option<Wire> = None;
        let mut c_prev: Option<Wire> = None;
        let mut ys: Vec<Wire> = Vec::new();
        for t in 0..seq {
            let tag = |s: &str| format!("{}/t{t}/{s}", n.name);
            // x_t W^T + biases (+ h_{-1} R^T at t = 0), rescaled.
            let xt = Wire { src: x.src[t * batch * inp..(t + 1) * batch * inp].to_vec(), bits: x.bits };
            let bias_acc: Vec<F> = (0..h4)
                .map(|row| {
                    let extra = if t == 0 { h0r(0, row) } else { 0 };
                    F::from_i64((bconst[row] + extra) << sx)
                })
                .collect();
            let mut gx = lin(tag("x W"), inp, &w.data, bias_acc);
            gx.out_bus = self.bus(batch * h4);
            let (gx, gx_r, gx_w) = self.product_chip(n, tag("x W/rescale"), &xt, gx, sx, None)?;
            self.steps.push(Step::Linear { node: tag("x W"), value: String::new(), linear: gx, rescale: gx_r });
            let gh_w = match &h_prev {
                None => None,
                Some(h) => {
                    let mut gh = lin(tag("h R"), hidden, &r.data, vec![]);
                    gh.out_bus = self.bus(batch * h4);
                    let (gh, gh_r, gh_w) = self.product_chip(n, tag("h R/rescale"), h, gh, sr, None)?;
                    self.steps.push(Step::Linear { node: tag("h R"), value: String::new(), linear: gh, rescale: gh_r });
                    Some(gh_w)
                }
            };
            // The gates' pre-activations as one tensor [batch, 4H] (ONNX order i, o, f, c; the
            // cell input c called g here); i, o, f through one Sigmoid table chip, g through Tanh.
            let (len, len4) = (batch * hidden, batch * h4);
            let a = self.bus_operand(n, &gx_w, 0..len4)?;
            let b = match &gh_w {
                Some(gh) => self.bus_operand(n, gh, 0..len4)?,
                None => Operand::Const(vec![0; len4]),
            };
            let (chip, pre) = self.binary_chip(n, tag("gates"), BinaryOp::Add, (a, 0), (b, 0), len4)?;
            self.steps.push(Step::Binary { node: tag("gates"), value: String::new(), chip, rescale: None });
            let part = |from: usize, width: usize| Wire {
                src: (0..batch).flat_map(|bi| (from..from + width).map(move |j| bi * h4 + j)).map(|i| pre.src[i]).collect(),
                bits: pre.bits,
            };
            let (chip, table, sig) = self.lut_chip(n, tag("Sigmoid i o f"), Func::Sigmoid, &part(0, 3 * hidden), f, f, act_bits)?;
            self.steps.push(Step::Lut { node: tag("Sigmoid i o f"), value: String::new(), chip, table });
            let (chip, table, g) = self.lut_chip(n, tag("Tanh g"), Func::Tanh, &part(3 * hidden, hidden), f, f, act_bits)?;
            self.steps.push(Step::Lut { node: tag("Tanh g"), value: String::new(), chip, table });
            // Gate q of every batch row in the Sigmoid chip's output [batch, 3H].
            let gate = |q: usize| (0..batch).flat_map(move |bi| (0..hidden).map(move |j| bi * 3 * hidden + q * hidden + j));
            let all = || 0..len;
            // c_t = rescale(f c_{t-1} + i g).
            let fo = self.bus_operand(n, &sig, gate(2))?;
            let cp = match &c_prev {
                Some(c) => self.bus_operand(n, c, all())?,
                None => Operand::Const(c_init.clone()),
            };
            let (fc, fc_w) = self.binary_chip(n, tag("f c"), BinaryOp::Mul, (fo, 0), (cp, 0), len)?;
            self.steps.push(Step::Binary { node: tag("f c"), value: String::new(), chip: fc, rescale: None });
            let (io_, go) = (self.bus_operand(n, &sig, gate(0))?, self.bus_operand(n, &g, all())?);
            let (ig, ig_w) = self.binary_chip(n, tag("i g"), BinaryOp::Mul, (io_, 0), (go, 0), len)?;
            self.steps.push(Step::Binary { node: tag("i g"), value: String::new(), chip: ig, rescale: None });
            let (a, b) = (self.bus_operand(n, &fc_w, all())?, self.bus_operand(n, &ig_w, all())?);
            let (sum, sum_w) = self.binary_chip(n, tag("c"), BinaryOp::Add, (a, 0), (b, 0), len)?;
            c_bound += one + 1;
            let sum_bus = sum.out_bus;
            let (c_r, c_w) = self.rescale_to(n, tag("c/rescale"), sum_bus, len, sum_w.bits, f, bits_of(c_bound))?;
            self.steps.push(Step::Binary { node: tag("c"), value: String::new(), chip: sum, rescale: Some(c_r) });
            // h_t = rescale(o tanh(c_t)).
            let (chip, table, tc) = self.lut_chip(n, tag("Tanh c"), Func::Tanh, &c_w, f, f, act_bits)?;
            self.steps.push(Step::Lut { node: tag("Tanh c"), value: String::new(), chip, table });
            let (a, b) = (self.bus_operand(n, &sig, gate(1))?, self.bus_operand(n, &tc, all())?);
            let (oh, oh_w) = self.binary_chip(n, tag("h"), BinaryOp::Mul, (a, 0), (b, 0), len)?;
            let oh_bus = oh.out_bus;
            let (h_r, h_w) = self.rescale_to(n, tag("h/rescale"), oh_bus, len, oh_w.bits, f, bits_of(one + 1))?;
            self.steps.push(Step::Binary { node: tag("h"), value: String::new(), chip: oh, rescale: Some(h_r) });
            ys.push(h_w.clone());
            h_prev = Some(h_w);
            c_prev = Some(c_w);
        }
        // Y [seq, 1, batch, hidden], Y_h and Y_c [1, batch, hidden].
        let y = Wire { src: ys.iter().flat_map(|w| w.src.iter().copied()).collect(), bits: ys.iter().map(|w| w.bits).max().unwrap_or(0) };
        let outs = [Some(y), h_prev, c_prev];
        for (name, w) in n.outputs.iter().zip(outs) {
            if let (false, Some(w)) = (name.is_empty(), w) {
                self.wires.insert(name.clone(), w);
            }
        }
        Ok(())
    }
}
