"""Helpers for the spooler tests (test_spooler*.py): the tasks module a spooler node loads, and
waiting for the files its tasks write.

The module `tasks` (TASKS_MODULE) records every task it runs as one JSON line in
$SPOOL_OUT/<name>.jsonl (name: the task's `name` var): the task dict (bytes shown as text), the
attempt, the pid and the time. Tasks without `ud_spool_func` go to its own uwsgi.spooler
(`kind` picks the behaviour); the others to brood.decorators' dispatcher. Its WSGI app enqueues
tasks on request (GET /spool?k=v..., /remote?target=HOST:PORT&k=v...) and answers JSON.
"""
import json
import os
from urllib.parse import urlencode

from support import eventually, wsgi_request

TASKS_MODULE = r'''
import json
import os
import time
from urllib.parse import parse_qsl

import uwsgi
from brood import decorators
from brood.decorators import spool, spoolforever, spoolraw

OUT = os.environ["SPOOL_OUT"]
with open(os.path.join(OUT, "loaded-%d" % os.getpid()), "w"):
    pass


def show(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v


def record(name, task, **extra):
    entry = {"task": {show(k): show(v) for k, v in task.items()}, "pid": os.getpid(),
             "time": time.time(), "i_am": uwsgi.i_am_the_spooler(),
             "spooler_pid": uwsgi.spooler_pid()}
    entry.update(extra)
    with open(os.path.join(OUT, show(name) + ".jsonl"), "a") as f:
        f.write(json.dumps(entry) + "\n")


def wait_gate(name):
    deadline = time.monotonic() + 20
    while not os.path.exists(os.path.join(OUT, name)) and time.monotonic() < deadline:
        time.sleep(0.01)


def plain_spooler(task):
    """Tasks spooled without a decorator."""
    if b"ud_spool_func" in task:
        return decorators.manage_spool_request(task)
    kind = task.get(b"kind", b"ok")
    name = task.get(b"name", b"unnamed")
    extra = {}
    if kind == b"get_task":
        extra["got"] = {show(k): show(v) for k, v in
                        (uwsgi.spooler_get_task(task["spooler_task_name"].decode()) or {}).items()}
    record(name, task, **extra)
    attempt = task["spooler_attempt"]
    until = int(task.get(b"until", b"1"))
    if kind == b"gate":
        wait_gate(task[b"gate"].decode())
    elif kind == b"raise" and attempt < until:
        raise ValueError("deliberate failure %d" % attempt)
    elif kind == b"nonint" and attempt < until:
        return "not an int"
    elif kind == b"retry" and attempt < until:
        return uwsgi.SPOOL_RETRY
    elif kind == b"ignore":
        return uwsgi.SPOOL_IGNORE
    elif kind == b"never":
        raise RuntimeError("never works")
    return uwsgi.SPOOL_OK


uwsgi.spooler = plain_spooler


@spool
def deco_note(task):
    record(task["name"], task)
    return uwsgi.SPOOL_RETRY  # @spool forces SPOOL_OK anyway


@spool(pass_arguments=True)
def deco_add(a, b, name="sum"):
    record(name, {"sum": a + b})


@spoolraw
def deco_raw(task):
    record(task["name"], task)
    return uwsgi.SPOOL_RETRY if task["spooler_attempt"] < 2 else uwsgi.SPOOL_OK


@spoolforever
def deco_forever(task):
    record(task["name"], task)
    return uwsgi.SPOOL_OK  # @spoolforever forces SPOOL_RETRY anyway


def application(environ, start_response):
    path = environ["PATH_INFO"]
    q = dict(parse_qsl(environ["QUERY_STRING"]))
    try:
        if path == "/spool":
            result = show(uwsgi.spool({k.encode(): v.encode() for k, v in q.items()}))
        elif path == "/spool_kwargs":
            result = show(uwsgi.spool(**q))
        elif path == "/deco_note":
            result = show(deco_note.spool(name=q["name"], v=q.get("v", "")))
        elif path == "/deco_add":
            result = show(deco_add(int(q["a"]), int(q["b"]), name=q["name"], priority=q.get("priority", "1")))
        elif path == "/deco_raw":
            result = show(deco_raw({"name": q["name"]}))
        elif path == "/deco_forever":
            result = show(deco_forever(name=q["name"]))
        elif path == "/remote":
            host, port = q.pop("target").rsplit(":", 1)
            result = uwsgi.send_uwsgi_message(host, int(port), 17, 0, q, 5)
        elif path == "/bad":
            result = show(uwsgi.spool(q["what"] == "list" and [1] or {b"k": None}))
        elif path == "/info":
            result = {"pids": uwsgi.spooler_pids(), "pid": uwsgi.spooler_pid(),
                      "i_am": uwsgi.i_am_the_spooler(),
                      "spoolers": [show(s) for s in uwsgi.spoolers],
                      "jobs": [show(j) for j in uwsgi.spooler_jobs()],
                      "freq": uwsgi.set_spooler_frequency(1)}
        elif path == "/get_task":
            got = uwsgi.spooler_get_task(q["path"])
            result = None if got is None else {show(k): show(v) for k, v in got.items()}
        else:
            result = "unknown path"
        answer = {"result": result}
    except Exception as e:
        answer = {"error": "%s: %s" % (type(e).__name__, e)}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(answer).encode()]
'''


def get(node, uri, **query):
    """GET uri?query on the node's WSGI app; its JSON answer."""
    reply = wsgi_request(node.address, uri, query=urlencode(query))
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), (reply, node.output())
    return json.loads(body)


def records(out, name):
    """The JSON lines task `name` wrote so far."""
    try:
        with open(os.path.join(out, name + ".jsonl")) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def wait_records(out, name, count=1, timeout=15.0, node=None):
    """Waits until task `name` wrote at least `count` lines; returns them."""
    if not eventually(lambda: len(records(out, name)) >= count, timeout, 0.02):
        raise AssertionError("task %r ran %d times, expected %d%s" % (
            name, len(records(out, name)), count, "\n" + node.output() if node else ""))
    return records(out, name)


def wait_path(path, timeout=15.0, gone=False):
    """Waits until path exists (gone=True: no longer exists)."""
    if not eventually(lambda: os.path.exists(path) != gone, timeout, 0.02):
        raise AssertionError("%s still %s" % (path, "exists" if gone else "missing"))
