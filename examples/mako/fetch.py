"""A tiny uwsgi-protocol client: sends one GET request (modifier1 0, the vars nginx's
uwsgi_params would send) to a WSGI node and prints the body of its raw HTTP reply.

    python3 fetch.py HOST:PORT [/PATH?QUERY]

Exit status 0 for a 200 reply, 1 otherwise (the status line goes to stderr).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from uwsgi_get import get  # noqa: E402  (examples/uwsgi_get.py)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    status, body = get(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "/")
    sys.stdout.write(body.decode("utf-8", "replace"))
    if status.split(" ")[1:2] != ["200"]:
        print("fetch.py: %s" % status, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
