//! Products with accumulation: Conv, Gemm, MatMul. Circuit side: `sigil_air::chips::linear`
//! (a constant operand, Freivalds' check) and `sigil_air::chips::bilinear` (two computed
//! operands).

use super::common::prelude::*;


/// Runs one node of this family (single output).
pub(crate) fn run<'a>(ctx: &Ctx<'_>, n: &Node, get: &Get<'a>) -> R<QTensor> {
    let f = ctx.f;
    match n.op {
        Some(Op::MatMul) if get(0)?.dims.len() != 2 || get(1)?.dims.len() != 2 => {
            let (a, b) = (get(0)?, get(1)?);
            if a.dims.is_empty() || b.dims.is_empty() {
                return Err(ctx.err(n, "MatMul of a scalar is not defined"));
            }
            // numpy's rule: a 1-D left operand is a row [1, k], a 1-D right operand a column
            // [k, 1], and the added dimension is dropped from the result.
            let (a_vec, b_vec) = (a.dims.len() == 1, b.dims.len() == 1);
            let promoted_a;
            let a = if a_vec {
                promoted_a = QTensor { dims: vec![1, a.dims[0]], ..a.clone() };
                &promoted_a
            } else {
                a
            };
            let promoted_b;
            let b = if b_vec {
                promoted_b = QTensor { dims: vec![b.dims[0], 1], ..b.clone() };
                &promoted_b
            } else {
                b
            };
            let (ra, rb) = (a.dims.len(), b.dims.len());
            let (m, k, k2, nn) = (a.dims[ra - 2], a.dims[ra - 1], b.dims[rb - 2], b.dims[rb - 1]);
            if k != k2 {
                return Err(ctx.err(n, format!("inner dimensions {k} and {k2} differ")));
            }
            let batch = broadcast(&a.dims[..ra - 2], &b.dims[..rb - 2]).ok_or_else(|| ctx.err(n, "batch dimensions do not broadcast"))?;
            let nb: usize = batch.iter().product();
            let frac = a.frac_bits + b.frac_bits;
            let out_frac = frac.min(f);
            checked_numel(&[nb, m, nn]).map_err(|e| ctx.err(n, e))?;
            let mut data = Vec::with_capacity(nb * m * nn);
            for bi in 0..nb {
                let ab = bcast_index(&a.dims[..ra - 2], &batch, bi) * m * k;
                let bb = bcast_index(&b.dims[..rb - 2], &batch, bi) * k * nn;
                for i in 0..m {
                    for j in 0..nn {
                        let mut acc: i128 = 0;
                        for p in 0..k {
                            acc += i128::from(a.data[ab + i * k + p]) * i128::from(b.data[bb + p * nn + j]);
                        }
                        ctx.check_acc(n, &[acc], frac)?;
                        data.push(rescale(acc, frac - out_frac) as i64);
                    }
                }
            }
            let mut dims = batch;
            if !a_vec {
                dims.push(m);
            }
            if !b_vec {
                dims.push(nn);
            }
            Ok(QTensor { dims, data, frac_bits: out_frac })
        }
        Some(Op::Gemm | Op::MatMul) => {
            let (a, b) = (get(0)?, get(1)?);
            let gemm = n.op == Some(Op::Gemm);
            if a.dims.len() != 2 || b.dims.len() != 2 {
                return Err(ctx.err(n, format!("only 2-D operands are supported, got {:?} and {:?}", a.dims, b.dims)));
            }
            // alpha and beta other than 1 multiply with f fractional bits, rounded.
            let g = n.attrs.gemm();
            let alpha = (g.alpha != 1.0).then(|| i128::from(quantize(f64::from(g.alpha), f)));
            let beta = (g.beta != 1.0).then(|| i128::from(quantize(f64::from(g.beta), f)));
            let (ta, tb) = (g.trans_a, g.trans_b);
            let (m, k) = if ta { (a.dims[1], a.dims[0]) } else { (a.dims[0], a.dims[1]) };
            let (k2, nn) = if tb { (b.dims[1], b.dims[0]) } else { (b.dims[0], b.dims[1]) };
            if k != k2 {
                return Err(ctx.err(n, format!("inner dimensions {k} and {k2} differ")));
            }
            let at = |i: usize, j: usize| if ta { a.data[j * m + i] } else { a.data[i * k + j] };
            let bt = |i: usize, j: usize| if tb { b.data[j * k + i] } else { b.data[i * nn + j] };
            let frac = a.frac_bits + b.frac_bits;
            let c = if gemm && opt_input(n, 2) { Some(get(2)?) } else { None };
            if c.is_some_and(|c| broadcast(&c.dims, &[m, nn]).as_deref() != Some(&[m, nn][..])) {
                return Err(ctx.err(n, "C does not broadcast to the output"));
            }
            checked_numel(&[m, nn]).map_err(|e| ctx.err(n, e))?;
            let mut data = Vec::with_capacity(m * nn);
            for i in 0..m {
                for j in 0..nn {
                    let mut acc: i128 = 0;
                    for p in 0..k {
                        acc += i128::from(at(i, p)) * i128::from(bt(p, j));
                    }
                    if let Some(al) = alpha {
                        acc = rescale(acc * al, f);
                    }
                    if let Some(c) = c {
                        let cv = i128::from(c.data[bcast_index(&c.dims, &[m, nn], i * nn + j)]);
                        let cv = beta.map_or(cv, |be| rescale(cv * be, f));
                        acc += align(cv, c.frac_bits, frac);
                    }
                    data.push(acc);
                }
            }
            let out_frac = frac.min(f);
            ctx.check_acc(n, &data, frac)?;
            Ok(QTensor { dims: vec![m, nn], data: data.into_iter().map(|v| rescale(v, frac - out_frac) as i64).collect(), frac_bits: out_frac })
        }
        Some(Op::Conv) => {
            let (x, w) = (get(0)?, get(1)?);
            if x.dims.len() != 4 || w.dims.len() != 4 {
                return Err(ctx.err(n, "only 2-D convolutions (NCHW) are supported"));
            }
            let (bn, c, h, wd) = (x.dims[0], x.dims[1], x.dims[2], x.dims[3]);
            let (oc, icg, kh, kw) = (w.dims[0], w.dims[1], w.dims[2], w.dims[3]);
            let win = n.attrs.window();
            let group = usize::try_from(win.group).unwrap_or(0);
            if group == 0 || icg.checked_mul(group) != Some(c) || oc % group != 0 {
                return Err(ctx.err(n, format!("channels {c}, weight {:?} and group {group} do not fit", w.dims)));
            }
            let strides = win.strides.clone().unwrap_or(vec![1, 1]);
            let dil = win.dilations.clone().unwrap_or(vec![1, 1]);
            if strides.len() != 2 || dil.len() != 2 || strides.iter().chain(&dil).any(|&v| !(1..=MAX_WINDOW).contains(&v)) || kh == 0 || kw == 0 {
                return Err(ctx.err(n, format!("strides {strides:?}, dilations {dil:?} or kernel {kh}x{kw} are invalid")));
            }
            let (sh, sw, dh, dw) = (strides[0] as usize, strides[1] as usize, dil[0] as usize, dil[1] as usize);
            let (ekh, ekw) = (dh * (kh - 1) + 1, dw * (kw - 1) + 1);
            let (pb0, pe0) = window_pads_nd(win, &[h, wd], &[ekh, ekw], &[sh, sw]).map_err(|e| ctx.err(n, e))?;
            let [pt, pl, pb, pr] = [pb0[0], pb0[1], pe0[0], pe0[1]];
            if h + pt + pb < ekh || wd + pl + pr < ekw {
                return Err(ctx.err(n, format!("kernel {ekh}x{ekw} is larger than the padded input {:?}", x.dims)));
            }
            let oh = (h + pt + pb - ekh) / sh + 1;
            let ow = (wd + pl + pr - ekw) / sw + 1;
            let frac = x.frac_bits + w.frac_bits;
            let bias = if opt_input(n, 2) { Some(get(2)?) } else { None };
            if bias.is_some_and(|b| b.data.len() != oc) {
                return Err(ctx.err(n, format!("the bias does not have {oc} values")));
            }
            let ocg = oc / group;
            let geom = ConvGeom { c, h, wd, icg, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow };
            // Products summed in i64 when no partial sum can pass 2^62 (bounded by the largest
            // magnitudes), else in i128; the same sum either way.
            let narrow = sums_fit_i64(&x.data, &w.data, bias.map_or(0, |b| bits_max(&b.data) + frac - b.frac_bits.min(frac)), icg * kh * kw);
            let plane = oh * ow;
            checked_numel(&[bn, oc, oh, ow]).map_err(|e| ctx.err(n, e))?;
            let mut data = vec![0i64; bn * oc * plane];
            let out_frac = f.min(frac);
            if plane > 0 {
                data.par_chunks_mut(plane).enumerate().try_for_each(|(bo, out)| -> Result<(), OnnxError> {
                    let (b, o) = (bo / oc, bo % oc);
                    let init = bias.map_or(0, |bt| align(i128::from(bt.data[o]), bt.frac_bits, frac));
                    let accs: Vec<i128> = if narrow {
                        conv_plane::<i64>(&geom, &x.data, &w.data, b, o, o / ocg, init as i64)
                    } else {
                        conv_plane::<i128>(&geom, &x.data, &w.data, b, o, o / ocg, init)
                    };
                    ctx.check_acc(n, &accs, frac)?;
                    for (dst, acc) in out.iter_mut().zip(accs) {
                        *dst = rescale(acc, frac - out_frac) as i64;
                    }
                    Ok(())
                })?;
            }
            Ok(QTensor { dims: vec![bn, oc, oh, ow], data, frac_bits: out_frac })
        }
        _ => Err(ctx.unsupported(n)),
    }
}

/// Bits of the largest magnitude in `v`.
fn bits_max(v: &[i64]) -> u32 {
    v.iter().map(|&x| bits_of(x)).max().unwrap_or(0)
}

/// Whether every partial sum of up to `terms` products of an element of `x` and one of `w`,
/// plus a start value of at most `init_bits` bits, stays below 2^62 in magnitude:
/// `(terms + 1) * 2^max(bits(x) + bits(w), init_bits) <= 2^62`.
fn sums_fit_i64(x: &[i64], w: &[i64], init_bits: u32, terms: usize) -> bool {
    let t = 64 - (terms as u64 + 1).leading_zeros();
    (bits_max(x) + bits_max(w)).max(init_bits) + t <= 62
}

/// The shape of a 2-D convolution: input channels, height, width; input channels per group;
/// kernel; strides; dilations; top and left pads; output height and width.
struct ConvGeom {
    c: usize,
    h: usize,
    wd: usize,
    icg: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    dh: usize,
    dw: usize,
    pt: usize,
    pl: usize,
    oh: usize,
    ow: usize,
}

/// One output plane (batch `b`, output channel `o` of group `g`) of a convolution: the product
/// sums before rescaling, accumulated in `A`.
fn conv_plane<A>(g: &ConvGeom, x: &[i64], w: &[i64], b: usize, o: usize, grp: usize, init: A) -> Vec<i128>
where
    A: Copy + From<i64> + std::ops::Add<Output = A> + std::ops::Mul<Output = A> + Into<i128>,
{
    let mut out = Vec::with_capacity(g.oh * g.ow);
    for oy in 0..g.oh {
        for ox in 0..g.ow {
            let mut acc = init;
            for ci in 0..g.icg {
                let cin = grp * g.icg + ci;
                for ky in 0..g.kh {
                    let iy = (oy * g.sh + ky * g.dh) as isize - g.pt as isize;
                    if iy < 0 || iy >= g.h as isize {
                        continue;
                    }
                    let xrow = ((b * g.c + cin) * g.h + iy as usize) * g.wd;
                    let wrow = ((o * g.icg + ci) * g.kh + ky) * g.kw;
                    for kx in 0..g.kw {
                        let ix = (ox * g.sw + kx * g.dw) as isize - g.pl as isize;
                        if ix < 0 || ix >= g.wd as isize {
                            continue;
                        }
                        acc = acc + A::from(x[xrow + ix as usize]) * A::from(w[wrow + kx]);
                    }
                }
            }
            out.push(acc.into());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At the edge of `sums_fit_i64`, the worst case (every product at its largest, same sign)
    /// sums in i64 without overflow (debug builds would panic) and equals the i128 sum.
    #[test]
    fn narrow_sums_cannot_overflow() {
        for bx in [1u32, 20, 30, 40] {
            for terms in [1usize, 9, 27, 300, 4096] {
                for bw in (1..62u32.saturating_sub(bx)).rev() {
                    let x = vec![-(1i64 << (bx - 1)) - ((1i64 << (bx - 1)) - 1); terms];
                    let w = vec![(1i64 << (bw - 1)) + ((1i64 << (bw - 1)) - 1); terms];
                    if !sums_fit_i64(&x, &w, 0, terms) {
                        continue;
                    }
                    let g = ConvGeom { c: 1, h: 1, wd: terms, icg: 1, kh: 1, kw: terms, sh: 1, sw: 1, dh: 1, dw: 1, pt: 0, pl: 0, oh: 1, ow: 1 };
                    let narrow = conv_plane::<i64>(&g, &x, &w, 0, 0, 0, 0);
                    let wide = conv_plane::<i128>(&g, &x, &w, 0, 0, 0, 0);
                    assert_eq!(narrow, wide);
                    // The bound is tight to a few bits: the largest fitting weight width.
                    assert!(bx + bw + (64 - (terms as u64 + 1).leading_zeros()) >= 61, "{bx} {bw} {terms}");
                    break;
                }
            }
        }
    }
}
