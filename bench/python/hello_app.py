# WSGI hello world, the same file for brood and for real uWSGI (`--module hello_app`).


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")])
    return [b"Hello World\n"]
