"""Proves every corpus model Sigil proves with the release binary and writes the README's table:
the first `sigil prove` process of a model (an empty key cache: it compiles, builds and caches
the proving key), then the median of --runs processes that read the key from that cache (wall
time, user and system CPU time and peak memory under /usr/bin/time, compile and STARK times),
the verifying process's check time, and the proof's size.

    python3 benches/models.py [--runs 3] [--sigil target/release/sigil] [MODEL...]
    python3 benches/models.py --transformers [--runs 3]

A MODEL is a corpus name (`../shared/models/NAME`), a transformer's (`../shared/transformers/
NAME`: nanogpt, encoder-tiny, gpt2-block), or a folder holding model.onnx and input.json.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "shared", "models")
TRANSFORMERS = os.path.join(HERE, "..", "..", "shared", "transformers")
MODELS = [
    "dsperse-net", "dsperse-doom", "dsperse-age", "age-ssrnet-competition1", "lstm-benchmark",
    "matmul-competition", "sn48-pow-reward", "sn2-pow-reward-tan", "dummy-age-detection",
    "sn2-reward-factor-v0", "sn2-reward-legacy",
]
TRANSFORMER_MODELS = ["nanogpt", "encoder-tiny", "gpt2-block"]


def folder(m):
    """The folder of model `m`: a path, or a name in the corpus or the transformers."""
    for d in (m, os.path.join(CORPUS, m), os.path.join(TRANSFORMERS, m)):
        if os.path.isfile(os.path.join(d, "model.onnx")):
            return d
    raise SystemExit(f"{m}: no model.onnx there, in {CORPUS} or in {TRANSFORMERS}")


def run(cmd, env=None):
    stats = tempfile.mktemp()
    p = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S", "-o", stats] + cmd, capture_output=True, text=True, env=env)
    with open(stats) as f:
        wall, peak, user, system = f.read().split()[-4:]
    os.remove(stats)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    return float(wall), int(peak), json.loads(p.stdout), float(user), float(system)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*")
    ap.add_argument("--transformers", action="store_true", help="the transformer exports instead of the corpus")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sigil", default=os.path.join(HERE, "..", "target", "release", "sigil"))
    a = ap.parse_args()
    a.models = a.models or (TRANSFORMER_MODELS if a.transformers else MODELS)
    print("| model | first proof (empty cache) | process wall | user | system | compile | prove (STARK) | verify | proof | peak memory |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for m in a.models:
        model = os.path.join(folder(m), "model.onnx")
        inp = os.path.join(folder(m), "input.json")
        proof = tempfile.mktemp(suffix=".proof")
        cache = tempfile.mkdtemp(prefix="sigil-cache-")
        env = dict(os.environ, SIGIL_CACHE_DIR=cache)
        first, _, p, _, _ = run([a.sigil, "prove", model, "--input", inp, "--proof", proof, "--json"], env)
        rows = []
        for _ in range(a.runs):
            wall, peak, p, user, system = run([a.sigil, "prove", model, "--input", inp, "--proof", proof, "--json"], env)
            _, _, v, _, _ = run([a.sigil, "verify", "--model", model, "--proof", proof, "--input", inp, "--json"], env)
            rows.append((wall, p["compile_seconds"], p["prove_seconds"], v["verify_seconds"], p["proof_bytes"], peak, user, system))
        os.remove(proof)
        shutil.rmtree(cache)
        med = [statistics.median(r[i] for r in rows) for i in range(8)]
        t = lambda s: f"{s:.2f} s" if s >= 0.1 else (f"{s * 1e3:.0f} ms" if s > 0 else "< 10 ms")
        print(f"| {m} | {t(first)} | {t(med[0])} | {t(med[6])} | {t(med[7])} | {t(med[1])} | {t(med[2])} | {med[3] * 1e3:.1f} ms | {med[4] / 1000:.0f} KB | {med[5] / 1024:.0f} MB |", flush=True)


if __name__ == "__main__":
    main()
