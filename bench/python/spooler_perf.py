"""Where the spooler process's CPU goes (issue 16): `perf record -g` attached to the spooler
process(es) of a brood node while spooler_bench.py's client enqueues TASKS tasks (P producers),
then `perf report` of those samples by symbol (self time) and by shared object. Also the
spooler's CPU per task from /proc/PID/schedstat over the same run (perf's own cost included:
compare builds within one run of this script, with --base). --role master (or worker): the
same for every thread of the master (the workers) instead.

    python3 spooler_perf.py BUILD_DIR [--tasks N] [--producers P] [--base BASE] [--top K]
        [--spooler-processes N] [--save DIR] [--role spooler|master|worker]

Prints "BENCH spooler_perf_Pproducers SYSTEM_spooler_cpu_us=..." and the top K symbols.
"""
import argparse
import os
import shutil
import signal
import subprocess
import time

import cluster
import spooler_bench
import spooler_strace


def schedstat_ns(tids):
    total = 0
    for t in tids:
        try:
            with open("/proc/%d/schedstat" % t) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def profiled(address, pid, tasks, producers, report, perf_out, role="spooler"):
    tids = spooler_strace.tids(pid, role)
    argv = ["perf", "record", "-g", "-q", "-F", "4999", "-o", perf_out,
            "--tid", ",".join(str(t) for t in tids)]
    pr = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # perf attaches (no readiness signal)
    before = schedstat_ns(tids)
    spooler_bench.run_once(address, producers, tasks, report)
    after = schedstat_ns(tids)
    pr.send_signal(signal.SIGINT)
    pr.wait(timeout=60)
    return (after - before) / 1000.0 / tasks


def report(perf_out, sort, top):
    out = subprocess.run(["perf", "report", "-i", perf_out, "--no-children", "--stdio",
                          "--sort", sort, "-g", "none", "--percent-limit", "0.5"],
                         capture_output=True, text=True).stdout
    lines = [l for l in out.splitlines() if l.strip() and not l.startswith("#")]
    return lines[:top]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--tasks", type=int, default=3000)
    p.add_argument("--producers", type=int, default=8)
    p.add_argument("--base")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--spooler-processes", type=int, default=1)
    p.add_argument("--save", help="copy each perf.data here (perf-SYSTEM.data)")
    p.add_argument("--role", choices=("spooler", "master", "worker"), default="spooler",
                   help="the node's processes to profile (every thread of them)")
    args = p.parse_args(argv)
    sp = ("--spooler-processes", args.spooler_processes, "--auto-procname")
    cluster.note("spooler perf: %d tasks, %d producer process(es), perf record -g on the %s "
                 "process(es); load average %s" % (
                     args.tasks, args.producers, args.role,
                     " ".join("%.2f" % x for x in os.getloadavg())))
    with cluster.Cluster(args.build_dir) as c:
        nodes = spooler_bench.brood_and_base(c, args.base, *sp)
        for name, node in nodes.items():
            spooler_bench.run_once(node.address, args.producers, 500,
                                   os.path.join(c.tmp, "warm.sock"))
            data = os.path.join(c.tmp, "perf-%s.data" % name)
            cpu = profiled(node.address, node.pid, args.tasks, args.producers,
                           os.path.join(c.tmp, "report.sock"), data, args.role)
            print("BENCH spooler_perf_%dproducers %s_%s_cpu_us=%.1f" % (
                args.producers, name, args.role, cpu), flush=True)
            if args.save:
                shutil.copy(data, os.path.join(args.save, os.path.basename(data)))
            for sort in ("dso", "sym"):
                print("-- %s, by %s (self)" % (name, sort))
                for line in report(data, sort, args.top):
                    print(line)


if __name__ == "__main__":
    main()
