"""brood's kept-alive answers (docs/protocol.md §6.1, a brood extension): a brood node frames its
WSGI answer and keeps the connection only for a request carrying BROOD_KEEPALIVE=1; any other
client (uWSGI's fastrouter, nginx) gets the plain answer and a close. Through brood's router, a
node subscribed with `subscribe2 ...,keepalive=1` is served on kept connections and the client
sees the same bytes; uWSGI's fastrouter in front of the same node still gets plain answers."""
import shutil
import struct

import pytest

from support import connect, eventually, free_port, vars_block, wsgi_request

APP = """\
def application(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"got " + body]
"""


@pytest.fixture(scope="module")
def app_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("keepalive_app")
    (d / "app.py").write_text(APP)
    return d / "app.py"


def packet(body=b"", keepalive=True):
    items = [("REQUEST_METHOD", "POST"), ("PATH_INFO", "/"), ("SERVER_PROTOCOL", "HTTP/1.0"),
             ("CONTENT_LENGTH", str(len(body)))]
    if keepalive:
        items.append(("BROOD_KEEPALIVE", "1"))
    block = vars_block(items)
    return struct.pack("<BHB", 0, len(block), 0) + block + body


def read_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        assert chunk, "the node closed the kept connection"
        data += chunk
    return data


def read_framed(s):
    answer = b""
    while True:
        (length,) = struct.unpack("<I", read_exactly(s, 4))
        if length == 0:
            return answer
        answer += read_exactly(s, length)


def test_framed_only_when_asked_and_the_connection_stays(start_node, brood_binary, app_file):
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--wsgi-file", app_file)
    plain = wsgi_request(node.address, method="POST", body=b"one", protocol="HTTP/1.0")
    assert plain == b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\ngot one"
    with connect(node.address) as s:
        for body in (b"one", b"two" * 20000, b""):
            s.sendall(packet(body))
            assert read_framed(s) == b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\ngot " + body
        s.sendall(packet(b"last", keepalive=False))  # a plain request on it: plain, then closed
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        assert data == b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\ngot last"


def test_routed_on_kept_connections_and_plain_for_uwsgis_router(start_node, brood_binary,
                                                                  app_file):
    front, subs = "127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port()
    router = start_node(brood_binary, "--fastrouter", front, "--fastrouter-subscription-server",
                        subs, bound=False, ready=r"subscription server bound on")
    targets = ["--subscribe2", "server=%s,key=k.example,keepalive=1" % subs]
    uwsgi = shutil.which("uwsgi")
    if uwsgi:
        u_front, u_subs = "127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port()
        u_router = start_node(uwsgi, "--plugin", "fastrouter", "--master", "--fastrouter", u_front,
                              "--fastrouter-subscription-server", u_subs, bound=False,
                              ready=r"spawned uWSGI fastrouter")
        targets += ["--subscribe2", "server=%s,key=k.example,keepalive=1" % u_subs]
    node = start_node(brood_binary, "--master", "--socket", "127.0.0.1:0", "--wsgi-file",
                      app_file, *targets)
    assert router.wait_for_line(r"k.example => new node: " + node.address, 10), router.output()
    want = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\ngot %d"
    for i in range(10):
        got = wsgi_request(front, method="POST", body=b"%d" % i, protocol="HTTP/1.0",
                           extra=[("HTTP_HOST", "k.example")])
        assert got == want % i
    if uwsgi:
        # uWSGI 2.0.21's fastrouter takes the datagram with the key it does not know.
        assert u_router.wait_for_line(r"k.example => new node: " + node.address, 10), \
            u_router.output()
        for i in range(3):
            got = wsgi_request(u_front, method="POST", body=b"%d" % i, protocol="HTTP/1.0",
                               extra=[("HTTP_HOST", "k.example")])
            assert got == want % i
