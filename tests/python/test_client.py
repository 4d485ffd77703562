"""brood.send_message / send_multi_message / send_packet / ping against real primes_node processes
and scripted fake peers: answers, every error class, timeouts, and the GIL released while
waiting."""
import struct
import threading
import time

import pytest

import brood

M1 = 33
ECHO, COUNT, SLEEP, PID = 0, 17, 98, 99


def test_send_message_answers(primes_node):
    assert brood.send_message(primes_node.address, M1, ECHO, {"x": [1, 2]}) == {"x": [1, 2]}
    answer = brood.send_message(primes_node.address, M1, COUNT, [0, 100], timeout=5)
    assert answer["count"] == 25 and isinstance(answer["pid"], int)


def test_address_forms(primes_node):
    host, port = primes_node.address.rsplit(":", 1)
    assert brood.send_message((host, int(port)), M1, ECHO, 1) == 1
    assert brood.send_message(primes_node.address.encode(), M1, ECHO, 2) == 2
    with pytest.raises(TypeError, match="address must be"):
        brood.send_message(12, M1, ECHO, 1)
    with pytest.raises(brood.RequestError):
        brood.send_message("127.0.0.1:99999", M1, ECHO, 1, timeout=1)


def test_bad_arguments_are_refused_before_sending(primes_node):
    with pytest.raises(ValueError, match="modifier1 must be 0..255"):
        brood.send_message(primes_node.address, 256, ECHO, 1)
    with pytest.raises(ValueError, match="modifier2 must be 0..255"):
        brood.send_message(primes_node.address, M1, -1, 1)
    for bad in (0, -1, float("nan")):
        with pytest.raises(ValueError, match="timeout must be a positive"):
            brood.send_message(primes_node.address, M1, ECHO, 1, timeout=bad)
    assert brood.send_message(primes_node.address, M1, ECHO, 1, timeout=None) == 1


def test_timeout_is_respected(primes_node):
    start = time.monotonic()
    with pytest.raises(brood.TimeoutError) as info:
        brood.send_message(primes_node.address, M1, SLEEP, {"ms": 2000}, timeout=0.3)
    took = time.monotonic() - start
    assert 0.25 <= took < 1.0, took
    assert isinstance(info.value, TimeoutError)  # the builtin too
    assert info.value.address == primes_node.address
    assert "timeout after 300 ms" in str(info.value)


def test_refused(dead_address):
    with pytest.raises(brood.ConnectionRefusedError) as info:
        brood.send_message(dead_address, M1, ECHO, 1, timeout=2)
    assert isinstance(info.value, ConnectionRefusedError)
    assert isinstance(info.value, brood.ConnectionError)
    assert isinstance(info.value, brood.Error)
    assert dead_address in str(info.value)


def test_remote_error_carries_type_and_message(primes_node):
    with pytest.raises(brood.RemoteError) as info:
        brood.send_message(primes_node.address, M1, 42, "x", timeout=5)
    e = info.value
    assert e.type == "ValueError"
    assert e.message.startswith("unknown modifier2 42")
    assert e.address == primes_node.address
    assert str(e) == "ValueError: %s (from %s)" % (e.message, primes_node.address)
    with pytest.raises(brood.RemoteError, match="TypeError: expected \\[lo, hi\\]"):
        brood.send_message(primes_node.address, M1, COUNT, "not a range", timeout=5)
    # The node keeps serving.
    assert brood.send_message(primes_node.address, M1, ECHO, "still", timeout=5) == "still"


def test_protocol_error(fake_node):
    fake = fake_node(lambda m1, m2, payload: struct.pack("<BHB", m1, 2, m2) + b"\xc1\xc1")
    with pytest.raises(brood.ProtocolError, match="malformed msgpack"):
        brood.send_message(fake.address, M1, ECHO, 1, timeout=2)
    odd = fake_node(lambda m1, m2, payload: struct.pack("<BHB", 7, 0, 0))
    with pytest.raises(brood.ProtocolError, match="unexpected reply"):
        brood.send_message(odd.address, M1, ECHO, 1, timeout=2)


def test_answer_without_python_value_is_a_protocol_error(fake_node):
    fake = fake_node(lambda m1, m2, payload: struct.pack("<BHB", m1, 3, m2) + b"\xd4\x09\x00")
    with pytest.raises(brood.ProtocolError, match="ext type 9"):
        brood.send_message(fake.address, M1, ECHO, 1, timeout=2)


def test_connection_closed_without_reply(fake_node):
    fake = fake_node(lambda m1, m2, payload: None)
    with pytest.raises(brood.ConnectionError) as info:
        brood.send_message(fake.address, M1, ECHO, 1, timeout=2)
    assert not isinstance(info.value, brood.ConnectionRefusedError)


def test_generic_success_reply_is_true(fake_node):
    fake = fake_node(lambda m1, m2, payload: struct.pack("<BHB", 255, 0, 1))
    assert brood.send_message(fake.address, M1, ECHO, 1, timeout=2) is True


def test_plain_failure_reply_is_a_remote_error(fake_node):
    fake = fake_node(lambda m1, m2, payload: struct.pack("<BHB", 255, 0, 0))
    with pytest.raises(brood.RemoteError) as info:
        brood.send_message(fake.address, M1, ECHO, 1, timeout=2)
    assert info.value.type == "failure"


def test_multi_in_target_order(start_node, primes_node_binary):
    a = start_node(primes_node_binary, "--socket", "127.0.0.1:0")
    b = start_node(primes_node_binary, "--socket", "127.0.0.1:0")
    answers = brood.send_multi_message(
        [(a.address, [0, 1000]), (b.address, [1000, 2000]), (a.address, "echo?")], M1, COUNT,
        timeout=5)
    assert answers[0]["count"] == 168 and answers[1]["count"] == 135
    assert isinstance(answers[2], brood.RemoteError)  # "echo?" is no range


def test_multi_dead_node_gives_its_slot_an_exception(primes_node, dead_address):
    start = time.monotonic()
    answers = brood.send_multi_message(
        [(primes_node.address, "a"), (dead_address, "b"), (primes_node.address, ("c",))], M1,
        ECHO, timeout=5)
    assert time.monotonic() - start < 2
    assert answers[0] == "a" and answers[2] == ("c",)
    assert isinstance(answers[1], brood.ConnectionRefusedError)
    assert answers[1].address == dead_address


def test_multi_slow_node_times_out_alone(start_node, primes_node_binary):
    slow = start_node(primes_node_binary, "--socket", "127.0.0.1:0")
    fast = start_node(primes_node_binary, "--socket", "127.0.0.1:0")
    start = time.monotonic()
    answers = brood.send_multi_message(
        [(slow.address, {"ms": 3000}), (fast.address, {"ms": 0})], M1, SLEEP, timeout=0.5)
    assert time.monotonic() - start < 1.5
    assert isinstance(answers[0], brood.TimeoutError)
    assert isinstance(answers[1], int)


def test_multi_accepts_any_iterable_and_checks_pairs(primes_node):
    gen = ((primes_node.address, i) for i in range(3))
    assert brood.send_multi_message(gen, M1, ECHO, timeout=5) == [0, 1, 2]
    assert brood.send_multi_message([], M1, ECHO) == []
    with pytest.raises(TypeError, match=r"targets\[0\] must be an \(address, obj\) pair"):
        brood.send_multi_message([primes_node.address], M1, ECHO)
    with pytest.raises(TypeError, match=r"targets\[1\]: message\['k'\]: cannot send"):
        brood.send_multi_message([(primes_node.address, 1), (primes_node.address, {"k": {1}})],
                                 M1, ECHO)


def test_gil_is_released_while_waiting(primes_node):
    counter = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=count)
    t.start()
    try:
        before = counter[0]
        brood.send_message(primes_node.address, M1, SLEEP, {"ms": 500}, timeout=5)
        during = counter[0] - before
    finally:
        stop.set()
        t.join()
    # With the GIL held for the 500 ms wait the counting thread could not run at all.
    assert during > 100000, during


def test_concurrent_callers_from_threads(start_node, primes_node_binary):
    nodes = [start_node(primes_node_binary, "--socket", "127.0.0.1:0") for _ in range(2)]
    results = {}

    def call(i):
        results[i] = brood.send_message(nodes[i].address, M1, SLEEP, {"ms": 300}, timeout=5)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The two calls overlap instead of queueing on the GIL.
    assert time.monotonic() - start < 0.55
    assert len(set(results.values())) == 2  # two different node pids


def test_send_packet_raw(primes_node, fake_node):
    body = brood.encode("raw")
    assert brood.send_packet(primes_node.address, M1, ECHO, body, timeout=5) == (M1, ECHO, body)
    fake = fake_node(lambda m1, m2, payload: struct.pack("<BHB", 173, 3, 0) + b"abc")
    assert brood.send_packet(fake.address, 173, 0, bytearray(b"\x01\x00x"), timeout=2) == (
        173, 0, b"abc")
    assert fake.requests == [(173, 0, b"\x01\x00x")]
    with pytest.raises(TypeError):
        brood.send_packet(fake.address, 173, 0, "str is no payload", timeout=2)


def test_ping(primes_node, dead_address):
    assert brood.ping(primes_node.address, timeout=5) == ""
    with pytest.raises(brood.ConnectionRefusedError):
        brood.ping(dead_address, timeout=2)


def test_error_classes():
    assert issubclass(brood.TimeoutError, (brood.Error, TimeoutError))
    assert issubclass(brood.ConnectionRefusedError, ConnectionRefusedError)
    assert issubclass(brood.RequestError, ValueError)
    for cls in (brood.ProtocolError, brood.RemoteError, brood.ConnectionError):
        assert issubclass(cls, brood.Error)
    assert brood.Error.__module__ == "brood"
    assert "TimeoutError" not in brood.__all__  # `from brood import *` keeps the builtin
