#!/usr/bin/env bash
# The GPU figures in one short run, for a machine with a real GPU (the issue's device check):
# what Vulkan driver the card has, the GPU backend's differential tests on it, then
# `sigil bench` (kernels against the memory floor, end-to-end CPU vs GPU with the byte-identity
# check) as a table and JSON, everything under $OUT (default ./gpu-figures).
#
#   scripts/gpu-device.sh [--bandwidth-gbs B] [--quick]
#
# Uses target/release/sigil and target/release/gpu-tests/* when they are there (build them with
# `scripts/gpu-device.sh --build-only` on a machine with cargo, strip them, and carry them),
# else builds with cargo. --quick: kernels at 2^20 and MAC chains at 2^16 and 2^20 only.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-figures}
mkdir -p "$OUT"
BW=4800        # NVIDIA H200: 4.8 TB/s of HBM3e
QUICK=0
BUILD_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --bandwidth-gbs) BW=$2; shift ;;
        --quick) QUICK=1 ;;
        --build-only) BUILD_ONLY=1 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}

if [ "$BUILD_ONLY" = 1 ] || [ ! -x target/release/sigil ]; then
    cargo build --release -p sigil-node || exit 1
    mkdir -p target/release/gpu-tests
    for t in $(cargo test --release -p sigil-gpu -p sigil-tests --test kernels --test field --test quotient --test gpu --no-run --message-format=json 2>/dev/null \
        | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]: print(m["executable"])'); do
        cp "$t" target/release/gpu-tests/
    done
    [ "$BUILD_ONLY" = 1 ] && exit 0
fi

{
    echo "== $(date -u) on $(hostname)"
    echo "== GPUs"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "no nvidia-smi"
    echo "== Vulkan ICDs"; ls /usr/share/vulkan/icd.d/ /etc/vulkan/icd.d/ 2>&1
    echo "== vulkaninfo"; (vulkaninfo --summary 2>&1 || echo "no vulkaninfo") | head -40
} > "$OUT/driver.txt"
cat "$OUT/driver.txt"

echo "== differential tests on the device"
for t in target/release/gpu-tests/*; do
    "$t" --test-threads 1 2>&1 | grep -E "^adapter|^test |test result" | tee -a "$OUT/tests.txt"
done

echo "== bench"
if [ "$QUICK" = 1 ]; then MAC=16,20; else MAC=16,20,22; fi
MODELS=()
for m in dsperse-net dsperse-doom dsperse-age lstm-benchmark; do
    [ -d "../shared/models/$m" ] && MODELS+=(--models "../shared/models/$m")
done
target/release/sigil bench --bandwidth-gbs "$BW" --mac "$MAC" "${MODELS[@]}" 2>&1 | tee "$OUT/bench.txt"
target/release/sigil bench --bandwidth-gbs "$BW" --mac "$MAC" "${MODELS[@]}" --json > "$OUT/bench.json" 2>/dev/null
echo "figures in $OUT/"
