"""The legion as applications and operators see it (docs/legion.md "Python API", docs/legion.md
"brood legion ADDR"): uwsgi.i_am_the_lord / lord_scroll / scrolls / legion_epoch and
brood.legion_epoch in the workers of real brood nodes, the `legions` entry of the node's and the
emperor's stats, and `brood legion ADDR` against a running member. Return types as Debian's
uWSGI 2.0.21: bool, bytes or None, list of bytes or None."""
import json
import os
import signal
import socket
import subprocess

import pytest

import brood
from brood import uwsgi
from support import eventually, free_port, wsgi_request, write_module

SECRET = "aes-128-cbc:s3cr3t"

APP = """
    import json
    import brood
    import uwsgi

    def application(environ, start_response):
        name = environ.get("QUERY_STRING") or "web"
        view = {
            "lord": uwsgi.i_am_the_lord(name),
            "lord_scroll": None if uwsgi.lord_scroll(name) is None
                           else uwsgi.lord_scroll(name).decode(),
            "scrolls": None if uwsgi.scrolls(name) is None
                       else [s.decode() for s in uwsgi.scrolls(name)],
            "types": [type(uwsgi.i_am_the_lord(name)).__name__,
                      type(uwsgi.lord_scroll(name)).__name__,
                      type(uwsgi.scrolls(name)).__name__],
            "epoch": uwsgi.legion_epoch(name),
            "brood_epoch": brood.legion_epoch(name),
        }
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(view).encode()]
"""


def ask(node, name="web"):
    """The view of one worker of node (whichever takes the request)."""
    reply = wsgi_request(node.address, query=name)
    return json.loads(reply.split(b"\r\n\r\n", 1)[1])


def stats(address):
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def skip_without_legion(node):
    if node.wait_for_line(r"does not implement, ignored: .*legion", timeout=0.5):
        pytest.skip("this brood has no legion options yet")


class Member:
    def __init__(self, node, legion_address, stats_address, scroll):
        self.node = node
        self.legion = legion_address
        self.stats = stats_address
        self.scroll = scroll


@pytest.fixture
def legion3(start_node, brood_binary, tmp_path):
    """Three nodes (two workers each) in legion `web`, valors 10, 20, 30, scrolls s1..s3."""
    write_module(tmp_path, "legion_app", APP)
    addresses = ["127.0.0.1:%d" % free_port() for _ in range(3)]
    members = []
    for i, address in enumerate(addresses):
        stats_address = "127.0.0.1:%d" % free_port()
        args = ["--socket", "127.0.0.1:0", "--master", "--processes", 2,
                "--pythonpath", tmp_path, "--module", "legion_app", "--stats", stats_address,
                "--legion", "web %s %d %s" % (address, (i + 1) * 10, SECRET),
                "--legion-scroll", "web s%d" % (i + 1)]
        for other in addresses:
            if other != address:
                args += ["--legion-node", "web " + other]
        node = start_node(brood_binary, *args)
        skip_without_legion(node)
        members.append(Member(node, address, stats_address, "s%d" % (i + 1)))
    return members


def every_worker(node, predicate, timeout=20.0):
    """True once `predicate(view)` holds on several answers in a row (both workers asked)."""
    def holds():
        return all(predicate(ask(node)) for _ in range(6))
    return eventually(holds, timeout=timeout, every=0.05)


def test_outside_a_node_no_legion_is_known():
    assert uwsgi.i_am_the_lord("web") is False
    assert uwsgi.lord_scroll("web") is None
    assert uwsgi.scrolls("web") is None
    assert uwsgi.legion_epoch("web") is None
    assert brood.legion_epoch(b"web") is None
    with pytest.raises(TypeError):
        uwsgi.i_am_the_lord(42)


def test_the_lord_and_its_followers_in_every_worker(legion3):
    lord = legion3[2]
    assert every_worker(lord.node, lambda v: v["lord"] is True), lord.node.output()
    epoch = ask(lord.node)["epoch"]
    assert isinstance(epoch, int) and epoch >= 1
    for m in legion3:
        view = ask(m.node)
        assert view["types"] == ["bool", "bytes", "list"]
        assert every_worker(m.node, lambda v: v["epoch"] == epoch and v["lord_scroll"] == "s3")
        view = ask(m.node)
        assert view["brood_epoch"] == epoch
        assert view["lord"] is (m is lord)
        # As uWSGI: this member's scroll first, then the members it hears.
        assert view["scrolls"][0] == m.scroll, view
        assert sorted(view["scrolls"]) == ["s1", "s2", "s3"]


def test_an_unknown_legion_as_uwsgi(legion3):
    view = ask(legion3[0].node, "nope")
    assert view["lord"] is False
    assert view["lord_scroll"] is None and view["scrolls"] is None
    assert view["epoch"] is None and view["brood_epoch"] is None


def test_failover_moves_the_lordship_and_the_epoch_grows(legion3):
    lord, second, third = legion3[2], legion3[1], legion3[0]
    assert every_worker(lord.node, lambda v: v["lord"] is True), lord.node.output()
    epoch = ask(lord.node)["epoch"]
    lord.node.signal(signal.SIGKILL)
    assert every_worker(second.node, lambda v: v["lord"] is True and v["epoch"] > epoch), \
        second.node.output()
    assert every_worker(third.node, lambda v: v["lord"] is False and v["lord_scroll"] == "s2")
    assert ask(third.node)["epoch"] > epoch


def test_stats_carry_the_legions_entry(legion3):
    lord = legion3[2]
    assert every_worker(lord.node, lambda v: v["lord"] is True)

    def entry():
        doc = stats(lord.stats)
        legions = doc.get("legions", [])
        return legions[0] if legions and all(m["alive"] for m in legions[0]["members"]) else None

    assert eventually(lambda: entry() is not None, timeout=10)
    e = entry()
    # uWSGI's keys, then brood's.
    for key in ("legion", "addr", "uuid", "valor", "checksum", "quorum", "i_am_the_lord",
                "lord_valor", "lord_uuid", "nodes", "members", "epoch", "backend", "lord_addr"):
        assert key in e, (key, e)
    assert e["legion"] == "web" and e["addr"] == lord.legion and e["valor"] == 30
    assert e["quorum"] == 2 and e["i_am_the_lord"] and e["lord_uuid"] == e["uuid"]
    assert e["epoch"] == ask(lord.node)["epoch"] and e["backend"] == "zeromq"
    assert sorted(e["nodes"]) == sorted(m.legion for m in legion3[:2])
    assert len(e["members"]) == 2
    for member in e["members"]:
        for key in ("name", "uuid", "valor", "checksum", "last_seen"):
            assert key in member, (key, member)
    follower = stats(legion3[0].stats)["legions"][0]
    assert not follower["i_am_the_lord"] and follower["lord_uuid"] == e["uuid"]


def run_tool(brood_binary, *args, timeout=30):
    return subprocess.run([brood_binary, "legion", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def test_brood_legion_prints_a_members_view(legion3, brood_binary, tmp_path):
    lord = legion3[2]
    assert every_worker(lord.node, lambda v: v["lord"] is True)
    epoch = ask(lord.node)["epoch"]
    out = run_tool(brood_binary, lord.legion, "--legion", "web", "--secret", SECRET)
    assert out.returncode == 0, out.stderr
    assert "LORD" in out.stdout and "epoch %d" % epoch in out.stdout, out.stdout
    assert "2 of 2 others alive" in out.stdout, out.stdout

    out = run_tool(brood_binary, legion3[0].legion, "--legion", "web", "--secret", SECRET,
                   "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["epoch"] == epoch and doc["lord_addr"] == lord.legion and doc["valor"] == 10

    # Name and secret from the member's ini file.
    ini = tmp_path / "member.ini"
    ini.write_text("[uwsgi]\nlegion = web %s 20 %s\n" % (legion3[1].legion, SECRET))
    out = run_tool(brood_binary, legion3[1].legion, "--ini", ini, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["addr"] == legion3[1].legion


def test_brood_legion_names_what_went_wrong(legion3, brood_binary):
    lord = legion3[2]
    out = run_tool(brood_binary, lord.legion, "--legion", "web", "--secret", "wrong",
                   "--timeout", "1")
    assert out.returncode == 1
    assert "no answer from %s" % lord.legion in out.stderr and "secret" in out.stderr
    # The member logs the query it dropped.
    assert lord.node.wait_for_line(r"legion 'web': dropped a message .*bad mac", timeout=10)

    out = run_tool(brood_binary, "127.0.0.1:%d" % free_port(), "--legion", "web", "--secret",
                   "x", "--timeout", "0.5")
    assert out.returncode == 1 and "cannot connect to" in out.stderr, out.stderr

    out = run_tool(brood_binary, lord.legion)
    assert out.returncode == 2 and "--legion NAME --secret S" in out.stderr


def test_the_emperors_stats_carry_its_legions(start_node, brood_binary, tmp_path):
    vassals = tmp_path / "vassals"
    vassals.mkdir()
    stats_address = "127.0.0.1:%d" % free_port()
    address = "127.0.0.1:%d" % free_port()
    node = start_node(brood_binary, "--emperor", vassals, "--emperor-stats", stats_address,
                      "--legion", "web %s 5 %s" % (address, SECRET), bound=False,
                      ready=r"watching")
    skip_without_legion(node)

    def lord_entry():
        try:
            legions = stats(stats_address).get("legions", [])
        except OSError:
            return None
        return legions[0] if legions and legions[0]["i_am_the_lord"] else None

    # Alone in its legion (quorum 1): lord at once.
    assert eventually(lambda: lord_entry() is not None, timeout=20), node.output()
    e = lord_entry()
    assert e["legion"] == "web" and e["addr"] == address and e["epoch"] >= 1
    assert e["members"] == [] and e["quorum"] == 1
