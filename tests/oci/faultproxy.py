#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of a registry, for the tests.

usage: faultproxy.py PORT UPSTREAM MODE LOG
MODE (applies to blob GETs; manifests pass through):
  drop      first answer sends half the body then closes; Range works after
  norange   like drop, but Range is ignored afterwards (200, full body)
  500       the first two answers are HTTP 500
  429       the first answer is 429 with Retry-After: 1
  corrupt   every answer has one byte flipped
  pass      no fault (to count or slow down requests)
LOG gets one line per blob request, written when it is answered:
"<n> <range or -> <method> <status> <digest>".
FAULTPROXY_DELAY=SECONDS holds every blob answer that long (after the
registry answered it), e.g. to make pulls overlap or tokens expire.
FAULTPROXY_RATE=BYTES_PER_SECOND sends blob bodies at about that rate.
FAULTPROXY_ONLY=sha256:HEX applies MODE to that blob only (counting its
requests alone); the others pass.
FAULTPROXY_MANIFEST=space appends a newline to every manifest answer (still
valid JSON, another digest): a pull by digest must refuse it.
"""
import http.client, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, upstream, mode, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
delay = float(os.environ.get("FAULTPROXY_DELAY", "0"))
rate = int(os.environ.get("FAULTPROXY_RATE", "0"))
only = os.environ.get("FAULTPROXY_ONLY", "")
manifest_fault = os.environ.get("FAULTPROXY_MANIFEST", "")
count = {"n": 0}
lock = threading.Lock()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        blob = "/blobs/" in self.path
        n = 0
        if blob and only and not self.path.endswith("/" + only):
            # another blob: passed through untouched, logged with n "-"
            status = self.answer(False, 0)
            with open(log, "a") as f:
                f.write("- %s %s %d %s\n" % (self.headers.get("Range", "-"),
                        self.command, status, self.path.rsplit("/", 1)[-1]))
            return
        if blob:
            with lock:
                count["n"] += 1
                n = count["n"]
        status = self.answer(blob, n)
        if blob:
            with open(log, "a") as f:
                f.write("%d %s %s %d %s\n" % (n, self.headers.get("Range", "-"),
                        self.command, status, self.path.rsplit("/", 1)[-1]))

    def answer(self, blob, n):
        if blob and mode == "500" and n <= 2:
            return self.reply(500, b"oops")
        if blob and mode == "429" and n == 1:
            return self.reply(429, b"slow down", {"Retry-After": "1"})
        hdrs = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        if blob and mode == "norange":
            hdrs.pop("Range", None)
        c = http.client.HTTPConnection(upstream)
        c.request("GET", self.path, headers=hdrs)
        r = c.getresponse()
        if r.status in (301, 302, 303, 307, 308):
            # the registry may redirect to itself; follow it here
            loc = r.getheader("Location")
            r.read()
            path = loc.split(upstream, 1)[-1] if upstream in loc else loc
            c.request("GET", path, headers=hdrs)
            r = c.getresponse()
        body = r.read()
        out = {k: v for k, v in r.getheaders()
               if k.lower() not in ("content-length", "connection",
                                    "transfer-encoding")}
        if blob and delay:
            time.sleep(delay)
        if (not blob and manifest_fault == "space" and "/manifests/" in self.path
                and r.status == 200 and self.command == "GET"):
            body += b"\n"
        if blob and mode == "corrupt" and r.status == 200 and body:
            body = bytes([body[0] ^ 1]) + body[1:]
        if blob and mode in ("drop", "norange") and n == 1 and len(body) > 1:
            self.send_response(r.status)
            for k, v in out.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return r.status
        return self.reply(r.status, body, out, blob and rate)

    do_HEAD = do_GET

    def reply(self, status, body, hdrs=None, throttle=False):
        self.send_response(status)
        for k, v in (hdrs or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return status
        step = max(rate // 20, 1) if throttle else len(body) or 1
        for i in range(0, len(body), step):
            self.wfile.write(body[i:i + step])
            if throttle:
                self.wfile.flush()
                time.sleep(step / rate)
        return status


ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
