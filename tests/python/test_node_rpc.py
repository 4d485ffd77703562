"""RPC (modifier1 173) inside a brood node: functions registered with uwsgi.register_rpc, called
with uwsgi.rpc from brood, from a raw socket (the bytes real uWSGI 2.0.21 writes), and from a
real uWSGI node."""
import os
import shutil
import textwrap

import pytest

from brood import uwsgi
from support import rpc_request, write_module, wsgi_request

FUNCTIONS = """
    import os
    import uwsgi

    def hello(*args):
        return b"hello:" + b",".join(args)

    def text(*args):
        return "h\\xe9llo"

    def boom(*args):
        raise ValueError("rpc boom")

    def nothing(*args):
        return None

    def empty(*args):
        return b""

    def pid(*args):
        return str(os.getpid())

    for fn in (hello, text, boom, nothing, empty, pid):
        uwsgi.register_rpc(fn.__name__, fn)
"""


@pytest.fixture
def rpc_node(start_node, brood_binary, tmp_path):
    write_module(tmp_path, "rpc_funcs", FUNCTIONS)
    return start_node(brood_binary, "--socket", "127.0.0.1:0", "--pythonpath", tmp_path,
                      "--module", "rpc_funcs", "--master", "--processes", 1)


def test_framed_reply_bytes(rpc_node):
    # Real uWSGI 2.0.21 answers [173, size, 0] + the bytes and closes the connection.
    assert rpc_request(rpc_node.address, [b"hello", b"a", b"bc"]) == b"\xad\x0a\x00\x00hello:a,bc"
    assert rpc_request(rpc_node.address, [b"hello"]) == b"\xad\x06\x00\x00hello:"
    assert rpc_request(rpc_node.address, [b"text"]) == b"\xad\x06\x00\x00h\xc3\xa9llo"


def test_raw_reply_bytes(rpc_node):
    assert rpc_request(rpc_node.address, [b"hello", b"x"], modifier2=1) == b"hello:x"
    assert rpc_request(rpc_node.address, [b"hello", b"x"], modifier2=4) == b"hello:x"


def test_failures_close_without_a_reply(rpc_node):
    # As uWSGI: nothing is written, the connection is closed.
    pid = rpc_request(rpc_node.address, [b"pid"])
    for items in ([b"missing"], [b"nothing"], [b"empty"], [b"boom", b"x"], [], [b""]):
        assert rpc_request(rpc_node.address, items) == b""
    assert rpc_node.wait_for_line(r"^ValueError: rpc boom$") is not None
    assert rpc_node.wait_for_line(r'raise ValueError\("rpc boom"\)') is not None
    assert rpc_node.wait_for_line(r'RPC function "missing" is not registered') is not None
    assert rpc_request(rpc_node.address, [b"pid"]) == pid  # the same worker goes on


def test_uwsgi_rpc_from_brood(rpc_node):
    assert uwsgi.rpc(rpc_node.address, "hello", b"a", "b") == b"hello:a,b"
    assert uwsgi.rpc(rpc_node.address, b"text") == "h\xe9llo".encode()
    assert uwsgi.rpc(rpc_node.address, "boom") is None
    assert uwsgi.rpc(rpc_node.address, "missing") is None


def test_rpc_from_a_brood_node_to_another(start_node, brood_binary, rpc_node, tmp_path):
    write_module(tmp_path, "caller", """
        import uwsgi

        def handler(target, modifier2):
            return uwsgi.rpc(target, "hello", b"from", b"node")

        uwsgi.message_manager_marshal = handler
    """)
    import brood
    caller = start_node(brood_binary, "--socket", "127.0.0.1:0", "--pythonpath", tmp_path,
                        "--module", "caller")
    assert brood.send_message(caller.address, 33, 0, rpc_node.address) == b"hello:from,node"


UWSGI = shutil.which("uwsgi")
UWSGI_CALLER = """
    import os
    import uwsgi

    def application(environ, start_response):
        target = os.environ["BROOD_RPC_TARGET"]
        answers = [uwsgi.rpc(target, b"hello", b"from", b"uwsgi"), uwsgi.rpc(target, b"boom"),
                   uwsgi.rpc(target, b"missing")]
        start_response("200 OK", [])
        return [repr(answers).encode()]
"""


def test_real_uwsgi_calls_brood(start_node, rpc_node, tmp_path):
    if UWSGI is None or not os.path.exists("/usr/lib/uwsgi/plugins/rpc_plugin.so"):
        pytest.skip("uWSGI (uwsgi-core, uwsgi-plugin-python3) is not installed")
    write_module(tmp_path, "uwsgi_caller", UWSGI_CALLER)
    env = dict(os.environ, BROOD_RPC_TARGET=rpc_node.address)
    real = start_node(UWSGI, "--plugin", "python3,rpc", "--socket", "127.0.0.1:0",
                      "--wsgi-file", tmp_path / "uwsgi_caller.py", env=env,
                      ready=r"spawned uWSGI worker 1")
    reply = wsgi_request(real.address, "/")
    assert reply == b"HTTP/1.1 200 OK\r\n\r\n" + repr([b"hello:from,uwsgi", None, None]).encode()
