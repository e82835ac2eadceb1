//! `sigil inspect`: what proves each node of a model, and whether the whole model is provable,
//! from the same lowering and circuit layout that [`CompiledModel::compile`] runs (without
//! building the proving key), so that `provable` is true exactly when compiling succeeds.
//!
//! [`CompiledModel::compile`]: super::CompiledModel::compile

use std::path::Path;

use crate::{Model, OnnxError};

use super::{CompileOptions, ModelError, calibration_of, lay_out};

/// One node of the model's graph, in graph order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeReport {
    pub name: String,
    pub op: String,
    /// The kinds of chip that prove it (their modules in `air/src/chips`, joined by `+`),
    /// `wiring` for a node that only moves elements or renames a value (no rows), `constant`
    /// for one folded at compilation (its value is in the circuit); `None` when nothing proves
    /// it (see `status`).
    pub proved_by: Option<String>,
    /// `proved`, `wiring`, `folded`, `executed only` (the executor runs it, no chip proves it
    /// yet: the op registry names no handler), `unsupported` (the executor does not run it),
    /// `refused` (another reason, given in `reason`), `not reached` (after the node that
    /// stopped compilation, of an operator a chip proves), or `not checked` (lowering stopped
    /// at a later node, before any circuit was laid out). Nodes after the stop and nodes of a
    /// model whose lowering stopped take `unsupported` or `executed only` from the registry.
    pub status: &'static str,
    /// Why the node stopped compilation.
    pub reason: Option<String>,
}

/// One table of the circuit: what the prover commits to for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableReport {
    /// The chip's name (its node's, with the step after a `/`).
    pub name: String,
    pub log_height: usize,
    /// Main columns.
    pub width: usize,
    /// Base-field columns of the lookup (LogUp) and auxiliary columns, committed after the
    /// challenges.
    pub lookup_width: usize,
    /// Preprocessed columns (committed in the key, not in the proof).
    pub prep_width: usize,
    /// Base-field columns of the quotient's chunks.
    pub quotient_width: usize,
}

impl TableReport {
    /// Base-field elements the prover commits per proof, before the blowup: every main,
    /// lookup and quotient column, times the height.
    pub fn committed(&self) -> u64 {
        ((self.width + self.lookup_width + self.quotient_width) as u64) << self.log_height
    }
}

/// The answer of [`inspect`].
#[derive(Clone, Debug)]
pub struct Inspection {
    /// Whether `sigil compile` succeeds on this model with these options.
    pub provable: bool,
    /// Why not, when it does not.
    pub error: Option<String>,
    /// The node that stopped compilation, when one did.
    pub stopped_at: Option<String>,
    pub nodes: Vec<NodeReport>,
    /// The circuit's tables, in its order, when the model is provable.
    pub tables: Vec<TableReport>,
}

/// The node an error names, if any.
fn node_of(e: &ModelError) -> Option<&str> {
    match e {
        ModelError::Unsupported { node, .. } | ModelError::TooWide { node, .. } | ModelError::Mismatch { node, .. } => Some(node),
        ModelError::Onnx(OnnxError::BadNode { node, .. } | OnnxError::UnsupportedOp { node, .. } | OnnxError::OutOfRange { node, .. }) => Some(node),
        _ => None,
    }
}

/// Inspects `model`, read from `path` (its sample input lies beside it), with `options` (see
/// the module's docs).
pub fn inspect(model: &Model, path: impl AsRef<Path>, options: &CompileOptions) -> Inspection {
    let path = path.as_ref();
    let mut survey = Vec::new();
    let mut failed_plan = None;
    let laid = calibration_of(model, path, options).and_then(|(calibration, mut lower_options)| lay_out(model, path, &calibration, &mut lower_options, options, &mut survey, &mut failed_plan));
    let mut tables = Vec::new();
    let (plan, error) = match laid {
        Ok((plan, (circuit, _))) => {
            tables = circuit
                .infos
                .iter()
                .zip(&circuit.log_heights)
                .map(|(i, &h)| {
                    let w = sigil_verifier::protocol::PhaseWidths::of(i);
                    TableReport { name: i.name.clone(), log_height: h, width: w.main, lookup_width: w.perm, prep_width: w.prep, quotient_width: w.quotient }
                })
                .collect();
            (Some(plan), None)
        }
        // A plan whose layout failed still says which nodes were folded.
        Err(e) => (failed_plan, Some(e)),
    };
    let stopped_at = error.as_ref().and_then(node_of).map(str::to_string);
    let mut reached_stop = false;
    let nodes = model
        .graph
        .nodes
        .iter()
        .map(|n| {
            let report = |proved_by: Option<&str>, status: &'static str, reason: Option<String>| NodeReport { name: n.name.clone(), op: n.op_type.clone(), proved_by: proved_by.map(str::to_string), status, reason };
            if stopped_at.as_deref() == Some(n.name.as_str()) {
                reached_stop = true;
                let e = error.as_ref().expect("a stop has an error");
                let status = match e {
                    ModelError::Onnx(OnnxError::UnsupportedOp { .. }) => "unsupported",
                    ModelError::Unsupported { .. } if n.op.is_some_and(|op| !op.proved()) => "executed only",
                    _ => "refused",
                };
                return report(None, status, Some(e.to_string()));
            }
            // What the registry says of an operator the compiler did not lay out.
            let unplaced = |otherwise: &'static str| match n.op {
                None => report(None, "unsupported", None),
                Some(op) if !op.proved() => report(None, "executed only", None),
                Some(_) => report(None, otherwise, None),
            };
            if !reached_stop && let Some((_, kinds)) = survey.iter().find(|(name, _)| *name == n.name) {
                return if kinds == "wiring" { report(Some("wiring"), "wiring", None) } else { report(Some(kinds), "proved", None) };
            }
            match &plan {
                // Not in the plan: folded into a constant, or an alias (Identity, Dropout).
                Some(p) if n.outputs.iter().any(|o| p.aliases.contains_key(o)) => report(Some("wiring"), "wiring", None),
                Some(p) if !p.nodes.iter().any(|m| m.name == n.name) => report(Some("constant"), "folded", None),
                Some(_) => unplaced("not reached"),
                // Lowering stopped (at a later node, or naming none): no circuit was laid out.
                None => unplaced("not checked"),
            }
        })
        .collect();
    Inspection { provable: error.is_none(), error: error.map(|e| e.to_string()), stopped_at, nodes, tables }
}
