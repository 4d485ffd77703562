"""System calls per task on the enqueue path (issue 16): `strace -c -f` attached to every thread
of a node's processes (master, workers, spooler) while spooler_bench.py's client enqueues TASKS
tasks, brood (and, with --base, another build's brood; with --uwsgi, real uWSGI 2.0.21) on the
same client. strace slows every call down: the counts mean something, the times do not.

    python3 spooler_strace.py BUILD_DIR [--tasks N] [--producers P] [--base BASE] [--uwsgi]
        [--spooler-processes N] [--role ROLE]

--role spooler (master, worker) traces only the processes of that role (spooler_cpu.role_of).

Prints "BENCH spooler_strace_Pproducers SYSTEM_calls_per_task=... futex=... getpid=..." and the
ten most frequent calls per task.
"""
import argparse
import os
import re
import signal
import subprocess
import time

import cluster
import spooler_bench
import spooler_cpu


def tids(pid, role=None):
    """Every thread of `pid` and of its descendants (of the processes of `role` only if given)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            if role is None or spooler_cpu.role_of(p, pid) == role:
                out += [int(t) for t in os.listdir("/proc/%d/task" % p)]
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def traced(address, pid, tasks, producers, report, strace_out, role=None):
    argv = ["strace", "-c", "-f", "-o", strace_out]
    for t in tids(pid, role):
        argv += ["-p", str(t)]
    st = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # strace attaches (no readiness signal): counts start a little late at worst
    spooler_bench.run_once(address, producers, tasks, report)
    st.send_signal(signal.SIGINT)
    st.wait(timeout=30)
    calls = {}
    with open(strace_out) as f:
        for line in f:
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
            if m and m.group(2) != "total":
                calls[m.group(2)] = int(m.group(1))
    return calls


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--tasks", type=int, default=500)
    p.add_argument("--producers", type=int, default=1)
    p.add_argument("--base")
    p.add_argument("--uwsgi", action="store_true")
    p.add_argument("--spooler-processes", type=int, default=1)
    p.add_argument("--role", choices=("master", "worker", "spooler"))
    args = p.parse_args(argv)
    sp = ("--spooler-processes", args.spooler_processes) + (("--auto-procname",) if args.role else ())
    cluster.note("spooler system calls: %d tasks, %d producer process(es), %d spooler process(es), "
                 "strace -c -f on every thread of the node's %s; load average %s" % (
                     args.tasks, args.producers, args.spooler_processes,
                     args.role + " processes" if args.role else "processes",
                     " ".join("%.2f" % x for x in os.getloadavg())))
    with cluster.Cluster(args.build_dir) as c:
        nodes = spooler_bench.brood_and_base(c, args.base, *sp)
        if args.uwsgi:
            udir = os.path.join(c.tmp, "spool-uwsgi")
            os.makedirs(udir)
            nodes["uwsgi"] = c.uwsgi("--plugin", "spooler", "--spooler", udir,
                                     "--spooler-frequency", 1, "--import", "spool_task",
                                     *sp, processes=2)
        for name, node in nodes.items():
            spooler_bench.run_once(node.address, args.producers, 200,
                                   os.path.join(c.tmp, "warm.sock"))
            calls = traced(node.address, node.pid, args.tasks, args.producers,
                           os.path.join(c.tmp, "report.sock"),
                           os.path.join(c.tmp, "strace-%s.txt" % name), args.role)
            total = sum(calls.values())
            top = sorted(calls.items(), key=lambda kv: -kv[1])[:10]
            print("BENCH spooler_strace_%dproducers %s_calls_per_task=%.1f futex=%.2f getpid=%.2f "
                  "fdatasync=%.2f top=%s" % (
                      args.producers, name, total / args.tasks,
                      calls.get("futex", 0) / args.tasks, calls.get("getpid", 0) / args.tasks,
                      calls.get("fdatasync", 0) / args.tasks,
                      ",".join("%s:%.2f" % (k, v / args.tasks) for k, v in top)), flush=True)


if __name__ == "__main__":
    main()
