"""Helpers shared by the interop scripts."""

import json
import os
import socket
import subprocess
import time

failures = []


def check(cond, what):
    """Prints one check's outcome and remembers a failure."""
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        failures.append(what)


def free_port():
    """A loopback port free for both TCP (the HTTP axon) and UDP (QUIC)."""
    while True:
        t = socket.socket()
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()


def wait_for_port(port, proc, seconds=600):
    """Waits until `proc` listens on `port` (TCP)."""
    t = time.time()
    while time.time() - t < seconds:
        if proc.poll() is not None:
            raise SystemExit(f"the miner exited early ({proc.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the miner did not start listening")


class Miner:
    """A `sigil miner` process on a free port (extra arguments as given), its log in `tmp`."""

    def __init__(self, sigil, tmp, args):
        self.port = free_port()
        self.log_path = os.path.join(tmp, "miner.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sigil, "miner", "--port", str(self.port), *args], stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.proc)

    def proofs(self):
        """How many proofs the miner has logged."""
        self.log.flush()
        with open(self.log_path) as f:
            return f.read().count(" proved")

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()


def sample_input(models, circuit):
    """The circuit folder's input.json."""
    with open(os.path.join(models, circuit, "input.json")) as f:
        return json.load(f)


def keygen(sigil, tmp, name):
    """A fresh hotkey file from `sigil keygen`: its path, address and seed."""
    path = os.path.join(tmp, f"{name}.json")
    ss58 = subprocess.check_output([sigil, "keygen", "--out", path], text=True).strip()
    with open(path) as f:
        seed = bytes.fromhex(json.load(f)["secretSeed"][2:])
    return path, ss58, seed


def verify_with_cli(sigil, models, circuit, tmp, proof_hex, context):
    """Runs `sigil verify --context` on a proof's hex: the exit code and the output."""
    path = os.path.join(tmp, "answer.proof")
    with open(path, "wb") as f:
        f.write(bytes.fromhex(proof_hex))
    r = subprocess.run(
        [sigil, "verify", "--model", os.path.join(models, circuit, "model.onnx"), "--proof", path, "--context", context],
        capture_output=True,
        text=True,
    )
    return r.returncode, (r.stdout + r.stderr).strip()


def finish(what):
    """Prints the summary and exits 1 on any failure."""
    print(f"\n{len(failures)} {what} check(s) failed" if failures else f"\nall {what} checks passed")
    raise SystemExit(1 if failures else 0)
