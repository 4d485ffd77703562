"""brood: messages to brood (and uWSGI) nodes from Python.

    import brood
    answer = brood.send_message("127.0.0.1:3031", 33, 17, [0, 3000], timeout=10)
    answers = brood.send_multi_message([("127.0.0.1:3031", [0, 3000]),
                                        ("127.0.0.1:3032", [3000, 6000])], 33, 17)

Objects travel as msgpack and come back as the same Python types: None, bool, int (any size),
float, str, bytes, list, tuple and dict (docs/protocol.md, "Python values"). An object that
cannot travel raises TypeError before anything is sent.

Failures raise subclasses of brood.Error: TimeoutError, ConnectionRefusedError, ConnectionError,
ProtocolError, RemoteError (.type and .message of the remote exception) and RequestError.
send_multi_message does not raise them: a failed slot holds the exception instance.

    brood.spool("127.0.0.1:3031", {"task": "resize", "image": "42.png"})   # a remote spooler

The uWSGI-compatible API (send_uwsgi_message, register_rpc, rpc, spool, ...) is
`from brood import uwsgi`; uWSGI's spooler decorators are `brood.decorators`.
"""
from ._brood import (
    ConnectionError,
    ConnectionRefusedError,
    Error,
    ProtocolError,
    RemoteError,
    RequestError,
    TimeoutError,
    decode,
    encode,
    ping,
    send_message,
    send_multi_message,
    send_packet,
)
from . import _brood
from ._spool import task_pairs as _task_pairs

# Exception names that shadow builtins are left out on purpose: `from brood import *` must not
# replace the caller's TimeoutError or ConnectionError.
__all__ = [
    "Error",
    "ProtocolError",
    "RemoteError",
    "RequestError",
    "decode",
    "encode",
    "ping",
    "send_message",
    "send_multi_message",
    "send_packet",
    "spool",
    "legion_epoch",
]


def spool(address, task, body=None, timeout=30.0):
    """Enqueues a task on the spooler of the node (brood or uWSGI 2.0) at address (modifier1 17)
    and returns True once that node holds it durably (brood: written and fsync'ed).

    task is a dict of bytes (or str, UTF-8 encoded; numbers in decimal) keys and values, with the
    special keys of uwsgi.spool: spooler, priority, at. body (bytes), or a `body` key, travels as
    the var "body" (uWSGI spools no request body): a brood spooler's callable sees it as
    task["body"], a uWSGI spooler's as task[b"body"]. address is "host:port", a unix
    socket path or a (host, port) tuple. Raises brood.RemoteError (type "SpoolerRefused") when
    the node refuses the task (no spooler, unknown spooler dir, write failure), ValueError for a
    key or value that has no byte form, and the other brood.Error classes as send_message.
    """
    if isinstance(address, tuple) and len(address) == 2:
        address = "%s:%d" % (address[0], address[1])
    elif isinstance(address, bytes):
        address = address.decode()
    if not isinstance(task, dict):
        raise TypeError("task must be a dict, not '%s'" % type(task).__name__)
    pairs, task_body = _task_pairs(task)
    if body is not None:
        task_body = bytes(body) if not isinstance(body, str) else body.encode("utf-8")
    seconds = 7 * 24 * 3600.0 if timeout is None else float(timeout)
    return _brood._spool_remote(address, pairs, task_body, seconds)


def legion_epoch(name):
    """The epoch (int) of the latest lord term this node knows in legion `name` (0 before any
    lord; it only grows: a fencing token to pass along with writes made as lord), or None when
    the node this code runs in is no member of that legion (or outside a node)."""
    view = _brood._legion_view(name)
    return None if view is None else view[1]
