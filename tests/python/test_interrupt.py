"""Ctrl-C during a blocking call: SIGINT raises KeyboardInterrupt at once, not after the call's
timeout (the client asks Python's signal handlers when a signal breaks its wait). A peer that
accepts and never answers keeps the call waiting; the calling program runs in a subprocess
that the test interrupts."""
import os
import signal
import subprocess
import sys

import pytest

from support import eventually

PYTHON = "/usr/bin/python3"

CALLER = r"""
import socket, sys, time
import brood
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
address = "127.0.0.1:%d" % listener.getsockname()[1]
call = sys.argv[1]
print("calling", listener.getsockname()[1], flush=True)
start = time.monotonic()
try:
    if call == "send_message":
        brood.send_message(address, 33, 17, [1, 2], timeout=30)
    elif call == "send_multi_message":
        brood.send_multi_message([(address, 1), (address, 2)], 33, 17, timeout=30)
    else:
        brood.ping(address, timeout=30)
    print("returned", flush=True)
except KeyboardInterrupt:
    print("KeyboardInterrupt after %.2f s" % (time.monotonic() - start), flush=True)
"""


def request_waiting(port):
    """True when a connection to 127.0.0.1:port holds received bytes nobody read yet (the
    listener never accepts: the request waits in the backlog)."""
    local = "0100007F:%04X" % port
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            rx_queue = int(fields[4].split(":")[1], 16)
            if fields[1] == local and fields[3] == "01" and rx_queue > 0:
                return True
    return False


@pytest.mark.parametrize("call", ["send_message", "send_multi_message", "ping"])
def test_ctrl_c_interrupts_a_waiting_call(call):
    proc = subprocess.Popen([PYTHON, "-c", CALLER, call], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ))
    try:
        word, port = proc.stdout.readline().split()
        assert word == "calling"
        # The call is waiting for the answer once its request sits unread at the listener.
        assert eventually(lambda: request_waiting(int(port)))
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out.startswith("KeyboardInterrupt after"), out
    assert float(out.split()[2]) < 5.0, out
