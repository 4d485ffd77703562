"""Benchmark of issue 13 (worker lifetime): brood against real uWSGI 2.0.21, the same app files,
the same client, measured in the same run.

1. max-requests under load: hello_app.py on 2 workers, uwsgi_load (C, epoll) with C connections
   (a new connection per request) for S seconds, without recycling and with `max-requests N
   --min-worker-lifetime 0`: requests per second, p99, and errors (refused, reset or unanswered
   requests: the target is 0) of each system.
2. harakiri: a request to stuck_app.py sleeps 30 s under `harakiri 2`; the time from sending it
   to the connection's close is the kill latency (brood's target: within harakiri + 1 s; uWSGI's check is once a
   second).

    python3 lifetime_bench.py BUILD_DIR LOAD_CLIENT [--connections C] [--seconds S]
                              [--max-requests N]

Prints "BENCH py_max_requests ..." and "BENCH py_harakiri ...".
"""
import argparse
import re
import subprocess
import sys
import time

import cluster


def load(client, address, connections, seconds):
    out = subprocess.run([client, address, str(connections), str(seconds)], capture_output=True,
                         text=True, timeout=seconds + 120)
    if out.returncode != 0:
        raise RuntimeError("load client against %s failed: %s%s" % (address, out.stdout,
                                                                  out.stderr))
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", out.stdout)}


def kill_latency(address, timeout=30.0):
    """Seconds from sending a stuck request to the node's closing its connection."""
    start = time.monotonic()
    try:
        cluster.try_uwsgi_get(address, "/stuck", timeout=timeout)
    except OSError:
        pass
    return time.monotonic() - start


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("load_client")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--max-requests", type=int, default=20)
    args = p.parse_args(argv)
    cluster.note("py_max_requests: 2 workers, hello_app.py, uwsgi_load with %d connections for "
                 "%.1f s, max-requests %d with min-worker-lifetime 0 against none; py_harakiri: "
                 "harakiri 2, a request that sleeps 30 s" % (args.connections, args.seconds,
                                                              args.max_requests))
    recycle = ("--max-requests", args.max_requests, "--min-worker-lifetime", 0)
    figures = {}
    for system in ("brood", "uwsgi"):
        for mode, extra in (("off", ()), ("on", recycle)):
            with cluster.Cluster(args.build_dir) as c:
                if system == "brood":
                    node = c.brood("--master", "--processes", 2, "--module", "hello_app", *extra)
                else:
                    node = c.uwsgi("--module", "hello_app", *extra, processes=2)
                figures[system, mode] = load(args.load_client, node.address, args.connections,
                                             args.seconds)
    b_on, u_on = figures["brood", "on"], figures["uwsgi", "on"]
    cluster.bench_line(
        "py_max_requests", max_requests=args.max_requests, connections=args.connections,
        brood_rps="%.0f" % b_on["rps"], brood_rps_off="%.0f" % figures["brood", "off"]["rps"],
        uwsgi_rps="%.0f" % u_on["rps"], uwsgi_rps_off="%.0f" % figures["uwsgi", "off"]["rps"],
        brood_p99_us="%.1f" % b_on["p99_us"], uwsgi_p99_us="%.1f" % u_on["p99_us"],
        brood_errors="%d" % b_on["errors"], uwsgi_errors="%d" % u_on["errors"],
        target_errors="0")
    latency = {}
    for system in ("brood", "uwsgi"):
        with cluster.Cluster(args.build_dir) as c:
            if system == "brood":
                node = c.brood("--master", "--processes", 2, "--module", "stuck_app",
                               "--harakiri", 2)
            else:
                node = c.uwsgi("--module", "stuck_app", "--harakiri", 2, processes=2)
            latency[system] = kill_latency(node.address)
    cluster.bench_line("py_harakiri", harakiri_s=2, brood_kill_s="%.2f" % latency["brood"],
                       uwsgi_kill_s="%.2f" % latency["uwsgi"], target_s="<=3")
    return 0


if __name__ == "__main__":
    sys.exit(main())
