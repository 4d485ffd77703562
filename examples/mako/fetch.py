"""A tiny uwsgi-protocol client: sends one GET request (modifier1 0, the vars nginx's
uwsgi_params would send) to a WSGI node and prints the body of its raw HTTP reply.

    python3 fetch.py HOST:PORT [/PATH?QUERY]

Exit status 0 for a 200 reply, 1 otherwise (the status line goes to stderr).
"""
import socket
import struct
import sys


def vars_block(env):
    """A uwsgi vars block: [u16 LE key_len][key][u16 LE value_len][value] for each item."""
    out = b""
    for key, value in env.items():
        k, v = key.encode(), value.encode()
        out += struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v
    return out


def fetch(address, uri="/", timeout=30):
    """Returns (status line, body) of the node's reply to GET uri."""
    host, port = address.rsplit(":", 1)
    path, _, query = uri.partition("?")
    env = {"REQUEST_METHOD": "GET", "REQUEST_URI": uri, "PATH_INFO": path,
           "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "localhost",
           "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "localhost"}
    block = vars_block(env)
    with socket.create_connection((host, int(port)), timeout) as s:
        s.sendall(struct.pack("<BHB", 0, len(block), 0) + block)
        reply = b""
        while True:  # the reply is raw HTTP that ends when the node closes the connection
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0].decode("latin-1"), body


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    status, body = fetch(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "/")
    sys.stdout.write(body.decode("utf-8", "replace"))
    if status.split(" ")[1:2] != ["200"]:
        print("fetch.py: %s" % status, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
