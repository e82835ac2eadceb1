//! MaxPool, AveragePool and their global forms over 2-D windows.

use super::*;

impl<'a> Compiler<'a> {
    /// The windows of a 2-D pooling node over its input `xd`: each window's source elements
    /// (`None` on the padding), the window's size, and the output's length.
    pub(super) fn windows(&self, n: &Node, xd: &[usize]) -> Result<(Vec<Option<u32>>, usize, usize), ModelError> {
        if xd.len() != 4 {
            return Err(self.err(n, "only 2-D pooling is proved"));
        }
        let (bc, h, wd) = (xd[0] * xd[1], xd[2], xd[3]);
        let global = n.op == Some(Op::GlobalAveragePool);
        let win = n.attrs.window();
        let (k, s, d) = if global {
            (vec![h as i64, wd as i64], vec![1, 1], vec![1, 1])
        } else {
            let k = win.kernel_shape.clone().ok_or_else(|| self.err(n, "kernel_shape is required"))?;
            (k, win.strides.clone().unwrap_or(vec![1, 1]), win.dilations.clone().unwrap_or(vec![1, 1]))
        };
        if k.len() != 2 || s.len() != 2 || d.len() != 2 || win.ceil_mode {
            return Err(self.err(n, "only 2-D pooling without ceil_mode is proved"));
        }
        let (kh, kw, sh, sw, dh, dw) = (k[0] as usize, k[1] as usize, s[0] as usize, s[1] as usize, d[0] as usize, d[1] as usize);
        let (ekh, ekw) = (dh * (kh - 1) + 1, dw * (kw - 1) + 1);
        let (pb, pe) = if global { (vec![0, 0], vec![0, 0]) } else { crate::window_pads_nd(win, &[h, wd], &[ekh, ekw], &[sh, sw]).map_err(|e| self.err(n, e))? };
        let oh = (h + pb[0] + pe[0] - ekh) / sh + 1;
        let ow = (wd + pb[1] + pe[1] - ekw) / sw + 1;
        let window = kh * kw;
        let mut src = Vec::with_capacity(bc * oh * ow * window);
        for c in 0..bc {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * sh + ky * dh) as isize - pb[0] as isize;
                            let ix = (ox * sw + kx * dw) as isize - pb[1] as isize;
                            let inside = iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd;
                            src.push(inside.then(|| ((c * h + iy as usize) * wd + ix as usize) as u32));
                        }
                    }
                }
            }
        }
        for (q, win) in src.chunks(window).enumerate() {
            if win.iter().all(Option::is_none) {
                return Err(self.err(n, format!("window {q} lies entirely on the padding")));
            }
        }
        Ok((src, window, bc * oh * ow))
    }

    pub(crate) fn maxpool(&mut self, n: &Node) -> Result<(), ModelError> {
        if n.outputs.len() > 1 && !n.outputs[1].is_empty() {
            return Err(self.err(n, "MaxPool's Indices output is not proved"));
        }
        let x = self.wire(n, 0)?;
        let (_, xd, _) = self.range_bits(n, &n.inputs[0])?;
        let (src, window, outputs) = self.windows(n, &xd)?;
        for s in src.iter().flatten() {
            self.read(&x, *s);
        }
        let (xbus, xidx) = self.gathered(n, &x)?;
        let src = src.into_iter().map(|s| s.map(|s| xidx[s as usize])).collect();
        let bus = self.bus(outputs);
        let out = n.outputs[0].clone();
        let chip = MaxPool { name: n.name.clone(), window, src, uses: vec![], bits: x.bits + 1, in_bus: xbus, out_bus: bus, log_height: MaxPool::min_log_height(outputs, window) };
        self.wires.insert(out.clone(), Wire::new(bus, outputs, x.bits));
        self.steps.push(Step::MaxPool { node: n.name.clone(), value: out, chip });
        Ok(())
    }

    /// AveragePool: each window's sum by a linear layer of ones (one output per position), then
    /// its division by the window's size, rounded as the executor rounds it. Windows that
    /// overlap the padding with `count_include_pad = 0` divide by fewer elements, a divisor per
    /// element: not proved yet.
    pub(crate) fn avgpool(&mut self, n: &Node) -> Result<(), ModelError> {
        let x = self.wire(n, 0)?;
        let (_, xd, _) = self.range_bits(n, &n.inputs[0])?;
        let out = n.outputs[0].clone();
        let (rb, _, _) = self.range_bits(n, &out)?;
        let (src, window, outputs) = self.windows(n, &xd)?;
        if !n.attrs.window().count_include_pad && src.iter().any(Option::is_none) {
            return Err(self.err(n, "windows on the padding divide by fewer elements: not proved yet"));
        }
        let (sum, div, wire) = self.sum_and_divide(n, &n.name, &x, src, (window, window as i64, outputs), rb + 1)?;
        self.wires.insert(out.clone(), wire);
        self.steps.push(Step::AvgPool { node: n.name.clone(), value: out, sum, div });
        Ok(())
    }
}
