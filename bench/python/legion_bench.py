"""Benchmark of issue 15 (legion): three members elect a lord; brood (ZeroMQ, and etcd) against
real uWSGI 2.0.21's legion (its defaults, freq 3 s / tolerance 15 s, and freq 1 / tolerance 3),
measured in the same run.

Members m1, m2, m3 with valor 101, 102, 103, the same secret, each naming the two others
(`legion-node`); uWSGI's with `legion-quorum = 2` (brood's default quorum is the majority, 2).
Each member is a node with one worker (`brood --master --socket 127.0.0.1:0 --processes 1
--legion ...`; `uwsgi --master --processes 1 --socket 127.0.0.1:0 --legion ...`). Their hooks append
"<member> lord|unlord|join|joined|left <unix time> <epoch>" to one log (legion_cluster.py);
every figure is read from that log and the harness's own lines in it (start, killed, cut, heal).

Placement: as root, each member (and etcd) runs in its own network namespace, joined to a bridge
in another namespace by a veth pair (netns.py; addresses 10.213.77.0/24, nothing leaves the
machine; namespaces deleted at the end, also on failure). Not root: loopback ports, and the
partition phase is skipped with a note.

Phases per system, one after the other (systems in turn):
  election   all three started at once: from the start to the first lord hook (election_ms)
  quiet      Q seconds without faults after the lord settled: lord/unlord hooks seen (changes;
             target 0 over 10 minutes: --quiet 600)
  failover   T trials (>= 20): the settled lord's processes get SIGKILL; time to another member's
             lord hook (failover p50/p99/max ms); the member restarts on the same address
  partition  C cuts: the settled lord's link is cut for S seconds and healed (netns only); every
             second with two members acting as lord at once, from the hooks (lord to unlord, or to
             a kill), is summed (two_lord_s, episodes, split into stretches that began during a
             cut or after a heal); cut_failover: cut to a new lord's hook. For brood the same is
             read from the members' own "lord (epoch N)"/"unlord" log lines, written by their
             legion threads when the election decides and stamped on arrival (state_two_lord_*):
             the lordship itself, without the hooks' latency (a hook is a /bin/sh on a queue).
Targets (issue 15, default settings): election <= 1 s, failover p50 <= 400 ms and p99 <= 1 s,
0 s with two lords over >= 100 cuts, 0 lord changes in a 10-minute run without faults.

    python3 legion_bench.py BUILD_DIR [--systems brood,brood-etcd,uwsgi,uwsgi-fast]
        [--trials 20] [--cuts 100] [--uwsgi-cuts 5] [--quiet 30] [--loopback]

Prints "BENCH legion system=S placement=P ..." per system. A brood without legion options
(`brood --help` lists --legion) is skipped with a note, as is brood-etcd without /usr/bin/etcd.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import cluster
import legion_cluster as lc
import netns

ALL = ("brood", "brood-etcd", "uwsgi", "uwsgi-fast")
CUT_SECONDS = {"brood": 1.5, "brood-etcd": 5.0, "uwsgi": 25.0, "uwsgi-fast": 8.0}


def brood_has_legion(build):
    r = subprocess.run([os.path.join(build, "cli", "brood"), "--help"], capture_output=True,
                       text=True)
    return "--legion-node" in r.stdout + r.stderr


class Etcd:
    """A single-member etcd in a temp dir, on the fabric (host "etcd") or on loopback."""

    def __init__(self, tmp, fabric=None):
        if fabric:
            host = fabric.address("etcd")
            client, peer = 2379, 2380
        else:
            host = "127.0.0.1"
            client, peer = lc.free_port_pairs(2)
        self.address = "%s:%d" % (host, client)
        argv = ["etcd", "--name", "bench", "--data-dir", os.path.join(tmp, "etcd.data"),
                "--listen-client-urls", "http://%s" % self.address,
                "--advertise-client-urls", "http://%s" % self.address,
                "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
                "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
                "--initial-cluster", "bench=http://127.0.0.1:%d" % peer,
                "--log-level", "warn"]
        if fabric:
            argv = fabric.wrap("etcd", argv)
        self.log = os.path.join(tmp, "etcd.log")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        # Ready once it serves: its client port accepts connections before that (measured:
        # a status call right after the port opened took 0.55-0.79 s, etcd's own start-up,
        # which the benchmarks then counted as the members' election and placement time).
        deadline = time.monotonic() + 20
        while not self.healthy(fabric):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("etcd did not start: %s" % open(self.log).read()[-1500:])
            time.sleep(0.05)

    def healthy(self, fabric):
        """etcd answers /health with a leader (asked from its namespace when it has one)."""
        if fabric:
            r = subprocess.run(fabric.wrap("etcd", ["etcdctl", "--endpoints", self.address,
                                                    "endpoint", "health"]),
                               capture_output=True)
            return r.returncode == 0
        try:
            with urllib.request.urlopen("http://%s/health" % self.address, timeout=1.0) as r:
                return json.loads(r.read()).get("health") == "true"
        except (OSError, ValueError):
            return False

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def ms(seconds):
    return None if seconds is None else seconds * 1000.0


def run_system(system, args, build, tmp, fabric, figures):
    """Runs every phase for `system`, filling `figures` as it goes (kept when a phase fails)."""
    etcd = Etcd(tmp, fabric) if system == "brood-etcd" else None
    try:
        with lc.Legion(system, build, tmp, fabric,
                       etcd_address=etcd.address if etcd else None) as lg:
            tol = lc.tolerance_seconds(system)
            # election
            t0 = time.time()
            lg.start_all()
            first = lg.wait_event("lord", t0, 3 * tol)
            figures["election_ms"] = cluster.fmt(ms(first.t - t0))
            lg.wait_settled(3 * tol)
            # quiet
            qs = time.time()
            time.sleep(args.quiet)
            qe = time.time()
            changes = [e for e in lg.events() if qs <= e.t <= qe and e.kind in ("lord", "unlord")]
            figures["quiet_s"] = args.quiet
            figures["quiet_lord_changes"] = len(changes)
            # failover after SIGKILL of the lord
            fails, misses = [], 0
            for _ in range(args.trials):
                lord = lg.wait_settled(4 * tol)
                tk = lg.kill(lord)
                try:
                    e = lg.wait_event("lord", tk, 2 * tol, exclude=lord)
                    fails.append(e.t - tk)
                except TimeoutError:
                    misses += 1
                lg.start(lord)
                lg.wait_event("join", tk, 3 * tol, member=lord)
            fails.sort()
            figures["failover_runs"] = len(fails)
            figures["failover_p50_ms"] = cluster.fmt(ms(cluster.percentile(fails, 50)))
            figures["failover_p99_ms"] = cluster.fmt(ms(cluster.percentile(fails, 99)))
            figures["failover_max_ms"] = cluster.fmt(ms(fails[-1] if fails else None))
            if misses:
                figures["failover_missed"] = misses
            # partitions
            cuts = args.cuts if system.startswith("brood") else args.uwsgi_cuts
            if fabric and cuts:
                hold = CUT_SECONDS[system]
                ps, cut_fails, no_new_lord = time.time(), [], 0
                for _ in range(cuts):
                    lord = lg.wait_settled(4 * tol)
                    tc = time.time()
                    fabric.cut(lord)
                    lg.note(lord, "cut", tc)
                    time.sleep(hold)
                    fabric.heal(lord)
                    th = time.time()
                    lg.note(lord, "heal", th)
                    try:  # back in: it hears the others again (bounded; settling follows)
                        lg.wait_event("joined", th, hold, member=lord)
                    except TimeoutError:
                        pass
                    new = [e for e in lg.events()
                           if e.kind == "lord" and e.member != lord and tc < e.t < th]
                    if new:
                        cut_fails.append(new[0].t - tc)
                    else:
                        no_new_lord += 1
                lg.wait_settled(4 * tol)
                pe = time.time()
                events = lg.events()
                two, episodes = lc.two_lord_seconds(events, ps, pe)
                # each stretch with two lords: while the lord's link was cut, or after the heal
                # (the member that was cut takes its place back: one resigns, one is elected)
                stretches = lc.overlaps(events, ps, pe)
                marks = [(e.t, e.kind) for e in events if e.kind in ("cut", "heal")]
                in_cut = []
                for t, _, _ in stretches:
                    last = [k for (u, k) in marks if u <= t]
                    in_cut.append(bool(last) and last[-1] == "cut")
                cut_fails.sort()
                figures["cuts"] = cuts
                figures["cut_s"] = hold
                figures["two_lord_s"] = cluster.fmt(two, 3)
                figures["two_lord_episodes"] = episodes
                figures["two_lord_max_ms"] = cluster.fmt(
                    ms(max(d for _, d, _ in stretches)) if stretches else 0.0)
                figures["two_lord_during_cut"] = sum(in_cut)
                figures["two_lord_after_heal"] = len(in_cut) - sum(in_cut)
                figures["cut_failover_p50_ms"] = cluster.fmt(
                    ms(cluster.percentile(cut_fails, 50)))
                figures["cut_failover_max_ms"] = cluster.fmt(ms(cut_fails[-1] if cut_fails
                                                                else None))
                if no_new_lord:
                    figures["cuts_without_new_lord"] = no_new_lord
                if lg.kind == "brood":  # the same from the members' own lord/unlord lines
                    state = lc.overlaps(lg.state_events(), ps, pe)
                    figures["state_two_lord_s"] = cluster.fmt(sum(d for _, d, _ in state), 3)
                    figures["state_two_lord_episodes"] = len(state)
                    figures["state_two_lord_max_ms"] = cluster.fmt(
                        ms(max(d for _, d, _ in state)) if state else 0.0)
            elif cuts:
                figures["cuts"] = "skipped"
            events = lg.events()
            figures["terms"] = len(lc.lord_intervals(events))
            # every phase (restarts after the kills included): stretches with two lords
            whole = lc.overlaps(events, t0, time.time())
            figures["two_lord_whole_run"] = len(whole)
            figures["two_lord_whole_run_s"] = cluster.fmt(sum(d for _, d, _ in whole), 3)
            if lg.kind == "brood":
                whole = lc.overlaps(lg.state_events(), t0, time.time())
                figures["state_two_lord_whole_run"] = len(whole)
            epochs = [e.epoch for e in events if e.kind == "lord" and e.epoch]
            if epochs:
                figures["last_epoch"] = epochs[-1]
    finally:
        if etcd:
            etcd.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--systems", default=",".join(ALL))
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--cuts", type=int, default=100, help="cuts for brood's systems")
    ap.add_argument("--uwsgi-cuts", type=int, default=5, help="cuts for uWSGI's (slow: 25 s)")
    ap.add_argument("--quiet", type=float, default=30.0, help="seconds without faults")
    ap.add_argument("--loopback", action="store_true", help="no namespaces even as root")
    ap.add_argument("--keep", action="store_true", help="keep the logs (their folder is printed)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    systems = [s for s in args.systems.split(",") if s]
    for s in systems:
        if s not in ALL:
            sys.exit("legion_bench: unknown system %r (known: %s)" % (s, ", ".join(ALL)))
    if any(s.startswith("brood") for s in systems) and not brood_has_legion(build):
        cluster.note("brood in %s has no legion options (--legion-node): brood skipped" % build)
        systems = [s for s in systems if not s.startswith("brood")]
    if "brood-etcd" in systems and not shutil.which("etcd"):
        cluster.note("etcd is not installed (Debian etcd-server): brood-etcd skipped")
        systems.remove("brood-etcd")

    reason = "--loopback" if args.loopback else netns.available()
    tmp = tempfile.mkdtemp(prefix="brood-legion-bench-")
    fabric = None
    try:
        if reason is None:
            fabric = netns.Fabric(["m1", "m2", "m3", "etcd"])
            placement = "netns"
        else:
            placement = "loopback"
        load = " ".join("%.2f" % x for x in os.getloadavg())
        cluster.note("legion: 3 members (valor 101-103, quorum 2), %s; %s; trials %d, cuts %d "
                     "(brood) / %d (uWSGI), quiet %.0f s; nothing pinned (%d vCPUs, load average "
                     "%s)" % (", ".join(systems),
                              "members in network namespaces on a veth bridge" if fabric else
                              "loopback ports (%s)" % reason,
                              args.trials, args.cuts, args.uwsgi_cuts, args.quiet,
                              os.cpu_count(), load))
        for system in systems:
            started, figures = time.time(), {}
            try:
                run_system(system, args, build, tmp, fabric, figures)
            except (RuntimeError, TimeoutError) as e:
                cluster.note("%s failed: %s" % (system, e))
                figures["error"] = type(e).__name__
            figures["seconds"] = "%.0f" % (time.time() - started)
            cluster.bench_line("legion", system=system, placement=placement, **figures)
    finally:
        if fabric:
            fabric.close()
        if args.keep:
            cluster.note("logs kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
