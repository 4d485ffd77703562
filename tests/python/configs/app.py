"""The WSGI application of the real-world config tests (test_real_configs.py): answers
"hello from PATH" plus the environment variables a config may set."""
import os


def application(environ, start_response):
    body = "hello from %s%s settings=%s" % (
        environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""),
        os.environ.get("DJANGO_SETTINGS_MODULE", "-"))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
