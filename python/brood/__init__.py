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

The uWSGI-compatible API (send_uwsgi_message, register_rpc, rpc, ...) is `from brood import uwsgi`.
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
]
