"""The peer comparison: Sigil, DSperse 3.9 (Expander: bn254_raw, goldilocks_basefold,
goldilocks_ext4_whir) and EZKL 23 prove and verify the same models on the same machine,
interleaved round by round, and the harness writes a table.

    python run.py --sigil ../../target/release/sigil --rounds 3 MODEL_DIR...

Each MODEL_DIR holds model.onnx and input.json (EZKL/DSperse layout). Every step runs in its
own process under /usr/bin/time (wall time, peak resident memory). Measured per model and
prover:

- first proof: every per-model step before the first proof, and that proof (Sigil: the whole
  `sigil prove` process, which compiles the model and writes its proving key to an empty
  cache; DSperse: slice, compile, infer, prove;
  EZKL: settings, calibration, compile, a locally generated SRS, keys, witness, prove);
- prove: the median over rounds of what a request costs once the model is set up (Sigil: the
  whole `sigil prove` process, its proving key read from the cache the first proof wrote;
  DSperse:
  infer + prove; EZKL: witness + prove);
- verify: the median over rounds of the verifying process;
- proof bytes (DSperse: all slices' proofs together; EZKL: the proof's bytes);
- what was proved: the whole model, or (DSperse) how many of its slices were compiled to
  circuits and proved, the others running in onnxruntime without a proof;
- peak memory: the largest of the prove steps;
- output error against onnxruntime: the largest absolute difference and the relative L2 error.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DSPERSE_CONFIGS = ["bn254_raw", "goldilocks_basefold", "goldilocks_ext4_whir"]


def timed(cmd, env=None, timeout=3600):
    """Runs `cmd`; returns (ok, wall seconds, peak KB, stdout)."""
    stats = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"peers-time-{os.getpid()}")
    t = time.time()
    p = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", stats] + cmd, capture_output=True, text=True, env=env, timeout=timeout)
    wall = time.time() - t
    try:
        with open(stats) as f:
            parts = f.read().split()
        peak = int(parts[-1])
    except (OSError, ValueError, IndexError):
        peak = 0
    if p.returncode != 0:
        sys.stderr.write(f"FAILED ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}\n")
    return p.returncode == 0, wall, peak, p.stdout


def flat(x):
    if isinstance(x, (list, tuple)):
        return [v for e in x for v in flat(e)]
    return [float(x)]


def reference(model, inp):
    import numpy as np
    import onnxruntime as ort

    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    with open(inp) as f:
        data = json.load(f)["input_data"]
    feeds = {}
    for i, meta in enumerate(sess.get_inputs()):
        shape = [d if isinstance(d, int) else 1 for d in meta.shape]
        dtype = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(bool)": np.bool_}.get(meta.type, np.float32)
        feeds[meta.name] = np.array(flat(data[i]), dtype=np.float64).astype(dtype).reshape(shape)
    return [v for o in sess.run(None, feeds) for v in np.asarray(o, dtype=np.float64).reshape(-1).tolist()]


def error(got, want):
    if not got or len(got) != len(want):
        return None
    diff = [a - b for a, b in zip(got, want)]
    norm = sum(b * b for b in want) ** 0.5 or 1.0
    return {"max_abs": max(abs(d) for d in diff), "rel_l2": sum(d * d for d in diff) ** 0.5 / norm}


class Sigil:
    name = "Sigil"

    def __init__(self, binary):
        self.binary = binary

    def env(self, work):
        # The proving key is cached under the model's work directory, empty before its first
        # proof: the first proof builds and writes it, later requests read it.
        return dict(os.environ, SIGIL_CACHE_DIR=os.path.join(work, "sigil-cache"))

    def setup(self, model, inp, work):
        shutil.rmtree(os.path.join(work, "sigil-cache"), ignore_errors=True)
        return [], None

    def prove(self, model, inp, work):
        proof = os.path.join(work, "model.proof")
        ok, wall, peak, out = timed([self.binary, "prove", model, "--input", inp, "--proof", proof, "--json"], env=self.env(work))
        j = json.loads(out) if ok else {}
        return ok, wall, peak, flat(j.get("output_data", []))

    def verify(self, model, inp, work):
        ok, wall, peak, _ = timed([self.binary, "verify", "--model", model, "--proof", os.path.join(work, "model.proof"), "--json"], env=self.env(work))
        return ok, wall

    def proof_bytes(self, work):
        return os.path.getsize(os.path.join(work, "model.proof"))


class Python:
    """A peer driven through steps.py."""

    def __init__(self, python):
        self.python = python
        self.env = dict(os.environ)
        try:
            import onnxruntime
            capi = os.path.join(os.path.dirname(onnxruntime.__file__), "capi")
            lib = sorted(f for f in os.listdir(capi) if f.startswith("libonnxruntime.so"))
            if lib:
                self.env["ORT_DYLIB_PATH"] = os.path.join(capi, lib[-1])
        except ImportError:
            pass

    def step(self, tool, step, work, model, inp, *extra):
        return timed([self.python, os.path.join(HERE, "steps.py"), tool, step, work, model, inp, *extra], env=self.env)


class Dsperse(Python):
    def __init__(self, python, config):
        super().__init__(python)
        self.config = config
        self.name = f"DSperse {config}"

    def setup(self, model, inp, work):
        # An unseen model: no circuit tuning cached from an earlier run (jstprove keeps its
        # chunk-width tuning in ~/.cache/jstprove and reuses it across runs).
        import shutil
        shutil.rmtree(os.path.join(os.path.expanduser("~"), ".cache", "jstprove"), ignore_errors=True)
        steps = [self.step("dsperse", s, work, model, inp, self.config) for s in ("slice", "compile")]
        return steps, None

    def prove(self, model, inp, work):
        a = self.step("dsperse", "infer", work, model, inp)
        b = self.step("dsperse", "prove", work, model, inp)
        out = []
        try:
            import msgpack
            with open(os.path.join(work, "run", "output.msgpack"), "rb") as f:
                out = flat(msgpack.unpackb(f.read())["output_data"])
        except (OSError, KeyError, ImportError):
            pass
        return a[0] and b[0], a[1] + b[1], max(a[2], b[2]), out

    def verify(self, model, inp, work):
        ok, wall, _, _ = self.step("dsperse", "verify", work, model, inp)
        return ok, wall

    def proof_bytes(self, work):
        run = os.path.join(work, "run")
        return sum(os.path.getsize(os.path.join(run, d, "proof.bin")) for d in os.listdir(run) if os.path.isfile(os.path.join(run, d, "proof.bin")))

    def coverage(self, work):
        # DSperse proves the slices it could compile to circuits and runs the others in
        # onnxruntime without a proof: count both.
        run, slices = os.path.join(work, "run"), os.path.join(work, "slices")
        total = sum(1 for d in os.listdir(slices) if d.startswith("slice_") and os.path.isdir(os.path.join(slices, d)))
        proved = sum(1 for d in os.listdir(run) if os.path.isfile(os.path.join(run, d, "proof.bin")))
        return f"{proved} of {total} slices" if proved < total else "whole model"


class Ezkl(Python):
    name = "EZKL"

    def setup(self, model, inp, work):
        return [self.step("ezkl", "setup", work, model, inp)], None

    def prove(self, model, inp, work):
        ok, wall, peak, _ = self.step("ezkl", "prove", work, model, inp)
        out = []
        try:
            with open(os.path.join(work, "witness.json")) as f:
                out = flat(json.load(f)["pretty_elements"]["rescaled_outputs"])
        except (OSError, KeyError, TypeError):
            pass
        return ok, wall, peak, out

    def verify(self, model, inp, work):
        ok, wall, _, _ = self.step("ezkl", "verify", work, model, inp)
        return ok, wall

    def proof_bytes(self, work):
        with open(os.path.join(work, "proof.json")) as f:
            p = json.load(f)
        raw = p.get("proof")
        if isinstance(raw, list):
            return len(raw)
        if isinstance(raw, str):
            return len(raw.removeprefix("0x")) // 2
        return os.path.getsize(os.path.join(work, "proof.json"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="model directories (model.onnx, input.json)")
    ap.add_argument("--sigil", default=os.path.join(HERE, "..", "..", "target", "release", "sigil"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tools", default="sigil,dsperse,ezkl", help="comma-separated: sigil, dsperse, ezkl")
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--slow", type=float, default=120.0, help="a prover whose first proof of a model takes longer is not repeated on it: its one run is reported")
    ap.add_argument("--skip", default="", help="comma-separated PROVER:MODEL pairs not to run (e.g. EZKL:dsperse-doom), reported as skipped")
    a = ap.parse_args()
    skipped = {tuple(x.split(":", 1)) for x in a.skip.split(",") if ":" in x}
    wanted = a.tools.split(",")
    tools = []
    if "sigil" in wanted:
        tools.append(Sigil(a.sigil))
    if "dsperse" in wanted:
        tools.extend(Dsperse(sys.executable, c) for c in DSPERSE_CONFIGS)
    if "ezkl" in wanted:
        tools.append(Ezkl(sys.executable))

    results = {}
    def rec(model, tool):
        return results.setdefault(os.path.basename(model.rstrip("/")), {}).setdefault(tool.name, {"prove": [], "verify": [], "peak_kb": 0})

    refs = {m: reference(os.path.join(m, "model.onnx"), os.path.join(m, "input.json")) for m in a.models}
    work = lambda m, t: os.path.join(a.work, os.path.basename(m.rstrip("/")), t.name.replace(" ", "-"))  # noqa: E731
    # First proofs: per-model setup, then one proof.
    for m in a.models:
        model, inp = os.path.join(m, "model.onnx"), os.path.join(m, "input.json")
        for t in tools:
            r = rec(m, t)
            if (t.name.split()[0], os.path.basename(m.rstrip("/"))) in skipped:
                r["skipped"] = True
                continue
            w = work(m, t)
            os.makedirs(w, exist_ok=True)
            steps, _ = t.setup(model, inp, w)
            ok, wall, peak, out = t.prove(model, inp, w)
            r["first_prove_step"] = wall
            ok = ok and all(s[0] for s in steps)
            r["first_proof"] = sum(s[1] for s in steps) + wall if ok else None
            r["setup_peak_kb"] = max([s[2] for s in steps] + [peak])
            r["ok"] = ok
            if ok:
                r["error"] = error(out, refs[m])
                r["proof_bytes"] = t.proof_bytes(w)
                r["proved"] = t.coverage(w) if hasattr(t, "coverage") else "whole model"
                r["peak_kb"] = peak
                if r["first_proof"] > a.slow:
                    # Too slow to repeat: its one proof is the figure, and one verification.
                    vok, vwall = t.verify(model, inp, w)
                    r["prove"], r["verify"], r["single"] = [wall], [vwall] if vok else [], True
                    r["ok"] = vok
            print(f"{os.path.basename(m)} {t.name}: first proof {r['first_proof']}", flush=True)
    # Rounds, interleaved: every model and prover once per round.
    for k in range(a.rounds):
        for m in a.models:
            model, inp = os.path.join(m, "model.onnx"), os.path.join(m, "input.json")
            for t in tools:
                r = rec(m, t)
                if not r.get("ok") or r.get("single"):
                    continue
                w = work(m, t)
                ok, wall, peak, _ = t.prove(model, inp, w)
                vok, vwall = t.verify(model, inp, w)
                if ok and vok:
                    r["prove"].append(wall)
                    r["verify"].append(vwall)
                    r["peak_kb"] = max(r["peak_kb"], peak)
                else:
                    r["failed_rounds"] = r.get("failed_rounds", 0) + 1
        print(f"round {k + 1} done", flush=True)

    with open(a.out + ".json", "w") as f:
        json.dump(results, f, indent=1)
    lines = [
        "| model | prover | proved | first proof (s) | prove (s) | verify (s) | proof | peak memory | max abs error | rel. L2 error |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for model, by_tool in results.items():
        for name, r in by_tool.items():
            if r.get("skipped"):
                lines.append(f"| {model} | {name} | | not run | | | | | | |")
                continue
            if not r.get("ok") or not r["prove"]:
                lines.append(f"| {model} | {name} | | failed | | | | | | |")
                continue
            e = r.get("error") or {}
            fmt = lambda v: f"{v:.2e}" if isinstance(v, float) else "n/a"  # noqa: E731
            lines.append(
                f"| {model} | {name} | {r.get('proved', 'whole model')} | {r['first_proof']:.2f} | {statistics.median(r['prove']):.3f}{' (1 run)' if r.get('single') else ''} | {statistics.median(r['verify']):.3f} | "
                f"{r['proof_bytes'] / 1024:.0f} KB | {max(r['peak_kb'], r.get('setup_peak_kb', 0)) / 1024:.0f} MB | {fmt(e.get('max_abs'))} | {fmt(e.get('rel_l2'))} |"
            )
    with open(a.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
