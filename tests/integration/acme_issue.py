#!/usr/bin/env python3
"""Get one certificate from an ACME server (RFC 8555) for the integration tests.

Only what a test against pebble needs: an ES256 account, one order for the DNS names given,
the http-01 challenge answered (pebble run with PEBBLE_VA_ALWAYS_VALID=1 validates without
fetching anything), finalize with a fresh P-256 key, and the certificate chain written as PEM.

usage: acme_issue.py DIRECTORY_URL CA_FILE OUT_PEM NAME...
"""
import base64
import json
import ssl
import sys
import time
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Client:
    def __init__(self, directory, cafile):
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.key = ec.generate_private_key(ec.SECP256R1())
        nums = self.key.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC",
                    "x": b64u(nums.x.to_bytes(32, "big")), "y": b64u(nums.y.to_bytes(32, "big"))}
        self.kid = None
        self.dir = json.loads(self._get(directory).read())
        self.nonce = None

    def _get(self, url, method="GET"):
        return urllib.request.urlopen(urllib.request.Request(url, method=method), context=self.ctx)

    def _nonce(self):
        if self.nonce is None:
            self.nonce = self._get(self.dir["newNonce"], "HEAD").headers["Replay-Nonce"]
        n, self.nonce = self.nonce, None
        return n

    def post(self, url, payload):
        """POST a JWS; payload None is POST-as-GET. Returns (response, body bytes)."""
        prot = {"alg": "ES256", "nonce": self._nonce(), "url": url}
        if self.kid:
            prot["kid"] = self.kid
        else:
            prot["jwk"] = self.jwk
        p64 = b64u(json.dumps(prot).encode())
        b64 = "" if payload is None else b64u(json.dumps(payload).encode())
        r, s = decode_dss_signature(self.key.sign(f"{p64}.{b64}".encode(), ec.ECDSA(hashes.SHA256())))
        body = json.dumps({"protected": p64, "payload": b64,
                           "signature": b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))}).encode()
        req = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/jose+json"})
        try:
            resp = urllib.request.urlopen(req, context=self.ctx)
        except urllib.error.HTTPError as e:
            sys.exit(f"acme_issue: POST {url}: HTTP {e.code}: {e.read().decode(errors='replace')}")
        self.nonce = resp.headers.get("Replay-Nonce")
        return resp, resp.read()

    def poll(self, url, want):
        for _ in range(100):
            _, body = self.post(url, None)
            obj = json.loads(body)
            if obj["status"] == want:
                return obj
            if obj["status"] == "invalid":
                sys.exit(f"acme_issue: {url} is invalid: {body!r}")
            time.sleep(0.2)
        sys.exit(f"acme_issue: {url} never became {want}")


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    directory, cafile, out, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    c = Client(directory, cafile)
    resp, _ = c.post(c.dir["newAccount"], {"termsOfServiceAgreed": True})
    c.kid = resp.headers["Location"]
    resp, body = c.post(c.dir["newOrder"],
                        {"identifiers": [{"type": "dns", "value": n} for n in names]})
    order_url, order = resp.headers["Location"], json.loads(body)
    for az in order["authorizations"]:
        _, body = c.post(az, None)
        ch = next(x for x in json.loads(body)["challenges"] if x["type"] == "http-01")
        c.post(ch["url"], {})
        c.poll(az, "valid")
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
           .sign(key, hashes.SHA256()))
    c.post(order["finalize"], {"csr": b64u(csr.public_bytes(serialization.Encoding.DER))})
    order = c.poll(order_url, "valid")
    _, pem = c.post(order["certificate"], None)
    with open(out, "wb") as f:
        f.write(pem)


if __name__ == "__main__":
    main()
