"""Interop of Sigil's node with btlightning's Python package (the 2026 subnet's QUIC
transport), offline on loopback.

1. A Python `btlightning.Lightning` client, handshaking with an allowed hotkey, sends
   `dsperse-proof-generation` to `sigil miner --quic` and gets a proof that `sigil verify`
   accepts in the request's context; a client with another hotkey does not get an answer.
2. `sigil query --transport quic` is answered by a Python `btlightning.LightningServer`: the
   handshake both ways and the request (with its nonce) reach the Python handler.

Usage: python btl_interop.py SIGIL_BINARY MODELS_DIR
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import btlightning

SIGIL, MODELS = sys.argv[1], sys.argv[2]
CIRCUIT = "dsperse-net"
failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        failures.append(what)


def free_port():
    # A port free for both TCP (the HTTP axon) and UDP (QUIC).
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


def keygen(tmp, name):
    path = os.path.join(tmp, f"{name}.json")
    ss58 = subprocess.check_output([SIGIL, "keygen", "--out", path], text=True).strip()
    with open(path) as f:
        seed = bytes.fromhex(json.load(f)["secretSeed"][2:])
    return path, ss58, seed


def main():
    tmp = tempfile.mkdtemp(prefix="sigil-btl-")
    _, validator_ss58, validator_seed = keygen(tmp, "validator")
    _, stranger_ss58, stranger_seed = keygen(tmp, "stranger")
    miner_path, miner_ss58, _ = keygen(tmp, "miner")
    port = free_port()
    log = open(os.path.join(tmp, "miner.log"), "w")
    miner = subprocess.Popen(
        [SIGIL, "miner", "--hotkey-file", miner_path, "--models", MODELS, "--circuit", CIRCUIT, "--port", str(port), "--quic", "--allow", validator_ss58],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        t = time.time()
        while True:
            if miner.poll() is not None:
                raise SystemExit(f"the miner exited early ({miner.returncode})")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.time() - t < 600, "the miner did not start"
                time.sleep(0.2)
        with open(os.path.join(MODELS, CIRCUIT, "input.json")) as f:
            sample = json.load(f)
        axon = {"hotkey": miner_ss58, "ip": "127.0.0.1", "port": port}
        request = {"synapse_type": "dsperse-proof-generation",
                   "data": {"circuit": CIRCUIT, "proof_system": "STARK", "inputs": sample, "nonce": "btl-nonce-1"}}

        client = btlightning.Lightning(wallet_hotkey=validator_ss58)
        client.set_validator_keypair(validator_seed)
        client.initialize_connections([axon])
        r = client.query_axon(axon, request, timeout_secs=120)
        data = r.get("data", {})
        check(r.get("success") and "proof" in data, f"python btlightning client -> sigil miner: success={r.get('success')} error={r.get('error') or data.get('error')}")
        context = f"sigil/request/1 nonce=btl-nonce-1 miner={miner_ss58}"
        check(data.get("context") == context, "the answer names its context")
        path = os.path.join(tmp, "answer.proof")
        with open(path, "wb") as f:
            f.write(bytes.fromhex(data.get("proof", "")))
        v = subprocess.run([SIGIL, "verify", "--model", os.path.join(MODELS, CIRCUIT, "model.onnx"), "--proof", path, "--context", context], capture_output=True, text=True)
        check(v.returncode == 0, f"sigil verify accepts it ({(v.stdout + v.stderr).strip().splitlines()[-1]})")
        client.close()

        stranger = btlightning.Lightning(wallet_hotkey=stranger_ss58)
        stranger.set_validator_keypair(stranger_seed)
        try:
            stranger.initialize_connections([axon])
            r = stranger.query_axon(axon, request, timeout_secs=30)
            refused = not r.get("success") or "proof" not in r.get("data", {})
        except Exception as e:  # the handshake is refused
            refused = True
            print(f"      (stranger: {e})")
        check(refused, "a hotkey off the allow-list gets no proof")
        log.flush()
        proved = open(os.path.join(tmp, "miner.log")).read().count(" proved")
        check(proved == 1, f"only the allowed request was proved ({proved})")
    finally:
        miner.kill()
        miner.wait()

    # 2. sigil query over QUIC against a Python LightningServer.
    sigil_key, sigil_ss58, _ = keygen(tmp, "sigil-validator")
    seen = []

    def handler(data):
        seen.append(data)
        return {"proof": "00"}

    sport = free_port()
    _, server_ss58, server_seed = keygen(tmp, "py-server")
    server = btlightning.LightningServer(miner_hotkey=server_ss58, host="127.0.0.1", port=sport)
    server.set_miner_keypair(server_seed)
    server.register_synapse_handler("dsperse-proof-generation", handler)
    server.start()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    time.sleep(0.5)
    r = subprocess.run(
        [SIGIL, "query", "--hotkey-file", sigil_key, "--models", MODELS, "--circuit", CIRCUIT, "--axon", f"127.0.0.1:{sport}",
         "--axon-hotkey", server_ss58, "--transport", "quic", "--timeout", "30"],
        capture_output=True,
        text=True,
    )
    answer = json.loads(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else {}
    check(answer.get("status") == 200 and len(seen) == 1 and seen[0].get("nonce") and seen[0].get("proof_system") == "STARK",
          f"a python LightningServer answers sigil's QUIC request: {answer.get('status')} ({r.stderr.strip()[-200:]})")
    check(r.returncode == 1 and not answer.get("verified") and answer.get("proof_bytes") == 1, f"and sigil refuses its one-byte answer as unverified: {answer.get('reason')}")
    server.stop()

    print(f"\n{len(failures)} btlightning interop check(s) failed" if failures else "\nall btlightning interop checks passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
