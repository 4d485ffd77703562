"""Where an acknowledged task waits before the spooler starts it (issue 16): brood's node only,
spooler_bench.py's client (P producers, a new connection per task), with a task that also
reports when its spool file was written (spool_stage_task.py). Per run:

  ack_to_file_p50/p99   the answer read by the client -> the spool file's ctime (its rename to its name; the file is
                        written by the master after it answers; ctime is coarse, a few ms)
  file_to_start_p50/p99 the file's ctime -> the task's start in the spooler (the pick-up and the
                        spooler's backlog)
  ack_to_start_p50/p99  the sum
  max_gap_us, gaps_over_2ms_ms  the longest time between two task starts while the second was
                        already acknowledged (work waiting), and the sum of those over 2 ms
                        (the spooler stalled: blocked or not scheduled), out of busy_ms
  ROLE_cpu_us, ROLE_runq_us  per task, by process role (master, worker, spooler; every thread):
                        CPU time and time spent runnable waiting for a CPU (/proc/PID/task/TID/
                        schedstat), i.e. CPU starvation

    python3 spooler_stages.py BUILD_DIR [--tasks N] [--producers P] [--repeat R]
        [--spooler-processes N]
"""
import argparse
import os

import cluster
import spooler_bench
import spooler_cpu
import start_report


def sched_by_role(root):
    """{role: [cpu ns, runqueue wait ns]} over every thread of `root` and its descendants."""
    out, todo = {}, [root]
    while todo:
        p = todo.pop()
        try:
            role = spooler_cpu.role_of(p, root)
            acc = out.setdefault(role, [0, 0])
            for tid in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/schedstat" % (p, tid)) as f:
                    run, wait = f.read().split()[:2]
                acc[0] += int(run)
                acc[1] += int(wait)
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def pids_by_role(root):
    """{role: [pid, ...]} of `root` and its descendants (for perf -p)."""
    out, todo = {}, [root]
    while todo:
        p = todo.pop()
        out.setdefault(spooler_cpu.role_of(p, root), []).append(p)
        try:
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def run_stages(address, producers, tasks, report_path):
    reports = start_report.Reports(report_path)
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    tag = "s%x" % os.getpid()
    procs = [ctx.Process(target=spooler_bench.producer,
                         args=(address, p, producers, tasks, tag, reports.path, out))
             for p in range(producers)]
    for pr in procs:
        pr.start()
    seen = {f[0].decode(): (int(f[1]), int(f[2])) for f in reports.wait(tasks)}
    ack_at = {}
    for _ in procs:
        _s, _a, e, t = out.get(timeout=60)
        if e:
            raise RuntimeError(e)
        ack_at.update(t)
    for pr in procs:
        pr.join()
    reports.close()
    a2f = [(seen[k][1] - ack_at[k]) / 1000.0 for k in seen]
    f2s = [(seen[k][0] - seen[k][1]) / 1000.0 for k in seen]
    a2s = [(seen[k][0] - ack_at[k]) / 1000.0 for k in seen]
    # Gaps between two starts while the next task was already acknowledged (work was waiting).
    order = sorted((v[0], ack_at[k]) for k, v in seen.items())
    gaps = [(b[0] - a[0]) / 1000.0 for a, b in zip(order, order[1:]) if b[1] < a[0]]
    return a2f, f2s, a2s, gaps


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--tasks", type=int, default=2000)
    p.add_argument("--producers", type=int, default=8)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--spooler-processes", type=int, default=1)
    args = p.parse_args()
    cluster.note("spooler stages: %d tasks, %d producers, %d spooler process(es), load %s" % (
        args.tasks, args.producers, args.spooler_processes,
        " ".join("%.2f" % x for x in os.getloadavg())))
    with cluster.Cluster(args.build_dir) as c:
        node = c.brood("--master", "--processes", 2, "--spooler", os.path.join(c.tmp, "spool"),
                       "--module", "spool_stage_task", "--auto-procname",
                       "--spooler-processes", args.spooler_processes)
        pids = pids_by_role(node.pid)
        cluster.note("pids by role: %s" % pids)
        for r in range(args.repeat):
            before = sched_by_role(node.pid)
            a2f, f2s, a2s, gaps = run_stages(node.address, args.producers, args.tasks,
                                       os.path.join(c.tmp, "report-%d" % r))
            after = sched_by_role(node.pid)
            fig = {}
            for name, v in (("ack_to_file", a2f), ("file_to_start", f2s), ("ack_to_start", a2s)):
                fig[name + "_p50_us"] = "%.0f" % spooler_bench.pct(v, 0.5)
                fig[name + "_p99_us"] = "%.0f" % spooler_bench.pct(v, 0.99)
            fig["max_gap_us"] = "%.0f" % max(gaps)
            fig["gaps_over_2ms_ms"] = "%.1f" % (sum(g for g in gaps if g > 2000) / 1000.0)
            fig["busy_ms"] = "%.0f" % (sum(gaps) / 1000.0)
            for role in ("master", "worker", "spooler"):
                b, a = before.get(role, [0, 0]), after.get(role, [0, 0])
                fig[role + "_cpu_us"] = "%.0f" % ((a[0] - b[0]) / 1000.0 / args.tasks)
                fig[role + "_runq_us"] = "%.0f" % ((a[1] - b[1]) / 1000.0 / args.tasks)
            fig["load"] = "%.2f" % os.getloadavg()[0]
            cluster.bench_line("spooler_stages_%dproducers" % args.producers, **fig)


if __name__ == "__main__":
    main()
