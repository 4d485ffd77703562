"""Benchmark of issue 14 (fork server): how long a new vassal takes from the emperor's decision to
its first answered request, and how much memory 20 vassals take, when the vassal is forked from a
preloaded base (brood's fork server, "adopted") against exec'd vassals of the same app (brood's
emperor exec'ing brood; real uWSGI 2.0.21's emperor exec'ing uWSGI), measured in the same run.

Systems (one emperor each, all three running at once on their own vassal directories):
  adopted  brood --emperor DIR --emperor-use-fork-server SOCK --vassal-fork-base base.ini, with
           base.ini = "fork-server = SOCK, module = APP, pythonpath = ..." (the base imports the
           app once; it is started and ready before the first timed vassal)
  brood    brood --emperor DIR (every vassal exec'd)
  uwsgi    uwsgi --plugin python3 --emperor DIR --emperor-freq 1 (every vassal exec'd)
The vassal file is the same for adopted and brood: "socket = 127.0.0.1:PORT, master = true,
processes = 1, module = APP, pythonpath = ..." (an adopted vassal finds APP already imported);
uWSGI's adds "plugin = python3" and "disable-logging = true".
Apps (bench/python): trivial = hello_app.py; numpy = heavy_app.py (numpy and a heavy stdlib
import set, ~0.2-0.3 s to import); slow = slow_import_app.py (its import sleeps 2 s).

One run: a vassal file is renamed into the emperor's directory (a new port each time), then a
client polls the port every 0.5 ms with a uwsgi GET (the same client for all) until the answer
is 200: poll_client.c (--client c, the default; started and waiting before the rename, told to
begin right after it, it reports CLOCK_MONOTONIC when it read the answer), or this process itself (--client
python, the client before session 13: ~90 us of CPU per poll on this machine, against a few for
the C one, on the 2 vCPUs the adoption runs on). Figures per app and system, p50/p90 over R runs (the runs alternate between systems):
  file_ms   from the rename to the first answer: what a user sees. uWSGI's emperor scans its
            directory once per emperor-freq (1 s here), so its file_ms includes 0-1 s of waiting
            for the scan; brood's emperor wakes on inotify.
  spawn_ms  from the moment the vassal's process appears as the emperor's child (polled with the
            port, /proc/EMPEROR/task/*/children) to the first answer: the exec'd systems' time
            from the emperor's decision, without the directory scan. For adopted vassals (forked
            by the base, not the emperor) there is none: their file_ms is the upper bound.
The vassals stay up after their run; with R = 20 (the default) each emperor then holds 20 vassals
of the app, and the proportional set size (Pss of /proc/PID/smaps_rollup) is summed over every
process below each emperor (vassal masters and workers, and the base for adopted; not the
emperor): pss_mb.
For adopted vassals, also from /proc (less sensitive to other work on the machine than file_ms):
the new vassal's time on CPU until its first answer, its master's since the request (the spare
it was, /proc/PID/schedstat read before the rename) plus its worker's since its fork (cpu_p50_ms,
split in master_cpu_p50_ms and worker_cpu_p50_ms), their minor page faults (faults_p50) and their
time spent waiting for a CPU (wait_p50_ms), over the cpu_runs vassals that were the base's warm
spare (a vassal forked at its request has no figures from before it); from_spare and forked count
the base's log lines "adopted vassal pid N from the spare" and "forked an adopted vassal".

The adopted emperor runs with BROOD_STEP_TRACE=FILE (unless --no-steps): every process on the
path appends "STEP name pid ns" (CLOCK_MONOTONIC, the clock of time.monotonic) at each step, and
"BENCH py_forkserver_steps app=A ..." gives per step the p50 of its time from the rename in ms:
emperor_inotify (the emperor woken), emperor_decision (request about to be sent), emperor_sent,
base_accepted, base_handed (to the spare), spare_got, wtb_got (the pre-forked worker-to-be got
it), spare_replied (pid sent back), emperor_pid, master_/worker_fork_server_returning (the
base's loop left), master_/worker_adopted_returned (its objects unwound),
master_/worker_adopted_parse (options parsed from here), master_/worker_host_start and host_ready (Python host), master_/worker_node_run,
master_node_bound (sockets bound), master_handover (sockets and scoreboard sent to the
worker-to-be), worker_handover (received), worker_accepting (its loop starts), worker_first_done
(first request done), client_answer (the bench read the answer). "BENCH py_forkserver_step_cpu"
gives per step the p50 of the CPU ms and minor faults its process spent since its own previous
step ("CPU_MS/FAULTS"; a process's first step on the path has none): load-independent, unlike
the times.

    python3 forkserver_bench.py BUILD_DIR [--runs R] [--apps trivial,numpy,slow]
                                [--systems adopted,brood,uwsgi] [--wait-spare] [--no-prefork]
                                [--no-steps] [--client c|python] [--settle-ms MS]

Prints "BENCH py_forkserver app=A system=S ..." per app and system, and "BENCH
py_forkserver_ratio app=A ..." with exec / adopted (targets: adopted p50 <= 5 ms for every app,
>= 40x faster than exec on the numpy app, adopted PSS <= 0.5x exec'd). The adopted side needs a
brood with the fork-server options (`brood --help` lists --emperor-use-fork-server); without
them it is skipped with a note. Nothing is pinned; the note line gives the load average.
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import cluster
from emperor_cluster import LogTail, become_subreaper, descendants, free_ports, kill_tree

HERE = os.path.dirname(os.path.abspath(__file__))
APPS = {"trivial": ("hello_app", b"Hello World\n"), "numpy": ("heavy_app", b"120\n"),
        "slow": ("slow_import_app", b"slow\n")}
SYSTEMS = ("adopted", "brood", "uwsgi")
WARM_UP_APPS = ("numpy",)  # apps whose module has a warm_up() (--warm-up)
POLL_US = 500  # the client's poll period


def poll_client_binary(build):
    """poll_client.c compiled into BUILD/bench/python (again when the source is newer)."""
    path = os.path.join(build, "bench", "python", "poll_client")
    source = os.path.join(HERE, "poll_client.c")
    if not os.path.exists(path) or os.path.getmtime(source) > os.path.getmtime(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-D_GNU_SOURCE", "-o", path, source],
                       check=True)
    return path


def vassal_text(system, module, port):
    text = ("[uwsgi]\nsocket = 127.0.0.1:%d\nmaster = true\nprocesses = 1\nmodule = %s\n"
            "pythonpath = %s\n" % (port, module, HERE))
    if system == "uwsgi":
        text += "plugin = python3\ndisable-logging = true\n"
    return text


def emperor_children(pid):
    """The pids forked by any thread of `pid`."""
    found = set()
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                found.update(int(c) for c in f.read().split())
    except OSError:
        pass
    return found


def cpu_faults(pid):
    """(ms on CPU, ms waiting for a CPU, minor faults) of `pid` so far, or None once gone."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            run_ns, wait_ns = (int(x) for x in f.read().split()[:2])
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return run_ns / 1e6, wait_ns / 1e6, int(fields[7]), int(fields[1])
    except (OSError, ValueError, IndexError):
        return None


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            m = re.search(r"^Pss:\s+(\d+) kB", f.read(), re.M)
        return int(m.group(1)) if m else 0
    except OSError:
        return 0


class EmperorUnderTest:
    """One emperor of `system` on its own (initially empty) vassal directory, serving `module`."""

    def __init__(self, system, build, tmp, module, base_extra="", trace_steps=True, client=None):
        self.system, self.module, self.runs = system, module, 0
        self.client = client  # poll_client's path, or None: this process polls (Python)
        self.cost = []  # adopted: (cpu_ms, master_cpu_ms, worker_cpu_ms, faults, wait_ms) per run
        self.steps = []  # adopted: {step: ms from the rename} per run (BROOD_STEP_TRACE)
        self.step_cost = []  # adopted: {step: (CPU ms, minor faults) since the process's last step}
        self.steps_seen = 0  # bytes of the step file already read
        self.root = tempfile.mkdtemp(prefix="%s-" % system, dir=tmp)
        self.dir = os.path.join(self.root, "vassals")
        os.mkdir(self.dir)
        self.log = os.path.join(self.root, "emperor.log")
        self.stats = os.path.join(self.root, "stats.sock")
        self.fork_socket = os.path.join(self.root, "fork.sock")
        brood = os.path.join(build, "cli", "brood")
        env = dict(os.environ, PYTHONPATH=os.path.join(build, "python") + ":" + HERE,
                   PYTHONDONTWRITEBYTECODE="1")
        if system == "uwsgi":
            argv = ["uwsgi", "--plugin", "python3", "--emperor", self.dir, "--emperor-freq", 1]
        else:
            argv = [brood, "--emperor", self.dir, "--emperor-stats", self.stats]
        self.step_file = os.path.join(self.root, "steps.log")
        if system == "adopted" and trace_steps:
            env["BROOD_STEP_TRACE"] = self.step_file
        if system == "adopted":
            self._write("base.ini", "[uwsgi]\nfork-server = %s\nmodule = %s\npythonpath = %s\n%s"
                        % (self.fork_socket, module, HERE, base_extra))
            argv += ["--emperor-use-fork-server", self.fork_socket, "--vassal-fork-base",
                     "base.ini"]
        self.tail = LogTail(self.log)
        self.proc = cluster.Process(argv, self.log, env=env, cwd=self.root)

    def wait_started(self, timeout=30.0):
        """Waits until the emperor watches its directory (and, for adopted, the base serves)."""
        pattern = {"uwsgi": r"\*\*\* starting uWSGI Emperor \*\*\*",
                   "brood": r"watching ", "adopted": r"watching "}[self.system]
        self.proc.wait_for(pattern, timeout)
        deadline = time.monotonic() + timeout
        while self.system == "adopted" and not os.path.exists(self.fork_socket):
            if time.monotonic() > deadline or self.proc.proc.poll() is not None:
                raise RuntimeError("adopted: the base never bound %s:\n%s" % (
                    self.fork_socket, self.proc.output()[-3000:]))
            time.sleep(0.01)

    def _write(self, name, text):
        """Writes DIR/name at once (a rename); returns the monotonic time of the rename."""
        tmp_path = os.path.join(self.root, name + ".tmp")
        with open(tmp_path, "w") as f:
            f.write(text)
        now = time.monotonic()
        os.rename(tmp_path, os.path.join(self.dir, name))
        return now

    def wait_spare(self, timeout=10.0):
        """Adopted: waits (at most `timeout`) until the base has a ready spare not handed out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(self.log, errors="replace") as f:
                    text = f.read()
            except OSError:
                text = ""
            if text.count("fork server: spare ready") > \
                    text.count("fork server: adopted vassal pid "):
                return
            time.sleep(0.005)

    def start_vassal(self, port, expect, timeout=60.0):
        """Adds one vassal on `port`; returns (file_s, spawn_s or None) once it answers."""
        before = emperor_children(self.proc.pid)
        # adopted: what every process below the emperor had used (the spare becomes the master)
        used = {pid: cpu_faults(pid) for pid in descendants(self.proc.pid)} \
            if self.system == "adopted" else {}
        name = "v%03d.ini" % self.runs
        self.runs += 1
        if self.client:
            return self._start_with_c_client(name, port, expect, used, timeout)
        written = self._write(name, vassal_text(self.system, self.module, port))
        spawned = None
        address = "127.0.0.1:%d" % port
        while True:
            now = time.monotonic()
            if spawned is None and self.system != "adopted" and \
                    emperor_children(self.proc.pid) - before:
                spawned = now
            if now - written > timeout or self.proc.proc.poll() is not None:
                raise RuntimeError("%s: %s did not answer within %.0f s:\n%s" % (
                    self.system, name, timeout, self.proc.output()[-3000:]))
            status, body, _ = cluster.try_uwsgi_get(address, "/", timeout)
            if status == 200:
                return self._answered(name, body, expect, used, written, time.monotonic(),
                                      spawned)
            time.sleep(POLL_US / 1e6)

    def _start_with_c_client(self, name, port, expect, used, timeout):
        """start_vassal with poll_client.c polling the port (started before the rename, told to
        begin right after it); this process only watches for the exec'd systems' spawn."""
        before = emperor_children(self.proc.pid) if self.system != "adopted" else set()
        client = subprocess.Popen(
            [self.client, "127.0.0.1", str(port), str(POLL_US), str(int(timeout * 1000))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            if client.stdout.readline() != b"ready\n":
                raise RuntimeError("poll_client did not start")
            written = self._write(name, vassal_text(self.system, self.module, port))
            client.stdin.write(b"g")
            client.stdin.flush()
            spawned = None
            while self.system != "adopted" and spawned is None and client.poll() is None:
                if emperor_children(self.proc.pid) - before:
                    spawned = time.monotonic()
                else:
                    time.sleep(POLL_US / 1e6)
            out, _ = client.communicate(timeout=timeout + 5)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
        head, _, body = out.partition(b"\n")
        fields = head.split()
        if client.returncode != 0 or len(fields) != 3 or fields[0] != b"200":
            raise RuntimeError("%s: %s did not answer within %.0f s (client exit %d):\n%s" % (
                self.system, name, timeout, client.returncode, self.proc.output()[-3000:]))
        return self._answered(name, body, expect, used, written, int(fields[1]) / 1e9, spawned)

    def _answered(self, name, body, expect, used, written, answered, spawned):
        """The run's figures once `name` answered `body` at `answered`: (file_s, spawn_s)."""
        if body != expect:
            raise RuntimeError("%s: %s answered %r" % (self.system, name, body))
        if used:
            self._record_cost(used, name)
        if self.system == "adopted":
            self._record_steps(written, answered)
        return answered - written, (answered - spawned) if spawned else None

    def _record_cost(self, used, name):
        """Adopted: the CPU time, run-queue wait and minor faults of the new vassal until its
        first answer: its master (the spare it was) since the request and its workers since
        the request (the spare's pre-forked worker) or since their fork. Only for a vassal the
        spare served (a master forked at the request has no figures from before it)."""
        workers = {}
        for pid in descendants(self.proc.pid):
            now = cpu_faults(pid)
            if now:
                workers.setdefault(now[3], []).append((pid, now))
        master = self.adopted_state().get(name, {}).get("pid", -1)
        master_now, master_before = cpu_faults(master), used.get(master)
        if not master_now or not master_before:
            return
        m = [a - b for a, b in zip(master_now[:3], master_before[:3])]
        w = [0.0, 0.0, 0]
        for pid, now in workers.get(master, []):
            before = used.get(pid) or (0.0, 0.0, 0)
            w = [x + a - b for x, a, b in zip(w, now[:3], before[:3])]
        self.cost.append((m[0] + w[0], m[0], w[0], m[2] + w[2], m[1] + w[1]))

    def _record_steps(self, written, answered):
        """Adopted: the first time each step of the path (lines "STEP name pid ns" that brood
        appends to BROOD_STEP_TRACE) was reached after the rename, in ms from the rename. The
        steps of one process role are told apart by their name (emperor., base., spare., wtb.
        = the worker-to-be, node./host./adopted. = first the master, then the worker). Only
        for a vassal the spare served (the one with a "spare.got" step), like the CPU figures."""
        try:
            with open(self.step_file, "rb") as f:
                f.seek(self.steps_seen)
                data = f.read()
        except OSError:
            return
        self.steps_seen += len(data)
        master = None
        got, cost, last = {}, {}, {}
        for line in data.decode(errors="replace").splitlines():
            parts = line.split()
            if len(parts) != 6 or parts[0] != "STEP":
                continue
            name, pid, t = parts[1], int(parts[2]), int(parts[3]) / 1e9
            cpu, faults = int(parts[4]) / 1e6, int(parts[5])
            if t < written or t > answered + 0.05:
                continue
            if name == "spare.got":
                master = pid
            if name.split(".")[0] in ("node", "host", "adopted", "fork_server"):
                name = ("master." if pid == master else "worker.") + name
            if name not in got and pid in last:
                cost[name] = (cpu - last[pid][0], faults - last[pid][1])
            last[pid] = (cpu, faults)
            got.setdefault(name, (t - written) * 1000.0)
        if master is None:  # forked at its request, not the spare: another path, left out
            return
        got["client.answer"] = (answered - written) * 1000.0
        self.steps.append(got)
        self.step_cost.append(cost)

    def adopted_state(self):
        """{vassal name: its stats entry} from the brood emperor's stats (empty for uWSGI)."""
        if self.system == "uwsgi":
            return {}
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5.0)
            s.connect(self.stats)
            doc = json.loads(cluster.read_to_eof(s))
        return {v["id"]: v for v in doc["vassals"]}

    def pss_mb(self):
        """(Pss of every process below the emperor, Pss of the base alone) in MB."""
        base_pid = self.adopted_state().get("base.ini", {}).get("pid", -1) \
            if self.system == "adopted" else -1
        total = sum(pss_kb(p) for p in descendants(self.proc.pid))
        return total / 1024.0, (pss_kb(base_pid) / 1024.0 if base_pid > 0 else 0.0)

    def processes(self):
        return len(descendants(self.proc.pid))

    def stop(self):
        self.tail.close()
        kill_tree(self.proc, self.system)


def has_fork_server(build):
    out = subprocess.run([os.path.join(build, "cli", "brood"), "--help"], capture_output=True,
                         text=True).stdout
    return re.search(r"--emperor-use-fork-server\b", out) is not None


def p(values, pct):
    return cluster.percentile(sorted(values), pct) * 1000.0 if values else None


def run_app(app, systems, args, tmp):
    """Runs R vassals of `app` on every system; prints its BENCH lines."""
    module, expect = APPS[app]
    emperors = {}
    try:
        for system in systems:
            emperors[system] = EmperorUnderTest(
                system, args.build, tmp, module,
                ("fork-server-prefork = false\n" if args.no_prefork else "") +
                ("fork-server-warm-up = %s:warm_up\n" % module
                 if args.warm_up and app in WARM_UP_APPS else ""),
                trace_steps=not args.no_steps, client=args.client_path)
        for e in emperors.values():
            e.wait_started()
        ports = iter(free_ports(args.runs * len(systems)))
        times = {s: ([], []) for s in systems}
        for _ in range(args.runs):
            for system, e in emperors.items():
                if system == "adopted" and args.wait_spare:
                    e.wait_spare()
                if args.settle_ms:
                    time.sleep(args.settle_ms / 1000.0)
                file_s, spawn_s = e.start_vassal(next(ports), expect)
                times[system][0].append(file_s)
                if spawn_s is not None:
                    times[system][1].append(spawn_s)
        report(app, emperors, times, args)
    finally:
        for e in emperors.values():
            e.stop()


STEP_ORDER = ("emperor.inotify", "emperor.decision", "emperor.sent", "base.accepted",
              "base.handed", "spare.got", "wtb.got", "spare.replied", "emperor.pid",
              "master.fork_server.returning", "worker.fork_server.returning",
              "master.adopted.returned", "worker.adopted.returned",
              "master.adopted.parse", "worker.adopted.parse", "master.host.start",
              "worker.host.start", "master.host.ready", "worker.host.ready", "master.node.run",
              "worker.node.run", "worker.prepared", "master.node.bound", "master.handover",
              "worker.handover", "worker.board", "worker.accepting", "worker.first_done", "client.answer")


def print_steps(app, steps, costs):
    """BENCH py_forkserver_steps: per step of the adoption, the p50 over the runs of its time
    from the rename (ms), in the order of the path; runs missing a step are left out of it.
    BENCH py_forkserver_step_cpu: per step, p50 of the CPU ms and of the minor faults that its
    process spent since its previous step (of the same run): "CPU_MS/FAULTS"."""
    names = [n for n in STEP_ORDER if any(n in s for s in steps)]
    names += sorted({n for s in steps for n in s} - set(names))
    fields, cpu = {}, {}
    for n in names:
        values = [s[n] for s in steps if n in s]
        fields[n.replace(".", "_")] = cluster.fmt(statistics.median(values), 2)
        spent = [c[n] for c in costs if n in c]
        if spent:
            cpu[n.replace(".", "_")] = "%s/%d" % (
                cluster.fmt(statistics.median(x[0] for x in spent), 2),
                statistics.median(x[1] for x in spent))
    cluster.bench_line("py_forkserver_steps", app=app, runs=len(steps), **fields)
    cluster.bench_line("py_forkserver_step_cpu", app=app, runs=len(costs), **cpu)


def report(app, emperors, times, args):
    figures = {}
    for system, e in emperors.items():
        files, spawns = times[system]
        pss, base = e.pss_mb()
        extra = {}
        if system == "adopted":
            states = e.adopted_state()
            vassals = [v for n, v in states.items() if n != "base.ini"]
            extra["adopted"] = "%d/%d" % (sum(1 for v in vassals if v.get("adopted") == 1),
                                          len(vassals))
            reasons = sorted({v["fallback"] for v in vassals if v.get("fallback")})
            if reasons:  # a vassal exec'd after all: its time is not an adopted one
                cluster.note("adopted %s: fallbacks to exec: %s" % (app, "; ".join(reasons)))
            extra["base_pss_mb"] = cluster.fmt(base, 1)
            try:
                with open(e.log, errors="replace") as f:
                    text = f.read()
                extra["from_spare"] = str(text.count("fork server: adopted vassal pid "))
                extra["forked"] = str(text.count("fork server: forked an adopted vassal"))
                extra["prefork_unused"] = str(text.count("pre-forked worker (pid "))
            except OSError:
                pass
            extra["cpu_runs"] = str(len(e.cost))
            if e.cost:
                col = list(zip(*e.cost))
                for key, i in (("cpu", 0), ("master_cpu", 1), ("worker_cpu", 2), ("wait", 4)):
                    extra["%s_p50_ms" % key] = cluster.fmt(statistics.median(col[i]), 1)
                extra["faults_p50"] = "%d" % statistics.median(col[3])
            if e.steps:
                print_steps(app, e.steps, e.step_cost)
        figures[system] = {"file_p50": p(files, 50), "spawn_p50": p(spawns, 50), "pss": pss}
        cluster.bench_line(
            "py_forkserver", app=app, system=system, runs=len(files),
            file_p50_ms=cluster.fmt(p(files, 50), 1), file_p90_ms=cluster.fmt(p(files, 90), 1),
            spawn_p50_ms=cluster.fmt(p(spawns, 50), 1),
            spawn_p90_ms=cluster.fmt(p(spawns, 90), 1), vassals=len(files),
            processes=e.processes(), pss_mb=cluster.fmt(pss, 1), **extra)
        cluster.note("%s %s file_ms runs: %s" % (app, system, " ".join(
            "%.1f" % (t * 1000.0) for t in files)))
    a = figures.get("adopted")
    if not a:
        return
    ratios = {}
    for system in ("brood", "uwsgi"):
        f = figures.get(system)
        if f and f["spawn_p50"] and a["file_p50"]:
            ratios["%s_vs_adopted" % system] = cluster.fmt(f["spawn_p50"] / a["file_p50"], 1)
            ratios["%s_pss_ratio" % system] = cluster.fmt(a["pss"] / f["pss"], 2)
    target_x = min((figures[s]["spawn_p50"] or 0) / a["file_p50"]
                   for s in ("brood", "uwsgi") if s in figures) if len(figures) > 1 else 0
    cluster.bench_line(
        "py_forkserver_ratio", app=app, adopted_p50_ms=cluster.fmt(a["file_p50"], 1), **ratios,
        target_p50="met" if a["file_p50"] <= 5.0 else "missed",
        target_40x=("met" if target_x >= 40 else "missed") if app == "numpy" else "n/a",
        target_pss="met" if all(a["pss"] <= 0.5 * figures[s]["pss"]
                                for s in figures if s != "adopted") else "missed")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=20, help="vassals per app and system")
    ap.add_argument("--apps", default="trivial,numpy,slow")
    ap.add_argument("--wait-spare", action="store_true",
                    help="adopted: before each vassal, wait (up to 10 s) for the base's spare")
    ap.add_argument("--no-prefork", action="store_true",
                    help="adopted: the base without the pre-forked worker (fork-server-prefork "
                         "= false), for A/B runs")
    ap.add_argument("--warm-up", action="store_true",
                    help="adopted: the base calls the numpy app's warm_up() in every spare and "
                         "pre-forked worker (fork-server-warm-up), for A/B runs")
    ap.add_argument("--no-steps", action="store_true",
                    help="adopted: no per-step timestamps (BROOD_STEP_TRACE unset)")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--settle-ms", type=float, default=0.0,
                    help="sleep this long before each vassal, so that the previous vassal (of "
                         "another system) has finished its own start-up (default 0: none)")
    ap.add_argument("--client", choices=("c", "python"), default="c",
                    help="who polls the vassal's port: poll_client.c (default) or this Python "
                         "process (the client before session 13, for A/B runs)")
    args = ap.parse_args(argv)
    args.build = os.path.abspath(args.build)
    args.client_path = poll_client_binary(args.build) if args.client == "c" else None
    systems = [s for s in args.systems.split(",") if s]
    for s in systems:
        if s not in SYSTEMS:
            ap.error("unknown system %r (choose from %s)" % (s, ", ".join(SYSTEMS)))
    for a in args.apps.split(","):
        if a not in APPS:
            ap.error("unknown app %r (choose from %s)" % (a, ", ".join(APPS)))
    if "uwsgi" in systems and not shutil.which("uwsgi"):
        sys.exit("forkserver_bench.py: uwsgi is not installed (scripts/deps.sh)")
    if "adopted" in systems and not has_fork_server(args.build):
        cluster.note("brood has no --emperor-use-fork-server yet: the adopted side is skipped")
        systems.remove("adopted")
    cluster.note("fork server: %s; %d vassals per app and system (1 worker + master each), the "
                 "systems in turn, client uwsgi GET polled every 0.5 ms (%s); uWSGI's emperor "
                 "with emperor-freq 1; nothing pinned (%d vCPUs, load average %s)" % (
                     ",".join(systems), args.runs,
                     "poll_client.c" if args.client == "c" else "Python client",
                     len(cluster.all_cpus()),
                     " ".join("%.2f" % x for x in os.getloadavg())))
    if args.settle_ms:
        cluster.note("%.0f ms of sleep before each vassal" % args.settle_ms)
    if "adopted" in systems:
        cluster.note("adopted: pre-forked worker %s; %s" % (
            "off (fork-server-prefork = false)" if args.no_prefork else "on",
            "each vassal after the spare is ready" if args.wait_spare else "no wait for the spare"))
        if args.warm_up:
            cluster.note("adopted: fork-server-warm-up = MODULE:warm_up for %s"
                         % ", ".join(WARM_UP_APPS))
    become_subreaper()
    tmp = tempfile.mkdtemp(prefix="brood-forkserver-bench-")
    try:
        for app in args.apps.split(","):
            run_app(app, systems, args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
