//! Symbolic expressions over trace cells, written by chips through [`crate::AirBuilder`].

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ops::{Add, Mul, Neg, Sub};

use p3_field::PrimeCharacteristicRing;

use crate::field::{F, f_to_u64};

/// A leaf of a symbolic expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Var {
    /// Main trace column `col` on this row (`next = false`) or the next one.
    Main { col: usize, next: bool },
    /// Preprocessed (fixed) column `col` on this row or the next one.
    Prep { col: usize, next: bool },
    /// Public value `index` of the statement.
    Public(usize),
    /// 1 on the first row, 0 elsewhere.
    IsFirstRow,
    /// 1 on the last row, 0 elsewhere.
    IsLastRow,
    /// 0 on the last row, non-zero elsewhere (`x - g^-1`).
    IsTransition,
    /// Auxiliary (extension-field) column `col` on this row or the next one: computed by the
    /// prover after the challenges are drawn, committed with the LogUp columns.
    Aux { col: usize, next: bool },
    /// Challenge `index`, drawn after the main traces are committed (an extension element,
    /// the same on every row).
    Challenge(usize),
}

/// A polynomial expression over trace cells; what the symbolic builder records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Const(F),
    Var(Var),
    Add(Box<Expr>, Box<Expr>),
    Sub(Box<Expr>, Box<Expr>),
    Mul(Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
}

impl Expr {
    /// The degree of the expression as a polynomial in trace columns, counting the row
    /// selectors as degree 1 (their quotient by the vanishing polynomial is what matters).
    pub fn degree(&self) -> usize {
        self.degree_by(&|v| match v {
            Var::Public(_) | Var::Challenge(_) => 0,
            _ => 1,
        })
    }

    /// The degree of the expression when each leaf `v` has degree `leaf(v)`.
    pub fn degree_by(&self, leaf: &impl Fn(Var) -> usize) -> usize {
        match self {
            Expr::Const(_) => 0,
            Expr::Var(v) => leaf(*v),
            Expr::Add(a, b) | Expr::Sub(a, b) => a.degree_by(leaf).max(b.degree_by(leaf)),
            Expr::Mul(a, b) => a.degree_by(leaf) + b.degree_by(leaf),
            Expr::Neg(a) => a.degree_by(leaf),
        }
    }

    /// Appends a canonical, unambiguous byte encoding (prefix form) to `out`: used to hash
    /// a circuit's description into its id.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Expr::Const(c) => {
                out.push(0);
                out.extend_from_slice(&f_to_u64(*c).to_le_bytes());
            }
            Expr::Var(v) => {
                let (tag, a, b): (u8, u64, u64) = match *v {
                    Var::Main { col, next } => (1, col as u64, next as u64),
                    Var::Prep { col, next } => (2, col as u64, next as u64),
                    Var::Public(i) => (3, i as u64, 0),
                    Var::IsFirstRow => (4, 0, 0),
                    Var::IsLastRow => (5, 0, 0),
                    Var::IsTransition => (6, 0, 0),
                    Var::Aux { col, next } => (11, col as u64, next as u64),
                    Var::Challenge(i) => (12, i as u64, 0),
                };
                out.push(tag);
                out.extend_from_slice(&a.to_le_bytes());
                out.extend_from_slice(&b.to_le_bytes());
            }
            Expr::Add(a, b) | Expr::Sub(a, b) | Expr::Mul(a, b) => {
                out.push(match self {
                    Expr::Add(..) => 7,
                    Expr::Sub(..) => 8,
                    _ => 9,
                });
                a.encode(out);
                b.encode(out);
            }
            Expr::Neg(a) => {
                out.push(10);
                a.encode(out);
            }
        }
    }

    /// Evaluates the expression given a value for each leaf.
    pub fn eval<T: FieldExpr>(&self, leaf: &impl Fn(Var) -> T) -> T {
        match self {
            Expr::Const(c) => T::from(*c),
            Expr::Var(v) => leaf(*v),
            Expr::Add(a, b) => a.eval(leaf) + b.eval(leaf),
            Expr::Sub(a, b) => a.eval(leaf) - b.eval(leaf),
            Expr::Mul(a, b) => a.eval(leaf) * b.eval(leaf),
            Expr::Neg(a) => -a.eval(leaf),
        }
    }
}

impl From<Var> for Expr {
    fn from(v: Var) -> Self {
        Expr::Var(v)
    }
}

impl From<F> for Expr {
    fn from(c: F) -> Self {
        Expr::Const(c)
    }
}

macro_rules! bin_op {
    ($tr:ident, $m:ident, $variant:ident) => {
        impl $tr for Expr {
            type Output = Expr;
            fn $m(self, rhs: Expr) -> Expr {
                Expr::$variant(Box::new(self), Box::new(rhs))
            }
        }
        impl $tr<F> for Expr {
            type Output = Expr;
            fn $m(self, rhs: F) -> Expr {
                Expr::$variant(Box::new(self), Box::new(Expr::Const(rhs)))
            }
        }
    };
}
bin_op!(Add, add, Add);
bin_op!(Sub, sub, Sub);
bin_op!(Mul, mul, Mul);

impl Neg for Expr {
    type Output = Expr;
    fn neg(self) -> Expr {
        Expr::Neg(Box::new(self))
    }
}

/// What constraint code may do with values: ring operations, with base-field constants mixed in.
/// Implemented by [`F`] (prover, debug checker), [`crate::EF`] (verifier) and [`Expr`] (symbolic).
pub trait FieldExpr:
    Clone
    + From<F>
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
    + Add<F, Output = Self>
    + Sub<F, Output = Self>
    + Mul<F, Output = Self>
{
    /// The constant `n`.
    fn lit(n: u64) -> Self {
        Self::from(<F as PrimeCharacteristicRing>::from_u64(n))
    }
}

impl<T> FieldExpr for T where
    T: Clone
        + From<F>
        + Add<Output = T>
        + Sub<Output = T>
        + Mul<Output = T>
        + Neg<Output = T>
        + Add<F, Output = T>
        + Sub<F, Output = T>
        + Mul<F, Output = T>
{
}
