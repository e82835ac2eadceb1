//! Field types: the Goldilocks base field and its degree-2 extension.

use p3_field::extension::BinomialExtensionField;
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing, PrimeField64};

pub use p3_field::{Field, TwoAdicField};

/// The base field, Goldilocks: `p = 2^64 - 2^32 + 1`.
pub type F = p3_goldilocks::Goldilocks;
/// The challenge field: `F[X] / (X^2 - 7)`, about 128 bits.
pub type EF = BinomialExtensionField<F, 2>;

/// The Goldilocks modulus.
pub const P: u64 = 0xffff_ffff_0000_0001;
/// Degree of [`EF`] over [`F`].
pub const EXT_DEGREE: usize = 2;

/// Converts a canonical `u64` into a field element, or `None` when `v >= P`.
#[inline]
pub fn f_from_canonical(v: u64) -> Option<F> {
    (v < P).then(|| F::from_u64(v))
}

/// The canonical `u64` of a field element.
#[inline]
pub fn f_to_u64(x: F) -> u64 {
    x.as_canonical_u64()
}

/// A field element read as a signed integer: `p - m` is `-m` for `m < p/2`.
#[inline]
pub fn to_signed(x: F) -> i64 {
    let v = f_to_u64(x);
    if v > P / 2 { -((P - v) as i64) } else { v as i64 }
}

/// The two base-field coordinates of an extension element.
#[inline]
pub fn ef_to_base(x: EF) -> [F; 2] {
    let c = x.as_basis_coefficients_slice();
    [c[0], c[1]]
}

/// Builds an extension element from its two base-field coordinates.
#[inline]
pub fn ef_from_base(c: [F; 2]) -> EF {
    EF::from_basis_coefficients_fn(|i| c[i])
}

/// An extension element from two canonical `u64`s, or `None` if either is not canonical.
pub fn ef_from_canonical(c: [u64; 2]) -> Option<EF> {
    Some(ef_from_base([f_from_canonical(c[0])?, f_from_canonical(c[1])?]))
}

/// The canonical `u64` coordinates of an extension element.
pub fn ef_to_u64(x: EF) -> [u64; 2] {
    let [a, b] = ef_to_base(x);
    [f_to_u64(a), f_to_u64(b)]
}

/// The extension element `i` (the class of `X`), whose square is 7.
pub fn ef_x() -> EF {
    ef_from_base([F::ZERO, F::ONE])
}
