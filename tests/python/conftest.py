"""Shared fixtures for the Python tests: real node processes on loopback ephemeral ports.

    def test_x(start_node, primes_node_binary):
        node = start_node(primes_node_binary, "--socket", "127.0.0.1:0", "--processes", "2")
        brood.send_message(node.address, 33, 0, "hi")

start_node(binary, *args, ready=r"node ready", timeout=10, env=None, cwd=None) starts the
process in its own process group (stdout and stderr captured line by line), waits for the line
"uwsgi socket 0 bound to TCP address HOST:PORT" (brood and real uWSGI both print it) and for a
line matching `ready` (None: do not wait), and returns a Node. Every node is killed (SIGKILL to
its process group) and reaped when the test ends. Pass ready=None and bound=False for programs
that print neither line.

Fixtures: start_node (per test) and start_module_node (per module) node factories;
brood_binary, primes_node_binary (paths); primes_node (2 workers, per test) and
shared_primes_node (per module, buffer-size 65535); dead_address (a loopback port nobody
listens on); fake_node(reply) -> FakeNode, a scripted uwsgi peer that records requests.

Environment (set by tests/python/CMakeLists.txt): BROOD_BINARY, BROOD_PRIMES_NODE, PYTHONPATH.
"""
import ctypes
import os
import re
import signal
import subprocess
import threading
import time

import pytest

_BOUND = re.compile(r"uwsgi socket (\d+) bound to TCP address (\S+):(\d+)")
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child before exec: SIGKILL when the test process dies, whatever happens."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
    except Exception:
        pass


class Node:
    """A started process and its output. Thread-safe; stop() is idempotent."""

    def __init__(self, argv, env=None, cwd=None):
        self.argv = list(argv)
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True,
            preexec_fn=_die_with_parent)
        self.pid = self.proc.pid
        self.address = None  # "127.0.0.1:PORT" of socket 0
        self.addresses = {}  # socket index -> "HOST:PORT"
        self._lines = []
        self._eof = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._changed:
                self._lines.append(line)
                m = _BOUND.search(line)
                if m:
                    self.addresses[int(m.group(1))] = "%s:%s" % (m.group(2), m.group(3))
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    def output(self):
        """Everything the process printed so far."""
        with self._changed:
            return "\n".join(self._lines) + "\n"

    def lines(self):
        with self._changed:
            return list(self._lines)

    def wait_for_line(self, pattern, timeout=10.0, start=0):
        """The first re.Match of pattern in the output lines from index `start`, or None when
        the process ends or the timeout passes first."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = start
        with self._changed:
            while True:
                for line in self._lines[seen:]:
                    m = regex.search(line)
                    if m:
                        return m
                seen = len(self._lines)
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    return None
                self._changed.wait(left)

    def count_lines(self, pattern):
        regex = re.compile(pattern)
        with self._changed:
            return sum(1 for line in self._lines if regex.search(line))

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait_exit(self, timeout=10.0):
        """The exit status (Popen.returncode), or None on timeout."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        """SIGKILL to the process group (workers too), then reap."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        self._reader.join(5)
        self.proc.stdout.close()


class NodeFactory:
    """Starts Node processes (see the module docstring) and stops them all in stop_all()."""

    def __init__(self):
        self.nodes = []

    def __call__(self, binary, *args, ready=r"node ready", bound=True, timeout=10.0, env=None,
                 cwd=None):
        node = Node([binary, *map(str, args)], env=env, cwd=cwd)
        self.nodes.append(node)
        if bound:
            m = node.wait_for_line(_BOUND.pattern, timeout)
            if m is None:
                pytest.fail("%s printed no bound socket:\n%s" % (binary, node.output()))
            node.address = "%s:%s" % (m.group(2), m.group(3))
        if ready is not None and node.wait_for_line(ready, timeout) is None:
            pytest.fail("%s never printed %r:\n%s" % (binary, ready, node.output()))
        return node

    def stop_all(self):
        for node in self.nodes:
            node.stop()
        self.nodes = []


@pytest.fixture
def start_node():
    """Factory of Node processes, all stopped and reaped at the end of the test."""
    factory = NodeFactory()
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def start_module_node():
    """Like start_node, for nodes shared by the tests of one module."""
    factory = NodeFactory()
    yield factory
    factory.stop_all()


def _binary(variable):
    path = os.environ.get(variable)
    if not path or not os.access(path, os.X_OK):
        pytest.fail("%s must name the built executable (ctest sets it), got %r" % (variable, path))
    return path


@pytest.fixture(scope="session")
def brood_binary():
    return _binary("BROOD_BINARY")


@pytest.fixture(scope="session")
def primes_node_binary():
    return _binary("BROOD_PRIMES_NODE")


def _start_primes(factory, binary, *extra):
    return factory(binary, "--socket", "127.0.0.1:0", "--master", "--processes", 2, *extra)


@pytest.fixture
def primes_node(start_node, primes_node_binary):
    """A primes_node (m2 0 echo, 17 count primes [lo, hi), 98 sleep {"ms": n}, 99 pid, any
    other m2 a remote ValueError) with 2 workers, for one test."""
    return _start_primes(start_node, primes_node_binary)


@pytest.fixture(scope="module")
def shared_primes_node(start_module_node, primes_node_binary):
    """A primes_node shared by the tests of a module (do not stall or kill it), with
    buffer-size 65535 so that messages up to the packet limit fit."""
    return _start_primes(start_module_node, primes_node_binary, "--buffer-size", 65535)


@pytest.fixture
def dead_address():
    """A loopback address nobody listens on (a port bound, then closed)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "127.0.0.1:%d" % port


class FakeNode:
    """A scripted uwsgi peer on 127.0.0.1 (a thread): for each connection it reads one packet,
    records (modifier1, modifier2, payload) in .requests and writes reply(m1, m2, payload)
    (bytes; None closes the connection without a reply). .accepted counts connections."""

    def __init__(self, reply):
        import socket
        self._reply = reply
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.address = "127.0.0.1:%d" % self._sock.getsockname()[1]
        self.port = self._sock.getsockname()[1]
        self.requests = []
        self.accepted = 0
        self._peers = []
        self._probes = set()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self._peers.append(conn.getpeername())
                self._changed.notify_all()
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_exactly(conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def _answer(self, conn):
        import struct
        with conn:
            conn.settimeout(5)
            head = self._read_exactly(conn, 4)
            if head is None:
                return
            m1, size, m2 = struct.unpack("<BHB", head)
            payload = self._read_exactly(conn, size)
            if payload is None:
                return
            with self._lock:
                self.requests.append((m1, m2, payload))
            out = self._reply(m1, m2, payload)
            if out is not None:
                conn.sendall(out)

    def connections_before(self, timeout=5.0):
        """How many connections were accepted before now, counted without a sleep: connects
        once itself and waits until the accept loop (which takes connections in order) has
        taken that connection too. The probe is not counted."""
        import socket
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as probe:
            me = probe.getsockname()
            with self._changed:
                if not self._changed.wait_for(lambda: me in self._peers, timeout):
                    raise AssertionError("the fake node never accepted the probe")
                self.accepted -= 1
                self._probes.add(me)
                before = self._peers[:self._peers.index(me)]
                return sum(1 for peer in before if peer not in self._probes)

    def close(self):
        import socket
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the serving thread
        except OSError:
            pass
        self._sock.close()
        self._thread.join(5)


@pytest.fixture
def fake_node():
    """Factory: fake_node(reply) -> FakeNode, closed at the end of the test."""
    fakes = []

    def make(reply):
        fake = FakeNode(reply)
        fakes.append(fake)
        return fake

    yield make
    for fake in fakes:
        fake.close()
