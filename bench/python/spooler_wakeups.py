"""Wake-ups and CPU per task of each role of brood's node in the 8-producer spooler benchmark
(issue 16): context switches (voluntary: the thread slept; involuntary: it was preempted) and
CPU (user + system) per task of the master, workers and spooler, with the start p50/p99 and the
ack-to-start wait p99 of each run. Several configurations (a build and environment variables)
run in one invocation, round after round alternating, so that they meet the same load.

    python3 spooler_wakeups.py --config NAME=BUILD_DIR[,VAR=VALUE...] ... [--rounds R]
                                 [--tasks N] [--producers P]

Prints one line per configuration and round, then "BENCH spooler_wakeups NAME_..." with the
medians over the rounds.
"""
import argparse
import os
import statistics

import cluster
import spooler_bench
import spooler_cpu

TICK = os.sysconf("SC_CLK_TCK")


def tree_counts(pid):
    """Per role: [cpu seconds, voluntary switches, involuntary switches] of `pid` and its
    descendants (every thread)."""
    out = {}
    for p, role, fields in spooler_cpu.tree(pid):
        acc = out.setdefault(role, [0.0, 0, 0])
        acc[0] += sum(int(x) for x in fields[11:13]) / TICK
        try:
            for t in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/status" % (p, t)) as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches"):
                            acc[1] += int(line.split()[1])
                        elif line.startswith("nonvoluntary_ctxt_switches"):
                            acc[2] += int(line.split()[1])
        except OSError:
            pass
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", action="append", required=True)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--tasks", type=int, default=2000)
    p.add_argument("--producers", type=int, default=8)
    args = p.parse_args()
    cluster.note("spooler wake-ups: %d tasks, %d producers, load average %s" % (
        args.tasks, args.producers, " ".join("%.2f" % x for x in os.getloadavg())))
    configs = []
    for spec in args.config:
        name, rest = spec.split("=", 1)
        build, *envs = rest.split(",")
        configs.append((name, os.path.abspath(build), dict(e.split("=", 1) for e in envs)))
    with cluster.Cluster(configs[0][1]) as c:
        nodes = {}
        for name, build, env in configs:
            if build == configs[0][1]:
                nodes[name] = c.brood("--master", "--processes", 2, "--spooler",
                                      os.path.join(c.tmp, "spool-" + name), "--module",
                                      "spool_task", "--auto-procname", env=dict(c.env, **env))
            else:
                nodes[name] = spooler_bench.base_node(c, build, "--auto-procname", env=env)
        res = {name: [] for name, _, _ in configs}
        for r in range(args.rounds):
            for name, _, _ in configs:
                node = nodes[name]
                before = tree_counts(node.pid)
                x = spooler_bench.run_once(node.address, args.producers, args.tasks,
                                           os.path.join(c.tmp, "rep-%s-%d" % (name, r)))
                after = tree_counts(node.pid)
                st, w = sorted(x[2]), sorted(x[5])
                row = {"tasks_s": x[0], "p50": spooler_bench.pct(st, .5),
                       "p99": spooler_bench.pct(st, .99), "wait_p99": spooler_bench.pct(w, .99)}
                for role in ("master", "worker", "spooler"):
                    a, b = after.get(role, [0, 0, 0]), before.get(role, [0, 0, 0])
                    row[role + "_us"] = (a[0] - b[0]) * 1e6 / args.tasks
                    row[role + "_vcs"] = (a[1] - b[1]) / args.tasks
                    row[role + "_ics"] = (a[2] - b[2]) / args.tasks
                res[name].append(row)
                print("%s round %d load %.2f: " % (name, r, os.getloadavg()[0]) + " ".join(
                    "%s=%.2f" % (k, v) if k.endswith("cs") else "%s=%.0f" % (k, v)
                    for k, v in row.items()), flush=True)
        figures = {}
        for name, rows in res.items():
            for k in rows[0]:
                med = statistics.median(r[k] for r in rows)
                figures["%s_%s" % (name, k)] = ("%.2f" if k.endswith("cs") else "%.0f") % med
        cluster.bench_line("spooler_wakeups_%dproducers" % args.producers, **figures)


if __name__ == "__main__":
    main()
