"""Per-task time of the seeds' Python approaches against inflight, and Python's peak memory.

Usage: compare.py PATH_TO_bench_pyparity_BINARY  (run.sh builds it and sets up the venv).

Each (approach, workload) runs in a fresh interpreter (`--child`), best of a few runs, so its
peak RSS (getrusage maxrss) is its own. The inflight times come from the Rust example
`bench_pyparity`, which runs the same workloads (same task counts and limit). Wall and
CPU time (the running thread's own) are both compared: on the timer workload the wall time is
mostly the timers' resolution (tokio's is 1 ms, so a 1 ms sleep lasts up to 2 ms), the CPU
time is what the scheduling of the tasks costs.
"""

import asyncio
import resource
import subprocess
import sys
import time

from approaches import APPROACHES, WORKLOADS

RUNS = 3
# Slow approaches (the polling loop) get fewer tasks; times are compared per task.
TASKS = {"ready": 100_000, "yield_once": 100_000, "timer": 10_000}
LIMIT = 100


def child(approach, workload, n):
    run, _ = APPROACHES[approach]
    make = WORKLOADS[workload]
    best = best_cpu = float("inf")
    for _ in range(RUNS):
        start, cpu_start = time.perf_counter(), time.thread_time()
        total = asyncio.run(run(make, n, LIMIT))
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.thread_time() - cpu_start)
        assert total == n * (n - 1) // 2, (approach, workload, total)
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{best:.6f} {best_cpu:.6f} {maxrss_kib}")


def ratio(a, b):
    r = a / b
    return f"{r:.0f}" if r >= 10 else f"{r:.2f}"


def inflight_times(binary):
    out = subprocess.run([binary], check=True, capture_output=True, text=True).stdout
    times = {}
    for line in out.splitlines():
        api, workload, n, _limit, wall, cpu = line.split()
        times[(api, workload)] = (float(wall) / int(n), float(cpu) / int(n))
    return times


def main():
    if sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    rust = inflight_times(sys.argv[1])
    print(f"limit {LIMIT}; tasks: {TASKS}; best of {RUNS} runs; timer = sleep 1 ms, real clock")
    print()
    print("| approach | vs inflight | workload | Python wall µs/task | inflight wall µs/task "
          "| Python / inflight, wall | Python / inflight, CPU | Python peak RSS (MiB) |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for approach, (_, api) in APPROACHES.items():
        for workload, n in TASKS.items():
            n = n // 10 if approach == "limited_as_completed" and workload != "timer" else n
            out = subprocess.run(
                [sys.executable, __file__, "--child", approach, workload, str(n)],
                check=True, capture_output=True, text=True,
            ).stdout.split()
            py, py_cpu = float(out[0]) / n, float(out[1]) / n
            rss_mib = int(out[2]) / 1024
            ours, ours_cpu = rust[(api, workload)]
            print(f"| {approach} | {api} | {workload} | {py * 1e6:.2f} | {ours * 1e6:.3f} "
                  f"| {ratio(py, ours)} | {ratio(py_cpu, ours_cpu)} | {rss_mib:.1f} |",
                  flush=True)


if __name__ == "__main__":
    main()
