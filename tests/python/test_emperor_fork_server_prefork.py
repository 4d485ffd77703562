"""The fork server's pre-forked worker (brood/node/fork_server.hpp, docs/uwsgi-compat.md §17): a
real emperor with brood's own base; the warm spare forks its vassal's worker 1 ahead, and the
adopted vassal's master hands it its sockets instead of forking it. Checked: an adopted vassal
served by the pre-forked worker; processes = 2 (worker 1 pre-forked, worker 2 forked); a
configuration the pre-forked worker cannot honour (uid) falls back to a forked worker 1, logged;
the pre-forked worker killed with SIGKILL is respawned by its master (a normal fork), and a
reload (SIGHUP) replaces it; threads = 2 (the pre-forked worker's two cores, made before the
hand-over, both given the sockets: two requests served at once); lazy-apps (the app loaded by
the pre-forked worker before the hand-over). The master sets up its own Python host only when it forks a worker
itself ("deferred" in its log): not for a vassal served by its pre-forked worker alone.
"""
import os
import re
import signal
import subprocess
import threading

import pytest

from emperor_fork_support import emperor, parent_of  # noqa: F401 (emperor is a fixture)
from support import eventually, exchange, free_port, vars_block, wsgi_request, write_module

APP = """
import os
import threading
pair = threading.Barrier(2)
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    if environ["PATH_INFO"] == "/pair":  # two requests served at once, or one alone
        try:
            pair.wait(20)
            together = "together"
        except threading.BrokenBarrierError:
            together = "alone"
        return [("pid=%d %s" % (os.getpid(), together)).encode()]
    return [("pid=%d" % os.getpid()).encode()]
"""


def _needs_fork_server(binary):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    if "--fork-server-prefork" not in out:
        pytest.skip("needs brood's fork-server-prefork")


def answer_pid(address):
    try:
        body = wsgi_request(address)
    except OSError:
        return None
    m = re.search(rb"pid=(\d+)", body)
    return int(m.group(1)) if m and b" 200 OK" in body else None


def started(emperor, brood_binary, tmp_path, module="prefapp", source=APP):
    """An emperor with only its base (serving `module`, made of `source`), once the base's
    spare is ready."""
    _needs_fork_server(brood_binary)
    e = emperor(fake=False)
    write_module(tmp_path, module, source)
    e.vassal_file("base.ini", "[uwsgi]\nfork-server = %s\nmodule = %s\npythonpath = %s\n"
                  % (e.sock, module, tmp_path))
    e.start()
    assert eventually(lambda: "fork server: spare ready" in e.node.output(), 60), \
        e.node.output()
    return e


def add_vassal(e, name, text):
    """Writes the vassal file at once (a rename): a file seen half-written and then changed
    would be reloaded, replacing its first worker."""
    tmp = e.dir.parent / (name + ".tmp")
    tmp.write_text(text)
    os.rename(tmp, e.dir / name)


DEFERRED = "setting up the Python host (deferred: worker 1 was pre-forked)"


def deferred_hosts(e, master):
    """How many times the vassal master `master` set up its deferred Python host."""
    return sum(1 for line in e.node.output().splitlines()
               if DEFERRED in line and " %d]" % master in line)


def prefork_line(e, pid):
    return "worker 1 (pid %d) pre-forked by the fork server's spare" % pid in e.node.output()


def test_an_adopted_vassal_is_served_by_the_pre_forked_worker(emperor, brood_binary, tmp_path):
    e = started(emperor, brood_binary, tmp_path)
    a = "127.0.0.1:%d" % free_port()
    add_vassal(e, "a.ini", "[uwsgi]\nsocket = %s\nmaster = true\nprocesses = 1\n" % a)
    assert eventually(lambda: answer_pid(a) is not None, 30), e.node.output()
    worker = answer_pid(a)
    master = e.vassal("a.ini")["pid"]
    assert e.vassal("a.ini")["adopted"] == 1
    assert parent_of(master) == e.node.pid
    assert parent_of(worker) == master
    assert eventually(lambda: prefork_line(e, worker), 10), e.node.output()
    assert "not used" not in e.node.output()
    assert "never got ready" not in e.node.output()
    assert deferred_hosts(e, master) == 0, e.node.output()


def test_processes_2_worker_1_pre_forked_worker_2_forked(emperor, brood_binary, tmp_path):
    e = started(emperor, brood_binary, tmp_path)
    a = "127.0.0.1:%d" % free_port()
    add_vassal(e, "a.ini", "[uwsgi]\nsocket = %s\nmaster = true\nprocesses = 2\n" % a)
    assert eventually(lambda: answer_pid(a) is not None, 30), e.node.output()
    master = e.vassal("a.ini")["pid"]
    seen = set()
    assert eventually(lambda: seen.add(answer_pid(a)) or len(seen - {None}) == 2, 30), \
        e.node.output()
    seen.discard(None)
    assert all(parent_of(pid) == master for pid in seen)
    assert sum(1 for pid in seen if prefork_line(e, pid)) == 1, e.node.output()
    assert "spawned uWSGI worker 2" in e.node.output()
    assert deferred_hosts(e, master) == 1, e.node.output()  # before worker 2's fork, once


def test_a_config_it_cannot_honour_falls_back_to_a_forked_worker(emperor, brood_binary,
                                                                 tmp_path):
    e = started(emperor, brood_binary, tmp_path)
    a = "127.0.0.1:%d" % free_port()
    add_vassal(e, "a.ini", "[uwsgi]\nsocket = %s\nmaster = true\nprocesses = 1\nuid = %d\n"
                  % (a, os.getuid()))
    assert eventually(lambda: answer_pid(a) is not None, 30), e.node.output()
    worker = answer_pid(a)
    assert e.vassal("a.ini")["adopted"] == 1
    assert eventually(lambda: re.search(r"pre-forked worker \(pid \d+\) not used: uid/gid set",
                                        e.node.output()), 10), e.node.output()
    assert not prefork_line(e, worker)
    assert parent_of(worker) == e.vassal("a.ini")["pid"]


def test_the_pre_forked_worker_killed_is_respawned_then_reloaded(emperor, brood_binary,
                                                                 tmp_path):
    e = started(emperor, brood_binary, tmp_path)
    a = "127.0.0.1:%d" % free_port()
    add_vassal(e, "a.ini", "[uwsgi]\nsocket = %s\nmaster = true\nprocesses = 1\n" % a)
    assert eventually(lambda: answer_pid(a) is not None, 30), e.node.output()
    first = answer_pid(a)
    master = e.vassal("a.ini")["pid"]
    assert eventually(lambda: prefork_line(e, first), 10), e.node.output()
    os.kill(first, signal.SIGKILL)
    assert eventually(lambda: answer_pid(a) not in (None, first), 30), e.node.output()
    second = answer_pid(a)
    assert parent_of(second) == master and e.vassal("a.ini")["pid"] == master
    assert "Respawned uWSGI worker 1 (new pid: %d)" % second in e.node.output()
    assert deferred_hosts(e, master) == 1, e.node.output()
    os.kill(master, signal.SIGHUP)
    assert eventually(lambda: answer_pid(a) not in (None, first, second), 30), e.node.output()
    assert parent_of(answer_pid(a)) == master
    assert e.vassal("a.ini")["adopted"] == 1
    assert deferred_hosts(e, master) == 1, e.node.output()  # set up once, kept across the reload


def pair_request(address, out):
    items = [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/pair"), ("PATH_INFO", "/pair"),
             ("QUERY_STRING", ""), ("SERVER_NAME", "localhost"), ("SERVER_PORT", "80"),
             ("REMOTE_ADDR", "127.0.0.1"), ("SERVER_PROTOCOL", "HTTP/1.1")]
    out.append(exchange(address, 0, vars_block(items), timeout=60))


def test_threads_2_the_pre_forked_worker_serves_two_requests_at_once(emperor, brood_binary,
                                                                      tmp_path):
    e = started(emperor, brood_binary, tmp_path)
    a = "127.0.0.1:%d" % free_port()
    add_vassal(e, "a.ini", "[uwsgi]\nsocket = %s\nmaster = true\nprocesses = 1\nthreads = 2\n"
                  % a)
    assert eventually(lambda: answer_pid(a) is not None, 30), e.node.output()
    worker = answer_pid(a)
    assert eventually(lambda: prefork_line(e, worker), 10), e.node.output()
    replies = []
    clients = [threading.Thread(target=pair_request, args=(a, replies)) for _ in range(2)]
    for c in clients:
        c.start()
    for c in clients:
        c.join(90)
    assert len(replies) == 2, e.node.output()
    for body in replies:
        assert b" 200 OK" in body and (b"pid=%d together" % worker) in body, body


def test_lazy_apps_the_pre_forked_worker_loads_the_app_itself(emperor, brood_binary, tmp_path):
    e = started(emperor, brood_binary, tmp_path)
    a = "127.0.0.1:%d" % free_port()
    add_vassal(e, "a.ini", "[uwsgi]\nsocket = %s\nmaster = true\nprocesses = 1\n"
                  "lazy-apps = true\n" % a)
    assert eventually(lambda: answer_pid(a) is not None, 30), e.node.output()
    worker = answer_pid(a)
    assert eventually(lambda: prefork_line(e, worker), 10), e.node.output()
    assert parent_of(worker) == e.vassal("a.ini")["pid"]
    assert "not used" not in e.node.output()


COUNTING_APP = """
import os
calls = 0
def application(environ, start_response):
    global calls
    calls += 1
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("calls=%d path=%s" % (calls, environ["PATH_INFO"])).encode()]
"""


def test_the_worker_to_be_rehearses_a_request_without_a_trace(emperor, brood_binary, tmp_path):
    """The worker-to-be's warm-up sends one request through brood's WSGI path to a stub
    application: the user's application is not called by it, nothing is logged, and the
    vassal's first request is its worker's request 1."""
    e = started(emperor, brood_binary, tmp_path, "countapp", COUNTING_APP)
    a = "127.0.0.1:%d" % free_port()
    add_vassal(e, "a.ini", "[uwsgi]\nsocket = %s\nmaster = true\nprocesses = 1\n" % a)

    got = []

    def first_answer():
        try:
            got.append(wsgi_request(a, "/first"))
            return True
        except OSError:
            return False
    assert eventually(first_answer, 30), e.node.output()
    assert b"calls=1 path=/first" in got[0], got[0]
    assert eventually(lambda: re.search(r"\|req: 1/1\] .*GET /first", e.node.output()), 10), \
        e.node.output()
    out = e.node.output()
    assert "warm-up" not in out, out
    assert "rehearsal" not in out, out


def first_body(address, path):
    got = []

    def answered():
        try:
            got.append(wsgi_request(address, path))
            return True
        except OSError:
            return False
    assert eventually(answered, 30)
    return got[0]


def test_pages_written_ahead_are_recorded_once_and_change_no_answer(emperor, brood_binary,
                                                                   tmp_path):
    """The first adopted vassal's worker 1 (after its first request) and master (after the
    hand-over), and the base (after it handed that request to its spare), record their pages once
    per base; the spares and workers-to-be made after that, and the base after each fork of a
    spare, write them ahead: the vassals answer as before, their application untouched (its first
    request is its request 1)."""
    e = started(emperor, brood_binary, tmp_path, "countapp", COUNTING_APP)
    recorded = re.compile(r"fork server: (\d+) pages of (worker 1|the master|the base) recorded")
    addresses = []
    for n in range(3):
        a = "127.0.0.1:%d" % free_port()
        addresses.append(a)
        spares = e.node.output().count("fork server: spare ready")
        add_vassal(e, "v%d.ini" % n, "[uwsgi]\nsocket = %s\nmaster = true\nprocesses = 1\n" % a)
        assert b"calls=1 path=/first%d" % n in first_body(a, "/first%d" % n), e.node.output()
        if n == 0:
            assert eventually(lambda: len(recorded.findall(e.node.output())) == 3, 10), \
                e.node.output()
        # The next vassal is adopted from a spare made after this one's adoption.
        assert eventually(lambda: e.node.output().count("fork server: spare ready") > spares,
                          30), e.node.output()
    found = recorded.findall(e.node.output())
    assert sorted(who for _, who in found) == ["the base", "the master", "worker 1"], found
    assert all(int(count) > 0 for count, _ in found), found
    for n, a in enumerate(addresses):
        assert b"calls=2 path=/again" in wsgi_request(a, "/again"), n
    assert all(e.vassal("v%d.ini" % n)["adopted"] == 1 for n in range(3))
