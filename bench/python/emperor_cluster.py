"""Processes and probes for the emperor benchmark (emperor_bench.py): uwsgi pings, port and
process checks on loopback, a log tail that stamps each line, an emperor (brood's or uWSGI's)
with its vassal files, and the reaping of orphaned vassals.
"""
import ctypes
import os
import re
import signal
import socket
import struct
import tempfile
import threading
import time

import cluster

PING = bytes([100, 0, 0, 0])  # modifier1 100 (ping), datasize 0, modifier2 0
PONG = bytes([100, 0, 0, 1])  # the answer: modifier1 100, modifier2 1
_PR_SET_CHILD_SUBREAPER = 36

SYSTEMS = {
    "brood": {
        "vassal": "[uwsgi]\nsocket = 127.0.0.1:%d\nprocesses = 1\n",
        # Logged by the vassal master, which does not name its file: only one vassal reloads
        # at a time here, so any such line after the touch is the touched vassal's.
        "reloaded": lambda name: r"workers reloaded \(reload \d+\)",
    },
    "uwsgi": {
        "vassal": "[uwsgi]\nplugin = ping\nsocket = 127.0.0.1:%d\nmaster = true\nprocesses = 1\n",
        "reloaded": lambda name: r"\[emperor\] vassal %s is ready to accept requests" % re.escape(
            name),
    },
}


def ping(port, timeout=2.0):
    """One uwsgi ping on a fresh connection: True when the answer is 64 00 00 01."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout) as s:
            s.sendall(PING)
            data = b""
            while len(data) < len(PONG):
                chunk = s.recv(64)
                if not chunk:
                    break
                data += chunk
            return data[:4] == PONG
    except OSError:
        return False


def refuses(port):
    """True when a connection to `port` is refused. An accepted probe is reset (SO_LINGER 0)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.settimeout(1.0)
    try:
        s.connect(("127.0.0.1", port))
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_ports(n):
    """n ports below the ephemeral range that can be bound on 127.0.0.1 now."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    ports, port = [], max(1024, low - 12000) + os.getpid() % 4000
    while len(ports) < n and port < low:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                ports.append(port)
            except OSError:
                pass
        port += 1
    if len(ports) < n:
        raise RuntimeError("only %d free ports below %d" % (len(ports), low))
    return ports


def proc_stat(pid):
    """(state, ppid, session) of `pid`, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1]), int(fields[3])
    except (OSError, IndexError, ValueError):
        return None


def exited(pid):
    st = proc_stat(pid)
    return st is None or st[0] == "Z"


def descendants(root):
    """Every process below `root` (by parent links) or in its session."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st:
                table[int(entry)] = st
    found, changed = {root}, True
    while changed:
        changed = False
        for pid, (_, ppid, sid) in table.items():
            if pid not in found and (ppid in found or sid == root):
                found.add(pid)
                changed = True
    found.discard(root)
    return found


def listeners(port, candidates):
    """The processes among `candidates` that hold the listening socket of 127.0.0.1:port."""
    want = "0100007F:%04X" % port
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if cols[1] == want and cols[3] == "0A":
                inode = "socket:[%s]" % cols[9]
    holders = set()
    for pid in candidates if inode else ():
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
            if any(os.readlink("/proc/%d/fd/%s" % (pid, fd)) == inode for fd in fds):
                holders.add(pid)
        except OSError:
            continue
    return holders


class LogTail:
    """Reads a growing log file every 2 ms; keeps (monotonic time read, line) for each line."""

    def __init__(self, path):
        self.path, self.lines, self.lock = path, [], threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        pos, rest = 0, b""
        while not self.stopping.is_set():
            try:
                with open(self.path, "rb") as f:
                    f.seek(pos)
                    data = f.read()
            except OSError:
                data = b""
            if data:
                pos += len(data)
                now = time.monotonic()
                parts = (rest + data).split(b"\n")
                rest = parts.pop()
                with self.lock:
                    self.lines += [(now, p.decode("utf-8", "replace")) for p in parts]
            time.sleep(0.002)

    def wait(self, pattern, since, timeout):
        """Time of the first line matching `pattern` read after `since`; None on timeout."""
        regex, deadline, seen = re.compile(pattern), time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            with self.lock:
                batch, seen = self.lines[seen:], len(self.lines)
            for t, line in batch:
                if t >= since and regex.search(line):
                    return t
            time.sleep(0.002)
        return None

    def close(self):
        self.stopping.set()
        self.thread.join()


class Emperor:
    """One emperor on a fresh directory of `n` vassal files; stop() kills and reaps everything."""

    def __init__(self, system, argv, tmp, n):
        self.system, self.ports = system, free_ports(n)
        self.dir = tempfile.mkdtemp(prefix="vassals-%s-" % system, dir=tmp)
        self.names = ["v%03d.ini" % i for i in range(n)]
        for name, port in zip(self.names, self.ports):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(SYSTEMS[system]["vassal"] % port)
        self.log = os.path.join(tmp, "%s-emperor-%d.log" % (system, n))
        self.tail = LogTail(self.log)
        self.started = time.monotonic()
        self.proc = cluster.Process([*argv, "--emperor", self.dir], self.log, cwd=tmp)

    def wait_all_answer(self, timeout):
        """Seconds from the start until every vassal has answered one ping."""
        pending = list(self.ports)
        deadline = self.started + timeout
        while pending:
            if time.monotonic() > deadline or self.proc.proc.poll() is not None:
                raise RuntimeError("%s: %d of %d vassals never answered (exit %s):\n%s" % (
                    self.system, len(pending), len(self.ports), self.proc.proc.poll(),
                    self.proc.output()[-3000:]))
            pending = [p for p in pending if not ping(p, 1.0)]
            if pending:
                time.sleep(0.002)
        return time.monotonic() - self.started

    def path(self, i):
        return os.path.join(self.dir, self.names[i])

    def stop(self):
        """SIGKILL for the emperor and every process below this one (vassals orphaned to this
        subreaper included); reaps them all."""
        self.tail.close()
        kill_tree(self.proc, self.system)


def kill_tree(proc, name):
    """SIGKILL for `proc` (a cluster.Process) and every process below this one (orphans adopted
    by this subreaper included); reaps them all. RuntimeError naming `name` if some survive
    10 s."""
    deadline = time.monotonic() + 10.0
    while True:
        for pid in descendants(proc.pid) | descendants(os.getpid()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.stop()
        _reap_orphans()
        if not descendants(os.getpid()):
            return
        if time.monotonic() > deadline:
            raise RuntimeError("%s: processes survive SIGKILL: %s" % (
                name, sorted(descendants(os.getpid()))))
        time.sleep(0.01)


def _reap_orphans():
    """Reaps every exited child of this process (orphaned vassals come here as subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def become_subreaper():
    """Makes this process the reaper of its orphaned descendants (vassals whose emperor died)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
