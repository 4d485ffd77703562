"""The emperor's fork server side (docs/uwsgi-compat.md §17.2) on real processes: a real
`brood --emperor DIR` with emperor-use-fork-server and a vassal-fork-base.

Part 1 runs on the emperor alone: the base is fork_server/fake_base.py (the emperor-wrapper), a
fork server written in Python that forks twice and execs the request's argv, so the adopted
vassals are real brood nodes forked by a base: adoption, stats "adopted": 1, re-parenting to the
emperor (subreaper), SIGKILL -> reaped and respawned adopted, waiting for a slow base, and the
fallback to exec when the fork server is absent.

Part 2 (END TO END, needs brood's own base: `brood --fork-server PATH --module app`, the
fork-server node options): skipped while `brood --help` does not list --fork-server; it runs once
the base's branch is merged. A real base with a WSGI app, two adopted vassals answering with the
base's app, and a touch of the base's file: the base restarts and the vassals are re-forked one
at a time without a failed request.
"""
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from support import eventually, free_port, wsgi_request, write_module

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_BASE = os.path.join(HERE, "fork_server", "fake_base.py")


def ping(address, timeout=2.0):
    """True when a uwsgi ping (modifier1 100) at `address` is answered."""
    try:
        host, port = address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=timeout) as s:
            s.sendall(struct.pack("<BHB", 100, 0, 0))
            return len(s.recv(4)) == 4
    except OSError:
        return False


def stats(address):
    try:
        host, port = address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=2) as s:
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return json.loads(data)
    except (OSError, ValueError):
        return None


def vassal(stats_address, name):
    doc = stats(stats_address)
    for v in (doc or {}).get("vassals", []):
        if v["id"] == name:
            return v
    return None


def parent_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


class Emperor:
    def __init__(self, start_node, brood_binary, tmp_path, extra=(), env=None):
        self.dir = tmp_path / "vassals"
        self.dir.mkdir(exist_ok=True)
        self.stats = "127.0.0.1:%d" % free_port()
        self.sock = str(tmp_path / "fork.sock")
        self.log = tmp_path / "fork.log"
        self.brood = brood_binary
        self.env = dict(os.environ, BROOD_BINARY=brood_binary, FAKE_FORK_SERVER=self.sock,
                        FAKE_FORK_LOG=str(self.log), **(env or {}))
        self.args = ["--emperor", str(self.dir), "--emperor-stats", self.stats,
                     "--emperor-freq", "1", "--emperor-throttle", "200",
                     "--emperor-curse-tolerance", "3", "--reload-mercy", "3", *extra]
        self.start_node = start_node
        self.node = None

    def start(self):
        self.node = self.start_node(self.brood, *self.args, bound=False,
                                    ready=r"watching", env=self.env)
        return self

    def vassal_file(self, name, text):
        (self.dir / name).write_text(text)

    def vassal(self, name):
        return vassal(self.stats, name)


def node_vassal(address, more=""):
    return "[uwsgi]\nsocket = %s\nprocesses = 1\n%s" % (address, more)


@pytest.fixture
def emperor(start_node, brood_binary, tmp_path):
    def make(extra=(), env=None, fake=True):
        args = list(extra)
        e = Emperor(start_node, brood_binary, tmp_path, env=env)
        if fake:
            args += ["--emperor-wrapper", FAKE_BASE]
        e.args += ["--emperor-use-fork-server", e.sock, "--vassal-fork-base", "base", *args]
        return e
    return make


# Part 1: the emperor against a fork server written in Python.

def test_adopted_vassal_is_a_reparented_managed_node(emperor):
    e = emperor()
    address = "127.0.0.1:%d" % free_port()
    e.vassal_file("base.ini", "[uwsgi]\nfork-server = %s\n" % e.sock)
    e.vassal_file("app.ini", node_vassal(address))
    e.start()
    assert eventually(lambda: ping(address)), e.node.output()
    v = e.vassal("app.ini")
    assert v["adopted"] == 1 and v["fork_server"] == e.sock and v["fallback"] == ""
    assert e.vassal("base.ini")["fork_base"] == 1
    assert e.vassal("base.ini")["adopted"] == 0
    assert parent_of(v["pid"]) == e.node.pid  # re-parented to the emperor (subreaper)
    assert "request m2=1 fds=1 argv=--ini %s" % (e.dir / "app.ini") in e.log.read_text()
    assert e.node.wait_for_line(r"app\.ini: adopted from") is not None
    assert stats(e.stats)["adoptions"] == 1

    # SIGKILL: the emperor reaps it and adopts a new one.
    os.kill(v["pid"], signal.SIGKILL)
    assert eventually(lambda: (e.vassal("app.ini") or {}).get("pid") not in (None, -1, v["pid"])
                      and ping(address)), e.node.output()
    assert e.vassal("app.ini")["adopted"] == 1
    assert e.log.read_text().count("request") == 2

    # Removing the file stops it (byte 0 on the channel the base passed on).
    pid = e.vassal("app.ini")["pid"]
    (e.dir / "app.ini").unlink()
    assert eventually(lambda: e.vassal("app.ini") is None), e.node.output()
    assert eventually(lambda: not os.path.exists("/proc/%d" % pid) or
                      open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0] == "Z")


def test_vassals_wait_for_a_slow_base(emperor):
    e = emperor(env={"FAKE_BASE_DELAY": "1"})
    address = "127.0.0.1:%d" % free_port()
    e.vassal_file("base.ini", "[uwsgi]\nfork-server = %s\n" % e.sock)
    e.vassal_file("app.ini", node_vassal(address))
    e.start()
    assert e.node.wait_for_line(r"app\.ini: waiting for its fork base base\.ini") is not None
    assert eventually(lambda: ping(address)), e.node.output()
    assert e.vassal("app.ini")["adopted"] == 1


def test_no_fork_server_execs_at_once_and_says_why(emperor):
    e = emperor()
    address = "127.0.0.1:%d" % free_port()
    e.vassal_file("app.ini", node_vassal(address))
    e.start()
    assert eventually(lambda: ping(address)), e.node.output()
    v = e.vassal("app.ini")
    assert v["adopted"] == 0
    assert v["fallback"] == "cannot connect to %s: No such file or directory" % e.sock
    assert stats(e.stats)["fallbacks"] == 1
    assert e.node.wait_for_line(r"app\.ini: fork server .*; exec'd instead") is not None


def test_a_per_vassal_attribute_names_the_fork_server(start_node, brood_binary, tmp_path):
    e = Emperor(start_node, brood_binary, tmp_path)
    e.args += ["--emperor-fork-server-attr", "fork-server", "--vassal-fork-base", "base",
               "--emperor-wrapper", FAKE_BASE]
    a, b = "127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port()
    e.vassal_file("base.ini", "[uwsgi]\nfork-server = %s\n" % e.sock)
    e.vassal_file("a.ini", node_vassal(a, "[emperor]\nfork-server = %s\n" % e.sock))
    e.vassal_file("b.ini", node_vassal(b))
    e.start()
    assert eventually(lambda: ping(a) and ping(b)), e.node.output()
    assert e.vassal("a.ini")["adopted"] == 1
    assert e.vassal("b.ini")["adopted"] == 0 and e.vassal("b.ini")["fallback"] == ""


def answer_pid(address):
    """The pid a fake vassal at `address` answers with, or None."""
    try:
        host, port = address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=2) as s:
            data = s.recv(100)
        return int(data.split(b"=")[1]) if data.startswith(b"pid=") else None
    except (OSError, ValueError, IndexError):
        return None


def test_a_touched_base_restarts_and_vassals_are_reforked_on_their_sockets(emperor):
    e = emperor()
    a, b = "127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port()
    e.vassal_file("base.ini", "[uwsgi]\nfork-server = %s\n" % e.sock)
    e.vassal_file("fake-a.ini", "[uwsgi]\nsocket = %s\n" % a)
    e.vassal_file("fake-b.ini", "[uwsgi]\nsocket = %s\n" % b)
    e.start()
    assert eventually(lambda: answer_pid(a) and answer_pid(b)), e.node.output()
    old = {n: e.vassal(n)["pid"] for n in ("fake-a.ini", "fake-b.ini")}
    old_base = e.vassal("base.ini")["pid"]

    failed, done = [], threading.Event()

    def pinger():
        while not done.is_set():
            for address in (a, b):
                if answer_pid(address) is None:
                    failed.append(address)
    t = threading.Thread(target=pinger)
    t.start()
    try:
        base = e.dir / "base.ini"
        st = base.stat()
        os.utime(base, (st.st_atime, st.st_mtime + 2))
        assert e.node.wait_for_line(r"fork base base\.ini .*file changed, restarting") is not None
        assert eventually(lambda: all((e.vassal(n) or {}).get("reforks") == 1 for n in old), 15), \
            e.node.output()
        assert eventually(lambda: stats(e.stats)["retired"] == 0, 10), e.node.output()
    finally:
        done.set()
        t.join()
    assert failed == [], e.node.output()
    assert e.vassal("base.ini")["pid"] != old_base
    for n, address in (("fake-a.ini", a), ("fake-b.ini", b)):
        new = e.vassal(n)["pid"]
        assert new != old[n] and answer_pid(address) == new
        assert e.node.wait_for_line(r"fake vassal %d: serving .* \(inherited\)" % new) is not None
        assert e.node.wait_for_line(r"fake vassal %d: handed over" % old[n]) is not None
    log = e.log.read_text()
    assert log.count("request m2=9 fds=2") == 2  # 0x01 | 0x08: the channel and one socket
    # One at a time: the second re-fork starts after the first one was ready.
    out = e.node.output()
    assert out.index("fake-a.ini (pid %d): re-forked and ready" % e.vassal("fake-a.ini")["pid"]) \
        < out.index("fake-b.ini (pid %d): re-forked as pid" % old["fake-b.ini"])


def test_a_vassal_execd_without_its_base_moves_to_it_once_it_is_ready(emperor):
    e = emperor()
    a = "127.0.0.1:%d" % free_port()
    e.vassal_file("fake-a.ini", "[uwsgi]\nsocket = %s\n" % a)
    e.start()
    assert eventually(lambda: answer_pid(a)), e.node.output()
    execd = e.vassal("fake-a.ini")
    assert execd["adopted"] == 0 and execd["fallback"].startswith("cannot connect to")
    assert parent_of(execd["pid"]) == e.node.pid

    e.vassal_file("base.ini", "[uwsgi]\nfork-server = %s\n" % e.sock)
    assert eventually(lambda: (e.vassal("fake-a.ini") or {}).get("adopted") == 1, 15), \
        e.node.output()
    moved = e.vassal("fake-a.ini")
    assert moved["pid"] != execd["pid"] and moved["fallback"] == "" and moved["reforks"] == 1
    assert answer_pid(a) == moved["pid"]
    assert e.node.wait_for_line(r"fake vassal %d: serving .* \(inherited\)" % moved["pid"])
    assert e.node.wait_for_line(r"fake vassal %d: handed over" % execd["pid"])
    assert eventually(lambda: stats(e.stats)["retired"] == 0, 10), e.node.output()


# Part 2: END TO END with brood's own base (runs once the base's branch is merged).

def _brood_has_fork_server(binary):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    return "--fork-server" in out


APP = """
import os
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%s pid=%d" % (VERSION, os.getpid())).encode()]
VERSION = "v1"
"""


def test_end_to_end_real_base_adoption_and_rolling_refork(emperor, brood_binary, tmp_path):
    if not _brood_has_fork_server(brood_binary):
        pytest.skip("END TO END: needs brood's fork-server base (BASE + ADOPT branches)")
    e = emperor(fake=False)
    write_module(tmp_path, "forkapp", APP)
    a, b = "127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port()
    e.vassal_file("base.ini", "[uwsgi]\nfork-server = %s\nmodule = forkapp\npythonpath = %s\n"
                  % (e.sock, tmp_path))
    e.vassal_file("a.ini", node_vassal(a))
    e.vassal_file("b.ini", "[uwsgi]\nsocket = %s\nprocesses = 2\n" % b)
    e.start()

    def answer(address):
        try:
            return wsgi_request(address)
        except OSError:
            return b""
    assert eventually(lambda: b"v1" in answer(a) and b"v1" in answer(b), 30), e.node.output()
    assert e.vassal("a.ini")["adopted"] == 1 and e.vassal("b.ini")["adopted"] == 1
    assert parent_of(e.vassal("a.ini")["pid"]) == e.node.pid

    # SIGKILL: reaped by the emperor (subreaper) and adopted again from the base.
    killed = e.vassal("a.ini")["pid"]
    os.kill(killed, signal.SIGKILL)
    assert eventually(lambda: (e.vassal("a.ini") or {}).get("pid") not in (None, -1, killed)
                      and b"v1" in answer(a), 30), e.node.output()
    assert e.vassal("a.ini")["adopted"] == 1
    old = {n: e.vassal(n)["pid"] for n in ("a.ini", "b.ini")}

    # New code in the base's module, then a touch of the base's file: the base restarts and the
    # vassals are re-forked one at a time, their sockets kept open: no failed request.
    module = write_module(tmp_path, "forkapp", APP.replace('"v1"', '"v2"'))
    st = module.stat()
    os.utime(module, (st.st_atime, st.st_mtime + 2))  # no stale bytecode of the same second
    failed, done = [], threading.Event()

    def pinger():
        while not done.is_set():
            for address in (a, b):
                if b" 200 OK" not in answer(address):
                    failed.append(address)
    t = threading.Thread(target=pinger)
    t.start()
    try:
        base = e.dir / "base.ini"
        st = base.stat()
        os.utime(base, (st.st_atime, st.st_mtime + 2))
        assert eventually(lambda: b"v2" in answer(a) and b"v2" in answer(b), 30), \
            e.node.output()
        assert eventually(lambda: all(e.vassal(n)["reforks"] == 1 for n in old), 10)
    finally:
        done.set()
        t.join()
    assert failed == [], e.node.output()
    assert all(e.vassal(n)["pid"] != old[n] for n in old)
    assert eventually(lambda: stats(e.stats)["retired"] == 0, 10), e.node.output()


def test_end_to_end_an_execd_vassal_moves_to_a_late_base(emperor, brood_binary, tmp_path):
    if not _brood_has_fork_server(brood_binary):
        pytest.skip("END TO END: needs brood's fork-server base (BASE + ADOPT branches)")
    e = emperor(fake=False)
    write_module(tmp_path, "forkapp", APP)
    a = "127.0.0.1:%d" % free_port()
    e.vassal_file("a.ini", "[uwsgi]\nsocket = %s\nprocesses = 1\nmodule = forkapp\n"
                  "pythonpath = %s\n" % (a, tmp_path))
    e.start()

    def answer(address):
        try:
            return wsgi_request(address)
        except OSError:
            return b""
    assert eventually(lambda: b"v1" in answer(a), 30), e.node.output()
    execd = e.vassal("a.ini")
    assert execd["adopted"] == 0 and execd["fallback"].startswith("cannot connect to")

    failed, done = [], threading.Event()

    def pinger():
        while not done.is_set():
            if b" 200 OK" not in answer(a):
                failed.append(a)
    t = threading.Thread(target=pinger)
    t.start()
    try:
        e.vassal_file("base.ini", "[uwsgi]\nfork-server = %s\nmodule = forkapp\n"
                      "pythonpath = %s\n" % (e.sock, tmp_path))
        assert eventually(lambda: (e.vassal("a.ini") or {}).get("adopted") == 1, 30), \
            e.node.output()
        assert eventually(lambda: stats(e.stats)["retired"] == 0, 10), e.node.output()
    finally:
        done.set()
        t.join()
    assert failed == [], e.node.output()
    assert e.vassal("a.ini")["pid"] != execd["pid"]
    assert b"v1" in answer(a)
