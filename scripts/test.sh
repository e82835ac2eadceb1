#!/usr/bin/env bash
# Runs Sigil's whole test suite. Installs what it needs on a fresh Debian machine (as root).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== toolchain"
cargo --version
rustc --version
# One clean build: incremental state would only add to the disk the build needs.
export CARGO_INCREMENTAL=0
df -h . | tail -1

echo "== Vulkan driver for the GPU tests"
# The GPU tests run on whatever Vulkan driver is installed; on a machine without one, Mesa's
# software driver (lavapipe), which wgpu finds through the Vulkan loader. They never skip.
if ! ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mesa-vulkan-drivers libvulkan1 >/dev/null
    else
        echo "no Vulkan driver, and it cannot be installed here: the GPU tests will fail"
    fi
fi
ls /usr/share/vulkan/icd.d/ 2>/dev/null || true
# Mesa's loader warns on every instance without a runtime directory; give it one.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    export XDG_RUNTIME_DIR; XDG_RUNTIME_DIR=$(mktemp -d)
fi

echo "== no_std build of the verifier"
if rustup target list --installed 2>/dev/null | grep -q '^x86_64-unknown-none$' \
    || rustup target add x86_64-unknown-none >/dev/null 2>&1; then
    cargo build --locked -p sigil-verifier --no-default-features --target x86_64-unknown-none
else
    echo "NOT CHECKED: the x86_64-unknown-none target cannot be installed here; the verifier's"
    echo "no_std build was not checked in this run."
fi

echo "== lints"
rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy
cargo clippy --locked --workspace --all-targets -- -D warnings

echo "== build (all targets, serial feature set of the prover too)"
# The dev and test profiles are the same (Cargo.toml), so this tree is the one the tests,
# the benches and the interop stage use: no release build in the test run.
cargo build --locked --workspace --all-targets
cargo check --locked -p sigil-prover --no-default-features

echo "== benches compile and run once (criterion's test mode: each benchmark once)"
cargo test --locked --workspace --benches

echo "== interop with the stock Python clients (bittensor 9.9.0 and 10.5.0, btlightning 0.2.15, from PyPI)"
./scripts/interop.sh target/debug/sigil

echo "== module layering (no import cycles in any crate; python3 is installed by the interop stage)"
python3 scripts/module_cycles.py air/src verifier/src prover/src gpu/src onnx-frontend/src node/src

echo "== tests"
log=$(mktemp)
cargo test --locked --workspace 2>&1 | tee "$log"
read -r passed failed < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;/) p += $i; if ($(i+1) ~ /^failed;/) f += $i } } END { print p + 0, f + 0 }' "$log")
rm -f "$log"
echo
echo "all tests: ${passed} passed, ${failed} failed"
echo "disk: target/ takes $(du -sh target | cut -f1); $(df -h . | tail -1 | awk '{print $4}') left"
