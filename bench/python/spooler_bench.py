"""Benchmark of issue 4: durable spooler tasks end to end, brood against real uWSGI 2.0.

Both nodes have 2 workers and one spooler process running the same Python task
(spool_task.py: report the start time, return SPOOL_OK). The same client enqueues onto both:
brood.spool (the C++ client, GIL released) from P producer threads, each sending its share of
TASKS tasks one after another (modifier1 17; the node answers FF 00 00 01 once the task is on
disk: brood after fsync + rename + fsync of the directory, uWSGI after a plain write).
uWSGI runs with --spooler-frequency 1 (its default is 30 s) so that a missed wake-up costs it at
most a second. Nothing is pinned.

Figures per system and producer count (median of R runs):
  tasks_s      tasks / (start of the last task - first send): enqueue -> executed throughput
  enq_p50/p99  enqueue round trip (send to ack)
  start_p50/p99  send to the task's start in the spooler

    python3 spooler_bench.py BUILD_DIR [--tasks N] [--repeat R]

Prints "BENCH spooler_Pproducers ..." for P in 1 and 8.
"""
import argparse
import os
import socket
import statistics
import threading
import time

import brood

import cluster


def run_once(address, producers, tasks, report_path):
    """Enqueues `tasks` tasks from `producers` threads; returns (tasks/s, enqueue latencies us,
    start latencies us)."""
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(report_path)
    rx.settimeout(30.0)
    sent, acked, started = {}, [], {}
    errors = []
    tag = "%x" % time.monotonic_ns()

    def produce(p):
        try:
            for i in range(p, tasks, producers):
                tid = "%s-%d" % (tag, i)
                t0 = time.monotonic_ns()
                sent[tid] = t0
                brood.spool(address, {"id": tid, "report": report_path, "pad": "x" * 64},
                            timeout=10.0)
                acked.append((time.monotonic_ns() - t0) / 1000.0)
        except Exception as e:  # reported after the run
            errors.append("%s: %s" % (type(e).__name__, e))

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    first = time.monotonic_ns()
    for t in threads:
        t.start()
    try:
        while len(started) < tasks:
            data = rx.recv(256).split()
            started[data[0].decode()] = int(data[1])
    except socket.timeout:
        errors.append("only %d of %d tasks started within 30 s of the last one" %
                      (len(started), tasks))
    for t in threads:
        t.join()
    rx.close()
    os.unlink(report_path)
    if errors:
        raise RuntimeError("; ".join(errors[:3]))
    last = max(started.values())
    starts = [(started[k] - sent[k]) / 1000.0 for k in started]
    return tasks / ((last - first) / 1e9), acked, starts


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--tasks", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    cluster.note("spooler: 2 workers + 1 spooler process each, spool_task.py, client brood.spool "
                 "from P threads, %d tasks per run, median of %d runs, nothing pinned; uWSGI with "
                 "--spooler-frequency 1" % (args.tasks, args.repeat))
    with cluster.Cluster(args.build_dir) as c:
        bdir, udir = os.path.join(c.tmp, "spool-brood"), os.path.join(c.tmp, "spool-uwsgi")
        os.makedirs(udir)
        nodes = {
            "brood": c.brood("--master", "--processes", 2, "--spooler", bdir,
                             "--module", "spool_task"),
            "uwsgi": c.uwsgi("--plugin", "spooler", "--spooler", udir, "--spooler-frequency", 1,
                             "--import", "spool_task", processes=2),
        }
        for producers in (1, 8):
            runs = {name: [] for name in nodes}
            for r in range(args.repeat):
                for name, node in nodes.items():
                    path = os.path.join(c.tmp, "report-%s-%d-%d" % (name, producers, r))
                    runs[name].append(run_once(node.address, producers, args.tasks, path))
            fig = {}
            for name, rr in runs.items():
                fig[name] = (statistics.median(x[0] for x in rr),
                             statistics.median(pct(x[1], 0.5) for x in rr),
                             statistics.median(pct(x[1], 0.99) for x in rr),
                             statistics.median(pct(x[2], 0.5) for x in rr),
                             statistics.median(pct(x[2], 0.99) for x in rr))
            b, u = fig["brood"], fig["uwsgi"]
            cluster.bench_line(
                "spooler_%dproducers" % producers,
                brood_tasks_s="%.0f" % b[0], uwsgi_tasks_s="%.0f" % u[0],
                ratio="%.2f" % (b[0] / u[0]), target_ratio=">=5" if producers == 8 else "none",
                brood_enq_p50_us="%.0f" % b[1], brood_enq_p99_us="%.0f" % b[2],
                uwsgi_enq_p50_us="%.0f" % u[1], uwsgi_enq_p99_us="%.0f" % u[2],
                brood_start_p50_us="%.0f" % b[3], brood_start_p99_us="%.0f" % b[4],
                target_start_p99_us="<=5000",
                uwsgi_start_p50_us="%.0f" % u[3], uwsgi_start_p99_us="%.0f" % u[4])


if __name__ == "__main__":
    main()
