"""nginx (Debian nginx-light) in front of a brood node with `uwsgi_pass`: the node's WSGI app
answers GET and POST (with a body, small and spooled by nginx to a temp file), its status and
headers pass through, big streamed answers arrive whole.

Every test runs against a brood node and, as the control that shows the test itself is right,
against a real uWSGI 2.0 node serving the same app file (skipped when uWSGI is not installed).
nginx listens on a unix socket in the test's temporary folder (nginx cannot bind port 0); the
test speaks HTTP to it with http.client.
"""
import hashlib
import http.client
import json
import os
import shutil
import socket
import textwrap

import pytest

from support import eventually, listening

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
UWSGI_PYTHON_PLUGIN = "/usr/lib/uwsgi/plugins/python3_plugin.so"

WSGI_APP = textwrap.dedent("""\
    import hashlib
    import json

    def application(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        path = environ["PATH_INFO"]
        if path == "/missing":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such page\\n"]
        if path == "/big":
            start_response("200 OK", [("Content-Type", "application/octet-stream")])
            return (bytes([i]) * 16384 for i in range(64))
        info = {
            "method": environ["REQUEST_METHOD"], "path": path,
            "query": environ.get("QUERY_STRING", ""),
            "content_type": environ.get("CONTENT_TYPE", ""), "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(), "x_test": environ.get("HTTP_X_TEST"),
            "scheme": environ["wsgi.url_scheme"],
        }
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("X-Served-By", "wsgi_echo")])
        return [json.dumps(info).encode()]
    """)

NGINX_CONF = """\
{user}
daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log stderr;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/client_body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  client_max_body_size 4m;
  server {{
    listen unix:{d}/http.sock;
    location / {{
      include /etc/nginx/uwsgi_params;
      uwsgi_pass {backend};
    }}
  }}
}}
"""


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a unix socket (nginx's listening socket)."""

    def __init__(self, path, timeout=20):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("nginx_app")
    (d / "wsgi_echo.py").write_text(WSGI_APP)
    return d


def _start_backend(kind, factory, app_dir):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    if kind == "brood":
        return factory(os.environ["BROOD_BINARY"], "--socket", "127.0.0.1:0", "--master",
                       "--processes", 2, "--pythonpath", app_dir, "--module", "wsgi_echo",
                       env=env)
    if not shutil.which("uwsgi") or not os.path.exists(UWSGI_PYTHON_PLUGIN):
        pytest.skip("real uWSGI is not installed (Debian uwsgi-core, uwsgi-plugin-python3)")
    return factory("uwsgi", "--plugin", "python3", "--master", "--processes", 2, "--socket",
                   "127.0.0.1:0", "--pythonpath", app_dir, "--module", "wsgi_echo",
                   ready=r"spawned uWSGI worker 2 ", env=env)


def _wait_for_socket(path, nginx, timeout=10.0):
    if eventually(lambda: listening(path) or nginx.proc.poll() is not None, timeout, 0.05) and \
            nginx.proc.poll() is None:
        return
    pytest.fail("nginx does not listen on %s:\n%s" % (path, nginx.output()))


@pytest.fixture(scope="module", params=["brood", "uwsgi"])
def site(request, start_module_node, brood_binary, app_dir, tmp_path_factory):
    """nginx with uwsgi_pass to a backend node (brood, or real uWSGI as the control).
    Returns the path of nginx's unix socket."""
    if NGINX is None:
        pytest.skip("nginx is not installed (Debian nginx-light)")
    backend = _start_backend(request.param, start_module_node, app_dir)
    d = tmp_path_factory.mktemp("nginx_" + request.param)
    # As root nginx's workers would run as nobody, who cannot enter pytest's private tmp folder.
    user = "user root;" if os.geteuid() == 0 else ""
    (d / "nginx.conf").write_text(NGINX_CONF.format(user=user, d=d, backend=backend.address))
    nginx = start_module_node(NGINX, "-c", d / "nginx.conf", "-p", d, "-e", "stderr",
                              ready=None, bound=False)
    _wait_for_socket(str(d / "http.sock"), nginx)
    return str(d / "http.sock")


def request(site, method, url, body=None, headers=None):
    c = UnixHTTPConnection(site)
    try:
        c.request(method, url, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


def test_get(site):
    status, headers, body = request(site, "GET", "/hello/world?x=1&y=two", headers={"X-Test": "t"})
    assert status == 200, body
    assert headers["X-Served-By"] == "wsgi_echo"
    assert headers["Content-Type"] == "application/json"
    info = json.loads(body)
    assert info["method"] == "GET"
    assert info["path"] == "/hello/world"
    assert info["query"] == "x=1&y=two"
    assert info["length"] == 0
    assert info["x_test"] == "t"
    assert info["scheme"] == "http"


def test_post_with_a_body(site):
    body = b"name=brood&kind=cluster"
    status, _, answer = request(site, "POST", "/form", body=body,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, answer
    info = json.loads(answer)
    assert info["method"] == "POST"
    assert info["content_type"] == "application/x-www-form-urlencoded"
    assert info["length"] == len(body)
    assert info["sha256"] == hashlib.sha256(body).hexdigest()


def test_post_with_a_big_body(site):
    body = os.urandom(1 << 20)  # more than nginx buffers in memory: it spools to a temp file
    status, _, answer = request(site, "POST", "/upload", body=body,
                                headers={"Content-Type": "application/octet-stream"})
    assert status == 200, answer
    info = json.loads(answer)
    assert info["length"] == len(body)
    assert info["sha256"] == hashlib.sha256(body).hexdigest()


def test_status_passes_through(site):
    status, _, body = request(site, "GET", "/missing")
    assert status == 404
    assert body == b"no such page\n"


def test_big_streamed_answer(site):
    status, _, body = request(site, "GET", "/big")
    assert status == 200
    assert body == b"".join(bytes([i]) * 16384 for i in range(64))


def test_requests_one_after_another(site):
    for i in range(20):
        status, _, body = request(site, "POST", "/n", body=str(i).encode())
        assert status == 200
        assert json.loads(body)["length"] == len(str(i))
