"""The request log (docs/config.md "Logging") on real nodes: uWSGI's default line per WSGI
request, disable-logging with log-4xx/log-5xx, log-format, logto with log-maxsize rotation (no
line lost), and daemonize."""
import os
import re
import signal
import subprocess

from support import eventually, listening, write_module, wsgi_request

APP = """
    def application(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/missing":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no"]
        if path == "/fail":
            raise RuntimeError("app failed")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello world"]
"""

DEFAULT_LINE = re.compile(
    r"^\[pid: (\d+)\|app: 0\|req: (\d+)/(\d+)\] 127\.0\.0\.1 \(\) \{(\d+) vars in (\d+) bytes\} "
    r"\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\] GET /hello\?a=1 => generated 11 bytes in "
    r"\d+ msecs \(HTTP/1\.1 200\) 1 headers in 45 bytes \(1 switches on core 0\)$")


def start(start_node, brood_binary, tmp_path, *extra, bound=True, ready=r"node ready"):
    write_module(tmp_path, "webapp", APP)
    return start_node(brood_binary, "--socket", "127.0.0.1:0", "--wsgi-file",
                      tmp_path / "webapp.py", "--master", "--processes", 1, *extra,
                      bound=bound, ready=ready)


def test_default_line_per_request(start_node, brood_binary, tmp_path):
    node = start(start_node, brood_binary, tmp_path)
    wsgi_request(node.address, "/hello", query="a=1", extra=[("REQUEST_URI", "/hello?a=1")])
    m = node.wait_for_line(DEFAULT_LINE.pattern, timeout=5)
    assert m, node.output()
    assert (m.group(2), m.group(3)) == ("1", "1")
    wsgi_request(node.address, "/hello", query="a=1", extra=[("REQUEST_URI", "/hello?a=1")])
    assert node.wait_for_line(r"\|req: 2/2\]", timeout=5), node.output()


def test_disable_logging_keeps_the_4xx_and_5xx_asked_for(start_node, brood_binary, tmp_path):
    node = start(start_node, brood_binary, tmp_path, "--disable-logging", "--log-5xx")
    wsgi_request(node.address, "/hello")
    wsgi_request(node.address, "/missing")
    wsgi_request(node.address, "/fail")
    assert node.wait_for_line(r"GET /fail => generated .* \(HTTP/1\.1 500\)", timeout=5), \
        node.output()
    assert node.count_lines(r"GET /hello") == 0, node.output()
    assert node.count_lines(r"GET /missing") == 0, node.output()


def test_log_format(start_node, brood_binary, tmp_path):
    node = start(start_node, brood_binary, tmp_path, "--log-format",
                 '%(addr) "%(method) %(uri) %(proto)" %(status) %(size) wid=%(wid)')
    wsgi_request(node.address, "/missing")
    assert node.wait_for_line(r'^127\.0\.0\.1 "GET /missing HTTP/1\.1" 404 2 wid=1$',
                              timeout=5), node.output()


def test_logto_with_rotation_loses_no_line(start_node, brood_binary, tmp_path):
    log = tmp_path / "node.log"
    node = start(start_node, brood_binary, tmp_path, "--logto", log, "--log-maxsize", 4096,
                 "--socket", tmp_path / "n.sock", bound=False, ready=None)
    address = str(tmp_path / "n.sock")
    assert eventually(lambda: listening(address)), node.output()
    for _ in range(100):
        assert wsgi_request(address, "/hello").startswith(b"HTTP/1.1 200")

    def lines():
        text = "".join(p.read_text() for p in tmp_path.glob("node.log*"))
        return len(re.findall(r"GET /hello => generated 11 bytes", text))

    assert eventually(lambda: lines() == 100), lines()
    assert len(list(tmp_path.glob("node.log.*"))) >= 1, "no rotated file"
    assert node.lines() == [], "logto must take every line"


def test_daemonize(brood_binary, tmp_path):
    write_module(tmp_path, "webapp", APP)
    log = tmp_path / "daemon.log"
    address = str(tmp_path / "d.sock")
    started = subprocess.run(
        [brood_binary, "--socket", address, "--wsgi-file", str(tmp_path / "webapp.py"),
         "--master", "--daemonize", str(log)], timeout=10)
    assert started.returncode == 0  # the parent returns at once
    master = None
    try:
        assert eventually(lambda: listening(address)), log.read_text()
        assert wsgi_request(address, "/hello").startswith(b"HTTP/1.1 200")
        assert eventually(lambda: "GET /hello" in log.read_text())
        m = re.search(r"\[brood master (\d+)\]", log.read_text())
        assert m, log.read_text()
        master = int(m.group(1))
        assert os.getsid(master) == master, "the daemon leads a session of its own"
    finally:
        if master:
            os.killpg(master, signal.SIGKILL)
            eventually(lambda: not os.path.exists("/proc/%d" % master) or
                       "zombie" in open("/proc/%d/status" % master).read().lower(), 5)
