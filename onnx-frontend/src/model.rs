//! The graph IR: a model's opsets, typed inputs and outputs, constant tensors and nodes, decoded
//! from the ONNX protobuf with every field checked.

use std::collections::BTreeMap;
use std::path::Path;

use prost::Message;

use crate::error::OnnxError;
use crate::proto;
use crate::attrs::Attrs;
use crate::registry::Op;
pub use crate::tensor::ElemType;
use crate::tensor::Tensor;

/// Models larger than this are refused before decoding (protobuf's own limit is 2 GiB).
pub const MAX_MODEL_BYTES: u64 = 1 << 31;


/// One dimension of a declared shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dim {
    Fixed(usize),
    /// A named dimension such as `batch_size`.
    Symbolic(String),
    /// Not given.
    Unknown,
}

/// A graph input or output: name, element type and declared shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueInfo {
    pub name: String,
    pub elem_type: ElemType,
    /// `None` when the model declares no shape.
    pub shape: Option<Vec<Dim>>,
}

impl ValueInfo {
    /// The declared shape with symbolic and unknown dimensions (the batch) set to 1.
    pub fn fixed_dims(&self) -> Vec<usize> {
        self.shape.iter().flatten().map(|d| if let Dim::Fixed(n) = d { *n } else { 1 }).collect()
    }
}

/// A node attribute.
#[derive(Clone, Debug, PartialEq)]
pub enum Attribute {
    Float(f32),
    Int(i64),
    String(Vec<u8>),
    Tensor(Tensor),
    Floats(Vec<f32>),
    Ints(Vec<i64>),
    Strings(Vec<Vec<u8>>),
    /// A subgraph (`If`, `Loop`, `Scan` bodies).
    Graph(Box<Graph>),
    /// A kind Sigil does not use (sparse tensors, type protos, lists of graphs).
    Unsupported(i32),
}

/// A node of the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The node's name, or `<op>_<index>` when the model gives none.
    pub name: String,
    pub op_type: String,
    /// The operator, typed ([`crate::registry`]); `None` for one Sigil does not know.
    pub op: Option<Op>,
    /// Its attributes, typed ([`crate::attrs`]), for the operators that have typed ones.
    pub attrs: Attrs,
    /// `""` for the default `ai.onnx` domain.
    pub domain: String,
    /// Input value names; `""` marks an omitted optional input.
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: BTreeMap<String, Attribute>,
}

/// A computation graph.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Graph {
    pub name: String,
    /// Inputs the caller provides (graph inputs that are not initializers).
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
    /// Constant tensors by name.
    pub initializers: BTreeMap<String, Tensor>,
    pub nodes: Vec<Node>,
}

/// A parsed model.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub ir_version: i64,
    /// `(domain, version)`; the default domain is written `ai.onnx`.
    pub opsets: Vec<(String, i64)>,
    pub producer_name: String,
    pub producer_version: String,
    pub graph: Graph,
}

/// What `sigil inspect` reports about a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSummary {
    pub ir_version: i64,
    pub opsets: Vec<(String, i64)>,
    pub producer: String,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
    pub n_nodes: usize,
    /// Elements in all initializers.
    pub n_params: usize,
    /// Operator counts, by name.
    pub ops: BTreeMap<String, usize>,
}

impl Model {
    /// The opset version of the default domain.
    pub fn opset(&self) -> Option<i64> {
        self.opsets.iter().find(|(d, _)| d == "ai.onnx").map(|(_, v)| *v)
    }

    /// A summary of the model.
    pub fn summary(&self) -> ModelSummary {
        let mut ops = BTreeMap::new();
        for n in &self.graph.nodes {
            *ops.entry(n.op_type.clone()).or_insert(0) += 1;
        }
        ModelSummary {
            ir_version: self.ir_version,
            opsets: self.opsets.clone(),
            producer: format!("{} {}", self.producer_name, self.producer_version).trim().to_string(),
            inputs: self.graph.inputs.clone(),
            outputs: self.graph.outputs.clone(),
            n_nodes: self.graph.nodes.len(),
            n_params: self.graph.initializers.values().map(|t| t.numel()).sum(),
            ops,
        }
    }
}

impl std::fmt::Display for ModelSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let opsets: Vec<String> = self.opsets.iter().map(|(d, v)| format!("{d} {v}")).collect();
        writeln!(f, "ir version {}, opsets {}, producer {}", self.ir_version, opsets.join(", "), self.producer)?;
        let shape = |v: &ValueInfo| -> String {
            match &v.shape {
                None => "?".into(),
                Some(dims) => dims
                    .iter()
                    .map(|d| match d {
                        Dim::Fixed(n) => n.to_string(),
                        Dim::Symbolic(s) => s.clone(),
                        Dim::Unknown => "?".into(),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        };
        for v in &self.inputs {
            writeln!(f, "input  {} {} [{}]", v.name, v.elem_type.name(), shape(v))?;
        }
        for v in &self.outputs {
            writeln!(f, "output {} {} [{}]", v.name, v.elem_type.name(), shape(v))?;
        }
        writeln!(f, "{} nodes, {} parameters", self.n_nodes, self.n_params)?;
        for (op, n) in &self.ops {
            writeln!(f, "  {op:<24} {n:>5}")?;
        }
        Ok(())
    }
}

/// Reads and parses an ONNX model file.
pub fn load_model(path: impl AsRef<Path>) -> Result<Model, OnnxError> {
    let path = path.as_ref();
    let label = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| OnnxError::Io { path: label.clone(), source: e })?;
    if meta.len() > MAX_MODEL_BYTES {
        return Err(OnnxError::TooLarge { path: label, size: meta.len(), limit: MAX_MODEL_BYTES });
    }
    // Bounded whatever the metadata said (a FIFO or a device reports 0).
    let bytes = crate::io::read_bounded(path, MAX_MODEL_BYTES as usize).map_err(|e| OnnxError::Io { path: label.clone(), source: e })?;
    parse_model(&bytes, &label)
}

/// Parses an ONNX model from bytes; `label` names the source in errors.
pub fn parse_model(bytes: &[u8], label: &str) -> Result<Model, OnnxError> {
    let path = label.to_string();
    if bytes.is_empty() {
        return Err(OnnxError::Empty { path });
    }
    if bytes.len() as u64 > MAX_MODEL_BYTES {
        return Err(OnnxError::TooLarge { path, size: bytes.len() as u64, limit: MAX_MODEL_BYTES });
    }
    // prost bounds message nesting (100 levels), so crafted input cannot overflow the stack.
    let m = proto::ModelProto::decode(bytes).map_err(|e| OnnxError::Decode { path: path.clone(), reason: e.to_string() })?;
    let graph = m.graph.as_ref().ok_or(OnnxError::MissingGraph { path: path.clone() })?;
    let opsets = m
        .opset_import
        .iter()
        .map(|o| {
            let d = o.domain.clone().unwrap_or_default();
            (if d.is_empty() { "ai.onnx".to_string() } else { d }, o.version.unwrap_or(0))
        })
        .collect();
    Ok(Model {
        ir_version: m.ir_version.unwrap_or(0),
        opsets,
        producer_name: m.producer_name.clone().unwrap_or_default(),
        producer_version: m.producer_version.clone().unwrap_or_default(),
        graph: convert_graph(graph, &path)?,
    })
}

fn convert_graph(g: &proto::GraphProto, path: &str) -> Result<Graph, OnnxError> {
    let mut initializers = BTreeMap::new();
    for t in &g.initializer {
        let name = t.name.clone().unwrap_or_default();
        let bad = |reason: String| OnnxError::BadTensor { path: path.into(), tensor: name.clone(), reason };
        if name.is_empty() {
            return Err(bad("an initializer has no name".into()));
        }
        let tensor = Tensor::from_proto(t).map_err(bad)?;
        if initializers.insert(name.clone(), tensor).is_some() {
            return Err(bad("two initializers have this name".into()));
        }
    }
    let inputs = g
        .input
        .iter()
        .filter(|v| !initializers.contains_key(v.name.as_deref().unwrap_or("")))
        .map(|v| value_info(v, path))
        .collect::<Result<_, _>>()?;
    let outputs = g.output.iter().map(|v| value_info(v, path)).collect::<Result<_, _>>()?;
    let mut nodes = Vec::with_capacity(g.node.len());
    for (i, n) in g.node.iter().enumerate() {
        let op_type = n.op_type.clone().unwrap_or_default();
        let name = match n.name.as_deref() {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => format!("{op_type}_{i}"),
        };
        let bad = |reason: String| OnnxError::BadNode { path: path.into(), node: name.clone(), op: op_type.clone(), reason };
        if op_type.is_empty() {
            return Err(bad("the node has no operator type".into()));
        }
        let mut attributes = BTreeMap::new();
        for a in &n.attribute {
            let an = a.name.clone().unwrap_or_default();
            let value = attribute(a, path).map_err(|e| bad(format!("attribute `{an}`: {e}")))?;
            attributes.insert(an, value);
        }
        let op = Op::parse(&op_type);
        nodes.push(Node {
            name,
            op,
            attrs: Attrs::of(op, &attributes),
            op_type,
            domain: n.domain.clone().unwrap_or_default(),
            inputs: n.input.clone(),
            outputs: n.output.clone(),
            attributes,
        });
    }
    Ok(Graph { name: g.name.clone().unwrap_or_default(), inputs, outputs, initializers, nodes })
}

fn value_info(v: &proto::ValueInfoProto, path: &str) -> Result<ValueInfo, OnnxError> {
    use proto::tensor_shape_proto::dimension::Value as D;
    use proto::type_proto::Value as T;
    let name = v.name.clone().unwrap_or_default();
    let bad = |reason: &str| OnnxError::BadValueInfo { path: path.into(), value: name.clone(), reason: reason.into() };
    let Some(T::TensorType(t)) = v.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err(bad("only tensor values are supported"));
    };
    let shape = match &t.shape {
        None => None,
        Some(s) => Some(
            s.dim
                .iter()
                .map(|d| match &d.value {
                    Some(D::DimValue(n)) => usize::try_from(*n).map(Dim::Fixed).map_err(|_| bad("negative dimension")),
                    Some(D::DimParam(p)) => Ok(Dim::Symbolic(p.clone())),
                    None => Ok(Dim::Unknown),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(ValueInfo { name, elem_type: ElemType::from_code(t.elem_type.unwrap_or(0)), shape })
}

fn attribute(a: &proto::AttributeProto, path: &str) -> Result<Attribute, String> {
    use proto::attribute_proto::AttributeType as A;
    let kind = a.r#type.unwrap_or(0);
    Ok(match A::try_from(kind) {
        Ok(A::Float) => Attribute::Float(a.f.unwrap_or(0.0)),
        Ok(A::Int) => Attribute::Int(a.i.unwrap_or(0)),
        Ok(A::String) => Attribute::String(a.s.clone().unwrap_or_default()),
        Ok(A::Tensor) => Attribute::Tensor(Tensor::from_proto(a.t.as_ref().ok_or("TENSOR attribute without a tensor")?)?),
        Ok(A::Floats) => Attribute::Floats(a.floats.clone()),
        Ok(A::Ints) => Attribute::Ints(a.ints.clone()),
        Ok(A::Strings) => Attribute::Strings(a.strings.clone()),
        Ok(A::Graph) => Attribute::Graph(Box::new(
            convert_graph(a.g.as_ref().ok_or("GRAPH attribute without a graph")?, path).map_err(|e| e.to_string())?,
        )),
        _ => Attribute::Unsupported(kind),
    })
}
