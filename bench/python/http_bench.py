"""Benchmark of issue 13: HTTP with keep-alive. A Python WSGI hello app (hello_app.py: 200,
Content-Type and Content-Length set, "Hello World\\n") behind brood's --http-socket against real
uWSGI's --http11-socket (its --http-socket closes after every request), with the same processes,
driven by wrk in the same run; and the floor: http_floor.c, a minimal C epoll server answering the
same bytes with the same number of processes.

    python3 http_bench.py BUILD_DIR [--processes 2] [--connections 16,2] [--seconds 10]
                          [--repeat 3] [--systems floor,uwsgi,brood,uwsgi-t4,brood-t4]

Commands (each alone on the machine while wrk drives it; nothing is pinned: the server's
processes, its master and wrk's 2 threads share every vCPU, as the issue measured):
  brood  brood --http-socket 127.0.0.1:0 --module hello_app --master --processes P
  uwsgi  uwsgi --plugin python3 --http11-socket 127.0.0.1:0 --module hello_app --master
         --processes P --disable-logging
  floor  http_floor 127.0.0.1 P
  *-t4   the same with --threads 4 (brood's only when `brood --help` lists --threads)
Load: `wrk -t2 -cC -dSs --latency http://ADDR/` after a 1 s warm-up, for each C of
--connections (16: the issue's load; 2: as many connections as uWSGI's workers serve at once, the
fair comparison of latencies); the systems run in turn, --repeat rounds; a system's figures are
the median round (by requests/s).

Prints "BENCH py_http system=S rps=R p50_us=X p99_us=Y errors=E" per system and
"BENCH py_http_ratio ..." with brood/uWSGI requests/s (target >= 1.2), the p99s side by side
(target: brood's <= uWSGI's) and brood/floor. Note on p99: uWSGI's worker serves one connection
at a time, so with C connections and P processes only P connections are ever answered and the
other C-P wait (wrk counts no latency for a request never answered); brood's workers answer all C
connections, so by Little's law each request waits behind C/P others (p50 ~ C/P x service time).
The script also reports how many of the C connections got an answer ("served").
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys

import cluster

HERE = os.path.dirname(os.path.abspath(__file__))
HELLO = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nHello World\n"
UNITS = {"us": 1.0, "ms": 1000.0, "s": 1000000.0}


def to_us(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def wrk(address, connections, seconds):
    """Runs wrk against http://address/: {rps, p50_us, p99_us, errors}."""
    out = subprocess.run(["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds, "--latency",
                          "http://%s/" % address], capture_output=True, text=True,
                         timeout=seconds + 30).stdout
    figures = {"rps": 0.0, "p50_us": None, "p99_us": None, "errors": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        figures["rps"] = float(m.group(1))
    for pct, key in (("50", "p50_us"), ("99", "p99_us")):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, out, re.M)
        if m:
            figures[key] = to_us(m.group(1))
    for m in re.finditer(r"(connect|read|write|timeout) (\d+)", out):
        figures["errors"] += int(m.group(2))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        figures["errors"] += int(m.group(1))
    return figures


def served_connections(address, connections):
    """How many of `connections` kept-alive connections, opened together, get an answer to a GET
    within 1 s (uWSGI: one per worker; brood: all)."""
    host, port = address.rsplit(":", 1)
    socks = [socket.create_connection((host, int(port)), 5) for _ in range(connections)]
    for s in socks:
        s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
    answered = 0
    for s in socks:
        s.settimeout(1.0)
        try:
            if s.recv(4096).startswith(b"HTTP/1.1 200"):
                answered += 1
        except OSError:
            pass
    for s in socks:
        s.close()
    return answered


def check_reply(address):
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), 5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
        data = b""
        while len(data) < len(HELLO):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    if data != HELLO:
        raise RuntimeError("%s answered %r, not the hello bytes" % (address, data))


def floor_binary(build):
    path = os.path.join(build, "bench", "python", "http_floor")
    source = os.path.join(HERE, "http_floor.c")
    if not os.path.exists(path) or os.path.getmtime(source) > os.path.getmtime(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-o", path, source], check=True)
    return path


def brood_has_threads(c):
    out = subprocess.run([c.brood_bin, "--help"], capture_output=True, text=True).stdout
    return re.search(r"--threads\b", out) is not None


def start(c, system, processes):
    """Starts `system` on 127.0.0.1:<ephemeral>; returns its address once it answers."""
    base, _, threads = system.partition("-t")
    extra = ["--threads", threads] if threads else []
    if base == "floor":
        p = c.start("floor", [floor_binary(c.build), "127.0.0.1", processes])
        p.address = p.wait_for(r"listening on (\S+)").group(1)
        return p
    if base == "brood":
        p = c.start("brood", [c.brood_bin, "--http-socket", "127.0.0.1:0", "--pythonpath", HERE,
                              "--module", "hello_app", "--master", "--processes", processes,
                              *extra])
        c._bound(p)
        p.wait_for(r"node ready")
        return p
    p = c.start("uwsgi", ["uwsgi", "--plugin", "python3", "--http11-socket", "127.0.0.1:0",
                          "--pythonpath", HERE, "--module", "hello_app", "--master",
                          "--processes", processes, "--disable-logging", *extra])
    c._bound(p)
    p.wait_for(r"spawned uWSGI worker %d " % processes)
    return p


def measure(c, system, connections, args):
    p = start(c, system, args.processes)
    try:
        check_reply(p.address)
        wrk(p.address, connections, 1)  # warm-up
        figures = wrk(p.address, connections, args.seconds)
        figures["served"] = served_connections(p.address, connections)
        return figures
    finally:
        p.stop()
        c.procs.remove(p)


def median_round(rounds):
    ordered = sorted(rounds, key=lambda f: f["rps"])
    return ordered[len(ordered) // 2]


def ratio(a, b):
    return a / b if a and b else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--connections", default="16,2")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--systems", default="floor,uwsgi,brood,uwsgi-t4,brood-t4")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("http_bench.py: wrk is not installed (Debian wrk, scripts/deps.sh)")
    with cluster.Cluster(args.build) as c:
        systems = args.systems.split(",")
        if "brood-t4" in systems and not brood_has_threads(c):
            cluster.note("brood has no --threads option yet: brood-t4 skipped")
            systems.remove("brood-t4")
        for connections in (int(n) for n in args.connections.split(",")):
            run_level(c, systems, connections, args)


def run_level(c, systems, connections, args):
    """Every system under `connections` wrk connections: BENCH lines."""
    cluster.note("wrk -t2 -c%d -d%ds, %d processes, %d rounds, nothing pinned (%d vCPUs)" %
                 (connections, args.seconds, args.processes, args.repeat,
                  len(cluster.all_cpus())))
    rounds = {s: [] for s in systems}
    for _ in range(args.repeat):
        for s in systems:
            rounds[s].append(measure(c, s, connections, args))
    results = {}
    for s in systems:
        f = median_round(rounds[s])
        results[s] = f
        cluster.bench_line("py_http", system=s, connections=connections,
                           rps=cluster.fmt(f["rps"], 0), p50_us=cluster.fmt(f["p50_us"], 0),
                           p99_us=cluster.fmt(f["p99_us"], 0), errors=f["errors"],
                           served="%d/%d" % (f["served"], connections),
                           rounds="/".join("%.0f" % r["rps"] for r in rounds[s]))
    for suffix in ("", "-t4"):
        b, u, fl = (results.get(n + suffix) for n in ("brood", "uwsgi", "floor"))
        if not b or not u:
            continue
        rps_ratio = ratio(b["rps"], u["rps"])
        cluster.bench_line("py_http_ratio", connections=connections, threads=4 if suffix else 1,
                           brood_vs_uwsgi=cluster.fmt(rps_ratio, 2),
                           brood_p99_us=cluster.fmt(b["p99_us"], 0),
                           uwsgi_p99_us=cluster.fmt(u["p99_us"], 0),
                           brood_vs_floor=cluster.fmt(ratio(b["rps"], fl and fl["rps"]), 2),
                           uwsgi_vs_floor=cluster.fmt(ratio(u["rps"], fl and fl["rps"]), 2),
                           target_rps="met" if (rps_ratio or 0) >= 1.2 else "missed",
                           target_p99="met" if (b["p99_us"] or 1e12) <= (u["p99_us"] or 0)
                           else "missed")


if __name__ == "__main__":
    main()
