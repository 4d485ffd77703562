# The fork-server example's application (examples/forkserver/run.sh): its import takes 2 s (a
# stand-in for a large code base loaded at start-up). The base vassal imports it once; vassals
# forked from the base answer at once, an exec'd vassal pays the 2 s again.
import os
import time

time.sleep(2.0)
IMPORTED_BY = os.getpid()


def application(environ, start_response):
    body = b"Hello from pid %d (the app was imported by pid %d)\n" % (os.getpid(), IMPORTED_BY)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
