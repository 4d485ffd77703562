"""GET over the uwsgi protocol, for the example clients (mako/fetch.py, spooler/enqueue.py): one
request with modifier1 0 and the vars nginx's uwsgi_params would send, and the node's raw HTTP
reply split into its status line and body.
"""
import socket
import struct


def vars_block(env):
    """A uwsgi vars block: [u16 LE key_len][key][u16 LE value_len][value] for each item."""
    out = b""
    for key, value in env.items():
        k, v = key.encode(), value.encode()
        out += struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v
    return out


def get(address, uri="/", timeout=30, host="localhost"):
    """Returns (status line, body bytes) of the node's reply to GET uri (Host: host, which is
    what a router takes its routing key from)."""
    server, port = address.rsplit(":", 1)
    path, _, query = uri.partition("?")
    env = {"REQUEST_METHOD": "GET", "REQUEST_URI": uri, "PATH_INFO": path,
           "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "localhost",
           "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": host}
    block = vars_block(env)
    with socket.create_connection((server, int(port)), timeout) as s:
        s.sendall(struct.pack("<BHB", 0, len(block), 0) + block)
        reply = b""
        while True:  # the reply is raw HTTP that ends when the node closes the connection
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0].decode("latin-1"), body
