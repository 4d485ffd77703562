"""The floor of the server side's CPU per task with eight producers (issue 16), measured.

spool_floor8.cpp is the smallest implementation of the per-task work issue 16 requires, as two
processes: a server (epoll, accept4, the uwsgi packet read, a 512-byte record appended to a
preallocated, fully written log segment, one fdatasync per batch of every connection ready at
once, FF 00 00 01 and close, then each task's spool file written without fsync) and a spooler
(inotify IN_MOVED_TO, open, OFD lock, read, spool_task.py's task in C: one line with the start
time appended to the report file, then the file renamed into a pool dir or unlinked, close). Two file methods: floor_pool (a
pooled already allocated file pwritten and renamed into the spool dir; the spooler renames done
files back into the pool) and floor_create (open O_CREAT + write + rename; the spooler unlinks).
floor_tcp is neither durable nor a spooler: the server alone answers and closes, then runs the
task itself (no record, no commit, no file): what any server spends on this client's TCP
connections plus the task's report.
Both, brood (BUILD_DIR: 2 workers, 1 spooler process, spool_task.py) and real uWSGI 2.0.21
(started as spooler_cpu.py starts it) are driven by spooler_bench.py's client in the same run
(P producer processes, a new connection per task, each answer read to EOF), TASKS tasks per run,
REPEAT runs per system in a rotating order. Nothing is pinned.

    python3 spool_floor8.py BUILD_DIR [--tasks N] [--repeat R] [--producers P]
                            [--systems floor_pool,...,uwsgi] [--pause SECONDS] [--one-session]
                            [--floor-servers N [--floor-shared]]

--pause idles before each round: ext4 without a journal makes each new inode skip the inodes
deleted in the last 60 s (300 s while their inode-table block is dirty), which is what moves
floor_create's and uWSGI's CPU per task (bench/RESULTS.md, issue 16, 20:42).

CPU per task as spooler_cpu.py measures it: user + system time of each node process from /proc
(by role), the producer processes' from getrusage(RUSAGE_CHILDREN); harness_us_per_task is this
process's own (it reads every task's start report, as spooler_bench.py's does), not in the
bound but in bound_with_harness_tasks_s = 2e6 / (node + client + harness). Prints per system (median of
the runs) "BENCH spool_floor8 system=... tasks_s node_us_per_task client_us_per_task
bound_tasks_s bound_over_uwsgi ..." where bound_tasks_s = 2e6 / (node + client) (the 2 vCPUs'
CPU-seconds per second over the CPU per task) and bound_over_uwsgi = that bound / uWSGI's measured
tasks/s (the median of its runs); then "BENCH spool_floor8_summary" with the best durable
floor's bound over uWSGI's median and over its best run, floor_tcp's, and the client-only bound
(2e6 / client: no server CPU at all). Each run's start_p50/p99 (a task's send to its start) and
wait_p99 (its acknowledgment to its start) are printed as spooler_bench.py defines them; for
floor_tcp the start is the server's report after its answer (no commit, no file, no spooler):
the tail this client and machine give any server.
"""
import argparse
import os
import re
import resource
import shlex
import statistics
import time

import cluster
import spooler_bench
import spooler_cpu

METHODS = ("pool", "create", "tcp")
SYSTEMS = tuple("floor_" + m for m in METHODS) + ("brood", "uwsgi")


class Floor:
    """One floor: its spooler process and its server process."""

    def __init__(self, c, binary, method, one_session=False, servers=1, shared=False):
        d, pool = (os.path.join(c.tmp, x + "-" + method) for x in ("spool", "pool"))
        os.makedirs(d)
        os.makedirs(pool)
        self.spooler = None
        server = [binary, "server", "127.0.0.1", os.path.join(c.tmp, "segment-" + method), d,
                  pool, method]
        spooler = [binary, "spooler", d, pool, method]
        env = dict(c.env, FLOOR_SERVERS=str(servers), FLOOR_SHARED="1" if shared else "0")
        if method != "tcp" and one_session:
            # The spooler is the server's child, in its session (one scheduler autogroup, as a
            # brood node's processes): sh starts it, then becomes the server.
            self.server = c.start("floor-" + method, ["sh", "-c", "%s & exec %s" % (
                shlex.join(spooler), shlex.join(server))], env=env)
            self.server.wait_for(r"watching")
        else:
            if method != "tcp":
                self.spooler = c.start("floor-spooler-" + method, spooler)
                self.spooler.wait_for(r"watching")
            self.server = c.start("floor-server-" + method, server, env=env)
        self.address = self.server.wait_for(r"listening on (\S+)", timeout=120).group(1)

    def cpu(self):
        by_role = spooler_cpu.tree_cpu(self.server.pid)  # the spooler's title names its role
        used = {"server": by_role.get("master", 0.0) + by_role.get("other", 0.0)}
        if self.spooler:
            by_role = spooler_cpu.tree_cpu(self.spooler.pid)
            used["spooler"] = sum(by_role.values())
        elif "spooler" in by_role:
            used["spooler"] = by_role["spooler"]
        return used

    def per_commit(self):
        m = list(re.finditer(r"tasks (\d+) commits (\d+) created (\d+)",
                                           self.server.output()))
        if not m:
            return "nan", "0"
        t, k, f = (int(x) for x in m[-1].groups())
        return "%.2f" % (t / k), str(f)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--tasks", type=int, default=6000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--producers", type=int, default=8)
    p.add_argument("--systems", default=",".join(SYSTEMS),
                   help="which of %s to run (the summary needs all)" % ",".join(SYSTEMS))
    p.add_argument("--pause", type=float, default=0.0,
                   help="seconds of idling before each round (files deleted longer ago than "
                   "ext4's no-journal window no longer slow new inodes)")
    p.add_argument("--one-session", action="store_true",
                   help="each floor's spooler process in its server's session (one scheduler "
                   "autogroup for the floor, as for a brood or uWSGI node) instead of its own")
    p.add_argument("--floor-servers", type=int, default=1,
                   help="server processes per floor, accepting from one listening socket, each "
                   "committing its own segment (as node workers that commit their own logs)")
    p.add_argument("--floor-shared", action="store_true",
                   help="with --floor-servers N: the servers append to one segment and commit it "
                   "together (one sync covers every server's records written before it)")
    args = p.parse_args(argv)
    want = args.systems.split(",")
    load = "/".join("%.2f" % x for x in os.getloadavg())
    cluster.note("spool_floor8: %d tasks per run, %d producers, %d runs per system, nothing "
                 "pinned, load average %s" % (args.tasks, args.producers, args.repeat, load))
    with cluster.Cluster(args.build_dir) as c:
        binary = cluster.floor_binary(c.build, "spool_floor8")
        nodes = {"floor_" + m: Floor(c, binary, m, args.one_session, args.floor_servers,
                                     args.floor_shared)
                 for m in METHODS if "floor_" + m in want}
        if "brood" in want:
            nodes["brood"] = spooler_bench.brood_node(c, "--auto-procname")
        if "uwsgi" in want:
            nodes["uwsgi"] = c.uwsgi("--plugin", "spooler", "--spooler",
                                     os.path.join(c.tmp, "spool-uwsgi"), "--spooler-frequency",
                                     1, "--import", "spool_task", "--auto-procname",
                                     processes=2)

        def cpu(node):
            if isinstance(node, Floor):
                return node.cpu()
            return spooler_cpu.tree_cpu(node.pid)

        runs = {k: [] for k in nodes}
        names = list(nodes)
        for r in range(args.repeat):
            time.sleep(args.pause)
            for name in names[r % len(names):] + names[:r % len(names)]:
                node = nodes[name]
                before = cpu(node)
                kids = resource.getrusage(resource.RUSAGE_CHILDREN)
                me = resource.getrusage(resource.RUSAGE_SELF)
                res = spooler_bench.run_once(node.address, args.producers, args.tasks,
                                             os.path.join(c.tmp, "report-" + name))
                after = cpu(node)
                kids2 = resource.getrusage(resource.RUSAGE_CHILDREN)
                me2 = resource.getrusage(resource.RUSAGE_SELF)
                client = (kids2.ru_utime + kids2.ru_stime) - (kids.ru_utime + kids.ru_stime)
                harness = (me2.ru_utime + me2.ru_stime) - (me.ru_utime + me.ru_stime)
                roles = {k: (after[k] - before.get(k, 0.0)) * 1e6 / args.tasks for k in after}
                run = {"tasks_s": res[0], "start_p50_us": spooler_bench.pct(res[2], 0.5),
                       "start_p99_us": spooler_bench.pct(res[2], 0.99),
                       "wait_p99_us": spooler_bench.pct(res[5], 0.99),
                       "node_us_per_task": sum(roles.values()),
                       "client_us_per_task": client * 1e6 / args.tasks,
                       "harness_us_per_task": harness * 1e6 / args.tasks}
                run.update({"%s_us_per_task" % k: v for k, v in roles.items()})
                runs[name].append(run)
                cluster.note("run %d %s %s" % (r, name, " ".join(
                    "%s=%.0f" % kv for kv in run.items())))
        extra = {k: nodes[k].per_commit() for k in nodes if k.startswith("floor_")}
    med = {k: {f: statistics.median(x.get(f, 0.0) for x in rr) for f in rr[0]}
           for k, rr in runs.items()}
    u = med["uwsgi"]["tasks_s"] if "uwsgi" in med else float("nan")
    best = None
    for k, m in med.items():
        bound = 2e6 / (m["node_us_per_task"] + m["client_us_per_task"])
        fig = {f: "%.0f" % v for f, v in m.items()}
        if k in extra:
            fig["tasks_per_commit"], fig["files_created"] = extra[k]
        full = 2e6 / (m["node_us_per_task"] + m["client_us_per_task"] +
                      m["harness_us_per_task"])
        cluster.bench_line("spool_floor8", system=k, **fig, bound_tasks_s="%.0f" % bound,
                           bound_over_uwsgi="%.2f" % (bound / u),
                           bound_with_harness_tasks_s="%.0f" % full)
        if k in ("floor_pool", "floor_create") and (best is None or bound > best[1]):
            best = (k, bound)
    if set(med) != set(SYSTEMS):
        return
    client = min(m["client_us_per_task"] for m in med.values())
    ubest = max(x["tasks_s"] for x in runs["uwsgi"])
    tcp = med["floor_tcp"]
    tcp_bound = 2e6 / (tcp["node_us_per_task"] + tcp["client_us_per_task"])
    cluster.bench_line("spool_floor8_summary", uwsgi_tasks_s="%.0f" % u,
                       uwsgi_best_run_tasks_s="%.0f" % ubest, best_floor=best[0],
                       best_floor_bound_tasks_s="%.0f" % best[1],
                       best_floor_bound_over_uwsgi="%.2f" % (best[1] / u),
                       best_floor_bound_over_uwsgi_best_run="%.2f" % (best[1] / ubest),
                       tcp_only_bound_over_uwsgi="%.2f" % (tcp_bound / u),
                       tcp_only_bound_over_uwsgi_best_run="%.2f" % (tcp_bound / ubest),
                       brood_measured_over_uwsgi="%.2f" % (med["brood"]["tasks_s"] / u),
                       client_only_bound_tasks_s="%.0f" % (2e6 / client),
                       client_only_bound_over_uwsgi="%.2f" % (2e6 / client / u), tasks=args.tasks,
                       runs=args.repeat, load="%s->%s" % (
                           load, "/".join("%.2f" % x for x in os.getloadavg())))


if __name__ == "__main__":
    main()
