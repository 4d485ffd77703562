"""HTTP sockets (docs/config.md "HTTP"): brood's workers speak HTTP/1.1 on --http-socket with
keep-alive, pipelining, request bodies (Content-Length and chunked), the CGI environ of uWSGI's
http-socket, bad input answered with 400/413/431 (the worker keeps serving), http-timeout,
static-map, add-header and http-auto-chunked."""
import os
import socket
import time

import pytest

from support import connect, write_module

APP = """
    def application(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/echo":
            body = environ["wsgi.input"].read()
            start_response("200 OK", [("Content-Type", "application/octet-stream")])
            return [b"got:", body]
        if path.startswith("/environ"):
            keys = ["REQUEST_METHOD", "REQUEST_URI", "PATH_INFO", "QUERY_STRING",
                    "SERVER_PROTOCOL", "CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_X_FOO_BAR",
                    "HTTP_HOST", "REMOTE_ADDR", "SERVER_PORT", "SCRIPT_NAME",
                    "wsgi.url_scheme"]
            start_response("200 OK", [])
            return [repr({k: environ.get(k) for k in keys}).encode()]
        if path == "/close":
            start_response("200 OK", [("Connection", "close")])
            return [b"bye"]
        if path == "/length":
            start_response("200 OK", [("Content-Length", "5")])
            return [b"fixed"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello ", path.encode()]
"""


def read_response(conn, head_request=False):
    """One HTTP response from `conn`: (status line, {lower name: value}, body); None on EOF."""
    sock = conn.sock
    data = conn.pending
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, data = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    body = b""
    code = int(lines[0].split()[1])
    if head_request or code < 200 or code in (204, 304):
        pass
    elif "content-length" in headers:
        n = int(headers["content-length"])
        while len(data) < n:
            chunk = sock.recv(65536)
            assert chunk, "EOF inside a body"
            data += chunk
        body, data = data[:n], data[n:]
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            while b"\r\n" not in data:
                data += sock.recv(65536)
            size_line, data = data.split(b"\r\n", 1)
            size = int(size_line, 16)
            while len(data) < size + 2:
                data += sock.recv(65536)
            body += data[:size]
            data = data[size + 2:]
            if size == 0:
                break
    else:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        body, data = data, b""
    conn.pending = data
    return lines[0], headers, body


class Conn:
    def __init__(self, address):
        self.sock = connect(address)
        self.pending = b""

    def send(self, data):
        self.sock.sendall(data)

    def response(self, head_request=False):
        return read_response(self, head_request)

    def at_eof(self, timeout=5.0):
        self.sock.settimeout(timeout)
        try:
            return self.pending == b"" and self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def get(path, extra=b"", version=b"HTTP/1.1"):
    return b"GET " + path + b" " + version + b"\r\nHost: test\r\n" + extra + b"\r\n"


@pytest.fixture(scope="module")
def http_node(start_module_node, brood_binary, tmp_path_factory):
    folder = tmp_path_factory.mktemp("http")
    write_module(folder, "webapp", APP)
    static = folder / "static"
    (static / "sub").mkdir(parents=True)
    (static / "style.css").write_text("body{}")
    (static / "sub" / "page.html").write_text("<p>hi</p>")
    later = time.time() + 100  # newer than style.css: If-Modified-Since of style.css gets it
    os.utime(static / "sub" / "page.html", (later, later))
    (folder / "secret.txt").write_text("secret")
    os.symlink(folder / "secret.txt", static / "escape.txt")
    node = start_module_node(brood_binary, "--http-socket", "127.0.0.1:0", "--wsgi-file",
                             folder / "webapp.py", "--master", "--processes", 1,
                             "--static-map", "/static=%s" % static,
                             "--add-header", "X-Served-By: brood", "--http-timeout", 2)
    node.static_dir = static
    return node


def test_keep_alive_serves_many_requests_on_one_connection(http_node):
    c = Conn(http_node.address)
    for i in range(3):
        c.send(get(b"/n%d" % i))
        status, headers, body = c.response()
        assert status == "HTTP/1.1 200 OK"
        assert body == b"hello /n%d" % i
        assert headers["content-length"] == str(len(body))
        assert headers["x-served-by"] == "brood"
        assert "connection" not in headers
    c.close()


def test_the_app_content_length_is_kept(http_node):
    c = Conn(http_node.address)
    c.send(get(b"/length"))
    status, headers, body = c.response()
    assert headers["content-length"] == "5" and body == b"fixed"
    c.close()


def test_connection_close_is_honoured(http_node):
    c = Conn(http_node.address)
    c.send(get(b"/x", b"Connection: close\r\n"))
    status, headers, body = c.response()
    assert body == b"hello /x"
    assert headers["connection"] == "close"
    assert c.at_eof()


def test_the_app_can_close_the_connection(http_node):
    c = Conn(http_node.address)
    c.send(get(b"/close"))
    status, headers, body = c.response()
    assert body == b"bye" and headers["connection"] == "close"
    assert c.at_eof()


def test_http_1_0_closes_unless_keep_alive_is_asked(http_node):
    c = Conn(http_node.address)
    c.send(get(b"/a", version=b"HTTP/1.0"))
    status, headers, body = c.response()
    assert status == "HTTP/1.0 200 OK" and body == b"hello /a"
    assert c.at_eof()
    c = Conn(http_node.address)
    c.send(get(b"/b", b"Connection: keep-alive\r\n", version=b"HTTP/1.0"))
    status, headers, body = c.response()
    assert headers["connection"] == "keep-alive"
    c.send(get(b"/c", version=b"HTTP/1.0"))
    assert c.response()[2] == b"hello /c"
    assert c.at_eof()


def test_pipelined_requests_are_answered_in_order(http_node):
    c = Conn(http_node.address)
    c.send(get(b"/p1") + get(b"/p2") + b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3"
           b"\r\n\r\nabc" + get(b"/p3"))
    assert [c.response()[2] for _ in range(4)] == [b"hello /p1", b"hello /p2", b"got:abc",
                                                    b"hello /p3"]
    c.close()


def test_bodies_with_content_length_and_chunked_reach_wsgi_input(http_node):
    c = Conn(http_node.address)
    body = bytes(range(256)) * 300
    c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body))
    c.send(body)
    assert c.response()[2] == b"got:" + body
    c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n")
    assert c.response()[2] == b"got:hello world"
    c.close()


def test_expect_100_continue_is_answered(http_node):
    c = Conn(http_node.address)
    c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
    assert c.response()[0] == "HTTP/1.1 100 Continue"
    c.send(b"ok")
    assert c.response()[2] == b"got:ok"
    c.close()


def test_the_environ_is_uwsgi_http_sockets(http_node):
    c = Conn(http_node.address)
    c.send(b"POST /environ/a%20b?x=1&y=%20 HTTP/1.1\r\nHost: h:1\r\nX-Foo-Bar: baz\r\n"
           b"Content-Type: text/plain\r\nContent-Length: 0\r\n\r\n")
    env = eval(c.response()[2])
    port = http_node.address.rsplit(":", 1)[1]
    assert env == {"REQUEST_METHOD": "POST", "REQUEST_URI": "/environ/a%20b?x=1&y=%20",
                   "PATH_INFO": "/environ/a b", "QUERY_STRING": "x=1&y=%20",
                   "SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_TYPE": "text/plain",
                   "CONTENT_LENGTH": "0", "HTTP_X_FOO_BAR": "baz", "HTTP_HOST": "h:1",
                   "REMOTE_ADDR": "127.0.0.1", "SERVER_PORT": port, "SCRIPT_NAME": "",
                   "wsgi.url_scheme": "http"}
    c.close()


@pytest.mark.parametrize("request_bytes,status,reason", [
    (b"GARBAGE\r\n\r\n", 400, "Bad Request"),
    (b"GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n", 400, "Bad Request"),
    (b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n", 431,
     "Request Header Fields Too Large"),
    (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\n", 413,
     "Payload Too Large"),
    (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400,
     "Bad Request"),
])
def test_bad_requests_get_their_status_and_the_worker_goes_on(http_node, request_bytes, status,
                                                               reason):
    c = Conn(http_node.address)
    c.send(request_bytes)
    line, headers, body = c.response()
    assert line == "HTTP/1.1 %d %s" % (status, reason)
    assert headers["connection"] == "close"
    assert c.at_eof()
    assert http_node.wait_for_line(r"refused with %d" % status) is not None
    c = Conn(http_node.address)
    c.send(get(b"/after"))
    assert c.response()[2] == b"hello /after"
    c.close()


def test_a_slow_client_is_cut_after_http_timeout(http_node):
    c = Conn(http_node.address)
    c.send(b"GET / HTTP/1.1\r\nHost:")
    start = time.monotonic()
    assert c.at_eof(timeout=10)
    assert 1.5 < time.monotonic() - start < 6
    assert http_node.wait_for_line(r"not received within http-timeout") is not None


def test_static_map_serves_files_with_browser_headers(http_node):
    c = Conn(http_node.address)
    c.send(get(b"/static/style.css"))
    status, headers, body = c.response()
    assert status == "HTTP/1.1 200 OK" and body == b"body{}"
    assert headers["content-type"] == "text/css"
    assert headers["x-served-by"] == "brood"
    modified = headers["last-modified"]
    c.send(get(b"/static/sub/page.html", b"If-Modified-Since: " + modified.encode() + b"\r\n"))
    status, headers, body = c.response()
    assert status == "HTTP/1.1 200 OK" and headers["content-type"] == "text/html"
    c.send(get(b"/static/style.css", b"If-Modified-Since: " + modified.encode() + b"\r\n"))
    status, headers, body = c.response()
    assert status == "HTTP/1.1 304 Not Modified" and body == b""
    c.send(b"HEAD /static/style.css HTTP/1.1\r\nHost: t\r\n\r\n")
    status, headers, body = c.response(head_request=True)
    assert status == "HTTP/1.1 200 OK" and headers["content-length"] == "6"
    c.send(get(b"/static/missing.css"))  # no such file: the application answers
    assert c.response()[2] == b"hello /static/missing.css"
    c.close()


@pytest.mark.parametrize("path", [b"/static/../secret.txt", b"/static/%2e%2e/secret.txt",
                                  b"/static/escape.txt"])
def test_static_map_refuses_paths_leaving_its_directory(http_node, path):
    c = Conn(http_node.address)
    c.send(get(path))
    status, headers, body = c.response()
    assert status == "HTTP/1.1 403 Forbidden"
    assert b"secret" not in body
    c.close()


def test_auto_chunked_and_keepalive_off(start_node, brood_binary, tmp_path):
    write_module(tmp_path, "webapp", APP)
    node = start_node(brood_binary, "--http11-socket", "127.0.0.1:0", "--wsgi-file",
                      tmp_path / "webapp.py", "--http-auto-chunked")
    c = Conn(node.address)
    c.send(get(b"/chunky"))
    status, headers, body = c.response()
    assert headers["transfer-encoding"] == "chunked" and body == b"hello /chunky"
    c.send(get(b"/again"))
    assert c.response()[2] == b"hello /again"
    c.close()
    node = start_node(brood_binary, "--http", "127.0.0.1:0", "--wsgi-file",
                      tmp_path / "webapp.py", "--http-keepalive", "0")
    c = Conn(node.address)
    c.send(get(b"/once"))
    status, headers, body = c.response()
    assert body == b"hello /once" and headers["connection"] == "close"
    assert c.at_eof()


def test_uwsgi_and_http_sockets_side_by_side(start_node, brood_binary, tmp_path):
    from support import wsgi_request
    write_module(tmp_path, "webapp", APP)
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--http-socket", "127.0.0.1:0",
                      "--wsgi-file", tmp_path / "webapp.py")
    m = node.wait_for_line(r"uwsgi socket 1 bound to TCP address (\S+)")
    assert m is not None
    c = Conn(m.group(1))
    c.send(get(b"/h"))
    assert c.response()[2] == b"hello /h"
    c.close()
    assert wsgi_request(node.address, "/u").endswith(b"hello /u")


def test_every_core_of_a_threaded_worker_speaks_http(start_node, brood_binary, tmp_path):
    write_module(tmp_path, "webapp", APP)
    node = start_node(brood_binary, "--http-socket", "127.0.0.1:0", "--wsgi-file",
                      tmp_path / "webapp.py", "--master", "--processes", 1, "--threads", 4)
    # Connections held open at once are taken by different cores: each must answer HTTP.
    conns = [Conn(node.address) for _ in range(8)]
    for i, c in enumerate(conns):
        c.send(get(b"/t%d" % i))
    for i, c in enumerate(conns):
        assert c.response()[2] == b"hello /t%d" % i
        c.close()


LOCAL_APP = """
    import threading

    local = threading.local()

    def application(environ, start_response):
        local.count = getattr(local, "count", 0) + 1
        start_response("200 OK", [])
        return [b"%d %d" % (threading.get_ident(), local.count)]
"""


def test_a_core_thread_keeps_its_python_thread_state(start_node, brood_binary, tmp_path):
    # threading.local lives as long as the thread's Python state: one per core for its life, not
    # one per request.
    write_module(tmp_path, "localapp", LOCAL_APP)
    node = start_node(brood_binary, "--http-socket", "127.0.0.1:0", "--wsgi-file",
                      tmp_path / "localapp.py", "--master", "--processes", 1, "--threads", 2)
    conns = [Conn(node.address) for _ in range(2)]  # held open: on one core or on both
    counts = {}  # thread -> the counts it answered, in order
    for _ in range(5):
        for c in conns:
            c.send(get(b"/"))
            thread, count = c.response()[2].split()
            counts.setdefault(thread, []).append(int(count))
    for c in conns:
        c.close()
    for seen in counts.values():  # each core thread's count goes up by one per request it served
        assert seen == list(range(1, len(seen) + 1)), counts


def make_certificate(folder):
    """A self-signed certificate for localhost: (cert path, key path)."""
    import subprocess
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=localhost"], check=True,
                   capture_output=True)
    return cert, key


def test_https_serves_kept_alive_connections_over_tls(start_node, brood_binary, tmp_path):
    import ssl
    write_module(tmp_path, "webapp", APP)
    cert, key = make_certificate(tmp_path)
    node = start_node(brood_binary, "--https", "127.0.0.1:0,%s,%s" % (cert, key), "--wsgi-file",
                      tmp_path / "webapp.py")
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    c = Conn(node.address)
    c.sock = context.wrap_socket(c.sock)
    c.send(get(b"/environ"))
    env = eval(c.response()[2])
    assert env["wsgi.url_scheme"] == "https"
    body = b"x" * 100000
    c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body) + body +
           get(b"/pipelined"))
    assert c.response()[2] == b"got:" + body
    assert c.response()[2] == b"hello /pipelined"
    c.close()
    plain = Conn(node.address)  # not TLS: the handshake fails, the worker goes on
    plain.send(get(b"/"))
    assert plain.at_eof()
    assert node.wait_for_line(r"HTTPS connection from .* closed: TLS error") is not None
    c = Conn(node.address)
    c.sock = context.wrap_socket(c.sock)
    c.send(get(b"/after"))
    assert c.response()[2] == b"hello /after"
    c.close()


def test_https_with_a_missing_certificate_fails_at_start(brood_binary, tmp_path):
    import subprocess
    write_module(tmp_path, "webapp", APP)
    r = subprocess.run([brood_binary, "--https", "127.0.0.1:0,%s,%s" % (tmp_path / "no.crt",
                                                                         tmp_path / "no.key"),
                        "--wsgi-file", tmp_path / "webapp.py"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode != 0
    assert "cannot load certificate %s" % (tmp_path / "no.crt") in r.stdout + r.stderr
