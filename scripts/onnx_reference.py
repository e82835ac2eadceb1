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
            sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
            metas = sess.get_inputs()
            path = os.path.join(corpus, name, "input.json")
            feeds = {}
            if os.path.isfile(path):
                data = json.load(open(path))["input_data"]
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
