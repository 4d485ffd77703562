"""nginx (uwsgi_pass) in front of a brood node serving a WSGI app: GET, and POST with a body."""
import http.client
import os
import shutil

import pytest

from support import NGINX_HEAD, eventually, free_port, listening, write_module

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)

APP = """
    def application(environ, start_response):
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("X-Seen", "%s %s %s %d" % (environ["REQUEST_METHOD"],
                                                              environ["PATH_INFO"],
                                                              environ["QUERY_STRING"],
                                                              len(body)))])
        return [body or b"no body"]
"""

CONFIG = NGINX_HEAD + """
    server {{
        listen 127.0.0.1:{port};
        location / {{
            include /etc/nginx/uwsgi_params;
            uwsgi_pass {upstream};
        }}
    }}
}}
"""


def wait_listening(port, node, timeout=10.0):
    address = "127.0.0.1:%d" % port
    if eventually(lambda: listening(address) or node.proc.poll() is not None, timeout, 0.02) and \
            node.proc.poll() is None:
        return
    pytest.fail("nginx is not listening on %d:\n%s" % (port, node.output()))


@pytest.fixture
def nginx_port(start_node, brood_binary, tmp_path):
    if NGINX is None or not os.path.exists("/etc/nginx/uwsgi_params"):
        pytest.skip("nginx is not installed")
    write_module(tmp_path, "web", APP)
    brood_node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--pythonpath", tmp_path,
                            "--module", "web", "--processes", 2)
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(CONFIG.format(dir=tmp_path, port=port, upstream=brood_node.address))
    nginx = start_node(NGINX, "-p", tmp_path, "-c", conf, bound=False, ready=None)
    wait_listening(port, nginx)
    return port


def request(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body)
        resp = conn.getresponse()
        return resp.status, resp.getheader("X-Seen"), resp.read()
    finally:
        conn.close()


def test_get_through_nginx(nginx_port):
    assert request(nginx_port, "GET", "/hello?x=1") == (200, "GET /hello x=1 0", b"no body")


def test_post_through_nginx(nginx_port):
    body = os.urandom(200000)
    assert request(nginx_port, "POST", "/upload", body) == (200, "POST /upload  200000", body)
