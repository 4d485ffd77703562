"""brood.uwsgi, the uWSGI-compatible API: send_uwsgi_message / send_multi_uwsgi_message with the
uWSGI 0.9 semantics (None for a failed node), the remote spooler call, and RPC (modifier1 173)
as real uWSGI 2.0 frames it, against a real uWSGI node when one is installed."""
import os
import shutil
import struct
import textwrap
import time

import pytest

from brood import uwsgi
from support import vars_block

ECHO, COUNT, SLEEP = 0, 17, 98


def host_port(address):
    host, port = address.rsplit(":", 1)
    return host, int(port)


def test_names_and_constants():
    assert uwsgi.send_message is uwsgi.send_uwsgi_message
    assert uwsgi.send_multi_message is uwsgi.send_multi_uwsgi_message
    assert (uwsgi.SPOOL_OK, uwsgi.SPOOL_RETRY, uwsgi.SPOOL_IGNORE) == (-2, -1, 0)
    assert uwsgi.message_manager_marshal is None
    assert uwsgi.opt == {}


def test_send_uwsgi_message_answers(primes_node):
    host, port = host_port(primes_node.address)
    assert uwsgi.send_uwsgi_message(host, port, 33, ECHO, ("t.txt", {"v": [1]}), 30) == (
        "t.txt", {"v": [1]})
    assert uwsgi.send_uwsgi_message(host, port, 33, COUNT, [0, 100], 5)["count"] == 25


def test_failures_give_none(primes_node, dead_address):
    host, port = host_port(primes_node.address)
    assert uwsgi.send_uwsgi_message(host, port, 33, 42, "remote error", 5) is None
    assert uwsgi.send_uwsgi_message(*host_port(dead_address), 33, ECHO, "refused", 5) is None
    assert uwsgi.send_uwsgi_message("127.0.0.1", 99999, 33, ECHO, "bad port", 5) is None
    assert uwsgi.send_uwsgi_message(host, port, 33, ECHO, "still serving", 5) == "still serving"


def test_untravelable_object_still_raises(primes_node):
    host, port = host_port(primes_node.address)
    with pytest.raises(TypeError, match="cannot send object of type 'set'"):
        uwsgi.send_uwsgi_message(host, port, 33, ECHO, {1, 2}, 5)
    with pytest.raises(TypeError):
        uwsgi.send_multi_uwsgi_message(((host, port, object()),), 33, ECHO, 5)


def test_timeout_zero_means_one_second(primes_node):
    host, port = host_port(primes_node.address)
    assert isinstance(uwsgi.send_uwsgi_message(host, port, 33, SLEEP, {"ms": 400}, 0), int)
    start = time.monotonic()
    assert uwsgi.send_uwsgi_message(host, port, 33, SLEEP, {"ms": 3000}, 0) is None
    assert 0.9 <= time.monotonic() - start < 1.8


def test_timeout_in_seconds(primes_node):
    host, port = host_port(primes_node.address)
    start = time.monotonic()
    assert uwsgi.send_uwsgi_message(host, port, 33, SLEEP, {"ms": 3000}, 0.3) is None
    assert time.monotonic() - start < 0.9


def test_multi_none_in_the_dead_slot(primes_node, dead_address):
    host, port = host_port(primes_node.address)
    answers = uwsgi.send_multi_uwsgi_message(
        ((host, port, "a"), (*host_port(dead_address), "b"), (host, port, ["c"])), 33, ECHO, 5)
    assert answers == ("a", None, ["c"])


def test_seed_fan_out_shape(start_node, primes_node_binary, dead_address):
    """The seed document's remotecalc, unchanged but for the import and the addresses: five
    ((host, port, [lo, hi]), ...) over two live nodes and a dead one, modifier1 33 modifier2 17."""
    a = host_port(start_node(primes_node_binary, "--socket", "127.0.0.1:0").address)
    b = host_port(start_node(primes_node_binary, "--socket", "127.0.0.1:0").address)
    dead = host_port(dead_address)

    def remotecalc(env, start_response):
        start_response('200 OK', [('Content-Type', 'text/plain')])
        clusters = ((a[0], a[1], [0, 3000]),
                    (b[0], b[1], [3001, 6000]),
                    (a[0], a[1], [6001, 9000]),
                    (dead[0], dead[1], [9001, 12000]),
                    (b[0], b[1], [12001, 15000]))
        all_values = uwsgi.send_multi_uwsgi_message(clusters, 33, 17, 40)
        return all_values

    statuses = []
    all_values = remotecalc({}, lambda status, headers: statuses.append(status))
    assert statuses == ["200 OK"]
    assert isinstance(all_values, tuple) and len(all_values) == 5
    assert all_values[3] is None
    counts = [v["count"] for i, v in enumerate(all_values) if i != 3]
    assert counts == [count_primes(0, 3000), count_primes(3001, 6000), count_primes(6001, 9000),
                      count_primes(12001, 15000)]


def count_primes(lo, hi):
    """Primes in [lo, hi), by trial division."""
    def prime(n):
        return n > 1 and all(n % d for d in range(2, int(n ** 0.5) + 1))
    return sum(1 for n in range(lo, hi) if prime(n))


# ---- the remote spooler (modifier1 17) ----

def test_remote_spooler_call(fake_node):
    spooler = fake_node(lambda m1, m2, payload: struct.pack("<BHB", 255, 0, 1))
    answer = uwsgi.send_uwsgi_message("127.0.0.1", spooler.port, 17, 0,
                                      {'key1': 'value1', b'key2': b'value2'}, 30)
    assert answer is True
    assert spooler.requests == [
        (17, 0, vars_block([(b"key1", b"value1"), (b"key2", b"value2")]))]


def test_remote_spooler_failure_and_bad_values(fake_node, dead_address):
    spooler = fake_node(lambda m1, m2, payload: struct.pack("<BHB", 255, 0, 0))
    assert uwsgi.send_uwsgi_message("127.0.0.1", spooler.port, 17, 0, {"k": "v"}, 5) is None
    assert uwsgi.send_uwsgi_message(*host_port(dead_address), 17, 0, {"k": "v"}, 5) is None
    with pytest.raises(TypeError, match="spooler value"):
        uwsgi.send_uwsgi_message("127.0.0.1", spooler.port, 17, 0, {"k": 1}, 5)
    assert spooler.connections_before() == 1


# ---- RPC (modifier1 173) ----

def test_rpc_frames_the_call_as_uwsgi_does(fake_node):
    rpc = fake_node(lambda m1, m2, payload: struct.pack("<BHB", 173, 3, 0) + b"abc")
    assert uwsgi.rpc(rpc.address, b"hello", b"x", "", "yy") == b"abc"
    # Bytes as uWSGI 2.0.21's uwsgi.rpc() writes them for the same call.
    assert rpc.requests == [(173, 0, b"\x05\x00hello\x01\x00x\x00\x00\x02\x00yy")]


@pytest.mark.parametrize("reply", [
    struct.pack("<BHB", 255, 0, 0),  # failure
    struct.pack("<BHB", 173, 0, 0),  # empty answer
    None,  # closed without an answer (uWSGI: exception, unknown function, None)
])
def test_rpc_failures_give_none(fake_node, reply):
    rpc = fake_node(lambda m1, m2, payload: reply)
    assert uwsgi.rpc(rpc.address, "f", b"a") is None


def test_rpc_refused_gives_none(dead_address):
    assert uwsgi.rpc(dead_address, "f") is None


def test_rpc_argument_types(fake_node):
    rpc = fake_node(lambda m1, m2, payload: struct.pack("<BHB", 173, 1, 0) + b"k")
    with pytest.raises(TypeError, match="an RPC argument must be bytes or str, not 'int'"):
        uwsgi.rpc(rpc.address, "f", 5)
    assert rpc.connections_before() == 0


def test_local_rpc():
    uwsgi.register_rpc("join", lambda *args: b"+".join(args))
    uwsgi.register_rpc(b"text", lambda: "héllo")
    uwsgi.register_rpc("nothing", lambda: 42)

    def boom():
        raise KeyError("k")

    uwsgi.register_rpc("boom", boom)
    assert b"join" in uwsgi.rpc_list()
    assert uwsgi.rpc("", "join", b"a", "b") == b"a+b"
    assert uwsgi.rpc(None, b"join") == b""
    assert uwsgi.call("text") == "héllo".encode()
    assert uwsgi.call("nothing") is None
    assert uwsgi.call("boom") is None
    assert uwsgi.call("missing") is None
    with pytest.raises(LookupError):
        uwsgi._rpc_invoke(b"missing", [])
    with pytest.raises(KeyError):
        uwsgi._rpc_invoke("boom", [])
    with pytest.raises(TypeError):
        uwsgi.register_rpc("x", "not callable")


# ---- against real uWSGI 2.0 ----

UWSGI = shutil.which("uwsgi")
RPC_MODULE = textwrap.dedent("""
    import uwsgi

    def hello(*args):
        return b"hello:" + b",".join(args)

    def boom(*args):
        raise ValueError("boom")

    uwsgi.register_rpc("hello", hello)
    uwsgi.register_rpc("boom", boom)
""")


@pytest.fixture
def uwsgi_rpc_node(start_node, tmp_path):
    if UWSGI is None or not os.path.exists("/usr/lib/uwsgi/plugins/rpc_plugin.so"):
        pytest.skip("uWSGI (uwsgi-core, uwsgi-plugin-python3) is not installed")
    (tmp_path / "rpc_funcs.py").write_text(RPC_MODULE)
    return start_node(UWSGI, "--plugin", "python3,rpc", "--socket", "127.0.0.1:0",
                      "--pythonpath", tmp_path, "--module", "rpc_funcs",
                      ready=r"spawned uWSGI worker 1")


def test_rpc_to_real_uwsgi(uwsgi_rpc_node):
    node = uwsgi_rpc_node.address
    assert uwsgi.rpc(node, "hello", b"a", "bb") == b"hello:a,bb"
    assert uwsgi.rpc(node.encode(), b"hello") == b"hello:"
    assert uwsgi.rpc(node, "boom") is None
    assert uwsgi.rpc(node, "missing") is None
    assert uwsgi.rpc(node, "hello", b"again") == b"hello:again"
