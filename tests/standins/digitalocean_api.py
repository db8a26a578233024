"""A STAND-IN for the DigitalOcean API v2 — not DigitalOcean, and not complete.

A small real HTTP server on 127.0.0.1 (random port) that keeps state in memory and answers the
endpoints the collection's DigitalOcean modules use, with the request and response shapes of the
published API reference (github.com/digitalocean/openapi, specification/resources/kubernetes and
specification/resources/domains):

* ``GET /v2/account`` (token check)
* ``GET /v2/kubernetes/options``
* ``GET|POST /v2/kubernetes/clusters``; ``GET|PUT|DELETE /v2/kubernetes/clusters/{id}``
* ``GET /v2/kubernetes/clusters/{id}/kubeconfig`` (YAML; the content can be injected)
* ``GET|POST .../node_pools``; ``GET|PUT|DELETE .../node_pools/{pool_id}``
* ``POST /v2/kubernetes/clusters/{id}/upgrade``
* ``GET|POST /v2/domains/{domain}/records`` (pagination, ``name`` and ``type`` filters);
  ``GET|PUT|DELETE /v2/domains/{domain}/records/{id}``

Behaviour tests rely on:

* ``Authorization: Bearer <token>``; an unknown token gets ``401`` with the API's error body
  (``{"id": "unauthorized", "message": ...}``); a read-only token gets ``403`` on writes.
* A new cluster (or node pool, or an upgrade) is ``provisioning`` (``upgrading``) and becomes
  ``running`` after ``provisioning_delay`` seconds.
* Every request is logged (method, path, query, status) so tests can count requests and check
  that check mode sent only GETs.
* ``fail_next()`` injects faults: the next N matching requests get 429 (with ``Retry-After`` or
  ``RateLimit-Reset``) or a 5xx, to prove retries.
* Validation answers 422 with ``{"id": "unprocessable_entity", "message": ...}``; the message
  texts are the stand-in's own (the real API's wording is not published).

Use the ``do_api`` pytest fixture, or run ``python -m tests.standins.digitalocean_api`` to serve
one from the command line (it prints the URL and token as JSON).
"""

from __future__ import annotations

import argparse
import base64
import copy
import dataclasses
import datetime
import itertools
import json
import re
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

DEFAULT_TOKEN = "dop_v1_standin_0123456789abcdef0123456789abcdef"
REGIONS = [
    ("nyc1", "New York 1"),
    ("nyc3", "New York 3"),
    ("sfo3", "San Francisco 3"),
    ("ams3", "Amsterdam 3"),
    ("fra1", "Frankfurt 1"),
    ("lon1", "London 1"),
    ("sgp1", "Singapore 1"),
    ("tor1", "Toronto 1"),
]
# Example slugs for the stand-in (the real list changes every few weeks).
VERSIONS = ["1.36.1-do.0", "1.35.5-do.1", "1.35.4-do.0", "1.34.8-do.0"]
SIZES = ["s-1vcpu-2gb", "s-2vcpu-2gb", "s-2vcpu-4gb", "s-4vcpu-8gb", "s-8vcpu-16gb"]
DAYS = ["any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
RECORD_TYPES = ["A", "AAAA", "CAA", "CNAME", "MX", "NS", "SOA", "SRV", "TXT"]
TAG_RE = re.compile(r"^[a-zA-Z0-9_:\-]+$")  # DigitalOcean: letters, numbers, colons, dashes, _


def _now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _version_key(slug: str):
    return tuple(int(x) for x in re.findall(r"\d+", slug))


class ApiError(Exception):
    def __init__(self, status: int, error_id: str, message: str):
        super().__init__(message)
        self.status, self.error_id, self.message = status, error_id, message


def _unprocessable(message: str) -> ApiError:
    return ApiError(422, "unprocessable_entity", message)


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "The resource you were accessing could not be found.")


@dataclasses.dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict
    status: int


@dataclasses.dataclass
class Fault:
    status: int
    remaining: int
    headers: dict
    method: str | None
    path: re.Pattern | None


class DigitalOceanAPIStandIn:
    """State, request log, fault injection and the HTTP server of the stand-in."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        provisioning_delay: float = 0.3,
        kubeconfig=None,
        versions=None,
    ):
        self.tokens = {token: "full"}
        self.token = token
        self.provisioning_delay = provisioning_delay
        # None: a kubeconfig like the API's, with a new token per request (as DigitalOcean
        # issues); a str: returned as is (e.g. one for the local test bed); a callable(cluster).
        self.kubeconfig = kubeconfig
        self.versions = list(versions or VERSIONS)
        self.clusters: dict[str, dict] = {}
        self.domains: dict[str, dict[int, dict]] = {}
        self.requests: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self._record_ids = itertools.count(28448429)
        self._httpd = None
        self._thread = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> DigitalOceanAPIStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):  # keep test output clean
                pass

            def _handle(self):
                standin._serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(5)
            self._httpd = None

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """What the modules take as ``api_url``."""
        return self.base + "/v2"

    # -- test helpers: state -----------------------------------------------------------------

    def add_token(self, token: str, access: str = "full") -> None:
        """access: 'full' or 'read' (a custom token with read scopes only: writes get 403)."""
        self.tokens[token] = access

    def add_domain(self, name: str) -> None:
        with self.lock:
            self.domains[name] = {}
            for ns in ("ns1", "ns2", "ns3"):
                self._new_record(
                    name, {"type": "NS", "name": "@", "data": f"{ns}.digitalocean.com"}
                )
            self._new_record(name, {"type": "SOA", "name": "@", "data": "1800"})

    def add_record(self, domain: str, type: str, name: str, data: str, ttl: int = 1800) -> dict:
        with self.lock:
            return copy.deepcopy(
                self._new_record(domain, {"type": type, "name": name, "data": data, "ttl": ttl})
            )

    def records(self, domain: str, type: str | None = None, name: str | None = None) -> list:
        with self.lock:
            return [
                copy.deepcopy(r)
                for r in self.domains[domain].values()
                if (type is None or r["type"] == type) and (name is None or r["name"] == name)
            ]

    def add_cluster(self, name: str, node_pools: list, running: bool = True, **fields) -> dict:
        """Seed a cluster as if it had been created earlier (running unless told otherwise)."""
        body = {"name": name, "region": "nyc1", "version": self.versions[0], **fields}
        body["node_pools"] = node_pools
        with self.lock:
            cluster = self._create_cluster(body)
            if running:
                self._make_ready(cluster)
            return self._render(cluster)

    def cluster(self, name: str) -> dict:
        with self.lock:
            return self._render(self._cluster_by_name(name))

    def edit_node_pool(self, cluster_name: str, pool_name: str, **fields) -> None:
        """Change a pool behind the modules' back, as someone in the control panel would."""
        with self.lock:
            cluster = self._cluster_by_name(cluster_name)
            pool = next(p for p in cluster["node_pools"] if p["name"] == pool_name)
            if "tags" in fields:
                fields["tags"] = self._pool_tags(cluster, fields["tags"])
            pool.update(fields)
            if not pool["auto_scale"]:  # the API reports 0 for both without auto-scaling
                pool["min_nodes"] = pool["max_nodes"] = 0
            self._resize_nodes(pool, ready=True)

    def add_node_pool(self, cluster_name: str, spec: dict, running: bool = True) -> dict:
        """Add a pool behind the modules' back (for example one made in the control panel)."""
        with self.lock:
            cluster = self._cluster_by_name(cluster_name)
            self._check_pool(spec, creating=True)
            pool = self._new_pool(cluster, spec)
            if running:
                for node in pool["nodes"]:
                    node["_ready_at"] = 0.0
            cluster["node_pools"].append(pool)
            return self._render_pool(cluster, pool["id"])

    def kubeconfig_text(self, cluster_name: str) -> str:
        """What GET .../kubeconfig answers for that cluster now."""
        with self.lock:
            return self._get_kubeconfig(self._cluster_by_name(cluster_name)["id"])[1]

    def set_cluster(self, cluster_name: str, **fields) -> None:
        with self.lock:
            self._cluster_by_name(cluster_name).update(fields)

    # -- test helpers: log and faults --------------------------------------------------------

    def fail_next(
        self,
        status: int,
        count: int = 1,
        retry_after: float | None = None,
        ratelimit_reset: float | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next ``count`` requests (matching method / path regex) get ``status``."""
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        if ratelimit_reset is not None:
            headers["RateLimit-Remaining"] = "0"
            headers["RateLimit-Reset"] = str(int(ratelimit_reset))
        with self.lock:
            self.faults.append(
                Fault(status, count, headers, method, re.compile(path) if path else None)
            )

    def clear_log(self) -> None:
        with self.lock:
            self.requests.clear()

    def calls(self, method: str | None = None) -> list[tuple[str, str]]:
        with self.lock:
            return [(r.method, r.path) for r in self.requests if method in (None, r.method)]

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls() if c[0] != "GET"]

    # -- HTTP --------------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        path = parts.path.rstrip("/") or "/"
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        method = handler.command
        status, body, headers, content_type = 500, None, {}, "application/json; charset=utf-8"
        try:
            fault = self._take_fault(method, path)
            if fault is not None:
                headers = dict(fault.headers)
                error_id = "too_many_requests" if fault.status == 429 else "server_error"
                message = (
                    "API Rate limit exceeded."
                    if fault.status == 429
                    else "Server Error (injected by the stand-in)"
                )
                raise ApiError(fault.status, error_id, message)
            self._authorize(handler, method)
            try:
                payload = json.loads(raw) if raw else None
            except ValueError as exc:
                raise ApiError(400, "bad_request", "The request body is not valid JSON.") from exc
            status, body = self._route(method, path, query, payload)
            if isinstance(body, str):
                content_type = "application/yaml"
        except ApiError as exc:
            status = exc.status
            body = {"id": exc.error_id, "message": exc.message, "request_id": str(uuid.uuid4())}
        with self.lock:
            self.requests.append(LoggedRequest(method, path, query, status))
        data = b""
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("RateLimit-Limit", "5000")
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        if data:
            handler.wfile.write(data)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.remaining <= 0:
                    continue
                if fault.method and fault.method != method:
                    continue
                if fault.path and not fault.path.search(path):
                    continue
                fault.remaining -= 1
                return fault
        return None

    def _authorize(self, handler, method: str) -> None:
        header = handler.headers.get("Authorization") or ""
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else None
        access = self.tokens.get(token)
        if access is None:
            raise ApiError(401, "unauthorized", "Unable to authenticate you.")
        if access == "read" and method != "GET":
            raise ApiError(403, "forbidden", "You do not have permission to perform this action.")

    def _route(self, method: str, path: str, query: dict, payload):
        routes = [
            ("GET", r"/v2/account", self._get_account),
            ("GET", r"/v2/kubernetes/options", self._get_options),
            ("GET", r"/v2/kubernetes/clusters", self._list_clusters),
            ("POST", r"/v2/kubernetes/clusters", self._post_cluster),
            ("GET", r"/v2/kubernetes/clusters/(?P<cid>[^/]+)", self._get_cluster),
            ("PUT", r"/v2/kubernetes/clusters/(?P<cid>[^/]+)", self._put_cluster),
            ("DELETE", r"/v2/kubernetes/clusters/(?P<cid>[^/]+)", self._delete_cluster),
            ("GET", r"/v2/kubernetes/clusters/(?P<cid>[^/]+)/kubeconfig", self._get_kubeconfig),
            ("POST", r"/v2/kubernetes/clusters/(?P<cid>[^/]+)/upgrade", self._post_upgrade),
            ("GET", r"/v2/kubernetes/clusters/(?P<cid>[^/]+)/node_pools", self._list_pools),
            ("POST", r"/v2/kubernetes/clusters/(?P<cid>[^/]+)/node_pools", self._post_pool),
            (
                "GET",
                r"/v2/kubernetes/clusters/(?P<cid>[^/]+)/node_pools/(?P<pid>[^/]+)",
                self._get_pool,
            ),
            (
                "PUT",
                r"/v2/kubernetes/clusters/(?P<cid>[^/]+)/node_pools/(?P<pid>[^/]+)",
                self._put_pool,
            ),
            (
                "DELETE",
                r"/v2/kubernetes/clusters/(?P<cid>[^/]+)/node_pools/(?P<pid>[^/]+)",
                self._delete_pool,
            ),
            ("GET", r"/v2/domains/(?P<domain>[^/]+)/records", self._list_records),
            ("POST", r"/v2/domains/(?P<domain>[^/]+)/records", self._post_record),
            ("GET", r"/v2/domains/(?P<domain>[^/]+)/records/(?P<rid>\d+)", self._get_record),
            ("PUT", r"/v2/domains/(?P<domain>[^/]+)/records/(?P<rid>\d+)", self._put_record),
            ("DELETE", r"/v2/domains/(?P<domain>[^/]+)/records/(?P<rid>\d+)", self._delete_record),
        ]
        path_known = False
        for route_method, pattern, func in routes:
            match = re.fullmatch(pattern, path)
            if not match:
                continue
            path_known = True
            if route_method == method:
                with self.lock:
                    return func(query=query, payload=payload, **match.groupdict())
        if path_known:
            raise ApiError(405, "method_not_allowed", f"{method} is not allowed on {path}.")
        raise _not_found()

    # -- pagination --------------------------------------------------------------------------

    def _page(self, path: str, query: dict, key: str, items: list) -> dict:
        per_page = max(1, min(200, int(query.get("per_page") or 20)))
        page = max(1, int(query.get("page") or 1))
        last = max(1, -(-len(items) // per_page))
        out = {key: items[(page - 1) * per_page : page * per_page]}

        def link(number):
            return f"{self.api_url}{path[3:]}?" + urlencode({**query, "page": number})

        pages = {}
        if page > 1:
            pages.update(first=link(1), prev=link(page - 1))
        if page < last:
            pages.update(next=link(page + 1), last=link(last))
        out["links"] = {"pages": pages} if pages else {}
        out["meta"] = {"total": len(items)}
        return out

    # -- account and options -----------------------------------------------------------------

    def _get_account(self, **_):
        return 200, {
            "account": {
                "droplet_limit": 25,
                "floating_ip_limit": 5,
                "email": "standin@example.com",
                "name": "Stand-in",
                "uuid": "b6fr89dbf6d9156cace5f3c78dc9851d957381ef",
                "email_verified": True,
                "status": "active",
                "status_message": " ",
            }
        }

    def _get_options(self, **_):
        return 200, {
            "options": {
                "regions": [{"name": n, "slug": s} for s, n in REGIONS],
                "versions": [
                    {
                        "slug": v,
                        "kubernetes_version": v.split("-", maxsplit=1)[0],
                        "supported_features": [
                            "cluster-autoscaler",
                            "docr-integration",
                            "ha-control-plane",
                            "token-authentication",
                        ],
                    }
                    for v in self.versions
                ],
                "sizes": [{"name": s, "slug": s} for s in SIZES],
            }
        }

    # -- clusters ----------------------------------------------------------------------------

    def _cluster_by_name(self, name: str) -> dict:
        for cluster in self.clusters.values():
            if cluster["name"] == name:
                return cluster
        raise KeyError(name)

    def _cluster(self, cid: str) -> dict:
        if cid not in self.clusters:
            raise _not_found()
        return self.clusters[cid]

    def _resolve_version(self, version) -> str:
        if version == "latest":
            return max(self.versions, key=_version_key)
        if version in self.versions:
            return version
        line = [v for v in self.versions if v.split("-", maxsplit=1)[0].startswith(f"{version}.")]
        if isinstance(version, str) and re.fullmatch(r"\d+\.\d+(\.\d+)?", version) and line:
            return max(line, key=_version_key)
        raise _unprocessable(f"version {version!r} is not a valid Kubernetes version slug")

    def _check_pool(self, spec: dict, creating: bool) -> None:
        if not spec.get("name"):
            raise _unprocessable("node pool name is required")
        if creating and spec.get("size") not in SIZES:
            raise _unprocessable(f"node pool size {spec.get('size')!r} is not valid")
        if spec.get("count") is None or int(spec["count"]) < 0:
            raise _unprocessable("node pool count is required")
        if spec.get("auto_scale"):
            lo, hi = spec.get("min_nodes"), spec.get("max_nodes")
            if lo is None or hi is None or lo > hi or hi < 1:
                raise _unprocessable("min_nodes and max_nodes must satisfy 0 <= min <= max")
            if not lo <= int(spec["count"]) <= hi:
                raise _unprocessable("count must be between min_nodes and max_nodes")
        elif int(spec["count"]) < 1:
            raise _unprocessable("a node pool without auto-scaling needs at least one node")
        self._check_tags(spec.get("tags"))
        for taint in spec.get("taints") or []:
            if taint.get("effect") not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
                raise _unprocessable(f"taint effect {taint.get('effect')!r} is not valid")

    def _check_tags(self, tags) -> None:
        for tag in tags or []:
            if not TAG_RE.match(tag):
                raise _unprocessable(
                    f"tag {tag!r} is invalid: tags may contain letters, numbers, colons, dashes "
                    "and underscores"
                )

    def _pool_tags(self, cluster: dict, tags) -> list:
        auto = ["k8s", f"k8s:{cluster['id']}", "k8s:worker"]
        return [t for t in (tags or []) if t not in auto] + auto

    def _resize_nodes(self, pool: dict, ready: bool = False) -> None:
        nodes = pool.setdefault("nodes", [])
        ready_at = 0.0 if ready else time.monotonic() + self.provisioning_delay
        while len(nodes) < int(pool["count"]):
            nodes.append(
                {
                    "id": str(uuid.uuid4()),
                    "name": f"{pool['name']}-{secrets.token_hex(2)}",
                    "status": {"state": "provisioning"},
                    "droplet_id": str(205545370 + secrets.randbelow(10**6)),
                    "created_at": _now_iso(),
                    "updated_at": _now_iso(),
                    "_ready_at": ready_at,
                }
            )
        del nodes[int(pool["count"]) :]

    def _new_pool(self, cluster: dict, spec: dict) -> dict:
        auto = bool(spec.get("auto_scale"))
        pool = {
            "id": str(uuid.uuid4()),
            "name": spec["name"],
            "size": spec["size"],
            "count": int(spec["count"]),
            "tags": self._pool_tags(cluster, spec.get("tags")),
            "labels": spec.get("labels"),
            "taints": list(spec.get("taints") or []),
            "auto_scale": auto,
            "min_nodes": int(spec.get("min_nodes") or 0) if auto else 0,
            "max_nodes": int(spec.get("max_nodes") or 0) if auto else 0,
            "nodes": [],
        }
        self._resize_nodes(pool)
        return pool

    def _create_cluster(self, body: dict) -> dict:
        if not isinstance(body, dict) or not body.get("name"):
            raise _unprocessable("name is required")
        if any(c["name"] == body["name"] for c in self.clusters.values()):
            raise _unprocessable(f"a cluster named {body['name']} already exists")
        if body.get("region") not in [slug for slug, _name in REGIONS]:
            raise _unprocessable(f"region {body.get('region')!r} is not valid")
        version = self._resolve_version(body.get("version"))
        pools = body.get("node_pools") or []
        if not pools:
            raise _unprocessable("at least one node pool is required")
        for spec in pools:
            self._check_pool(spec, creating=True)
        self._check_tags(body.get("tags"))
        policy = body.get("maintenance_policy") or {}
        if policy.get("day") not in (None, *DAYS):
            raise _unprocessable(f"maintenance_policy.day {policy.get('day')!r} is not valid")
        cid = str(uuid.uuid4())
        cluster = {
            "id": cid,
            "name": body["name"],
            "region": body["region"],
            "version": version,
            "cluster_subnet": "10.244.0.0/16",
            "service_subnet": "10.245.0.0/16",
            "vpc_uuid": body.get("vpc_uuid") or str(uuid.uuid4()),
            "ipv4": "",
            "endpoint": "",
            "tags": [],
            "node_pools": [],
            "maintenance_policy": {
                "start_time": policy.get("start_time") or "00:00",
                "duration": "4h0m0s",
                "day": policy.get("day") or "any",
            },
            "auto_upgrade": bool(body.get("auto_upgrade", False)),
            "surge_upgrade": bool(body.get("surge_upgrade", False)),
            "ha": bool(body.get("ha", _version_key(version) >= (1, 36))),
            "registry_enabled": False,
            "status": {"state": "provisioning", "message": "provisioning"},
            "created_at": _now_iso(),
            "updated_at": _now_iso(),
            "_ready_at": time.monotonic() + self.provisioning_delay,
            "_busy_state": "provisioning",
        }
        cluster["tags"] = [*(body.get("tags") or []), "k8s", f"k8s:{cid}"]
        cluster["node_pools"] = [self._new_pool(cluster, spec) for spec in pools]
        self.clusters[cid] = cluster
        return cluster

    def _make_ready(self, cluster: dict) -> None:
        cluster["_ready_at"] = 0.0
        for pool in cluster["node_pools"]:
            for node in pool["nodes"]:
                node["_ready_at"] = 0.0

    def _render(self, cluster: dict) -> dict:
        now = time.monotonic()
        out = copy.deepcopy(cluster)
        if now >= cluster["_ready_at"]:
            out["status"] = {"state": "running", "message": "Cluster is running"}
            out["endpoint"] = f"https://{cluster['id']}.k8s.ondigitalocean.com"
            out["ipv4"] = "" if cluster["ha"] else "203.0.113.20"
        else:
            state = cluster["_busy_state"]
            out["status"] = {"state": state, "message": state}
            if state == "upgrading":
                out["endpoint"] = f"https://{cluster['id']}.k8s.ondigitalocean.com"
        for pool in out["node_pools"]:
            for node in pool["nodes"]:
                ready = now >= node["_ready_at"]
                node["status"] = {"state": "running" if ready else "provisioning"}
        return _public(out)

    def _list_clusters(self, query, **_):
        items = [self._render(c) for c in self.clusters.values()]
        return 200, self._page("/v2/kubernetes/clusters", query, "kubernetes_clusters", items)

    def _post_cluster(self, payload, **_):
        cluster = self._create_cluster(payload)
        return 201, {"kubernetes_cluster": self._render(cluster)}

    def _get_cluster(self, cid, **_):
        return 200, {"kubernetes_cluster": self._render(self._cluster(cid))}

    def _put_cluster(self, cid, payload, **_):
        cluster = self._cluster(cid)
        payload = payload or {}
        if not payload.get("name"):
            raise _unprocessable("name is required")
        self._check_tags(payload.get("tags"))
        if "ha" in payload and cluster["ha"] and not payload["ha"]:
            raise _unprocessable("high availability cannot be disabled once enabled")
        policy = payload.get("maintenance_policy")
        if policy is not None and policy.get("day") not in (None, *DAYS):
            raise _unprocessable(f"maintenance_policy.day {policy.get('day')!r} is not valid")
        cluster["name"] = payload["name"]
        for field in ("auto_upgrade", "surge_upgrade", "ha"):
            if field in payload:
                cluster[field] = bool(payload[field])
        if policy is not None:
            cluster["maintenance_policy"].update(
                {k: v for k, v in policy.items() if k in ("start_time", "day") and v is not None}
            )
        if "tags" in payload:
            cluster["tags"] = [*(payload["tags"] or []), "k8s", f"k8s:{cid}"]
        cluster["updated_at"] = _now_iso()
        return 202, {"kubernetes_cluster": self._render(cluster)}

    def _delete_cluster(self, cid, **_):
        self._cluster(cid)
        del self.clusters[cid]
        return 204, None

    def _post_upgrade(self, cid, payload, **_):
        cluster = self._cluster(cid)
        version = (payload or {}).get("version")
        if version not in self.versions:
            raise _unprocessable(f"version {version!r} is not a valid Kubernetes version slug")
        if _version_key(version) <= _version_key(cluster["version"]):
            raise _unprocessable(f"cannot upgrade from {cluster['version']} to {version}")
        cluster["version"] = version
        cluster["_ready_at"] = time.monotonic() + self.provisioning_delay
        cluster["_busy_state"] = "upgrading"
        return 202, None

    def _get_kubeconfig(self, cid, **_):
        cluster = self._render(self._cluster(cid))
        if callable(self.kubeconfig):
            return 200, self.kubeconfig(cluster)
        if isinstance(self.kubeconfig, str):
            return 200, self.kubeconfig
        name = f"do-{cluster['region']}-{cluster['name']}"
        ca = base64.b64encode(f"stand-in CA for {cluster['id']}".encode()).decode()
        return 200, (
            "apiVersion: v1\n"
            "clusters:\n"
            "- cluster:\n"
            f"    certificate-authority-data: {ca}\n"
            f"    server: {cluster['endpoint']}\n"
            f"  name: {name}\n"
            "contexts:\n"
            "- context:\n"
            f"    cluster: {name}\n"
            f"    user: {name}-admin\n"
            f"  name: {name}\n"
            f"current-context: {name}\n"
            "kind: Config\n"
            "preferences: {}\n"
            "users:\n"
            f"- name: {name}-admin\n"
            "  user:\n"
            f"    token: {secrets.token_hex(32)}\n"
        )

    # -- node pools --------------------------------------------------------------------------

    def _pool(self, cluster: dict, pid: str) -> dict:
        for pool in cluster["node_pools"]:
            if pool["id"] == pid:
                return pool
        raise _not_found()

    def _render_pool(self, cluster: dict, pid: str) -> dict:
        rendered = self._render(cluster)
        return next(p for p in rendered["node_pools"] if p["id"] == pid)

    def _list_pools(self, cid, **_):
        return 200, {"node_pools": self._render(self._cluster(cid))["node_pools"]}

    def _post_pool(self, cid, payload, **_):
        cluster = self._cluster(cid)
        spec = payload or {}
        self._check_pool(spec, creating=True)
        if any(p["name"] == spec["name"] for p in cluster["node_pools"]):
            raise _unprocessable(f"a node pool named {spec['name']} already exists")
        pool = self._new_pool(cluster, spec)
        cluster["node_pools"].append(pool)
        return 201, {"node_pool": self._render_pool(cluster, pool["id"])}

    def _get_pool(self, cid, pid, **_):
        cluster = self._cluster(cid)
        self._pool(cluster, pid)
        return 200, {"node_pool": self._render_pool(cluster, pid)}

    def _put_pool(self, cid, pid, payload, **_):
        cluster = self._cluster(cid)
        pool = self._pool(cluster, pid)
        spec = payload or {}
        self._check_pool(spec, creating=False)  # name and count are required by the API
        auto = bool(spec.get("auto_scale", pool["auto_scale"]))
        pool.update(
            name=spec["name"],
            count=int(spec["count"]),
            auto_scale=auto,
            min_nodes=int(spec.get("min_nodes") or 0) if auto else 0,
            max_nodes=int(spec.get("max_nodes") or 0) if auto else 0,
        )
        if "tags" in spec:
            pool["tags"] = self._pool_tags(cluster, spec["tags"])
        if "labels" in spec:
            pool["labels"] = spec["labels"]
        if "taints" in spec:
            pool["taints"] = list(spec["taints"] or [])
        self._resize_nodes(pool)
        return 202, {"node_pool": self._render_pool(cluster, pid)}

    def _delete_pool(self, cid, pid, **_):
        cluster = self._cluster(cid)
        pool = self._pool(cluster, pid)
        cluster["node_pools"].remove(pool)
        return 204, None

    # -- domain records ----------------------------------------------------------------------

    def _domain(self, domain: str) -> dict:
        if domain not in self.domains:
            raise _not_found()
        return self.domains[domain]

    def _new_record(self, domain: str, spec: dict) -> dict:
        rtype = spec.get("type")
        if rtype not in RECORD_TYPES:
            raise _unprocessable(f"type {rtype!r} is not a valid record type")
        if not spec.get("name") or spec.get("data") in (None, ""):
            raise _unprocessable("name and data are required for this record type")
        ttl = spec.get("ttl", 1800)
        if ttl is not None and int(ttl) < 30:
            raise _unprocessable("ttl must be at least 30")
        record = {
            "id": next(self._record_ids),
            "type": rtype,
            "name": spec["name"],
            "data": spec["data"],
            "priority": spec.get("priority"),
            "port": spec.get("port"),
            "ttl": int(ttl if ttl is not None else 1800),
            "weight": spec.get("weight"),
            "flags": spec.get("flags"),
            "tag": spec.get("tag"),
        }
        self._domain(domain)[record["id"]] = record
        return record

    def _list_records(self, domain, query, **_):
        records = list(self._domain(domain).values())
        if query.get("type"):
            records = [r for r in records if r["type"] == query["type"]]
        if query.get("name"):  # a fully qualified name, as the API documents
            fqdn = query["name"].rstrip(".")
            records = [
                r
                for r in records
                if (domain if r["name"] == "@" else f"{r['name']}.{domain}") == fqdn
            ]
        return 200, self._page(
            f"/v2/domains/{domain}/records", query, "domain_records", copy.deepcopy(records)
        )

    def _post_record(self, domain, payload, **_):
        self._domain(domain)
        return 201, {"domain_record": copy.deepcopy(self._new_record(domain, payload or {}))}

    def _get_record(self, domain, rid, **_):
        record = self._domain(domain).get(int(rid))
        if record is None:
            raise _not_found()
        return 200, {"domain_record": copy.deepcopy(record)}

    def _put_record(self, domain, rid, payload, **_):
        record = self._domain(domain).get(int(rid))
        if record is None:
            raise _not_found()
        spec = payload or {}
        if "ttl" in spec and spec["ttl"] is not None and int(spec["ttl"]) < 30:
            raise _unprocessable("ttl must be at least 30")
        for field in ("name", "data", "ttl", "priority", "port", "weight", "flags", "tag"):
            if field in spec:
                record[field] = spec[field]
        return 200, {"domain_record": copy.deepcopy(record)}

    def _delete_record(self, domain, rid, **_):
        if self._domain(domain).pop(int(rid), None) is None:
            raise _not_found()
        return 204, None


def _public(value):
    """Drop the stand-in's private bookkeeping keys (those starting with _)."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


@pytest.fixture
def do_api():
    """A fresh DigitalOcean API stand-in per test; ``do_api.api_url`` and ``do_api.token``."""
    api = DigitalOceanAPIStandIn().start()
    try:
        yield api
    finally:
        api.stop()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--delay", type=float, default=0.3, help="provisioning delay, seconds")
    parser.add_argument("--kubeconfig", help="file whose content every kubeconfig request returns")
    parser.add_argument("--domain", action="append", default=[], help="domain to host (repeat)")
    args = parser.parse_args(argv)
    kubeconfig = None
    if args.kubeconfig:
        with open(args.kubeconfig, encoding="utf-8") as handle:
            kubeconfig = handle.read()
    api = DigitalOceanAPIStandIn(args.token, args.delay, kubeconfig).start()
    for domain in args.domain:
        api.add_domain(domain)
    print(json.dumps({"api_url": api.api_url, "token": api.token}), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        api.stop()


if __name__ == "__main__":
    main()
