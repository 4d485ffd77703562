"""How fast a brood spooler process drains a burst of waiting tasks (issue 16): the start p99 of
spooler_bench.py is the spooler's backlog after bursts. Each round stops the node's spooler
process (SIGSTOP), enqueues BURST tasks (spooler_bench.py's client, P producers), lets it go
(SIGCONT) and takes the time from the SIGCONT to the last task's start. The rounds of each
node alternate (brood, then --base's brood), so both see the same load.

    python3 spooler_drain.py BUILD_DIR [--burst N] [--rounds R] [--producers P] [--base BASE]

Prints "BENCH spooler_drain_burstN SYSTEM_us_per_task_p50=... SYSTEM_drain_ms_p50=..." (the
median over the rounds of drain time / N, and of the drain time).
"""
import argparse
import os
import signal
import statistics
import time

import cluster
import spooler_bench
import spooler_strace
import start_report


def spooler_pids(pid):
    return [t for t in spooler_strace.tids(pid, "spooler") if os.path.exists("/proc/%d" % t)]


def one_round(node, burst, producers, report):
    reports = start_report.Reports(report)
    pids = spooler_pids(node.pid)
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    try:
        addr = node.address
        host, port = addr.rsplit(":", 1)
        tag = "%x" % time.monotonic_ns()
        for i in range(burst):
            block = cluster._vars_block({"id": "%s-%d" % (tag, i), "report": reports.path, "pad": "x" * 64})
            spooler_bench.enqueue(host, int(port), block)
    finally:
        go = time.monotonic_ns()
        for p in pids:
            os.kill(p, signal.SIGCONT)
    last = max(int(f[1]) for f in reports.wait(burst))
    reports.close()
    return (last - go) / 1000.0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--burst", type=int, default=50)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--producers", type=int, default=1)
    p.add_argument("--base")
    args = p.parse_args(argv)
    cluster.note("spooler drain: bursts of %d tasks enqueued while the spooler process is stopped, "
                 "%d rounds per node alternating; load average %s" % (
                     args.burst, args.rounds, " ".join("%.2f" % x for x in os.getloadavg())))
    sp = ("--auto-procname",)
    with cluster.Cluster(args.build_dir) as c:
        nodes = spooler_bench.brood_and_base(c, args.base, *sp)
        for name, node in nodes.items():  # warm: the pool filled, Python's first calls made
            spooler_bench.run_once(node.address, 8, 500, os.path.join(c.tmp, "warm.sock"))
        drains = {name: [] for name in nodes}
        for r in range(args.rounds):
            for name, node in nodes.items():
                drains[name].append(one_round(node, args.burst, args.producers,
                                              os.path.join(c.tmp, "drain-%s.sock" % name)))
        fields = {}
        for name, d in drains.items():
            fields["%s_us_per_task_p50" % name] = "%.1f" % (statistics.median(d) / args.burst)
            fields["%s_drain_ms_p50" % name] = "%.2f" % (statistics.median(d) / 1000.0)
            fields["%s_drain_ms_min" % name] = "%.2f" % (min(d) / 1000.0)
        cluster.bench_line("spooler_drain_burst%d" % args.burst, **fields)


if __name__ == "__main__":
    main()
