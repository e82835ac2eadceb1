"""Trains the two digits models of the peer comparison on scikit-learn's bundled 8x8 digits
(no download) and writes them as ONNX with a sample input:

- digits-mlp: 64 -> 32 -> ReLU -> 10 (Gemm, Relu, Gemm), trained by scikit-learn's MLPClassifier;
- digits-cnn: 1x8x8 -> Conv 3x3 (8 channels) -> ReLU -> MaxPool 2x2 -> Flatten -> Gemm 72 -> 10,
  trained here with plain numpy SGD (no deep-learning framework to install).

Deterministic: fixed seeds; `python make_digits.py OUT_DIR` writes OUT_DIR/digits-{mlp,cnn}/.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier


def save(model, path, x):
    os.makedirs(path, exist_ok=True)
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(path, "model.onnx"))
    with open(os.path.join(path, "input.json"), "w") as f:
        json.dump({"input_data": [x.reshape(-1).tolist()]}, f)


def mlp(x, y, out):
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=400, random_state=0).fit(x, y)
    w1, w2 = clf.coefs_
    b1, b2 = clf.intercepts_
    inits = [numpy_helper.from_array(a.astype(np.float32), n) for a, n in [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2")]]
    nodes = [
        helper.make_node("Gemm", ["input", "w1", "b1"], ["h"], name="fc1"),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("Gemm", ["r", "w2", "b2"], ["output"], name="fc2"),
    ]
    g = helper.make_graph(nodes, "digits_mlp", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 64])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    save(m, os.path.join(out, "digits-mlp"), x[0])
    print(f"digits-mlp: train accuracy {clf.score(x, y):.3f}")


def cnn(x, y, out, epochs=30, lr=0.05, seed=0):
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    imgs = x.reshape(n, 8, 8)
    k = rng.normal(0, 0.3, (8, 3, 3))
    kb = np.zeros(8)
    w = rng.normal(0, 0.1, (72, 10))
    b = np.zeros(10)
    onehot = np.eye(10)[y]
    # im2col of every 3x3 patch: (n, 36, 9)
    cols = np.stack([imgs[:, i:i + 3, j:j + 3].reshape(n, 9) for i in range(6) for j in range(6)], axis=1)
    for _ in range(epochs):
        for idx in np.array_split(rng.permutation(n), n // 32):
            c = cols[idx]                                   # (m, 36, 9)
            z = c @ k.reshape(8, 9).T + kb                  # (m, 36, 8)
            a = np.maximum(z, 0).reshape(-1, 6, 6, 8)
            p = a.reshape(-1, 3, 2, 3, 2, 8).max(axis=(2, 4))            # (m, 3, 3, 8)
            feat = p.transpose(0, 3, 1, 2).reshape(-1, 72)               # channel-major, as Flatten of NCHW
            logits = feat @ w + b
            e = np.exp(logits - logits.max(1, keepdims=True))
            prob = e / e.sum(1, keepdims=True)
            g = (prob - onehot[idx]) / len(idx)
            gw, gb = feat.T @ g, g.sum(0)
            gfeat = (g @ w.T).reshape(-1, 8, 3, 3).transpose(0, 2, 3, 1)  # (m, 3, 3, 8)
            mask = (a.reshape(-1, 3, 2, 3, 2, 8) == p[:, :, None, :, None, :])
            ga = (mask * gfeat[:, :, None, :, None, :]).reshape(-1, 36, 8) * (z > 0)
            gk = np.einsum("mpc,mpk->ck", ga, c)
            k -= lr * gk.reshape(8, 3, 3)
            kb -= lr * ga.sum((0, 1))
            w -= lr * gw
            b -= lr * gb
    inits = [
        numpy_helper.from_array(k.reshape(8, 1, 3, 3).astype(np.float32), "conv.weight"),
        numpy_helper.from_array(kb.astype(np.float32), "conv.bias"),
        numpy_helper.from_array(w.T.astype(np.float32), "fc.weight"),
        numpy_helper.from_array(b.astype(np.float32), "fc.bias"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["c"], name="conv", kernel_shape=[3, 3], strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0]),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["output"], name="fc", transB=1),
    ]
    g = helper.make_graph(nodes, "digits_cnn", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    save(m, os.path.join(out, "digits-cnn"), x[0])
    z = cols @ k.reshape(8, 9).T + kb
    p = np.maximum(z, 0).reshape(-1, 3, 2, 3, 2, 8).max(axis=(2, 4)).transpose(0, 3, 1, 2).reshape(-1, 72)
    print(f"digits-cnn: train accuracy {((p @ w + b).argmax(1) == y).mean():.3f}")


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "models"
    d = load_digits()
    x = (d.data / 16.0).astype(np.float64)
    mlp(x, d.target, out)
    cnn(x, d.target, out)
