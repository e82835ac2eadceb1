"""Interop of Sigil's node with the stock Python Bittensor client (bittensor 9.9.0, the
subnet's pin, and 10.5.0: run with either), offline on loopback
(../shared/protocol/README.md §2.9).

1. A stock `bt.Dendrite` sends QueryZkProof to `sigil miner` and gets a proof that
   `sigil verify` accepts in the request's context (nonce and miner hotkey), with and without
   a nonce in the message (the signed header nonce stands in).
2. The stock dendrite's unknown hotkey is refused 403; hand-built requests signed with
   bittensor_wallet's Keypair: bad signature 401, replayed nonce 401, stale nonce 401,
   unknown route 404; none of them is proved (the miner's log counts proofs).
3. `sigil query` (Sigil's validator side) is accepted by a stock `bt.Axon`: its forward
   function runs with Sigil's hotkey as the verified caller.

Usage: python bt_interop.py SIGIL_BINARY MODELS_DIR
"""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

from typing import Optional, Tuple

import bittensor as bt
import bittensor.utils.networking as networking

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Miner, check, finish, free_port, keygen, sample_input, verify_with_cli  # noqa: E402

# The dendrite asks the internet for its external IP; offline, it is this.
networking.get_external_ip = lambda: "127.0.0.2"

SIGIL, MODELS = sys.argv[1], sys.argv[2]
CIRCUIT = "dsperse-net"


class QueryZkProof(bt.Synapse):
    """The subnet's class at tag 10.3.2 (neurons/protocol.py)."""

    query_input: Optional[dict] = None
    query_output: Optional[str] = None


def wallet(tmp, name):
    w = bt.Wallet(name=name, hotkey="default", path=tmp)
    w.create_if_non_existent(False, False, suppress=True)
    return w


def hand_request(w, miner_ss58, port, nonce, signature=None, route="QueryZkProof", uuid="d6fe333a-e8fe-11f1-83f8-19a683103e57"):
    """A request built with bittensor_wallet's Keypair and urllib only (the handmade capture)."""
    body_hash = "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
    message = f"{nonce}.{w.hotkey.ss58_address}.{miner_ss58}.{uuid}.{body_hash}"
    sig = signature or "0x" + w.hotkey.sign(message).hex()
    headers = {
        "Content-Type": "application/json",
        "name": route,
        "timeout": "12.0",
        "bt_header_axon_ip": "127.0.0.1",
        "bt_header_axon_port": str(port),
        "bt_header_axon_hotkey": miner_ss58,
        "bt_header_dendrite_ip": "127.0.0.2",
        "bt_header_dendrite_version": "9009000",
        "bt_header_dendrite_nonce": str(nonce),
        "bt_header_dendrite_uuid": uuid,
        "bt_header_dendrite_hotkey": w.hotkey.ss58_address,
        "bt_header_dendrite_signature": sig,
        "computed_body_hash": body_hash,
    }
    body = json.dumps({"name": route, "timeout": 12.0, "query_input": {"model_id": CIRCUIT, "public_inputs": [[0.0]]}}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/{route}", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def main():
    print(f"bittensor {bt.__version__}")
    tmp = tempfile.mkdtemp(prefix="sigil-bt-")
    validator = wallet(tmp, "validator")
    stranger = wallet(tmp, "stranger")
    # The miner runs on a wallet bittensor-wallet created: sigil reads its hotkey file.
    miner_wallet = wallet(tmp, "miner")
    miner_ss58 = miner_wallet.hotkey.ss58_address
    miner = Miner(SIGIL, tmp, ["--wallet-path", tmp, "--wallet-name", "miner", "--wallet-hotkey", "default", "--models", MODELS,
                               "--circuit", CIRCUIT, "--allow", validator.hotkey.ss58_address])
    port = miner.port
    try:
        sample = sample_input(MODELS, CIRCUIT)
        target = bt.AxonInfo(version=0, ip="127.0.0.1", port=port, ip_type=4, hotkey=miner_ss58, coldkey=miner_ss58)

        async def ask(w, query_input):
            d = bt.Dendrite(wallet=w)
            try:
                r = await d.forward(axons=[target], synapse=QueryZkProof(query_input=query_input), timeout=120, deserialize=False)
                return r[0]
            finally:
                await d.aclose_session()

        # 1. A stock dendrite gets a proof that sigil verify accepts in its context.
        r = asyncio.run(ask(validator, {"model_id": CIRCUIT, "public_inputs": sample, "nonce": "py-nonce-1"}))
        check(r.is_success and r.dendrite.status_code == 200, f"stock dendrite -> sigil miner: status {r.dendrite.status_code} {r.dendrite.status_message}")
        out = json.loads(r.query_output or "{}")
        context = f"sigil/request/1 nonce=py-nonce-1 miner={miner_ss58}"
        check(out.get("context") == context and out.get("proof_system") == "STARK", "the answer names its context and proof system")
        code, text = verify_with_cli(SIGIL, MODELS, CIRCUIT, tmp, out.get("proof", ""), context)
        check(code == 0, f"sigil verify accepts the answer in the request's context ({text.splitlines()[-1] if text else ''})")
        code, _ = verify_with_cli(SIGIL, MODELS, CIRCUIT, tmp, out.get("proof", ""), f"sigil/request/1 nonce=py-nonce-2 miner={miner_ss58}")
        check(code == 1, "the same proof is refused for another nonce")
        # Without a nonce in the message, the signed header nonce binds it.
        r = asyncio.run(ask(validator, {"model_id": CIRCUIT, "public_inputs": sample}))
        out = json.loads(r.query_output or "{}")
        context = f"sigil/request/1 nonce={r.dendrite.nonce} miner={miner_ss58}"
        code, _ = verify_with_cli(SIGIL, MODELS, CIRCUIT, tmp, out.get("proof", ""), context)
        check(r.is_success and code == 0, "without a message nonce, the proof is bound to the dendrite's header nonce")

        # 2. Refusals, with the Python axon's statuses.
        r = asyncio.run(ask(stranger, {"model_id": CIRCUIT, "public_inputs": sample, "nonce": "x"}))
        check(r.dendrite.status_code == 403 and r.is_blacklist, f"an unknown hotkey is blacklisted: {r.dendrite.status_code} {r.dendrite.status_message}")
        now = time.time_ns()
        status, body = hand_request(validator, miner_ss58, port, now, signature="0x" + "11" * 64)
        check(status == 401, f"a bad signature: {status} {body.get('message', '')[:60]}")
        status, _ = hand_request(validator, miner_ss58, port, now + 1)
        check(status == 400, f"a hand-built request passes authentication (then fails on its one-value input): {status}")
        status, body = hand_request(validator, miner_ss58, port, now + 1)
        check(status == 401 and "newer one" in body.get("message", ""), f"its replay: {status} {body.get('message', '')}")
        stale = now - 30 * 10**9
        status, body = hand_request(validator, miner_ss58, port, stale, uuid="0b1e7a3c-e8fe-11f1-83f8-19a683103e57")
        check(status == 401 and "acceptable delta" in body.get("message", ""), f"a 30 s old nonce: {status} {body.get('message', '')[:100]}")
        status, _ = hand_request(validator, miner_ss58, port, now + 2, route="NoSuchSynapse")
        check(status == 404, f"an unknown route: {status}")
        proved = miner.proofs()
        check(proved == 2, f"only the two accepted requests were proved ({proved})")
    finally:
        miner.stop()

    # 3. Sigil's validator side against a stock bt.Axon.
    axon_wallet = wallet(tmp, "axon")
    sigil_key, sigil_ss58, _ = keygen(SIGIL, tmp, "sigil-validator")
    seen = []

    def forward(synapse: QueryZkProof) -> QueryZkProof:
        seen.append(synapse.dendrite.hotkey)
        synapse.query_output = json.dumps({"proof": "00"})
        return synapse

    def blacklist(synapse: QueryZkProof) -> Tuple[bool, str]:
        return synapse.dendrite.hotkey != sigil_ss58, "not the expected validator"

    aport = free_port()
    axon = bt.Axon(wallet=axon_wallet, port=aport, external_ip="127.0.0.1")
    axon.fast_config.host = "127.0.0.1"
    axon.attach(forward_fn=forward, blacklist_fn=blacklist)
    axon.start()
    try:
        time.sleep(1.0)
        r = subprocess.run(
            [SIGIL, "query", "--hotkey-file", sigil_key, "--models", MODELS, "--circuit", CIRCUIT, "--axon", f"127.0.0.1:{aport}",
             "--axon-hotkey", axon_wallet.hotkey.ss58_address, "--synapse", "query-zk-proof", "--timeout", "30"],
            capture_output=True,
            text=True,
        )
        answer = json.loads(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else {}
        check(answer.get("status") == 200 and seen == [sigil_ss58], f"a stock bt.Axon accepts sigil's signed request: {answer.get('status')} ({r.stderr.strip()[-200:]})")
        check(r.returncode == 1 and not answer.get("verified"), "and sigil refuses the axon's non-proof answer as unverified")
    finally:
        axon.stop()

    finish("interop")


if __name__ == "__main__":
    main()
