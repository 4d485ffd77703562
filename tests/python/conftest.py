"""Shared fixtures for the Python tests: real node processes on loopback ephemeral ports. The
helpers behind them live in support.py.

    def test_x(start_node, primes_node_binary):
        node = start_node(primes_node_binary, "--socket", "127.0.0.1:0", "--processes", "2")
        brood.send_message(node.address, 33, 0, "hi")

Fixtures: start_node (per test) and start_module_node (per module) node factories
(support.NodeFactory: every node is killed and reaped when the test or module ends);
brood_binary, primes_node_binary (paths); primes_node (2 workers, per test) and
shared_primes_node (per module, buffer-size 65535); dead_address (a loopback port nobody
listens on); fake_node(reply) -> support.FakeNode, a scripted uwsgi peer that records requests.

Environment (set by tests/python/CMakeLists.txt): BROOD_BINARY, BROOD_PRIMES_NODE, PYTHONPATH.
"""
import os

import pytest

import support
from support import FakeNode, NodeFactory


@pytest.fixture
def start_node():
    """Factory of Node processes, all stopped and reaped at the end of the test."""
    factory = NodeFactory()
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def start_module_node():
    """Like start_node, for nodes shared by the tests of one module."""
    factory = NodeFactory()
    yield factory
    factory.stop_all()


def _binary(variable):
    path = os.environ.get(variable)
    if not path or not os.access(path, os.X_OK):
        pytest.fail("%s must name the built executable (ctest sets it), got %r" % (variable, path))
    return path


@pytest.fixture(scope="session")
def brood_binary():
    return _binary("BROOD_BINARY")


@pytest.fixture(scope="session")
def primes_node_binary():
    return _binary("BROOD_PRIMES_NODE")


def _start_primes(factory, binary, *extra):
    return factory(binary, "--socket", "127.0.0.1:0", "--master", "--processes", 2, *extra)


@pytest.fixture
def primes_node(start_node, primes_node_binary):
    """A primes_node (m2 0 echo, 17 count primes [lo, hi), 98 sleep {"ms": n}, 99 pid, any
    other m2 a remote ValueError) with 2 workers, for one test."""
    return _start_primes(start_node, primes_node_binary)


@pytest.fixture(scope="module")
def shared_primes_node(start_module_node, primes_node_binary):
    """A primes_node shared by the tests of a module (do not stall or kill it), with
    buffer-size 65535 so that messages up to the packet limit fit."""
    return _start_primes(start_module_node, primes_node_binary, "--buffer-size", 65535)


@pytest.fixture
def dead_address():
    """A loopback address nobody listens on (a port bound, then closed)."""
    return support.dead_address()


@pytest.fixture
def fake_node():
    """Factory: fake_node(reply) -> FakeNode, closed at the end of the test."""
    fakes = []

    def make(reply):
        fake = FakeNode(reply)
        fakes.append(fake)
        return fake

    yield make
    for fake in fakes:
        fake.close()
