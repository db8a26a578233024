"""STAND-IN for the parts of Redpanda Cloud the redpanda_user module uses (not Redpanda Cloud).

Three real HTTP servers on 127.0.0.1, like the three hosts of the real service:

* auth (like https://auth.prd.cloud.redpanda.com): ``POST /oauth/token`` with the OAuth2
  client-credentials grant (form or JSON body: grant_type, client_id, client_secret, audience)
  -> ``{"access_token", "token_type": "Bearer", "expires_in"}``; wrong credentials -> 401
  ``{"error": "access_denied", "error_description": "Unauthorized"}``, wrong grant -> 400, wrong
  audience -> 403.
* Control Plane API (like https://api.redpanda.com): ``GET /v1/serverless/clusters/{id}`` ->
  ``{"serverless_cluster": {..., "dataplane_api": {"url"}}}`` and ``GET /v1/clusters/{id}`` ->
  ``{"cluster": {...}}`` for dedicated/BYOC clusters; unknown id -> 404.
* Data Plane API of one cluster (``redpanda.api.dataplane.v1.UserService`` over HTTP/JSON):
  ``GET /v1/users`` (``filter.name``, ``page_size``, ``page_token``) ->
  ``{"users": [{"name", "mechanism"}], "next_page_token"}``; ``POST /v1/users`` with body
  ``{"name", "password", "mechanism"}`` -> 201 ``{"user": {"name", "mechanism"}}``;
  ``PUT /v1/users/{name}`` -> 200; ``DELETE /v1/users/{name}`` -> 204. Mechanisms are
  ``SASL_MECHANISM_SCRAM_SHA_256`` / ``SASL_MECHANISM_SCRAM_SHA_512``; one per user.

Control and data plane need ``Authorization: Bearer <token>`` from the auth server; a missing,
unknown, expired or revoked token gets 401 with a google.rpc.Status body
``{"code": 16, "message": ..., "details": []}``. Tokens are opaque random strings with an
expiry; ``revoke_tokens()`` lets a test expire them early.

Run standalone:  python -m tests.standins.redpanda_cloud --client-id id --client-secret secret
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import secrets
import threading
import time

from tests.standins._server import JsonServer, Request, Response

AUDIENCE = "cloudv2-production.redpanda.cloud"
MECHANISMS = ("SASL_MECHANISM_SCRAM_SHA_256", "SASL_MECHANISM_SCRAM_SHA_512")
# google.rpc.Code values the gateway puts in error bodies
INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, UNAUTHENTICATED = 3, 5, 6, 16


def _status(http: int, code: int, message: str) -> Response:
    return Response(http, {"code": code, "message": message, "details": []})


class _Tokens:
    def __init__(self, ttl: float):
        self.ttl = ttl
        self.valid: dict[str, float] = {}
        self.lock = threading.Lock()

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.valid[token] = time.time() + self.ttl
        return token

    def check(self, req: Request) -> Response | None:
        header = req.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return _status(401, UNAUTHENTICATED, "missing bearer token")
        with self.lock:
            expiry = self.valid.get(header[7:])
        if expiry is None:
            return _status(401, UNAUTHENTICATED, "invalid bearer token")
        if expiry < time.time():
            return _status(401, UNAUTHENTICATED, "token is expired")
        return None


class _Auth(JsonServer):
    name = "redpanda-cloud-auth-standin"

    def __init__(self, clients: dict[str, str], tokens: _Tokens):
        super().__init__()
        self.clients, self.tokens = clients, tokens
        self.route("POST", "/oauth/token", self.token)

    def token(self, req: Request) -> Response:
        ctype = req.headers.get("content-type", "")
        doc = req.json() if ctype.startswith("application/json") else req.form()
        if doc.get("grant_type") != "client_credentials":
            return Response(
                400,
                {"error": "unsupported_grant_type", "error_description": "Unsupported grant type"},
            )
        client, secret = doc.get("client_id", ""), doc.get("client_secret", "")
        known = self.clients.get(client)
        if known is None or not hmac.compare_digest(known, secret):
            return Response(401, {"error": "access_denied", "error_description": "Unauthorized"})
        if doc.get("audience") != AUDIENCE:
            return Response(
                403,
                {
                    "error": "access_denied",
                    "error_description": "Service not enabled within domain",
                },
            )
        return Response(
            200,
            {
                "access_token": self.tokens.issue(),
                "token_type": "Bearer",
                "expires_in": int(self.tokens.ttl),
            },
        )


class _ControlPlane(JsonServer):
    name = "redpanda-cloud-controlplane-standin"

    def __init__(self, tokens: _Tokens):
        super().__init__()
        self.tokens = tokens
        self.clusters: dict[str, dict] = {}
        self.route("GET", "/v1/serverless/clusters/(?P<cid>[^/]+)", self.get_serverless)
        self.route("GET", "/v1/clusters/(?P<cid>[^/]+)", self.get_dedicated)

    def not_found(self, path: str) -> Response:
        return _status(404, NOT_FOUND, f"not found: {path}")

    def _get(self, req: Request, cid: str, kind: str, wrapper: str) -> Response:
        denied = self.tokens.check(req)
        if denied:
            return denied
        cluster = self.clusters.get(cid)
        if cluster is None or cluster["kind"] != kind:
            return _status(404, NOT_FOUND, f"cluster {cid} not found")
        return Response(200, {wrapper: cluster["body"]})

    def get_serverless(self, req: Request, cid: str) -> Response:
        return self._get(req, cid, "serverless", "serverless_cluster")

    def get_dedicated(self, req: Request, cid: str) -> Response:
        return self._get(req, cid, "dedicated", "cluster")


class _DataPlane(JsonServer):
    name = "redpanda-cloud-dataplane-standin"

    def __init__(self, tokens: _Tokens, max_page_size: int = 100):
        super().__init__()
        self.tokens = tokens
        self.max_page_size = max_page_size
        self.users: dict[str, tuple[str, bytes, bytes]] = {}  # name -> (mechanism, salt, key)
        self.route("GET", "/v1/users", self.list_users)
        self.route("POST", "/v1/users", self.create_user)
        self.route("PUT", "/v1/users/(?P<name>[^/]+)", self.update_user)
        self.route("DELETE", "/v1/users/(?P<name>[^/]+)", self.delete_user)

    def bad_request(self, message: str) -> Response:
        return _status(400, INVALID_ARGUMENT, message)

    def not_found(self, path: str) -> Response:
        return _status(404, NOT_FOUND, f"not found: {path}")

    @staticmethod
    def _derive(password: str, mechanism: str, salt: bytes) -> bytes:
        algo = "sha512" if mechanism.endswith("512") else "sha256"
        return hashlib.pbkdf2_hmac(algo, password.encode(), salt, 4096)

    def password_matches(self, name: str, password: str) -> bool:
        if name not in self.users:
            return False
        mech, salt, key = self.users[name]
        return hmac.compare_digest(key, self._derive(password, mech, salt))

    @staticmethod
    def _validate(doc, need_name: bool) -> Response | None:
        if not isinstance(doc, dict):
            return _status(400, INVALID_ARGUMENT, "request body must be a JSON object")
        if need_name and not (isinstance(doc.get("name"), str) and 1 <= len(doc["name"]) <= 128):
            return _status(
                400,
                INVALID_ARGUMENT,
                "validation error: name: value length must be between 1 and 128 characters",
            )
        password = doc.get("password")
        if not (isinstance(password, str) and 3 <= len(password) <= 128):
            return _status(
                400,
                INVALID_ARGUMENT,
                "validation error: password: value length must be between 3 and 128 characters",
            )
        if doc.get("mechanism") not in MECHANISMS:
            return _status(
                400,
                INVALID_ARGUMENT,
                "validation error: mechanism: value must be one "
                "of the defined enum values except "
                "SASL_MECHANISM_UNSPECIFIED",
            )
        return None

    def list_users(self, req: Request) -> Response:
        denied = self.tokens.check(req)
        if denied:
            return denied
        name = (req.query.get("filter.name") or [None])[0]
        size = int((req.query.get("page_size") or ["100"])[0])
        size = self.max_page_size if size == -1 else min(size, self.max_page_size)
        start = int((req.query.get("page_token") or ["0"])[0] or 0)
        with self.lock:
            names = sorted(n for n in self.users if name is None or n == name)
            page = names[start : start + size]
            users = [{"name": n, "mechanism": self.users[n][0]} for n in page]
        token = str(start + size) if start + size < len(names) else ""
        return Response(200, {"users": users, "next_page_token": token})

    def create_user(self, req: Request) -> Response:
        denied = self.tokens.check(req)
        if denied:
            return denied
        doc = req.json()
        invalid = self._validate(doc, need_name=True)
        if invalid:
            return invalid
        with self.lock:
            if doc["name"] in self.users:
                return _status(409, ALREADY_EXISTS, f"user {doc['name']} already exists")
            salt = os.urandom(16)
            self.users[doc["name"]] = (
                doc["mechanism"],
                salt,
                self._derive(doc["password"], doc["mechanism"], salt),
            )
        return Response(201, {"user": {"name": doc["name"], "mechanism": doc["mechanism"]}})

    def update_user(self, req: Request, name: str) -> Response:
        denied = self.tokens.check(req)
        if denied:
            return denied
        doc = req.json()
        invalid = self._validate(doc, need_name=False)
        if invalid:
            return invalid
        with self.lock:
            if name not in self.users:
                return _status(404, NOT_FOUND, f"user {name} not found")
            salt = os.urandom(16)
            self.users[name] = (
                doc["mechanism"],
                salt,
                self._derive(doc["password"], doc["mechanism"], salt),
            )
        return Response(200, {"user": {"name": name, "mechanism": doc["mechanism"]}})

    def delete_user(self, req: Request, name: str) -> Response:
        denied = self.tokens.check(req)
        if denied:
            return denied
        with self.lock:
            if self.users.pop(name, None) is None:
                return _status(404, NOT_FOUND, f"user {name} not found")
        return Response(204)


class RedpandaCloudStandin:
    """The three stand-in servers with one cluster registered under `cluster_id`."""

    def __init__(
        self,
        client_id: str = "standin-client",
        client_secret: str = "standin-secret",  # noqa: S107 - a stand-in's default
        cluster_id: str = "standin-cluster",
        kind: str = "serverless",
        token_ttl: float = 3600,
        max_page_size: int = 100,
    ):
        self.client_id, self.client_secret, self.cluster_id = client_id, client_secret, cluster_id
        self.tokens = _Tokens(token_ttl)
        self.auth = _Auth({client_id: client_secret}, self.tokens)
        self.control = _ControlPlane(self.tokens)
        self.data = _DataPlane(self.tokens, max_page_size)
        self.kind = kind

    def start(self) -> RedpandaCloudStandin:
        for server in (self.auth, self.control, self.data):
            server.start()
        self.control.clusters[self.cluster_id] = {
            "kind": self.kind,
            "body": {
                "id": self.cluster_id,
                "name": "hackathon-todo",
                "state": "STATE_READY",
                "dataplane_api": {"url": self.data.url},
                "kafka_api": {"seed_brokers": ["127.0.0.1:9092"]},
            },
        }
        return self

    def stop(self) -> None:
        for server in (self.auth, self.control, self.data):
            server.stop()

    @property
    def auth_url(self) -> str:
        return self.auth.url + "/oauth/token"

    def revoke_tokens(self) -> None:
        with self.tokens.lock:
            self.tokens.valid.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client-id", default="standin-client")
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--cluster-id", default="standin-cluster")
    args = parser.parse_args()
    cloud = RedpandaCloudStandin(args.client_id, args.client_secret, args.cluster_id).start()
    print(
        f"auth: {cloud.auth_url}\ncontrol plane: {cloud.control.url}\ndata plane: {cloud.data.url}",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        cloud.stop()


if __name__ == "__main__":
    main()
