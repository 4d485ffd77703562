"""Processes for the Python benchmarks: brood nodes, real uWSGI nodes and helpers, on loopback
ephemeral ports, pinned to CPUs on request, always killed and reaped.

    with Cluster(build_dir) as c:
        node = c.brood("--processes", 2, "--module", "echo_app")
        ref = c.uwsgi("--processes", 2, "--module", "echo_app")
        status, body = uwsgi_get(node.address, "/?x=1")

Every process runs in its own session and gets SIGKILL when this process dies (PR_SET_PDEATHSIG);
Cluster.close() kills each session and reaps it. Output goes to a log file per process.
"""
import ctypes
import math
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"
_BOUND = re.compile(r"uwsgi socket 0 bound to TCP address (\S+):(\d+)")
_PR_SET_PDEATHSIG = 1


def all_cpus():
    return sorted(os.sched_getaffinity(0))


def pin_session(pid, cpus):
    """Sets the CPU affinity of every thread of every process in session `pid` (a node's master
    and its workers, with their threads). cpus None: every CPU."""
    cpus = set(cpus) if cpus is not None else set(all_cpus())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[3]) != pid:  # field 6 of stat: the session id
                continue
            for tid in os.listdir("/proc/%s/task" % entry):
                os.sched_setaffinity(int(tid), cpus)
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile


class Process:
    """One started program; its output in `log`. address: socket 0 of a node, once bound."""

    def __init__(self, argv, log, cpus=None, env=None, cwd=None):
        self.argv = [str(a) for a in argv]
        self.log = log
        self.address = None

        def setup():  # in the child, before exec
            ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
            if cpus is not None:
                os.sched_setaffinity(0, cpus)

        with open(log, "wb") as out:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                         start_new_session=True, preexec_fn=setup)
        self.pid = self.proc.pid

    def output(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_for(self, pattern, timeout=15.0, count=1):
        """Waits until `pattern` appears `count` times in the output; returns the last match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            matches = list(regex.finditer(self.output()))
            if len(matches) >= count:
                return matches[count - 1]
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("%s: no %r in its output (exit %s):\n%s" % (
                    self.argv[0], pattern, self.proc.poll(), self.output()[-3000:]))
            time.sleep(0.05)

    def pin(self, cpus):
        pin_session(self.pid, cpus)

    def stop(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()


class Cluster:
    """Starts and owns processes; close() (or leaving the with block) stops them all."""

    def __init__(self, build_dir):
        self.build = os.path.abspath(build_dir)
        self.brood_bin = os.path.join(self.build, "cli", "brood")
        self.python_dir = os.path.join(self.build, "python")
        self.tmp = tempfile.mkdtemp(prefix="brood-bench-")
        self.procs = []
        self.env = dict(os.environ, PYTHONPATH=self.python_dir + ":" + HERE,
                        PYTHONDONTWRITEBYTECODE="1")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for p in self.procs:
            p.stop()
        self.procs = []
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, name, argv, cpus=None, env=None):
        p = Process(argv, os.path.join(self.tmp, "%s-%d.log" % (name, len(self.procs))), cpus,
                    env or self.env, self.tmp)
        self.procs.append(p)
        return p

    def _bound(self, p):
        m = p.wait_for(_BOUND.pattern)
        p.address = "%s:%s" % (m.group(1), m.group(2))
        return p

    def brood(self, *args, cpus=None, env=None):
        """A brood node on 127.0.0.1:<ephemeral>, ready (it answers) when this returns."""
        p = self.start("brood", [self.brood_bin, "--socket", "127.0.0.1:0", "--pythonpath", HERE,
                                 *args], cpus, env)
        self._bound(p)
        p.wait_for(r"node ready")
        return p

    def uwsgi(self, *args, processes=1, cpus=None, env=None, ready=None):
        """A real uWSGI node (python3 and rpc plugins, request logging off) with `processes`
        workers on 127.0.0.1:<ephemeral>, every worker spawned when this returns (ready: the
        number of workers to wait for instead, e.g. cheaper-initial)."""
        if not shutil.which("uwsgi"):
            raise RuntimeError("uwsgi is not installed (Debian uwsgi-core, uwsgi-plugin-python3)")
        p = self.start("uwsgi", ["uwsgi", "--plugin", "python3,rpc", "--master",
                                 "--processes", processes, "--disable-logging",
                                 "--socket", "127.0.0.1:0", "--pythonpath", HERE, *args],
                       cpus, env)
        self._bound(p)
        p.wait_for(r"spawned uWSGI worker %d " % (ready or processes))
        return p

    def python(self, script, *args, cpus=None):
        """A Python helper that prints "listening on HOST:PORT"."""
        p = self.start("python", [PYTHON, os.path.join(HERE, script), *args], cpus)
        m = p.wait_for(r"listening on (\S+)")
        p.address = m.group(1)
        return p


def _vars_block(env):
    out = []
    for key, value in env.items():
        k, v = key.encode(), value.encode()
        out += [struct.pack("<H", len(k)), k, struct.pack("<H", len(v)), v]
    return b"".join(out)


def read_to_eof(sock):
    """Everything `sock` sends until it closes."""
    chunks = []
    while True:
        chunk = sock.recv(1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def uwsgi_get(address, uri="/", timeout=60.0):
    """One GET over the uwsgi protocol (modifier1 0) to a WSGI node: (status code, body)."""
    host, port = address.rsplit(":", 1)
    path, _, query = uri.partition("?")
    block = _vars_block({"REQUEST_METHOD": "GET", "REQUEST_URI": uri, "PATH_INFO": path,
                         "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1",
                         "SERVER_NAME": "localhost", "SERVER_PORT": "80",
                         "REMOTE_ADDR": "127.0.0.1"})
    with socket.create_connection((host, int(port)), timeout) as s:
        s.sendall(struct.pack("<BHB", 0, len(block), 0) + block)
        reply = read_to_eof(s)
    head, _, body = reply.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split(b" ")
    return (int(status[1]) if len(status) > 1 else 0), body


def try_uwsgi_get(address, uri="/", timeout=60.0):
    """uwsgi_get that names a failure instead of raising: (status, body, None) when a reply
    came, else (0, b"", kind) with kind "refused", "reset", "timeout" or the exception's name."""
    try:
        status, body = uwsgi_get(address, uri, timeout)
        return status, body, None
    except ConnectionRefusedError:
        return 0, b"", "refused"
    except ConnectionResetError:
        return 0, b"", "reset"
    except socket.timeout:
        return 0, b"", "timeout"
    except (OSError, ValueError, IndexError) as e:
        return 0, b"", type(e).__name__


def bench_line(name, **figures):
    """Prints and returns one machine-readable line: "BENCH name key=value ..."."""
    line = "BENCH %s %s" % (name, " ".join("%s=%s" % kv for kv in figures.items()))
    print(line, flush=True)
    return line


def note(text):
    print("# " + text, flush=True)


if __name__ == "__main__":
    sys.exit("cluster.py is a library for the bench/python scripts")


def percentile(sorted_values, p):
    """The p-th percentile (0..100) of an ascending list, interpolated; None when empty."""
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def fmt(value, digits=1):
    """A figure for a BENCH line: "never" for None, floats with `digits` decimals."""
    if value is None:
        return "never"
    if isinstance(value, float):
        return "%.*f" % (digits, value)
    return str(value)


def floor_binary(build, name):
    """bench/python/NAME.cpp (a floor server, with floor_common.hpp) built with one plain c++
    call into BUILD/bench/python/NAME when missing or older than its sources; returns its path."""
    path = os.path.join(build, "bench", "python", name)
    sources = [os.path.join(HERE, name + ".cpp"), os.path.join(HERE, "floor_common.hpp")]
    if not os.path.exists(path) or max(map(os.path.getmtime, sources)) > os.path.getmtime(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        subprocess.run(["c++", "-std=c++20", "-O2", "-Wall", "-Wextra", "-o", path, sources[0]],
                       check=True)
    return path
