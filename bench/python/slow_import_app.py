# A WSGI app whose import takes 2 s (a stand-in for an application that loads a large code base
# or warms caches at start-up), the same file for brood and for real uWSGI (`--module
# slow_import_app`). forkserver_bench.py's third app.
import time

time.sleep(2.0)


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"slow\n"]
