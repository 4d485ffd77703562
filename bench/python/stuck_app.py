# A stuck WSGI request, the same file for brood and for real uWSGI (`--module stuck_app`): each
# request sleeps 30 s (longer than any harakiri of the lifetime benchmark, lifetime_bench.py).
import time


def application(environ, start_response):
    time.sleep(30)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
