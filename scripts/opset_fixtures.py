#!/usr/bin/env python3
"""Writes the opset fixtures: the transformer exports of ../shared/transformers (opset 17, as
PyTorch exports them) converted to the newest opset by ONNX's own version converter.

    pip install onnx==1.23.2
    python3 scripts/opset_fixtures.py [OUT_DIR]     # default: tests/fixtures/opsets

Each converted model is written as OUT_DIR/<name>-opset<N>/model.onnx beside a copy of its
sample input (the calibration reads it: without it the circuit would be another one).

encoder-tiny at opset 21 is the one committed: from opset 18 on, ReduceMean takes its axes as
an input instead of an attribute (the only node the conversion changes in it; nanogpt's
conversion changes none, and neither model converts below opset 17, where
LayerNormalization does not exist). The test (tests/tests/transformers.rs) checks that it
compiles to the same circuit, by id, as the opset-17 export.
"""
import os
import shutil
import sys

import onnx
from onnx import version_converter

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "tests", "fixtures", "opsets")
SRC = os.path.join(HERE, "..", "..", "shared", "transformers")

for name, opset in [("encoder-tiny", 21)]:
    model = onnx.load(os.path.join(SRC, name, "model.onnx"))
    converted = version_converter.convert_version(model, opset)
    onnx.checker.check_model(converted)
    folder = os.path.join(OUT, f"{name}-opset{opset}")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    onnx.save(converted, path)
    shutil.copy(os.path.join(SRC, name, "input.json"), os.path.join(folder, "input.json"))
    print(f"{path}: {os.path.getsize(path)} bytes")
