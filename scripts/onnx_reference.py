#!/usr/bin/env python3
"""Writes onnxruntime's float outputs for every model of the corpus on its sample input.

The integer executor of sigil-onnx is compared with these. Run from the repository root:

    pip install onnxruntime==1.32.0 numpy
    python3 scripts/onnx_reference.py [CORPUS_DIR] [OUT_DIR]

Defaults: ../shared/models and onnx-frontend/tests/reference. For each model it writes
OUT_DIR/<model>.json: {"onnxruntime": version, "inputs": [...names], "outputs": {name: {"shape",
"data"}}} (9 significant digits) or {"error": "..."} when onnxruntime refuses the model or its
input. Models without a sample input get the input `generated_input(i)` below, element by element
over all inputs in order, which the Rust tests recompute.

sn27-pow-reward needs two repairs, both recorded in its JSON: its published input.json has 19
lists for the model's 16 inputs (it belongs to another version of the model), so DERIVED below
maps it onto the 16 inputs by shape and position and the JSON carries that input as
"derived_input"; and the model adds two booleans with Add, which ONNX's type rules forbid and
onnxruntime refuses (it also lacks Where on booleans), so its reference is ONNX's own reference
implementation, onnx.reference.ReferenceEvaluator, whose bool + bool is numpy's (a logical or,
as in PyTorch, which exported the model).
"""
import json
import os
import sys

import numpy as np
import onnxruntime as ort

ort.set_default_logger_severity(3)


def generated_input(n):
    """n values in [0, 1): x_i = ((i * 2654435761) mod 2^32) / 2^32 (Knuth's multiplicative hash)."""
    i = np.arange(n, dtype=np.uint64)
    return ((i * np.uint64(2654435761)) % np.uint64(1 << 32)).astype(np.float64) / float(1 << 32)

# sn27-pow-reward: the first nine [2]-shaped lists are the nine [2, 1] inputs in order but the
# tenth (an extra per-uid list); of the nine scalars, the first four are the two integer and two
# float weights and the last three pow_timeout, pow_min_difficulty and pow_max_difficulty.
DERIVED = {
    "sn27-pow-reward": lambda d: [[[v] for v in x] if not isinstance(x[0], list) else x for x in d[:9]]
    + [d[10], d[11], d[12], d[13], d[16], d[17], d[18]],
}

class Reference:
    """onnx.reference.ReferenceEvaluator behind onnxruntime's session interface."""

    class Meta:
        def __init__(self, name, type_, shape):
            self.name, self.type, self.shape = name, type_, shape

    def __init__(self, path):
        import onnx
        from onnx.reference import ReferenceEvaluator

        self.version = onnx.__version__
        self.model = onnx.load(path)
        self.eval = ReferenceEvaluator(self.model)

    def _metas(self, values):
        import onnx

        out = []
        for v in values:
            t = v.type.tensor_type
            type_ = "tensor(" + onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name.replace("float32", "float").replace("float64", "double") + ")"
            shape = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in t.shape.dim]
            out.append(Reference.Meta(v.name, type_, shape))
        return out

    def get_inputs(self):
        return self._metas(self.model.graph.input)

    def get_outputs(self):
        return self._metas(self.model.graph.output)

    def run(self, _names, feeds):
        return self.eval.run(None, feeds)


TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
}


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else "../shared/models"
    out_dir = sys.argv[2] if len(sys.argv) > 2 else "onnx-frontend/tests/reference"
    os.makedirs(out_dir, exist_ok=True)
    for name in sorted(os.listdir(corpus)):
        model = os.path.join(corpus, name, "model.onnx")
        if not os.path.isfile(model):
            continue
        result = {"onnxruntime": ort.__version__}
        try:
            if name in DERIVED:
                sess = Reference(model)
                result["reference"] = "onnx.reference.ReferenceEvaluator, onnx " + sess.version
            else:
                sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
            metas = sess.get_inputs()
            path = os.path.join(corpus, name, "input.json")
            feeds = {}
            if os.path.isfile(path):
                data = json.load(open(path))["input_data"]
                if name in DERIVED:
                    data = DERIVED[name](data)
                    result["derived_input"] = {"input_data": data}
                if len(data) != len(metas):
                    raise ValueError(f"input.json has {len(data)} lists, the model {len(metas)} inputs")
            else:
                data = None
                result["generated_input"] = "x_i = ((i * 2654435761) mod 2^32) / 2^32 over all inputs in order"
            offset = 0
            for k, m in enumerate(metas):
                shape = [d if isinstance(d, int) else 1 for d in m.shape]
                dtype = TYPES[m.type]
                if data is None:
                    n = int(np.prod(shape))
                    feeds[m.name] = generated_input(offset + n)[offset:].reshape(shape).astype(dtype)
                    offset += n
                else:
                    feeds[m.name] = np.array(data[k], dtype=np.float64).reshape(shape).astype(dtype)
            outs = sess.run(None, feeds)
            result["inputs"] = [m.name for m in metas]
            result["outputs"] = {
                o.name: {
                    "shape": list(v.shape),
                    "data": [float(f"{x:.9g}") for x in np.asarray(v, dtype=np.float64).ravel()],
                }
                for o, v in zip(sess.get_outputs(), outs)
            }
        except Exception as e:  # recorded, not hidden: the Rust test checks the error too
            result["error"] = str(e).splitlines()[0][:300]
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(result, f, indent=None, separators=(",", ":"))
        print(name, "error: " + result["error"] if "error" in result else "ok")


if __name__ == "__main__":
    main()
