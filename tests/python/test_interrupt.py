"""Ctrl-C during a blocking call: SIGINT raises KeyboardInterrupt at once, not after the call's
timeout (the client asks Python's signal handlers when a signal breaks its wait). A peer that
accepts and never answers keeps the call waiting; the calling program runs in a subprocess
that the test interrupts."""
import os
import signal
import subprocess
import sys
import time

import pytest

PYTHON = "/usr/bin/python3"

CALLER = r"""
import socket, sys, time
import brood
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
address = "127.0.0.1:%d" % listener.getsockname()[1]
call = sys.argv[1]
print("calling", flush=True)
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


@pytest.mark.parametrize("call", ["send_message", "send_multi_message", "ping"])
def test_ctrl_c_interrupts_a_waiting_call(call):
    proc = subprocess.Popen([PYTHON, "-c", CALLER, call], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ))
    try:
        assert proc.stdout.readline().strip() == "calling"
        time.sleep(0.5)  # the call is waiting for the answer by now
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out.startswith("KeyboardInterrupt after"), out
    assert float(out.split()[2]) < 5.0, out
