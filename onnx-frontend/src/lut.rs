//! Lookup tables for the non-linear functions.
//!
//! A function `g` is evaluated on fixed-point inputs through a table of `(i, round(g(i / 2^t) *
//! 2^f_out))` for integers `i` in `[lo, hi]`: the input `x` (with `f_x` fractional bits) is first
//! split as `x = i 2^(f_x - t) + r`, clamped to the table's domain where the function is flat
//! there (sigmoid, tanh, erf, the low side of exp) or refused where it is not (the high side of
//! exp, tan near its poles), and interpolated between `T[i]` and `T[i+1]`. The circuit proves
//! the same steps (`sigil_air::chips::lut`): one lookup of `(i, T[i], T[i+1])` in a preprocessed
//! table, range checks of `r` and of the interpolation's remainder.
//!
//! Table entries are computed with the `libm` crate (a Rust port of musl's libm), not the
//! platform's math library, so that the same input gives the same bits on every machine.

/// A non-linear function with a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    Sigmoid,
    Tanh,
    Exp,
    Erf,
    Tan,
    /// Natural logarithm on [1, 2]; other inputs are first written `m 2^e` ([`crate::ops`]).
    Log,
}

/// The domain of a function's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LutSpec {
    /// Fractional bits of the table's input `t`.
    pub in_frac: u32,
    /// Smallest and largest index `i` (inclusive): inputs in `[lo, hi + 1)` (in units of
    /// `2^-t`) interpolate between `T[i]` and `T[i + 1]`.
    pub lo: i64,
    pub hi: i64,
    /// Whether an input below `lo` (at or above `hi + 1`) takes the entry at `lo` (`hi`);
    /// otherwise it is an error.
    pub clamp_low: bool,
    pub clamp_high: bool,
}

impl Func {
    /// The function an elementwise operator applies through its table alone.
    pub fn of(op: crate::Op) -> Option<Func> {
        use crate::Op;
        match op {
            Op::Sigmoid => Some(Func::Sigmoid),
            Op::Tanh => Some(Func::Tanh),
            Op::Exp => Some(Func::Exp),
            Op::Erf => Some(Func::Erf),
            Op::Tan => Some(Func::Tan),
            _ => None,
        }
    }

    /// The ONNX operator of this function.
    pub fn name(self) -> &'static str {
        match self {
            Func::Sigmoid => "Sigmoid",
            Func::Tanh => "Tanh",
            Func::Exp => "Exp",
            Func::Erf => "Erf",
            Func::Tan => "Tan",
            Func::Log => "Log",
        }
    }

    /// The table's domain. Input resolution 2^-10 (2^-12 for tan): the error this adds is at
    /// most `max |g'| * 2^-11` (tanh: 4.9e-4, sigmoid: 1.2e-4, exp: 4.9e-4 relative). The
    /// clamped functions have a power of two of indices, so that their tables fill their rows.
    pub fn spec(self) -> LutSpec {
        match self {
            // sigmoid(±16) and tanh(±8) are within 2^-20 of their limits.
            Func::Sigmoid => LutSpec { in_frac: 10, lo: -16 << 10, hi: (16 << 10) - 1, clamp_low: true, clamp_high: true },
            Func::Tanh => LutSpec { in_frac: 10, lo: -8 << 10, hi: (8 << 10) - 1, clamp_low: true, clamp_high: true },
            Func::Erf => LutSpec { in_frac: 10, lo: -6 << 10, hi: (6 << 10) - 1, clamp_low: true, clamp_high: true },
            // exp(-24) < 2^-34 rounds to 0 at any output precision used; exp(24) < 2^35.
            Func::Exp => LutSpec { in_frac: 10, lo: -24 << 10, hi: 24 << 10, clamp_low: true, clamp_high: false },
            // |x| <= 1.5625 (tan = ±47.2); past that the function nears its poles at ±pi/2.
            Func::Tan => LutSpec { in_frac: 12, lo: -6400, hi: 6400, clamp_low: false, clamp_high: false },
            // ln on its reduced domain [1, 2].
            Func::Log => LutSpec { in_frac: 10, lo: 1 << 10, hi: 2 << 10, clamp_low: false, clamp_high: false },
        }
    }

    /// The function in f64 through libm.
    pub fn eval(self, x: f64) -> f64 {
        match self {
            Func::Sigmoid => 1.0 / (1.0 + libm::exp(-x)),
            Func::Tanh => libm::tanh(x),
            Func::Exp => libm::exp(x),
            Func::Erf => libm::erf(x),
            Func::Tan => libm::tan(x),
            Func::Log => libm::log(x),
        }
    }

    /// Pi with `x_frac + 8` fractional bits: Tan's argument `x` (with `x_frac` bits) is reduced
    /// to `x - k pi` with `k = round(x / pi)` at this precision, exact to the input's.
    pub fn tan_period(x_frac: u32) -> i64 {
        crate::exec::quantize(core::f64::consts::PI, x_frac + 8)
    }

    /// The table entry at index `i` with `out_frac` fractional bits.
    pub fn entry(self, i: i64, out_frac: u32) -> i64 {
        let s = self.spec();
        let x = i as f64 / (1u64 << s.in_frac) as f64;
        (self.eval(x) * (1u64 << out_frac) as f64).round() as i64
    }

    /// `g(x)` for `x` with `x_frac` fractional bits, as the circuit computes it, with
    /// `out_frac` fractional bits: `x = i * 2^(x_frac - t) + r` with `0 <= r < 2^(x_frac - t)`
    /// (floor division), then `T[i] + round((T[i+1] - T[i]) * r / 2^(x_frac - t))`, linear
    /// interpolation between neighbouring entries, whose error (at most `h^2 / 8 * max |g''|`
    /// for spacing `h = 2^-t`, under 2^-20 for these functions) is below the output's rounding.
    /// Inputs below `lo` (at or above `hi + 1`) take `T[lo]` (`T[hi]`) where that side is
    /// clamped, and are an error naming the value where it is not.
    pub fn apply(self, x: i64, x_frac: u32, out_frac: u32) -> Result<i64, String> {
        let s = self.spec();
        let (i, r, k) = if x_frac > s.in_frac {
            let k = x_frac - s.in_frac;
            (i128::from(x) >> k, i128::from(x) & ((1i128 << k) - 1), k)
        } else {
            (i128::from(x) << (s.in_frac - x_frac), 0, 0)
        };
        let unit = (1u64 << s.in_frac) as f64;
        let real = x as f64 / (1u64 << x_frac) as f64;
        if i < i128::from(s.lo) {
            return if s.clamp_low { Ok(self.entry(s.lo, out_frac)) } else { Err(format!("{} input {real} is below the table's domain ({})", self.name(), s.lo as f64 / unit)) };
        }
        if i > i128::from(s.hi) {
            return if s.clamp_high { Ok(self.entry(s.hi, out_frac)) } else { Err(format!("{} input {real} is above the table's domain ({})", self.name(), (s.hi + 1) as f64 / unit)) };
        }
        let i = i as i64;
        let t0 = self.entry(i, out_frac);
        if r == 0 {
            return Ok(t0);
        }
        let t1 = self.entry(i + 1, out_frac);
        Ok(t0 + crate::exec::rescale(i128::from(t1 - t0) * r, k) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_close_to_the_functions() {
        for f in [Func::Sigmoid, Func::Tanh, Func::Exp, Func::Erf, Func::Tan] {
            for k in -3000..3000 {
                let x = k as f64 / 2000.0;
                let q = (x * 65536.0).round() as i64;
                let got = f.apply(q, 16, 16).unwrap() as f64 / 65536.0;
                let want = f.eval(x);
                let slope = (f.eval(x + 1e-6) - f.eval(x - 1e-6)).abs() / 2e-6;
                // Input rounding (slope * 2^-17), two entries rounded (2^-17 each), the interpolation rounding.
                assert!((got - want).abs() <= 2.0 * 2f64.powi(-16) + slope * 2f64.powi(-16), "{f:?}({x}) = {got}, want {want}");
            }
        }
    }

    #[test]
    fn clamps_flat_sides_and_refuses_others() {
        assert_eq!(Func::Tanh.apply(100 << 16, 16, 16), Ok(1 << 16));
        assert_eq!(Func::Sigmoid.apply(-100 << 16, 16, 16), Ok(0));
        assert_eq!(Func::Exp.apply(-100 << 16, 16, 16), Ok(0));
        assert!(Func::Exp.apply(30 << 16, 16, 16).unwrap_err().contains("above"));
        assert_eq!(Func::Exp.apply(24 << 16, 16, 16), Ok(Func::Exp.entry(24 << 10, 16)));
        // Inputs up to the next index interpolate; from there on they are refused.
        assert!(Func::Exp.apply((24 << 16) + 1, 16, 16).is_ok());
        assert!(Func::Exp.apply((24 << 16) + (1 << 6), 16, 16).is_err());
        assert!(Func::Tan.apply(-2 << 16, 16, 16).unwrap_err().contains("below"));
    }
}
