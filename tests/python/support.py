"""The one helper module of the Python tests (the C++ side's tests/support in Python): real
processes (Node, NodeFactory), eventually(), a raw uwsgi client (exchange, wsgi_request,
rpc_request, vars_block, uwsgi_array), a scripted uwsgi peer (FakeNode) and addresses
(dead_address, free_port). conftest.py turns them into fixtures.

Node(argv) starts a process in its own process group (stdout and stderr captured line by line,
killed with the test process); NodeFactory(binary, *args, ready=r"node ready", bound=True,
timeout=10, env=None, cwd=None) waits for the line "uwsgi socket 0 bound to TCP address
HOST:PORT" (brood and real uWSGI both print it) and for a line matching `ready` (None: do not
wait), and stop_all() SIGKILLs every process group it started and reaps them.
"""
import ctypes
import os
import re
import signal
import socket
import struct
import subprocess
import textwrap
import threading
import time

import pytest


# The head of an nginx.conf for a test's own nginx (formatted with `dir`, its private directory):
# no master, in the foreground, temp paths under `dir`; the caller goes on inside `http {{`.
NGINX_HEAD = """
master_process off;
daemon off;
error_log stderr info;
pid {dir}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 10m;
"""


def eventually(predicate, timeout=10.0, every=0.01):
    """True as soon as predicate() holds, False if it still does not after `timeout` seconds
    (it is called once more at the deadline). Polls every `every` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())


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

    def __init__(self, argv, env=None, cwd=None, pass_fds=()):
        self.argv = list(argv)
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True,
            preexec_fn=_die_with_parent, pass_fds=pass_fds)
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


def dead_address():
    """A loopback address nobody listens on (a port bound, then closed)."""
    return "127.0.0.1:%d" % free_port()


def free_port():
    """A loopback TCP port free right now (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect(address, timeout=5.0):
    """A connected socket to "HOST:PORT" or to a unix socket path (an address with a '/')."""
    if "/" in address:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(address)
        except OSError:
            s.close()
            raise
        return s
    host, port = address.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)


def listening(address):
    """True if something accepts connections at `address` now."""
    try:
        connect(address, timeout=1).close()
        return True
    except OSError:
        return False


def write_module(folder, name, source):
    """Writes folder/name.py (dedented) and returns its path."""
    path = folder / (name + ".py")
    path.write_text(textwrap.dedent(source))
    return path


def vars_block(items):
    """A uwsgi vars block: [u16 LE len][key][u16 LE len][value] for each (key, value)."""
    out = b""
    for key, value in items:
        key = key.encode("latin-1") if isinstance(key, str) else key
        value = value.encode("latin-1") if isinstance(value, str) else value
        out += struct.pack("<H", len(key)) + key + struct.pack("<H", len(value)) + value
    return out


def uwsgi_array(items):
    """A uwsgi array: [u16 LE len][bytes] for each item."""
    return b"".join(struct.pack("<H", len(i)) + i for i in items)


def exchange(address, modifier1, payload, modifier2=0, body=b"", timeout=5.0):
    """Sends [modifier1, len(payload), modifier2] + payload + body and returns every byte the
    node writes until it closes the connection. Raises socket.timeout if it never closes."""
    with connect(address, timeout) as s:
        s.sendall(struct.pack("<BHB", modifier1, len(payload), modifier2) + payload + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def wsgi_request(address, path="/", method="GET", body=b"", protocol="HTTP/1.1", query="",
                 extra=(), modifier1=0):
    """One request as nginx's uwsgi_pass sends it; returns the raw reply bytes."""
    items = [("REQUEST_METHOD", method), ("REQUEST_URI", path), ("PATH_INFO", path),
             ("QUERY_STRING", query), ("SERVER_NAME", "localhost"), ("SERVER_PORT", "80"),
             ("REMOTE_ADDR", "127.0.0.1")]
    if protocol is not None:
        items.append(("SERVER_PROTOCOL", protocol))
    if body:
        items.append(("CONTENT_LENGTH", str(len(body))))
    items.extend(extra)
    return exchange(address, modifier1, vars_block(items), body=body)


def rpc_request(address, items, modifier2=0):
    """An RPC call [173, size, modifier2] + uwsgi array; returns the raw reply bytes."""
    return exchange(address, 173, uwsgi_array(items), modifier2)


INTERNAL_ERROR_TAIL = (b" 500 Internal Server Error\r\nConnection: close\r\n"
                       b"Content-Type: text/plain\r\n\r\nInternal Server Error")


class FakeNode:
    """A scripted uwsgi peer on 127.0.0.1 (a thread): for each connection it reads one packet,
    records (modifier1, modifier2, payload) in .requests and writes reply(m1, m2, payload)
    (bytes; None closes the connection without a reply). .accepted counts connections."""

    def __init__(self, reply):
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
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the serving thread
        except OSError:
            pass
        self._sock.close()
        self._thread.join(5)
