"""The broodlord demo's load generator and watcher (run.sh starts it).

    load.py ADDR EMPEROR_STATS [--clients 16] [--seconds 6] [--idle 3] [--host HOST]

Sends one request to the vassal at ADDR (its worker's pid), then runs CLIENTS closed-loop clients
(threads; one uwsgi-protocol GET per connection, as nginx sends it) for SECONDS, while a watcher
reads the emperor's stats (EMPEROR_STATS, a unix socket) every 100 ms and prints each zerg that
appears or leaves. Every second it prints how many answers came, and from how many zergs. After
the load it waits (at most idle + 10 s) for every zerg to leave. Exit status 0 when zergs came
under the load, served, and all left; 1 otherwise, with the reason. Every wait is bounded.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import uwsgi_get  # noqa: E402  (examples/uwsgi_get.py)

PERIOD = 0.1
HOST = "localhost"  # the requests' Host (--host): a router's routing key


def emperor_stats(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2.0)
        s.connect(path)
        doc = b"".join(iter(lambda: s.recv(65536), b""))
    return json.loads(doc.decode("utf-8", "replace"), strict=False)


def zergs_listed(path):
    """{pid: name} of the zergs in the emperor's stats (flagged "zerg", or named "...:zerg")."""
    return {v.get("pid", 0): v.get("id", "?") for v in emperor_stats(path).get("vassals", [])
            if v.get("zerg") or ":zerg" in str(v.get("id", ""))}


def served_by(address, timeout=10.0):
    """The pid that served one GET (None on failure)."""
    try:
        status, body = uwsgi_get.get(address, "/", timeout, HOST)
    except OSError:
        return None
    words = body.split()
    ok = status.split()[1:2] == ["200"] and words and words[-1].isdigit()
    return int(words[-1]) if ok else None


class Demo:
    def __init__(self, address, stats, clients, seconds, idle):
        self.address, self.stats = address, stats
        self.clients, self.seconds, self.idle = clients, seconds, idle
        self.lock = threading.Lock()
        self.answers = []  # (t, pid) of every answer; pid None: a failed request
        self.alive = {}  # zerg pid -> name, as last listed
        self.zergs_seen = set()
        self.stats_failed = False
        self.load_end = None
        self.t0 = None

    def say(self, text):
        print("  %+5.1f s  %s" % (time.monotonic() - self.t0, text), flush=True)

    def client(self):
        while time.monotonic() - self.t0 < self.seconds:
            pid = served_by(self.address)
            with self.lock:
                self.answers.append((time.monotonic() - self.t0, pid))

    def watch(self):
        """Reads the emperor's stats; prints zergs appearing and leaving."""
        try:
            now = {pid: name for pid, name in zergs_listed(self.stats).items() if pid > 0}
        except (OSError, ValueError) as e:
            if not self.stats_failed:
                self.say("emperor stats unreadable: %r" % e)
            self.stats_failed = True
            return
        alive = len(self.alive)
        for pid in sorted(self.alive.keys() - now.keys()):
            alive -= 1
            self.say("zerg pid %d left: %d alive" % (pid, alive))
        for pid in sorted(now.keys() - self.alive.keys()):
            alive += 1
            self.zergs_seen.add(pid)
            self.say("zerg %s started (pid %d): %d alive" % (now[pid], pid, alive))
        self.alive = now

    def run(self):
        worker = served_by(self.address)
        if worker is None:
            sys.exit("load.py: the vassal at %s does not answer" % self.address)
        print("the vassal's worker is pid %d; %d clients for %.0f s (0.5 s a request, one "
              "worker: it stays busy and asks for reinforcements)" % (
                  worker, self.clients, self.seconds), flush=True)
        self.t0 = time.monotonic()
        threads = [threading.Thread(target=self.client, daemon=True)
                   for _ in range(self.clients)]
        for th in threads:
            th.start()
        next_report = 1.0
        while any(th.is_alive() for th in threads):
            if time.monotonic() - self.t0 > self.seconds + 15:
                sys.exit("load.py: requests still running 15 s after the load (a hang?)")
            self.watch()
            t = time.monotonic() - self.t0
            if t >= next_report and t <= self.seconds + 0.5:
                with self.lock:
                    last = [pid for at, pid in self.answers if next_report - 1 <= at < next_report]
                zergs = {pid for pid in last if pid is not None and pid != worker}
                self.say("last second: %d answers, %d of them from %d zerg(s)" % (
                    len(last), sum(1 for pid in last if pid in zergs), len(zergs)))
                next_report += 1.0
            time.sleep(PERIOD)
        end = self.t0 + self.seconds
        total = len(self.answers)
        failed = sum(1 for _, pid in self.answers if pid is None)
        zerg_pids = {pid for _, pid in self.answers if pid not in (None, worker)}
        by_zergs = sum(1 for _, pid in self.answers if pid in zerg_pids)
        print("load stopped: %d requests, %d failed, %d served by %d zerg(s)" % (
            total, failed, by_zergs, len(zerg_pids)), flush=True)
        if not self.zergs_seen:
            sys.exit("load.py: no zerg came under the load: the vassal sent no SOS "
                     "(vassal-sos, vassal-sos-backlog) or the emperor started none "
                     "(emperor-broodlord); "
                     "see the emperor's log")
        deadline = end + self.idle + 10
        while self.alive and time.monotonic() < deadline:
            time.sleep(PERIOD)
            self.watch()
        if self.alive:
            sys.exit("load.py: %d zerg(s) still alive %.0f s after the load (idle = %d, "
                     "die-on-idle)" % (len(self.alive), time.monotonic() - end, self.idle))
        print("all %d zerg(s) left %.1f s after the load stopped (idle = %d, die-on-idle)" % (
            len(self.zergs_seen), time.monotonic() - end, self.idle), flush=True)
        if not zerg_pids:
            sys.exit("load.py: zergs started but none served a request (zerg attach?)")
        if failed:
            sys.exit("load.py: %d requests failed" % failed)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("address")
    p.add_argument("emperor_stats")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=6.0)
    p.add_argument("--idle", type=int, default=3)
    p.add_argument("--host", default="localhost")
    a = p.parse_args()
    globals()["HOST"] = a.host
    Demo(a.address, a.emperor_stats, a.clients, a.seconds, a.idle).run()


if __name__ == "__main__":
    main()
