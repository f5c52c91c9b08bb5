#!/usr/bin/env bash
# What the failover guarantee of a shared limit costs (not a test). Starts a master, its
# replica and a sentinel on loopback, then:
#
#   1. steady state: acquire + release of a global limit through `redis://` to the master
#      (no failover handling) and through `redis+sentinel://` (following failovers, with the
#      grace period after one): jobs/s and round trips per job;
#   2. a failover: the master is kill -9'd while the loop runs through the sentinel; prints
#      the events and the longest time without a grant (the outage, then the grace period of
#      one lease).
#
# Usage: scripts/bench-failover.sh      (env: LEASE_MS=3000)
set -euo pipefail

LEASE_MS=${LEASE_MS:-3000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
(cd "$ROOT" && cargo build --release -q -p inflight-redis --example failover_cost)
BIN="$ROOT/target/release/examples/failover_cost"
DIR=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MASTER=$(free_port); REPLICA=$(free_port); SENTINEL=$(free_port)
cleanup() {
    for p in "$MASTER" "$REPLICA" "$SENTINEL"; do
        redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true
    done
    rm -rf "$DIR"
}
trap cleanup EXIT
start() { # start PORT NAME ARGS...
    local port=$1 name=$2; shift 2
    mkdir -p "$DIR/$name"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR/$name" \
        --daemonize yes --logfile "$DIR/$name/redis.log" --pidfile "$DIR/$name/pid" "$@" >/dev/null
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
}
start "$MASTER" master
start "$REPLICA" replica --replicaof 127.0.0.1 "$MASTER"
cat >"$DIR/sentinel.conf" <<CONF
port $SENTINEL
bind 127.0.0.1
daemonize yes
logfile $DIR/sentinel.log
sentinel monitor bench 127.0.0.1 $MASTER 1
sentinel down-after-milliseconds bench 1000
sentinel failover-timeout bench 10000
CONF
redis-server "$DIR/sentinel.conf" --sentinel
for _ in $(seq 100); do
    n=$(redis-cli -p "$SENTINEL" sentinel replicas bench 2>/dev/null | grep -c '^name$' || true)
    [ "$n" -ge 1 ] && break; sleep 0.1
done

echo "## Steady state"
# Alternated, twice: the machine is shared and noisy.
A="redis://127.0.0.1:$MASTER"; B="redis+sentinel://127.0.0.1:$SENTINEL/bench"
"$BIN" steady "$A" "$B" "$A" "$B"

echo
echo "## A failover (master kill -9'd after 2 s, lease ${LEASE_MS} ms)"
"$BIN" gap "redis+sentinel://127.0.0.1:$SENTINEL/bench" "$LEASE_MS" &
GAP=$!
sleep 2
kill -9 "$(cat "$DIR/master/pid")"
wait "$GAP"
