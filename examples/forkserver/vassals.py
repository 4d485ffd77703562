"""Writes the example's vassal files one at a time into the emperor's directory and times each
from the file's appearance to its first HTTP answer (examples/forkserver/run.sh).

    vassals.py VASSALS_DIR FORK_SOCKET STATS_SOCKET APP_DIR

It waits for the base vassal (base.ini, already in VASSALS_DIR) to serve FORK_SOCKET, then adds
one.ini (2 processes) and two.ini (4 processes), both forked from the base, and exec.ini (the
same app, 2 processes), which the emperor starts with exec (it is named by --vassal-fork-base).
Each vassal has its own loopback HTTP port. Prints the times and the emperor's stats.
"""
import http.client
import json
import os
import socket
import sys
import time

VASSALS = (("one.ini", 2, "forked from the base"), ("two.ini", 4, "forked from the base"),
           ("exec.ini", 2, "exec'd"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, timeout):
    """The body of GET / on 127.0.0.1:port, or None while nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/")
        reply = conn.getresponse()
        body = reply.read()
        return body if reply.status == 200 else None
    except OSError:
        return None
    finally:
        conn.close()


def add_vassal(directory, name, text, port, timeout=30.0):
    """Renames the vassal file into `directory`; returns (seconds to the first answer, body)."""
    staging = os.path.join(os.path.dirname(directory), name + ".new")
    with open(staging, "w") as f:
        f.write(text)
    start = time.monotonic()
    os.rename(staging, os.path.join(directory, name))
    while time.monotonic() - start < timeout:
        body = http_get(port, timeout)
        if body is not None:
            return time.monotonic() - start, body
        time.sleep(0.0005)
    sys.exit("vassals.py: %s did not answer on port %d within %.0f s" % (name, port, timeout))


def stats(path):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        data = b"".join(iter(lambda: s.recv(65536), b""))
    return json.loads(data)


def main():
    directory, fork_socket, stats_socket, app_dir = sys.argv[1:5]
    start = time.monotonic()
    while not os.path.exists(fork_socket):
        if time.monotonic() - start > 30.0:
            sys.exit("vassals.py: the base never served %s" % fork_socket)
        time.sleep(0.01)
    print("base.ini: imported app.py (its import sleeps 2 s) and serves fork requests on %s "
          "(%.1f s after the emperor started)" % (fork_socket, time.monotonic() - start))
    times = {}
    for name, processes, how in VASSALS:
        port = free_port()
        text = ("[uwsgi]\nhttp-socket = 127.0.0.1:%d\nmaster = true\nprocesses = %d\n"
                "module = app\npythonpath = %s\n" % (port, processes, app_dir))
        seconds, body = add_vassal(directory, name, text, port)
        times[name] = seconds
        print("%-8s (%s, %d processes, port %d): first answer %7.1f ms after its file appeared:"
              " %s" % (name, how, processes, port, seconds * 1000.0, body.decode().strip()))
    fastest = max(times["one.ini"], times["two.ini"])
    print("forked vassals answered %.0fx sooner than the exec'd one" % (times["exec.ini"] / fastest))
    for v in stats(stats_socket)["vassals"]:
        print("  emperor-stats: %-8s pid %-6d ready %d adopted %s" % (
            v["id"], v["pid"], v["ready"], v.get("adopted", "?")))


if __name__ == "__main__":
    main()
