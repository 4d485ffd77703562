# The WSGI app of the broodlord demo, in place of the seed's werkzeug.testapp:test_app: a slow
# page (0.5 s) that says which process served it, so the load generator (load.py) can tell the
# vassal's worker from the zergs the emperor starts when the vassal is overloaded.
import os
import time


def application(environ, start_response):
    time.sleep(0.5)
    body = b"served by pid %d\n" % os.getpid()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
