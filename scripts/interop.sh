#!/usr/bin/env bash
# Interop of `sigil miner` / `sigil query` with the stock Python clients, offline on loopback:
# bittensor 9.9.0 (the subnet's pin) and 10.5.0 (HTTP axon), and btlightning 0.2.15 (QUIC). Installs what
# it needs on a fresh Debian machine (as root): python3 and its venv module, then the pinned
# set from PyPI into target/bt-venv (btlightning is built from its source distribution, with
# the Rust toolchain, a few minutes the first time). Usage: scripts/interop.sh [path/to/sigil]
# (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
    else
        echo "python3 with its venv module is needed (apt-get install python3 python3-venv)" >&2
        exit 1
    fi
fi

# btlightning's Python package builds from source: maturin and cargo, and a C toolchain with
# perl and make for the OpenSSL and libsodium it vendors.
missing=()
for tool in perl make cc pkg-config; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq perl make gcc pkg-config >/dev/null
    else
        echo "missing for building btlightning: ${missing[*]}" >&2
        exit 1
    fi
fi

venv=target/bt-venv
if ! "$venv/bin/python" -c 'import bittensor, btlightning; assert bittensor.__version__ == "9.9.0"' >/dev/null 2>&1; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    # The subnet's pinned set (a newer async-substrate-interface breaks bittensor 9.9.0's import).
    "$venv/bin/pip" install -q --disable-pip-version-check \
        bittensor==9.9.0 bittensor-wallet==4.0.0 async-substrate-interface==1.5.2 scalecodec==1.2.11 \
        btlightning==0.2.15
fi

# bittensor 10.x, wire-identical but for refusing unsigned requests (which a Sigil miner
# refuses on every version).
venv10=target/bt10-venv
if ! "$venv10/bin/python" -c 'import bittensor; assert bittensor.__version__ == "10.5.0"' >/dev/null 2>&1; then
    rm -rf "$venv10"
    python3 -m venv "$venv10"
    "$venv10/bin/pip" install -q --disable-pip-version-check bittensor==10.5.0
fi

sigil=${1:-}
if [ -z "$sigil" ]; then
    cargo build --locked --release -p sigil-node
    sigil=target/release/sigil
fi
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
export SIGIL_CACHE_DIR=$cache
echo "-- bittensor 9.9.0 (HTTP axon)"
"$venv/bin/python" node/tests/interop/bt_interop.py "$sigil" ../shared/models
echo "-- bittensor 10.5.0 (HTTP axon)"
"$venv10/bin/python" node/tests/interop/bt_interop.py "$sigil" ../shared/models
echo "-- btlightning 0.2.15 (QUIC)"
"$venv/bin/python" node/tests/interop/btl_interop.py "$sigil" ../shared/models
