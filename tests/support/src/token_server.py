"""A registry token service (Docker's Bearer-token flow) for kiltx's tests.

Usage: token_server.py PORT KEY_PEM CERT_PEM ISSUER SERVICE USER PASSWORD COUNT_FILE
Issues RS256 JWTs, signed with KEY_PEM and carrying CERT_PEM in x5c, granting pull on the
requested scope, to callers presenting USER:PASSWORD with Basic authentication. Each request
appends a line to COUNT_FILE.
"""
import base64, json, sys, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography import x509

port, key_pem, cert_pem, issuer, service, user, password, count_file = sys.argv[1:9]
key = serialization.load_pem_private_key(open(key_pem, "rb").read(), password=None)
cert = x509.load_pem_x509_certificate(open(cert_pem, "rb").read())
x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(claims):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [x5c]}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(sig)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        with open(count_file, "a") as f:
            f.write(self.path + "\n")
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"details": "bad credentials"}')
            return
        q = parse_qs(urlparse(self.path).query)
        access = []
        for scope in q.get("scope", []):
            parts = scope.split(":")
            if len(parts) == 3 and parts[0] == "repository":
                access.append({"type": "repository", "name": parts[1], "actions": ["pull"]})
        now = int(time.time())
        token = jwt({"iss": issuer, "sub": user, "aud": q.get("service", [service])[0],
                     "exp": now + 600, "nbf": now - 60, "iat": now,
                     "jti": str(uuid.uuid4()), "access": access})
        body = json.dumps({"token": token, "expires_in": 600}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
