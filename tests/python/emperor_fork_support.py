"""Helpers of the emperor's fork server tests (test_emperor_fork_server*.py): a real
`brood --emperor DIR` with emperor-use-fork-server and a vassal-fork-base (Emperor, the `emperor`
fixture), its stats, a uwsgi ping, and the pid a fake vassal answers with."""
import json
import os
import socket
import struct

import pytest

from support import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_BASE = os.path.join(HERE, "fork_server", "fake_base.py")


def ping(address, timeout=2.0):
    """True when a uwsgi ping (modifier1 100) at `address` is answered."""
    try:
        host, port = address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=timeout) as s:
            s.sendall(struct.pack("<BHB", 100, 0, 0))
            return len(s.recv(4)) == 4
    except OSError:
        return False


def stats(address):
    try:
        host, port = address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=2) as s:
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return json.loads(data)
    except (OSError, ValueError):
        return None


def vassal(stats_address, name):
    doc = stats(stats_address)
    for v in (doc or {}).get("vassals", []):
        if v["id"] == name:
            return v
    return None


def parent_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


class Emperor:
    def __init__(self, start_node, brood_binary, tmp_path, extra=(), env=None):
        self.dir = tmp_path / "vassals"
        self.dir.mkdir(exist_ok=True)
        self.stats = "127.0.0.1:%d" % free_port()
        self.sock = str(tmp_path / "fork.sock")
        self.log = tmp_path / "fork.log"
        self.brood = brood_binary
        self.env = dict(os.environ, BROOD_BINARY=brood_binary, FAKE_FORK_SERVER=self.sock,
                        FAKE_FORK_LOG=str(self.log), **(env or {}))
        self.args = ["--emperor", str(self.dir), "--emperor-stats", self.stats,
                     "--emperor-freq", "1", "--emperor-throttle", "200",
                     "--emperor-curse-tolerance", "3", "--reload-mercy", "3", *extra]
        self.start_node = start_node
        self.node = None

    def start(self):
        self.node = self.start_node(self.brood, *self.args, bound=False,
                                    ready=r"watching", env=self.env)
        return self

    def vassal_file(self, name, text):
        (self.dir / name).write_text(text)

    def vassal(self, name):
        return vassal(self.stats, name)


def node_vassal(address, more=""):
    return "[uwsgi]\nsocket = %s\nprocesses = 1\n%s" % (address, more)


@pytest.fixture
def emperor(start_node, brood_binary, tmp_path):
    def make(extra=(), env=None, fake=True):
        args = list(extra)
        e = Emperor(start_node, brood_binary, tmp_path, env=env)
        if fake:
            args += ["--emperor-wrapper", FAKE_BASE]
        e.args += ["--emperor-use-fork-server", e.sock, "--vassal-fork-base", "base", *args]
        return e
    return make


def answer_pid(address):
    """The pid a fake vassal at `address` answers with, or None."""
    try:
        host, port = address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=2) as s:
            data = s.recv(100)
        return int(data.split(b"=")[1]) if data.startswith(b"pid=") else None
    except (OSError, ValueError, IndexError):
        return None
