"""Worker lifetime with a Python WSGI app (docs/config.md "Worker lifetime"): reload-on-rss
recycles a worker that grew after the request that grew it (answered first, no failed request
around it), evil-reload-on-rss has the master kill a worker that grew, and harakiri names the stuck
WSGI request (method and URI) in its log line."""
import time

from support import eventually, write_module, wsgi_request

APP = """
    import os, time

    hog = []

    def application(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/grow":
            hog.append(bytearray(80 * 1024 * 1024))  # touched: resident
        if path == "/sleep":
            time.sleep(30)
        start_response("200 OK", [])
        return [str(os.getpid()).encode()]
"""


def pid_of(reply):
    assert reply.startswith(b"HTTP/1.1 200 OK"), reply
    return int(reply.split(b"\r\n\r\n", 1)[1])


def start_app(start_node, brood_binary, tmp_path, *options):
    write_module(tmp_path, "lifeapp", APP)
    return start_node(brood_binary, "--socket", "127.0.0.1:0", "--wsgi-file",
                      tmp_path / "lifeapp.py", "--processes", 1, *options)


def test_reload_on_rss_recycles_after_the_request(start_node, brood_binary, tmp_path):
    node = start_app(start_node, brood_binary, tmp_path, "--reload-on-rss", 60,
                     "--min-worker-lifetime", 0)
    first = pid_of(wsgi_request(node.address, "/"))
    assert pid_of(wsgi_request(node.address, "/")) == first  # small: kept
    assert pid_of(wsgi_request(node.address, "/grow")) == first  # answered by the fat worker
    recycled = r"worker 1 \(pid: %d\) recycled \(reload-on-rss\): respawning it" % first
    assert node.wait_for_line(recycled), node.output()
    # Every request after it is answered, by the successor.
    for _ in range(20):
        assert pid_of(wsgi_request(node.address, "/")) != first
    assert node.count_lines(r"The work of process %d is done \(reload-on-rss" % first) == 1


def test_harakiri_logs_the_wsgi_request(start_node, brood_binary, tmp_path):
    node = start_app(start_node, brood_binary, tmp_path, "--harakiri", 1)
    first = pid_of(wsgi_request(node.address, "/"))
    started = time.monotonic()
    try:
        reply = wsgi_request(node.address, "/sleep", query="x=1")
    except OSError:
        reply = b""
    took = time.monotonic() - started
    assert reply == b""  # killed before it answered
    assert 1.0 <= took < 2.0, took
    killed = r"HARAKIRI ON WORKER 1 \(pid: %d, try: 1\)" % first
    assert node.wait_for_line(killed), node.output()
    summary = r"HARAKIRI \[core 0\] 127\.0\.0\.1 - GET /sleep since"
    assert node.wait_for_line(summary), node.output()
    assert eventually(lambda: pid_of(wsgi_request(node.address, "/")) != first)


def test_evil_reload_on_rss_kills_the_fat_worker(start_node, brood_binary, tmp_path):
    node = start_app(start_node, brood_binary, tmp_path, "--evil-reload-on-rss", 60,
                     "--mem-collector-freq", 1)
    first = pid_of(wsgi_request(node.address, "/"))
    # The master's check may come while the worker is still growing (evil: it kills even in a
    # request, as uWSGI's does), so the answer to /grow may never come: not awaited.
    try:
        wsgi_request(node.address, "/grow")
    except OSError:
        pass
    evil = r"\*\*\* EVIL RELOAD ON WORKER 1 RSS: \d+ MB above evil-reload-on-rss 60 MB " \
           r"\(pid: %d\) \*\*\*" % first
    assert node.wait_for_line(evil, timeout=5), node.output()
    recycled = r"worker 1 \(pid: %d\) recycled \(evil-reload-on-rss\): respawning it" % first
    assert node.wait_for_line(recycled), node.output()
    assert eventually(lambda: pid_of(wsgi_request(node.address, "/")) != first)
