#!/usr/bin/env python3
"""A Docker registry token server (the Bearer protocol of docker/distribution)
for the tests: GET /token?service=S&scope=repository:R:pull with Basic
credentials answers {"token", "access_token", "expires_in"}: an RS256 JWT
with an x5c header that docker-registry checks against CERT.

usage: tokenserver.py PORT KEY CERT USER:PASS EXPIRES_IN LOG [EXP]
EXPIRES_IN is what the answer says; EXP (default EXPIRES_IN) sets the JWT's
"exp" claim to now + EXP seconds, so a token can die at the registry while
the client still thinks it valid (EXP may be negative: the registry allows
clock skew).
"""
import base64, json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

port, keyf, certf, creds, expires, log = sys.argv[1:7]
exp_in = int(sys.argv[7]) if len(sys.argv) > 7 else int(expires)
key = serialization.load_pem_private_key(open(keyf, "rb").read(), None)
cert = x509.load_pem_x509_certificate(open(certf, "rb").read())
der = cert.public_bytes(serialization.Encoding.DER)


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(service, scope, sub):
    actions = []
    if scope:
        typ, name, acts = scope.split(":")
        actions = [{"type": typ, "name": name, "actions": acts.split(",")}]
    now = int(time.time())
    hdr = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(der).decode()]}
    claims = {"iss": "test-issuer", "sub": sub, "aud": service, "exp": now + exp_in,
              "nbf": now - 10, "iat": now, "jti": str(time.time_ns()), "access": actions}
    si = b64(json.dumps(hdr).encode()) + "." + b64(json.dumps(claims).encode())
    sig = key.sign(si.encode(), padding.PKCS1v15(), hashes.SHA256())
    return si + "." + b64(sig)


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        q = parse_qs(urlparse(self.path).query)
        auth = self.headers.get("Authorization", "")
        ok = auth.startswith("Basic ") and base64.b64decode(auth[6:]).decode() == creds
        with open(log, "a") as f:
            f.write("%s %s\n" % ("ok" if ok else "denied", q.get("scope", [""])[0]))
        if not ok:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        t = token(q.get("service", [""])[0], q.get("scope", [""])[0], creds.split(":")[0])
        body = json.dumps({"access_token": t, "expires_in": int(expires)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("127.0.0.1", int(port)), H).serve_forever()
