# A WSGI app with a heavy import set, the same file for brood and for real uWSGI (`--module
# heavy_app`): numpy and a broad slice of the standard library, as a typical service imports at
# start-up. forkserver_bench.py's second app; each request answers the sum of a small array.
import argparse
import asyncio
import concurrent.futures
import csv
import dataclasses
import datetime
import decimal
import difflib
import email.mime.multipart
import email.mime.text
import fractions
import hashlib
import http.client
import http.cookies
import json
import logging.handlers
import multiprocessing
import pickle
import sqlite3
import ssl
import statistics
import tarfile
import typing
import unittest
import urllib.request
import uuid
import xml.dom.minidom
import xml.etree.ElementTree
import zipfile

import numpy

_TABLE = numpy.arange(16, dtype=numpy.int64)


def application(environ, start_response):
    body = b"%d\n" % int(_TABLE.sum())
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def warm_up():
    """What numpy does once per process on its first call after a fork (~1 ms here,
    bench/RESULTS.md issue 14), done by a fork-server base's spares before the request when the
    base names this function (`fork-server-warm-up = heavy_app:warm_up`); unused otherwise."""
    numpy.add.reduce(numpy.zeros(2, dtype=numpy.int64))
