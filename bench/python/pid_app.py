# A slow WSGI request that names its process, the same file for brood and for real uWSGI
# (`module = pid_app`): each request sleeps 1 s, then answers 200 with "PID START", its
# os.getpid() and the wall-clock time.time() at which it began handling the request, so that a
# client on the same machine knows which process answered (a vassal's worker or a zerg's) and
# when that process took the request. The broodlord benchmark's app (broodlord_bench.py).
import os
import time


def application(environ, start_response):
    start = time.time()
    time.sleep(1.0)
    body = b"%d %.6f" % (os.getpid(), start)
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
