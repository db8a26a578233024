"""STAND-IN for an OCI distribution registry (the GHCR flavour of it), on the shared JsonServer.

Implements what a client needs to ask "does <name>:<tag> exist": `GET /v2/` answers 401 with a
Bearer challenge naming the token realm and service; `GET /token?service=..&scope=repository:
<name>:pull` with HTTP Basic credentials returns `{"token": ...}` (401 for wrong credentials);
`HEAD /v2/<name>/manifests/<tag>` with that bearer token answers 200 for a known image, 404 for
an unknown one and 401 without a valid token for that repository.
"""

from __future__ import annotations

import base64
import secrets

from tests.standins._server import JsonServer, Request, Response


class RegistryStandIn(JsonServer):
    name = "registry stand-in"

    def __init__(self, user: str, password: str, images: set[tuple[str, str]]):
        super().__init__()
        self.user, self.password, self.images = user, password, images
        self.tokens: dict[str, str] = {}  # token -> repository it may pull
        self.route("GET", r"/v2/", lambda _req: self._challenge())
        self.route("GET", r"/token", self._token)
        for method in ("GET", "HEAD"):
            self.route(method, r"/v2/(?P<name>.+)/manifests/(?P<tag>[^/]+)", self._manifest)

    def _challenge(self, scope: str = "") -> Response:
        value = f'Bearer realm="{self.url}/token",service="standin.local"'
        if scope:
            value += f',scope="{scope}"'
        return Response(401, {"errors": [{"code": "UNAUTHORIZED"}]}, {"WWW-Authenticate": value})

    def _token(self, req: Request) -> Response:
        want = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if req.headers.get("authorization", "") != f"Basic {want}":
            return Response(401, {"errors": [{"code": "DENIED"}]})
        scope = req.query.get("scope", [""])[0]
        token = secrets.token_hex(16)
        self.tokens[token] = scope.split(":")[1] if scope.count(":") == 2 else ""
        return Response(200, {"token": token})

    def _manifest(self, req: Request, name: str, tag: str) -> Response:
        token = req.headers.get("authorization", "").removeprefix("Bearer ")
        if self.tokens.get(token) != name:
            return self._challenge(f"repository:{name}:pull")
        if (name, tag) in self.images:
            return Response(200, {}, {"Docker-Content-Digest": "sha256:" + "0" * 64})
        return Response(404, {"errors": [{"code": "MANIFEST_UNKNOWN"}]})
