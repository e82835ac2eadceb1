//! Typed attributes: an operator's ONNX attributes read once, when the parser types the node
//! ([`crate::model::Node::attrs`]), with ONNX's defaults filled in. The executor and the
//! circuit compiler read these fields for the operators below (windows, products, LSTM, Clip,
//! Pad): the compiler never parses an attribute. Values are kept as ONNX gives them (lengths
//! and ranges are checked where they are used, with the node's name in the error).

use std::collections::BTreeMap;

use crate::model::Attribute;
use crate::registry::Op;

/// How a window operator places its padding (`auto_pad`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AutoPad {
    /// `NOTSET`: the `pads` attribute.
    NotSet,
    Valid,
    SameUpper,
    SameLower,
    /// Any other value (refused where it is used).
    Other(String),
}

/// Conv, MaxPool, AveragePool and their global forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    pub kernel_shape: Option<Vec<i64>>,
    pub strides: Option<Vec<i64>>,
    pub dilations: Option<Vec<i64>>,
    pub pads: Option<Vec<i64>>,
    pub auto_pad: AutoPad,
    /// Conv's groups (1).
    pub group: i64,
    pub ceil_mode: bool,
    /// AveragePool: whether padding counts in the divisor.
    pub count_include_pad: bool,
    /// MaxPool's Indices: row-major (false) or column-major.
    pub storage_order_columns: bool,
}

/// Gemm's scalars and transposes (MatMul: the defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gemm {
    pub alpha: f32,
    pub beta: f32,
    pub trans_a: bool,
    pub trans_b: bool,
}

/// LSTM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lstm {
    pub hidden_size: i64,
    /// The activations named, when the model names them.
    pub activations: Option<Vec<Vec<u8>>>,
    /// Whether the model sets `clip` (not supported).
    pub clip: bool,
    pub input_forget: bool,
    /// X as `[batch, seq, input]` (1) rather than `[seq, batch, input]` (0).
    pub batchwise: bool,
    pub direction: String,
}

/// Clip before opset 11 (bounds as attributes; from 11 on they are inputs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clip {
    pub min: Option<f32>,
    pub max: Option<f32>,
}

/// Pad: the mode, and before opset 11 the pads and value.
#[derive(Clone, Debug, PartialEq)]
pub struct Pad {
    pub mode: String,
    pub pads: Option<Vec<i64>>,
    pub value: f32,
}

/// A node's typed attributes.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Attrs {
    Window(Window),
    Gemm(Gemm),
    Lstm(Lstm),
    Clip(Clip),
    Pad(Pad),
    /// Another operator: its attributes are read where it runs.
    #[default]
    Untyped,
}

const DEFAULT_WINDOW: Window = Window {
    kernel_shape: None,
    strides: None,
    dilations: None,
    pads: None,
    auto_pad: AutoPad::NotSet,
    group: 1,
    ceil_mode: false,
    count_include_pad: false,
    storage_order_columns: false,
};
const DEFAULT_GEMM: Gemm = Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: false };
const DEFAULT_CLIP: Clip = Clip { min: None, max: None };

impl Attrs {
    /// The typed attributes of an `op` node with these attributes (ONNX's defaults for the
    /// missing ones, and for ones of another type).
    pub fn of(op: Option<Op>, a: &BTreeMap<String, Attribute>) -> Attrs {
        let int = |k: &str, d: i64| match a.get(k) {
            Some(Attribute::Int(v)) => *v,
            _ => d,
        };
        let float = |k: &str| match a.get(k) {
            Some(Attribute::Float(v)) => Some(*v),
            _ => None,
        };
        let ints = |k: &str| match a.get(k) {
            Some(Attribute::Ints(v)) => Some(v.clone()),
            _ => None,
        };
        let string = |k: &str, d: &str| match a.get(k) {
            Some(Attribute::String(s)) => String::from_utf8_lossy(s).into_owned(),
            _ => d.into(),
        };
        match op {
            Some(Op::Conv | Op::MaxPool | Op::AveragePool | Op::GlobalAveragePool | Op::GlobalMaxPool) => Attrs::Window(Window {
                kernel_shape: ints("kernel_shape"),
                strides: ints("strides"),
                dilations: ints("dilations"),
                pads: ints("pads"),
                auto_pad: match string("auto_pad", "NOTSET").as_str() {
                    "NOTSET" => AutoPad::NotSet,
                    "VALID" => AutoPad::Valid,
                    "SAME_UPPER" => AutoPad::SameUpper,
                    "SAME_LOWER" => AutoPad::SameLower,
                    other => AutoPad::Other(other.into()),
                },
                group: int("group", 1),
                ceil_mode: int("ceil_mode", 0) != 0,
                count_include_pad: int("count_include_pad", 0) != 0,
                storage_order_columns: int("storage_order", 0) != 0,
            }),
            Some(Op::Gemm) => Attrs::Gemm(Gemm {
                alpha: float("alpha").unwrap_or(1.0),
                beta: float("beta").unwrap_or(1.0),
                trans_a: int("transA", 0) != 0,
                trans_b: int("transB", 0) != 0,
            }),
            Some(Op::LSTM) => Attrs::Lstm(Lstm {
                hidden_size: int("hidden_size", 0),
                activations: match a.get("activations") {
                    Some(Attribute::Strings(v)) => Some(v.clone()),
                    _ => None,
                },
                clip: a.contains_key("clip"),
                input_forget: int("input_forget", 0) != 0,
                batchwise: int("layout", 0) != 0,
                direction: string("direction", "forward"),
            }),
            Some(Op::Clip) => Attrs::Clip(Clip { min: float("min"), max: float("max") }),
            Some(Op::Pad) => Attrs::Pad(Pad { mode: string("mode", "constant"), pads: ints("pads"), value: float("value").unwrap_or(0.0) }),
            _ => Attrs::Untyped,
        }
    }

    /// A window operator's attributes (the defaults for any other node).
    pub fn window(&self) -> &Window {
        match self {
            Attrs::Window(w) => w,
            _ => &DEFAULT_WINDOW,
        }
    }

    /// Gemm's attributes (MatMul and any other node: the defaults).
    pub fn gemm(&self) -> &Gemm {
        match self {
            Attrs::Gemm(g) => g,
            _ => &DEFAULT_GEMM,
        }
    }

    /// Clip's attribute bounds (none for any other node).
    pub fn clip(&self) -> &Clip {
        match self {
            Attrs::Clip(c) => c,
            _ => &DEFAULT_CLIP,
        }
    }

    /// LSTM's attributes, for an LSTM node.
    pub fn lstm(&self) -> Option<&Lstm> {
        match self {
            Attrs::Lstm(l) => Some(l),
            _ => None,
        }
    }

    /// Pad's attributes, for a Pad node.
    pub fn pad(&self) -> Option<&Pad> {
        match self {
            Attrs::Pad(p) => Some(p),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
