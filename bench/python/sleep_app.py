# A slow WSGI request, the same file for brood and for real uWSGI (`--module sleep_app`): each
# request sleeps 0.5 s, then answers 200 "ok". The cheaper benchmark's load (cheaper_bench.py).
import time


def application(environ, start_response):
    time.sleep(0.5)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
