"""Benchmark (iii) of issue 3: WSGI hello-world requests per second, brood against real uWSGI
2.0 with the same number of workers, the same app file (hello_app.py) and the same client.

The client is uwsgi_load (C, epoll, one thread): CONNECTIONS concurrent connections, each
sending a GET over the uwsgi protocol and reading the raw HTTP reply until the node closes, as
nginx's uwsgi_pass does. uWSGI runs with --master --disable-logging (brood logs no requests
either). Nothing is pinned: client and workers share both vCPUs as in production.

    python3 wsgi_bench.py BUILD_DIR LOAD_CLIENT [--workers W] [--connections C] [--seconds S]
                          [--repeat R]

Each figure is the median of R runs, the runs of the two systems interleaved.

Prints "BENCH py_wsgi_hello ...".
"""
import argparse
import re
import statistics
import subprocess
import sys

import cluster


def load(client, address, connections, seconds):
    """Runs the load client; returns its figures as a dict of floats."""
    out = subprocess.run([client, address, str(connections), str(seconds)], capture_output=True,
                         text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError("load client against %s failed: %s%s" % (address, out.stdout,
                                                                  out.stderr))
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", out.stdout)}


def check_hello(node):
    status, body = cluster.uwsgi_get(node.address, "/")
    if status != 200 or body != b"Hello World\n":
        raise RuntimeError("%s answered %d %r" % (node.argv[0], status, body[:200]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("load_client")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    cluster.note("py_wsgi_hello: %d workers each, hello_app.py, client uwsgi_load with %d "
                 "connections (a new connection per request), median of %d runs of %.1f s after a "
                 "0.5 s warm-up, nothing pinned" % (args.workers, args.connections, args.repeat,
                                                    args.seconds))
    with cluster.Cluster(args.build_dir) as c:
        brood = c.brood("--master", "--processes", args.workers, "--module", "hello_app")
        uwsgi = c.uwsgi("--module", "hello_app", processes=args.workers)
        targets = (("brood", brood), ("uwsgi", uwsgi))
        for _, node in targets:
            check_hello(node)
            load(args.load_client, node.address, args.connections, 0.5)
        runs = {name: [] for name, _ in targets}
        for _ in range(args.repeat):  # interleaved: a disturbance hits both alike
            for name, node in targets:
                runs[name].append(load(args.load_client, node.address, args.connections,
                                       args.seconds))
    b, u = ({k: statistics.median(r[k] for r in runs[name]) for k in runs[name][0]}
            for name in ("brood", "uwsgi"))
    cluster.bench_line(
        "py_wsgi_hello", workers=args.workers, connections=args.connections,
        brood_rps="%.0f" % b["rps"], uwsgi_rps="%.0f" % u["rps"],
        ratio="%.2f" % (b["rps"] / u["rps"]), target_ratio=">=1.5",
        brood_p50_us="%.1f" % b["p50_us"], uwsgi_p50_us="%.1f" % u["p50_us"],
        brood_p99_us="%.1f" % b["p99_us"], uwsgi_p99_us="%.1f" % u["p99_us"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
