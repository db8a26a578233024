"""Real local HTTP(S) endpoints and a throwaway PKI for smoke_check tests and its benchmark.

Everything listens on 127.0.0.1 only. Certificates come from a test CA generated with
`cryptography` (the module itself reads certificates with it, see plugins/module_utils/_x509.py).
"""

from __future__ import annotations

import dataclasses
import datetime
import http.server
import ipaddress
import json
import pathlib
import socket
import ssl
import threading
import time
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

UTC = datetime.UTC


# --- PKI --------------------------------------------------------------------------------------


@dataclasses.dataclass
class Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    pem_path: pathlib.Path


def _name(org: str, cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_ca(directory: pathlib.Path, org: str, cn: str) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(UTC)
    name = _name(org, cn)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    path = directory / f"{cn.replace(' ', '_')}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Authority(key, cert, path)


def make_leaf(
    directory: pathlib.Path,
    ca: Authority,
    label: str,
    *,
    dns: list[str] = (),
    ips: list[str] = (),
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> tuple[pathlib.Path, x509.Certificate]:
    """A server certificate signed by ca; returns (PEM file with cert + key, certificate)."""
    now = datetime.datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Smoke Test Servers", dns[0] if dns else ips[0]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - datetime.timedelta(days=1))
        .not_valid_after(not_after or now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    path = directory / f"{label}.pem"
    path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path, cert


# --- endpoints --------------------------------------------------------------------------------

HEALTHY = {
    "status": "ok",
    "version": "1.4.2",
    "checks": {"db": {"ok": True}, "kafka": {"ok": True}},
}


class _Handler(http.server.BaseHTTPRequestHandler):
    """Routes (all answer JSON unless noted):

    /health                   200 HEALTHY
    /wrong-body               200 {"status": "degraded", ...}
    /status/<code>            <code> {"error": "boom"}
    /slow/<ms>[/<any>]        sleeps ms, then 200 HEALTHY
    /flaky/<key>/<n>          503 for the first n requests of key, then 200 HEALTHY
    /redirect/<code>?to=URL   <code> with Location: URL
    /auth                     200 if every header in server.required_headers matches, else 401
                              with a body that echoes the Authorization header (a careless app)
    """

    server: EndpointServer
    protocol_version = "HTTP/1.0"

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    def log_message(self, format, *args):  # keep test output clean
        pass

    def _send(self, code: int, doc=None, headers: dict | None = None, body: bytes | None = None):
        payload = body if body is not None else json.dumps(doc if doc is not None else {}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        self.server.record(url.path)
        route = parts[0] if parts else ""
        if route == "health" or route == "":
            self._send(200, HEALTHY)
        elif route == "wrong-body":
            self._send(
                200, {"status": "degraded", "version": "1.4.2", "checks": {"db": {"ok": False}}}
            )
        elif route == "status":
            self._send(int(parts[1]), {"error": "boom"})
        elif route == "slow":
            time.sleep(int(parts[1]) / 1000.0)
            self._send(200, HEALTHY)
        elif route == "flaky":
            seen = self.server.hits[url.path]
            self._send(
                503 if seen <= int(parts[2]) else 200,
                {"error": "warming up"} if seen <= int(parts[2]) else HEALTHY,
            )
        elif route == "redirect":
            to = parse_qs(url.query)["to"][0]
            self._send(int(parts[1]), body=b"", headers={"Location": to})
        elif route == "auth":
            required = self.server.required_headers
            if all(self.headers.get(k) == v for k, v in required.items()):
                self._send(200, {"status": "ok"})
            else:
                echo = f"rejected credentials: {self.headers.get('Authorization')}".encode()
                self._send(401, body=echo)
        else:
            self._send(404, {"error": "no such route"})


class EndpointServer(http.server.ThreadingHTTPServer):
    """Threaded HTTP server on 127.0.0.1; HTTPS when given a certificate (handshake per thread)."""

    daemon_threads = True
    # the default backlog of 5 drops SYNs when many checks connect at once on a busy machine,
    # and the kernel retries them a second later: that would be our latency, not the module's
    request_queue_size = 128

    def __init__(self, cert_pem: pathlib.Path | None = None, port: int = 0):
        super().__init__(("127.0.0.1", port), _Handler)
        self.tls = None
        if cert_pem is not None:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(cert_pem)
        self.hits: dict[str, int] = {}
        self.required_headers: dict[str, str] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls is not None:
            # handshake in the handler thread, so one slow client cannot stall the accept loop
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        pass  # clients that reject our certificate abort the handshake; that is the test

    def record(self, path: str) -> None:
        with self._lock:
            self.hits[path] = self.hits.get(path, 0) + 1

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
