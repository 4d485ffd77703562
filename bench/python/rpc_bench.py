"""Benchmarks (i) and (ii) of issue 3: Python messages between two nodes.

brood: brood.send_message from a caller node to an answering node whose
message_manager_marshal echoes the message. Reference: uwsgi.rpc between two real uWSGI 2.0
nodes (the answering node's RPC function "echo"), and a raw loopback ping-pong of a packet of
the same size to a Python echo server. The same load for all of them: every caller is one
worker of a caller node (caller_app.py, 8 workers) looping on calls for a fixed time; the
answering node has --processes SERVER_PROCESSES workers; the same Python files on both systems.

    python3 rpc_bench.py BUILD_DIR [--seconds S] [--repeat R] [--size BYTES] [--callers N]
                         [--server-processes P]

Each figure is the median of R runs of S seconds, the runs of the systems interleaved.

Prints "BENCH py_message_1caller placement=... ..." for each placement (every process of the
caller node on one CPU, every process of the answering node and the raw echo server on the same
CPU or on the other one) and "BENCH py_message_Ncallers ..." with nothing pinned.
"""
import argparse
import json
import statistics
import sys
import threading
import time

import cluster


def percentiles(lat):
    """p50 and p99 in microseconds of round-trip times in 0.1 us units."""
    lat = sorted(lat)
    return lat[len(lat) // 2] / 10.0, lat[len(lat) * 99 // 100] / 10.0


def run_callers(node, mode, target, n, seconds, size):
    """n concurrent callers on `node` (one per worker) for `seconds`. Returns (calls per second
    summed over the callers, p50 us, p99 us).

    The n requests are sent 30 ms apart and all callers begin at the same `start` time: a
    worker that took a request is busy in it (waiting for `start`) when the next one arrives,
    so each request goes to another worker. (Sent at once, a brood worker may accept two before
    it runs the first, and they would run one after the other.)"""
    stagger = 0.03
    start = time.time() + 0.3 + stagger * n
    query = "/?mode=%s&target=%s&size=%d&start=%.6f&seconds=%s" % (mode, target, size, start,
                                                                  seconds)
    results, failures = [None] * n, []

    def one(i):
        try:
            status, body = cluster.uwsgi_get(node.address, query, timeout=seconds + 30)
            results[i] = json.loads(body)
            if status != 200:
                failures.append("caller %d: HTTP %d %s" % (i, status, results[i]))
        except Exception as e:
            failures.append("caller %d: %s: %s" % (i, type(e).__name__, e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
        time.sleep(stagger)
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError("%s callers failed: %s" % (mode, "; ".join(failures)))
    pids = {r["pid"] for r in results}
    late = [r["start"] - start for r in results if r["start"] - start > 0.25]
    if len(pids) != n or late:
        raise RuntimeError("%s: the %d callers did not run at once (%d distinct workers, %d "
                           "started late)" % (mode, n, len(pids), len(late)))
    errors = sum(r["errors"] for r in results)
    if errors:
        raise RuntimeError("%s: %d calls failed" % (mode, errors))
    rate = sum(r["calls"] / r["elapsed"] for r in results)
    p50, p99 = percentiles([x for r in results for x in r["lat"]])
    return rate, p50, p99


def measure(runs, callers, args):
    """Runs each of runs {name: (node, mode, target)} args.repeat times, interleaved (a, b, c,
    a, b, c, ...) so that a disturbance of the shared machine hits all of them alike. Returns
    {name: (median calls/s, median p50 us, median p99 us)}."""
    figures = {name: [] for name in runs}
    for _ in range(args.repeat):
        for name, (node, mode, target) in runs.items():
            figures[name].append(run_callers(node, mode, target, callers, args.seconds,
                                             args.size))
    return {name: tuple(statistics.median(f[i] for f in rounds) for i in range(3))
            for name, rounds in figures.items()}


def placements():
    cpus = cluster.all_cpus()
    yield "same-cpu", [cpus[0]], [cpus[0]]
    if len(cpus) > 1:
        yield "cross-cpu", [cpus[0]], [cpus[1]]


def single_caller(nodes, args):
    brood_a, brood_b, uwsgi_a, uwsgi_b, raw = nodes
    for name, caller_cpus, answer_cpus in placements():
        for p in (brood_a, uwsgi_a):
            p.pin(caller_cpus)
        for p in (brood_b, uwsgi_b, raw):
            p.pin(answer_cpus)
        r = measure({"raw": (brood_a, "raw", raw.address),
                     "brood": (brood_a, "brood", brood_b.address),
                     "uwsgi_rpc": (uwsgi_a, "rpc", uwsgi_b.address),
                     "brood_rpc": (brood_a, "rpc", brood_b.address)}, 1, args)
        cluster.bench_line(
            "py_message_1caller", placement=name,
            caller_cpu=",".join(map(str, caller_cpus)),
            answer_cpu=",".join(map(str, answer_cpus)),
            brood_p50_us="%.1f" % r["brood"][1], brood_p99_us="%.1f" % r["brood"][2],
            raw_p50_us="%.1f" % r["raw"][1], ratio_to_raw="%.2f" % (r["brood"][1] / r["raw"][1]),
            target_ratio="<=1.5", brood_calls_s="%.0f" % r["brood"][0],
            uwsgi_rpc_p50_us="%.1f" % r["uwsgi_rpc"][1],
            uwsgi_rpc_calls_s="%.0f" % r["uwsgi_rpc"][0],
            brood_rpc_p50_us="%.1f" % r["brood_rpc"][1])


def many_callers(nodes, args):
    brood_a, brood_b, uwsgi_a, uwsgi_b, raw = nodes
    for p in nodes:
        p.pin(None)
    r = measure({"brood": (brood_a, "brood", brood_b.address),
                 "uwsgi_rpc": (uwsgi_a, "rpc", uwsgi_b.address),
                 "brood_rpc": (brood_a, "rpc", brood_b.address)}, args.callers, args)
    cluster.bench_line(
        "py_message_%dcallers" % args.callers, placement="os-scheduled",
        brood_calls_s="%.0f" % r["brood"][0], uwsgi_rpc_calls_s="%.0f" % r["uwsgi_rpc"][0],
        ratio="%.2f" % (r["brood"][0] / r["uwsgi_rpc"][0]), target_ratio=">=3",
        brood_p50_us="%.1f" % r["brood"][1], uwsgi_rpc_p50_us="%.1f" % r["uwsgi_rpc"][1],
        brood_rpc_calls_s="%.0f" % r["brood_rpc"][0])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--seconds", type=float, default=1.5)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--callers", type=int, default=8)
    p.add_argument("--server-processes", type=int, default=2)
    args = p.parse_args(argv)
    caller_workers = max(args.callers, 1)
    cluster.note("py_message: caller node %d workers (one caller each, a WSGI request that loops "
                 "%.1f s; median of %d runs), answering node %d workers, payload %d bytes, both "
                 "systems run the same caller_app.py/echo_app.py; brood: send_message (kept-alive "
                 "connection per worker), uWSGI: uwsgi.rpc (a new connection per call, its only "
                 "way); raw: "
                 "Python socket ping-pong from the brood caller worker to a Python echo server"
                 % (caller_workers, args.seconds, args.repeat, args.server_processes, args.size))
    with cluster.Cluster(args.build_dir) as c:
        sp = args.server_processes
        nodes = (c.brood("--master", "--processes", caller_workers, "--module", "caller_app"),
                 c.brood("--master", "--processes", sp, "--module", "echo_app"),
                 c.uwsgi("--module", "caller_app", processes=caller_workers),
                 c.uwsgi("--module", "echo_app", processes=sp),
                 c.python("raw_echo.py"))
        single_caller(nodes, args)
        many_callers(nodes, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
