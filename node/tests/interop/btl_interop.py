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
import subprocess
import sys
import tempfile
import threading
import time

import btlightning

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Miner, check, finish, free_port, keygen, sample_input, verify_with_cli  # noqa: E402

SIGIL, MODELS = sys.argv[1], sys.argv[2]
CIRCUIT = "dsperse-net"
def main():
    tmp = tempfile.mkdtemp(prefix="sigil-btl-")
    _, validator_ss58, validator_seed = keygen(SIGIL, tmp, "validator")
    _, stranger_ss58, stranger_seed = keygen(SIGIL, tmp, "stranger")
    miner_path, miner_ss58, _ = keygen(SIGIL, tmp, "miner")
    miner = Miner(SIGIL, tmp, ["--hotkey-file", miner_path, "--models", MODELS, "--circuit", CIRCUIT, "--quic", "--allow", validator_ss58])
    port = miner.port
    try:
        sample = sample_input(MODELS, CIRCUIT)
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
        code, text = verify_with_cli(SIGIL, MODELS, CIRCUIT, tmp, data.get("proof", ""), context)
        check(code == 0, f"sigil verify accepts it ({text.splitlines()[-1] if text else ''})")
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
        proved = miner.proofs()
        check(proved == 1, f"only the allowed request was proved ({proved})")
    finally:
        miner.stop()

    # 2. sigil query over QUIC against a Python LightningServer.
    sigil_key, sigil_ss58, _ = keygen(SIGIL, tmp, "sigil-validator")
    seen = []

    def handler(data):
        seen.append(data)
        return {"proof": "00"}

    sport = free_port()
    _, server_ss58, server_seed = keygen(SIGIL, tmp, "py-server")
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

    finish("btlightning interop")


if __name__ == "__main__":
    main()
