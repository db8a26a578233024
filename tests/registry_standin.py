"""A small OCI distribution API stand-in (the GHCR flavour of it) on 127.0.0.1.

Implements what a client needs to ask "does <name>:<tag> exist": `GET /v2/` answers 401 with a
Bearer challenge naming the token realm and service; `GET /token?service=..&scope=repository:
<name>:pull` with HTTP Basic credentials returns `{"token": ...}` (401 for wrong credentials);
`HEAD /v2/<name>/manifests/<tag>` with that bearer token answers 200 for a known image, 404 for
an unknown one and 401 without a valid token for that repository.
"""

from __future__ import annotations

import base64
import http.server
import json
import secrets
import threading
from urllib.parse import parse_qs, urlsplit


class RegistryStandIn(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, user: str, password: str, images: set[tuple[str, str]]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.user, self.password, self.images = user, password, images
        self.tokens: dict[str, str] = {}  # token -> repository it may pull
        self.requests: list[str] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: RegistryStandIn

    def log_message(self, format, *args):
        pass

    def _send(self, code: int, doc=None, headers: dict | None = None):
        body = json.dumps(doc or {}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _challenge(self, scope: str = ""):
        value = f'Bearer realm="{self.server.url}/token",service="standin.local"'
        if scope:
            value += f',scope="{scope}"'
        self._send(401, {"errors": [{"code": "UNAUTHORIZED"}]}, {"WWW-Authenticate": value})

    def do_GET(self):
        url = urlsplit(self.path)
        self.server.requests.append(f"{self.command} {url.path}")
        if url.path == "/v2/":
            return self._challenge()
        if url.path == "/token":
            auth = self.headers.get("Authorization", "")
            want = base64.b64encode(f"{self.server.user}:{self.server.password}".encode()).decode()
            if auth != f"Basic {want}":
                return self._send(401, {"errors": [{"code": "DENIED"}]})
            scope = parse_qs(url.query).get("scope", [""])[0]
            token = secrets.token_hex(16)
            self.server.tokens[token] = scope.split(":")[1] if scope.count(":") == 2 else ""
            return self._send(200, {"token": token})
        return self.do_HEAD()

    def do_HEAD(self):
        url = urlsplit(self.path)
        self.server.requests.append(f"{self.command} {url.path}")
        parts = url.path.split("/manifests/")
        if not url.path.startswith("/v2/") or len(parts) != 2:
            return self._send(404)
        name, tag = parts[0][len("/v2/") :], parts[1]
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.server.tokens.get(token) != name:
            return self._challenge(f"repository:{name}:pull")
        if (name, tag) in self.server.images:
            return self._send(200, headers={"Docker-Content-Digest": "sha256:" + "0" * 64})
        return self._send(404, {"errors": [{"code": "MANIFEST_UNKNOWN"}]})
