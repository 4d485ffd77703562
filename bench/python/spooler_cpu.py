"""Where the CPU goes in the spooler benchmark (issue 16): CPU time per task of each node's
processes (master, workers, spooler: user + system, from /proc) and of the producer processes,
brood against real uWSGI 2.0.21 in the same run, with 8 producers (spooler_bench.py's client).
CPU time per task hardly depends on the load of the machine, unlike tasks/s: on 2 vCPUs the sum
(node + client) bounds the tasks/s any run can reach.

    python3 spooler_cpu.py BUILD_DIR [--tasks N] [--producers P] [--base BASE_BUILD_DIR]

Prints "BENCH spooler_cpu_Pproducers SYSTEM_node_us_per_task=... client_us_per_task=..." and the
node's share by process role (SYSTEM_master_, _worker_, _spooler_us_per_task; both nodes run with
--auto-procname to be told apart).
"""
import argparse
import os
import resource

import cluster
import spooler_bench

TICK = os.sysconf("SC_CLK_TCK")


ROLES = ("master", "worker", "spooler")


def role_of(pid, root):
    """The process's role from its title (both nodes run with --auto-procname)."""
    if pid == root:
        return "master"
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            title = f.read().replace(b"\0", b" ").decode(errors="replace").lower()
    except OSError:
        return "other"
    for role in ROLES:
        if role in title:
            return role
    return "other"


def tree(pid):
    """(process id, role, the fields of /proc/PID/stat after the name) of `pid` and of each of
    its live descendants."""
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                todo += [int(x) for x in f.read().split()]
        except OSError:
            continue
        yield p, role_of(p, pid), fields


def tree_cpu(pid):
    """User + system seconds of `pid` and its live descendants (their reaped children too), by
    role (master, worker, spooler, other)."""
    by_role = {}
    for _, role, fields in tree(pid):
        by_role[role] = by_role.get(role, 0.0) + \
            sum(int(x) for x in fields[11:15]) / TICK  # utime stime cutime cstime
    return by_role


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--tasks", type=int, default=2000)
    p.add_argument("--producers", type=int, default=8)
    p.add_argument("--base")
    args = p.parse_args()
    cluster.note("spooler CPU per task: %d tasks, %d producer processes, load average %s" % (
        args.tasks, args.producers, " ".join("%.2f" % x for x in os.getloadavg())))
    with cluster.Cluster(args.build_dir) as c:
        nodes = {
            "brood": spooler_bench.brood_node(c, "--auto-procname"),
            "uwsgi": c.uwsgi("--plugin", "spooler", "--spooler",
                             os.path.join(c.tmp, "spool-uwsgi"), "--spooler-frequency", 1,
                             "--import", "spool_task", "--auto-procname", processes=2),
        }
        os.makedirs(os.path.join(c.tmp, "spool-uwsgi"), exist_ok=True)
        if args.base:
            nodes["base"] = spooler_bench.base_node(c, args.base, "--auto-procname")
        figures = {}
        for name, node in nodes.items():
            before = tree_cpu(node.pid)
            kids = resource.getrusage(resource.RUSAGE_CHILDREN)
            res = spooler_bench.run_once(node.address, args.producers, args.tasks,
                                         os.path.join(c.tmp, "report-" + name))
            after = tree_cpu(node.pid)
            kids2 = resource.getrusage(resource.RUSAGE_CHILDREN)
            client = (kids2.ru_utime + kids2.ru_stime) - (kids.ru_utime + kids.ru_stime)
            figures["%s_tasks_s" % name] = "%.0f" % res[0]
            used = {r: after.get(r, 0.0) - before.get(r, 0.0) for r in after}
            figures["%s_node_us_per_task" % name] = "%.0f" % (
                sum(used.values()) * 1e6 / args.tasks)
            figures["%s_client_us_per_task" % name] = "%.0f" % (client * 1e6 / args.tasks)
            for role in ROLES + ("other",):
                if role in used:
                    figures["%s_%s_us_per_task" % (name, role)] = "%.0f" % (
                        used[role] * 1e6 / args.tasks)
        cluster.bench_line("spooler_cpu_%dproducers" % args.producers, **figures)


if __name__ == "__main__":
    main()
