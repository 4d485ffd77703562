"""The subscription client of a real brood node, seen from a datagram socket of the test (no
router): the rounds' timing, load and cores, a unix datagram server, a graceful reload with
unsubscribe-on-graceful-reload, and the stats' "subscriptions" list."""
import json
import os
import signal
import socket
import struct
import time

import pytest

from support import connect

APP = """\
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("subscription_client_app")
    (d / "plain.py").write_text(APP)
    return d


def parse(datagram):
    """(m2, {key: value}) of a subscription datagram."""
    m1, size, m2 = struct.unpack("<BHB", datagram[:4])
    assert m1 == 224 and size == len(datagram) - 4
    body, items = datagram[4:], {}
    while body:
        (kl,) = struct.unpack("<H", body[:2])
        key = body[2:2 + kl].decode()
        (vl,) = struct.unpack("<H", body[2 + kl:4 + kl])
        items[key] = body[4 + kl:4 + kl + vl].decode("latin-1")
        body = body[4 + kl + vl:]
    return m2, items


def receive(sock, timeout=5.0):
    sock.settimeout(timeout)
    return parse(sock.recv(8192))


def test_rounds_over_udp_and_unsubscribe_on_graceful_reload(start_node, brood_binary, app_dir):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as router:
        router.bind(("127.0.0.1", 0))
        server = "127.0.0.1:%d" % router.getsockname()[1]
        node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--processes", 2, "--threads",
                          2, "--pythonpath", app_dir, "--module", "plain", "--subscribe2",
                          "server=%s,key=k.example" % server, "--subscribe-freq", 2,
                          "--unsubscribe-on-graceful-reload", "--auto-weight")
        start = time.monotonic()
        m2, items = receive(router)
        assert m2 == 0
        assert items == {"key": "k.example", "address": node.address, "modifier1": "0",
                         "modifier2": "0", "cores": "4", "load": "0", "weight": "4"}
        assert receive(router)[0] == 0  # +1 s
        assert receive(router)[0] == 0  # +2 s
        assert 1.5 < time.monotonic() - start < 4
        node.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # a periodic round may come first
            m2, items = receive(router)
            if m2 == 1:
                break
        assert m2 == 1 and items["key"] == "k.example", node.output()
        assert node.wait_for_line(r"workers reloaded", 15), node.output()
        assert receive(router)[0] == 0  # announced again


def test_unix_datagram_server_and_stats(start_node, brood_binary, app_dir, tmp_path):
    path = str(tmp_path / "router.sock")
    stats = str(tmp_path / "stats.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as router:
        router.bind(path)
        node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--pythonpath", app_dir,
                          "--module", "plain", "--subscribe-to", path + ":u.example,9",
                          "--stats", stats)
        m2, items = receive(router)
        assert (m2, items["key"], items["address"], items["modifier1"]) == \
            (0, "u.example", node.address, "9")
        with connect(stats) as s:
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        doc = json.loads(data)
        assert doc["subscriptions"] == [{"server": path, "key": "u.example",
                                         "address": node.address, "blocked": 0}]
        node.signal(signal.SIGTERM)
        assert node.wait_exit(15) == 0, node.output()
        while True:  # the rounds before the stop, then the withdrawal
            m2, items = receive(router)
            if m2 == 1:
                break
        assert items["key"] == "u.example"
