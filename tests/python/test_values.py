"""Python values travel as msgpack and come back as the same types (docs/protocol.md, "Python
values"): through a real primes_node echo (modifier1 33, modifier2 0), and byte for byte."""
import collections
import math
import struct

import pytest

import brood

ECHO = 0

SAMPLES = [
    None, True, False,
    0, 1, -1, 127, 128, -32, -33, 255, 65536,
    2**63 - 1, 2**64 - 1, -2**63, 2**64, -2**63 - 1, -(2**100), 2**100, 5**4096, -(7**999),
    0.0, -0.0, 1.5, -2.25e300, 5e-324, float("inf"), float("-inf"),
    "", "plain", "unicodé ✓ 𝄞", "a" * 5000,
    b"", b"\x00\xff" * 10, bytes(range(256)),
    [], [1, "two", 3.0, None], (), (1,), (1, "two", (3, [4, (5,)])),
    {}, {"a": 1, "b": [1, 2, {"c": (None, True)}]},
    {1: "int key", -5: "neg", (1, 2): "tuple key", b"k": "bytes key", None: 0, 2**70: "big"},
    [[[[[[[[[[["deep"]]]]]]]]]]],
]


def same(a, b):
    """Equal with the same types all the way down (True == 1 and 1.0 == 1 do not count)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) ==
                                                     math.copysign(1, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return (len(a) == len(b) and list(map(type, a)) == list(map(type, b)) and
                all(k in b and same(v, b[k]) for k, v in a.items()))
    return a == b


@pytest.fixture(scope="module")
def echo(shared_primes_node):
    def call(obj):
        return brood.send_message(shared_primes_node.address, 33, ECHO, obj, timeout=5)
    return call


@pytest.mark.parametrize("obj", SAMPLES, ids=lambda o: type(o).__name__ + ":" + repr(o)[:30])
def test_round_trip_through_a_node(echo, obj):
    back = echo(obj)
    assert same(back, obj), (obj, back)


def test_nan_round_trips(echo):
    back = echo([float("nan")])
    assert isinstance(back[0], float) and math.isnan(back[0])


def test_the_seed_big_int(echo):
    n = 15000 ** 4096
    assert echo(n) == n
    assert echo([n, -n]) == [n, -n]


def test_dict_keeps_its_order(echo):
    d = {k: i for i, k in enumerate(["z", "a", "m", 3, (1,)])}
    assert list(echo(d)) == list(d)


def test_subclasses_travel_as_their_base_type(echo):
    Point = collections.namedtuple("Point", "x y")

    class MyInt(int):
        pass

    class MyStr(str):
        pass

    class MyDict(dict):
        pass

    back = echo([Point(1, 2), MyInt(7), MyStr("s"), MyDict(a=1),
                 collections.OrderedDict(b=2), bytearray(b"ba"), memoryview(b"mv")])
    assert same(back, [(1, 2), 7, "s", {"a": 1}, {"b": 2}, b"ba", b"mv"])


@pytest.mark.parametrize("obj, typename, where", [
    ({1, 2}, "set", "message"),
    (object(), "object", "message"),
    (len, "builtin_function_or_method", "message"),
    (lambda: 0, "function", "message"),
    ([1, 2, {3}], "set", "message[2]"),
    ({"k": {"inner": {1}}}, "set", "message['k']['inner']"),
    ((1, frozenset()), "frozenset", "message[1]"),
    ({frozenset(): 1}, "frozenset", "message<key frozenset()>"),
    (1 + 2j, "complex", "message"),
])
def test_untravelable_objects_raise_type_error_and_send_nothing(fake_node, obj, typename, where):
    fake = fake_node(lambda m1, m2, payload: None)
    with pytest.raises(TypeError) as info:
        brood.send_message(fake.address, 33, 0, obj, timeout=2)
    assert str(info.value) == "%s: cannot send object of type '%s'" % (where, typename)
    with pytest.raises(TypeError):
        brood.send_multi_message([(fake.address, 1), (fake.address, obj)], 33, 0, timeout=2)
    assert fake.connections_before() == 0


def test_a_self_containing_list_is_refused_not_recursed(fake_node):
    fake = fake_node(lambda m1, m2, payload: None)
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="nesting deeper than 64 levels"):
        brood.send_message(fake.address, 33, 0, loop, timeout=2)
    assert fake.connections_before() == 0


def test_a_message_over_the_packet_limit_is_a_request_error(fake_node):
    fake = fake_node(lambda m1, m2, payload: None)
    with pytest.raises(brood.RequestError, match="65535"):
        brood.send_message(fake.address, 33, 0, b"x" * 70000, timeout=2)
    assert fake.connections_before() == 0


# ---- the bytes on the wire ----

def test_scalars_use_plain_msgpack():
    assert brood.encode(None) == b"\xc0"
    assert brood.encode(True) == b"\xc3"
    assert brood.encode(-1) == b"\xff"
    assert brood.encode(2**64 - 1) == b"\xcf" + b"\xff" * 8
    assert brood.encode(-2**63) == b"\xd3\x80" + b"\x00" * 7
    assert brood.encode(1.5) == b"\xcb" + struct.pack(">d", 1.5)
    assert brood.encode("é") == b"\xa2\xc3\xa9"
    assert brood.encode(b"\x01") == b"\xc4\x01\x01"
    assert brood.encode([1, {"a": None}]) == b"\x92\x01\x81\xa1a\xc0"


def test_big_int_is_ext_type_1_signed_big_endian():
    for n in [2**64, -2**63 - 1, -(2**100), 5**4096]:
        data = n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True)
        body = brood.encode(n)
        assert body[-len(data):] == data
        assert brood.decode(body) == n
    assert brood.encode(2**64) == b"\xc7\x09\x01\x01" + b"\x00" * 8


def test_tuple_is_ext_type_2_holding_a_msgpack_array():
    assert brood.encode((1, "a")) == b"\xd6\x02\x92\x01\xa1a"  # fixext 4, type 2, [1, "a"]
    assert brood.encode(()) == b"\xd4\x02\x90"  # fixext 1, type 2, []
    assert brood.decode(b"\xd6\x02\x92\x01\xa1a") == (1, "a")


def test_decode_of_foreign_payloads():
    assert brood.decode(b"\xca" + struct.pack(">f", 0.5)) == 0.5  # float32
    assert brood.decode(b"\xa2\xff\xfe") == "\udcff\udcfe"  # invalid UTF-8: surrogateescape
    with pytest.raises(ValueError, match="ext type 5"):
        brood.decode(b"\xd4\x05\x00")
    with pytest.raises(ValueError, match="malformed tuple"):
        brood.decode(b"\xd4\x02\xc1")
    with pytest.raises(ValueError):
        brood.decode(b"\x92\x01")  # truncated
