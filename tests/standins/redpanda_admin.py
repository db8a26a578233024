"""STAND-IN for the user endpoints of the self-hosted Redpanda Admin API (not Redpanda).

Follows the published endpoints (docs.redpanda.com/api/doc/admin, `security.json` and the
admin server's security handlers in redpanda-data/redpanda):

  GET    /v1/security/users            -> ["name", ...]            (names only)
  POST   /v1/security/users            {"username", "password", "algorithm"} -> 200, empty body
  PUT    /v1/security/users/{user}     {"password", "algorithm"} -> 200, empty body
  DELETE /v1/security/users/{user}     -> 200, empty body (also when the user is already gone)

Every route needs HTTP Basic auth of a super user (as with `admin_api_require_auth: true`);
otherwise 401 `{"message": ..., "code": 401}`; a known non-super user gets 403. Errors are
`{"message": ..., "code": <status>}` like seastar's http exceptions. Like Redpanda, it keeps ONE
SCRAM credential per user (a salted PBKDF2 hash, never the password) and treats a POST that
repeats an existing user's credential as a no-op.

Run standalone:  python -m tests.standins.redpanda_admin --port 9644 --user admin --password pw
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import re
import time

from tests.standins._server import JsonServer, Request, Response

ALGORITHMS = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
USERNAME_RE = re.compile(r"^[^\s,=]+$")  # Redpanda's validate_scram_username: no ',' or '='


class RedpandaAdminStandin(JsonServer):
    name = "redpanda-admin-standin"

    def __init__(self, superuser: str = "admin", password: str = "admin-secret"):  # noqa: S107
        super().__init__()
        self.superusers = {superuser}
        # name -> (algorithm, salt, derived key); the super user exists like a bootstrap user
        self.users: dict[str, tuple[str, bytes, bytes]] = {}
        self._store(superuser, password, "SCRAM-SHA-256")
        self.route("GET", "/v1/security/users", self.list_users)
        self.route("POST", "/v1/security/users", self.create_user)
        self.route("PUT", "/v1/security/users/(?P<user>[^/]+)", self.update_user)
        self.route("DELETE", "/v1/security/users/(?P<user>[^/]+)", self.delete_user)

    # credentials ----------------------------------------------------------------------------

    def _derive(self, password: str, algorithm: str, salt: bytes) -> bytes:
        return hashlib.pbkdf2_hmac(ALGORITHMS[algorithm], password.encode(), salt, 4096)

    def _store(self, name: str, password: str, algorithm: str) -> None:
        salt = os.urandom(16)
        self.users[name] = (algorithm, salt, self._derive(password, algorithm, salt))

    def password_matches(self, name: str, password: str, algorithm: str | None = None) -> bool:
        """For tests: does `password` (and `algorithm`) match the stored credential?"""
        if name not in self.users:
            return False
        algo, salt, key = self.users[name]
        if algorithm and algorithm != algo:
            return False
        return hmac.compare_digest(key, self._derive(password, algo, salt))

    def mechanism(self, name: str) -> str | None:
        return self.users[name][0] if name in self.users else None

    # auth -----------------------------------------------------------------------------------

    def _auth(self, req: Request) -> Response | None:
        header = req.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return Response(401, {"message": "Unauthorized: missing credentials", "code": 401})
        try:
            user, _sep, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return Response(401, {"message": "Unauthorized: malformed credentials", "code": 401})
        if not self.password_matches(user, password):
            return Response(401, {"message": "Unauthorized: invalid credentials", "code": 401})
        if user not in self.superusers:
            return Response(403, {"message": f"Forbidden: {user} is not a superuser", "code": 403})
        return None

    @staticmethod
    def _credential(doc) -> tuple[str, str] | Response:
        if not isinstance(doc, dict):
            return Response(400, {"message": "Not an object", "code": 400})
        algorithm = doc.get("algorithm")
        if not isinstance(algorithm, str):
            return Response(400, {"message": "String algo missing", "code": 400})
        password = doc.get("password")
        if not isinstance(password, str):
            return Response(400, {"message": "String password is missing", "code": 400})
        if algorithm not in ALGORITHMS:
            return Response(400, {"message": f"Unknown scram algorithm: {algorithm}", "code": 400})
        return password, algorithm

    # routes ---------------------------------------------------------------------------------

    def list_users(self, req: Request) -> Response:
        denied = self._auth(req)
        if denied:
            return denied
        with self.lock:
            return Response(200, sorted(self.users))

    def create_user(self, req: Request) -> Response:
        denied = self._auth(req)
        if denied:
            return denied
        doc = req.json()
        cred = self._credential(doc)
        if isinstance(cred, Response):
            return cred
        name = doc.get("username")
        if not isinstance(name, str):
            return Response(400, {"message": "String username missing", "code": 400})
        if not USERNAME_RE.match(name):
            return Response(400, {"message": f"Invalid SCRAM username {{{name}}}", "code": 400})
        password, algorithm = cred
        with self.lock:
            if name in self.users:
                if self.password_matches(name, password, algorithm):
                    return Response(200)  # idempotent, as in Redpanda
                return Response(400, {"message": "User already exists", "code": 400})
            self._store(name, password, algorithm)
        return Response(200)

    def update_user(self, req: Request, user: str) -> Response:
        denied = self._auth(req)
        if denied:
            return denied
        cred = self._credential(req.json())
        if isinstance(cred, Response):
            return cred
        password, algorithm = cred
        with self.lock:
            if user not in self.users:
                return Response(404, {"message": f"User {user} does not exist", "code": 404})
            self._store(user, password, algorithm)
        return Response(200)

    def delete_user(self, req: Request, user: str) -> Response:
        denied = self._auth(req)
        if denied:
            return denied
        with self.lock:
            self.users.pop(user, None)  # deleting a missing user succeeds, as in Redpanda
        return Response(200)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9644)
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    server = RedpandaAdminStandin(args.user, args.password).start(args.port)
    print(f"Redpanda Admin API stand-in on {server.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
