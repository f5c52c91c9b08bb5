#!/usr/bin/env bash
# The queue against a local run, side by side (not a test; about a minute, 5 more with CELERY=1).
#
# N small files served by a local nginx (started here on a free loopback port, files on
# /dev/shm), one redis-server started here, bodies saved to tmpfs. Each variant runs ROUNDS
# times, interleaved (round 1 of every variant, then round 2, ...), and the medians are printed
# as a markdown table for BENCHMARKS.md:
#
#   local          inflight fetch -j J -o DIR urls
#   queue          inflight queue push Q urls, and 2 workers inflight fetch --queue Q -j J -o DIR
#   queue+gj ...   the same with --global-jobs (room for all: 2*J), and 3*J/2 (jobs waiting)
#   celery ...     (CELERY=1) Celery 5 on the same Redis (db 1) and nginx, 2 workers of 8
#                  prefork processes each: one task per URL, and chunks of 100 URLs; installed
#                  with pip into a scratch venv (CELERY_VENV, default /tmp/inflight-celery-venv)
#
# Columns: the time from the push's start to the last result recorded in Redis (the queue's
# results stream; for the local run, to its exit), its ratio to the local run, Redis's own time
# per input (INFO commandstats: usec summed over the scripts and the commands sent directly,
# not counting the commands that run inside scripts twice; and the main thread's CPU time, which
# adds reading and writing the connections), round trips per input (counted by the clients), and
# how long after the last result was recorded each worker exited.
#
# Usage: scripts/bench-queue.sh     (env: N=20000 J=50 ROUNDS=3 CELERY=0 BIN=target/release/inflight
#                                   RAW=FILE to keep every run's row)
set -euo pipefail

N=${N:-20000}
J=${J:-50}
ROUNDS=${ROUNDS:-3}
CELERY=${CELERY:-0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -p inflight-cli)
    BIN="$ROOT/target/release/inflight"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
# shellcheck source=nginx-local.sh
. "$(dirname "$0")/nginx-local.sh"
TMP=$(mktemp -d /dev/shm/inflight-bench-queue.XXXXXX)
chmod 755 "$TMP"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
RPORT=$(free_port)
WEB=$(free_port)
cleanup() {
    [ -f "$TMP/nginx/nginx.pid" ] && kill "$(cat "$TMP/nginx/nginx.pid")" 2>/dev/null || true
    [ -n "${CELERY_PIDS:-}" ] && kill $CELERY_PIDS 2>/dev/null || true
    redis-cli -p "$RPORT" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT

redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
    --daemonize yes --logfile "$TMP/redis.log" >/dev/null
for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
rcli() { redis-cli -p "$RPORT" "$@"; }
export INFLIGHT_REDIS="redis://127.0.0.1:$RPORT" INFLIGHT_REDIS_TRIPS=1

mkdir -p "$TMP/www"
python3 - "$TMP/www" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(1, n + 1):
    with open(os.path.join(d, f"{i}.txt"), "w") as f:
        f.write(f"file {i}\n" * 8)
PY
start_nginx "$TMP/nginx" "$WEB" "$TMP/www"
seq "$N" | sed "s|^|http://127.0.0.1:$WEB/|; s|$|.txt|" >"$TMP/urls"
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$WEB/1.txt" >/dev/null && break; sleep 0.1; done

# The commands the scripts run inside themselves: commandstats counts them once in the script's
# own time and once more on their own line, so they are left out of the sum.
INNER=$(cat "$ROOT"/crates/inflight-redis/src/lua/*.lua | grep -o "redis.call('[A-Z]*'" |
    sed "s/redis.call('//; s/'//" | tr 'A-Z' 'a-z' | sort -u | tr '\n' ' ')
now() { date +%s.%N; }
cpu_main() { rcli info cpu | awk -F: '/_main_thread:/ {s += $2} END {printf "%.6f", s}'; }
# Redis's usec over the top-level commands since the last resetstat.
redis_usec() {
    rcli info commandstats | tr -d '\r' | awk -F'[_:,=]' -v inner="$INNER" '
        BEGIN { n = split(inner, a, " "); for (i = 1; i <= n; i++) skip[a[i]] = 1 }
        /^cmdstat_/ { split($2, c, "|"); if (!(c[1] in skip) || $2 ~ /^eval/) u += $6 }
        END { print u + 0 }'
}
trips() { cat "$@" | awk '/Redis round trips/ {t += $2} END {print t + 0}'; }
count_files() { find "$1" -type f | wc -l; }

RESULTS="$TMP/results.tsv" # variant, seconds, redis usec/input, cpu usec/input, trips/input, exits
: >"$RESULTS"

run_local() {
    local out="$TMP/out" start end
    rm -rf "$out"
    start=$(now)
    "$BIN" fetch -q -j "$J" -o "$out" "$TMP/urls"
    end=$(now)
    [ "$(count_files "$out")" -eq "$N" ] || { echo "local: $(count_files "$out") files, not $N" >&2; exit 1; }
    echo -e "local\t$(echo "$end - $start" | bc -l)\t\t\t\t" >>"$RESULTS"
}

# run_queue VARIANT [worker options...]
run_queue() {
    local variant=$1 out="$TMP/out" start last i cpu0 cpu1
    shift
    rm -rf "$out" "$TMP"/err.* "$TMP"/exit.*
    rcli flushall >/dev/null
    rcli config resetstat >/dev/null
    cpu0=$(cpu_main)
    start=$(now)
    "$BIN" queue push bench "$TMP/urls" 2>"$TMP/err.push" >/dev/null &
    local pids=($!)
    for i in 1 2; do
        ("$BIN" fetch -q -j "$J" --queue bench -o "$out" "$@" 2>"$TMP/err.$i"; now >"$TMP/exit.$i") &
        pids+=($!)
    done
    wait "${pids[@]}" # not the Celery workers, which run in the background too
    cpu1=$(cpu_main)
    [ "$(count_files "$out")" -eq "$N" ] || { echo "$variant: $(count_files "$out") files, not $N" >&2; exit 1; }
    local results
    results=$(rcli xlen 'inflight:queue:{bench}:results')
    [ "$results" -eq "$N" ] || { echo "$variant: $results results, not $N" >&2; exit 1; }
    # the last result's entry id is Redis's clock (ms) when it was recorded
    last=$(rcli xrevrange 'inflight:queue:{bench}:results' + - count 1 | head -1 | cut -d- -f1)
    last=$(echo "$last / 1000" | bc -l)
    local exits="" 
    for i in 1 2; do exits="$exits $(printf '%.3f' "$(echo "$(cat "$TMP/exit.$i") - $last" | bc -l)")"; done
    echo -e "$variant\t$(echo "$last - $start" | bc -l)\t$(echo "$(redis_usec) / $N" | bc -l)\t$(echo "($cpu1 - $cpu0) * 1000000 / $N" | bc -l)\t$(echo "$(trips "$TMP"/err.*) / $N" | bc -l)\t$exits" >>"$RESULTS"
}

CELERY_PIDS=""
celery_setup() {
    local venv=${CELERY_VENV:-/tmp/inflight-celery-venv}
    if [ ! -x "$venv/bin/celery" ]; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q 'celery[redis]>=5,<6' requests >&2
    fi
    CELERY_PY="$venv/bin/python"
    CELERY_BIN="$venv/bin/celery"
    cat >"$TMP/celery_bench.py" <<'PY'
import os
import redis
import requests
from celery import Celery

BROKER = os.environ["BENCH_BROKER"]
app = Celery("celery_bench", broker=BROKER, backend=BROKER)
app.conf.update(broker_connection_retry_on_startup=True, result_expires=None)
_session = None
_counter = None


@app.task
def fetch(url):
    """Fetches one URL, saves its body, records the result (the backend keeps it)."""
    global _session, _counter
    if _session is None:
        _session = requests.Session()
        _counter = redis.Redis.from_url(BROKER)
    r = _session.get(url, timeout=30)
    with open(os.path.join(os.environ["BENCH_OUT"], url.rsplit("/", 1)[1]), "wb") as f:
        f.write(r.content)
    _counter.incr("bench:done")
    return {"url": url, "status": r.status_code, "bytes": len(r.content)}
PY
    cat >"$TMP/celery_push.py" <<'PY'
import sys, time, redis
from celery_bench import BROKER, fetch

mode, path = sys.argv[1], sys.argv[2]
urls = open(path).read().split()
r = redis.Redis.from_url(BROKER)
start = time.time()
if mode == "task":
    for u in urls:
        fetch.delay(u)
else:
    fetch.chunks([(u,) for u in urls], 100).apply_async()
while int(r.get("bench:done") or 0) < len(urls):
    time.sleep(0.01)
print(time.time() - start)
PY
    export BENCH_BROKER="redis://127.0.0.1:$RPORT/1" BENCH_OUT="$TMP/out"
    mkdir -p "$TMP/out"
    for i in 1 2; do
        (cd "$TMP" && exec "$CELERY_BIN" -A celery_bench worker --pool prefork -c 8 -n "w$i@%h" \
            --without-gossip --without-mingle --without-heartbeat -l info >"$TMP/celery.$i.log" 2>&1) &
        CELERY_PIDS="$CELERY_PIDS $!"
    done
    for _ in $(seq 300); do
        [ "$(cat "$TMP"/celery.*.log | grep -c ' ready\.')" -ge 2 ] && return
        sleep 0.1
    done
    echo "celery workers did not start" >&2
    exit 1
}

run_celery() {
    local mode=$1 secs
    rm -rf "$TMP/out"
    mkdir -p "$TMP/out"
    rcli -n 1 flushdb >/dev/null
    secs=$(cd "$TMP" && "$CELERY_PY" celery_push.py "$mode" "$TMP/urls")
    [ "$(count_files "$TMP/out")" -eq "$N" ] || { echo "celery $mode: $(count_files "$TMP/out") files" >&2; exit 1; }
    echo -e "celery-$mode\t$secs\t\t\t\t" >>"$RESULTS"
}

[ "$CELERY" = 1 ] && celery_setup
for round in $(seq "$ROUNDS"); do
    echo "round $round of $ROUNDS" >&2
    run_local
    run_queue queue
    run_queue "queue --global-jobs $((2 * J))" --global-jobs $((2 * J)) --name bench-free
    run_queue "queue --global-jobs $((3 * J / 2))" --global-jobs $((3 * J / 2)) --name bench-busy
    if [ "$CELERY" = 1 ]; then
        run_celery task
        run_celery chunk
    fi
done
CELERY_RSS=""
if [ "$CELERY" = 1 ]; then
    # each worker's main process and its prefork children, after the runs
    CELERY_RSS=$(for p in $CELERY_PIDS; do echo "$p"; pgrep -P "$p"; done | xargs ps -o rss= -p |
        awk '{s += $1} END {printf "%.0f", s / 1024}')
fi

echo
echo "$N files from a local nginx, -j $J per process, bodies on tmpfs; medians of $ROUNDS interleaved runs ($(git -C "$ROOT" rev-parse --short HEAD), $(date -u +%F))."
echo
echo "| what | time (push to last result) | / local | Redis µs per input (commandstats) | Redis main thread CPU µs per input | round trips per input | workers exit after the last result (s) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
[ -n "${RAW:-}" ] && cp "$RESULTS" "$RAW" # every run's row, for a closer look
python3 - "$RESULTS" <<'PY'
import statistics, sys
from collections import OrderedDict
rows = OrderedDict()
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    rows.setdefault(f[0], []).append(f[1:])
def med(vals):
    vals = [float(v) for v in vals if v.strip()]
    return statistics.median(vals) if vals else None
local = med(r[0] for r in rows.get("local", []))
names = {"local": "local `fetch -j J -o DIR urls`", "queue": "queue, 2 workers, defaults",
         "celery-task": "Celery, one task per URL", "celery-chunk": "Celery, chunks of 100"}
for name, runs in rows.items():
    t = med(r[0] for r in runs)
    us, cpu, tr = (med(r[i] for r in runs) for i in (1, 2, 3))
    exits = sorted(float(x) for r in runs for x in r[4].split())
    fmt = lambda v, p: "" if v is None else f"{v:.{p}f}"
    ex = f"median {statistics.median(exits):.3f}, max {max(exits):.3f}" if exits else ""
    print(f"| {names.get(name, name)} | {t:.2f} s | {t / local:.2f} | {fmt(us, 1)} | {fmt(cpu, 1)} | {fmt(tr, 3)} | {ex} |")
PY
if [ "$CELERY" = 1 ]; then
    echo
    echo "Celery workers' RSS after the runs (2 workers, 8 prefork processes each): $CELERY_RSS MB."
fi
