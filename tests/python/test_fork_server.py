"""A fork-server base and its adopted vassals (docs/uwsgi-compat.md §17), with this test process
as their emperor: a child subreaper that starts the base (`brood --fork-server PATH --module
app`) with a control channel, sends fork requests (docs/protocol.md §13: modifier1 35, the fd
bitmask, the argv as a uwsgi array, the fds with SCM_RIGHTS) and reaps the re-parented vassals.
Checked: the vassal answers WSGI requests on its own socket with the base's app, with its own
processes, environment and chdir; the base's imports (early-pyimport, the app, a wsgi-file) ran
once; gc.freeze(); inherited sockets reused by address; the vassal's stop and hand-over bytes.
"""
import ctypes
import os
import signal
import socket
import struct
import time

import pytest

import support

PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture(scope="module", autouse=True)
def subreaper():
    """The adopted vassals are re-parented to this process, as to a real emperor."""
    assert ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    yield
    reap_all()


def reap_all(timeout=5.0):
    """Reaps every child left (adopted vassals and their orphaned workers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)


def wait_pid(pid, timeout=10.0):
    """The wait status of our (adopted) child `pid`, or None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return status
        time.sleep(0.01)
    return None


def read_byte(channel, want=1, timeout=10.0):
    """`want` once the channel brings it (other bytes, such as 5 accepting, are skipped); the
    last byte read (b"" at EOF, None on timeout) when it never comes."""
    deadline = time.monotonic() + timeout
    got = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return got
        channel.settimeout(left)
        try:
            data = channel.recv(1)
        except socket.timeout:
            return got
        if not data:
            return b""
        got = data[0]
        if got == want:
            return got


APP = """
import os
with open(os.path.join(os.path.dirname(__file__), "imports.log"), "a") as f:
    f.write("app %d\\n" % os.getpid())
BASE_PID = os.getpid()

def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    body = "base=%d pid=%d cwd=%s foo=%s" % (BASE_PID, os.getpid(), os.getcwd(),
                                              os.environ.get("FOO", "-"))
    return [body.encode()]
"""

EARLY = """
import os
with open(os.path.join(os.path.dirname(__file__), "imports.log"), "a") as f:
    f.write("early %d\\n" % os.getpid())
"""


class Emperor:
    """The base vassal and the fork requests sent to it."""

    def __init__(self, factory, brood_binary, folder, *base_args):
        self.folder = folder
        self.path = str(folder / "fork.sock")
        self.channel, theirs = socket.socketpair()
        env = dict(os.environ, UWSGI_EMPEROR_FD=str(theirs.fileno()))
        self.base = support.Node([brood_binary, "--fork-server", self.path, *base_args], env=env,
                                 pass_fds=(theirs.fileno(),))
        factory.nodes.append(self.base)
        theirs.close()
        assert read_byte(self.channel) == 1, self.base.output()  # ready once PATH is bound
        self.vassals = []

    def fork(self, argv, env=(), sockets=(), on_demand=None, timeout=10.0):
        """Sends a fork request; returns (pid, the vassal's channel)."""
        ours, theirs = socket.socketpair()
        bitmask = 0x01 | (0x04 if on_demand else 0)
        items = [a.encode() for a in argv]
        if env:
            bitmask |= 0x10
            items = [str(len(argv)).encode()] + items + [e.encode() for e in env]
        if sockets:
            bitmask |= 0x08
        body = support.uwsgi_array(items)
        data = struct.pack("<BHB", 35, len(body), bitmask) + body
        fds = [theirs.fileno()] + ([on_demand.fileno()] if on_demand else [])
        fds += [s.fileno() for s in sockets]
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.path)
            socket.send_fds(s, [data], fds)
            theirs.close()
            reply = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        m1, size, m2 = struct.unpack("<BHB", reply[:4])
        assert (m1, m2, size) == (35, 0, len(reply) - 4), reply
        klen = struct.unpack("<H", reply[4:6])[0]
        assert reply[6:6 + klen] == b"pid"
        pid = int(reply[8 + klen:])
        self.vassals.append(pid)
        return pid, ours

    def stop(self):
        for pid in self.vassals:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.channel.close()


@pytest.fixture
def app_dir(tmp_path):
    support.write_module(tmp_path, "app", APP)
    support.write_module(tmp_path, "early", EARLY)
    return tmp_path


@pytest.fixture
def emperor(start_node, brood_binary, app_dir):
    made = []

    def make(*base_args):
        e = Emperor(start_node, brood_binary, app_dir, *base_args)
        made.append(e)
        return e

    yield make
    for e in made:
        e.stop()
    start_node.stop_all()
    reap_all()


def imports(folder):
    path = folder / "imports.log"
    return path.read_text().split() if path.exists() else []


def body_of(reply):
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), reply
    return dict(kv.split("=", 1) for kv in body.decode().split())


def test_adopted_vassal_serves_the_base_app_on_its_own_socket(emperor, app_dir):
    e = emperor("--pythonpath", app_dir, "--module", "app", "--early-pyimport", "early")
    assert e.base.wait_for_line(r"gc\.freeze\(\)") is not None, e.base.output()
    sock = str(app_dir / "v1.sock")
    pid, channel = e.fork(["brood", "--socket", sock, "--processes", "2"])
    assert read_byte(channel) == 1, e.base.output()  # the vassal's master: ready
    seen = set()
    for _ in range(20):
        got = body_of(support.wsgi_request(sock))
        seen.add(int(got["pid"]))
        assert int(got["base"]) == e.base.pid  # imported in the base, not again
    assert pid not in seen and len(seen) >= 1
    # ps shows the vassal's own command line (as much as the base's argv space holds).
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        assert f.read().replace(b"\0", b" ").startswith(b"brood --socket"), pid
    # Each module was imported once, in the base.
    words = imports(app_dir)
    assert words == ["early", str(e.base.pid), "app", str(e.base.pid)], words
    assert e.base.wait_for_line(r"spawned uWSGI worker 2") is not None, e.base.output()
    assert e.base.count_lines(r"spawned uWSGI worker 2") == 1, e.base.output()
    # byte 2: a graceful stop; the vassal is ours to reap, the base keeps serving.
    channel.send(b"\x02")
    status = wait_pid(pid)
    assert status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert not os.path.exists(sock)
    pid2, channel2 = e.fork(["brood", "--socket", sock])
    assert read_byte(channel2) == 1, e.base.output()
    assert int(body_of(support.wsgi_request(sock))["base"]) == e.base.pid


def test_adopted_vassals_have_their_own_env_and_chdir(emperor, app_dir, tmp_path_factory):
    e = emperor("--pythonpath", app_dir, "--module", "app")
    elsewhere = tmp_path_factory.mktemp("vassal_home")
    one, two = str(app_dir / "one.sock"), str(app_dir / "two.sock")
    _, c1 = e.fork(["brood", "--socket", one, "--chdir", str(elsewhere)], env=["FOO=bar"])
    _, c2 = e.fork(["brood", "--socket", two, "--env", "FOO=baz"])
    assert read_byte(c1) == 1 and read_byte(c2) == 1, e.base.output()
    a, b = body_of(support.wsgi_request(one)), body_of(support.wsgi_request(two))
    assert (a["cwd"], a["foo"]) == (str(elsewhere), "bar")
    assert (b["cwd"], b["foo"]) == (os.getcwd(), "baz")  # the base's directory
    assert a["base"] == b["base"] == str(e.base.pid)
    # The base's own environment is untouched: a later vassal without changes sees none.
    three = str(app_dir / "three.sock")
    _, c3 = e.fork(["brood", "--socket", three])
    assert read_byte(c3) == 1
    assert body_of(support.wsgi_request(three))["foo"] == "-"


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_adopted_vassals_have_their_own_uid_and_gid(emperor, app_dir):
    # Under a root emperor, each adopted vassal drops to its own uid/gid after binding.
    e = emperor("--pythonpath", app_dir, "--module", "app")
    sock = str(app_dir / "nobody.sock")
    _, channel = e.fork(["brood", "--socket", sock, "--uid", "65534", "--gid", "65534"])
    assert read_byte(channel) == 1, e.base.output()
    worker = int(body_of(support.wsgi_request(sock))["pid"])
    with open("/proc/%d/status" % worker) as f:
        ids = {line.split(":")[0]: line.split()[1:] for line in f if line[:4] in ("Uid:", "Gid:")}
    assert ids["Uid"][0] == "65534" and ids["Gid"][0] == "65534", ids
    with open("/proc/%d/status" % e.base.pid) as f:  # the base keeps its own
        assert [line.split()[1] for line in f if line.startswith("Uid:")] == ["0"]


def test_an_adopted_vassal_reads_its_ini_file(emperor, app_dir):
    e = emperor("--pythonpath", app_dir, "--module", "app")
    sock = str(app_dir / "ini.sock")
    ini = app_dir / "one.ini"
    ini.write_text("[uwsgi]\nsocket = %s\nprocesses = 3\nenv = FOO=from-ini\n" % sock)
    _, c = e.fork(["brood", "--ini", str(ini)])
    assert read_byte(c) == 1, e.base.output()
    # The line was written before byte 1; the test's reader of the output may not have it yet.
    assert e.base.wait_for_line(r"spawned uWSGI worker 3") is not None, e.base.output()
    assert e.base.count_lines(r"spawned uWSGI worker 3") == 1, e.base.output()
    got = body_of(support.wsgi_request(sock))
    assert (got["foo"], int(got["base"])) == ("from-ini", e.base.pid)


def test_a_wsgi_file_loaded_by_the_base_is_not_executed_again(emperor, app_dir):
    wsgi = str(app_dir / "app.py")
    e = emperor("--wsgi-file", wsgi)
    sock = str(app_dir / "w.sock")
    _, c = e.fork(["brood", "--socket", sock, "--wsgi-file", wsgi])
    assert read_byte(c) == 1, e.base.output()
    assert int(body_of(support.wsgi_request(sock))["base"]) == e.base.pid
    assert imports(app_dir) == ["app", str(e.base.pid)]


def test_inherited_sockets_are_served_by_address(emperor, app_dir):
    e = emperor("--pythonpath", app_dir, "--module", "app")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    address = "127.0.0.1:%d" % listener.getsockname()[1]
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    spare.listen(16)
    _, c = e.fork(["brood", "--socket", address], sockets=[listener, spare])
    assert read_byte(c) == 1, e.base.output()
    assert e.base.wait_for_line("uwsgi socket 0 inherited from the predecessor as TCP address "
                                + address) is not None, e.base.output()
    assert e.base.wait_for_line(r"inherited socket 127\.0\.0\.1:%d .*closed"
                                % spare.getsockname()[1]) is not None
    listener.close()  # the vassal's copy serves
    assert int(body_of(support.wsgi_request(address))["base"]) == e.base.pid


def test_hand_over_keeps_the_unix_socket_file(emperor, app_dir):
    e = emperor("--pythonpath", app_dir, "--module", "app")
    sock = str(app_dir / "h.sock")
    pid, c = e.fork(["brood", "--socket", sock])
    assert read_byte(c) == 1, e.base.output()
    c.send(b"\x03")
    status = wait_pid(pid)
    assert status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert os.path.exists(sock)


def test_a_vassal_with_its_own_app_imports_it_itself(emperor, app_dir):
    support.write_module(app_dir, "other", """
        def application(environ, start_response):
            start_response("200 OK", [])
            return [b"other"]
    """)
    e = emperor("--pythonpath", app_dir, "--module", "app")
    sock = str(app_dir / "o.sock")
    _, c = e.fork(["brood", "--socket", sock, "--module", "other", "--virtualenv", "/nowhere"])
    assert read_byte(c) == 1, e.base.output()
    assert support.wsgi_request(sock).endswith(b"\r\n\r\nother")
    assert e.base.wait_for_line(r"virtualenv /nowhere: ignored") is not None, e.base.output()


def test_early_pyimport_in_a_plain_node_runs_before_the_app(start_node, brood_binary, app_dir):
    sock = str(app_dir / "plain.sock")
    node = start_node(brood_binary, "--socket", sock, "--pythonpath", app_dir, "--module", "app",
                      "--early-pyimport", "early", bound=False)
    words = imports(app_dir)
    assert words == ["early", str(node.pid), "app", str(node.pid)], words
    assert body_of(support.wsgi_request(sock))["base"] == str(node.pid)


def test_an_on_demand_socket_is_served_from_fd_0(emperor, app_dir):
    e = emperor("--pythonpath", app_dir, "--module", "app")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    address = "127.0.0.1:%d" % listener.getsockname()[1]
    _, c = e.fork(["brood", "--processes", "2"], on_demand=listener)
    assert read_byte(c) == 1, e.base.output()
    assert e.base.wait_for_line("inherited on fd 0 as TCP address " + address) is not None
    listener.close()
    assert int(body_of(support.wsgi_request(address))["base"]) == e.base.pid


def test_bad_options_end_the_adopted_vassal_and_not_the_base(emperor, app_dir):
    e = emperor("--pythonpath", app_dir, "--module", "app")
    pid, c = e.fork(["brood", "--socket", str(app_dir / "x.sock"), "--no-such-option"])
    status = wait_pid(pid)
    assert status is not None and os.WEXITSTATUS(status) == 2, e.base.output()
    assert e.base.wait_for_line(r"adopted vassal: .*no-such-option") is not None, e.base.output()
    assert read_byte(c) == b""  # the vassal's channel closed: it is gone
    sock = str(app_dir / "ok.sock")
    _, c2 = e.fork(["brood", "--socket", sock])
    assert read_byte(c2) == 1, e.base.output()


def test_with_lazy_apps_each_vassal_loads_the_app(emperor, app_dir):
    e = emperor("--pythonpath", app_dir, "--module", "app", "--lazy-apps")
    sock = str(app_dir / "lazy.sock")
    _, c = e.fork(["brood", "--socket", sock, "--module", "app", "--lazy-apps"])
    assert read_byte(c) == 1, e.base.output()
    got = body_of(support.wsgi_request(sock))
    assert int(got["base"]) == int(got["pid"]) != e.base.pid  # imported in the worker
    assert str(e.base.pid) not in imports(app_dir)


BIG = """
import gc
import os
DATA = [{"i": i, "s": str(i)} for i in range(100000)]

def application(environ, start_response):
    if environ["PATH_INFO"] == "/gc":
        gc.collect()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
"""


def private_dirty_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    raise AssertionError("no Private_Dirty for %d" % pid)


def test_gc_freeze_keeps_the_base_objects_shared_through_a_collection(emperor, app_dir):
    support.write_module(app_dir, "big", BIG)
    e = emperor("--pythonpath", app_dir, "--module", "big")
    sock = str(app_dir / "big.sock")
    _, c = e.fork(["brood", "--socket", sock])
    assert read_byte(c) == 1, e.base.output()
    worker = int(support.wsgi_request(sock).split(b"\r\n\r\n", 1)[1])
    before = private_dirty_kb(worker)
    support.wsgi_request(sock, path="/gc")
    grown = private_dirty_kb(worker) - before
    # Measured here: 52 kB with gc.freeze() in the base, 1.6 MB without it (the collector
    # writes into the header of every tracked object it visits, copying those pages).
    assert grown < 512, "a collection made %d kB private" % grown


def test_the_base_stops_when_its_emperor_channel_closes(emperor, app_dir):
    e = emperor("--pythonpath", app_dir, "--module", "app")
    e.channel.close()
    assert e.base.wait_exit(10) == 1, e.base.output()


def test_a_base_whose_app_fails_stops_with_status_22(emperor, start_node, brood_binary, app_dir):
    support.write_module(app_dir, "broken", "raise RuntimeError('no')\n")
    base = start_node(brood_binary, "--fork-server", str(app_dir / "b.sock"), "--pythonpath",
                      app_dir, "--module", "broken", bound=False, ready=None)
    assert base.wait_exit(10) == 22, base.output()
    # The exit can be seen before the reader thread has read the last lines: wait for them (or
    # for the end of the output).
    assert base.wait_for_line("RuntimeError: no", 10) is not None, base.output()


def test_a_warm_spare_answers_the_request_and_is_replaced(emperor, app_dir):
    """The base keeps a spare forked ahead (fork-server-spares 1, the default): the request is
    answered with the spare's pid, a vassal that already ran Python's after-fork and serves the
    base's app; the base forks the next spare after it."""
    e = emperor("--pythonpath", app_dir, "--module", "app")
    m = e.base.wait_for_line(r"fork server: spare ready \(pid (\d+)\)")
    assert m is not None, e.base.output()
    spare = int(m.group(1))
    with open("/proc/%d/stat" % spare) as f:
        assert int(f.read().rsplit(")", 1)[1].split()[1]) == os.getpid()  # re-parented here
    sock = str(app_dir / "spare.sock")
    pid, channel = e.fork(["brood", "--socket", sock])
    assert pid == spare, e.base.output()
    assert read_byte(channel) == 1, e.base.output()
    got = body_of(support.wsgi_request(sock))
    assert int(got["base"]) == e.base.pid and int(got["pid"]) != e.base.pid
    assert e.base.wait_for_line(r"adopted vassal pid %d from the spare" % spare) is not None
    m = e.base.wait_for_line(r"fork server: spare ready \(pid (?!%d\))(\d+)\)" % spare)
    assert m is not None, e.base.output()
    sock2 = str(app_dir / "spare2.sock")
    pid2, channel2 = e.fork(["brood", "--socket", sock2])
    assert pid2 == int(m.group(1)), e.base.output()
    assert read_byte(channel2) == 1, e.base.output()
    assert int(body_of(support.wsgi_request(sock2))["base"]) == e.base.pid


def test_no_spare_with_fork_server_spares_0(emperor, app_dir):
    e = emperor("--pythonpath", app_dir, "--module", "app", "--fork-server-spares", "0")
    sock = str(app_dir / "direct.sock")
    pid, channel = e.fork(["brood", "--socket", sock])
    assert read_byte(channel) == 1, e.base.output()
    assert int(body_of(support.wsgi_request(sock))["base"]) == e.base.pid
    assert e.base.wait_for_line(r"forked an adopted vassal for brood") is not None
    assert "fork server: spare" not in e.base.output(), e.base.output()
