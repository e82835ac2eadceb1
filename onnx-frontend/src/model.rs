//! The graph IR: a model's opsets, typed inputs and outputs, constant tensors and nodes, decoded
//! from the ONNX protobuf with every field checked.

use std::collections::BTreeMap;
use std::path::Path;

use prost::Message;

use crate::error::OnnxError;
use crate::proto;
use crate::registry::Op;
pub use crate::tensor::ElemType;
use crate::tensor::Tensor;

/// Models larger than this are refused before decoding (protobuf's own limit is 2 GiB).
pub const MAX_MODEL_BYTES: u64 = 1 << 31;
/// The most bytes a model's tensors may hold in external files (`model.onnx.data`, as exporters
/// write for models past protobuf's 2 GiB), all files together.
pub const MAX_EXTERNAL_BYTES: u64 = 1 << 35;

/// Reads tensors' external data from files in the model's directory, hashing what it reads.
struct External<'a> {
    dir: &'a Path,
    hasher: blake3::Hasher,
    read: u64,
}

impl External<'_> {
    /// The raw bytes of tensor `t` (external): `location` is a file beside the model (a
    /// relative path within its directory; never absolute, never through `..`), `offset` and
    /// `length` in bytes (by default the start, and what the tensor's shape takes, which
    /// `length` must equal).
    fn read(&mut self, t: &proto::TensorProto) -> Result<Vec<u8>, String> {
        use std::io::{Read, Seek, SeekFrom};
        let mut location = None;
        let (mut offset, mut length) = (0u64, None);
        for e in &t.external_data {
            let value = e.value.as_deref().unwrap_or("");
            let number = || value.parse::<u64>().map_err(|_| format!("external data {}: `{value}` is not a byte count", e.key.as_deref().unwrap_or("")));
            match e.key.as_deref().unwrap_or("") {
                "location" => location = Some(value.to_string()),
                "offset" => offset = number()?,
                "length" => length = Some(number()?),
                _ => {} // `checksum` and others: the hash below covers the bytes themselves.
            }
        }
        let location = location.ok_or("external data without a `location`")?;
        let rel = Path::new(&location);
        if location.is_empty() || !rel.components().all(|c| matches!(c, std::path::Component::Normal(_))) {
            return Err(format!("external data location `{location}` is not a file beside the model (a relative path without `..`)"));
        }
        let want = crate::tensor::raw_len(t)?;
        if let Some(l) = length
            && l != want as u64
        {
            return Err(format!("external data `{location}`: length {l} bytes, the tensor's shape takes {want}"));
        }
        self.read = self.read.saturating_add(want as u64);
        if self.read > MAX_EXTERNAL_BYTES {
            return Err(format!("the model's external data passes {MAX_EXTERNAL_BYTES} bytes"));
        }
        let path = self.dir.join(rel);
        let mut f = std::fs::File::open(&path).map_err(|e| format!("external data {}: {e}", path.display()))?;
        f.seek(SeekFrom::Start(offset)).map_err(|e| format!("external data {}: {e}", path.display()))?;
        let mut bytes = Vec::with_capacity(want);
        f.take(want as u64).read_to_end(&mut bytes).map_err(|e| format!("external data {}: {e}", path.display()))?;
        if bytes.len() != want {
            return Err(format!("external data {}: {} bytes at offset {offset}, the tensor's shape takes {want}", path.display(), bytes.len()));
        }
        for part in [location.as_bytes(), &offset.to_le_bytes(), &(want as u64).to_le_bytes()] {
            self.hasher.update(&(part.len() as u64).to_le_bytes());
            self.hasher.update(part);
        }
        self.hasher.update_rayon(&bytes);
        Ok(bytes)
    }
}


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

/// Reads and parses an ONNX model file, with the tensors it keeps in external files beside it.
pub fn load_model(path: impl AsRef<Path>) -> Result<Model, OnnxError> {
    read_model(path.as_ref()).map(|(m, _)| m)
}

/// Reads and parses an ONNX model file, and hashes what the model is: Blake3 of the file's
/// bytes, and where tensors lie in external files (`model.onnx.data`, read from the model's
/// directory), of the file's bytes followed by each external tensor's location, offset, length
/// and bytes. Two models hash alike only when every weight is the same.
pub fn read_model(path: &Path) -> Result<(Model, [u8; 32]), OnnxError> {
    let label = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| OnnxError::Io { path: label.clone(), source: e })?;
    if meta.len() > MAX_MODEL_BYTES {
        return Err(OnnxError::TooLarge { path: label, size: meta.len(), limit: MAX_MODEL_BYTES });
    }
    // Bounded whatever the metadata said (a FIFO or a device reports 0).
    let bytes = crate::io::read_bounded(path, MAX_MODEL_BYTES as usize).map_err(|e| OnnxError::Io { path: label.clone(), source: e })?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut external = External { dir, hasher: blake3::Hasher::new(), read: 0 };
    external.hasher.update(&bytes);
    let model = parse(&bytes, &label, Some(&mut external))?;
    // Without external data the hasher has seen the file's bytes alone: Blake3 of the file.
    Ok((model, *external.hasher.finalize().as_bytes()))
}

/// Parses an ONNX model from bytes; `label` names the source in errors. A model that keeps
/// tensors in external files is refused (there is no directory to read them from): load it
/// with [`load_model`].
pub fn parse_model(bytes: &[u8], label: &str) -> Result<Model, OnnxError> {
    parse(bytes, label, None)
}

fn parse(bytes: &[u8], label: &str, external: Option<&mut External<'_>>) -> Result<Model, OnnxError> {
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
        graph: convert_graph(graph, &path, external)?,
    })
}

fn convert_graph(g: &proto::GraphProto, path: &str, mut external: Option<&mut External<'_>>) -> Result<Graph, OnnxError> {
    let mut initializers = BTreeMap::new();
    for t in &g.initializer {
        let name = t.name.clone().unwrap_or_default();
        let bad = |reason: String| OnnxError::BadTensor { path: path.into(), tensor: name.clone(), reason };
        if name.is_empty() {
            return Err(bad("an initializer has no name".into()));
        }
        let tensor = match external.as_deref_mut() {
            Some(ext) if crate::tensor::is_external(t) => ext.read(t).and_then(|raw| Tensor::from_external(t, &raw)),
            _ => Tensor::from_proto(t),
        }
        .map_err(bad)?;
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
            convert_graph(a.g.as_ref().ok_or("GRAPH attribute without a graph")?, path, None).map_err(|e| e.to_string())?,
        )),
        _ => Attribute::Unsupported(kind),
    })
}

// ---- Typed attributes (re-exported as `crate::attrs`) ----------------------------------------

// Typed attributes: an operator's ONNX attributes read once, when the parser types the node
// ([`crate::model::Node::attrs`]), with ONNX's defaults filled in. The executor and the
// circuit compiler read these fields for the operators below (windows, products, LSTM, Clip,
// Pad): the compiler never parses an attribute. Values are kept as ONNX gives them (lengths
// and ranges are checked where they are used, with the node's name in the error).

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

/// LayerNormalization's axis and epsilon (BatchNormalization's epsilon).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Norm {
    /// The first normalized axis (possibly negative).
    pub axis: i64,
    pub epsilon: f32,
}

/// A node's typed attributes.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Attrs {
    Window(Window),
    Gemm(Gemm),
    Lstm(Lstm),
    Clip(Clip),
    Pad(Pad),
    Norm(Norm),
    /// Gather's axis.
    Axis(i64),
    /// Gelu: whether `approximate = "tanh"` (otherwise `"none"`, the exact form; another value
    /// is kept as `Err` for the executor to refuse by name).
    Gelu(Result<bool, String>),
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
            Some(Op::LayerNormalization | Op::BatchNormalization) => Attrs::Norm(Norm { axis: int("axis", -1), epsilon: float("epsilon").unwrap_or(1e-5) }),
            Some(Op::Gather) => Attrs::Axis(int("axis", 0)),
            Some(Op::Gelu) => Attrs::Gelu(match string("approximate", "none").as_str() {
                "none" => Ok(false),
                "tanh" => Ok(true),
                other => Err(other.to_string()),
            }),
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

    /// LayerNormalization's and BatchNormalization's attributes (the defaults for any other
    /// node).
    pub fn norm(&self) -> Norm {
        match self {
            Attrs::Norm(n) => *n,
            _ => Norm { axis: -1, epsilon: 1e-5 },
        }
    }

    /// Gelu's form: `Ok(true)` for tanh, `Ok(false)` for the exact form (any other node: the
    /// exact form).
    pub fn gelu_tanh(&self) -> Result<bool, String> {
        match self {
            Attrs::Gelu(t) => t.clone(),
            _ => Ok(false),
        }
    }

    /// Gather's axis (0 for any other node).
    pub fn gather_axis(&self) -> i64 {
        match self {
            Attrs::Axis(a) => *a,
            _ => 0,
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
