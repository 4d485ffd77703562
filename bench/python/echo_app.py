# The answering node of the message benchmarks, loaded by brood and by real uWSGI alike
# (`--module echo_app`): it answers every message with the message itself.
#   brood: modifier1 33 -> message_manager_marshal(obj, modifier2) -> obj
#   both:  modifier1 173, RPC function "echo" -> its argument
import uwsgi


def echo_message(obj, modifier2):
    return obj


def echo(arg):
    return arg


uwsgi.message_manager_marshal = echo_message
uwsgi.register_rpc("echo", echo)
