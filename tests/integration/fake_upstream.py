#!/usr/bin/env python3
"""A registry that misbehaves on purpose, for the proxy's fault tests.

Real registries do not send corrupt blobs or stall on demand, so this stands in for one that
does. Modes (argv[2]):
  blackhole      accept connections, never answer
  huge-manifest  every manifest is 5 MiB of JSON
  corrupt-blob   blobs come with the announced length but other bytes than the digest says
  truncated-blob blobs announce 1 MiB, send 1000 bytes and close
  deny           every /v2/ request: 403 DENIED (a registry refusing these credentials)
  throttle       every /v2/ request: 429 TOOMANYREQUESTS with Retry-After (a rate limit)
"""
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, mode = int(sys.argv[1]), sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.command, self.path))
        sys.stderr.flush()

    def do_HEAD(self):
        self.do_GET()

    def refuse(self, status, code, extra_headers):
        body = ('{"errors":[{"code":"%s","message":"refused by the fake upstream"}]}' % code).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(body)

    def do_GET(self):
        if mode == "deny":
            self.refuse(403, "DENIED", [])
        elif mode == "throttle":
            self.refuse(429, "TOOMANYREQUESTS", [("Retry-After", "7")])
        elif "/manifests/" in self.path and mode == "huge-manifest":
            body = b'{"schemaVersion":2,"layers":[],"pad":"' + b"x" * (5 << 20) + b'"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(body)
        elif "/blobs/" in self.path and mode == "corrupt-blob":
            body = b"not the bytes you were promised" * 1000
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(body)
        elif "/blobs/" in self.path and mode == "truncated-blob":
            self.send_response(200)
            self.send_header("Content-Length", str(1 << 20))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(b"y" * 1000)
                self.wfile.flush()
            self.close_connection = True
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


def blackhole():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    held = []
    while True:
        conn, _ = listener.accept()
        held.append(conn)  # never read, never answer


if mode == "blackhole":
    blackhole()
else:
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
