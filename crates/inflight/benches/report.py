#!/usr/bin/env python3
"""Turns the criterion results of the `throughput` bench into the ratio tables of BENCHMARKS.md.

Usage: python3 crates/inflight/benches/report.py [CRITERION_DIR...]   (default: target/criterion)

Ratios are inflight's time per task over the peer's (< 1: inflight is faster), from criterion's
mean estimates. Given several result directories (copies of target/criterion from separate full
runs), each benchmark's lowest mean is used: on a shared machine, load from other jobs only ever
adds time, and it lands on whichever benchmarks happen to run meanwhile. The issue's target is marked: at most 0.8x futures-buffered on
the ready and yield-once workloads, at most 1x on timers.
"""

import json
import pathlib
import sys

ORDERS = {
    "completion": [
        ("inflight_as_completed", "fb_buffered_unordered"),
        ("inflight_in_flight", "fb_buffered_unordered"),
        ("inflight_as_completed", "futures_buffer_unordered"),
        ("inflight_in_flight", "futures_buffer_unordered"),
        ("inflight_as_completed", "tokio_joinset_semaphore"),
        ("inflight_pool", "tokio_joinset_semaphore"),
    ],
    "input": [
        ("inflight_ordered", "fb_buffered_ordered"),
        ("inflight_in_flight_ordered", "fb_buffered_ordered"),
        ("inflight_ordered", "futures_buffered"),
        ("inflight_in_flight_ordered", "futures_buffered"),
    ],
}
WORKLOADS = ["ready", "yield_once", "timer"]
TARGET = {"ready": 0.8, "yield_once": 0.8, "timer": 1.0}


def load(root, results):
    """Adds (workload, order, contender, limit) -> ns per task to `results`, keeping minima."""
    for bench in root.glob("*/*/*/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        estimates = json.loads((bench.parent / "estimates.json").read_text())
        workload, order = meta["group_id"].split("/")
        tasks = meta["throughput"]["Elements"]
        ns = estimates["mean"]["point_estimate"] / tasks
        key = (workload, order, meta["function_id"], int(meta["value_str"]))
        results[key] = min(ns, results.get(key, ns))


def short(name):
    return name.replace("inflight_", "").replace("tokio_", "")


def policies(roots):
    """Prints the table of the `policies` bench: each policy's time per task, and its ratio to
    the builder with no policy and to the bare stream."""
    times = {}
    for root in roots:
        for estimates in pathlib.Path(root).glob("policies/*/new/estimates.json"):
            name = estimates.parent.parent.name
            ns = json.loads(estimates.read_text())["mean"]["point_estimate"] / 100_000
            times[name] = min(ns, times.get(name, ns))
    if "builder" not in times or "bare" not in times:
        return
    print("### Policies, each on alone (10^5 ready tasks, limit 100)\n")
    print("| policy | ns per task | / builder with no policy | / bare `as_completed` |")
    print("|---|---:|---:|---:|")
    order = ["bare", "builder"] + sorted(k for k in times if k not in ("bare", "builder"))
    for name in order:
        t = times[name]
        print(f"| {name} | {t:.1f} | {t / times['builder']:.2f} | {t / times['bare']:.2f} |")
    print()


def main():
    results = {}
    roots = sys.argv[1:] or ["target/criterion"]
    for root in roots:
        load(pathlib.Path(root), results)
    policies(roots)
    limits = sorted({key[3] for key in results})
    for workload in WORKLOADS:
        for order, pairs in ORDERS.items():
            contenders = sorted({c for (w, o, c, _) in results if (w, o) == (workload, order)})
            if not contenders:
                continue
            print(f"### {workload}, {order} order\n")
            print("Ratios (inflight / peer; target for the futures-buffered columns: "
                  f"<= {TARGET[workload]}):\n")
            print("| limit | " + " | ".join(f"{short(a)} / {short(b)}" for a, b in pairs) + " |")
            print("|---:|" + "---:|" * len(pairs))
            for limit in limits:
                cells = []
                for a, b in pairs:
                    ta = results.get((workload, order, a, limit))
                    tb = results.get((workload, order, b, limit))
                    if ta is None or tb is None:
                        cells.append("-")
                        continue
                    ratio = ta / tb
                    mark = ""
                    if b.startswith("fb_"):
                        mark = " ✓" if ratio <= TARGET[workload] else " ✗"
                    cells.append(f"{ratio:.2f}{mark}")
                print(f"| {limit} | " + " | ".join(cells) + " |")
            print("\nTime per task (ns):\n")
            print("| limit | " + " | ".join(contenders) + " |")
            print("|---:|" + "---:|" * len(contenders))
            for limit in limits:
                cells = [results.get((workload, order, c, limit)) for c in contenders]
                print(f"| {limit} | "
                      + " | ".join("-" if t is None else f"{t:.1f}" for t in cells) + " |")
            print()


if __name__ == "__main__":
    main()
