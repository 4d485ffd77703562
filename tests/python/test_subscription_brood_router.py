"""brood nodes subscribing to brood's own router (`brood --fastrouter`): routed by key, removed
when they stop, and with `subscriptions-sign-check` only the signed node is taken (its signed
withdrawal too). The same checks as test_subscription_uwsgi.py, with no uWSGI involved."""
import os
import shutil
import signal
import subprocess

import pytest

from support import eventually, free_port, wsgi_request

APP = """\
import os

def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [os.environ["INTEROP_NAME"].encode()]
"""


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("subscription_brood_app")
    (d / "name.py").write_text(APP)
    return d


def start_router(start_node, brood_binary, *extra):
    front, subs = "127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port()
    node = start_node(brood_binary, "--fastrouter", front, "--fastrouter-subscription-server",
                      subs, *extra, bound=False, ready=r"subscription server bound on")
    return node, front, subs


def start_brood(start_node, brood_binary, app_dir, name, target):
    env = dict(os.environ, INTEROP_NAME=name, PYTHONDONTWRITEBYTECODE="1")
    return start_node(brood_binary, "--socket", "127.0.0.1:0", "--master", "--pythonpath",
                      app_dir, "--module", "name", "--subscribe-to", target, env=env)


def ask(front, host):
    try:
        reply = wsgi_request(front, extra=[("HTTP_HOST", host)])
    except OSError:
        return None
    head, _, body = reply.partition(b"\r\n\r\n")
    return body.decode() if head.startswith(b"HTTP/1.1 200") else None


def test_routed_then_removed_when_it_stops(start_node, brood_binary, app_dir):
    router, front, subs = start_router(start_node, brood_binary)
    a = start_brood(start_node, brood_binary, app_dir, "a", subs + ":b.example")
    b = start_brood(start_node, brood_binary, app_dir, "b", subs + ":b.example")
    assert eventually(lambda: router.count_lines(r"b.example => new node") == 2, 10), \
        router.output()
    assert {ask(front, "b.example") for _ in range(8)} == {"a", "b"}
    a.signal(signal.SIGTERM)
    assert a.wait_exit(15) == 0, a.output()
    assert router.wait_for_line(r"b.example => removed node: " + a.address, 10), router.output()
    assert [ask(front, "b.example") for _ in range(4)] == ["b"] * 4
    assert b.count_lines("unsubscribing") == 0


def test_sign_check_takes_the_signed_node_only(start_node, brood_binary, app_dir, tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is not installed")
    private, public = tmp_path / "private.pem", tmp_path / "public"
    public.mkdir()
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True,
                   capture_output=True)
    subprocess.run(["openssl", "rsa", "-in", str(private), "-pubout", "-out",
                    str(public / "s.example.pem")], check=True, capture_output=True)
    router, front, subs = start_router(start_node, brood_binary, "--subscriptions-sign-check",
                                       "sha256:%s" % public)
    unsigned = start_brood(start_node, brood_binary, app_dir, "unsigned", subs + ":s.example")
    assert router.wait_for_line(r'dropped: unsigned subscription for key "s.example"', 10), \
        router.output()
    signed = start_brood(start_node, brood_binary, app_dir, "signed",
                         "%s:s.example,,sha256:%s" % (subs, private))
    assert router.wait_for_line(r"s.example => new node: " + signed.address, 10), router.output()
    assert router.count_lines(r"new node: " + unsigned.address) == 0
    assert [ask(front, "s.example") for _ in range(4)] == ["signed"] * 4
    signed.signal(signal.SIGTERM)
    assert signed.wait_exit(15) == 0, signed.output()
    assert router.wait_for_line(r"s.example => removed node: " + signed.address, 10), \
        router.output()
