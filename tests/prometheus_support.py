"""A real Prometheus on loopback, scraping a small exporter of ours every second.

The exporter plays the app's request metrics the way the services export them
(`http_requests_total{status}`, `http_request_duration_seconds` histogram): each scrape adds
`per_scrape` requests, of which a settable share answered 500 and a settable duration, so
rate() over the window reads exactly that share. Its series carry `namespace` (set by the scrape
job, as the ServiceMonitor's relabelling does in a cluster). The Prometheus is the bed's own
binary (.tools/bin/prometheus, built by `make toolchain`), not a stand-in.

As a pytest plugin (tests/conftest.py) it gives every test module the fixtures `exporter` and
`prometheus`: one pair per module, scraping the namespace the module names in
`PROMETHEUS_NAMESPACE` (default production).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import pytest

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exporter:
    """Request counters that grow by `per_scrape` every scrape: error_share of them 500s, each
    taking `seconds`. Like the Prometheus client libraries (and the app stand-in on the real
    nodes), a status's series exists only once a request has answered with it: a healthy app
    that never failed exports no 500 series at all."""

    def __init__(self, per_scrape: int = 100):
        self.per_scrape = per_scrape
        self.error_share = 0.0
        self.seconds = 0.02
        self.ok = 0
        self.errors = 0
        self.buckets = [0] * len(BUCKETS)
        self.count = 0
        self.total = 0.0
        self.lock = threading.Lock()
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = exporter.scrape().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def set(self, error_share: float | None = None, seconds: float | None = None):
        with self.lock:
            if error_share is not None:
                self.error_share = error_share
            if seconds is not None:
                self.seconds = seconds

    def scrape(self) -> str:
        with self.lock:
            errors = round(self.per_scrape * self.error_share)
            self.errors += errors
            self.ok += self.per_scrape - errors
            for i, le in enumerate(BUCKETS):
                if self.seconds <= le:
                    self.buckets[i] += self.per_scrape
            self.count += self.per_scrape
            self.total += self.per_scrape * self.seconds
            lines = [
                "# TYPE http_requests_total counter",
                f'http_requests_total{{method="GET",path="/api/tasks",status="200"}} {self.ok}',
            ]
            if self.errors:
                labels = 'method="GET",path="/api/tasks",status="500"'
                lines.append(f"http_requests_total{{{labels}}} {self.errors}")
            lines += [
                "# TYPE http_request_duration_seconds histogram",
            ]
            lines += [
                f'http_request_duration_seconds_bucket{{le="{le}"}} {n}'
                for le, n in zip(BUCKETS, self.buckets, strict=True)
            ]
            lines += [
                f'http_request_duration_seconds_bucket{{le="+Inf"}} {self.count}',
                f"http_request_duration_seconds_sum {self.total}",
                f"http_request_duration_seconds_count {self.count}",
            ]
            return "\n".join(lines) + "\n"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Prometheus:
    """`prometheus` scraping the exporter every second as namespace `namespace`."""

    def __init__(self, binary: str, exporter: Exporter, namespace: str = "production"):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="htd-prometheus-"))
        self.namespace = namespace
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "app",
                    "static_configs": [
                        {
                            "targets": [f"127.0.0.1:{exporter.port}"],
                            "labels": {"namespace": namespace, "service": "todo-app-backend"},
                        }
                    ],
                }
            ],
        }
        (self.dir / "prometheus.yml").write_text(json.dumps(config))
        self.log = open(self.dir / "prometheus.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={self.dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def query(self, promql: str) -> list:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback only
            return json.load(resp)["data"]["result"]

    def wait_for(self, promql: str, timeout: float = 60.0):
        """Wait until `promql` has a value (scrapes have happened); bounded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("prometheus exited: " + self.logs())
            try:
                if self.query(promql):
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"no value for {promql} within {timeout} s: " + self.logs())

    def logs(self) -> str:
        return (self.dir / "prometheus.log").read_text(errors="replace")[-2000:]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def prometheus_binary() -> str:
    root = pathlib.Path(__file__).resolve().parents[1]
    local = root / ".tools" / "bin" / "prometheus"
    found = str(local) if local.exists() else shutil.which("prometheus")
    if not found or not os.access(found, os.X_OK):
        raise AssertionError("no prometheus binary: run `make toolchain` (it builds one)")
    return found


@contextlib.contextmanager
def scraping(namespace: str = "production"):
    """An exporter and a real Prometheus scraping it, once rate() over 5s has data."""
    exporter = Exporter()
    prom = Prometheus(prometheus_binary(), exporter, namespace=namespace)
    try:
        prom.wait_for(f'rate(http_requests_total{{namespace="{namespace}"}}[5s]) > 0')
        yield exporter, prom
    finally:
        prom.stop()
        exporter.close()


def settle(exporter: Exporter, prom: Prometheus, share: float):
    """Set the error share and wait until every 5s window of the last 3s holds only it."""
    exporter.set(error_share=share)
    ns = prom.namespace
    # no 500 series yet counts as none failed
    ratio = (
        f'(sum(rate(http_requests_total{{namespace="{ns}", status="500"}}[5s])) or vector(0))'
        f' / sum(rate(http_requests_total{{namespace="{ns}"}}[5s]))'
    )
    want = f">= {share - 0.001}" if share else "== 0"
    prom.wait_for(f"({ratio}) {want}")
    prom.wait_for(f"min_over_time(({ratio})[3s:1s]) {want}")


@pytest.fixture(scope="module")
def scraped(request):
    """One exporter and Prometheus per test module (see the module docstring)."""
    with scraping(getattr(request.module, "PROMETHEUS_NAMESPACE", "production")) as pair:
        yield pair


@pytest.fixture(scope="module")
def exporter(scraped):
    return scraped[0]


@pytest.fixture(scope="module")
def prometheus(scraped):
    return scraped[1]
