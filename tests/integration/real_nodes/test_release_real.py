"""`release.yml` on REAL nodes: kubelets, containerd and runc run the app stand-in's containers
(testbed/images/standin, five images in the bed's CNCF Distribution registry, pulled as
ghcr.io/... through ghcr-pull-secret), kube-proxy serves the Services, CoreDNS names them.

Run by `make integration-real` (HTD_NODES_MODE=real). The tests run in file order on staging,
like an operator's day: a first release whose smoke checks really run, a tag the registry does
not have, v1 → v2 under a request loop with zero failures, a v2 whose readiness fails, and one
that crash-loops.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from tests.real_nodes_support import (
    OWNER,
    RELEASES,
    SERVICES,
    RequestLoop,
    release_pods,
    service_url,
)

ENV = "staging"
RELEASE = RELEASES[ENV]
# A failing rollout waits this long before Helm rolls it back (the staging default is 5m).
SHORT_WAIT = {"app_release_helm_timeout": "60s"}


@pytest.fixture(scope="module")
def release(release_to):
    def run(tag, extra=None, timeout=900):
        return release_to(ENV, tag, extra, timeout)

    return run


def _versions(kube_cluster):
    out = kube_cluster.kubectl(
        "-n", ENV, "get", "deployments,services,configmaps,secrets", "-o", "json"
    )
    return {
        i["metadata"]["name"]: i["metadata"]["resourceVersion"]
        for i in json.loads(out.stdout)["items"]
    }


def _backend_url(kube_cluster):
    return service_url(kube_cluster, ENV)


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
    pods = release_pods(kube_cluster, ENV)
    running = set()
    for pod in pods:
        assert pod["status"]["phase"] == "Running", pod["status"]
        # the app's container, and the Dapr sidecar the platform's injector added (test_dapr_real)
        app = [c for c in pod["status"]["containerStatuses"] if c["name"] != "daprd"]
        assert len(app) == 1 and len(pod["status"]["containerStatuses"]) == 2, pod["status"]
        (cs,) = app
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
