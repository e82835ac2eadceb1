//! A convolution with fixed weights checked as a product of polynomials: each input element
//! is read once and each output written once, instead of one row per (position, kernel tap)
//! as in [`crate::chips::linear`].
//!
//! # The identity
//! For one image `b` and one group of channels, put each input channel `c` (zero-padded to
//! `Hp x Wp`) and each kernel `k[o, c]` (`kh x kw`, flipped) into bivariate polynomials
//!
//! `X_c(s, t) = sum_{i, j} x_c[i, j] s^i t^j`,
//! `K_oc(s, t) = sum_{a, b} k[o, c, a, b] s^(kh-1-a) t^(kw-1-b)`.
//!
//! The coefficient of `s^(u sh + kh - 1) t^(v sw + kw - 1)` in `P_o = sum_c X_c K_oc` is output
//! `(u, v)` of channel `o` of the (cross-correlation) convolution with strides `sh, sw`; the
//! other coefficients of `P_o` (a `(Hp + kh - 1) x (Wp + kw - 1)` array) are partial sums at
//! the borders. The trace holds every coefficient of every `P_o`, the real outputs with their
//! bias added, and after the main commitment the verifier draws `s, t, sigma`: the chip checks
//!
//! `sum_c X_c(s, t) V_c(s, t, sigma) = sum_o sigma^o (P_o(s, t) - B_o(s, t))`,
//! with `V_c = sum_o sigma^o K_oc` and `B_o` the bias at the output positions.
//!
//! Both sides are polynomials in `(s, t, sigma)` fixed before the challenges (the inputs and
//! coefficients are main cells, the weights and biases preprocessed); they are equal as
//! polynomials exactly when every coefficient of every `P_o` is the convolution's, so one wrong
//! output makes their difference non-zero, of total degree below `Hp + Wp + kh + kw + N`, and it
//! vanishes at random challenges with probability at most that over `|EF|` (Schwartz–Zippel).
//!
//! # Layout
//! Per image and group, a segment per input channel `c` (its `Hp x Wp` padded elements, line by
//! line, received from the producer of `X` by index; padding rows hold 0 and receive nothing),
//! then that channel's kernels (for each output `o` of the group, `kh` lines of `kw` weights in
//! the preprocessed column `WGT`), and after all channels the group's output segment (for each
//! `o`, `(Hp + kh - 1)` lines of `(Wp + kw - 1)` coefficients; the real outputs are sent).
//! Auxiliary columns evaluate the polynomials line by line: `sp = sigma^o` (restarting at 1 on
//! each segment), `srow = sp s^line`, `q = srow t^col`, `accX` and `accV` the running sums of
//! `q x` (input segments) and `q w` (kernel segments), and `T`, to which the last kernel row of
//! each channel adds `accX accV` and every output row subtracts `q (v - bias)`. `T` is 0 at
//! the end of each group's output segment. Every recurrence holds on every row, the last one
//! wrapping to the first (which starts a segment), so each auxiliary column is the unique
//! solution given the challenges.
//!
//! # Degrees
//! The recurrence of `T` multiplies two auxiliary columns (`accX accV`), which the AIR allows
//! for chips that opt in ([`Air::aux_products`]): every auxiliary value here is a polynomial in
//! the challenges of degree at most twice the height (`q`, `accX`, `accV` gain at most one
//! degree per row; their product at most doubles it), within the `(challenge degree + 1) x
//! height` the security estimate charges. Constraints have degree 3.
//!
//! # Field arithmetic equals integer arithmetic
//! As for [`crate::chips::linear::Linear`]: the producer bounds `|x| < 2^in_bits`,
//! [`PolyConv::output_bits`] bounds `sum |k| 2^in_bits + |b|` for every output channel (every
//! coefficient of `P_o`, border ones included, is a partial such sum) and the compiler refuses
//! the layer when it reaches `p/2`.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use crate::air::{Air, AirBuilder, BusId};
use crate::expr::FieldExpr;
use crate::field::{EF, F};
use crate::trace::Trace;

#[cfg(test)]
mod tests;

crate::columns! {
    /// The main column: an input element, an output coefficient, or 0.
    pub struct PolyconvCols { v }
}
/// The main column.
pub const V: usize = PolyconvCols::INDEX.v;
crate::columns! {
    /// Preprocessed columns.
    pub struct PolyconvPrep { addr, mx, my, is_x, is_y, seg, ostep, line, wgt, bias, wend, gend }
}
const P_ADDR: usize = PolyconvPrep::INDEX.addr;
const P_MX: usize = PolyconvPrep::INDEX.mx;
const P_MY: usize = PolyconvPrep::INDEX.my;
const P_IS_X: usize = PolyconvPrep::INDEX.is_x;
const P_IS_Y: usize = PolyconvPrep::INDEX.is_y;
const P_SEG: usize = PolyconvPrep::INDEX.seg;
const P_OSTEP: usize = PolyconvPrep::INDEX.ostep;
const P_LINE: usize = PolyconvPrep::INDEX.line;
const P_WGT: usize = PolyconvPrep::INDEX.wgt;
const P_BIAS: usize = PolyconvPrep::INDEX.bias;
const P_WEND: usize = PolyconvPrep::INDEX.wend;
const P_GEND: usize = PolyconvPrep::INDEX.gend;
const PREP_WIDTH: usize = PolyconvPrep::<usize>::WIDTH;
crate::columns! {
    /// Auxiliary columns.
    pub struct PolyconvAux { sp, srow, q, x, v, t }
}
const A_SP: usize = PolyconvAux::INDEX.sp;
const A_SROW: usize = PolyconvAux::INDEX.srow;
const A_Q: usize = PolyconvAux::INDEX.q;
const A_X: usize = PolyconvAux::INDEX.x;
const A_V: usize = PolyconvAux::INDEX.v;
const A_T: usize = PolyconvAux::INDEX.t;

/// A 2-D convolution (NCHW, ONNX's `Conv` with dilation 1) checked as a product of polynomials.
#[derive(Clone, Debug)]
pub struct PolyConv {
    pub name: String,
    pub batch: usize,
    pub groups: usize,
    /// Input channels, height and width.
    pub c: usize,
    pub h: usize,
    pub w: usize,
    /// Padding: top, left, bottom, right.
    pub pads: [usize; 4],
    /// Output channels.
    pub oc: usize,
    pub kh: usize,
    pub kw: usize,
    /// Strides: rows, columns.
    pub sh: usize,
    pub sw: usize,
    /// `k[o, c', a, b]` as ONNX lays it out (`c'` within the group).
    pub weights: Vec<F>,
    /// One per output channel, or empty for none.
    pub bias: Vec<F>,
    /// `src[((b C + c) H + i) W + j]`: the bus index of input element `(b, c, i, j)`.
    pub src: Vec<u32>,
    /// `out[((b N + o) OH + u) OW + v]`: the index of output `(b, o, u, v)`.
    pub out: Vec<u32>,
    /// `uses[i]`: how many consumers read output element `i`.
    pub uses: Vec<u32>,
    pub in_bus: BusId,
    pub out_bus: BusId,
    pub log_height: usize,
}

/// What a row holds (see the module's docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Padded input element: its flat input index, or none on the padding.
    X(Option<usize>),
    /// A kernel weight (flat index into `weights`).
    W(usize),
    /// A coefficient of `P_o`: image, output channel, line, column.
    Y { b: usize, o: usize, i: usize, j: usize },
    /// Past the last segment.
    Pad,
}

#[derive(Clone, Copy, Debug)]
struct Row {
    kind: Kind,
    seg: bool,
    ostep: bool,
    line: bool,
    wend: bool,
    gend: bool,
}

impl PolyConv {
    fn hp(&self) -> usize {
        self.h + self.pads[0] + self.pads[2]
    }
    fn wp(&self) -> usize {
        self.w + self.pads[1] + self.pads[3]
    }
    /// Output height and width.
    pub fn out_dims(&self) -> (usize, usize) {
        ((self.hp() - self.kh) / self.sh + 1, (self.wp() - self.kw) / self.sw + 1)
    }
    fn cg(&self) -> usize {
        self.c / self.groups.max(1)
    }
    fn og(&self) -> usize {
        self.oc / self.groups.max(1)
    }

    /// The rows this convolution takes (before padding to a power of two).
    pub fn rows_needed(&self) -> usize {
        let (hp, wp, cg, og, kh, kw) = (self.hp(), self.wp(), self.cg(), self.og(), self.kh, self.kw);
        self.batch * self.groups * (cg * (hp * wp + og * kh * kw) + og * (hp + kh - 1) * (wp + kw - 1))
    }

    /// The smallest height for this convolution (at least 4 rows).
    pub fn min_log_height(&self) -> usize {
        crate::chips::unary::log_rows(self.rows_needed())
    }

    /// Every input index the chip receives: each element once.
    pub fn reads(&self) -> impl Iterator<Item = u32> + '_ {
        self.src.iter().copied()
    }

    /// Weight `k[o, c', a, b]`.
    fn weight_index(&self, o: usize, cl: usize, a: usize, b: usize) -> usize {
        ((o * self.cg() + cl) * self.kh + a) * self.kw + b
    }

    fn bias(&self, o: usize) -> F {
        self.bias.get(o).copied().unwrap_or(F::ZERO)
    }

    /// For inputs with `|x| < 2^in_bits`, the bits `o` with `|Y| < 2^o` for every coefficient
    /// (from the actual weights and biases, read as signed), or `None` when that bound reaches
    /// `2^62`.
    pub fn output_bits(&self, in_bits: u32) -> Option<u32> {
        let k = self.cg() * self.kh * self.kw;
        // W[j, o] = k[o, j], as the dense bound reads it.
        let wt: Vec<F> = (0..k * self.oc).map(|i| self.weights.get((i % self.oc) * k + i / self.oc).copied().unwrap_or(F::ZERO)).collect();
        crate::chips::matmul::product_bound_bits(&wt, k, self.oc, |o| self.bias(o), in_bits)
    }

    /// The rows in order.
    fn rows(&self) -> Vec<Row> {
        let (hp, wp, cg, og, kh, kw) = (self.hp(), self.wp(), self.cg(), self.og(), self.kh, self.kw);
        let (pt, pl) = (self.pads[0], self.pads[1]);
        let (yh, yw) = (hp + kh - 1, wp + kw - 1);
        let mut rows = Vec::with_capacity(1 << self.log_height);
        let row = |kind, seg, ostep, line| Row { kind, seg, ostep, line, wend: false, gend: false };
        for b in 0..self.batch {
            for g in 0..self.groups {
                for cl in 0..cg {
                    let c = g * cg + cl;
                    for i in 0..hp {
                        for j in 0..wp {
                            let inside = i >= pt && j >= pl && i - pt < self.h && j - pl < self.w;
                            let elem = inside.then(|| ((b * self.c + c) * self.h + i - pt) * self.w + j - pl);
                            rows.push(row(Kind::X(elem), i == 0 && j == 0, false, i > 0 && j == 0));
                        }
                    }
                    for ol in 0..og {
                        for a in 0..kh {
                            for bb in 0..kw {
                                let wi = self.weight_index(g * og + ol, cl, kh - 1 - a, kw - 1 - bb);
                                rows.push(row(Kind::W(wi), ol == 0 && a == 0 && bb == 0, ol > 0 && a == 0 && bb == 0, a > 0 && bb == 0));
                            }
                        }
                    }
                    if let Some(last) = rows.last_mut() {
                        last.wend = true;
                    }
                }
                for ol in 0..og {
                    for i in 0..yh {
                        for j in 0..yw {
                            let kind = Kind::Y { b, o: g * og + ol, i, j };
                            rows.push(row(kind, ol == 0 && i == 0 && j == 0, ol > 0 && i == 0 && j == 0, i > 0 && j == 0));
                        }
                    }
                }
                if let Some(last) = rows.last_mut() {
                    last.gend = true;
                }
            }
        }
        let h = 1usize << self.log_height;
        rows.resize(h.max(rows.len()), Row { kind: Kind::Pad, seg: false, ostep: false, line: false, wend: false, gend: false });
        rows
    }

    /// The output index of coefficient `(i, j)` of `P_o` for image `b`, if it is a real output.
    fn output_at(&self, b: usize, o: usize, i: usize, j: usize) -> Option<usize> {
        let (oh, ow) = self.out_dims();
        let (i, j) = (i.checked_sub(self.kh - 1)?, j.checked_sub(self.kw - 1)?);
        if i % self.sh != 0 || j % self.sw != 0 || i / self.sh >= oh || j / self.sw >= ow {
            return None;
        }
        Some(((b * self.oc + o) * oh + i / self.sh) * ow + j / self.sw)
    }

    /// Every coefficient of every `P_o` (image-major, `(Hp + kh - 1) x (Wp + kw - 1)` each,
    /// without bias) for the input `x` (by bus index).
    fn products(&self, x: &[i64]) -> Vec<i128> {
        let (hp, wp, cg, og, kh, kw) = (self.hp(), self.wp(), self.cg(), self.og(), self.kh, self.kw);
        let (pt, pl) = (self.pads[0], self.pads[1]);
        let (yh, yw) = (hp + kh - 1, wp + kw - 1);
        let k: Vec<i64> = self.weights.iter().map(|&v| crate::field::to_signed(v)).collect();
        let planes: Vec<Vec<i128>> = crate::par::map_range(self.batch * self.oc, |bo| {
            let (b, o) = (bo / self.oc, bo % self.oc);
            let g = o / og;
            let mut p = vec![0i128; yh * yw];
            for cl in 0..cg {
                let c = g * cg + cl;
                for i in 0..self.h {
                    for j in 0..self.w {
                        let xv = i128::from(x[self.src[((b * self.c + c) * self.h + i) * self.w + j] as usize]);
                        if xv == 0 {
                            continue;
                        }
                        let (ip, jp) = (i + pt, j + pl);
                        for a in 0..kh {
                            for bb in 0..kw {
                                let kv = i128::from(k[self.weight_index(o, cl, a, bb)]);
                                p[(ip + kh - 1 - a) * yw + jp + kw - 1 - bb] += xv * kv;
                            }
                        }
                    }
                }
            }
            p
        });
        planes.into_iter().flatten().collect()
    }

    /// The outputs (by output index) for the input `x` (by bus index), in integers.
    pub fn reference(&self, x: &[i64]) -> Vec<i64> {
        let (yh, yw) = (self.hp() + self.kh - 1, self.wp() + self.kw - 1);
        let p = self.products(x);
        let mut y = vec![0i64; self.uses.len()];
        for b in 0..self.batch {
            for o in 0..self.oc {
                for i in 0..yh {
                    for j in 0..yw {
                        if let Some(at) = self.output_at(b, o, i, j) {
                            let v = p[((b * self.oc + o) * yh + i) * yw + j] + i128::from(crate::field::to_signed(self.bias(o)));
                            y[self.out[at] as usize] = v as i64;
                        }
                    }
                }
            }
        }
        y
    }

    /// The trace for the input `x` (by bus index), and the outputs (by output index).
    pub fn generate_trace(&self, x: &[i64]) -> (Trace, Vec<i64>) {
        let (yh, yw) = (self.hp() + self.kh - 1, self.wp() + self.kw - 1);
        let p = self.products(x);
        let mut y = vec![0i64; self.uses.len()];
        let rows = self.rows();
        let mut v = vec![F::ZERO; rows.len()];
        for (r, row) in rows.iter().enumerate() {
            match row.kind {
                Kind::X(Some(e)) => v[r] = F::from_i64(x[self.src[e] as usize]),
                Kind::Y { b, o, i, j } => {
                    let mut c = p[((b * self.oc + o) * yh + i) * yw + j];
                    if let Some(at) = self.output_at(b, o, i, j) {
                        c += i128::from(crate::field::to_signed(self.bias(o)));
                        y[self.out[at] as usize] = c as i64;
                    }
                    v[r] = F::from_i64(c as i64);
                }
                _ => {}
            }
        }
        (Trace::new(v, 1), y)
    }
}

impl Air for PolyConv {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn width(&self) -> usize {
        1
    }
    fn preprocessed_trace(&self) -> Option<Trace> {
        let rows = self.rows();
        let mut v = vec![F::ZERO; rows.len() * PREP_WIDTH];
        for (r, row) in rows.iter().enumerate() {
            let p = &mut v[r * PREP_WIDTH..(r + 1) * PREP_WIDTH];
            match row.kind {
                Kind::X(e) => {
                    p[P_IS_X] = F::ONE;
                    if let Some(e) = e {
                        p[P_ADDR] = F::from_u32(self.src[e]);
                        p[P_MX] = F::ONE;
                    }
                }
                Kind::W(wi) => p[P_WGT] = self.weights[wi],
                Kind::Y { b, o, i, j } => {
                    p[P_IS_Y] = F::ONE;
                    if let Some(at) = self.output_at(b, o, i, j) {
                        let out = self.out[at];
                        p[P_ADDR] = F::from_u32(out);
                        p[P_MY] = F::from_u32(self.uses[out as usize]);
                        p[P_BIAS] = self.bias(o);
                    }
                }
                Kind::Pad => {}
            }
            p[P_SEG] = F::from_bool(row.seg);
            p[P_OSTEP] = F::from_bool(row.ostep);
            p[P_LINE] = F::from_bool(row.line);
            p[P_WEND] = F::from_bool(row.wend);
            p[P_GEND] = F::from_bool(row.gend);
        }
        Some(Trace::new(v, PREP_WIDTH))
    }
    fn n_challenges(&self) -> usize {
        3
    }
    fn aux_width(&self) -> usize {
        6
    }
    fn aux_products(&self) -> bool {
        true
    }
    fn aux_trace(&self, main: &Trace, prep: Option<&Trace>, challenges: &[EF]) -> Vec<EF> {
        let (Some(prep), &[s, t, sigma, ..]) = (prep, challenges) else { return Vec::new() };
        let h = main.height();
        let mut out = Vec::with_capacity(6 * h);
        let (mut sp, mut srow, mut q, mut ax, mut av, mut tt) = (EF::ONE, EF::ONE, EF::ONE, EF::ZERO, EF::ZERO, EF::ZERO);
        for r in 0..h {
            let p = prep.row(r);
            let v = main.get(r, V);
            let (seg, ostep, line) = (p[P_SEG] == F::ONE, p[P_OSTEP] == F::ONE, p[P_LINE] == F::ONE);
            if r > 0 {
                if seg {
                    sp = EF::ONE;
                } else if ostep {
                    sp *= sigma;
                }
                if seg || ostep {
                    srow = sp;
                } else if line {
                    srow *= s;
                }
                if seg || ostep || line {
                    q = srow;
                } else {
                    q *= t;
                }
            }
            if seg && p[P_IS_X] == F::ONE {
                ax = EF::ZERO;
            }
            if seg {
                av = EF::ZERO;
            }
            ax += q * p[P_IS_X] * v;
            av += q * p[P_WGT];
            if p[P_WEND] == F::ONE {
                tt += ax * av;
            }
            tt -= q * p[P_IS_Y] * (v - p[P_BIAS]);
            out.extend_from_slice(&[sp, srow, q, ax, av, tt]);
        }
        out
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let v = b.main(V);
        let one = B::Var::lit(1);
        let (is_x, is_y) = (b.prep(P_IS_X), b.prep(P_IS_Y));
        b.assert_zero("v is 0 off input and output rows", v.clone() * (one.clone() - is_x.clone() - is_y));
        b.assert_zero("padding inputs are 0", v.clone() * (is_x - b.prep(P_MX)));
        b.receive(self.in_bus, &[b.prep(P_ADDR), v.clone()], b.prep(P_MX));
        b.send(self.out_bus, &[b.prep(P_ADDR), v], b.prep(P_MY));

        let ext = |x: B::Var| B::Ext::from(x);
        let (s, t, sigma) = (b.challenge(0), b.challenge(1), b.challenge(2));
        let onee = B::Ext::lit(1);
        let (seg, ostep, line) = (ext(b.prep_next(P_SEG)), ext(b.prep_next(P_OSTEP)), ext(b.prep_next(P_LINE)));
        let (sp, srow, q, ax, av, tt) = (b.aux(A_SP), b.aux(A_SROW), b.aux(A_Q), b.aux(A_X), b.aux(A_V), b.aux(A_T));
        let (sp_n, srow_n, q_n, ax_n, av_n, tt_n) = (b.aux_next(A_SP), b.aux_next(A_SROW), b.aux_next(A_Q), b.aux_next(A_X), b.aux_next(A_V), b.aux_next(A_T));
        let block = seg.clone() + ostep.clone();
        let stay = onee.clone() - block.clone();
        b.assert_zero_ext("sp restarts at 1, steps by sigma", sp_n.clone() - seg.clone() - ostep * sigma * sp.clone() - stay.clone() * sp);
        b.assert_zero_ext(
            "srow restarts at sp, steps by s",
            srow_n.clone() - block.clone() * sp_n - line.clone() * s * srow.clone() - (stay.clone() - line.clone()) * srow,
        );
        b.assert_zero_ext("q restarts at srow, steps by t", q_n.clone() - (block + line.clone()) * srow_n - (stay - line) * t * q);
        let (is_x_n, v_n) = (ext(b.prep_next(P_IS_X)), ext(b.main_next(V)));
        b.assert_zero_ext("accX sums q x over an input segment", ax_n.clone() - (onee.clone() - seg.clone() * is_x_n.clone()) * ax - is_x_n * q_n.clone() * v_n.clone());
        b.assert_zero_ext("accV sums q w over a kernel segment", av_n.clone() - (onee - seg) * av - ext(b.prep_next(P_WGT)) * q_n.clone());
        let wend = ext(b.prep_next(P_WEND));
        let y_term = ext(b.prep_next(P_IS_Y)) * q_n * (v_n - ext(b.prep_next(P_BIAS)));
        b.assert_zero_ext("T adds accX accV per channel, subtracts q (y - bias)", tt_n - tt.clone() - wend * ax_n * av_n + y_term);
        b.assert_zero_ext("T is 0 at each group's end", ext(b.prep(P_GEND)) * tt);
    }
}
