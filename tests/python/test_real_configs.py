"""Real-world style [uwsgi] files (tests/python/configs/*.ini) run unchanged: each one is copied
with its application into a temporary directory, started with `brood --ini FILE`, asked one
request on the unix socket it names (`%d%n.sock`) and stopped with SIGINT. A file states what it
expects in `; expect-NAME: VALUE` comment lines: the protocol (uwsgi or http), the body of the
answer to `expect-path` (default the path in the body), a static file and its content, a log
line."""
import os
import re
import shutil
import signal
from pathlib import Path

import pytest

from support import Node, connect, eventually, listening, wsgi_request

CONFIGS = Path(__file__).parent / "configs"
NAMES = sorted(p.stem for p in CONFIGS.glob("*.ini"))


def expectations(ini):
    out = {}
    for line in ini.read_text().splitlines():
        m = re.match(r";\s*expect-([a-z]+):\s*(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def http_get(address, path):
    """One HTTP/1.1 request with Connection: close; (status, headers text, body)."""
    with connect(address) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path)
                  .encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, head.decode("latin-1"), body


def get(protocol, address, path):
    if protocol == "http":
        return http_get(address, path)
    reply = wsgi_request(address, path=path)
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head.decode("latin-1"), body


@pytest.mark.parametrize("name", NAMES)
def test_config_runs_unchanged(name, tmp_path, brood_binary):
    site = tmp_path / "site"
    shutil.copytree(CONFIGS, site)
    ini = site / (name + ".ini")
    expect = expectations(ini)
    env = dict(os.environ, BROOD_CONFIG_PROCESSES="2", BROOD_CONFIG_SETTINGS="from.env")
    node = Node([brood_binary, "--ini", str(ini)], env=env, cwd=tmp_path)
    try:
        address = str(site / (name + ".sock"))
        assert eventually(lambda: listening(address) or node.proc.poll() is not None), \
            node.output()
        assert node.proc.poll() is None, node.output()
        body = expect["body"]
        path = expect.get("path") or body.split(" ")[2]
        status, head, got = get(expect["protocol"], address, path)
        assert (status, got.decode()) == (200, body), head + "\n" + node.output()
        if "static" in expect:
            static_path, content = expect["static"].split(" ", 1)
            status, head, got = get(expect["protocol"], address, static_path)
            assert (status, got.decode().strip()) == (200, content), head + node.output()
        if "log" in expect:
            assert node.wait_for_line(re.escape(expect["log"]), timeout=5), node.output()
        node.signal(signal.SIGINT)
        assert node.wait_exit(30) is not None, node.output()
        if "vacuum = true" in ini.read_text() or "\nvacuum\n" in ini.read_text():
            assert not os.path.exists(address), "vacuum left the socket:\n" + node.output()
    finally:
        node.stop()
