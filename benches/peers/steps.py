"""One step of a peer prover, run in its own process so that the harness measures its wall
time and peak memory: `python steps.py TOOL STEP WORKDIR MODEL INPUT [CONFIG]`.

dsperse (3.9.x, native Expander backend): slice, compile (CONFIG = bn254_raw,
goldilocks_basefold, goldilocks_ext4_whir), infer, prove, verify.
ezkl (23.x): setup (gen_settings, calibrate, compile, a locally generated SRS, keys),
prove (witness + proof), verify.
"""
import json
import os
import sys


def flat_input(path):
    with open(path) as f:
        data = json.load(f)["input_data"]
    return [v for row in data for v in (row if isinstance(row, list) else [row])]


def named_inputs(model, path):
    import onnx
    graph = onnx.load(model).graph
    weights = {t.name for t in graph.initializer}
    names = [i.name for i in graph.input if i.name not in weights]
    if len(names) < 2:
        return flat_input(path)
    with open(path) as f:
        data = json.load(f)["input_data"]
    flat = lambda row: [float(v) for v in (row if isinstance(row, list) else [row]) for v in (v if isinstance(v, list) else [v])]  # noqa: E731
    return {name: flat(row) for name, row in zip(names, data)}


def dsperse_step(step, work, model, inp, config):
    import dsperse
    import msgpack

    slices, run = os.path.join(work, "slices"), os.path.join(work, "run")
    if step == "slice":
        dsperse.slice_model(model, output_dir=slices)
    elif step == "compile":
        try:
            dsperse.compile_slices(slices, proof_config=config)
        except RuntimeError as e:
            # DSperse's documented fallback: slices its backend cannot compile run in ONNX
            # without a proof (the harness reports how many slices were proved).
            if "partial compile failures" not in str(e):
                raise
            print(f"dsperse: {e}", file=sys.stderr)
    elif step == "infer":
        # dsperse 3.9 reads its input as msgpack, one flat list under input_data.
        # A model of several inputs takes a map from input name to its flat values.
        packed = os.path.join(work, "input.msgpack")
        with open(packed, "wb") as f:
            f.write(msgpack.packb({"input_data": named_inputs(model, inp)}))
        import shutil
        shutil.rmtree(run, ignore_errors=True)
        dsperse.run_inference(slices, packed, run)
    elif step == "prove":
        dsperse.prove_run(run, slices)
    elif step == "verify":
        dsperse.verify_run(run, slices)
    else:
        raise SystemExit(f"unknown dsperse step {step}")


def ezkl_step(step, work, model, inp):
    import ezkl

    p = lambda n: os.path.join(work, n)  # noqa: E731
    data = p("input.json")
    if step == "setup":
        with open(data, "w") as f:
            json.dump({"input_data": [flat_input(inp)]}, f)
        run_args = ezkl.PyRunArgs()
        run_args.input_visibility = "public"
        run_args.output_visibility = "public"
        run_args.param_visibility = "fixed"
        assert ezkl.gen_settings(model, p("settings.json"), py_run_args=run_args)
        ezkl.calibrate_settings(data, model, p("settings.json"), "resources")
        assert ezkl.compile_circuit(model, p("model.compiled"), p("settings.json"))
        with open(p("settings.json")) as f:
            logrows = json.load(f)["run_args"]["logrows"]
        ezkl.gen_srs(p("kzg.srs"), logrows)
        assert ezkl.setup(p("model.compiled"), p("vk.key"), p("pk.key"), p("kzg.srs"))
    elif step == "prove":
        ezkl.gen_witness(data, p("model.compiled"), p("witness.json"))
        ezkl.prove(p("witness.json"), p("model.compiled"), p("pk.key"), p("proof.json"), p("kzg.srs"))
    elif step == "verify":
        assert ezkl.verify(p("proof.json"), p("settings.json"), p("vk.key"), p("kzg.srs"))
    else:
        raise SystemExit(f"unknown ezkl step {step}")


if __name__ == "__main__":
    tool, step, work, model, inp = sys.argv[1:6]
    config = sys.argv[6] if len(sys.argv) > 6 else None
    os.makedirs(work, exist_ok=True)
    if tool == "dsperse":
        dsperse_step(step, work, model, inp, config)
    elif tool == "ezkl":
        ezkl_step(step, work, model, inp)
    else:
        raise SystemExit(f"unknown tool {tool}")
