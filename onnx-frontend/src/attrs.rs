//! Typed attributes: an operator's ONNX attributes read once, when the parser types the node
//! ([`crate::model::Node::attrs`]), with ONNX's defaults filled in. The executor and the
//! circuit compiler read these fields for the operators below (windows, products, LSTM, Clip,
//! Pad, normalizations): the compiler never parses an attribute. Values are kept as ONNX gives them (lengths
//! and ranges are checked where they are used, with the node's name in the error).

pub use crate::model::{Attrs, AutoPad, Clip, Gemm, Lstm, Norm, Pad, Window};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Attribute;
    use crate::registry::Op;
    use std::collections::BTreeMap;

    #[test]
    fn attributes_are_typed_once_with_onnx_defaults() {
        let mut a = BTreeMap::new();
        a.insert("strides".to_string(), Attribute::Ints(vec![2, 2]));
        a.insert("auto_pad".to_string(), Attribute::String(b"SAME_LOWER".to_vec()));
        a.insert("group".to_string(), Attribute::Int(4));
        let w = Attrs::of(Some(Op::Conv), &a);
        assert_eq!(w.window().strides, Some(vec![2, 2]));
        assert_eq!(w.window().auto_pad, AutoPad::SameLower);
        assert_eq!(w.window().group, 4);
        assert_eq!(w.window().dilations, None);
        // A Gemm without attributes, and a MatMul: the defaults.
        assert_eq!(*Attrs::of(Some(Op::Gemm), &BTreeMap::new()).gemm(), Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: false });
        assert_eq!(Attrs::of(Some(Op::MatMul), &BTreeMap::new()), Attrs::Untyped);
        // An attribute of the wrong type reads as absent, as ONNX's defaults.
        a.insert("group".to_string(), Attribute::Float(2.0));
        assert_eq!(Attrs::of(Some(Op::Conv), &a).window().group, 1);
        let mut l = BTreeMap::new();
        l.insert("layout".to_string(), Attribute::Int(1));
        l.insert("clip".to_string(), Attribute::Float(3.0));
        let l = Attrs::of(Some(Op::LSTM), &l);
        let l = l.lstm().unwrap();
        assert!(l.batchwise && l.clip && l.direction == "forward");
    }
}
