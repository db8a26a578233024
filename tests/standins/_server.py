"""A threaded JSON HTTP server on 127.0.0.1 with a request log, shared by the stand-ins."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclasses.dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")

    def form(self) -> dict:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclasses.dataclass
class Response:
    status: int
    body: object = None  # JSON-serialisable, or None for an empty body
    headers: dict = dataclasses.field(default_factory=dict)


class JsonServer:
    """Routes (method, regex) -> handler(request, **groups) -> Response, on a free port."""

    name = "stand-in"

    def __init__(self):
        self.routes: list[tuple[str, re.Pattern, object]] = []
        self.log: list[tuple[str, str, int]] = []  # (method, path, status), no bodies
        self.lock = threading.Lock()
        self._httpd = None
        self._thread = None

    def route(self, method: str, pattern: str, handler) -> None:
        self.routes.append((method, re.compile("^" + pattern + "$"), handler))

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, port: int = 0) -> JsonServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):  # keep test output clean
                pass

            def _serve(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                resp = server.dispatch(req)
                payload = b"" if resp.body is None else json.dumps(resp.body).encode()
                with server.lock:
                    server.log.append((req.method, req.path, resp.status))
                self.send_response(resp.status)
                if payload:
                    self.send_header("Content-Type", "application/json")
                for key, value in resp.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":  # HEAD: the GET's headers, no body
                    self.wfile.write(payload)

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, daemon=True, name=self.name
        )
        self._thread.start()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def dispatch(self, req: Request) -> Response:
        allowed = False
        for method, pattern, handler in self.routes:
            match = pattern.match(req.path)
            if not match:
                continue
            allowed = True
            if method == req.method:
                try:
                    return handler(req, **match.groupdict())
                except (ValueError, KeyError, TypeError) as exc:
                    return self.bad_request(f"malformed request: {exc}")
        if allowed:
            return Response(405, {"message": "Method Not Allowed", "code": 405})
        return self.not_found(req.path)

    # subclasses shape their errors like the real API
    def bad_request(self, message: str) -> Response:
        return Response(400, {"message": message, "code": 400})

    def not_found(self, path: str) -> Response:
        return Response(404, {"message": f"Not found: {path}", "code": 404})

    def count(self, method: str | None = None, path_prefix: str = "") -> int:
        with self.lock:
            return sum(
                1
                for m, p, _s in self.log
                if (method is None or m == method) and p.startswith(path_prefix)
            )
