"""Three brood emperors in network namespaces (netns.Fabric, as root) sharing one vassal directory
through `emperor = legion:NAME,DIR` (docs/legion.md "Placement"), for the placement benchmark
(placement_bench.py) and its netns test (tests/python/test_placement_netns.py).

The vassals are brood nodes (`socket = :PORT`, one worker, no app): each answers uWSGI's ping
(modifier1 100) on its own port in the namespace of the member that runs it, so a member's
vassals are seen by pinging 127.0.0.1:PORT from inside that member's namespace (a thread that
entered it with setns(2): InNs).

The records: every vassal's `exec-asap` hook appends "start VASSAL MEMBER PID TIME" to one shared
file (the namespaces share the filesystem; MEMBER from the emperor's environment, PID the vassal's
master, TIME CLOCK_REALTIME from date(1)) before the node binds its socket. A tracker process
(this file run as `placement_cluster.py track FILE`) reads the file as it grows, opens a pidfd on
each PID, appends "fork VASSAL MEMBER PID TIME" with the moment that process began (its start
in /proc/PID/stat: the emperor's fork, up to a second before its hook ran under load) and
"stop VASSAL MEMBER PID TIME" when it exits, whatever killed it (a stop, a fenced SIGKILL, or the
PDEATHSIG of a SIGKILLed emperor). A run lasts from its fork to its exit: two copies are ordered,
and their overlap measured, by when their processes existed, not by when their hooks ran. A table watcher (thread)
appends "leaving VASSAL OLD_MEMBER TIME" the first time any member's emperor-stats shows a
planned hand-over of VASSAL away from OLD_MEMBER ("leaving VASSAL OLD_MEMBER - TIME"), and the
harness its own "up|cut|heal|killed|stopped MEMBER - - TIME" lines. read_runs() turns the file into runs [start, stop) per vassal and member.

    with netns.Fabric(["m1", "m2", "m3"]) as fab, Placement(brood, tmp, fab, vassals=12) as pl:
        pl.start_all(); pl.wait_spread(...); fab.cut("m1"); ...
"""
import concurrent.futures
import ctypes
import errno
import json
import os
import select
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

NAME = "pl"
SECRET = "s3cr3t"
LEGION_PORT = 17001
STATS_PORT = 5000
VASSAL_PORT = 20000
PYTHON = "/usr/bin/python3"
PING = b"\x64\x00\x00\x00"  # modifier1 100 (ping), size 0, modifier2 0
_CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
_STAMPER = ("import sys, time\n"
            "for line in sys.stdin.buffer:\n"
            "    sys.stdout.buffer.write(b'%.6f ' % time.time() + line)\n"
            "    sys.stdout.flush()\n")


def _pdeathsig():
    _libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))


def vassal_name(i):
    return "v%03d" % i


def vassal_port(name):
    return VASSAL_PORT + int(name[1:4])


# -- records -------------------------------------------------------------------------------------
class Run:
    __slots__ = ("vassal", "member", "pid", "start", "stop")

    def __init__(self, vassal, member, pid, start):
        self.vassal, self.member, self.pid, self.start, self.stop = vassal, member, pid, start, None

    def end(self, now):
        return now if self.stop is None else self.stop

    def __repr__(self):
        return "%s@%s pid %d [%.3f, %s)" % (self.vassal, self.member, self.pid, self.start,
                                           "-" if self.stop is None else "%.3f" % self.stop)


def read_lines(path):
    """[(kind, a, b, pid, t)] in file order; malformed lines skipped."""
    out = []
    try:
        with open(path) as f:
            for line in f:
                p = line.split()
                if len(p) != 5:
                    continue
                try:
                    out.append((p[0], p[1], p[2], int(p[3]) if p[3] != "-" else None,
                                float(p[4])))
                except ValueError:
                    continue
    except FileNotFoundError:
        pass
    return out


def read_runs(path):
    """Every vassal run [start, stop) recorded, in start order (stop None: still running)."""
    runs, open_by_pid = [], {}
    for kind, vassal, member, pid, t in read_lines(path):
        # pid 1 (or none): the hook's shell outlived a vassal killed while it ran (its $PPID is
        # then the reaper's); that vassal's start is not a run
        if kind == "start" and pid is not None and pid > 1:
            r = Run(vassal, member, pid, t)
            runs.append(r)
            open_by_pid[pid] = r
        elif kind == "fork":
            r = open_by_pid.get(pid)
            if r is not None:
                r.start = min(r.start, t)
        elif kind == "stop":
            r = open_by_pid.pop(pid, None)
            if r is not None:
                r.stop = max(t, r.start)
    runs.sort(key=lambda r: r.start)
    return runs


def marks(path, kinds):
    """[(kind, a, b, t)] of the harness's lines ("cut m1 -") and the watcher's ("leaving v001
    m1") of `kinds`, in file order."""
    return [(k, a, b, t) for k, a, b, _, t in read_lines(path) if k in kinds]


def overlaps(runs, now):
    """[(vassal, old_run, new_run, seconds)]: each pair of runs of one vassal on two different
    members that were alive at the same time (old_run started first)."""
    by_vassal = {}
    for r in runs:
        by_vassal.setdefault(r.vassal, []).append(r)
    out = []
    for vassal, rs in by_vassal.items():
        for i, a in enumerate(rs):
            for b in rs[i + 1:]:
                if b.start >= a.end(now):
                    continue
                if a.member == b.member:
                    continue
                d = min(a.end(now), b.end(now)) - b.start
                if d > 0:
                    out.append((vassal, a, b, d))
    return out


def began(pid):
    """When process `pid` began (CLOCK_REALTIME), from its start in /proc/PID/stat (clock ticks
    since boot, 10 ms here); None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            ticks = int(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None
    now, boot = time.time(), time.clock_gettime(time.CLOCK_BOOTTIME)
    return now - (boot - ticks / os.sysconf("SC_CLK_TCK"))


def track(path):
    """The tracker: appends a fork line (when the process began) for every started vassal
    process, and a stop line once it exits."""
    fd_out = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    watched = {}
    poller = select.poll()
    buf, pos = b"", 0

    def stopped(vassal, member, pid):
        os.write(fd_out, b"stop %s %s %d %.6f\n" % (vassal, member, pid, time.time()))

    def forked(vassal, member, pid, t):
        os.write(fd_out, b"fork %s %s %d %.6f\n" % (vassal, member, pid, t))

    with open(path, "rb") as f:
        while True:
            f.seek(pos)
            data = f.read()
            pos += len(data)
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                p = line.split()
                if len(p) != 5 or p[0] != b"start":
                    continue
                try:
                    pid = int(p[3])
                    # the vassal's master: a brood process run on the vassal's file (if it died
                    # before its hook's shell started, $PPID names another process)
                    with open("/proc/%d/cmdline" % pid, "rb") as c:
                        if b"brood" not in c.read() or pid <= 1:
                            raise ValueError(pid)
                    fd = os.pidfd_open(pid)
                except (ValueError, OSError):
                    stopped(p[1], p[2], int(p[3]) if p[3].isdigit() else 0)
                    continue
                t = began(pid)  # read just after its cmdline: the same process
                if t is not None:
                    forked(p[1], p[2], pid, t)
                watched[fd] = (p[1], p[2], pid)
                poller.register(fd, select.POLLIN)
            for fd, _ in poller.poll(5):
                vassal, member, pid = watched.pop(fd)
                stopped(vassal, member, pid)
                poller.unregister(fd)
                os.close(fd)


# -- inside a namespace ---------------------------------------------------------------------------
def _enter(ns):
    fd = os.open("/var/run/netns/%s" % ns, os.O_RDONLY)
    try:
        if _libc.setns(fd, _CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns(%s): %s" % (ns, os.strerror(e)))
    finally:
        os.close(fd)


class InNs:
    """Calls run on one thread that entered network namespace `ns` (sockets it makes live there)."""

    def __init__(self, ns):
        self.ns = ns
        self.pool = concurrent.futures.ThreadPoolExecutor(1, initializer=_enter, initargs=(ns,))

    def call(self, fn, *args):
        return self.pool.submit(fn, *args).result()

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


def ping_many(ports, timeout=1.0):
    """The ports of 127.0.0.1 whose node answers a uWSGI ping within `timeout`, all at once."""
    sel = selectors.DefaultSelector()
    for port in ports:
        s = socket.socket()
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            continue
        sel.register(s, selectors.EVENT_WRITE, [port, False, b""])
    answered = set()
    deadline = time.monotonic() + timeout

    def drop(s):
        sel.unregister(s)
        s.close()

    while sel.get_map():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(left):
            s, st = key.fileobj, key.data
            try:
                if not st[1]:
                    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                        drop(s)
                        continue
                    s.send(PING)
                    st[1] = True
                    sel.modify(s, selectors.EVENT_READ, st)
                    continue
                data = s.recv(16)
            except OSError:
                drop(s)
                continue
            st[2] += data
            if len(st[2]) >= 4 or not data:
                if len(st[2]) >= 4 and st[2][0] == 100 and st[2][3] == 1:
                    answered.add(st[0])
                drop(s)
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    sel.close()
    return answered


def read_stats(port=STATS_PORT, timeout=2.0):
    with socket.create_connection(("127.0.0.1", port), timeout) as s:
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


# -- the cluster ------------------------------------------------------------------------------------
class Placement:
    """Members m1..m3 (valor 1..3) in `fabric`, `vassals` vassal files in tmp/vassals, the records
    in tmp/records.log, each emperor's output (stamped) in tmp/emperor-MEMBER.log."""

    def __init__(self, brood, tmp, fabric, vassals=12, lease_ms=1500, hosts=("m1", "m2", "m3"),
                 extra=(), watch_table=True):
        self.brood = brood
        self.tmp = tmp
        self.fabric = fabric
        self.hosts = list(hosts)
        self.lease = lease_ms / 1000.0
        self.lease_ms = lease_ms
        self.extra = list(extra)
        self.dir = os.path.join(tmp, "vassals")
        self.records = os.path.join(tmp, "records.log")
        self.names = [vassal_name(i) for i in range(vassals)]
        self.ports = {n: vassal_port(n) for n in self.names}
        self.addr = {h: "%s:%d" % (fabric.address(h), LEGION_PORT) for h in self.hosts}
        self.member_of = {a: h for h, a in self.addr.items()}
        self.procs = {}
        self._closed = False
        os.makedirs(self.dir, exist_ok=True)
        open(self.records, "a").close()
        for n in self.names:
            self.write_vassal(n)
        self.ns = {h: InNs(fabric.ns(h)) for h in self.hosts}
        self.tracker = subprocess.Popen([PYTHON, os.path.abspath(__file__), "track",
                                         self.records], stdin=subprocess.DEVNULL,
                                        preexec_fn=_pdeathsig)
        self._stop_watch = threading.Event()
        self.watcher = None
        if watch_table:
            self.watcher = threading.Thread(target=self._watch_tables, daemon=True)
            self.watcher.start()

    def write_vassal(self, name, extra=""):
        # %n: the file's name without extension; %% a percent sign (the ini's magic variables)
        text = ("[uwsgi]\nsocket = :%d\nprocesses = 1\n"
                "exec-asap = echo start %%n $PLACEMENT_MEMBER $PPID $(date +%%%%s.%%%%N) >> %s\n%s"
                % (self.ports[name], self.records, extra))
        path = os.path.join(self.dir, name + ".ini")
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.rename(path + ".tmp", path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- members ------------------------------------------------------------------------------
    def argv(self, host):
        argv = [self.brood, "--emperor", "legion:%s,%s" % (NAME, self.dir),
                "--emperor-stats", "127.0.0.1:%d" % STATS_PORT,
                "--legion", "%s %s %d %s" % (NAME, self.addr[host], self.hosts.index(host) + 1,
                                             SECRET),
                "--legion-vassal-lease", str(self.lease_ms)]
        for other in self.hosts:
            if other != host:
                argv += ["--legion-node", "%s %s" % (NAME, self.addr[other])]
        return self.fabric.wrap(host, argv + self.extra)

    def log_path(self, host):
        return os.path.join(self.tmp, "emperor-%s.log" % host)

    def note(self, kind, a, b="-", t=None):
        """Appends "KIND A B - TIME" to the records (A: a member, or a vassal and B its member)."""
        t = time.time() if t is None else t
        fd = os.open(self.records, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, b"%s %s %s - %.6f\n" % (kind.encode(), a.encode(), b.encode(), t))
        finally:
            os.close(fd)
        return t

    def _stamper(self, host):
        """The member's stamper, reading a new pipe: (its process, the pipe's write end)."""
        r, w = os.pipe()
        with open(self.log_path(host), "ab") as out:
            stamper = subprocess.Popen([PYTHON, "-c", _STAMPER], stdin=r, stdout=out,
                                       preexec_fn=_pdeathsig)
        os.close(r)
        return stamper, w

    def _launch(self, host, stamper, w):
        env = dict(os.environ, PLACEMENT_MEMBER=host)
        t = self.note("up", host)
        try:
            p = subprocess.Popen(self.argv(host), stdin=subprocess.DEVNULL, stdout=w,
                                 stderr=subprocess.STDOUT, start_new_session=True,
                                 preexec_fn=_pdeathsig, cwd=self.tmp, env=env)
        finally:
            os.close(w)
        p.stamper = stamper
        self.procs[host] = p
        return t

    def start(self, host):
        return self._launch(host, *self._stamper(host))

    def start_all(self):
        """Starts the members one right after the other, their stampers first (a stamper's
        launch took 0.05-0.25 s: between the members' launches the last came up 0.2-0.8 s after
        the first); returns the first start's time."""
        ready = [(h,) + self._stamper(h) for h in self.hosts]
        return min(self._launch(*r) for r in ready)

    def kill(self, host, kind="killed"):
        """SIGKILL to the emperor alone (its vassals die by their PDEATHSIG, as on a crash); the
        time is recorded first. Then the rest of its session, if anything is left."""
        p = self.procs.pop(host, None)
        if p is None:
            return None
        t = self.note(kind, host)
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            p.stamper.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.stamper.kill()
            p.stamper.wait()
        return t

    def close(self):
        if self._closed:
            return
        self._closed = True
        self._stop_watch.set()
        if self.watcher:
            self.watcher.join(timeout=10)
        for h in list(self.procs):
            self.kill(h, "stopped")
        # the vassals die with their emperors (PDEATHSIG); wait for the tracker to see them go
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(r.stop is None for r in self.runs()):
            time.sleep(0.05)
        self.tracker.kill()
        self.tracker.wait()
        for ns in self.ns.values():
            ns.close()

    def output(self, host):
        try:
            with open(self.log_path(host), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def handed_over(self, what="handed over to"):
        """[(vassal, member, time)]: each planned hand-over's end as the old member's emperor
        logged it ("legion placement: vassal v001.ini handed over to ADDR: stopping it here",
        stamped when read): the member stops its copy because a table it adopted showed the
        vassal leaving it and the lord then placed it only on the new member, running. With
        what="taken over from": each hand-over's new copy killed by its member's fence before
        the hand-over ended ("... taken over from ADDR: killing it here (fenced) ...")."""
        out = []
        for h in self.hosts:
            for line in self.output(h).splitlines():
                if what not in line or "legion placement: vassal " not in line:
                    continue
                try:
                    t = float(line.split(" ", 1)[0])
                    vassal = line.split("legion placement: vassal ", 1)[1].split(" ", 1)[0]
                except (ValueError, IndexError):
                    continue
                out.append((vassal.rsplit(".", 1)[0], h, t))
        return out

    def check_alive(self):
        for h, p in self.procs.items():
            if p.poll() is not None:
                raise RuntimeError("emperor %s exited (%s):\n%s" % (h, p.returncode,
                                                                    self.output(h)[-3000:]))
        if self.tracker.poll() is not None:
            raise RuntimeError("the record tracker exited (%s)" % self.tracker.returncode)

    # -- observing ----------------------------------------------------------------------------
    def runs(self):
        return read_runs(self.records)

    def answering(self, hosts=None, timeout=1.0):
        """{member: set of vassal names answering a ping in its namespace}, all members at once."""
        hosts = hosts or [h for h in self.hosts]
        ports = list(self.ports.values())
        futures = {h: self.ns[h].pool.submit(ping_many, ports, timeout) for h in hosts}
        by_port = {p: n for n, p in self.ports.items()}
        return {h: {by_port[p] for p in f.result()} for h, f in futures.items()}

    def stats(self, host, timeout=2.0):
        """The member's emperor-stats, None when it does not answer."""
        try:
            return self.ns[host].call(read_stats, STATS_PORT, timeout)
        except (OSError, ValueError):
            return None

    def placement(self, host):
        s = self.stats(host)
        return s.get("legion_placement") if s else None

    def _watch_tables(self):
        active = set()  # (vassal, old member) hand-overs shown by some member at the last look
        while not self._stop_watch.wait(0.05):
            now = set()
            for h in list(self.procs):
                try:
                    s = self.ns[h].pool.submit(read_stats, STATS_PORT, 1.0).result()
                except (OSError, ValueError, RuntimeError, concurrent.futures.CancelledError):
                    continue
                lp = s.get("legion_placement") or {}
                for vassal, old in (lp.get("leaving") or {}).items():
                    now.add((vassal.rsplit(".", 1)[0], self.member_of.get(old, old)))
            for vassal, old in sorted(now - active):
                self.note("leaving", vassal, old)
            active = now

    def wait(self, predicate, timeout, what, every=0.05):
        deadline = time.monotonic() + timeout
        while True:
            found = predicate()
            if found:
                return found
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError("no %s within %.0f s" % (what, timeout))
            time.sleep(every)

    def wait_answering(self, want, timeout, hosts=None):
        """Waits until every vassal answers exactly once over `hosts` and the counts per member
        satisfy want(counts) ({member: n}); returns (time, {member: set})."""
        last = {}

        def ok():
            a = self.answering(hosts)
            last["a"] = a
            names = [n for s in a.values() for n in s]
            if len(names) == len(self.names) and len(set(names)) == len(self.names) and \
                    want({h: len(s) for h, s in a.items()}):
                return time.time(), a
            return None
        try:
            return self.wait(ok, timeout, "answer", every=0.05)
        except TimeoutError as e:
            a = last.get("a", {})
            raise TimeoutError("%s: answering %s" % (e, {h: len(s) for h, s in a.items()}))

    def lord(self):
        """The lord's member name as the first answering member's table says (None: none)."""
        for h in self.procs:
            lp = self.placement(h)
            if lp and lp.get("lord"):
                return self.member_of.get(lp["lord"])
        return None


def spread_ok(counts, n, tolerance=1):
    """Every member within `tolerance` of the mean."""
    mean = n / float(len(counts))
    return all(abs(c - mean) <= tolerance for c in counts.values())


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "track":
        track(sys.argv[2])
    else:
        sys.exit("usage: placement_cluster.py track FILE")
