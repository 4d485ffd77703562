#!/usr/bin/python3
"""The emperor-wrapper of tests/python/test_emperor_fork_server.py: a stand-in for brood's base
vassal with a fork server written in Python, so that the emperor's side runs against real
processes before brood's own base exists.

Run as `fake_base.py --ini FILE`: when FILE's name starts with "base" it is a fork-server base
(docs/uwsgi-compat.md §17): it listens on the unix socket named by FAKE_FORK_SERVER (after
FAKE_BASE_DELAY seconds), sends ready (1) on its emperor channel and serves fork requests
(wire/fork_protocol.hpp) until the channel closes: it forks twice and the grandchild replies
with its pid, then execs the request's argv (this same wrapper) with the channel as
UWSGI_EMPEROR_FD, the on-demand socket on fd 0 and inherited sockets (0x08) in
BROOD_INHERITED_SOCKETS. A FILE whose name starts with "fake" runs a fake vassal (below); any
other FILE: exec brood (BROOD_BINARY). Each request's modifier2 and fd count are appended to
FAKE_FORK_LOG.

The fake vassal serves the TCP address of its ini's `socket =` line (the inherited listening
socket when it got one, else its own): each connection gets "pid=PID\n". It sends ready (1) on
its channel; on 0, 2 or EOF it exits, and on hand_over (3) it stops accepting, logs it and exits.
"""
import os
import select
import socket
import struct
import sys
import time


def read_request(conn):
    """(modifier2, body, fds) of one request."""
    data, fds, _, _ = socket.recv_fds(conn, 70000, 16)
    while len(data) < 4 or len(data) < 4 + struct.unpack("<H", data[1:3])[0]:
        more = conn.recv(70000)
        if not more:
            raise EOFError("short request")
        data += more
    m1, size, m2 = struct.unpack("<BHB", data[:4])
    if m1 != 35:
        raise ValueError("modifier1 %d" % m1)
    return m2, data[4:4 + size], fds


def parse_items(body):
    items, i = [], 0
    while i < len(body):
        (n,) = struct.unpack("<H", body[i:i + 2])
        items.append(body[i + 2:i + 2 + n].decode())
        i += 2 + n
    return items


def serve_one(conn):
    m2, body, fds = read_request(conn)
    items = parse_items(body)
    env = []
    if m2 & 0x10:
        count = int(items[0])
        argv, env = items[1:1 + count], items[1 + count:]
    else:
        argv = items
    with open(os.environ["FAKE_FORK_LOG"], "a") as log:
        log.write("request m2=%d fds=%d argv=%s\n" % (m2, len(fds), " ".join(argv[1:])))
    if os.fork() == 0:
        if os.fork() == 0:
            reply_vars = b"\x03\x00pid" + struct.pack("<H", len(str(os.getpid()))) + \
                str(os.getpid()).encode()
            conn.sendall(struct.pack("<BHB", 35, len(reply_vars), 0) + reply_vars)
            conn.close()
            channel = fds[0]
            os.set_inheritable(channel, True)
            if m2 & 0x04:
                os.dup2(fds[1], 0)
            for entry in env:
                key, sep, value = entry.partition("=")
                if sep:
                    os.environ[key] = value
                else:
                    os.environ.pop(key, None)
            os.environ["UWSGI_EMPEROR_FD"] = str(channel)
            if m2 & 0x08:
                first = 1 + (1 if m2 & 0x02 else 0) + (1 if m2 & 0x04 else 0)
                for fd in fds[first:]:
                    os.set_inheritable(fd, True)
                os.environ["BROOD_INHERITED_SOCKETS"] = ",".join(map(str, fds[first:]))
            os.execv(argv[0], argv)
        os._exit(0)
    os.wait()
    for fd in fds:
        os.close(fd)


def serve_base():
    time.sleep(float(os.environ.get("FAKE_BASE_DELAY", "0")))
    path = os.environ["FAKE_FORK_SERVER"]
    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(16)
    channel = int(os.environ["UWSGI_EMPEROR_FD"])
    os.set_inheritable(channel, False)
    os.write(channel, b"\x01")
    print("fake base: fork server on", path, flush=True)
    while True:
        ready, _, _ = select.select([listener, channel], [], [])
        if channel in ready:
            if os.read(channel, 1) in (b"", b"\x00", b"\x02"):
                print("fake base: stopping", flush=True)
                return
        if listener in ready:
            conn, _ = listener.accept()
            with conn:
                try:
                    serve_one(conn)
                except Exception as e:  # refused: logged, the base keeps serving
                    print("fake base: refused:", e, flush=True)


def fake_vassal(ini):
    address = ""
    with open(ini) as f:
        for line in f:
            key, _, value = line.partition("=")
            if key.strip() == "socket":
                address = value.strip()
    inherited = os.environ.pop("BROOD_INHERITED_SOCKETS", "")
    if inherited:
        listener = socket.socket(fileno=int(inherited.split(",")[0]))
        how = "inherited"
    else:
        host, port = address.rsplit(":", 1)
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, int(port)))
        listener.listen(64)
        how = "bound"
    print("fake vassal %d: serving %s (%s)" % (os.getpid(), address, how), flush=True)
    channel = int(os.environ["UWSGI_EMPEROR_FD"])
    os.write(channel, b"\x01")
    while True:
        ready, _, _ = select.select([listener, channel], [], [])
        if channel in ready:
            byte = os.read(channel, 1)
            if byte == b"\x03":
                print("fake vassal %d: handed over" % os.getpid(), flush=True)
                return
            if byte in (b"", b"\x00", b"\x02"):
                return
        if listener in ready:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"pid=%d\n" % os.getpid())


def main():
    ini = sys.argv[sys.argv.index("--ini") + 1] if "--ini" in sys.argv else ""
    if os.path.basename(ini).startswith("base"):
        serve_base()
        return
    if os.path.basename(ini).startswith("fake"):
        fake_vassal(ini)
        return
    brood = os.environ["BROOD_BINARY"]
    os.execv(brood, [brood] + sys.argv[1:])


if __name__ == "__main__":
    main()
