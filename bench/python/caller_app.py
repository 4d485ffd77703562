"""The calling node of the message benchmarks: a WSGI app, the same file for brood and for real
uWSGI (`--module caller_app`). One request = one caller: the worker that takes it calls the
target in a loop for a fixed time and answers its figures as JSON. The benchmark sends several
such requests at once to a node with as many workers to get concurrent callers.

Query string: mode, target (HOST:PORT), size (payload bytes), start (time.time() at which to
begin, so that concurrent callers overlap), seconds.
  mode=brood  brood.send_message(target, 33, 0, payload): the answering node's
              message_manager_marshal echoes it (one kept-alive connection per worker)
  mode=rpc    uwsgi.rpc(target, b"echo", payload) (uWSGI: a new connection per call)
  mode=raw    the payload framed as a packet of the same size, written to a raw echo server over
              one kept-alive connection and read back (the loopback reference)

Answer: {"pid", "calls", "errors", "start", "elapsed", "lat": [round-trip times, 0.1 us units]}.
"""
import json
import os
import socket
import time
from urllib.parse import parse_qs

try:
    import brood
except ImportError:  # real uWSGI: only the rpc mode is used there
    brood = None
import uwsgi


def _brood_call(target, payload):
    if brood.send_message(target, 33, 0, payload, timeout=5.0) != payload:
        raise RuntimeError("brood echo answered something else")
    return lambda: brood.send_message(target, 33, 0, payload, timeout=5.0) == payload


def _rpc_call(target, payload):
    if uwsgi.rpc(target, b"echo", payload) != payload:
        raise RuntimeError("rpc echo answered something else")
    return lambda: uwsgi.rpc(target, b"echo", payload) == payload


def _raw_call(target, payload):
    host, port = target.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), 5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    packet = b"\x21" + len(payload).to_bytes(2, "little") + b"\x00" + payload
    size = len(packet)

    def call():
        s.sendall(packet)
        got = 0
        while got < size:
            chunk = s.recv(size - got)
            if not chunk:
                return False
            got += len(chunk)
        return True

    return call


_MODES = {"brood": _brood_call, "rpc": _rpc_call, "raw": _raw_call}


def run(mode, target, size, start, seconds):
    payload = b"x" * size
    call = _MODES[mode](target, payload)  # the first call also opens the connection
    for _ in range(20):
        call()  # warm-up
    delay = start - time.time()
    if delay > 0:
        time.sleep(delay)
    lat, errors = [], 0
    clock = time.perf_counter
    began = clock()
    wall_start = time.time()
    end = began + seconds
    now = began
    while now < end:
        t = now
        if not call():
            errors += 1
        now = clock()
        lat.append(int((now - t) * 1e7))
    return {"pid": os.getpid(), "calls": len(lat), "errors": errors, "start": wall_start,
            "elapsed": now - began, "lat": lat}


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    try:
        result = run(q["mode"], q["target"], int(q.get("size", 16)), float(q["start"]),
                     float(q["seconds"]))
        status = "200 OK"
    except Exception as e:  # answered to the benchmark, which stops with this message
        result, status = {"error": "%s: %s" % (type(e).__name__, e)}, "500 Internal Server Error"
    body = json.dumps(result).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]
