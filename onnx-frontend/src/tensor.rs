//! Constant tensors (initializers and attribute values), decoded from any of ONNX's encodings.

use crate::proto::TensorProto;

/// The elements of a tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    /// Booleans and 8/16-bit integers, widened.
    Small(Vec<i32>),
    U64(Vec<u64>),
}

impl TensorData {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            TensorData::F32(v) => v.len(),
            TensorData::F64(v) => v.len(),
            TensorData::I64(v) => v.len(),
            TensorData::I32(v) | TensorData::Small(v) => v.len(),
            TensorData::U64(v) => v.len(),
        }
    }
    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as f64 when they are floats (F32 or F64), `None` for integer data.
    pub fn floats(&self) -> Option<Vec<f64>> {
        match self {
            TensorData::F32(v) => Some(v.iter().map(|&x| f64::from(x)).collect()),
            TensorData::F64(v) => Some(v.clone()),
            _ => None,
        }
    }
}

/// A decoded constant tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub elem_type: ElemType,
    pub dims: Vec<usize>,
    pub data: TensorData,
}

impl Tensor {
    /// Number of elements implied by the dims.
    pub fn numel(&self) -> usize {
        self.dims.iter().product()
    }

    /// Decodes a `TensorProto` whose data is in the message. Errors are reasons, to be wrapped
    /// with the file and name.
    pub fn from_proto(t: &TensorProto) -> Result<Tensor, String> {
        if is_external(t) {
            return Err("its data is in an external file: load the model from its file (`load_model`), beside that file".into());
        }
        Self::decode(t, t.raw_data.as_deref())
    }

    /// Decodes a `TensorProto` whose data is in an external file, from those bytes (`raw`,
    /// exactly [`raw_len`] of them).
    pub(crate) fn from_external(t: &TensorProto, raw: &[u8]) -> Result<Tensor, String> {
        Self::decode(t, Some(raw))
    }

    fn decode(t: &TensorProto, raw: Option<&[u8]>) -> Result<Tensor, String> {
        let name = t.name.clone().unwrap_or_default();
        let (dims, numel, raw_len) = shape_of(t)?;
        let elem_type = ElemType::from_code(t.data_type.unwrap_or(0));
        let width = elem_type.byte_width().ok_or(format!("element type {elem_type:?} is not supported"))?;
        if let Some(raw) = raw
            && raw.len() != raw_len
        {
            return Err(format!("raw data has {} bytes, {numel} elements of {width} bytes expected", raw.len()));
        }
        let check = |n: usize| -> Result<(), String> {
            if n == numel { Ok(()) } else { Err(format!("{n} values for {numel} elements")) }
        };
        macro_rules! from_raw {
            ($ty:ty, $raw:expr) => {
                $raw.chunks_exact(std::mem::size_of::<$ty>())
                    .map(|c| <$ty>::from_le_bytes(c.try_into().unwrap_or_default()))
                    .collect::<Vec<$ty>>()
            };
        }
        let data = match elem_type {
            ElemType::Float => TensorData::F32(match raw {
                Some(r) => from_raw!(f32, r),
                None => {
                    check(t.float_data.len())?;
                    t.float_data.clone()
                }
            }),
            ElemType::Double => TensorData::F64(match raw {
                Some(r) => from_raw!(f64, r),
                None => {
                    check(t.double_data.len())?;
                    t.double_data.clone()
                }
            }),
            ElemType::Int64 => TensorData::I64(match raw {
                Some(r) => from_raw!(i64, r),
                None => {
                    check(t.int64_data.len())?;
                    t.int64_data.clone()
                }
            }),
            ElemType::Int32 => TensorData::I32(match raw {
                Some(r) => from_raw!(i32, r),
                None => {
                    check(t.int32_data.len())?;
                    t.int32_data.clone()
                }
            }),
            ElemType::Uint64 => TensorData::U64(match raw {
                Some(r) => from_raw!(u64, r),
                None => {
                    check(t.uint64_data.len())?;
                    t.uint64_data.clone()
                }
            }),
            ElemType::Bool | ElemType::Uint8 | ElemType::Int8 | ElemType::Uint16 | ElemType::Int16 => {
                TensorData::Small(match raw {
                    Some(r) => match elem_type {
                        ElemType::Int8 => r.iter().map(|&b| i32::from(b as i8)).collect(),
                        ElemType::Uint16 => from_raw!(u16, r).into_iter().map(i32::from).collect(),
                        ElemType::Int16 => from_raw!(i16, r).into_iter().map(i32::from).collect(),
                        _ => r.iter().map(|&b| i32::from(b)).collect(),
                    },
                    None => {
                        check(t.int32_data.len())?;
                        t.int32_data.clone()
                    }
                })
            }
            other => return Err(format!("element type {other:?} is not supported")),
        };
        Ok(Tensor { name, elem_type, dims, data })
    }
}

/// Whether a tensor's data lies in an external file (`data_location` EXTERNAL).
pub(crate) fn is_external(t: &TensorProto) -> bool {
    !t.external_data.is_empty() || t.data_location == Some(1)
}

/// A tensor's dimensions, element count and the bytes its raw encoding takes.
fn shape_of(t: &TensorProto) -> Result<(Vec<usize>, usize, usize), String> {
    let mut dims = Vec::with_capacity(t.dims.len());
    let mut numel: usize = 1;
    for &d in &t.dims {
        let d = usize::try_from(d).map_err(|_| format!("negative dimension {d}"))?;
        numel = numel.checked_mul(d).ok_or("dimensions overflow")?;
        dims.push(d);
    }
    let elem_type = ElemType::from_code(t.data_type.unwrap_or(0));
    let width = elem_type.byte_width().ok_or(format!("element type {elem_type:?} is not supported"))?;
    let raw_len = numel.checked_mul(width).ok_or("dimensions overflow")?;
    Ok((dims, numel, raw_len))
}

/// The bytes a tensor's raw encoding takes (what its external data must hold).
pub(crate) fn raw_len(t: &TensorProto) -> Result<usize, String> {
    shape_of(t).map(|s| s.2)
}

/// An ONNX element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ElemType {
    Float,
    Uint8,
    Int8,
    Uint16,
    Int16,
    Int32,
    Int64,
    String,
    Bool,
    Float16,
    Double,
    Uint32,
    Uint64,
    Bfloat16,
    /// A type code Sigil does not know (complex, float8, 4-bit, ...).
    Other(i32),
}

impl ElemType {
    /// Whether values of this type are real numbers (quantized to fixed point), not exact
    /// integers or booleans.
    pub fn is_float(self) -> bool {
        matches!(self, ElemType::Float | ElemType::Double | ElemType::Float16 | ElemType::Bfloat16)
    }

    /// From `TensorProto.DataType`.
    pub fn from_code(c: i32) -> Self {
        match c {
            1 => ElemType::Float,
            2 => ElemType::Uint8,
            3 => ElemType::Int8,
            4 => ElemType::Uint16,
            5 => ElemType::Int16,
            6 => ElemType::Int32,
            7 => ElemType::Int64,
            8 => ElemType::String,
            9 => ElemType::Bool,
            10 => ElemType::Float16,
            11 => ElemType::Double,
            12 => ElemType::Uint32,
            13 => ElemType::Uint64,
            16 => ElemType::Bfloat16,
            other => ElemType::Other(other),
        }
    }

    /// The ONNX name (`FLOAT`, `INT64`, ...).
    pub fn name(&self) -> String {
        match self {
            ElemType::Float => "FLOAT".into(),
            ElemType::Uint8 => "UINT8".into(),
            ElemType::Int8 => "INT8".into(),
            ElemType::Uint16 => "UINT16".into(),
            ElemType::Int16 => "INT16".into(),
            ElemType::Int32 => "INT32".into(),
            ElemType::Int64 => "INT64".into(),
            ElemType::String => "STRING".into(),
            ElemType::Bool => "BOOL".into(),
            ElemType::Float16 => "FLOAT16".into(),
            ElemType::Double => "DOUBLE".into(),
            ElemType::Uint32 => "UINT32".into(),
            ElemType::Uint64 => "UINT64".into(),
            ElemType::Bfloat16 => "BFLOAT16".into(),
            ElemType::Other(c) => format!("TYPE{c}"),
        }
    }

    /// Bytes per element in `raw_data`, for the types Sigil decodes.
    pub fn byte_width(&self) -> Option<usize> {
        Some(match self {
            ElemType::Float | ElemType::Int32 | ElemType::Uint32 => 4,
            ElemType::Double | ElemType::Int64 | ElemType::Uint64 => 8,
            ElemType::Uint8 | ElemType::Int8 | ElemType::Bool => 1,
            ElemType::Uint16 | ElemType::Int16 | ElemType::Float16 | ElemType::Bfloat16 => 2,
            ElemType::String | ElemType::Other(_) => return None,
        })
    }
}
