"""Three-member legions of brood or real uWSGI 2.0.21 for the legion benchmark, its netns test and
examples/legion: the members' command lines, one shared event log written by their hooks, the
members in network namespaces (netns.Fabric, as root) or on loopback ports, and the reading of that
log into lord intervals.

Every member's hooks append one line to the same log (O_APPEND, one short write per line):
    "<member> lord|unlord|join|joined|left <unix time with fraction> <epoch or ->"
(`legion-lord`, `legion-unlord`, `legion-join`, `legion-node-joined`, `legion-node-left`; the
epoch is brood's BROOD_LEGION_EPOCH, "-" for uWSGI). The harness appends its own actions to the
same log: "<member> start|killed|stopped|cut|heal <time> -".

    with Legion(system, build_dir, log_dir, fabric=None) as lg:
        lg.start_all(); lg.wait_lord(); lg.kill(lg.lord()); ...
"""
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "bench"
SECRET = "aes-128-cbc:s3cr3t"  # uWSGI's spelling; brood accepts it as written
HOOKS = {"lord": "lord", "unlord": "unlord", "join": "join", "node-joined": "joined",
         "node-left": "left"}
PORT = 17001  # in namespaces every member has its own address; on loopback, free ports instead
_PR_SET_PDEATHSIG = 1
PYTHON = "/usr/bin/python3"
# Copies stdin to stdout line by line, each line prefixed with "<unix time> ".
_STAMPER = ("import sys, time\n"
            "for line in sys.stdin.buffer:\n"
            "    sys.stdout.buffer.write(b'%.6f ' % time.time() + line)\n"
            "    sys.stdout.flush()\n")
_STATE = re.compile(r"^(\d+\.\d+) .*legion '[^']+': (lord|unlord) \(epoch (\d+)\)$", re.M)

# name -> (kind, extra options). Timing: brood's defaults (heartbeat 100 ms, lease 400 ms);
# uWSGI's defaults (freq 3 s, tolerance 15 s) and the faster setting (freq 1, tolerance 3).
SYSTEMS = {
    "brood": ("brood", []),
    "brood-etcd": ("brood", ["etcd"]),
    "uwsgi": ("uwsgi", []),
    "uwsgi-fast": ("uwsgi", ["--legion-freq", "1", "--legion-tolerance", "3"]),
}


def settle_seconds(system):
    """How long the lord must stay unchanged to count as settled (a few heartbeats/announces)."""
    if system == "uwsgi":
        return 10.0
    if system == "uwsgi-fast":
        return 4.0
    return 1.5


def tolerance_seconds(system):
    """An upper bound on one failover, for deadlines."""
    return {"uwsgi": 40.0, "uwsgi-fast": 15.0}.get(system, 10.0)


def free_port_pairs(n):
    """n ports free for both TCP and UDP on 127.0.0.1 (brood binds TCP, uWSGI's legion UDP)."""
    ports = []
    while len(ports) < n:
        with socket.socket() as t, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            try:
                u.bind(("127.0.0.1", port))
            except OSError:
                continue
            if port not in ports:
                ports.append(port)
    return ports


class Event:
    __slots__ = ("member", "kind", "t", "epoch")

    def __init__(self, member, kind, t, epoch):
        self.member, self.kind, self.t, self.epoch = member, kind, t, epoch

    def __repr__(self):
        return "%s %s %.6f %s" % (self.member, self.kind, self.t, self.epoch)


def read_events(path):
    """Every well-formed line of the log, in time order (lines of one member keep their order)."""
    events = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                try:
                    t = float(parts[2])
                except ValueError:
                    continue
                epoch = parts[3] if len(parts) > 3 and parts[3] != "-" else None
                events.append(Event(parts[0], parts[1], t, epoch))
    except FileNotFoundError:
        pass
    events.sort(key=lambda e: e.t)
    return events


def lord_intervals(events, end=None):
    """[(member, start, stop)] while each member acted as lord (from its lord hook to its unlord
    hook, or to its kill/stop by the harness); stop None: still lord at `end` (or at the last
    event when end is None)."""
    current, out = {}, []
    for e in events:
        if e.kind == "lord":
            if e.member not in current:
                current[e.member] = e.t
        elif e.kind in ("unlord", "killed", "stopped") and e.member in current:
            out.append((e.member, current.pop(e.member), e.t))
    for member, start in current.items():
        out.append((member, start, end))
    return out


def two_lord_seconds(events, start, end):
    """Seconds within [start, end] when two or more members acted as lord at once, and the number
    of separate episodes."""
    edges = []
    for _, a, b in lord_intervals(events, end):
        b = end if b is None else b
        a, b = max(a, start), min(b, end)
        if b > a:
            edges += [(a, 1), (b, -1)]
    edges.sort(key=lambda x: (x[0], x[1]))  # at one instant, ends before starts
    total, depth, prev, episodes = 0.0, 0, None, 0
    for t, d in edges:
        if depth >= 2:
            total += t - prev
        depth += d
        if d > 0 and depth == 2:
            episodes += 1
        prev = t
    return total, episodes


def overlaps(events, start, end):
    """[(t, seconds, members)]: each stretch within [start, end] with two or more lords."""
    edges = []
    for m, a, b in lord_intervals(events, end):
        b = end if b is None else b
        a, b = max(a, start), min(b, end)
        if b > a:
            edges += [(a, 1, m), (b, -1, m)]
    edges.sort(key=lambda x: (x[0], x[1]))
    out, lords, since = [], set(), None
    for t, d, m in edges:
        if d > 0:
            lords.add(m)
            if len(lords) == 2:
                since, who = t, sorted(lords)
        else:
            if len(lords) == 2 and since is not None:
                out.append((since, t - since, who))
            lords.discard(m)
    return out


def lord_at(events, t=None):
    """The members acting as lord at time t (default: after the last event)."""
    return sorted(m for m, a, b in lord_intervals(events) if a <= (t or float("inf")) and
                  (b is None or (t is not None and b > t)))


class Legion:
    """Three members m1..m3 (valor 101..103) of `system`, their events in `log`. brood_bin: the
    brood executable (default BUILD_DIR/cli/brood)."""

    def __init__(self, system, build_dir, tmp, fabric=None, hosts=("m1", "m2", "m3"),
                 etcd_address=None, brood_bin=None):
        self.system = system
        self.kind, self.extra = SYSTEMS[system]
        self.brood_bin = brood_bin or os.path.join(os.path.abspath(build_dir), "cli", "brood")
        self.tmp = tmp
        self.fabric = fabric
        self.hosts = list(hosts)
        self.log = os.path.join(tmp, "%s-events.log" % system)
        self.etcd_address = etcd_address
        if fabric:
            self.addr = {h: "%s:%d" % (fabric.address(h), PORT) for h in self.hosts}
        else:
            self.addr = {h: "127.0.0.1:%d" % p
                         for h, p in zip(self.hosts, free_port_pairs(len(self.hosts)))}
        self.procs = {}
        self.starts = {}
        open(self.log, "a").close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the members --------------------------------------------------------------------------
    def valor(self, host):
        return 101 + self.hosts.index(host)

    def argv(self, host):
        line = ("echo %s {event} $(date +%%s.%%N) ${{BROOD_LEGION_EPOCH:--}} >> %s"
                % (host, self.log))
        legion = "%s %s %d %s" % (NAME, self.addr[host], self.valor(host), SECRET)
        if self.kind == "uwsgi":
            if not shutil.which("uwsgi"):
                raise RuntimeError("uwsgi is not installed (Debian uwsgi-core)")
            argv = ["uwsgi", "--master", "--processes", "1", "--socket", "127.0.0.1:0",
                    "--legion", legion, "--legion-quorum", "%s 2" % NAME, *self.extra]
        else:
            argv = [self.brood_bin, "--master", "--socket", "127.0.0.1:0", "--processes", "1",
                    "--legion", legion]
            if "etcd" in self.extra:
                argv += ["--legion-etcd", "%s http://%s" % (NAME, self.etcd_address)]
        for other in self.hosts:
            if other != host:
                argv += ["--legion-node", "%s %s" % (NAME, self.addr[other])]
        for option, event in HOOKS.items():
            argv += ["--legion-%s" % option, "%s cmd:%s" % (NAME, line.format(event=event))]
        return self.fabric.wrap(host, argv) if self.fabric else argv

    def note(self, host, kind, t=None):
        with open(self.log, "a") as f:
            f.write("%s %s %.6f -\n" % (host, kind, time.time() if t is None else t))

    def start(self, host):
        """Starts the member. Its output goes through a stamper process (its own, outside the
        member's session) that prefixes each line with the time it arrived, so the member's own
        "legion 'NAME': lord (epoch N)" lines, logged by its legion thread when the election
        decides, time the state itself, apart from the hooks (state_events())."""
        def setup():
            ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))

        out = open(os.path.join(self.tmp, "%s-%s.log" % (self.system, host)), "ab")
        self.starts[host] = time.time()
        self.note(host, "start", self.starts[host])
        p = subprocess.Popen(self.argv(host), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=setup,
                             cwd=self.tmp)
        p.stamper = subprocess.Popen([PYTHON, "-c", _STAMPER], stdin=p.stdout, stdout=out,
                                     preexec_fn=setup)
        p.stdout.close()
        out.close()
        self.procs[host] = p

    def start_all(self):
        for h in self.hosts:
            self.start(h)

    def kill(self, host, kind="killed"):
        """SIGKILL to every process of the member (its session); the time is logged first."""
        p = self.procs.pop(host, None)
        if p is None:
            return None
        t = time.time()
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.note(host, kind, t)
        p.wait()
        try:  # EOF once the member's processes are gone
            p.stamper.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.stamper.kill()
            p.stamper.wait()
        return t

    def close(self):
        for h in list(self.procs):
            self.kill(h, "stopped")

    def output(self, host):
        try:
            with open(os.path.join(self.tmp, "%s-%s.log" % (self.system, host)), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def check_alive(self):
        for h, p in self.procs.items():
            if p.poll() is not None:
                raise RuntimeError("%s member %s exited (%s):\n%s" % (
                    self.system, h, p.returncode, self.output(h)[-2000:]))

    def state_events(self):
        """The lord/unlord decisions as the members logged them (brood: "legion 'NAME': lord
        (epoch N)", stamped on arrival) and the harness's kill/stop lines: Events like the
        hooks', for lord_intervals()/overlaps(). Empty for uWSGI (its hooks run on its legion
        thread, so the hook log is its state)."""
        events = [e for e in self.events() if e.kind in ("killed", "stopped")]
        for host in self.hosts:
            for m in _STATE.finditer(self.output(host)):
                events.append(Event(host, m.group(2), float(m.group(1)), m.group(3)))
        events.sort(key=lambda e: e.t)
        return events

    # -- the log ------------------------------------------------------------------------------
    def events(self):
        return read_events(self.log)

    def lords(self):
        return lord_at(self.events())

    def wait(self, predicate, timeout, what):
        """Polls the log every 10 ms until predicate(events) returns a true value (returned)."""
        deadline = time.monotonic() + timeout
        while True:
            found = predicate(self.events())
            if found:
                return found
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError("%s: no %s within %.0f s; events:\n%s" % (
                    self.system, what, timeout, "\n".join(map(repr, self.events()[-20:]))))
            time.sleep(0.01)

    def wait_event(self, kind, after, timeout, member=None, exclude=None):
        """The first `kind` event later than `after` (by `member`, not by `exclude`)."""
        def find(events):
            for e in events:
                if e.kind == kind and e.t > after and (member is None or e.member == member) \
                        and e.member != exclude:
                    return e
            return None
        return self.wait(find, timeout, "%s %s after %.3f" % (member or "any member", kind, after))

    def wait_settled(self, timeout):
        """Waits until exactly one member is lord and no lord/unlord event happened for
        settle_seconds; returns that lord."""
        quiet = settle_seconds(self.system)

        def settled(events):
            changes = [e.t for e in events if e.kind in ("lord", "unlord", "killed", "start")]
            lords = lord_at(events)
            if len(lords) == 1 and (not changes or time.time() - changes[-1] >= quiet):
                return lords[0]
            return None
        return self.wait(settled, timeout, "settled lord")
