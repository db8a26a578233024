"""`release.yml` on REAL nodes: kubelets, containerd and runc run the app stand-in's containers
(testbed/images/standin, five images in the bed's CNCF Distribution registry, pulled as
ghcr.io/... through ghcr-pull-secret), kube-proxy serves the Services, CoreDNS names them.

Run by `make integration-real` (HTD_NODES_MODE=real). The tests run in file order on staging,
like an operator's day: a first release whose smoke checks really run, a tag the registry does
not have, v1 → v2 under a request loop with zero failures, a v2 whose readiness fails, one that
crash-loops, and at the end `make testbed-down`, which must leave nothing behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from tests.ansible_run import ROOT, run_playbook
from tests.testbed import STATE, TESTBED

ENV = "staging"
RELEASE = "todo-app-staging"
SERVICES = ("frontend", "backend", "mcp", "notification", "sse-gateway")
OWNER = "hackathon-todo"
# A failing rollout waits this long before Helm rolls it back (the staging default is 5m).
SHORT_WAIT = {"app_release_helm_timeout": "60s"}


@pytest.fixture(scope="module", autouse=True)
def real_nodes():
    if os.environ.get("HTD_NODES_MODE") != "real":
        pytest.fail(
            "these tests need real nodes: run them with `make integration-real`", pytrace=False
        )


@pytest.fixture(scope="module")
def pushed(kube_cluster):
    """v1.0.0 and v2.0.0 of the five stand-in images in the bed registry: {tag: {service: sha}}"""
    out = {}
    for tag in ("v1.0.0", "v2.0.0"):
        proc = subprocess.run(
            [
                sys.executable,
                str(TESTBED / "images" / "build.py"),
                "app",
                "--tag",
                tag,
                "--owner",
                OWNER,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        out[tag] = {
            line.split("/")[-1].split(":")[0]: line.split()[1] for line in proc.stdout.splitlines()
        }
    return out


@pytest.fixture(scope="module")
def release(bootstrapped, pushed, tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")

    def run(tag, extra=None, timeout=900):
        cmd = ["release.yml", "-e", f"target={ENV}", "-e", f"image_tag={tag}"]
        if extra:
            cmd += ["-e", json.dumps(extra)]
        proc = run_playbook(*cmd, env={"HTD_REPORT_DIR": str(reports)}, timeout=timeout)
        path = reports / f"release-{ENV}.json"
        report = json.loads(path.read_text()) if path.exists() else {}
        path.unlink(missing_ok=True)
        return proc, report

    return run


def _pods(kube_cluster):
    out = kube_cluster.kubectl(
        "-n", ENV, "get", "pods", "-l", f"app.kubernetes.io/instance={RELEASE}", "-o", "json"
    )
    return json.loads(out.stdout)["items"]


def _versions(kube_cluster):
    out = kube_cluster.kubectl(
        "-n", ENV, "get", "deployments,services,configmaps,secrets", "-o", "json"
    )
    return {
        i["metadata"]["name"]: i["metadata"]["resourceVersion"]
        for i in json.loads(out.stdout)["items"]
    }


def _backend_url(kube_cluster, path="/api/health"):
    ip = kube_cluster.kubectl(
        "-n", ENV, "get", "service", f"{RELEASE}-backend", "-o", "jsonpath={.spec.clusterIP}"
    )
    return f"http://{ip.stdout.strip()}:8000{path}"


class RequestLoop:
    """Bounded load: `rps` requests a second, each on a new connection, until stopped or
    `limit_s` passed. Records (status or error, X-App-Version) per request."""

    def __init__(self, url, rps=20, limit_s=600):
        self.url, self.rps, self.limit_s = url, rps, limit_s
        self.results = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        t_end = time.monotonic() + self.limit_s
        while not self._stop.is_set() and time.monotonic() < t_end:
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=2) as resp:  # noqa: S310 (bed address)
                    self.results.append((resp.status, resp.headers.get("X-App-Version")))
            except Exception as exc:  # every failure counts
                self.results.append((repr(exc), None))
            time.sleep(max(0.0, 1 / self.rps - (time.monotonic() - t0)))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join(timeout=10)

    def failures(self):
        return [r for r in self.results if r[0] != 200]

    def versions_in_order(self):
        seen = []
        for _status, version in self.results:
            if version and (not seen or seen[-1] != version):
                seen.append(version)
        return seen


def test_first_release_runs_the_registry_images_and_the_smoke_checks(release, kube_cluster, pushed):
    proc, report = release("v1.0.0")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert report["outcome"] in ("succeeded", "unchanged"), report
    assert (
        "all 5 images exist with tag v1.0.0" in report["messages"]
        or report["outcome"] == "unchanged"
    )
    assert report["smoke"]["status"] == "passed", report["smoke"]
    assert report["smoke"]["checks"] and all(c["passed"] for c in report["smoke"]["checks"])
    pods = [p for p in _pods(kube_cluster) if not p["metadata"].get("deletionTimestamp")]
    running = set()
    for pod in pods:
        assert pod["status"]["phase"] == "Running", pod["status"]
        (cs,) = pod["status"]["containerStatuses"]
        service = cs["image"].rsplit("/", 1)[1].split(":")[0]
        running.add(service)
        assert cs["ready"], cs
        assert cs["image"] == f"ghcr.io/{OWNER}/hackathon-todo/{service}:v1.0.0"
        # pulled from the registry: the digest is the one the bed's registry stored
        assert cs["imageID"].endswith(pushed["v1.0.0"][service]), cs
    assert running == set(SERVICES)
    with urllib.request.urlopen(_backend_url(kube_cluster), timeout=5) as resp:  # noqa: S310
        assert json.load(resp) == {"service": "backend", "status": "ok", "version": "v1.0.0"}


def test_a_tag_the_registry_lacks_fails_the_preflight_and_changes_nothing(release, kube_cluster):
    before = _versions(kube_cluster)
    proc, _report = release("v9.9.9")
    assert proc.returncode != 0
    assert "has no tag v9.9.9" in proc.stdout, proc.stdout[-3000:]
    assert _versions(kube_cluster) == before


def test_v1_to_v2_with_zero_failed_requests(release, kube_cluster):
    with RequestLoop(_backend_url(kube_cluster)) as loop:
        proc, report = release("v2.0.0")
        time.sleep(3)  # a few requests after the rollout, too
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert report["outcome"] == "succeeded"
    assert len(loop.results) > 100, len(loop.results)
    assert loop.failures() == [], loop.failures()[:5]
    # old and new pods both serve while the new ones prove themselves (minReadySeconds), then v2
    seen = loop.versions_in_order()
    assert (seen[0], seen[-1], set(seen)) == ("v1.0.0", "v2.0.0", {"v1.0.0", "v2.0.0"}), seen


def test_failing_readiness_is_rolled_back_while_v2_keeps_serving(release, kube_cluster):
    bad = {
        **SHORT_WAIT,
        "app_release_extra_values": {"backend": {"env": {"STANDIN_HEALTH": "fail"}}},
    }
    with RequestLoop(_backend_url(kube_cluster)) as loop:
        proc, report = release("v2.0.0", extra=bad)
    assert proc.returncode != 0
    assert f"{ENV}/{RELEASE}-backend" in report["failed_deployments"], report
    assert any(f"{RELEASE}-backend" in line for line in report["pod_problems"]), report[
        "pod_problems"
    ]
    assert loop.failures() == [], loop.failures()[:5]
    assert set(loop.versions_in_order()) == {"v2.0.0"}


def test_a_crash_looping_container_is_named_with_its_last_log_line(release, kube_cluster):
    bad = {**SHORT_WAIT, "app_release_extra_values": {"backend": {"env": {"DATABASE_URL": ""}}}}
    proc, report = release("v2.0.0", extra=bad)
    assert proc.returncode != 0
    problems = " ".join(report["pod_problems"])
    assert "DATABASE_URL is not set" in problems, report["pod_problems"]
    assert "DATABASE_URL is not set" in proc.stdout
    with urllib.request.urlopen(_backend_url(kube_cluster), timeout=5) as resp:  # noqa: S310
        assert json.load(resp)["version"] == "v2.0.0"


def test_testbed_down_leaves_nothing_behind(kube_cluster):
    down = subprocess.run(
        ["make", "-C", str(ROOT), "cluster-down"], capture_output=True, text=True, check=False
    )
    assert down.returncode == 0, down.stdout + down.stderr
    left = subprocess.run(
        ["bash", str(TESTBED / "nodes.sh"), "leftovers"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert left.stdout.strip() == "", left.stdout
    netns = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert "htd" not in netns.split()
    assert not (STATE / "nodes").exists()
    ps = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True, check=True)
    alive = [line for line in ps.stdout.splitlines() if not line.lstrip().startswith("Z")]
    assert not [
        a for a in alive if str(STATE / "nodes") in a or "/run/htd/" in a or "load_balancers" in a
    ]
