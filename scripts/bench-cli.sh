#!/usr/bin/env bash
# Benchmark the `inflight` CLI against its peers, side by side in one run, as ratios
# (inflight time / peer time; below 1 means inflight is faster). Not a test.
#
#   exec:  N trivial jobs (`true`) with inflight exec, xargs -P and GNU parallel, at -j J_EXEC.
#   fetch: N small files from a local nginx (loopback, temp config), with inflight fetch -o,
#          curl --parallel, aria2c -i and xargs -P curl, all at J_FETCH connections, all
#          writing the bodies to disk.
#
# Usage: scripts/bench-cli.sh            (env: N=3000 J_EXEC=$(nproc) J_FETCH=50 RUNS=5)
#        ROUNDS=15 scripts/bench-cli.sh (the default; 0 skips it)
#            also runs the fetch tools in turn, round after round (interleaved, so a burst of load
#            from elsewhere hits them all alike), and prints each one's median wall time.
#        BASELINE=/path/to/old/inflight scripts/bench-cli.sh
#            also times an older inflight build in each group, in the same hyperfine run, so a
#            change's cost is a ratio measured under the same load (the "inflight (baseline)"
#            rows; a ratio of 1.02 there is 2% slower than the baseline).
# Installs what is missing with apt-get (nginx-light, parallel, aria2, curl, hyperfine, python3).
set -euo pipefail

N=${N:-3000}
J_EXEC=${J_EXEC:-$(nproc)}
J_FETCH=${J_FETCH:-50}
RUNS=${RUNS:-5}
ROUNDS=${ROUNDS:-15}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v parallel >/dev/null || need+=(parallel)
command -v aria2c >/dev/null || need+=(aria2)
command -v curl >/dev/null || need+=(curl)
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
    echo "installing: ${need[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

(cd "$ROOT" && cargo build --release -q -p inflight-cli)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/inflight
[ -x "$BIN" ] || { echo "no binary at $BIN" >&2; exit 1; }

TMP=$(mktemp -d)
chmod 755 "$TMP" # nginx workers may run as another user
# Downloaded bodies go to tmpfs when there is one: creating 3000 files on a disk shared with
# other work costs from 0.1 to 3 s depending on what else runs, which would drown the tools.
OUT=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d -p "$TMP")
cleanup() {
    [ -f "$TMP/nginx.pid" ] && kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true
    rm -rf "$TMP" "$OUT"
}
trap cleanup EXIT

echo "# machine: $(nproc) cores; N=$N J_EXEC=$J_EXEC J_FETCH=$J_FETCH RUNS=$RUNS"
echo "# versions: $("$BIN" --version); $(xargs --version | head -1); $(parallel --version | head -1);"
echo "#           $(curl --version | head -1 | cut -d' ' -f1-2); $(aria2c --version | head -1); $("$NGINX" -v 2>&1)"

# ---------------------------------------------------------------- exec
seq 1 "$N" >"$TMP/nums"
base_exec=() base_fetch=() base_discard=()
if [ -n "${BASELINE:-}" ]; then
    base_exec=(-n "inflight (baseline)" "$BASELINE exec -j $J_EXEC -- true < $TMP/nums")
    base_fetch=(--prepare "rm -rf $OUT/baseline && mkdir -p $OUT/baseline" -n "inflight (baseline)"
        "$BASELINE fetch -j $J_FETCH -o $OUT/baseline $TMP/urls")
    base_discard=(-n "inflight (baseline)" "$BASELINE fetch -j $J_FETCH $TMP/urls")
fi
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$TMP/exec.json" \
    -n "inflight exec" "$BIN exec -j $J_EXEC -- true < $TMP/nums" "${base_exec[@]}" \
    -n "xargs -P" "xargs -P $J_EXEC -n 1 true < $TMP/nums" \
    -n "GNU parallel" "parallel --will-cite -j $J_EXEC true < $TMP/nums" >&2

# ---------------------------------------------------------------- fetch
mkdir -p "$TMP/www/f" "$TMP/nginx/logs"
python3 - "$TMP/www/f" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(1, n + 1):
    with open(os.path.join(d, f"{i}.txt"), "w") as f:
        f.write(f"file {i}\n" * 32)   # ~250 bytes
PY
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
USER_LINE=""
[ "$(id -u)" -eq 0 ] && USER_LINE="user root;"
cat >"$TMP/nginx.conf" <<CONF
$USER_LINE
worker_processes auto;
pid $TMP/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$PORT;
        root $TMP/www;
    }
}
CONF
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx.conf"
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/f/1.txt" >/dev/null && break; sleep 0.1; done

for i in $(seq 1 "$N"); do echo "http://127.0.0.1:$PORT/f/$i.txt"; done >"$TMP/urls"
sed 's/^/url = /' "$TMP/urls" >"$TMP/curl.cfg"
awk '{print "url = " $0; print "output = /dev/null"}' "$TMP/urls" >"$TMP/curl-null.cfg"
fresh() { echo "rm -rf $OUT/$1 && mkdir -p $OUT/$1"; }
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$TMP/fetch.json" \
    --prepare "$(fresh inflight)" -n "inflight fetch -o" \
    "$BIN fetch -j $J_FETCH -o $OUT/inflight $TMP/urls" "${base_fetch[@]}" \
    --prepare "$(fresh curl)" -n "curl --parallel" \
    "curl -s --parallel --parallel-max $J_FETCH --output-dir $OUT/curl --remote-name-all -K $TMP/curl.cfg" \
    --prepare "$(fresh aria2)" -n "aria2c -i" \
    "aria2c -q -j $J_FETCH -i $TMP/urls -d $OUT/aria2 --allow-overwrite=true --auto-file-renaming=false" \
    --prepare "$(fresh xargs)" -n "xargs -P curl" \
    "xargs -P $J_FETCH -n 1 curl -s -O --output-dir $OUT/xargs < $TMP/urls" >&2

# The same without writing files: inflight without -o against curl into /dev/null.
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$TMP/discard.json" \
    -n "inflight fetch (discard)" "$BIN fetch -j $J_FETCH $TMP/urls" "${base_discard[@]}" \
    -n "curl --parallel -o /dev/null" \
    "curl -s --parallel --parallel-max $J_FETCH -K $TMP/curl-null.cfg" >&2

# Sanity: every tool fetched every file.
for t in inflight curl aria2 xargs; do
    got=$(find "$OUT/$t" -type f | wc -l)
    [ "$got" -eq "$N" ] || echo "warning: $t wrote $got files, expected $N" >&2
done

# ---------------------------------------------------------------- interleaved medians
# hyperfine times all runs of one command, then the next: on a machine shared with other work,
# a burst of load can land on one tool only. Here each round runs every tool once, in turn.
if [ "$ROUNDS" -gt 0 ]; then
    python3 - "$ROUNDS" "$N" "$OUT" "$BIN" "${BASELINE:-}" "$J_FETCH" "$TMP" <<'PY'
import os, shutil, statistics, subprocess, sys, time
rounds, n, out, bin_, base, j, tmp = sys.argv[1:]
rounds, n = int(rounds), int(n)
tools = [("inflight fetch -o", [bin_, "fetch", "-q", "-j", j, "-o", "{d}", f"{tmp}/urls"])]
if base:
    tools.append(("inflight (baseline) -o", [base, "fetch", "-q", "-j", j, "-o", "{d}", f"{tmp}/urls"]))
tools += [
    ("curl --parallel", ["curl", "-s", "--parallel", "--parallel-max", j, "--output-dir", "{d}",
                         "--remote-name-all", "-K", f"{tmp}/curl.cfg"]),
    ("inflight fetch (discard)", [bin_, "fetch", "-q", "-j", j, f"{tmp}/urls"]),
]
if base:
    tools.append(("inflight (baseline) discard", [base, "fetch", "-q", "-j", j, f"{tmp}/urls"]))
tools.append(("curl --parallel -o /dev/null", ["curl", "-s", "--parallel", "--parallel-max", j,
                                               "-K", f"{tmp}/curl-null.cfg"]))
times = {name: [] for name, _ in tools}
for _ in range(rounds):
    for name, cmd in tools:
        d = os.path.join(out, "round")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        start = time.perf_counter()
        subprocess.run([c.replace("{d}", d) for c in cmd], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[name].append(time.perf_counter() - start)
print()
print(f"Interleaved: {rounds} rounds, each tool once per round; median wall time.")
print()
print("| tool | median (s) | files/s | rate / curl's (same mode) |")
print("| --- | ---: | ---: | ---: |")
for name, _ in tools:
    med = statistics.median(times[name])
    discard = "discard" in name or "/dev/null" in name
    peer = "curl --parallel -o /dev/null" if discard else "curl --parallel"
    ratio = statistics.median(times[peer]) / med
    print(f"| {name} | {med:.3f} | {n / med:.0f} | {ratio:.2f} |")
PY
fi

# ---------------------------------------------------------------- table
python3 - "$N" "$TMP/exec.json" "$TMP/fetch.json" "$TMP/discard.json" <<'PY'
import json, sys
n = int(sys.argv[1])
print()
print("| benchmark | tool | mean (s) | stddev (s) | jobs/s | inflight / tool |")
print("| --- | --- | ---: | ---: | ---: | ---: |")
for label, path in zip(("exec", "fetch -o", "fetch, discard"), sys.argv[2:]):
    results = json.load(open(path))["results"]
    ours = results[0]["mean"]
    for r in results:
        print(f"| {label} {n} | {r['command']} | {r['mean']:.3f} | {r['stddev'] or 0:.3f} | "
              f"{n / r['mean']:.0f} | {ours / r['mean']:.2f} |")
PY
