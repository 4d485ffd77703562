"""Where each task's enqueue-to-start time goes with 8 producers (issue 16): a diagnostic, not a
benchmark. It needs a brood built with spooler_split.patch applied (a trace of each task's times
in the node: the worker's enqueue, the log thread's round, staging, commit and file write, written
where BROOD_DEBUG_TRACE names; the patch is not for main):

    git apply bench/python/spooler_split.patch   # in a scratch copy of the tree, then build it
    cd bench/python; python3 spooler_split.py SCRATCH_BUILD_DIR [--runs N] [--roles master=5,...]

Runs spooler_bench.py's 8-producer run N times on one node (2 workers, 1 spooler process) and
prints per run: tasks/s and start p50/p99 (as spooler_bench.py), each segment's p99 and max
(the client's connect and send, the worker's enqueue, the log thread's round, its commit, the
file written, the task's start), which segment dominates each of the 20 slowest tasks, the log
thread's rounds (commit, answers, files: p50/p90/p99 µs), and the 20 slowest tasks' timelines
(ms from the run's first send). --roles renices the node's processes by role (master, worker,
spooler) before the runs. The first run of a fresh node fills its file pool: read it apart.
"""
import argparse
import inspect
import os
import struct
import subprocess
import time

import cluster
import spooler_bench as sb


def _instrument():
    """spooler_bench's producer and run_once, with the client's connect and send times and each
    task's times kept (sb.LAST)."""
    def enqueue_timed(host, port, vars_block, tid, sent):
        with __import__("socket").create_connection((host, port), 10.0) as s:
            sent[tid + "#c"] = time.monotonic_ns()
            s.sendall(struct.pack("<BHB", 17, len(vars_block), 0) + vars_block)
            sent[tid + "#s"] = time.monotonic_ns()
            answer = cluster.read_to_eof(s)
        if answer != sb.ACK:
            raise RuntimeError("answer %r" % answer)
    sb.enqueue_timed = enqueue_timed
    for fn, old, new in (
            (sb.producer, "enqueue(host, int(port), block)",
             "enqueue_timed(host, int(port), block, tid, sent)"),
            (sb.run_once, "return tasks / seconds,",
             "global LAST; LAST = (started, sent, ack_at)\n    return tasks / seconds,")):
        src = inspect.getsource(fn)
        if old not in src:
            raise SystemExit("spooler_bench.%s changed: update spooler_split.py" % fn.__name__)
        exec(src.replace(old, new), sb.__dict__)  # pylint: disable=exec-used


def renice(pid, roles):
    kids = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()

    def title(p):
        return open("/proc/%s/cmdline" % p, "rb").read().replace(b"\0", b" ").decode().lower()
    for role, pids in (("master", [str(pid)]),
                       ("spooler", [k for k in kids if "spooler" in title(k)]),
                       ("worker", [k for k in kids if "worker" in title(k)])):
        for p in pids if role in roles else ():
            for t in os.listdir("/proc/%s/task" % p):
                subprocess.run(["renice", "-n", roles[role], "-p", t], stdout=subprocess.DEVNULL,
                               check=True)


def read_trace(path):
    """{id: (written, staged, round, committed)} of the log thread, {id: enqueue} of the workers,
    the rounds (start, committed, answered, files written, files)."""
    log, worker, rounds = {}, {}, []
    for line in open(path):
        f = line.split()
        log[f[0]] = tuple(int(x) for x in f[1:5])
    for line in open(path + ".w"):
        f = line.split()
        worker[f[0]] = int(f[1])
    for line in open(path + ".r"):
        rounds.append([int(x) for x in line.split()])
    return log, worker, rounds


def report(r, x, trace):
    st = sorted(x[2])
    started, sent, ack = sb.LAST
    log, worker, rounds = read_trace(trace)
    t0 = min(v for k, v in sent.items() if "#" not in k)
    points = (("send", sent), ("connected", {k: sent[k + "#c"] for k in started}),
              ("sent", {k: sent[k + "#s"] for k in started}), ("worker", worker),
              ("round", {k: v[2] for k, v in log.items()}),
              ("committed", {k: v[3] for k, v in log.items()}), ("ack", ack),
              ("written", {k: v[0] for k, v in log.items()}), ("start", started))
    segs = [("%s>%s" % (a[0], b[0]), a[1], b[1]) for a, b in
            zip(points[:6] + points[7:8], points[1:6] + points[7:9])]
    worst = sorted(started, key=lambda k: sent[k] - started[k])[:20]
    figures, dominant = [], {}
    for name, a, b in segs:
        v = sorted((b[k] - a[k]) / 1e3 for k in started if k in a and k in b)
        figures.append("%s p99 %.0f max %.0f" % (name, sb.pct(v, 0.99), v[-1]))
    for k in worst:
        name = max(segs, key=lambda s: s[2].get(k, 0) - s[1].get(k, 0))[0]
        dominant[name] = dominant.get(name, 0) + 1
    print("run %d tasks_s %.0f start p50 %.0f p99 %.0f max %.0f | %s | slowest 20 by segment %s" % (
        r, x[0], sb.pct(st, 0.5), sb.pct(st, 0.99), st[-1], " | ".join(figures), dominant))
    lo, hi = t0, max(started.values())
    rounds = [x for x in rounds if lo <= x[0] <= hi and x[4] > 0]
    for name, a, b in (("commit", 0, 1), ("answers", 1, 2), ("files", 2, 3), ("round", 0, 3)):
        v = sorted((x[b] - x[a]) / 1e3 for x in rounds)
        print("   log thread %-7s p50 %5.0f p90 %5.0f p99 %5.0f us (%d rounds, %.1f tasks each)" % (
            name, sb.pct(v, 0.5), sb.pct(v, 0.9), sb.pct(v, 0.99), len(rounds),
            sum(x[4] for x in rounds) / max(1, len(rounds))))
    print("   slowest 20, ms from the first send: " + "/".join(p[0] for p in points))
    for k in worst:
        print("      " + "/".join("%.1f" % ((p[1].get(k, t0) - t0) / 1e6) for p in points))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--tasks", type=int, default=2000)
    p.add_argument("--roles", default="", help="nice values by role, e.g. master=5,worker=3")
    args = p.parse_args()
    _instrument()
    with cluster.Cluster(args.build_dir) as c:
        trace = os.path.join(c.tmp, "split-trace")
        node = c.brood("--master", "--processes", 2, "--spooler", os.path.join(c.tmp, "spool"),
                       "--module", "spool_task", "--auto-procname",
                       env=dict(c.env, BROOD_DEBUG_TRACE=trace))
        if args.roles:
            renice(node.pid, dict(kv.split("=") for kv in args.roles.split(",")))
        for r in range(args.runs):
            for f in (trace, trace + ".w", trace + ".r"):
                open(f, "w").close()
            x = sb.run_once(node.address, 8, args.tasks, os.path.join(c.tmp, "report-%d" % r))
            report(r, x, trace)


if __name__ == "__main__":
    main()
