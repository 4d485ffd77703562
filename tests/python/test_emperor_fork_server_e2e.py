"""END TO END: the emperor's fork server side with brood's own base
(`brood --fork-server PATH --module app`, the fork-server node options of the BASE and ADOPT
parts of issue 14). Skipped while `brood --help` does not list --fork-server; they run once those
branches are merged. A real base with a WSGI app, adopted vassals answering with the base's app,
one killed with SIGKILL and adopted again, then a touch of the base's file: the base restarts and
the vassals are re-forked one at a time without a failed request; and a vassal exec'd before its
base existed moved onto it once it is ready.
"""
import os
import signal
import subprocess
import threading

import pytest

from emperor_fork_support import (  # noqa: F401 (emperor is a fixture)
    emperor, node_vassal, parent_of, stats)
from support import eventually, free_port, wsgi_request, write_module

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
