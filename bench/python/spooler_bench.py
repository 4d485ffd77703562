"""Benchmark of issues 4 and 16: durable spooler tasks end to end, brood against real uWSGI 2.0.

Both nodes have 2 workers and one spooler process running the same Python task
(spool_task.py: report the start time, return SPOOL_OK). The same client enqueues onto both:
P producer processes (forked first, then started together), each sending its share of TASKS
tasks one after another, each on a new connection (modifier1 17) whose answer it reads to the
end of the connection, as a uWSGI client may (both nodes close after the 4-byte answer). brood answers FF 00 00 01 once a group commit of
its task log covers the task (one fdatasync per batch, docs/spool_format.md §9); uWSGI after a
plain write with no sync. uWSGI runs with --spooler-frequency 1 (its default is 30 s) so that a
missed wake-up costs it at most a second. Nothing is pinned.

Figures per system and producer count (median of R runs):
  tasks_s      tasks / (start of the last task - first send): enqueue -> executed throughput
  enq_p50/p99  enqueue round trip (connect, send, answer read to EOF)
  start_p50/p99  send to the task's start in the spooler
  wait_p50/p99 the task's acknowledgment (answer read) to its start in the spooler: how long an
               acknowledged task waits for the spooler (its file, the pick-up, the backlog)
  acked_s      tasks / (last acknowledgment - first send): the enqueue side's own rate
  commits_s, tasks_per_commit  brood's task log: group commits per second of the run and task
               records per commit (from the node's stats, the spoolers' "log" object)

    python3 spooler_bench.py BUILD_DIR [--tasks N] [--repeat R] [--base BASE_BUILD_DIR]

Prints "BENCH spooler_Pproducers ..." for P in 1 and 8. With --base, a third node (the brood of
another build, e.g. the previous commit) runs in the same runs, its figures printed as base_*.
"""
import argparse
import json
import multiprocessing
import os
import socket
import statistics
import struct
import time

import cluster
import start_report

ACK = b"\xff\x00\x00\x01"


def enqueue(host, port, vars_block):
    """One remote enqueue on its own connection; the answer read to EOF."""
    with socket.create_connection((host, port), 10.0) as s:
        s.sendall(struct.pack("<BHB", 17, len(vars_block), 0) + vars_block)
        answer = cluster.read_to_eof(s)
    if answer != ACK:
        raise RuntimeError("answer %r" % answer)


def producer(address, p, producers, tasks, tag, report_path, out, start=None):
    """Sends tasks p, p + producers, ...; puts ({id: send time}, [ack latencies us], error,
    {id: ack time}). With `start` (a multiprocessing barrier), begins once every producer and
    the benchmark have reached it."""
    host, port = address.rsplit(":", 1)
    sent, acked, error, ack_at = {}, [], None, {}
    try:
        if start is not None:
            start.wait(60)
        for i in range(p, tasks, producers):
            tid = "%s-%d" % (tag, i)
            block = cluster._vars_block({"id": tid, "report": report_path, "pad": "x" * 64})
            t0 = time.monotonic_ns()
            sent[tid] = t0
            enqueue(host, int(port), block)
            ack_at[tid] = time.monotonic_ns()
            acked.append((ack_at[tid] - t0) / 1000.0)
    except Exception as e:  # reported after the run
        error = "%s: %s" % (type(e).__name__, e)
    out.put((sent, acked, error, ack_at))


def log_counters(stats_path):
    """(task records, commits) of brood's task log, from its stats socket; None without one."""
    if not stats_path:
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5.0)
        s.connect(stats_path)
        doc = json.loads(cluster.read_to_eof(s))
    log = doc["spoolers"][0]["log"]
    return log["tasks"], log["commits"]


def run_once(address, producers, tasks, report_path, stats_path=None):
    """Enqueues `tasks` tasks from `producers` processes; returns (tasks/s, enqueue latencies
    us, start latencies us, commits/s, tasks per commit, ack-to-start waits us, acked tasks/s)."""
    reports = start_report.Reports(report_path)
    started = {}
    errors = []
    tag = "%x" % time.monotonic_ns()
    before = log_counters(stats_path)
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    # The producers start sending together once all are forked: the forks of the later ones do
    # not compete with the first ones' tasks (they made the first ~25 ms of a run the benchmark's
    # own start-up: a producer's connect returned 10-29 ms after its send time).
    start = ctx.Barrier(producers + 1)
    procs = [ctx.Process(target=producer,
                         args=(address, p, producers, tasks, tag, reports.path, out, start))
             for p in range(producers)]
    for pr in procs:
        pr.start()
    start.wait(60)
    first = time.monotonic_ns()
    try:
        started = {f[0].decode(): int(f[1]) for f in reports.wait(tasks)}
    except TimeoutError as e:
        errors.append(str(e))
    sent, acked, ack_at = {}, [], {}
    for _ in procs:
        s, a, e, t = out.get(timeout=60)
        sent.update(s)
        ack_at.update(t)
        acked += a
        if e:
            errors.append(e)
    for pr in procs:
        pr.join()
    reports.close()
    if errors:
        raise RuntimeError("; ".join(errors[:3]))
    last = max(started.values())
    seconds = (last - first) / 1e9
    starts = [(started[k] - sent[k]) / 1000.0 for k in started]
    waits = [(started[k] - ack_at[k]) / 1000.0 for k in started]
    acked_s = tasks / ((max(ack_at.values()) - first) / 1e9)
    commits_s = per_commit = float("nan")
    after = log_counters(stats_path)
    if before and after and after[1] > before[1]:
        commits_s = (after[1] - before[1]) / seconds
        per_commit = (after[0] - before[0]) / (after[1] - before[1])
    return tasks / seconds, acked, starts, commits_s, per_commit, waits, acked_s


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def brood_node(c, *extra, spool="spool-brood", env=None):
    """brood's spooler node of these benchmarks: 2 workers and a spooler on c.tmp/`spool` running
    spool_task.py; `extra`: more options; `env`: its whole environment (the cluster's if None)."""
    return c.brood("--master", "--processes", 2, "--spooler", os.path.join(c.tmp, spool),
                   "--module", "spool_task", *extra, env=env)


def base_node(c, base, *extra, env=None):
    """The same spooler node as brood's, run by another build's brood and Python package (the
    `--base` of these benchmarks: A/B against an earlier build in the same run); `env`: more
    environment variables for it."""
    base = os.path.abspath(base)
    saved, c.brood_bin = c.brood_bin, os.path.join(base, "cli", "brood")
    try:
        return brood_node(c, *extra, spool="spool-base",
                          env=dict(c.env, **(env or {}),
                                   PYTHONPATH=os.path.join(base, "python") + ":" + cluster.HERE))
    finally:
        c.brood_bin = saved


def brood_and_base(c, base, *extra):
    """{"brood": brood_node, and "base": base_node when `base` (a build dir) is given}, both with
    the options `extra`."""
    nodes = {"brood": brood_node(c, *extra)}
    if base:
        nodes["base"] = base_node(c, base, *extra)
    return nodes


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--tasks", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--base", help="another build dir whose brood is measured too (base_*)")
    p.add_argument("--spooler-processes", type=int, default=1,
                   help="spooler processes of every node (uWSGI's and brood's spooler-processes)")
    args = p.parse_args(argv)
    sp = ("--spooler-processes", args.spooler_processes)
    cluster.note("spooler: 2 workers + %d spooler process(es) each, spool_task.py, P producer "
                 "processes, a new connection per task, each answer read to EOF, %d tasks per "
                 "run, median of %d runs, nothing pinned; uWSGI with --spooler-frequency 1; "
                 "load average %s" % (args.spooler_processes, args.tasks, args.repeat,
                                      " ".join("%.2f" % x for x in os.getloadavg())))
    with cluster.Cluster(args.build_dir) as c:
        udir = os.path.join(c.tmp, "spool-uwsgi")
        os.makedirs(udir)
        stats = os.path.join(c.tmp, "brood-stats.sock")
        nodes = {
            "brood": brood_node(c, "--stats", stats, *sp),
            "uwsgi": c.uwsgi("--plugin", "spooler", "--spooler", udir, "--spooler-frequency", 1,
                             "--import", "spool_task", *sp, processes=2),
        }
        if args.base:
            bstats = os.path.join(c.tmp, "base-stats.sock")
            nodes["base"] = base_node(c, args.base, "--stats", bstats, *sp)
        stats_of = {"brood": stats, "base": bstats if args.base else None}
        for producers in (1, 8):
            runs = {name: [] for name in nodes}
            for r in range(args.repeat):
                for name, node in nodes.items():
                    path = os.path.join(c.tmp, "report-%s-%d-%d" % (name, producers, r))
                    runs[name].append(run_once(node.address, producers, args.tasks, path,
                                               stats_of.get(name)))
            fig = {}
            for name, rr in runs.items():
                fig[name] = (statistics.median(x[0] for x in rr),
                             statistics.median(pct(x[1], 0.5) for x in rr),
                             statistics.median(pct(x[1], 0.99) for x in rr),
                             statistics.median(pct(x[2], 0.5) for x in rr),
                             statistics.median(pct(x[2], 0.99) for x in rr),
                             statistics.median(x[3] for x in rr),
                             statistics.median(x[4] for x in rr),
                             statistics.median(pct(x[5], 0.5) for x in rr),
                             statistics.median(pct(x[5], 0.99) for x in rr),
                             statistics.median(x[6] for x in rr))
            b, u = fig["brood"], fig["uwsgi"]
            cluster.bench_line(
                "spooler_%dproducers" % producers,
                brood_tasks_s="%.0f" % b[0], uwsgi_tasks_s="%.0f" % u[0],
                ratio="%.2f" % (b[0] / u[0]), target_ratio=">=2.5" if producers == 8 else ">=1",
                brood_enq_p50_us="%.0f" % b[1], brood_enq_p99_us="%.0f" % b[2],
                uwsgi_enq_p50_us="%.0f" % u[1], uwsgi_enq_p99_us="%.0f" % u[2],
                brood_start_p50_us="%.0f" % b[3], brood_start_p99_us="%.0f" % b[4],
                target_start_p99_us="<=5000",
                uwsgi_start_p50_us="%.0f" % u[3], uwsgi_start_p99_us="%.0f" % u[4],
                brood_commits_s="%.0f" % b[5], brood_tasks_per_commit="%.2f" % b[6],
                brood_wait_p50_us="%.0f" % b[7], brood_wait_p99_us="%.0f" % b[8],
                uwsgi_wait_p50_us="%.0f" % u[7], uwsgi_wait_p99_us="%.0f" % u[8],
                brood_acked_s="%.0f" % b[9], uwsgi_acked_s="%.0f" % u[9],
                **({} if "base" not in fig else {
                    "base_tasks_s": "%.0f" % fig["base"][0],
                    "base_enq_p50_us": "%.0f" % fig["base"][1],
                    "base_enq_p99_us": "%.0f" % fig["base"][2],
                    "base_start_p50_us": "%.0f" % fig["base"][3],
                    "base_start_p99_us": "%.0f" % fig["base"][4],
                    "base_commits_s": "%.0f" % fig["base"][5],
                    "base_tasks_per_commit": "%.2f" % fig["base"][6],
                    "base_wait_p99_us": "%.0f" % fig["base"][8],
                    "base_acked_s": "%.0f" % fig["base"][9]}))


if __name__ == "__main__":
    main()
