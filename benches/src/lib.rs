//! Benchmark support: the same multiply-accumulate chain written for winterfell, the baseline
//! Sigil is measured against.

pub mod wide;
pub mod winterfell_mac;
