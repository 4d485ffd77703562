"""The floor of a durable acknowledgment with one producer (issue 16), measured.

enqueue_floor.cpp is the smallest server that acknowledges a remote enqueue (modifier1 17) only
once the task is durable: one thread, epoll, per task accept, read, a 512-byte record written to a
preallocated, fully written segment and committed (fdatasync, O_DSYNC or O_DIRECT|O_DSYNC), the
spool file written (open, write, close, no fsync, rename), FF 00 00 01, close. The same server with
no commit (floor_none) is what uWSGI does per task. floor_fdatasync_first writes the spool file
before the commit (the answer still after it); floor_fdatasync_late after the answer and the close
(durable when answered, the file recoverable from the record); floor_fdatasync_nofile writes none (the commit
alone). All of them, brood (BUILD_DIR) and real uWSGI
2.0.21's spooler (started as spooler_bench.py starts it) are driven by spooler_bench.py's
one-producer client (a new connection per task, each answer read to EOF), TASKS tasks each, in
ROUNDS rounds whose order rotates, all in the same run.

    python3 enqueue_floor.py BUILD_DIR [--tasks N] [--rounds R] [--place free|same|split]

--place: free = nothing pinned; same = every server and the client on vCPU 0; split = the
servers on vCPU 0, the client on vCPU 1.
Prints "BENCH enqueue_floor_PLACE system=... enq_p50_us enq_p99_us tasks_s" per system (tasks_s:
tasks / the sum of the rounds' spans from the first send to the last answer: acknowledged
throughput, the same for every system; brood and uWSGI also run the tasks meanwhile) and the
ratios floor_durable / uwsgi (each commit mode) and floor_none / uwsgi, brood / uwsgi.
"""
import argparse
import multiprocessing
import os
import shutil
import time

import cluster
import spooler_bench
import start_report

MODES = ("none", "fdatasync", "dsync", "direct", "fdatasync:first", "fdatasync:late",
         "fdatasync:nofile")


def run_round(address, tasks, report_path, cpus):
    """One producer process sends `tasks` tasks; returns (ack latencies us, span s). With a
    report path, the tasks' start reports are drained meanwhile (brood's and uWSGI's tasks)."""
    reports = start_report.Reports(report_path) if report_path else None
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    tag = "%x" % time.monotonic_ns()

    def body():
        if cpus is not None:
            os.sched_setaffinity(0, cpus)
        spooler_bench.producer(address, 0, 1, tasks, tag,
                               reports.path if reports else "/nonexistent", out)
    pr = ctx.Process(target=body)
    pr.start()
    sent, acked, error, _ = out.get(timeout=300)
    pr.join()
    if reports:
        reports.close()
    if error:
        raise RuntimeError("%s: %s" % (address, error))
    order = sorted(sent.values())
    span = (order[-1] + acked[-1] * 1000 - order[0]) / 1e9
    return acked, span


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--tasks", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--place", choices=("free", "same", "split"), default="free")
    args = p.parse_args(argv)
    server_cpus = None if args.place == "free" else {0}
    client_cpus = {"free": None, "same": {0}, "split": {1}}[args.place]
    load = "/".join("%.2f" % x for x in os.getloadavg())
    with cluster.Cluster(args.build_dir) as c:
        binary = cluster.floor_binary(c.build, "enqueue_floor")
        nodes, spools = {}, {}
        for spec in MODES:
            m, _, order = spec.partition(":")
            key = "floor_" + m + ("_" + order if order else "")
            d = os.path.join(c.tmp, "spool-" + key)
            os.makedirs(d)
            spools[key] = d
            pr = c.start(key, [binary, "127.0.0.1", m, os.path.join(c.tmp, "segment-" + key), d,
                               order or "after"], server_cpus)
            pr.address = pr.wait_for(r"listening on (\S+)", timeout=120).group(1)
            nodes[key] = pr
        udir = os.path.join(c.tmp, "spool-uwsgi")
        os.makedirs(udir)
        nodes["brood"] = c.brood("--master", "--processes", 2, "--spooler",
                                 os.path.join(c.tmp, "spool-brood"), "--module", "spool_task",
                                 cpus=server_cpus)
        nodes["uwsgi"] = c.uwsgi("--plugin", "spooler", "--spooler", udir,
                                 "--spooler-frequency", 1, "--import", "spool_task",
                                 processes=2, cpus=server_cpus)
        if server_cpus is not None:
            for n in nodes.values():
                n.pin(server_cpus)
        lat = {k: [] for k in nodes}
        span = {k: 0.0 for k in nodes}
        names = list(nodes)
        per_round = max(1, args.tasks // args.rounds)
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            if r % 2:
                order.reverse()
            for k in order:
                report = None if k.startswith("floor_") else os.path.join(c.tmp, "r.sock")
                a, s = run_round(nodes[k].address, per_round, report, client_cpus)
                lat[k] += a
                span[k] += s
                if k in spools:  # the floor runs no task: its files are emptied between rounds
                    shutil.rmtree(spools[k])
                    os.makedirs(spools[k])
    fig = {}
    for k in names:
        fig[k] = (spooler_bench.pct(lat[k], 0.5), spooler_bench.pct(lat[k], 0.99),
                  len(lat[k]) / span[k])
        cluster.bench_line("enqueue_floor_%s" % args.place, system=k,
                           enq_p50_us="%.0f" % fig[k][0], enq_p99_us="%.0f" % fig[k][1],
                           tasks_s="%.0f" % fig[k][2])
    u = fig["uwsgi"][2]
    ratios = {"%s_over_uwsgi" % k: "%.2f" % (fig[k][2] / u) for k in names if k != "uwsgi"}
    cluster.bench_line("enqueue_floor_%s_ratios" % args.place, tasks=per_round * args.rounds,
                       rounds=args.rounds, load="%s->%s" % (
                           load, "/".join("%.2f" % x for x in os.getloadavg())), **ratios)


if __name__ == "__main__":
    main()
