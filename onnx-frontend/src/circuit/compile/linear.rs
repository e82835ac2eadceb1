//! Conv, Gemm and MatMul: products by constants ([`Linear`], [`PolyConv`]) or of two computed
//! tensors ([`MatProd`], [`Bilinear`]), each with its rescale.

use super::*;

impl<'a> Compiler<'a> {
    /// MatMul: by a constant, as Gemm; of two computed tensors, [`Bilinear`].
    pub(crate) fn matmul(&mut self, n: &Node) -> Result<(), ModelError> {
        if n.inputs.get(1).is_some_and(|b| !self.plan.consts.contains_key(b)) { self.matmul2(n) } else { self.gemm(n) }
    }

    pub(crate) fn conv(&mut self, n: &Node) -> Result<(), ModelError> {
        let x = self.wire(n, 0)?;
        let xin = n.inputs[0].clone();
        let (_, xd, xf) = self.range_bits(n, &xin)?;
        let w = self.constant(n, 1)?.ok_or_else(|| self.err(n, "the kernel is missing"))?;
        let bias = self.constant(n, 2)?;
        if xd.len() != 4 || w.dims.len() != 4 {
            return Err(self.err(n, "only 2-D convolutions are proved"));
        }
        let win = n.attrs.window();
        let groups = usize::try_from(win.group).unwrap_or(0);
        let (bn, c, h, wd) = (xd[0], xd[1], xd[2], xd[3]);
        let (oc, icg, kh, kw) = (w.dims[0], w.dims[1], w.dims[2], w.dims[3]);
        if groups == 0 || c % groups != 0 || oc % groups != 0 || icg * groups != c {
            return Err(self.err(n, format!("kernel {:?} in {groups} groups does not fit {c} channels", w.dims)));
        }
        let s = win.strides.clone().unwrap_or(vec![1, 1]);
        let d = win.dilations.clone().unwrap_or(vec![1, 1]);
        let (sh, sw, dh, dw) = (s[0] as usize, s[1] as usize, d[0] as usize, d[1] as usize);
        let (ekh, ekw) = (dh * (kh - 1) + 1, dw * (kw - 1) + 1);
        let (pb, pe) = crate::window_pads_nd(win, &[h, wd], &[ekh, ekw], &[sh, sw]).map_err(|e| self.err(n, e))?;
        let (pt, pl) = (pb[0], pb[1]);
        let oh = (h + pb[0] + pe[0] - ekh) / sh + 1;
        let ow = (wd + pb[1] + pe[1] - ekw) / sw + 1;
        let frac = xf + w.frac_bits;
        let (_, _, out_frac) = self.range_bits(n, &n.outputs[0])?;
        let bias = bias.map(|b| b.data.iter().map(|&v| F::from_i64(align(i128::from(v), b.frac_bits, frac) as i64)).collect()).unwrap_or_default();
        // The polynomial check costs a row per input, weight and output coefficient; the
        // Freivalds layout a row per position and kernel tap, with the weights beside them.
        let k = c * kh * kw;
        let len = bn * oc * oh * ow;
        let mut conv = PolyConv {
            name: n.name.clone(),
            batch: bn,
            groups,
            c,
            h,
            w: wd,
            pads: [pb[0], pb[1], pe[0], pe[1]],
            oc,
            kh,
            kw,
            sh,
            sw,
            weights: w.data.iter().map(|&v| F::from_i64(v)).collect(),
            bias,
            src: (0..(bn * c * h * wd) as u32).collect(),
            out: (0..len as u32).collect(),
            uses: vec![1; len],
            in_bus: 0,
            out_bus: 0,
            log_height: 0,
        };
        conv.log_height = conv.min_log_height();
        let poly_cells = POLYCONV_COLUMNS << conv.log_height;
        let chunk = chunk_for(bn * oh * ow, k, oc);
        let linear_cells = (LINEAR_COLUMNS + chunk) << Linear::min_log_height(bn * oh * ow, k, oc, chunk);
        if dh == 1 && dw == 1 && (groups > 1 || poly_cells < linear_cells) {
            conv.out_bus = self.bus(len);
            return self.product_step(n, x, conv, frac - out_frac, |node, value, conv, rescale| Step::Conv { node, value, conv, rescale });
        }
        if groups != 1 {
            return Err(self.err(n, "grouped convolutions with dilations are not proved yet"));
        }
        let plane = oh * ow;
        let positions = bn * plane;
        let mut src = Vec::with_capacity(positions * k);
        let mut out = Vec::with_capacity(positions * oc);
        for b in 0..bn {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ci in 0..c {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * sh + ky * dh) as isize - pt as isize;
                                let ix = (ox * sw + kx * dw) as isize - pl as isize;
                                let inside = iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd;
                                src.push(inside.then(|| (((b * c + ci) * h + iy as usize) * wd + ix as usize) as u32));
                            }
                        }
                    }
                    for o in 0..oc {
                        out.push(((b * oc + o) * plane + oy * ow + ox) as u32);
                    }
                }
            }
        }
        let weights = (0..k * oc).map(|i| F::from_i64(w.data[(i % oc) * k + i / oc])).collect();
        let acc = self.bus(len);
        let linear = Linear {
            name: n.name.clone(),
            positions,
            k,
            n: oc,
            chunk,
            weights,
            bias: std::mem::take(&mut conv.bias),
            src,
            out,
            uses: vec![1; len],
            in_bus: 0,
            out_bus: acc,
            log_height: Linear::min_log_height(positions, k, oc, chunk),
        };
        self.linear_step(n, x, linear, frac - out_frac)
    }

    pub(crate) fn gemm(&mut self, n: &Node) -> Result<(), ModelError> {
        let gemm = n.op == Some(Op::Gemm);
        let g = n.attrs.gemm();
        if g.alpha != 1.0 || g.beta != 1.0 || g.trans_a {
            return Err(self.err(n, "alpha, beta and transA other than the defaults are not proved yet"));
        }
        let x = self.wire(n, 0)?;
        let (_, xd, xf) = self.range_bits(n, &n.inputs[0])?;
        let w = self.constant(n, 1)?.ok_or_else(|| self.err(n, "the weights are missing"))?;
        let c = if gemm { self.constant(n, 2)? } else { None };
        // Gemm's operand is a matrix; MatMul's may have leading dims, which a product by a
        // constant matrix treats as more rows: `[..., m, k] x [k, n]` is `[(...) m, k] x [k, n]`
        // in the same row-major order (all tokens of a sequence through one weight matrix).
        if (gemm && xd.len() != 2) || xd.len() < 2 || w.dims.len() != 2 {
            return Err(self.err(n, format!("only products of a matrix (or, for MatMul, a stack of them) by a constant matrix are proved, got {xd:?} by {:?}", w.dims)));
        }
        let tb = g.trans_b;
        let (m, k) = (xd[..xd.len() - 1].iter().product::<usize>(), xd[xd.len() - 1]);
        let nn = if tb { w.dims[0] } else { w.dims[1] };
        let wt = |j: usize, o: usize| if tb { w.data[o * k + j] } else { w.data[j * nn + o] };
        let frac = xf + w.frac_bits;
        let (_, _, out_frac) = self.range_bits(n, &n.outputs[0])?;
        let bias = match c {
            None => vec![],
            Some(c) if c.data.len() == nn => c.data.iter().map(|&v| F::from_i64(align(i128::from(v), c.frac_bits, frac) as i64)).collect(),
            Some(c) => return Err(self.err(n, format!("a bias of shape {:?} (not one value per output) is not proved yet", c.dims))),
        };
        let len = m * nn;
        let acc = self.bus(len);
        let linear = Linear {
            name: n.name.clone(),
            positions: m,
            k,
            n: nn,
            chunk: chunk_for(m, k, nn),
            weights: (0..k * nn).map(|i| F::from_i64(wt(i / nn, i % nn))).collect(),
            bias,
            src: (0..m * k).map(|i| Some(i as u32)).collect(),
            out: (0..len as u32).collect(),
            uses: vec![1; len],
            in_bus: 0,
            out_bus: acc,
            log_height: Linear::min_log_height(m, k, nn, chunk_for(m, k, nn)),
        };
        self.linear_step(n, x, linear, frac - out_frac)
    }

    /// MatMul of two computed tensors `[..., m, k] x [..., k, n]` with the same batch dims:
    /// a random linear combination of every output checked in `k (m + n) + m n` rows per
    /// batch ([`MatProd`]) or a row per term ([`Bilinear`]), and a rescale.
    pub(super) fn matmul2(&mut self, n: &Node) -> Result<(), ModelError> {
        let (a, b) = (self.wire(n, 0)?, self.wire(n, 1)?);
        let (_, ad, fa) = self.range_bits(n, &n.inputs[0])?;
        let (_, bd, fb) = self.range_bits(n, &n.inputs[1])?;
        let out = n.outputs[0].clone();
        let (_, od, out_frac) = self.range_bits(n, &out)?;
        if ad.len() < 2 || bd.len() < 2 || ad[..ad.len() - 2] != bd[..bd.len() - 2] || ad[ad.len() - 1] != bd[bd.len() - 2] {
            return Err(self.err(n, format!("a product of {ad:?} by {bd:?} (batch dims broadcast, or 1-D operands) is not proved yet")));
        }
        let (m, k, nn) = (ad[ad.len() - 2], ad[ad.len() - 1], bd[bd.len() - 1]);
        let batches: usize = ad[..ad.len() - 2].iter().product();
        if od.iter().product::<usize>() != batches * m * nn {
            return Err(self.err(n, format!("output {od:?} does not fit {ad:?} x {bd:?}")));
        }
        let bus = self.bus(batches * m * nn);
        let ((abus, aidx), (bbus, bidx)) = (self.gathered(n, &a)?, self.gathered(n, &b)?);
        // Checked after a challenge ([`MatProd`]) when that takes at least 4 times fewer rows
        // than a row per term: attention's products; the corpus's small ones keep a row per term.
        let terms = batches * m * nn * k;
        if log_rows(batches * (k * (m + nn) + m * nn)) + 2 <= log_rows(terms) {
            let mut chip = MatProd::new(n.name.clone(), (batches, m, k, nn), (abus, aidx, a.bits), (bbus, bidx, b.bits), bus).map_err(|e| self.wide(n, e.to_string()))?;
            for i in 0..(batches * m * k) as u32 {
                self.read(&a, i);
            }
            for i in 0..(batches * k * nn) as u32 {
                self.read(&b, i);
            }
            chip.uses = vec![];
            let (rescale, wire) = self.rescale(n, bus, batches * m * nn, chip.output_bits(), fa + fb - out_frac)?;
            self.wires.insert(out.clone(), wire);
            self.steps.push(Step::MatProd { node: n.name.clone(), value: out, chip, rescale });
            return Ok(());
        }
        let chip = Bilinear::new(n.name.clone(), (batches, m, k, nn), (abus, aidx, a.bits), (bbus, bidx, b.bits), bus)
            .map_err(|e| self.wide(n, e.to_string()))?;
        for r in 0..batches * m * nn * k {
            let (l, rest) = (r % k, r / k);
            let (j, rest) = (rest % nn, rest / nn);
            let (i, t) = (rest % m, rest / m);
            self.read(&a, ((t * m + i) * k + l) as u32);
            self.read(&b, ((t * k + l) * nn + j) as u32);
        }
        let mut chip = chip;
        chip.uses = vec![];
        let (rescale, wire) = self.rescale(n, bus, batches * m * nn, chip.output_bits(), fa + fb - out_frac)?;
        self.wires.insert(out.clone(), wire);
        self.steps.push(Step::Bilinear { node: n.name.clone(), value: out, chip, rescale });
        Ok(())
    }
}
