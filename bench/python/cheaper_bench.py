"""Benchmark of issue 11: the cheaper subsystem (adaptive worker count), brood against real uWSGI
2.0 with the same sizing, the same app file and the same load, measured in the same run.

Both systems: --master --processes 8 --cheaper 2 --cheaper-initial 2 --cheaper-step 2
--cheaper-algo ALGO --stats UNIX_PATH --module sleep_app (a request sleeps 0.5 s, then answers
200 "ok"); uWSGI also gets --plugin python3 (and --plugin cheaper_busyness for busyness) and
--disable-logging. The two nodes of a pair (same algorithm, same load shape) run concurrently:
the load is sleep-bound and light on CPU. Nothing is pinned.

Load: closed-loop clients (Python threads), each sending one uwsgi-protocol GET (modifier1 0,
the vars nginx sends) on a NEW connection, reading the reply until EOF, recording latency and
success (HTTP 200), and starting again at once. The number of active clients follows a schedule:
  step    1 client 5 s, 8 clients 20 s, 1 client 40 s                          (65 s)
  bursts  1 client 5 s, then (8 clients 5 s, 1 client 5 s) x 6, 1 client 30 s   (95 s)
A sampler thread reads the stats JSON every 100 ms: workers = workers whose status is not
"cheap" and whose pid is not 0, busy = workers whose status is "busy".

Figures per (system, algorithm, shape), times in seconds:
  t_first  from the step (t=5) to the first sample with more than `cheaper` workers AND more
           than `cheaper` busy (the first extra worker busy)
  t_full   from the step to the first sample with all 8 workers ("never")
  t_back   from the end of the last 8-client phase (step: t=25, bursts: t=60) to the first sample
           with `cheaper` workers ("never")
  events   spawns + cheaps during t 5-65 s, as the sum of |delta workers| between consecutive
           samples (the bursts target is <= 6)
  p50/p99  latency of requests completed during the 8-client phases
  failed   requests that failed over the whole run (error, reset, refused, timeout, non-200)
Algorithm pairs: spare, backlog, busyness (brood vs uWSGI's algorithm of the same name); spare2
(brood only: uWSGI 2.0.21 has none and falls back to spare, which the script checks and
reports; the pair line compares with uWSGI's spare); brood (brood's own) against uWSGI's best
algorithm of this run (by t_full, then t_back), with the targets t_first <= 0.5, t_full <= 2,
t_back <= 10, events <= 6, failed 0.

    python3 cheaper_bench.py BUILD_DIR [--systems brood,uwsgi] [--algos spare,backlog,...]
                             [--shapes step,bursts]

Prints "BENCH py_cheaper ..." per run, "BENCH py_cheaper_pair ..." per algorithm and shape and
"BENCH py_cheaper_brood_vs_uwsgi_best ..." per shape. Every node is killed and reaped
(cluster.Cluster); waits are bounded.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time

import cluster


def fmt(value, digits=1):
    return cluster.fmt(value, digits)


PROCESSES = 8
CHEAPER = 2
INITIAL = 2
STEP = 2
SHAPES = {
    "step": [(5, 1), (20, 8), (40, 1)],
    "bursts": [(5, 1)] + [(5, 8), (5, 1)] * 6 + [(30, 1)],
}
EVENTS_WINDOW = (5.0, 65.0)
ALGOS = ("spare", "backlog", "busyness", "spare2", "brood")
UWSGI_ALGOS = ("spare", "backlog", "busyness")  # what uWSGI 2.0.21 has (busyness: a plugin)
SAMPLE_PERIOD = 0.1
REQUEST_TIMEOUT = 30.0
TARGETS = {"t_first": 0.5, "t_full": 2.0, "t_back": 10.0, "events": 6, "failed": 0}


def phases(schedule):
    """[(start, end, clients)] from [(seconds, clients)]."""
    out, t = [], 0.0
    for seconds, clients in schedule:
        out.append((t, t + seconds, clients))
        t += seconds
    return out


def stats_doc(path, timeout=2.0):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        doc = cluster.read_to_eof(s)
    return json.loads(doc.decode("utf-8", "replace"), strict=False)


def count_workers(doc):
    """(workers not cheaped, busy workers, accepting workers not cheaped)."""
    live = [w for w in doc.get("workers", [])
            if w.get("status") != "cheap" and w.get("pid", 0) != 0]
    return (len(live), sum(1 for w in live if w.get("status") == "busy"),
            sum(1 for w in live if w.get("accepting")))


def wait_stats_ready(node, path, timeout=20.0):
    """Until the stats socket answers with `cheaper` accepting workers (bounded)."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if node.proc.poll() is not None:
            break
        try:
            workers, _, accepting = count_workers(stats_doc(path))
            if workers >= INITIAL and accepting >= INITIAL:
                return
            last = "workers=%d accepting=%d" % (workers, accepting)
        except (OSError, ValueError) as e:
            last = repr(e)
        time.sleep(0.05)
    raise RuntimeError("%s: stats %s not ready (%s, exit %s):\n%s" % (
        node.argv[0], path, last, node.proc.poll(), node.output()[-3000:]))


class Run:
    """One node under one load shape: client threads, a stats sampler, the records."""

    def __init__(self, system, algo, shape, node, stats_path):
        self.system, self.algo, self.shape = system, algo, shape
        self.node, self.stats_path = node, stats_path
        self.phases = phases(SHAPES[shape])
        self.duration = self.phases[-1][1]
        self.requests = []  # (t_start, t_end, latency_s, ok, error kind or None)
        self.samples = []  # (t, workers, busy)
        self.sample_errors = 0
        self.lock = threading.Lock()
        self.t0 = None
        self.threads = []

    def clients_at(self, t):
        for start, end, clients in self.phases:
            if start <= t < end:
                return clients
        return 0

    def next_change(self, t):
        for start, _, _ in self.phases:
            if start > t:
                return start
        return self.duration

    def client(self, i):
        while True:
            t = time.monotonic() - self.t0
            if t >= self.duration:
                return
            if i >= self.clients_at(t):
                time.sleep(max(0.0, min(self.next_change(t) - t, 1.0)) + 0.0005)
                continue
            start = time.monotonic()
            status, body, kind = cluster.try_uwsgi_get(self.node.address, "/", REQUEST_TIMEOUT)
            ok = kind is None and status == 200 and body == b"ok"
            if not ok and kind is None:
                kind = "status_%d" % status
            end = time.monotonic()
            with self.lock:
                self.requests.append((start - self.t0, end - self.t0, end - start, ok, kind))

    def sampler(self):
        k = 0
        while True:
            due = self.t0 + k * SAMPLE_PERIOD
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            t = time.monotonic() - self.t0
            if t > self.duration:
                return
            try:
                workers, busy, _ = count_workers(stats_doc(self.stats_path))
                self.samples.append((t, workers, busy))
            except (OSError, ValueError):
                self.sample_errors += 1
            k = max(k + 1, int((time.monotonic() - self.t0) / SAMPLE_PERIOD))

    def start(self, t0):
        self.t0 = t0
        self.threads = [threading.Thread(target=self.client, args=(i,), daemon=True)
                        for i in range(max(c for _, _, c in self.phases))]
        self.threads.append(threading.Thread(target=self.sampler, daemon=True))
        for th in self.threads:
            th.start()

    def join(self):
        deadline = self.t0 + self.duration + REQUEST_TIMEOUT + 5
        for th in self.threads:
            th.join(max(0.0, deadline - time.monotonic()))
        stuck = sum(th.is_alive() for th in self.threads)
        if stuck:
            cluster.note("%s %s %s: %d threads still running at the deadline" % (
                self.system, self.algo, self.shape, stuck))

    def figures(self):
        step_t = min(s for s, _, c in self.phases if c > 1)
        end_t = max(e for _, e, c in self.phases if c > 1)
        after = [s for s in self.samples if s[0] >= step_t]
        t_first = next((t - step_t for t, w, b in after if w > CHEAPER and b > CHEAPER), None)
        t_full = next((t - step_t for t, w, _ in after if w >= PROCESSES), None)
        t_back = next((t - end_t for t, w, _ in self.samples if t >= end_t and w <= CHEAPER),
                      None)
        window = [w for t, w, _ in self.samples if EVENTS_WINDOW[0] <= t <= EVENTS_WINDOW[1]]
        events = sum(abs(b - a) for a, b in zip(window, window[1:]))
        busy_phases = [(s, e) for s, e, c in self.phases if c > 1]
        lat = sorted(r[2] for r in self.requests
                     if r[3] and any(s <= r[1] < e for s, e in busy_phases))
        failed = [r for r in self.requests if not r[3]]
        kinds = {}
        for r in failed:
            kinds[r[4]] = kinds.get(r[4], 0) + 1
        return {
            "t_first": t_first, "t_full": t_full, "t_back": t_back, "events": events,
            "max_workers": max((w for _, w, _ in self.samples), default=0),
            "end_workers": self.samples[-1][1] if self.samples else 0,
            "p50_ms": cluster.percentile(lat, 50) * 1e3 if lat else None,
            "p99_ms": cluster.percentile(lat, 99) * 1e3 if lat else None,
            "requests": len(self.requests), "failed": len(failed),
            "failed_kinds": "/".join("%s:%d" % kv for kv in sorted(kinds.items())) or "-",
            "samples": len(self.samples), "sample_errors": self.sample_errors,
        }




def sizing(algo, stats_path):
    return ["--processes", PROCESSES, "--cheaper", CHEAPER, "--cheaper-initial", INITIAL,
            "--cheaper-step", STEP, "--cheaper-algo", algo, "--stats", stats_path,
            "--module", "sleep_app"]


def start_node(c, system, algo, shape):
    stats_path = os.path.join(c.tmp, "stats-%s-%s-%s.sock" % (system, algo, shape))
    if system == "brood":
        node = c.brood("--master", *sizing(algo, stats_path))
    else:
        plugins = ["--plugin", "cheaper_busyness"] if algo == "busyness" else []
        node = c.uwsgi(*plugins, *sizing(algo, stats_path)[2:], processes=PROCESSES,
                       ready=INITIAL)
    wait_stats_ready(node, stats_path)
    return Run(system, algo, shape, node, stats_path)


def check_uwsgi_spare2(c):
    """uWSGI 2.0.21 has no spare2: it logs that it falls back to spare (or refuses to start)."""
    stats_path = os.path.join(c.tmp, "stats-uwsgi-spare2-check.sock")
    node = c.uwsgi(*sizing("spare2", stats_path)[2:], processes=PROCESSES, ready=INITIAL)
    try:
        m = node.wait_for(r"unable to find requested cheaper algorithm[^\n]*", timeout=10)
        return "uWSGI --cheaper-algo spare2 starts and logs %r" % m.group(0)
    except RuntimeError:
        return "uWSGI --cheaper-algo spare2 logged no fallback (exit %s)" % node.proc.poll()
    finally:
        node.stop()


def run_pair(c, systems, algo, shape):
    runs = [start_node(c, system, algo, shape) for system in systems]
    try:
        t0 = time.monotonic() + 0.2
        for r in runs:
            r.start(t0)
        for r in runs:
            r.join()
    finally:
        for r in runs:
            r.node.stop()
    out = {}
    for r in runs:
        f = r.figures()
        out[r.system] = f
        cluster.bench_line(
            "py_cheaper", system=r.system, algo=algo, shape=shape,
            t_first_s=fmt(f["t_first"]), t_full_s=fmt(f["t_full"]), t_back_s=fmt(f["t_back"]),
            events=f["events"], max_workers=f["max_workers"], end_workers=f["end_workers"],
            p50_ms=fmt(f["p50_ms"], 0), p99_ms=fmt(f["p99_ms"], 0), requests=f["requests"],
            failed=f["failed"], failed_kinds=f["failed_kinds"], samples=f["samples"],
            sample_errors=f["sample_errors"])
    return out


def side_by_side(b, u):
    figs = {}
    for key, digits in (("t_first", 1), ("t_full", 1), ("t_back", 1), ("events", 0),
                        ("max_workers", 0), ("p50_ms", 0), ("p99_ms", 0), ("failed", 0)):
        for name, f in (("brood", b), ("uwsgi", u)):
            figs["%s_%s" % (name, key)] = fmt(f[key], digits) if f else "n/a"
    return figs


def best_uwsgi(results, shape):
    """uWSGI's best algorithm of this run for a shape: by t_full, then t_back (never = last)."""
    cands = [(algo, res["uwsgi"]) for (algo, sh), res in results.items()
             if sh == shape and algo in UWSGI_ALGOS and "uwsgi" in res]
    if not cands:
        return None, None
    inf = float("inf")
    return min(cands, key=lambda a: (a[1]["t_full"] if a[1]["t_full"] is not None else inf,
                                     a[1]["t_back"] if a[1]["t_back"] is not None else inf))


def meets(f, shape):
    """Which targets brood's algorithm meets; events (a bursts figure) only for bursts."""
    if not f:
        return "n/a"
    miss = [k for k, limit in TARGETS.items()
            if (k != "events" or shape == "bursts") and (f[k] is None or f[k] > limit)]
    return "all" if not miss else "missed:" + ",".join(miss)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir", nargs="?", default="build")
    p.add_argument("--systems", default="brood,uwsgi")
    p.add_argument("--algos", default=",".join(ALGOS))
    p.add_argument("--shapes", default="step,bursts")
    args = p.parse_args(argv)
    systems = [s for s in args.systems.split(",") if s]
    algos = [a for a in args.algos.split(",") if a]
    shapes = [s for s in args.shapes.split(",") if s]
    for name, values, allowed in (("systems", systems, ("brood", "uwsgi")),
                                  ("algos", algos, ALGOS), ("shapes", shapes, SHAPES)):
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            p.error("--%s: %s not in %s" % (name, ",".join(bad) or "nothing", ",".join(allowed)))

    cluster.note(
        "py_cheaper: processes %d, cheaper %d, cheaper-initial %d, cheaper-step %d, master, stats "
        "on a unix socket sampled every %d ms, sleep_app.py (0.5 s per request); closed-loop "
        "clients, a new connection per request; shapes step (1 client 5 s, 8 clients 20 s, 1 "
        "client 40 s) and bursts (1 client 5 s, (8 clients 5 s, 1 client 5 s) x 6, 1 client "
        "30 s); brood and uWSGI of a pair run concurrently, nothing pinned; events = sum of "
        "|delta workers| between consecutive samples, t 5-65 s; t_back from the end of the "
        "last 8-client phase; uWSGI %s" % (PROCESSES, CHEAPER, INITIAL, STEP,
                                          SAMPLE_PERIOD * 1000, "2.0 with --disable-logging"))
    results = {}
    with cluster.Cluster(args.build_dir) as c:
        if "uwsgi" in systems and "spare2" in algos:
            cluster.note("spare2: " + check_uwsgi_spare2(c) + "; brood's spare2 is compared "
                         "with uWSGI's spare")
        for shape in shapes:
            for algo in algos:
                run_systems = [s for s in systems if s == "brood" or algo in UWSGI_ALGOS]
                if not run_systems:
                    continue
                results[(algo, shape)] = run_pair(c, run_systems, algo, shape)

    for shape in shapes:
        for algo in algos:
            res = results.get((algo, shape))
            if res is None or algo == "brood":
                continue
            ref_algo = "spare" if algo == "spare2" else algo
            u = results.get((ref_algo, shape), {}).get("uwsgi")
            cluster.bench_line("py_cheaper_pair", algo=algo, uwsgi_algo=ref_algo, shape=shape,
                               concurrent="yes" if len(res) > 1 else "no",
                               **side_by_side(res.get("brood"), u))
        if "brood" in algos:
            b = results.get(("brood", shape), {}).get("brood")
            ref_algo, u = best_uwsgi(results, shape)
            cluster.bench_line(
                "py_cheaper_brood_vs_uwsgi_best", shape=shape, uwsgi_algo=ref_algo or "n/a",
                **side_by_side(b, u),
                target="t_first<=%.1f,t_full<=%.0f,t_back<=%.0f,events<=%d(bursts),failed=%d" % (
                    TARGETS["t_first"], TARGETS["t_full"], TARGETS["t_back"],
                    TARGETS["events"], TARGETS["failed"]),
                brood_meets=meets(b, shape))
    return 0


if __name__ == "__main__":
    sys.exit(main())
