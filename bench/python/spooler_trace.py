"""Where one producer's enqueue round trip goes (issue 16): a trace of the system calls and
scheduler events of the client and the node's processes (perf record -p, raw_syscalls + sched)
while one client enqueues tasks one after another onto a brood node (2 workers + 1 spooler
process, spooler_bench.py's node and task), split into the steps of the critical path of each task:

  connect        client connect() entered -> a worker's accept4() returned the connection
  read           accept4 -> the worker's send of the record to the master's log thread
  to_master      that send -> the log thread's epoll_wait returned (its wake-up)
  stage          the log thread's wake-up -> its fdatasync entered (recv, stage, pwrite)
  sync           fdatasync entered -> returned
  answer         fdatasync returned -> the log thread's send of the answer entered (to the
                 worker, or to the client itself when the worker handed the connection over)
  to_worker      that send -> the worker's epoll_wait returned (its wake-up; not with a hand-over)
  reply          the worker's wake-up -> its reply to the client sent (not with a hand-over)
  to_client      the reply sent -> the client's recv returned end of file
  client         end of file -> the client's next connect() (close, Python, the next task's
                 vars block, socket())

and, per step, how often the two ends ran on different CPUs (a wake-up of an idle vCPU is the
costly kind here). CPU per task: spooler_cpu.py. Needs root (perf, tracefs).

    python3 spooler_trace.py BUILD_DIR [--tasks N] [--warm-up N] [--base BASE_BUILD_DIR]

Prints "BENCH spooler_trace_1producer SYSTEM_STEP_p50_us=..." per build.
"""
import argparse
import collections
import os
import re
import subprocess
import time

import cluster
import spooler_bench
import start_report

NR = {"connect": 42, "accept4": 288, "sendto": 44, "sendmsg": 46, "write": 1, "writev": 20,
      "recvfrom": 45, "epoll_wait": 232, "epoll_pwait": 281, "fdatasync": 75, "close": 3}
SENDS = {NR["sendto"], NR["sendmsg"], NR["write"], NR["writev"]}
WAITS = {NR["epoll_wait"], NR["epoll_pwait"], 441}
STEPS = ("connect", "read", "to_master", "stage", "sync", "answer", "to_worker", "reply",
         "to_client", "client")
OPTIONAL = ("to_worker", "reply")
LINE = re.compile(r"^\s*(\S.*?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s+(.*)$")


def children(pid):
    out = []
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        return out
    for k in kids:
        out.append(k)
        out += children(k)
    return out


def role(pid, master):
    if pid == master:
        return "master"
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            title = f.read().decode(errors="replace").lower()
    except OSError:
        return "other"
    return "spooler" if "spooler" in title else "worker" if "worker" in title else "other"


def events(data):
    """(time us, pid, tid, cpu, kind, nr or None, ret or None, text) from perf script."""
    out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,pid,tid,cpu,time,event,trace"],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        _, pid, tid, cpu, t, ev, rest = m.groups()
        nr = ret = None
        if ev.startswith("raw_syscalls"):
            mm = re.match(r"NR (\d+)(?: = (-?\d+))?", rest)
            if not mm:
                continue
            nr = int(mm.group(1))
            ret = int(mm.group(2)) if mm.group(2) is not None else None
            ev = "exit" if "sys_exit" in ev else "enter"
        yield float(t) * 1e6, int(pid), int(tid), int(cpu), ev, nr, ret, rest


def analyse(data, client, master, roles, tasks):
    """Per task: the milestones of the critical path, in order (see the module's text)."""
    evs = list(events(data))
    log_tid = None
    for t, pid, tid, cpu, ev, nr, ret, _ in evs:
        if pid == master and ev == "enter" and nr == NR["fdatasync"]:
            log_tid = tid
            break
    # Tasks start at the client's connect() entries.
    starts = [i for i, e in enumerate(evs)
              if e[2] == client and e[4] == "enter" and e[5] == NR["connect"]]
    steps = collections.defaultdict(list)
    cross = collections.Counter()
    for a, b in zip(starts, starts[1:]):
        window = evs[a:b + 1]
        ms = [("start", window[0][0], window[0][3])]
        worker = None

        def find(pred, after):
            for e in window:
                if e[0] >= after and pred(e):
                    return e
            return None
        e = find(lambda e: roles.get(e[1]) == "worker" and e[4] == "exit" and
                 e[5] == NR["accept4"] and e[6] is not None and e[6] >= 0, ms[-1][1])
        if not e:
            continue
        worker = e[2]
        ms.append(("connect", e[0], e[3]))
        plan = [
            ("read", lambda e: e[2] == worker and e[4] == "enter" and e[5] in SENDS),
            ("to_master", lambda e: e[2] == log_tid and e[4] == "exit" and e[5] in WAITS),
            ("stage", lambda e: e[2] == log_tid and e[4] == "enter" and e[5] == NR["fdatasync"]),
            ("sync", lambda e: e[2] == log_tid and e[4] == "exit" and e[5] == NR["fdatasync"]),
            ("answer", lambda e: e[2] == log_tid and e[4] == "enter" and e[5] in SENDS),
            ("to_worker", lambda e: e[2] == worker and e[4] == "exit" and e[5] in WAITS),
            ("reply", lambda e: e[2] == worker and e[4] == "enter" and e[5] in SENDS),
            ("to_client", lambda e: e[2] == client and e[4] == "exit" and
             e[5] == NR["recvfrom"] and e[6] == 0),
        ]
        ok = True
        eof = find(plan[-1][1], ms[-1][1])
        for name, pred in plan:
            e = find(pred, ms[-1][1])
            if name in OPTIONAL and (not e or not eof or e[0] > eof[0]):
                continue  # the log thread answered the client itself (no worker wake-up)
            if not e:
                ok = False
                break
            ms.append((name, e[0], e[3]))
        if not ok:
            continue
        ms.append(("client", evs[b][0], evs[b][3]))
        for (_, t0, c0), (name, t1, c1) in zip(ms, ms[1:]):
            steps[name].append(t1 - t0)
            cross[name] += c0 != c1
        steps["total"].append(ms[-1][1] - ms[0][1])
    return steps, cross, len(starts) - 1


def trace_node(c, build, tasks, warm, label, keep=None):
    env = dict(c.env, PYTHONPATH=os.path.join(os.path.abspath(build), "python") + ":" +
               cluster.HERE)
    saved, c.brood_bin = c.brood_bin, os.path.join(os.path.abspath(build), "cli", "brood")
    try:
        node = c.brood("--master", "--processes", 2, "--spooler",
                       os.path.join(c.tmp, "spool-" + label), "--module", "spool_task",
                       "--auto-procname", env=env)
    finally:
        c.brood_bin = saved
    master = node.proc.pid
    roles = {p: role(p, master) for p in [master] + children(master)}
    host, port = node.address.rsplit(":", 1)
    report = os.path.join(c.tmp, "report-" + label)
    reports = start_report.Reports(report)
    block = lambda i: cluster._vars_block({"id": "%s-%d" % (label, i), "report": reports.path,
                                          "pad": "x" * 64})
    for i in range(warm):
        spooler_bench.enqueue(host, int(port), block(i))
    data = os.path.join(c.tmp, "perf-%s.data" % label)
    pids = ",".join(str(x) for x in [os.getpid()] + sorted(roles))
    perf = subprocess.Popen(["perf", "record", "-q", "-p", pids, "-o", data, "-e",
                             "raw_syscalls:sys_enter,raw_syscalls:sys_exit,sched:sched_switch,"
                             "sched:sched_wakeup"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # perf's start-up
    t0 = time.monotonic()
    for i in range(warm, warm + tasks):
        spooler_bench.enqueue(host, int(port), block(i))
    wall = time.monotonic() - t0
    try:
        reports.wait(warm + tasks, quiet_s=10)
    except TimeoutError:
        pass  # the trace shows how far the tasks got
    perf.send_signal(2)
    perf.wait()
    reports.close()
    node.stop()
    if keep:
        os.replace(data, os.path.join(keep, "perf-%s.data" % label))
        data = os.path.join(keep, "perf-%s.data" % label)
        cluster.note("%s: perf data %s, client %d, master %d, roles %s" % (
            label, data, os.getpid(), master, roles))
    return analyse(data, os.getpid(), master, roles, tasks), tasks / wall


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--tasks", type=int, default=500)
    p.add_argument("--warm-up", type=int, default=300)
    p.add_argument("--base")
    p.add_argument("--keep", help="a dir to keep the perf data in (and print the pids)")
    args = p.parse_args()
    builds = [("brood", args.build_dir)] + ([("base", args.base)] if args.base else [])
    cluster.note("spooler trace: 1 producer (this process), %d tasks traced after %d, perf "
                 "record -p (raw_syscalls, sched); load average %s" % (
                     args.tasks, args.warm_up, " ".join("%.2f" % x for x in os.getloadavg())))
    with cluster.Cluster(args.build_dir) as c:
        for label, build in builds:
            (steps, cross, n), rate = trace_node(c, build, args.tasks, args.warm_up, label,
                                                      args.keep)
            fig = {"tasks_traced": len(steps["total"]), "tasks_s_traced": "%.0f" % rate}
            for s in STEPS + ("total",):
                v = sorted(steps[s])
                if v:
                    fig["%s_p50_us" % s] = "%.0f" % v[len(v) // 2]
                    if s != "total":
                        fig["%s_cross_cpu" % s] = "%.2f" % (cross[s] / len(v))
            cluster.bench_line("spooler_trace_1producer_" + label, **fig)


if __name__ == "__main__":
    main()
