"""The emperor's fork server side (docs/uwsgi-compat.md §17.2) on real processes, against a fork
server written in Python: a real `brood --emperor DIR` with emperor-use-fork-server and a
vassal-fork-base whose program is fork_server/fake_base.py (the emperor-wrapper), which forks
twice and execs the request's argv, so the adopted vassals are real brood nodes (or fake
vassals) forked by a base: adoption, stats "adopted": 1, re-parenting to the emperor
(subreaper), SIGKILL -> reaped and respawned adopted, waiting for a slow base, the fallback to
exec, the per-vassal attribute, the rolling re-fork after a touch of the base (sockets taken with
pidfd_getfd, hand_over, no failed connection) and an exec'd vassal moved to a late base.
The end-to-end tests against brood's own base are in test_emperor_fork_server_e2e.py.
"""
import os
import signal
import threading

from emperor_fork_support import (  # noqa: F401 (emperor is a fixture)
    Emperor, FAKE_BASE, answer_pid, emperor, node_vassal, parent_of, ping, stats)
from support import eventually, free_port

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
