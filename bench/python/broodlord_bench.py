"""Benchmark of issue 12: broodlord and zerg mode, brood's emperor against real uWSGI 2.0.21's,
the same vassal file, the same app and the same load, measured in the same run.

Both systems: an emperor on a directory holding one vassal file, with at most 5 zergs and its
stats on a unix socket:
  brood:  brood --emperor DIR --emperor-broodlord 5 --emperor-stats STATS
  uWSGI:  uwsgi --emperor DIR --emperor-broodlord 5 --emperor-stats STATS
The vassal file (byte for byte the same for both; brood accepts `plugins = python3`):
  [uwsgi]                              [zerg]
  plugins = python3                    plugins = python3
  socket = 127.0.0.1:PORT              zerg = TMP/zerg.sock
  master = true                        master = true
  processes = 1                        processes = 1
  vassal-sos-backlog = 3               pythonpath = bench/python
  zerg-server = TMP/zerg.sock          module = pid_app
  pythonpath = bench/python            idle = 10
  module = pid_app                     die-on-idle = true
PORT lies below the kernel's ephemeral range (no client connection can take it). pid_app.py:
each request sleeps 1 s and answers "PID START": its os.getpid() and the wall-clock time it
began handling the request, so the client knows which process answered and when it took the
request (same machine, same clock).
Before the load, one request checks the vassal answers; the vassal's processes (its master, from
the emperor stats, and every process below it) are "the vassal's"; any other answering pid is a
zerg's. The load starts after a random pause of 1-2 s (so at a random phase of uWSGI's 1 s
master cycle, whose checks send the SOS).

Load: 8 closed-loop clients (Python threads), each sending one uwsgi-protocol GET (modifier1 0)
on a NEW connection, reading the reply until EOF (30 s timeout), recording latency, the answering
pid and success (HTTP 200 and a pid as body), and starting again at once, for --seconds (20);
then 0 clients (the requests in flight finish). With one worker and 1 s requests, 7 of 8
connections wait in the listen queue: the backlog (3) is exceeded from the first second.
A sampler thread reads the emperor stats every 100 ms from the load start until every zerg is
gone (at most idle + 30 s after the load): zergs = vassals flagged "zerg" (or named "...:zerg").

Figures per system (times in seconds, from the client's view):
  t_zerg_listed  load start -> first sample listing a zerg
  t_first_zerg   load start -> the first request a zerg's worker began handling (the app's
                 START; target <= 0.5). A zerg's first answer arrives 1 s (the request) later:
  t_first_zerg_answer  load start -> the first answer from a zerg's pid received by a client
                 (the issue's "first zerg answered", 1.25-1.87 s for uWSGI)
  zerg_starts    the times (from the load start) a new zerg pid first showed in the stats
  zergs          distinct zerg pids seen in the stats; max_alive the most listed at once;
                 zerg_answer_pids the distinct answering pids that are not the vassal's
  t_gone         load end -> first sample with no zerg listed and every zerg process (the
                 listed masters and the answering zerg pids) exited (target <= idle + 2 = 12)
  p50/p99        latency of the requests of the load; zerg_share the share answered by zergs
  failed         requests that failed (error, reset, refused, timeout, non-200; target 0)
The systems run one after the other (never at the same time: each zerg is a Python interpreter,
and the machine is small); nothing is pinned: every process on any vCPU as the OS places it.

    python3 broodlord_bench.py BUILD_DIR [--systems brood,uwsgi] [--seconds 20] [--repeat 1]

Prints "BENCH py_broodlord ..." per run and "BENCH py_broodlord_pair ..." per repetition (the
two systems side by side, with the targets). This process is a child subreaper: every emperor,
vassal and zerg is killed (SIGKILL) and reaped after each run, even the orphaned ones; all waits
are bounded. Exit status 1 if a system failed to run (its error is printed).
"""
import argparse
import json
import os
import random
import shutil
import socket
import sys
import tempfile
import threading
import time

import cluster
from emperor_cluster import become_subreaper, descendants, exited, free_ports, kill_tree


def fmt(value, digits=2):
    return cluster.fmt(value, digits)


BROODLORD = 5
BACKLOG = 3
IDLE = 10
CLIENTS = 8
SAMPLE_PERIOD = 0.1
REQUEST_TIMEOUT = 30.0
GONE_TIMEOUT = IDLE + 30.0  # the sampler gives up this long after the load end
TARGETS = {"t_first_zerg": 0.5, "t_gone": IDLE + 2.0, "failed": 0}

VASSAL = """[uwsgi]
plugins = python3
socket = 127.0.0.1:{port}
master = true
processes = 1
vassal-sos-backlog = {backlog}
zerg-server = {zerg}
pythonpath = {here}
module = pid_app

[zerg]
plugins = python3
zerg = {zerg}
master = true
processes = 1
pythonpath = {here}
module = pid_app
idle = {idle}
die-on-idle = true
"""


def stats_doc(path, timeout=2.0):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        doc = cluster.read_to_eof(s)
    return json.loads(doc.decode("utf-8", "replace"), strict=False)


def parse_answer(status, body):
    """(pid, wall-clock start) from pid_app's answer "PID START", or None."""
    parts = body.split()
    if status != 200 or len(parts) != 2 or not parts[0].isdigit():
        return None
    try:
        return int(parts[0]), float(parts[1])
    except ValueError:
        return None


def is_zerg(v):
    return bool(v.get("zerg")) or ":zerg" in str(v.get("id", ""))




class Emperor:
    """One emperor (brood's or uWSGI's) over a fresh directory holding the one vassal file."""

    def __init__(self, c, system, tag):
        self.system = system
        self.tmp = tempfile.mkdtemp(prefix="%s-" % tag, dir=c.tmp)
        self.dir = os.path.join(self.tmp, "vassals")
        os.mkdir(self.dir)
        self.port = free_ports(1)[0]
        self.address = "127.0.0.1:%d" % self.port
        self.stats = os.path.join(self.tmp, "emperor-stats.sock")
        with open(os.path.join(self.dir, "app.ini"), "w") as f:
            f.write(VASSAL.format(port=self.port, backlog=BACKLOG, idle=IDLE, here=cluster.HERE,
                                  zerg=os.path.join(self.tmp, "zerg.sock")))
        program = [c.brood_bin] if system == "brood" else ["uwsgi"]
        self.proc = c.start("%s-emperor" % system, [
            *program, "--emperor", self.dir, "--emperor-broodlord", BROODLORD,
            "--emperor-stats", self.stats])
        self.base = set()

    def fail(self, what):
        raise RuntimeError("%s: %s (emperor exit %s); its log:\n%s" % (
            self.system, what, self.proc.proc.poll(), self.proc.output()[-4000:]))

    def wait_ready(self, timeout=30.0):
        """Until the vassal is listed and answers one request; sets `base`, the vassal's pids."""
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline and self.proc.proc.poll() is None:
            try:
                vassals = [v for v in stats_doc(self.stats).get("vassals", [])
                           if not is_zerg(v) and v.get("pid", 0) > 0]
                if vassals:
                    status, body = cluster.uwsgi_get(self.address, "/", 5.0)
                    answer = parse_answer(status, body)
                    if answer:
                        master = vassals[0]["pid"]
                        self.base = {master} | descendants(master)
                        if answer[0] not in self.base:
                            cluster.note("%s: the warm-up answer came from pid %d, not from the "
                                         "vassal's %s" % (self.system, answer[0],
                                                          sorted(self.base)))
                            self.base.add(answer[0])
                        return
                    last = "answer %d %r" % (status, body[:80])
                else:
                    last = "no vassal listed"
            except (OSError, ValueError, IndexError) as e:
                last = repr(e)
            time.sleep(0.1)
        self.fail("the vassal did not answer within %.0f s (%s)" % (timeout, last))

    def stop(self):
        """SIGKILL for the emperor and every process below this one; reaps them all."""
        kill_tree(self.proc, self.system)


class Run:
    """The load against one emperor's vassal, and the sampler of its emperor stats."""

    def __init__(self, emp, seconds):
        self.emp, self.seconds = emp, seconds
        # (t_start, t_end, ok, pid or None, error kind or None, t the app began handling it)
        self.requests = []
        self.samples = []  # (t, [(id, pid) of each zerg listed])
        self.zerg_pids = {}  # zerg pid (from the stats) -> t first seen
        self.sample_errors = 0
        self.lock = threading.Lock()
        self.t0 = self.t0_wall = None
        self.gone_at = None

    def client(self):
        while time.monotonic() - self.t0 < self.seconds:
            start = time.monotonic()
            pid, began = None, None
            status, body, kind = cluster.try_uwsgi_get(self.emp.address, "/", REQUEST_TIMEOUT)
            answer = parse_answer(status, body) if kind is None else None
            ok = answer is not None
            if ok:
                pid, began = answer[0], answer[1] - self.t0_wall
            elif kind is None:
                kind = "status_%d" % status
            end = time.monotonic()
            with self.lock:
                self.requests.append((start - self.t0, end - self.t0, ok, pid, kind, began))

    def zerg_processes(self):
        with self.lock:
            answered = {r[3] for r in self.requests if r[2] and r[3] not in self.emp.base}
        return set(self.zerg_pids) | answered

    def sampler(self, clients_done):
        k = 0
        while True:
            due = self.t0 + k * SAMPLE_PERIOD
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            t = time.monotonic() - self.t0
            try:
                doc = stats_doc(self.emp.stats)
                zergs = [(v.get("id"), v.get("pid", 0)) for v in doc.get("vassals", [])
                         if is_zerg(v)]
                self.samples.append((t, zergs))
                for _, pid in zergs:
                    if pid > 0 and pid not in self.zerg_pids:
                        self.zerg_pids[pid] = t
            except (OSError, ValueError):
                self.sample_errors += 1
                zergs = None
            if t >= self.seconds and clients_done.is_set():
                seen = self.zerg_processes()
                if zergs == [] and all(exited(p) for p in seen):
                    if seen:
                        self.gone_at = t
                    return
                if t > self.seconds + GONE_TIMEOUT:
                    return
            if self.emp.proc.proc.poll() is not None:
                return
            k = max(k + 1, int((time.monotonic() - self.t0) / SAMPLE_PERIOD))

    def run(self):
        self.t0, self.t0_wall = time.monotonic(), time.time()
        clients = [threading.Thread(target=self.client, daemon=True) for _ in range(CLIENTS)]
        clients_done = threading.Event()
        sampler = threading.Thread(target=self.sampler, args=(clients_done,), daemon=True)
        for th in clients + [sampler]:
            th.start()
        deadline = self.t0 + self.seconds + REQUEST_TIMEOUT + 5
        for th in clients:
            th.join(max(0.0, deadline - time.monotonic()))
        if any(th.is_alive() for th in clients):
            cluster.note("%s: clients still running at the deadline" % self.emp.system)
        clients_done.set()
        sampler.join(self.seconds + GONE_TIMEOUT + REQUEST_TIMEOUT + 10)

    def figures(self):
        base = self.emp.base
        ok = [r for r in self.requests if r[2]]
        zerg_answers = [r for r in ok if r[3] not in base]
        lat = sorted(r[1] - r[0] for r in ok)
        failed = [r for r in self.requests if not r[2]]
        kinds = {}
        for r in failed:
            kinds[r[4]] = kinds.get(r[4], 0) + 1
        listed = [t for t, zergs in self.samples if zergs]
        starts = sorted(self.zerg_pids.values())
        return {
            "t_zerg_listed": listed[0] if listed else None,
            "t_first_zerg": min((r[5] for r in zerg_answers), default=None),
            "t_first_zerg_answer": min((r[1] for r in zerg_answers), default=None),
            "zerg_starts": "/".join("%.1f" % t for t in starts) or "-",
            "zergs": len(self.zerg_pids),
            "max_alive": max((len(z) for _, z in self.samples), default=0),
            "zerg_answer_pids": len({r[3] for r in zerg_answers}),
            "t_gone": self.gone_at - self.seconds if self.gone_at is not None else None,
            "p50_ms": cluster.percentile(lat, 50) * 1e3 if lat else None,
            "p99_ms": cluster.percentile(lat, 99) * 1e3 if lat else None,
            "requests": len(self.requests),
            "zerg_share": "%.2f" % (len(zerg_answers) / len(ok)) if ok else "n/a",
            "failed": len(failed),
            "failed_kinds": "/".join("%s:%d" % kv for kv in sorted(kinds.items())) or "-",
            "samples": len(self.samples), "sample_errors": self.sample_errors,
        }


def run_system(c, system, seconds, rep):
    emp = Emperor(c, system, "%s-%d" % (system, rep))
    try:
        emp.wait_ready()
        # The load starts at a random phase of uWSGI's 1 s master cycle (whose checks send the
        # SOS): its timer restarts with the warm-up request's events.
        time.sleep(random.uniform(1.0, 2.0))
        run = Run(emp, seconds)
        run.run()
        return run.figures()
    finally:
        emp.stop()


def meets(f):
    if not f:
        return "n/a"
    miss = [k for k, limit in TARGETS.items() if f[k] is None or f[k] > limit]
    return "all" if not miss else "missed:" + ",".join(miss)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir", nargs="?", default="build")
    p.add_argument("--systems", default="brood,uwsgi")
    p.add_argument("--seconds", type=float, default=20.0, help="load duration (default 20)")
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args(argv)
    systems = [s for s in args.systems.split(",") if s]
    bad = [s for s in systems if s not in ("brood", "uwsgi")]
    if bad or not systems:
        p.error("--systems: %s not in brood,uwsgi" % (",".join(bad) or "nothing"))
    if "uwsgi" in systems and not shutil.which("uwsgi"):
        p.error("uwsgi is not installed (Debian uwsgi-core, uwsgi-plugin-python3)")
    become_subreaper()

    cluster.note(
        "py_broodlord: emperor-broodlord %d, one vassal (master, processes 1, vassal-sos-backlog "
        "%d, zerg-server) whose [zerg] stanza has master, processes 1, idle %d, die-on-idle; "
        "pid_app.py (1 s per request, answers its pid); %d closed-loop clients, a new connection "
        "per request, for %.0f s, then none; emperor stats sampled every %d ms; the systems run "
        "one after the other, nothing pinned; uWSGI %s" % (
            BROODLORD, BACKLOG, IDLE, CLIENTS, args.seconds, SAMPLE_PERIOD * 1000,
            "2.0 from PATH" if "uwsgi" in systems else "not run"))
    status = 0
    with cluster.Cluster(args.build_dir) as c:
        for rep in range(args.repeat):
            results = {}
            for system in systems:
                try:
                    f = run_system(c, system, args.seconds, rep)
                except RuntimeError as e:
                    print("# %s failed: %s" % (system, e), flush=True)
                    status = 1
                    continue
                results[system] = f
                cluster.bench_line(
                    "py_broodlord", system=system, run=rep + 1,
                    t_zerg_listed_s=fmt(f["t_zerg_listed"]),
                    t_first_zerg_s=fmt(f["t_first_zerg"]),
                    t_first_zerg_answer_s=fmt(f["t_first_zerg_answer"]),
                    zerg_starts_s=f["zerg_starts"],
                    zergs=f["zergs"], max_alive=f["max_alive"],
                    zerg_answer_pids=f["zerg_answer_pids"], t_gone_s=fmt(f["t_gone"]),
                    p50_ms=fmt(f["p50_ms"], 0), p99_ms=fmt(f["p99_ms"], 0),
                    requests=f["requests"], zerg_share=f["zerg_share"], failed=f["failed"],
                    failed_kinds=f["failed_kinds"], samples=f["samples"],
                    sample_errors=f["sample_errors"])
            if len(systems) > 1:
                figs = {}
                for key, digits in (("t_first_zerg", 2), ("t_first_zerg_answer", 2), ("zergs", 0),
                                    ("max_alive", 0), ("t_gone", 2), ("p50_ms", 0),
                                    ("p99_ms", 0), ("failed", 0)):
                    for name in ("brood", "uwsgi"):
                        f = results.get(name)
                        figs["%s_%s" % (name, key)] = fmt(f[key], digits) if f else "n/a"
                cluster.bench_line(
                    "py_broodlord_pair", run=rep + 1, concurrent="no", **figs,
                    target="t_first_zerg<=%.1f,t_gone<=%.0f,failed=%d" % (
                        TARGETS["t_first_zerg"], TARGETS["t_gone"], TARGETS["failed"]),
                    brood_meets=meets(results.get("brood")))
    return status


if __name__ == "__main__":
    sys.exit(main())
