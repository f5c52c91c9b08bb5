#!/usr/bin/env bash
# Instructions per task of the core streams and the builder, counted by callgrind, which gives
# the same count on a loaded machine as on an idle one. Each contender runs at 10^5 and 2x10^5
# tasks; the difference divided by 10^5 is the cost per task (start-up drops out).
#
# Usage: scripts/instructions.sh [TREE]    (TREE: a checkout to measure; default: this one)
# Needs valgrind (apt-get install valgrind).
set -euo pipefail
TREE=${1:-$(cd "$(dirname "$0")/.." && pwd)}
EXAMPLE="$TREE/crates/inflight/examples/instructions.rs"
[ -f "$EXAMPLE" ] || cp "$(dirname "$0")/../crates/inflight/examples/instructions.rs" "$EXAMPLE"
(cd "$TREE" && cargo build --quiet --release -p inflight --example instructions)
BIN="$TREE/target/release/examples/instructions"
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" "$1" "$2" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '| contender | Ir/task |\n| --- | ---: |\n'
for contender in as_completed_ready as_completed_yield ordered_ready ordered_yield \
                 builder_ready builder_ordered_ready; do
  small=$(count "$contender" 100000)
  large=$(count "$contender" 200000)
  printf '| %s | %s |\n' "$contender" $(( (large - small) / 100000 ))
done
