"""Task dicts -> the (bytes, bytes) pairs and raw body the native spool calls take.

Shared by brood.spool (remote) and brood.uwsgi.spool (local). As uWSGI 2.0 with Python 3 does,
keys and values are bytes; brood also takes str (UTF-8 encoded), bytearray/memoryview, and ints
and floats (their decimal text). A `body` key whose value is bytes or str is taken out of the
vars: it becomes the raw body of the task file.
"""

import os

NOT_BYTES = "spooler callable dictionary must contains only bytes"  # uWSGI 2.0.21's message


def _as_bytes(value):
    """bytes for a key or value, or None when it has no byte form."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value).encode("ascii")
    return None


def task_pairs(task, spooler_dirs=()):
    """(pairs, body) for a task dict. A `spooler` value naming one of spooler_dirs by another
    path is replaced by that dir (uWSGI matches the realpath exactly). Raises ValueError
    (uWSGI's message) for a key or value that has no byte form."""
    pairs = []
    body = b""
    for key, value in task.items():
        k = _as_bytes(key)
        if k is None or isinstance(key, (int, float)):
            raise ValueError(NOT_BYTES)
        if k == b"body" and isinstance(value, (bytes, bytearray, memoryview, str)):
            body = _as_bytes(value)
            continue
        v = _as_bytes(value)
        if v is None:
            raise ValueError(NOT_BYTES)
        if k == b"spooler" and spooler_dirs:
            v = _spooler_dir(v, spooler_dirs)
        pairs.append((k, v))
    return pairs, body


def _spooler_dir(value, dirs):
    resolved = os.path.realpath(os.fsdecode(value))
    return os.fsencode(resolved) if resolved in dirs else value
