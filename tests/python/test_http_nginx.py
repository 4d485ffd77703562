"""Clients of brood's HTTP sockets: nginx proxy_pass with kept-alive upstream connections (HTTP/1.1
to the upstream), and Python's http.client reusing one connection."""
import http.client
import os

import pytest

from support import NGINX_HEAD, free_port, write_module
from test_node_nginx import NGINX, wait_listening

APP = """
    import os

    def application(environ, start_response):
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("X-Seen", "%s %s %s %d %d" % (environ["REQUEST_METHOD"],
                                                                 environ["PATH_INFO"],
                                                                 environ["QUERY_STRING"],
                                                                 len(body), os.getpid()))])
        return [body or b"no body"]
"""

CONFIG = NGINX_HEAD + """
    upstream brood {{
        server {upstream};
        keepalive 4;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://brood;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


@pytest.fixture
def brood_http(start_node, brood_binary, tmp_path):
    write_module(tmp_path, "web", APP)
    return start_node(brood_binary, "--http-socket", "127.0.0.1:0", "--pythonpath", tmp_path,
                      "--module", "web", "--processes", 1)


def request(conn, method, path, body=None):
    conn.request(method, path, body=body)
    resp = conn.getresponse()
    return resp.status, resp.getheader("X-Seen"), resp.read()


def test_http_client_reuses_one_connection(brood_http):
    host, port = brood_http.address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    body = os.urandom(100000)
    status, seen, got = request(conn, "POST", "/up?x=1", body)
    assert (status, got) == (200, body)
    assert seen.startswith("POST /up x=1 100000 ")
    first_socket = conn.sock
    for i in range(5):
        status, seen, got = request(conn, "GET", "/g%d" % i)
        assert (status, got) == (200, b"no body")
    assert conn.sock is first_socket  # never reconnected
    conn.close()


def test_nginx_proxy_pass_with_kept_alive_upstream(start_node, brood_http, tmp_path):
    if NGINX is None:
        pytest.skip("nginx is not installed")
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(CONFIG.format(dir=tmp_path, port=port, upstream=brood_http.address))
    nginx = start_node(NGINX, "-p", tmp_path, "-c", conf, bound=False, ready=None)
    wait_listening(port, nginx)
    for i in range(5):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        assert request(conn, "GET", "/hello%d?x=1" % i)[:2][0] == 200
        conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = os.urandom(200000)
    status, seen, got = request(conn, "POST", "/upload", body)
    conn.close()
    assert (status, got) == (200, body)
    assert seen.startswith("POST /upload  200000 ")
