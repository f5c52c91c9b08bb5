#!/usr/bin/env bash
# What `inflight dashboard` costs while a big queue runs, and how far behind it is (not a
# test). One machine: N inputs pushed to a queue, W `exec --queue` workers running `true` at
# -j J, the dashboard reading Redis every second, and V viewers following its events (each
# what the page does: /api/history once, then /api/events), plus one `/metrics` scrape a second.
#
# It reports:
#   - the dashboard's own CPU: utime + stime from /proc/PID/stat over the run, as a share of
#     one core, and its peak RSS;
#   - lag: for each event a viewer gets, how many seconds of progress it is behind Redis at
#     that moment ((done in Redis now - done in the event) / rate), and the age of the
#     reading when the next one replaces it (what a page shows at worst);
#   - whether the last event equals `inflight queue status --json` (pushed, waiting, in
#     flight, done, failed, dead).
#
# Usage: scripts/dashboard-load.sh     (env: N=100000 W=4 J=8 V=3 PORT=6399 BIN=target/release/inflight)
set -euo pipefail

N=${N:-100000}
W=${W:-4}
J=${J:-8}
V=${V:-3}
PORT=${PORT:-6399}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p inflight-cli)
  BIN="$ROOT/target/release/inflight"
fi
DIR=$(mktemp -d /dev/shm/dashboard-load.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" \
  --daemonize yes --logfile "$DIR/redis.log"
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
export INFLIGHT_REDIS="redis://127.0.0.1:$PORT"

seq "$N" | "$BIN" queue push load 2>/dev/null
"$BIN" dashboard --listen 127.0.0.1:0 load 2>"$DIR/dash.err" &
DASH=$!
PIDS+=("$DASH")
for _ in $(seq 100); do grep -q 'dashboard on' "$DIR/dash.err" && break; sleep 0.05; done
ADDR=$(grep -o 'http://[^/]*' "$DIR/dash.err" | head -1)

# The viewers: each follows the events and, at each one, asks Redis itself for `done`.
cat >"$DIR/viewer.py" <<'EOF'
import json, subprocess, sys, time, urllib.request
addr, port, out = sys.argv[1], sys.argv[2], sys.argv[3]
urllib.request.urlopen(addr + "/api/history").read()
rows = []
with urllib.request.urlopen(addr + "/api/events") as r:
    for raw in r:
        if not raw.startswith(b"data: "):
            continue
        got = time.time()
        ev = json.loads(raw[6:])
        if not ev["queues"]:
            continue
        q = ev["queues"][0]
        done_now = int(subprocess.run(["redis-cli", "-p", port, "HGET", "inflight:queue:{load}:meta", "done"],
                                      capture_output=True, text=True).stdout.strip() or 0)
        rows.append({"got": got, "at": ev["at_ms"] / 1000, "done": q["done"], "redis_done": done_now,
                     "rate": q["rate"], "q": {k: q[k] for k in ("pushed", "waiting", "in_flight", "done", "failed", "dead")},
                     "finished": q["finished"]})
        if q["finished"]:
            break
json.dump(rows, open(out, "w"))
EOF
VIEWERS=()
for v in $(seq "$V"); do
  python3 "$DIR/viewer.py" "$ADDR" "$PORT" "$DIR/viewer$v.json" &
  VIEWERS+=($!)
done
( while kill -0 "$DASH" 2>/dev/null; do curl -s "$ADDR/metrics" >/dev/null; sleep 1; done ) &
PIDS+=($!)

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
T0=$(date +%s.%N)
C0=$(ticks "$DASH")
for w in $(seq "$W"); do
  "$BIN" exec --queue load -j "$J" -q -- true >/dev/null 2>&1 &
  PIDS+=($!)
done
for v in "${VIEWERS[@]}"; do wait "$v"; done
T1=$(date +%s.%N)
C1=$(ticks "$DASH")
RSS=$(awk '/VmHWM/ {print $2}' "/proc/$DASH/status")
STATUS=$("$BIN" queue status load --json --interval 200ms)
python3 - "$DIR" "$V" "$T0" "$T1" "$C0" "$C1" "$HZ" "$RSS" "$STATUS" "$N" "$W" "$J" <<'EOF'
import json, sys
d, V, t0, t1, c0, c1, hz, rss, status, n, w, j = sys.argv[1:]
wall = float(t1) - float(t0)
cpu = (int(c1) - int(c0)) / int(hz)
status = json.loads(status)
lags, ages = [], []
for v in range(1, int(V) + 1):
    rows = json.load(open(f"{d}/viewer{v}.json"))
    for a, b in zip(rows, rows[1:]):
        ages.append(b["got"] - a["at"])
    for r in rows:
        if r["rate"] > 0 and not r["finished"]:
            lags.append(max(0, r["redis_done"] - r["done"]) / r["rate"])
    last = rows[-1]["q"]
    same = all(last[k] == status[k] for k in last)
print(f"{n} inputs, {w} workers at -j {j} running `true`, {V} viewers + 1 scrape/s: {wall:.1f} s")
print(f"dashboard CPU: {cpu:.2f} s over {wall:.1f} s = {100 * cpu / wall:.2f} % of one core; peak RSS {int(rss) / 1024:.1f} MiB")
lags.sort(); ages.sort()
pct = lambda xs, p: xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")
print(f"behind Redis when an event arrives: median {pct(lags, .5):.2f} s, p95 {pct(lags, .95):.2f} s, max {max(lags) if lags else float('nan'):.2f} s ({len(lags)} events)")
print(f"age of the shown reading when the next arrives: median {pct(ages, .5):.2f} s, max {max(ages) if ages else float('nan'):.2f} s")
print(f"last event equals `queue status --json`: {same}")
EOF
