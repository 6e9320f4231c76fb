#!/usr/bin/env python3
"""A hostile token realm (or registry face) for the tests: answers every GET
with 401, logging whether it got credentials.

usage: realm.py ADDR PORT LOG [CHALLENGE]
LOG gets one line per request, written before it is answered:
"GET PATH AUTH", AUTH being the Authorization header's scheme ("Basic",
"Bearer") or "-" when the request had none. CHALLENGE, when given, is sent
as the WWW-Authenticate header (to play a registry whose challenge is
hostile).
"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

addr, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
challenge = sys.argv[4] if len(sys.argv) > 4 else None


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        auth = self.headers.get("Authorization")
        with open(log, "a") as f:
            f.write("GET %s %s\n" % (self.path, auth.split()[0] if auth else "-"))
        self.send_response(401)
        if challenge:
            self.send_header("WWW-Authenticate", challenge)
        self.send_header("Content-Length", "0")
        self.end_headers()


ThreadingHTTPServer((addr, port), H).serve_forever()
