#!/usr/bin/env bash
# What Redis costs a run of the `inflight` CLI, on one machine (not a test). Prints markdown
# tables for BENCHMARKS.md:
#
#   1. Shared limits: N `true` jobs split over 1, 2 and 4 processes at -j J, locally only, with
#      --global-jobs (room for all: uncontended), with --global-jobs J/2 (contended) and with
#      --global-rate far above what is reached: jobs/s and Redis round trips per job.
#   2. The queue: N inputs pushed, then 1, 2 and 4 `exec --queue` workers at -j J with `true`
#      jobs, at read batch 1 and 16, against one `inflight exec -j J` reading the same N inputs
#      from stdin: jobs/s and round trips per job (push, and take + ack).
#
# Round trips are counted by the client (INFLIGHT_REDIS_TRIPS=1 makes a run say them). Every
# process, Redis included, shares this machine's cores: the numbers are a floor for several
# machines.
#
# Usage: scripts/bench-redis.sh      (env: N=20000 J=16 PORT=6398)
set -euo pipefail

N=${N:-20000}
J=${J:-16}
PORT=${PORT:-6398}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
(cd "$ROOT" && cargo build --release -q -p inflight-cli)
BIN="$ROOT/target/release/inflight"
DIR=$(mktemp -d)
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" \
    --daemonize yes --logfile "$DIR/redis.log" >/dev/null
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
export INFLIGHT_REDIS="redis://127.0.0.1:$PORT" INFLIGHT_REDIS_TRIPS=1
seq "$N" >"$DIR/inputs"

now() { date +%s.%N; }
# Sums the "N Redis round trips" lines of the given stderr files.
trips() { cat "$@" | awk '/Redis round trips/ {t += $2} END {print t + 0}'; }

# run_split P OPTIONS...: N inputs split over P processes of `exec -j J OPTIONS -- true`;
# prints "jobs/s round-trips/job".
run_split() {
    local p=$1
    shift
    redis-cli -p "$PORT" flushall >/dev/null
    split -n "l/$p" "$DIR/inputs" "$DIR/part."
    local start end i=0
    start=$(now)
    for part in "$DIR"/part.*; do
        "$BIN" exec -q -j "$J" "$@" -- true <"$part" 2>"$DIR/err.$i" &
        i=$((i + 1))
    done
    wait
    end=$(now)
    rm -f "$DIR"/part.*
    echo "$(echo "$N / ($end - $start)" | bc -l | xargs printf '%.0f') $(echo "$(trips "$DIR"/err.*) / $N" | bc -l | xargs printf '%.2f')"
    rm -f "$DIR"/err.*
}

echo "## Shared limits: $N \`true\` jobs, -j $J per process"
echo
echo "| processes | local only | --global-jobs (uncontended) | round trips/job | --global-jobs $((J / 2)) per all (contended) | round trips/job | --global-rate 1000000/s | round trips/job |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for p in 1 2 4; do
    read -r local_rate _ < <(run_split "$p")
    read -r free_rate free_trips < <(run_split "$p" --global-jobs 100000 --name free)
    read -r busy_rate busy_trips < <(run_split "$p" --global-jobs $((J / 2)) --name busy)
    read -r rate_rate rate_trips < <(run_split "$p" --global-rate 1000000/s --name rate)
    echo "| $p | $local_rate jobs/s | $free_rate jobs/s | $free_trips | $busy_rate jobs/s | $busy_trips | $rate_rate jobs/s | $rate_trips |"
done

echo
echo "## Queue: $N \`true\` jobs, -j $J per worker"
echo
start=$(now)
"$BIN" exec -q -j "$J" -- true <"$DIR/inputs"
end=$(now)
echo "One \`inflight exec -j $J -- true\` reading the $N inputs from stdin: $(echo "$N / ($end - $start)" | bc -l | xargs printf '%.0f') jobs/s."
echo
echo "| workers | read batch | jobs/s | round trips per input: push | take + ack |"
echo "| --- | --- | --- | --- | --- |"
for batch in 1 16; do
    for w in 1 2 4; do
        redis-cli -p "$PORT" flushall >/dev/null
        "$BIN" queue push bench "$DIR/inputs" 2>"$DIR/push.err" >/dev/null
        push_trips=$(trips "$DIR/push.err")
        start=$(now)
        for i in $(seq "$w"); do
            "$BIN" exec -q -j "$J" --queue bench --read-batch "$batch" -- true 2>"$DIR/err.$i" &
        done
        wait
        end=$(now)
        echo "| $w | $batch | $(echo "$N / ($end - $start)" | bc -l | xargs printf '%.0f') | $(echo "$push_trips / $N" | bc -l | xargs printf '%.3f') | $(echo "$(trips "$DIR"/err.*) / $N" | bc -l | xargs printf '%.2f') |"
        rm -f "$DIR"/err.*
    done
done
echo
echo "Redis used_memory after the last run ($N results kept): $(redis-cli -p "$PORT" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r') bytes."
