//! The op registry: every operator Sigil knows, in one table.
//!
//! Each row names an ONNX operator (its spelling in the file, and the [`Op`] variant the rest
//! of Sigil matches on), the op family whose executor runs it (`crate::ops::<family>`), and the
//! circuit compiler's handler that proves it (a method of the compiler in
//! `crate::circuit::compile::<family>`), or nothing when the executor runs it and no chip
//! proves it yet. The table is a macro ([`op_table`]) that this module and the compiler both
//! expand, so the registry depends on nothing and the compiler depends on it. No other file spells an operator's
//! name: the parser types each node with [`Op::parse`], lowering, the executor, the circuit
//! compiler and the trace builder match on [`Op`], and `sigil inspect` reads this table.
//!
//! Adding an operator (README, "Adding an operator"): a row here, its arithmetic in its
//! family's executor module, and, to prove it, a handler in the compiler module of the same
//! family and the chip it lays out in `air/src/chips`.

/// The families of operators, one module per layer under the same name: the executor's
/// (`crate::ops::<family>`) and the circuit compiler's (`crate::circuit::compile::<family>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Data movement: wiring in the circuit, no rows.
    Movement,
    Elementwise,
    Logic,
    /// Products: Conv, Gemm, MatMul.
    Linear,
    Pool,
    /// Functions through tables.
    Nonlinear,
    Reduce,
    Norm,
    Lstm,
}

macro_rules! define_ops {
    ($($op:ident => $family:ident $([$handler:ident])?;)*) => {
        /// An operator of the ONNX default domain that Sigil knows. The variants are spelled as
        /// ONNX spells the operators ([`Op::name`]).
        #[allow(clippy::upper_case_acronyms)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Op {
            $($op,)*
        }

        impl Op {
            /// Every operator of the table, in its order.
            pub const ALL: &'static [Op] = &[$(Op::$op,)*];

            /// The operator's ONNX name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Op::$op => stringify!($op),)*
                }
            }

            /// The operator an ONNX `op_type` names, if Sigil knows it.
            pub fn parse(op_type: &str) -> Option<Op> {
                match op_type {
                    $(stringify!($op) => Some(Op::$op),)*
                    _ => None,
                }
            }

            /// The family whose executor runs it.
            pub fn family(self) -> Family {
                match self {
                    $(Op::$op => Family::$family,)*
                }
            }

            /// Whether a chip proves it (the table names a compiler handler); otherwise the
            /// executor runs it and `sigil compile` refuses it.
            pub fn proved(self) -> bool {
                match self {
                    $(Op::$op => define_ops!(@proved $($handler)?),)*
                }
            }
        }
    };
    (@proved) => { false };
    (@proved $h:ident) => { true };
}

/// The table, handed to the macro `$m`: `define_ops` here makes [`Op`], and the circuit
/// compiler makes its dispatch from the same rows (`crate::circuit::compile::handler`), so a
/// row is all an operator's name takes.
macro_rules! op_table {
    ($m:ident) => {
        $m! {
            // op                  family       [handler that proves it]
            Constant            => Movement;
            Identity            => Movement;
            Dropout             => Movement;
            Shape               => Movement;
            ConstantOfShape     => Movement;
            Cast                => Movement     [cast];
            Squeeze             => Movement     [same_order];
            Unsqueeze           => Movement     [same_order];
            Flatten             => Movement     [same_order];
            Reshape             => Movement     [same_order];
            Concat              => Movement     [moved];
            Gather              => Movement     [moved];
            Slice               => Movement     [moved];
            Transpose           => Movement     [moved];
            Expand              => Movement     [moved];
            Pad                 => Movement     [pad];
            ScatterND           => Movement;
            Split               => Movement     [split];
            Abs                 => Elementwise  [relu];
            Relu                => Elementwise  [relu];
            Add                 => Elementwise  [binary];
            Sub                 => Elementwise  [binary];
            Mul                 => Elementwise  [binary];
            Div                 => Elementwise  [div];
            Min                 => Elementwise  [minmax];
            Max                 => Elementwise  [minmax];
            Clip                => Elementwise  [clip];
            Neg                 => Elementwise  [neg];
            LeakyRelu           => Elementwise;
            Sqrt                => Elementwise  [sqrt];
            Pow                 => Elementwise  [pow];
            Reciprocal          => Elementwise;
            Mod                 => Elementwise;
            Equal               => Logic;
            Greater             => Logic;
            GreaterOrEqual      => Logic;
            Less                => Logic;
            LessOrEqual         => Logic;
            And                 => Logic;
            Or                  => Logic;
            Xor                 => Logic;
            Not                 => Logic;
            Where               => Logic        [select];
            Conv                => Linear       [conv];
            Gemm                => Linear       [gemm];
            MatMul              => Linear       [matmul];
            MaxPool             => Pool         [maxpool];
            AveragePool         => Pool         [avgpool];
            GlobalAveragePool   => Pool         [avgpool];
            GlobalMaxPool       => Pool;
            Sigmoid             => Nonlinear    [lut];
            Tanh                => Nonlinear    [lut];
            Exp                 => Nonlinear    [lut];
            Erf                 => Nonlinear    [lut];
            Tan                 => Nonlinear    [tan];
            Log                 => Nonlinear;
            Softplus            => Nonlinear;
            Softmax             => Nonlinear    [softmax];
            LogSoftmax          => Nonlinear;
            Gelu                => Nonlinear    [gelu];
            ReduceSum           => Reduce;
            ReduceMean          => Reduce       [mean];
            ReduceMax           => Reduce;
            ReduceMin           => Reduce;
            BatchNormalization  => Norm;
            LayerNormalization  => Norm         [layer_norm];
            LSTM                => Lstm         [lstm];

        }
    };
}
pub(crate) use op_table;

op_table!(define_ops);

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_to_their_op() {
        for &op in Op::ALL {
            assert_eq!(Op::parse(op.name()), Some(op));
        }
        assert_eq!(Op::parse("Tile"), None);
        assert_eq!(Op::parse("relu"), None, "names are case-sensitive, as in ONNX");
    }
}
