#!/usr/bin/env bash
# Creates the peer harness's Python 3.12 environment (dsperse 3.x and jstprove ship cp312
# wheels only) with the pinned peers, and the digits models. Needs PyPI.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON312:-$(command -v python3.12 || echo "$HOME/.pyenv/versions/3.12.1/bin/python")}
"$PY" -m venv .venv
.venv/bin/pip install --quiet dsperse==3.9.10 ezkl==23.0.5 onnxruntime==1.32.0 numpy scikit-learn onnx msgpack
.venv/bin/python make_digits.py models
echo "ready: .venv/bin/python run.py MODEL_DIR..."
