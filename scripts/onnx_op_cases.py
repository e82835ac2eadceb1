#!/usr/bin/env python3
"""Exports ONNX's own per-operator test cases for the operators the executor supports.

    pip install onnx==1.23.2 numpy
    python3 scripts/onnx_op_cases.py [OUT_DIR]

`onnx.backend.test.case.node.collect_testcases` builds the cases in memory (the package no
longer ships the .pb files). For every single-node case of a supported operator whose tensors
are float32/float64/int64/int32/bool and small (under 20,000 elements in all), this writes
OUT_DIR/<case>.json: {"op", "opset", "model_hex", "inputs": [{"shape", "data"}],
"outputs": [{"shape", "data"}]}. Default OUT_DIR: onnx-frontend/tests/op_cases.

The committed cases come from onnx 1.23.2 (the newest release when exported), plus the four
FLOAT/DOUBLE Cast cases of onnx 1.17.0 (test_cast_DOUBLE_to_FLOAT, test_cast_FLOAT_to_DOUBLE
and their CastLike expansions): 1.23 rewrote those with NaN and infinities, which fixed point
refuses, and its other Cast cases use types the executor does not read (float16, float8, 4-bit),
so without them Cast would have no case.
"""
import json
import os
import re
import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")
from onnx import TensorProto, numpy_helper  # noqa: E402
from onnx.backend.test.case.node import collect_testcases  # noqa: E402


def supported_ops():
    """The operators of Sigil's op registry, read from its table in onnx-frontend/src/registry.rs
    (one row per operator: `Name => Family [handler];`)."""
    src = open(os.path.join(os.path.dirname(__file__), "..", "onnx-frontend", "src", "registry.rs")).read()
    table = src[src.index("macro_rules! op_table"):]
    return set(re.findall(r"^\s+(\w+)\s+=> \w+", table, re.M))


SUPPORTED = supported_ops()
KINDS = (np.float32, np.float64, np.int64, np.int32, np.bool_)


def array(x):
    """A case's value as numpy: newer onnx releases store some (Cast's) as TensorProto."""
    if isinstance(x, TensorProto):
        return numpy_helper.to_array(x)
    return np.asarray(x)


def tensor(a):
    a = array(a)
    return {"shape": list(a.shape), "data": a.astype(np.float64).ravel().tolist()}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "onnx-frontend/tests/op_cases"
    os.makedirs(out, exist_ok=True)
    n = 0
    nonfinite = []
    for c in collect_testcases(None):
        g = c.model.graph
        if len(g.node) != 1 or g.node[0].op_type not in SUPPORTED or not c.data_sets:
            continue
        inputs, outputs = c.data_sets[0]
        arrays = [array(x) for x in list(inputs) + list(outputs)]
        if any(a.dtype.type not in KINDS for a in arrays) or sum(a.size for a in arrays) > 20000:
            continue
        if any(not np.all(np.isfinite(a.astype(np.float64))) for a in arrays):
            # Fixed point has no NaN or infinity; such inputs are rejected by the input reader.
            nonfinite.append(c.name)
            continue
        opset = max((o.version for o in c.model.opset_import if o.domain in ("", "ai.onnx")), default=0)
        case = {
            "op": g.node[0].op_type,
            "opset": opset,
            "model_hex": c.model.SerializeToString().hex(),
            "inputs": [tensor(x) for x in inputs],
            "outputs": [tensor(x) for x in outputs],
        }
        with open(os.path.join(out, c.name + ".json"), "w") as f:
            json.dump(case, f, separators=(",", ":"))
        n += 1
    print(n, "cases written to", out)
    print(len(nonfinite), "cases left out for NaN or infinite values:", " ".join(nonfinite))


if __name__ == "__main__":
    main()
