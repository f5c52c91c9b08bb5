#!/usr/bin/env bash
# 10^6 inputs through a queue (not a test: it takes minutes): push, and two `fetch --queue`
# workers against a local nginx, while Redis's used_memory and each worker's RSS are sampled
# every 5 s. Says whether Redis stayed under the stated bound and the workers' RSS stayed flat.
#
# Bound on Redis's memory: untaken inputs (at most --max-pending) and those in flight, plus one
# result per finished input (kept until `inflight queue delete`) and one bit per input:
#   used_memory <= base + MAX_PENDING * INPUT_BYTES + N * RESULT_BYTES
# with INPUT_BYTES = 200 (an entry of ~40 bytes of URL) and RESULT_BYTES = 300 (a record of
# ~170 bytes of JSON, plus the stream's overhead).
#
# Usage: scripts/queue-million.sh     (env: N=1000000 MAX_PENDING=100000 J=32 BATCH=16 PORT=6397)
set -euo pipefail

N=${N:-1000000}
MAX_PENDING=${MAX_PENDING:-100000}
J=${J:-32}
BATCH=${BATCH:-16}
PORT=${PORT:-6397}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
(cd "$ROOT" && cargo build --release -q -p inflight-cli)
BIN="$ROOT/target/release/inflight"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
# shellcheck source=nginx-local.sh
. "$(dirname "$0")/nginx-local.sh"
TMP=$(mktemp -d)
chmod 755 "$TMP"
cleanup() {
    [ -f "$TMP/nginx/nginx.pid" ] && kill "$(cat "$TMP/nginx/nginx.pid")" 2>/dev/null || true
    redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
    jobs -p | xargs -r kill 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
    --daemonize yes --logfile "$TMP/redis.log" >/dev/null
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
export INFLIGHT_REDIS="redis://127.0.0.1:$PORT"
used() { redis-cli -p "$PORT" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r'; }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
BASE=$(used)

mkdir -p "$TMP/www"
echo ok >"$TMP/www/f"
WEB=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_nginx "$TMP/nginx" "$WEB" "$TMP/www"

start=$(date +%s)
seq "$N" | sed "s|^|http://127.0.0.1:$WEB/f?|" |
    "$BIN" queue push million --max-pending "$MAX_PENDING" 2>"$TMP/push.err" &
PUSH=$!
W=()
for i in 1 2; do
    "$BIN" fetch -q -j "$J" --read-batch "$BATCH" --queue million 2>"$TMP/w$i.err" &
    W+=($!)
done
echo "| s | finished | waiting | Redis used_memory (MB) | worker 1 RSS (MB) | worker 2 RSS (MB) |"
echo "| --- | --- | --- | --- | --- | --- |"
peak=0
rss_lo=999999999 rss_hi=0
while kill -0 "${W[0]}" 2>/dev/null || kill -0 "${W[1]}" 2>/dev/null; do
    sleep 5
    s=$("$BIN" queue status million --json --interval 100ms 2>/dev/null || echo '{}')
    fin=$(echo "$s" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("done",0)+d.get("failed",0)+d.get("dead",0))')
    wait_n=$(echo "$s" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("waiting",0))')
    u=$(used)
    r1=$(rss "${W[0]}") r2=$(rss "${W[1]}")
    ((u > peak)) && peak=$u
    # RSS after the first 10% (warm-up: connections, buffers)
    if ((fin > N / 10)); then
        for r in $r1 $r2; do
            ((r > 0 && r < rss_lo)) && rss_lo=$r
            ((r > rss_hi)) && rss_hi=$r
        done
    fi
    echo "| $(($(date +%s) - start)) | $fin | $wait_n | $((u / 1000000)) | $((r1 / 1024)) | $((r2 / 1024)) |"
done
wait "$PUSH"
took=$(($(date +%s) - start))
end_used=$(used)
bound=$((BASE + MAX_PENDING * 200 + N * 300))
echo
echo "N=$N in ${took}s ($((N / (took > 0 ? took : 1))) inputs/s), 2 workers -j $J --read-batch $BATCH, --max-pending $MAX_PENDING"
echo "Redis used_memory: peak $((peak / 1000000)) MB, at the end $((end_used / 1000000)) MB ($(((end_used - BASE) / N)) bytes per result); bound $((bound / 1000000)) MB: $([ "$peak" -le "$bound" ] && echo held || echo EXCEEDED)"
echo "worker RSS after warm-up: $((rss_lo / 1024)) to $((rss_hi / 1024)) MB"
"$BIN" queue status million --interval 100ms | head -8
