"""Subscription interop with real uWSGI 2.0.21 (Debian uwsgi-core + uwsgi-plugin-fastrouter):
brood nodes announce themselves with `subscribe-to` / `subscribe2` to uWSGI's fastrouter, which
then routes requests to them by key (HTTP_HOST); a node that stops or pauses (master FIFO p)
withdraws itself and the router stops routing to it; a signed subscription (`sign`) passes
uWSGI's `subscriptions-sign-check` and an unsigned one does not.

Every brood node binds 127.0.0.1:0: the router logs the port it got ("new node: ADDR").
uWSGI's fastrouter takes subscriptions only with --master (docs/uwsgi-compat.md §13).
"""
import os
import shutil
import signal
import subprocess

import pytest

from support import eventually, free_port, wsgi_request

FASTROUTER_PLUGIN = "/usr/lib/uwsgi/plugins/fastrouter_plugin.so"

APP = """\
import os

def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%s %s" % (os.environ["INTEROP_NAME"], environ.get("HTTP_HOST"))).encode()]
"""


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("subscription_app")
    (d / "whoami.py").write_text(APP)
    return d


@pytest.fixture
def router(start_node):
    """A real uWSGI fastrouter: (node, request address, subscription address)."""
    if not shutil.which("uwsgi") or not os.path.exists(FASTROUTER_PLUGIN):
        pytest.skip("real uWSGI's fastrouter is not installed (Debian uwsgi-plugin-fastrouter)")

    def start(*extra):
        front, subs = "127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port()
        node = start_node("uwsgi", "--master", "--plugin", "fastrouter", "--fastrouter", front,
                          "--fastrouter-subscription-server", subs, *extra, bound=False,
                          ready=r"spawned uWSGI fastrouter 1 ")
        return node, front, subs
    return start


def brood_node(start_node, brood_binary, app_dir, name, *subscription):
    env = dict(os.environ, INTEROP_NAME=name, PYTHONDONTWRITEBYTECODE="1")
    return start_node(brood_binary, "--socket", "127.0.0.1:0", "--master", "--processes", 1,
                      "--pythonpath", app_dir, "--module", "whoami", *subscription, env=env)


def ask(front, host):
    """One request through the router for `host`: the answering node's name, or None."""
    try:
        reply = wsgi_request(front, extra=[("HTTP_HOST", host)])
    except OSError:
        return None
    head, _, body = reply.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        return None
    name, _, got_host = body.decode().partition(" ")
    assert got_host == host
    return name


def test_brood_node_is_routed_by_key_and_announces_the_port_it_got(
        router, start_node, brood_binary, app_dir):
    fr, front, subs = router()
    node = brood_node(start_node, brood_binary, app_dir, "alpha", "--subscribe-to",
                      subs + ":alpha.example")
    assert fr.wait_for_line(r"alpha.example => new node: " + node.address, 10), fr.output()
    assert ask(front, "alpha.example") == "alpha"
    assert ask(front, "other.example") is None  # no node under that key


def test_subscribe2_and_two_nodes_share_a_key(router, start_node, brood_binary, app_dir):
    fr, front, subs = router()
    brood_node(start_node, brood_binary, app_dir, "one", "--subscribe2",
               "server=%s,key=shared.example" % subs)
    brood_node(start_node, brood_binary, app_dir, "two", "--subscribe2",
               "server=%s,key=shared.example,weight=1" % subs)
    assert eventually(lambda: fr.count_lines(r"shared.example => new node") == 2, 10), \
        fr.output()
    seen = {ask(front, "shared.example") for _ in range(8)}
    assert seen == {"one", "two"}, fr.output()


def test_a_stopping_node_unsubscribes_and_is_no_longer_routed(
        router, start_node, brood_binary, app_dir):
    fr, front, subs = router()
    a = brood_node(start_node, brood_binary, app_dir, "a", "--subscribe-to", subs + ":k.example")
    b = brood_node(start_node, brood_binary, app_dir, "b", "--subscribe-to", subs + ":k.example")
    assert eventually(lambda: fr.count_lines(r"k.example => new node") == 2, 10), fr.output()
    a.signal(signal.SIGTERM)  # graceful stop: brood withdraws the node first
    assert a.wait_exit(15) == 0, a.output()
    assert a.wait_for_line(r"unsubscribing from " + subs, 1), a.output()
    assert fr.wait_for_line(r"k.example => marking %s as failed" % a.address, 10), fr.output()
    assert [ask(front, "k.example") for _ in range(6)] == ["b"] * 6, fr.output()
    assert b.count_lines(r"unsubscribing") == 0


def test_fifo_p_unsubscribes_and_resume_subscribes_again(
        router, start_node, brood_binary, app_dir, tmp_path):
    fr, front, subs = router()
    fifo = str(tmp_path / "fifo")
    a = brood_node(start_node, brood_binary, app_dir, "a", "--subscribe-to", subs + ":p.example",
                   "--master-fifo", fifo, "--subscribe-freq", 1)
    brood_node(start_node, brood_binary, app_dir, "b", "--subscribe-to", subs + ":p.example")
    assert eventually(lambda: fr.count_lines(r"p.example => new node") == 2, 10), fr.output()
    with open(fifo, "w") as f:
        f.write("p")
    assert fr.wait_for_line(r"p.example => marking %s as failed" % a.address, 10), fr.output()
    # A paused node would hold the request: every one is answered by b.
    assert [ask(front, "p.example") for _ in range(6)] == ["b"] * 6, fr.output()
    with open(fifo, "w") as f:
        f.write("p")
    assert eventually(lambda: "a" in {ask(front, "p.example") for _ in range(4)}, 10), \
        fr.output() + a.output()


def test_fifo_S_blocks_and_start_unsubscribed(router, start_node, brood_binary, app_dir, tmp_path):
    fr, front, subs = router()
    fifo = str(tmp_path / "fifo")
    a = brood_node(start_node, brood_binary, app_dir, "a", "--subscribe-to", subs + ":s.example",
                   "--master-fifo", fifo, "--start-unsubscribed")
    assert a.wait_for_line(r"subscriptions are blocked \(start-unsubscribed\)", 5), a.output()
    assert ask(front, "s.example") is None
    assert fr.count_lines(r"s.example => new node") == 0
    with open(fifo, "w") as f:
        f.write("S")
    assert fr.wait_for_line(r"s.example => new node: " + a.address, 10), fr.output()
    assert ask(front, "s.example") == "a"


@pytest.fixture
def keys(tmp_path):
    """An RSA key pair: (private key file, directory with the public key as signed.example.pem,
    uWSGI's per-key layout for subscriptions-sign-check)."""
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is not installed")
    private = tmp_path / "private.pem"
    public_dir = tmp_path / "public"
    public_dir.mkdir()
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True,
                   capture_output=True)
    subprocess.run(["openssl", "rsa", "-in", str(private), "-pubout", "-out",
                    str(public_dir / "signed.example.pem")], check=True, capture_output=True)
    return private, public_dir


def test_signed_subscription_passes_uwsgis_sign_check_and_unsigned_does_not(
        router, start_node, brood_binary, app_dir, keys):
    private, public_dir = keys
    fr, front, subs = router("--subscriptions-sign-check", "sha256:%s" % public_dir)
    unsigned = brood_node(start_node, brood_binary, app_dir, "unsigned", "--subscribe-to",
                          subs + ":signed.example")
    assert unsigned.wait_for_line(r"subscribing to ", 5), unsigned.output()
    signed = brood_node(start_node, brood_binary, app_dir, "signed", "--subscribe-to",
                        "%s:signed.example,,sha256:%s" % (subs, private))
    assert fr.wait_for_line(r"signed.example => new node: " + signed.address, 10), fr.output()
    assert fr.count_lines(r"new node: " + unsigned.address) == 0, fr.output()
    assert [ask(front, "signed.example") for _ in range(4)] == ["signed"] * 4, fr.output()
    # The signed withdrawal passes the anti-replay check too (unix = now + 1).
    signed.signal(signal.SIGTERM)
    assert signed.wait_exit(15) == 0, signed.output()
    assert fr.wait_for_line(r"signed.example => marking %s as failed" % signed.address, 10), \
        fr.output()


def test_a_bad_sign_key_stops_the_node_with_a_clear_error(start_node, brood_binary, app_dir):
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--master", "--pythonpath",
                      app_dir, "--module", "whoami", "--subscribe-to",
                      "127.0.0.1:9:k,,sha256:/nonexistent/key.pem", ready=None)
    assert node.wait_exit(10) == 1, node.output()
    assert "cannot open /nonexistent/key.pem" in node.output()
