"""WSGI inside a brood node (modifier1 0 and 30): the environ, the raw HTTP reply as uWSGI writes
it, failures, and the ways to name the application (--wsgi-file, --module pkg.mod:app,
--callable)."""
import pytest

from support import INTERNAL_ERROR_TAIL, write_module, wsgi_request

APP = """
    import os

    def application(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/fail":
            raise RuntimeError("app failed")
        if path == "/fail-late":
            start_response("200 OK", [("X-Late", "1")])
            def chunks():
                yield b"first;"
                raise RuntimeError("late failure")
            return chunks()
        if path == "/echo":
            body = environ["wsgi.input"].read()
            start_response("201 Created", [("Content-Type", "application/octet-stream"),
                                           ("X-Length", environ["CONTENT_LENGTH"])])
            return [b"got:", body]
        if path == "/write":
            write = start_response("200 OK", [])
            write(b"written;")
            return [b"returned"]
        if path == "/environ":
            keys = ["wsgi.version", "wsgi.url_scheme", "wsgi.multithread", "wsgi.run_once",
                    "REQUEST_METHOD", "QUERY_STRING", "SCRIPT_NAME", "PATH_INFO", "HTTP_X_Y"]
            start_response("200 OK", [])
            return [repr([environ.get(k) for k in keys]).encode()]
        if path == "/pid":
            start_response("200 OK", [])
            return [str(os.getpid()).encode()]
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Two", "a"),
                                  ("X-Two", "b")])
        return [b"hello ", path.encode(), b"?", environ["QUERY_STRING"].encode()]
"""


@pytest.fixture
def wsgi_node(start_node, brood_binary, tmp_path):
    write_module(tmp_path, "webapp", APP)
    return start_node(brood_binary, "--socket", "127.0.0.1:0", "--wsgi-file",
                      tmp_path / "webapp.py", "--master", "--processes", 1)


def test_get(wsgi_node):
    reply = wsgi_request(wsgi_node.address, "/some/path", query="q=1")
    assert reply == (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Two: a\r\nX-Two: b\r\n"
                     b"\r\nhello /some/path?q=1")


def test_post_with_a_body(wsgi_node):
    body = bytes(range(256)) * 400  # larger than buffer-size and than one read
    reply = wsgi_request(wsgi_node.address, "/echo", method="POST", body=body)
    head = (b"HTTP/1.1 201 Created\r\nContent-Type: application/octet-stream\r\n"
            b"X-Length: %d\r\n\r\ngot:" % len(body))
    assert reply == head + body


def test_status_line_protocol(wsgi_node):
    assert wsgi_request(wsgi_node.address, "/write", protocol=None) == (
        b"HTTP/1.0 200 OK\r\n\r\nwritten;returned")
    assert wsgi_request(wsgi_node.address, "/write", protocol="HTTP/1.0") == (
        b"HTTP/1.0 200 OK\r\n\r\nwritten;returned")


def test_environ(wsgi_node):
    reply = wsgi_request(wsgi_node.address, "/environ", query="a=b&c",
                         extra=[("HTTP_X_Y", "z\xe9"), ("HTTPS", "on")])
    body = reply.split(b"\r\n\r\n", 1)[1]
    assert body == repr([(1, 0), "https", False, False, "GET", "a=b&c", None, "/environ",
                         "z\xe9"]).encode()


def test_modifier1_30_strips_script_name(wsgi_node):
    reply = wsgi_request(wsgi_node.address, "/app/environ", modifier1=30,
                         extra=[("SCRIPT_NAME", "/app")])
    body = reply.split(b"\r\n\r\n", 1)[1]
    assert body == repr([(1, 0), "http", False, False, "GET", "", "/app", "/environ",
                         None]).encode()
    reply = wsgi_request(wsgi_node.address, "/app/environ", modifier1=0,
                         extra=[("SCRIPT_NAME", "/app")])
    assert reply.endswith(b"hello /app/environ?")


def test_failing_app_gets_500_and_the_worker_goes_on(wsgi_node):
    pid = wsgi_request(wsgi_node.address, "/pid").split(b"\r\n\r\n", 1)[1]
    assert wsgi_request(wsgi_node.address, "/fail") == b"HTTP/1.1" + INTERNAL_ERROR_TAIL
    assert wsgi_node.wait_for_line(r"^RuntimeError: app failed$") is not None
    assert wsgi_node.wait_for_line(r'raise RuntimeError\("app failed"\)') is not None
    assert wsgi_request(wsgi_node.address, "/pid").split(b"\r\n\r\n", 1)[1] == pid


def test_failure_after_the_body_started_sends_what_was_made(wsgi_node):
    # As uWSGI: the headers and the chunks produced so far, then the connection closes.
    assert wsgi_request(wsgi_node.address, "/fail-late") == (
        b"HTTP/1.1 200 OK\r\nX-Late: 1\r\n\r\nfirst;")
    assert wsgi_node.wait_for_line(r"^RuntimeError: late failure$") is not None


CALLABLES = """
    def application(environ, start_response):
        start_response("200 OK", [])
        return [b"default"]

    def app(environ, start_response):
        start_response("200 OK", [])
        return [b"app"]

    def other(environ, start_response):
        start_response("202 Accepted", [])
        return b"other"
"""


@pytest.mark.parametrize("args, answer", [
    (["--module", "pkg.web"], b"HTTP/1.1 200 OK\r\n\r\ndefault"),
    (["--module", "pkg.web:app"], b"HTTP/1.1 200 OK\r\n\r\napp"),
    (["--module", "pkg.web", "--callable", "other"], b"HTTP/1.1 202 Accepted\r\n\r\nother"),
    (["--wsgi-file", "pkg/web.py", "--callable", "app"], b"HTTP/1.1 200 OK\r\n\r\napp"),
    (["--file", "pkg/web.py"], b"HTTP/1.1 200 OK\r\n\r\ndefault"),
    (["-w", "pkg.web:other"], b"HTTP/1.1 202 Accepted\r\n\r\nother"),
])
def test_naming_the_application(start_node, brood_binary, tmp_path, args, answer):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    write_module(tmp_path / "pkg", "web", CALLABLES)
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", *args, cwd=tmp_path)
    assert wsgi_request(node.address, "/") == answer


def test_node_without_wsgi_callable_answers_500(start_node, brood_binary, tmp_path):
    write_module(tmp_path, "messages_only", "import uwsgi\n")
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--pythonpath", tmp_path,
                      "--module", "messages_only")
    assert wsgi_request(node.address, "/") == b"HTTP/1.1" + INTERNAL_ERROR_TAIL
    assert node.wait_for_line(r"no python application found") is not None


def test_a_lone_worker_stops_cleanly_on_a_signal_sent_at_node_ready(start_node, brood_binary,
                                                                    tmp_path):
    import signal
    write_module(tmp_path, "webapp", APP)
    for _ in range(5):  # the signal races the worker's start: try it a few times
        node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--wsgi-file",
                          tmp_path / "webapp.py")
        node.signal(signal.SIGINT)
        assert node.wait_exit(10) == 0, node.output()
