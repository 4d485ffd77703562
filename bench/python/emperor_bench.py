"""Benchmark of issue 5: the emperor, brood against real uWSGI 2.0, measured in the same run.

Each system runs its emperor with default options (emperor-freq 3) on a directory of vassal files:
  brood:  brood --emperor DIR, vassals "[uwsgi] socket = 127.0.0.1:PORT, processes = 1"
  uWSGI:  uwsgi --emperor DIR, vassals "[uwsgi] plugin = ping, socket = 127.0.0.1:PORT,
          master = true, processes = 1"
Every vassal port lies below the kernel's ephemeral range, so no client connection can take it.
The client is the same for both: a uwsgi ping (modifier1 100, header 64 00 00 00) on a fresh
connection, answered by 64 00 00 01. The emperor's output, with its vassals', goes to a log file
that a thread tails every 2 ms, stamping each line with the time it was read. Nothing is pinned.

Figures (times from the client's view):
  startup_N     N vassal files exist before the emperor starts; time from the emperor's start
                until all N vassals answer a ping (median of R runs). N = 20 and 200.
  touch_reload  with 20 vassals running, after a random pause of 0-3 s (so that the touch
                falls at a random phase of uWSGI's 3 s scan), one vassal file's mtime is set 2 s
                later; time until the vassal logs its completed reload (brood: the vassal
                master's "workers reloaded (reload N)"; uWSGI: the emperor's "[emperor] vassal
                X.ini is ready to accept requests", sent by the new worker 1 once it accepts;
                uWSGI logs "has been spawned" only once per vassal, not after a reload). Median
                and max over K different vassals.
  reload_pings  during each of those reloads, a thread pings the touched vassal in a loop (fresh
                connection, 2 s timeout, 5 ms pause between pings so that the client does not
                take the CPU from the reload) from the touch until 0.5 s after the reload
                completed: pings ok / failed, summed over the K reloads.
  delete_stop   after a random pause of 0-3 s, a vassal file is removed; time until its port
                refuses connections (p50/max) and until every process that held its listening
                socket has exited (gone_*, a zombie counts as exited). Median and max over K
                different vassals.

    python3 emperor_bench.py BUILD_DIR [--repeat R] [--reloads K] [--only brood|uwsgi]

Prints "BENCH emperor_..." lines (--only: one system's raw figures, no BENCH line). Each emperor
runs in its own session with PR_SET_PDEATHSIG (cluster.Process); this process is a child
subreaper, so every vassal process is killed and reaped here even when its emperor dies first.
"""
import argparse
import os
import random
import shutil
import statistics
import tempfile
import threading
import time

import cluster
from emperor_cluster import (SYSTEMS, Emperor, become_subreaper, descendants, exited,
                             listeners, ping, refuses)



def touch_reload(emp, i, timeout=15.0):
    """Moves vassal i's mtime 2 s on while a thread pings it; returns (seconds to the reload
    line, pings ok, pings failed)."""
    port, counts, done = emp.ports[i], [0, 0], threading.Event()

    def pinger():
        while not done.is_set():
            counts[0 if ping(port, 2.0) else 1] += 1
            time.sleep(0.005)

    st = os.stat(emp.path(i))
    thread = threading.Thread(target=pinger)
    touched = time.monotonic()
    thread.start()
    os.utime(emp.path(i), (st.st_atime, st.st_mtime + 2.0))
    reloaded = emp.tail.wait(SYSTEMS[emp.system]["reloaded"](emp.names[i]), touched, timeout)
    time.sleep(0.5)
    done.set()
    thread.join()
    if reloaded is None:
        raise RuntimeError("%s: %s did not report a reload within %.0f s:\n%s" % (
            emp.system, emp.names[i], timeout, emp.proc.output()[-3000:]))
    return reloaded - touched, counts[0], counts[1]


def delete_stop(emp, i, timeout=15.0):
    """Removes vassal i's file; returns (seconds until its port refuses connections, seconds
    until every process holding its listening socket has exited)."""
    port = emp.ports[i]
    pids = listeners(port, descendants(emp.proc.pid) | descendants(os.getpid()))
    if not pids:
        raise RuntimeError("%s: no process holds the socket of %s" % (emp.system, emp.names[i]))
    removed = time.monotonic()
    os.unlink(emp.path(i))
    refused = gone = None
    while refused is None or gone is None:
        now = time.monotonic()
        if now - removed > timeout:
            raise RuntimeError("%s: %s still %s %.0f s after its file was removed:\n%s" % (
                emp.system, emp.names[i], "answers" if refused is None else "has processes",
                timeout, emp.proc.output()[-3000:]))
        if refused is None and refuses(port):
            refused = now - removed
        if gone is None and all(exited(p) for p in pids):
            gone = now - removed
        time.sleep(0.002)
    return refused, gone


def command(system, build_dir):
    """The emperor's program for `system`."""
    if system == "uwsgi":
        if not shutil.which("uwsgi"):
            raise RuntimeError("uwsgi is not installed (Debian uwsgi-core)")
        return ["uwsgi"]
    brood = os.path.join(os.path.abspath(build_dir), "cli", "brood")
    if not os.access(brood, os.X_OK):
        raise RuntimeError("no brood binary at %s" % brood)
    return [brood]


def run_systems(commands, tmp, args):
    """All figures: {system: {figure: value}}. The start-up runs alternate between the systems
    (uWSGI, brood, uWSGI, ...) so that a change in the machine's load hits both alike."""
    fig = {system: {} for system in commands}
    for n in (200, 20):
        times = {system: [] for system in commands}
        for r in range(args.repeat):
            for system, argv in commands.items():
                emp = Emperor(system, argv, tmp, n)
                try:
                    times[system].append(emp.wait_all_answer(60.0))
                    if n == 20 and r == args.repeat - 1:
                        fig[system].update(run_changes(emp, args.reloads))
                finally:
                    emp.stop()
        for system, runs in times.items():
            fig[system]["startup_%d" % n] = statistics.median(runs)
            cluster.note("%s startup_%d runs: %s ms" % (system, n, " ".join(ms(t) for t in runs)))
    return fig


def run_changes(emp, k):
    """Touch and delete figures on a running emperor with 20 vassals. A random pause (0-3 s, the
    same sequence for both systems) comes before each change, so that the changes fall at random
    phases of a periodic scan instead of in step with the previous change."""
    pauses = random.Random(5)
    reloads, stops = [], []
    for i in range(k):
        time.sleep(pauses.uniform(0.0, 3.0))
        reloads.append(touch_reload(emp, i))
    for i in range(k):
        time.sleep(pauses.uniform(0.0, 3.0))
        stops.append(delete_stop(emp, k + i))
    return {
        "reload": [r[0] for r in reloads],
        "pings_ok": sum(r[1] for r in reloads),
        "pings_failed": sum(r[2] for r in reloads),
        "refused": [s[0] for s in stops],
        "gone": [s[1] for s in stops],
    }


def ms(x):
    return "%.0f" % (x * 1000.0)


def report(fig, args):
    b, u = fig["brood"], fig["uwsgi"]
    for n in (20, 200):
        key = "startup_%d" % n
        cluster.bench_line("emperor_startup_%d" % n, brood_ms=ms(b[key]), uwsgi_ms=ms(u[key]),
                           ratio="%.2f" % (b[key] / u[key]), target_ratio="<=0.5")
    med = {s: statistics.median(fig[s]["reload"]) for s in fig}
    cluster.bench_line("emperor_touch_reload", brood_p50_ms=ms(med["brood"]),
                       brood_max_ms=ms(max(b["reload"])), uwsgi_p50_ms=ms(med["uwsgi"]),
                       uwsgi_max_ms=ms(max(u["reload"])),
                       ratio="%.3f" % (med["brood"] / med["uwsgi"]),
                       target_brood_ms="<=300", reloads=args.reloads)
    cluster.bench_line("emperor_reload_pings", brood_ok=b["pings_ok"],
                       brood_failed=b["pings_failed"], uwsgi_ok=u["pings_ok"],
                       uwsgi_failed=u["pings_failed"], ratio="none", target_brood_failed=0)
    med = {s: statistics.median(fig[s]["refused"]) for s in fig}
    cluster.bench_line("emperor_delete_stop", brood_p50_ms=ms(med["brood"]),
                       brood_max_ms=ms(max(b["refused"])), uwsgi_p50_ms=ms(med["uwsgi"]),
                       uwsgi_max_ms=ms(max(u["refused"])),
                       ratio="%.3f" % (med["brood"] / med["uwsgi"]), target_brood_ms="<=300",
                       brood_gone_p50_ms=ms(statistics.median(b["gone"])),
                       brood_gone_max_ms=ms(max(b["gone"])),
                       uwsgi_gone_p50_ms=ms(statistics.median(u["gone"])),
                       uwsgi_gone_max_ms=ms(max(u["gone"])), deletes=args.reloads)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--repeat", type=int, default=3, help="start-up runs per N (median)")
    p.add_argument("--reloads", type=int, default=5, help="touches and deletes per system")
    p.add_argument("--only", choices=sorted(SYSTEMS), help="run one system (no BENCH lines)")
    args = p.parse_args(argv)
    if 2 * args.reloads > 20:
        p.error("--reloads is at most 10 (20 vassals: K touched, K removed)")
    cluster.note("emperor: default options (emperor-freq 3), vassals with 1 process on loopback, "
                 "client uwsgi ping on fresh connections, start-up median of %d runs, %d touches "
                 "and %d deletes per system, nothing pinned; uWSGI vassals: plugin ping, master"
                 % (args.repeat, args.reloads, args.reloads))
    become_subreaper()
    systems = [args.only] if args.only else ["uwsgi", "brood"]
    commands = {s: command(s, args.build_dir) for s in systems}
    tmp = tempfile.mkdtemp(prefix="brood-emperor-bench-")
    try:
        fig = run_systems(commands, tmp, args)
        if args.only:
            cluster.note("%r" % fig)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.only:
        report(fig, args)


if __name__ == "__main__":
    main()
