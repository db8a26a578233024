"""Helpers of the real-node tests (tests/integration/real_nodes): the pods and Service addresses
of a release, and a bounded request loop against them."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
import urllib.request

from tests.helm import ENVIRONMENTS
from tests.helm import SERVICES as _SERVICE_KEYS
from tests.testbed import STATE

SERVICES = tuple(_SERVICE_KEYS.values())
OWNER = "hackathon-todo"  # the image owner the stand-in images are pushed under
RELEASES = {env: release for env, (release, _ns, _args) in ENVIRONMENTS.items()}


def bed_registry_account() -> tuple[str, str]:
    """(username, password) of the bed registry's htpasswd account (random per bed)."""
    d = STATE / "nodes" / "registry"
    return (d / "username").read_text().strip(), (d / "password").read_text().strip()


def release_pods(kube_cluster, env, service=None):
    """The release's pods in `env` (one service's if named), terminating ones left out."""
    selector = f"app.kubernetes.io/instance={RELEASES[env]}"
    if service:
        selector += f",app.kubernetes.io/component={service}"
    out = kube_cluster.kubectl("-n", env, "get", "pods", "-l", selector, "-o", "json")
    return [
        p for p in json.loads(out.stdout)["items"] if not p["metadata"].get("deletionTimestamp")
    ]


def service_url(kube_cluster, env, service="backend", port=8000, path="/api/health"):
    """http://<ClusterIP>:<port><path> of a release's Service (the host routes the Service range
    into the bed's namespace)."""
    ip = kube_cluster.kubectl(
        "-n",
        env,
        "get",
        "service",
        f"{RELEASES[env]}-{service}",
        "-o",
        "jsonpath={.spec.clusterIP}",
    )
    return f"http://{ip.stdout.strip()}:{port}{path}"


def bed_env() -> dict[str, str]:
    """The addresses the real-node bed wrote (testbed/nodes.sh env)."""
    lines = (STATE / "nodes" / "env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def ingress_address(kube_cluster) -> str:
    """The load balancer address of Traefik's Service (the bed's DigitalOcean LB stand-in)."""
    out = kube_cluster.kubectl(
        "-n", "traefik", "get", "service", "traefik",
        "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}",
    )  # fmt: skip
    return out.stdout.strip()


def https_opener(host: str, address: str, cafile: str) -> urllib.request.OpenerDirector:
    """urllib, as a browser on the internet would reach https://<host>: TLS with SNI and name
    checks for `host`, trusting only `cafile`, its TCP connection to `address` (the name is the
    bed's; the host machine's resolver does not know it)."""
    context = ssl.create_default_context(cafile=cafile)

    class Connection(http.client.HTTPSConnection):
        def connect(self):
            sock = socket.create_connection((address, self.port or 443), self.timeout)
            self.sock = context.wrap_socket(sock, server_hostname=host)

    class Handler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(Connection, req)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *_args):
            return None

    return urllib.request.build_opener(Handler(context=context), NoRedirect())


class RequestLoop:
    """Bounded load: `workers` threads, each sending up to `rps` requests a second on new
    connections, until stopped or `limit_s` passed. Records (status or error, X-App-Version)."""

    def __init__(self, url, rps=20, limit_s=600, workers=1, timeout=2, opener=None):
        self.url, self.rps, self.limit_s, self.timeout = url, rps, limit_s, timeout
        self.open = (opener or urllib.request.build_opener()).open
        self.results = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _n in range(workers)]

    def _run(self):
        t_end = time.monotonic() + self.limit_s
        while not self._stop.is_set() and time.monotonic() < t_end:
            t0 = time.monotonic()
            try:
                with self.open(self.url, timeout=self.timeout) as resp:
                    self.results.append((resp.status, resp.headers.get("X-App-Version")))
            except Exception as exc:  # every failure counts
                self.results.append((repr(exc), None))
            time.sleep(max(0.0, 1 / self.rps - (time.monotonic() - t0)))

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_):
        self.stop()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=self.timeout + 10)

    def failures(self):
        return [r for r in self.results if r[0] != 200]

    def versions_in_order(self):
        seen = []
        for _status, version in self.results:
            if version and (not seen or seen[-1] != version):
                seen.append(version)
        return seen
