"""The event log of one run and the test certificate: shared by the server and the drivers.

Every event is one JSON line in runs/NAME/events.jsonl with `t`, seconds since the capture
started (time.monotonic), and `ev`, its kind. The same line goes to stdout unless it is noisy.
"""
import base64
import hashlib
import json
import os
import ssl
import subprocess
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = time.monotonic()


def now():
    return round(time.monotonic() - T0, 6)


class Log:
    QUIET = {"quic_recv_other", "tick_sent"}

    def __init__(self, path, echo=True):
        self.f = open(path, "w")
        self.lock = threading.Lock()
        self.echo = echo

    def ev(self, ev, **kw):
        line = json.dumps({"t": now(), "ev": ev, **kw}, default=str)
        with self.lock:
            if self.f.closed:
                return
            self.f.write(line + "\n")
            self.f.flush()
        if self.echo and ev not in self.QUIET:
            print(line[:400], flush=True)

    def close(self):
        with self.lock:
            self.f.close()


class Cert:
    """A self-signed P-256 certificate for 127.0.0.1 and localhost, made once in certs/.

    `spki` is what Chromium's --ignore-certificate-errors-spki-list takes (base64 SHA-256 of the
    SubjectPublicKeyInfo); `fingerprint` is what Firefox's cert_override.txt takes (SHA-256 of the
    DER certificate, colon-separated upper-case pairs)."""

    def __init__(self):
        d = os.path.join(HERE, "certs")
        os.makedirs(d, exist_ok=True)
        self.cert, self.key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        if not (os.path.exists(self.cert) and os.path.exists(self.key)):
            subprocess.run([
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.key, "-out", self.cert,
                "-days", "365", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                check=True, capture_output=True)
        pub = subprocess.run(["openssl", "x509", "-in", self.cert, "-pubkey", "-noout"],
                             check=True, capture_output=True).stdout
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                             check=True, capture_output=True).stdout
        self.spki = base64.b64encode(hashlib.sha256(der).digest()).decode()
        cert_der = ssl.PEM_cert_to_DER_cert(open(self.cert).read())
        h = hashlib.sha256(cert_der).hexdigest().upper()
        self.fingerprint = ":".join(h[i:i + 2] for i in range(0, len(h), 2))
