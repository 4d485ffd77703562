"""RPC interop with real uWSGI 2.0 (Debian uwsgi-core + uwsgi-plugin-python3): uwsgi.rpc() on a
real uWSGI node calls functions registered on a brood node, and uwsgi.rpc() on a brood node calls
functions registered on a real uWSGI node.

Every node loads the same module, rpc_caller.py: a WSGI app that makes one uwsgi.rpc() call
described by its query string and answers the result as JSON; it imports rpc_functions.py, which
registers the functions hello, echo, big and fail. The test triggers a call with one GET over
the uwsgi protocol.
Note: uWSGI 2.0 with Python 3 wants the function name as bytes, and a uWSGI node answers
modifier1 173 only with the rpc plugin loaded (--plugin python3,rpc).
"""
import json
import os
import shutil
import textwrap
from urllib.parse import urlencode

import pytest

from support import exchange, vars_block

UWSGI_PYTHON_PLUGIN = "/usr/lib/uwsgi/plugins/python3_plugin.so"

RPC_FUNCTIONS = textwrap.dedent("""\
    import os
    import uwsgi

    WHO = os.environ["INTEROP_NAME"].encode()

    def hello(*args):
        return WHO + b":" + b"|".join(args)

    def echo(arg):
        return arg

    def big(n):
        return b"x" * int(n)

    def fail(*args):
        raise ValueError("deliberate failure")

    for f in (hello, echo, big, fail):
        uwsgi.register_rpc(f.__name__, f)
    """)

RPC_CALLER = textwrap.dedent("""\
    import json
    import uwsgi
    import rpc_functions  # registers the RPC functions
    from urllib.parse import parse_qs

    def application(environ, start_response):
        q = parse_qs(environ["QUERY_STRING"], keep_blank_values=True)
        args = [bytes.fromhex(a) for a in q.get("arg", [])]
        try:
            answer = uwsgi.rpc(q["target"][0], q["name"][0].encode(), *args)
            result = {"answer": None if answer is None else answer.hex()}
        except Exception as e:  # uWSGI raises ValueError when the call fails
            result = {"error": "%s: %s" % (type(e).__name__, e)}
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(result).encode()]
    """)


def uwsgi_get(address, uri, timeout=20):
    """One GET over the uwsgi protocol (modifier1 0): (status line, body)."""
    path, _, query = uri.partition("?")
    block = vars_block([("REQUEST_METHOD", "GET"), ("REQUEST_URI", uri), ("PATH_INFO", path),
                        ("QUERY_STRING", query), ("SERVER_PROTOCOL", "HTTP/1.1"),
                        ("SERVER_NAME", "localhost"), ("SERVER_PORT", "80")])
    reply = exchange(address, 0, block, timeout=timeout)
    head, _, body = reply.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0].decode("latin-1"), body


def call_via(caller, target, name, *args):
    """Has the node `caller` run uwsgi.rpc(target, name, *args); returns its JSON result."""
    query = urlencode([("target", target), ("name", name)] + [("arg", a.hex()) for a in args])
    status, body = uwsgi_get(caller.address, "/?" + query)
    assert status == "HTTP/1.1 200 OK", (status, body, caller.output())
    return json.loads(body)


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    d = tmp_path_factory.mktemp("rpc_apps")
    (d / "rpc_functions.py").write_text(RPC_FUNCTIONS)
    (d / "rpc_caller.py").write_text(RPC_CALLER)
    return d


def _env(name):
    return dict(os.environ, INTEROP_NAME=name, PYTHONDONTWRITEBYTECODE="1")


@pytest.fixture(scope="module")
def uwsgi_node(start_module_node, apps):
    """A real uWSGI node: RPC functions and the caller app, 2 workers, room for 1 KiB RPC
    arguments in the trigger's query string."""
    if not shutil.which("uwsgi") or not os.path.exists(UWSGI_PYTHON_PLUGIN):
        pytest.skip("real uWSGI is not installed (Debian uwsgi-core, uwsgi-plugin-python3)")
    return start_module_node(
        "uwsgi", "--plugin", "python3,rpc", "--master", "--processes", 2, "--buffer-size",
        32768, "--socket", "127.0.0.1:0", "--pythonpath", apps, "--module", "rpc_caller",
        ready=r"spawned uWSGI worker 2 ", env=_env("uwsgi"))


@pytest.fixture(scope="module")
def brood_node(start_module_node, brood_binary, apps):
    """A brood node: the same RPC functions and caller app, 2 workers."""
    return start_module_node(
        brood_binary, "--socket", "127.0.0.1:0", "--master", "--processes", 2, "--buffer-size",
        32768, "--pythonpath", apps, "--module", "rpc_caller", env=_env("brood"))


class TestUwsgiCallsBrood:
    """uwsgi.rpc() on the real uWSGI node, the function on the brood node."""

    def test_answer_comes_from_brood(self, uwsgi_node, brood_node):
        r = call_via(uwsgi_node, brood_node.address, "hello", b"a", b"bc")
        assert r == {"answer": b"brood:a|bc".hex()}

    def test_no_arguments(self, uwsgi_node, brood_node):
        assert call_via(uwsgi_node, brood_node.address, "hello") == {"answer": b"brood:".hex()}

    def test_binary_argument_round_trips(self, uwsgi_node, brood_node):
        data = bytes(range(256)) * 4
        assert call_via(uwsgi_node, brood_node.address, "echo", data) == {"answer": data.hex()}

    def test_big_answer(self, uwsgi_node, brood_node):
        r = call_via(uwsgi_node, brood_node.address, "big", b"30000")
        assert bytes.fromhex(r["answer"]) == b"x" * 30000

    def test_failing_function_is_an_error_and_brood_keeps_serving(self, uwsgi_node, brood_node):
        r = call_via(uwsgi_node, brood_node.address, "fail")
        assert "answer" not in r or r["answer"] is None, r
        assert brood_node.wait_for_line("deliberate failure", timeout=5), brood_node.output()
        r = call_via(uwsgi_node, brood_node.address, "hello", b"again")
        assert r == {"answer": b"brood:again".hex()}

    def test_unknown_function_is_an_error(self, uwsgi_node, brood_node):
        r = call_via(uwsgi_node, brood_node.address, "no_such_function", b"x")
        assert "answer" not in r or r["answer"] is None, r


class TestBroodCallsUwsgi:
    """uwsgi.rpc() on the brood node, the function on the real uWSGI node."""

    def test_answer_comes_from_uwsgi(self, uwsgi_node, brood_node):
        r = call_via(brood_node, uwsgi_node.address, "hello", b"a", b"bc")
        assert r == {"answer": b"uwsgi:a|bc".hex()}

    def test_binary_argument_round_trips(self, uwsgi_node, brood_node):
        data = bytes(range(256)) * 4
        assert call_via(brood_node, uwsgi_node.address, "echo", data) == {"answer": data.hex()}

    def test_big_answer(self, uwsgi_node, brood_node):
        r = call_via(brood_node, uwsgi_node.address, "big", b"30000")
        assert bytes.fromhex(r["answer"]) == b"x" * 30000

    def test_failing_and_unknown_functions_give_none(self, uwsgi_node, brood_node):
        assert call_via(brood_node, uwsgi_node.address, "fail") == {"answer": None}
        assert call_via(brood_node, uwsgi_node.address, "no_such_function") == {"answer": None}

    def test_from_a_plain_python_process(self, uwsgi_node):
        from brood import uwsgi
        assert uwsgi.rpc(uwsgi_node.address, "hello", b"x", "y") == b"uwsgi:x|y"
