#!/usr/bin/env python3
"""A redirecting registry front and a recording blob server, for the tests.

usage: redirect.py front PORT UPSTREAM TARGET LOG
           proxies every request to the registry UPSTREAM (HOST:PORT),
           Authorization included; a blob GET that the registry answers
           200 is answered "307 Location: http://TARGET/blobs/DIGEST"
           instead, as registries hand blobs over to their storage.
       redirect.py target PORT BLOBDIR LOG
           serves GET /blobs/sha256:HEX from BLOBDIR/HEX (an OCI layout's
           blobs/sha256), and nothing else.
LOG gets one line per blob request, written before it is answered:
"METHOD PATH AUTH", AUTH being the Authorization header's scheme
("Basic", "Bearer") or "-" when the request had none.
"""
import http.client, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

mode, port = sys.argv[1], int(sys.argv[2])


def record(log, h):
    auth = h.headers.get("Authorization")
    with open(log, "a") as f:
        f.write("%s %s %s\n" % (h.command, h.path,
                                auth.split()[0] if auth else "-"))


class Front(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream, target, log = sys.argv[3:6] if mode == "front" else ("",) * 3

    def log_message(self, *a):
        pass

    def do_GET(self):
        blob = "/blobs/" in self.path
        if blob:
            record(self.log, self)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        c = http.client.HTTPConnection(self.upstream)
        c.request(self.command, self.path, headers=hdrs)
        r = c.getresponse()
        body = r.read()
        if blob and self.command == "GET" and r.status == 200:
            digest = self.path.rsplit("/", 1)[-1]
            return self.reply(307, b"", {"Location": "http://%s/blobs/%s" %
                                         (self.target, digest)})
        out = {k: v for k, v in r.getheaders()
               if k.lower() not in ("content-length", "connection",
                                    "transfer-encoding")}
        self.reply(r.status, body, out)

    do_HEAD = do_GET

    def reply(self, status, body, hdrs):
        self.send_response(status)
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Target(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    blobdir, log = sys.argv[3:5] if mode == "target" else ("",) * 2

    def log_message(self, *a):
        pass

    def do_GET(self):
        record(self.log, self)
        name = self.path.rsplit("/", 1)[-1].split("?")[0]
        path = os.path.join(self.blobdir, name.removeprefix("sha256:"))
        if not name.startswith("sha256:") or not os.path.isfile(path):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = open(path, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("127.0.0.1", port),
                    Front if mode == "front" else Target).serve_forever()
