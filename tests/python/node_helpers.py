"""Helpers for the tests of Python inside a brood node (test_node_*.py): Python apps written to
a temporary folder, and a small raw-socket uwsgi client that reads a reply to the end of the
stream (WSGI and RPC replies close the connection, as uWSGI does)."""
import socket
import struct
import textwrap


def write_module(folder, name, source):
    """Writes folder/name.py (dedented) and returns its path."""
    path = folder / (name + ".py")
    path.write_text(textwrap.dedent(source))
    return path


def vars_block(items):
    """A uwsgi vars block: [u16 LE len][key][u16 LE len][value] for each (key, value)."""
    out = b""
    for key, value in items:
        key = key.encode("latin-1") if isinstance(key, str) else key
        value = value.encode("latin-1") if isinstance(value, str) else value
        out += struct.pack("<H", len(key)) + key + struct.pack("<H", len(value)) + value
    return out


def uwsgi_array(items):
    """A uwsgi array: [u16 LE len][bytes] for each item."""
    return b"".join(struct.pack("<H", len(i)) + i for i in items)


def exchange(address, modifier1, payload, modifier2=0, body=b"", timeout=5.0):
    """Sends [modifier1, len(payload), modifier2] + payload + body and returns every byte the
    node writes until it closes the connection. Raises socket.timeout if it never closes."""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(struct.pack("<BHB", modifier1, len(payload), modifier2) + payload + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def wsgi_request(address, path="/", method="GET", body=b"", protocol="HTTP/1.1", query="",
                 extra=(), modifier1=0):
    """One request as nginx's uwsgi_pass sends it; returns the raw reply bytes."""
    items = [("REQUEST_METHOD", method), ("REQUEST_URI", path), ("PATH_INFO", path),
             ("QUERY_STRING", query), ("SERVER_NAME", "localhost"), ("SERVER_PORT", "80"),
             ("REMOTE_ADDR", "127.0.0.1")]
    if protocol is not None:
        items.append(("SERVER_PROTOCOL", protocol))
    if body:
        items.append(("CONTENT_LENGTH", str(len(body))))
    items.extend(extra)
    return exchange(address, modifier1, vars_block(items), body=body)


def rpc_request(address, items, modifier2=0):
    """An RPC call [173, size, modifier2] + uwsgi array; returns the raw reply bytes."""
    return exchange(address, 173, uwsgi_array(items), modifier2)


INTERNAL_ERROR_TAIL = (b" 500 Internal Server Error\r\nConnection: close\r\n"
                       b"Content-Type: text/plain\r\n\r\nInternal Server Error")
