#!/usr/bin/env bash
# Builds the Rust side, makes a venv with aiometer and asyncio-pool (once), runs compare.py.
# Usage: crates/inflight/benches/python/run.sh   (from anywhere; about 3 minutes)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
export PYTHONDONTWRITEBYTECODE=1
venv="${INFLIGHT_PY_VENV:-$root/target/py-bench-venv}"

cargo build --release -q --manifest-path "$root/Cargo.toml" -p inflight --example bench_pyparity
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q aiometer asyncio-pool
fi
"$venv/bin/python" --version
"$venv/bin/python" "$here/compare.py" "$root/target/release/examples/bench_pyparity"
