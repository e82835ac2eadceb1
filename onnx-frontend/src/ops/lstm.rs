//! LSTM (multi-output: run through [`super::run_multi`]). Circuit side: laid out step by step
//! by the compiler with the linear, elementwise, table and rescale chips.

use super::common::prelude::*;

/// LSTM (ONNX gate order i, o, f, c) in every direction, with the default activations
/// (Sigmoid, Tanh, Tanh) through their tables. Returns Y, Y_h and Y_c.
pub(crate) fn lstm(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<Vec<QTensor>> {
    let f = ctx.f;
    let (x, w, rw) = (get(0)?, get(1)?, get(2)?);
    let at = n.attrs.lstm().ok_or_else(|| ctx.err(n, "not an LSTM"))?;
    let hidden = at.hidden_size.max(0) as usize;
    if let Some(acts) = &at.activations {
        let want: &[&[u8]] = &[b"Sigmoid", b"Tanh", b"Tanh"];
        if acts.chunks(3).any(|c| c.iter().map(|s| s.as_slice()).ne(want.iter().copied().take(c.len()))) {
            return Err(ctx.err(n, "only the activations Sigmoid, Tanh, Tanh are supported"));
        }
    }
    if at.clip || at.input_forget {
        return Err(ctx.err(n, "clip and input_forget are not supported"));
    }
    // layout = 1: X is [batch, seq, input] and the states [batch, dirs, hidden]; run in the
    // default layout and transpose back.
    let batchwise = at.batchwise;
    let swap01 = |t: &QTensor| -> QTensor {
        if t.dims.len() < 2 {
            return t.clone();
        }
        let (a, b) = (t.dims[0], t.dims[1]);
        let inner: usize = t.dims[2..].iter().product();
        let mut data = Vec::with_capacity(t.data.len());
        for j in 0..b {
            for i in 0..a {
                data.extend_from_slice(&t.data[(i * b + j) * inner..(i * b + j + 1) * inner]);
            }
        }
        let mut dims = t.dims.clone();
        dims.swap(0, 1);
        QTensor { dims, data, frac_bits: t.frac_bits }
    };
    let x_owned;
    let x = if batchwise {
        x_owned = swap01(x);
        &x_owned
    } else {
        x
    };
    let direction = at.direction.clone();
    let dirs = match direction.as_str() {
        "forward" | "reverse" => 1,
        "bidirectional" => 2,
        d => return Err(ctx.err(n, format!("direction {d} is unknown"))),
    };
    let reverse = direction == "reverse";
    if x.dims.len() != 3 {
        return Err(ctx.err(n, format!("X has shape {:?}, [seq, batch, input] expected", x.dims)));
    }
    let (seq, batch, inp) = (x.dims[0], x.dims[1], x.dims[2]);
    let h4 = 4 * hidden;
    if hidden == 0 || w.dims != [dirs, h4, inp] || rw.dims != [dirs, h4, hidden] {
        return Err(ctx.err(n, format!("W {:?} and R {:?} do not fit hidden_size {hidden}, {dirs} direction(s), input {inp}", w.dims, rw.dims)));
    }
    let b = if opt_input(n, 3) { Some(get(3)?) } else { None };
    if b.is_some_and(|b| b.dims != [dirs, 2 * h4]) {
        return Err(ctx.err(n, format!("B does not have shape [{dirs}, {}]", 2 * h4)));
    }
    if opt_input(n, 4) && ints(get(4)?).is_some_and(|s| s.iter().any(|&l| l != seq as i64)) {
        return Err(ctx.err(n, "sequence_lens shorter than the sequence are not supported"));
    }
    let state = |k: usize| -> R<Option<QTensor>> {
        if !opt_input(n, k) {
            return Ok(None);
        }
        let t = if batchwise { swap01(get(k)?) } else { get(k)?.clone() };
        if t.dims != [dirs, batch, hidden] {
            return Err(ctx.err(n, format!("initial state has shape {:?}, [{dirs}, {batch}, {hidden}] expected", t.dims)));
        }
        Ok(Some(t))
    };
    let (h0, c0) = (state(5)?, state(6)?);
    let p = if opt_input(n, 7) { Some(get(7)?) } else { None };
    if p.is_some_and(|p| p.dims != [dirs, 3 * hidden]) {
        return Err(ctx.err(n, format!("P does not have shape [{dirs}, {}]", 3 * hidden)));
    }
    let mut y = vec![0i64; seq * dirs * batch * hidden];
    let mut yh = vec![0i64; dirs * batch * hidden];
    let mut yc = vec![0i64; dirs * batch * hidden];
    let act = |func: Func, v: i64| func.apply(v, f, f).map_err(|e| ctx.err(n, e));
    for dir in 0..dirs {
        let backward = reverse || dir == 1;
        let init = |s: Option<&QTensor>| -> Vec<i64> {
            s.map_or(vec![0; batch * hidden], |t| t.data[dir * batch * hidden..(dir + 1) * batch * hidden].iter().map(|&v| sat(align(i128::from(v), t.frac_bits, f))).collect())
        };
        let mut h = init(h0.as_ref());
        let mut c = init(c0.as_ref());
        // Peephole weights of gates i, o, f times a cell state, at f bits.
        let peep = |gate: usize, j: usize, cell: i64| -> i128 {
            p.map_or(0, |p| rescale(i128::from(p.data[(dir * 3 + gate) * hidden + j]) * i128::from(cell), p.frac_bits))
        };
        let wd = &w.data[dir * h4 * inp..(dir + 1) * h4 * inp];
        let rd = &rw.data[dir * h4 * hidden..(dir + 1) * h4 * hidden];
        for step in 0..seq {
            let t = if backward { seq - 1 - step } else { step };
            let mut hn = vec![0i64; batch * hidden];
            let mut cn = vec![0i64; batch * hidden];
            for bi in 0..batch {
                let xt = &x.data[(t * batch + bi) * inp..(t * batch + bi + 1) * inp];
                let ht = &h[bi * hidden..(bi + 1) * hidden];
                // Gate pre-activations at f bits: x W^T + h R^T + Wb + Rb.
                let mut g = vec![0i64; h4];
                for (row, gv) in g.iter_mut().enumerate() {
                    let xw: i128 = (0..inp).map(|p| i128::from(xt[p]) * i128::from(wd[row * inp + p])).sum();
                    let hr: i128 = (0..hidden).map(|p| i128::from(ht[p]) * i128::from(rd[row * hidden + p])).sum();
                    let mut v = align(xw, x.frac_bits + w.frac_bits, f) + align(hr, f + rw.frac_bits, f);
                    if let Some(b) = b {
                        let bd = &b.data[dir * 2 * h4..(dir + 1) * 2 * h4];
                        v += align(i128::from(bd[row]), b.frac_bits, f) + align(i128::from(bd[h4 + row]), b.frac_bits, f);
                    }
                    *gv = sat(v);
                }
                for j in 0..hidden {
                    let c_prev = c[bi * hidden + j];
                    let i_g = act(Func::Sigmoid, sat(i128::from(g[j]) + peep(0, j, c_prev)))?;
                    let f_g = act(Func::Sigmoid, sat(i128::from(g[2 * hidden + j]) + peep(2, j, c_prev)))?;
                    let c_g = act(Func::Tanh, g[3 * hidden + j])?;
                    let cv = rescale(i128::from(f_g) * i128::from(c_prev) + i128::from(i_g) * i128::from(c_g), f) as i64;
                    let o_g = act(Func::Sigmoid, sat(i128::from(g[hidden + j]) + peep(1, j, cv)))?;
                    let hv = rescale(i128::from(o_g) * i128::from(act(Func::Tanh, cv)?), f) as i64;
                    cn[bi * hidden + j] = cv;
                    hn[bi * hidden + j] = hv;
                }
            }
            h = hn;
            c = cn;
            for bi in 0..batch {
                let at = ((t * dirs + dir) * batch + bi) * hidden;
                y[at..at + hidden].copy_from_slice(&h[bi * hidden..(bi + 1) * hidden]);
            }
        }
        yh[dir * batch * hidden..(dir + 1) * batch * hidden].copy_from_slice(&h);
        yc[dir * batch * hidden..(dir + 1) * batch * hidden].copy_from_slice(&c);
    }
    let y = QTensor { dims: vec![seq, dirs, batch, hidden], data: y, frac_bits: f };
    let yh = QTensor { dims: vec![dirs, batch, hidden], data: yh, frac_bits: f };
    let yc = QTensor { dims: vec![dirs, batch, hidden], data: yc, frac_bits: f };
    if !batchwise {
        return Ok(vec![y, yh, yc]);
    }
    // Y [seq, dirs, batch, H] -> [batch, seq, dirs, H]; states [dirs, batch, H] -> [batch, dirs, H].
    let mut yb = Vec::with_capacity(y.data.len());
    for bi in 0..batch {
        for t in 0..seq {
            for dir in 0..dirs {
                let at = ((t * dirs + dir) * batch + bi) * hidden;
                yb.extend_from_slice(&y.data[at..at + hidden]);
            }
        }
    }
    Ok(vec![QTensor { dims: vec![batch, seq, dirs, hidden], data: yb, frac_bits: f }, swap01(&yh), swap01(&yc)])
}
