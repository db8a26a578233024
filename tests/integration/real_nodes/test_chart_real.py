"""Releasing the chart on REAL nodes, the way the release role does: `helm upgrade --install
--rollback-on-failure --wait=watcher` (Helm 4) with the production values, in a namespace that
enforces Pod Security `restricted`.

Everything is real but the app: the control plane (Deployment controller, scheduler, HPA
controller, Pod Security admission), two kubelets with containerd and runc that pull the app
stand-in's images from the bed's registry through ghcr-pull-secret and run them with the chart's
securityContext, probes, preStop hooks and resources. A release that never gets Ready is one whose
stand-ins fail their readiness probe (STANDIN_HEALTH=fail; mcp, probed over TCP, never listens).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid

import pytest

from tests.helm import CHART, ENVIRONMENTS, create_app_namespace, helm_on
from tests.helm import SERVICES as SERVICE_KEYS
from tests.real_nodes_support import OWNER, bed_registry_account

RELEASE = "todo-app"
# -f values-production.yaml, with the owner the stand-in images are pushed under
# The test's own namespace is not an environment the platform prepared: it has no Dapr
# Configuration and no broker account, so the chart runs there without Dapr (once the platform is
# installed, its injector would add sidecars that cannot start; test_dapr_real covers Dapr).
VALUES = (
    *ENVIRONMENTS["production"][2][:2],
    "--set", f"global.imageOwner={OWNER}",
    "--set", "dapr.enabled=false",
)  # fmt: skip
TAGS = ("v1.0.0", "v1.0.1", "v1.0.2")
# Every service's readiness probe fails (the stand-in's knobs): the HTTP-probed services answer
# 503 on their probe paths; mcp, probed over TCP (values.yaml), never starts listening.
# `--set <key>.env.<NAME>=...` adds one variable; a map given to --set-json at <key> would replace
# the whole service's values from values-production.yaml (its HPA and replicas among them).
NEVER_READY = [
    arg
    for key in SERVICE_KEYS
    for arg in (
        "--set",
        f"{key}.env.STANDIN_START_DELAY=1h" if key == "mcp" else f"{key}.env.STANDIN_HEALTH=fail",
    )
]
# Production values: what the HPAs hold each Deployment at while the pods are idle.
MIN_REPLICAS = {
    "todo-app-frontend": 2,
    "todo-app-backend": 2,
    "todo-app-sse-gateway": 2,
    "todo-app-mcp": 1,
    "todo-app-notification": 1,
}


class DeploymentWatch:
    """Every state the API server reports for the namespace's Deployments, from a watch
    (`kubectl get -w`), so no transient state between two polls is missed."""

    def __init__(self, cluster, namespace: str):
        self.events: list[dict] = []
        self._proc = subprocess.Popen(
            ["kubectl", "--kubeconfig", str(cluster.kubeconfig), "-n", namespace, "get",
             "deployments", "--watch", "--output-watch-events", "-o", "json"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        decoder, buf = json.JSONDecoder(), ""
        for line in self._proc.stdout:  # a stream of {"type": ..., "object": ...} documents
            buf += line
            while buf.strip():
                try:
                    event, end = decoder.raw_decode(buf.lstrip())
                except json.JSONDecodeError:
                    break  # incomplete: read on
                self.events.append(event["object"])
                buf = buf.lstrip()[end:]

    def wait_for_initial(self, count: int, timeout: float = 10):
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.events) >= count, "the watch did not start"

    def stop(self) -> list[dict]:
        time.sleep(1)  # let the last updates arrive
        self._proc.terminate()
        self._proc.wait(timeout=10)
        self._reader.join(timeout=10)
        return self.events


@pytest.fixture(scope="module")
def pushed_tags(push_images):
    for tag in TAGS:
        push_images(tag)


def _helm_release(cluster, namespace, *extra, check=True, timeout=180):
    """Helm's own --timeout is `timeout` seconds; it gets a minute more to roll back."""
    return helm_on(
        cluster, "upgrade", "--install", RELEASE, str(CHART), "--namespace", namespace, *VALUES,
        "--rollback-on-failure", "--wait=watcher", "--timeout", f"{timeout}s", *extra,
        check=check, timeout=timeout + 60,
    )  # fmt: skip


def _deployments(cluster, namespace) -> dict[str, dict]:
    out = cluster.kubectl("-n", namespace, "get", "deployments", "-o", "json").stdout
    return {d["metadata"]["name"]: d for d in json.loads(out)["items"]}


def _wait_steady(cluster, namespace, tag: str, timeout: float = 120):
    """Until every Deployment runs MIN_REPLICAS pods of `tag`, all available, nothing else."""
    deadline = time.monotonic() + timeout
    while True:
        deps = _deployments(cluster, namespace)
        state = {
            name: (
                d["spec"].get("replicas"),
                d["status"].get("availableReplicas", 0),
                d["status"].get("updatedReplicas", 0),
                d["status"].get("replicas", 0),
                d["spec"]["template"]["spec"]["containers"][0]["image"].rsplit(":", 1)[1],
            )
            for name, d in deps.items()
        }
        want = {name: (n, n, n, n, tag) for name, n in MIN_REPLICAS.items()}
        if state == want:
            return deps
        if time.monotonic() > deadline:
            pytest.fail(f"not steady after {timeout}s: {state}", pytrace=False)
        time.sleep(0.5)


def _assert_capacity_held(events: list[dict], baseline: dict[str, int]):
    """In every reported state, each Deployment kept its replica count and at least that many
    available pods."""
    assert events
    for d in events:
        name = d["metadata"]["name"]
        desired, available = d["spec"].get("replicas"), d["status"].get("availableReplicas", 0)
        assert desired == baseline[name], f"{name}: replicas changed to {desired}"
        assert available >= baseline[name], (
            f"{name}: {available} available of {baseline[name]} during the release "
            f"(status {d['status']})"
        )


@pytest.fixture(scope="module")
def release_namespace(kube_cluster, cluster_crds, pushed_tags):
    name = f"chart-release-{uuid.uuid4().hex[:6]}"
    create_app_namespace(kube_cluster, name, registry_account=bed_registry_account())
    yield name
    helm_on(kube_cluster, "uninstall", RELEASE, "--namespace", name, check=False)
    kube_cluster.kubectl("delete", "namespace", name, "--wait=false")


@pytest.fixture(scope="module")
def installed(kube_cluster, release_namespace):
    res = _helm_release(kube_cluster, release_namespace, "--set", "global.imageTag=v1.0.0")
    assert "STATUS: deployed" in res.stdout
    # The HPAs raise each Deployment to its minimum within a sync period (15s).
    return _wait_steady(kube_cluster, release_namespace, "v1.0.0")


def test_install_runs_every_service_in_a_restricted_namespace(
    kube_cluster, release_namespace, installed
):
    # Pod Security `restricted` is enforced: had a pod violated it, it would not exist.
    pods = json.loads(
        kube_cluster.kubectl("-n", release_namespace, "get", "pods", "-o", "json").stdout
    )["items"]
    assert len(pods) == sum(MIN_REPLICAS.values())
    kinds = {}
    for kind in ("servicemonitors", "prometheusrules", "components", "middlewares", "hpa", "pdb"):
        out = kube_cluster.kubectl("-n", release_namespace, "get", kind, "-o", "name").stdout
        kinds[kind] = len(out.split())
    assert kinds == {
        "servicemonitors": 3,
        "prometheusrules": 1,
        "components": 0,  # dapr.enabled=false here (see VALUES); test_dapr_real has Dapr's
        "middlewares": 1,
        "hpa": 5,
        "pdb": 3,
    }


def test_two_pod_services_run_on_different_nodes(kube_cluster, release_namespace, installed):
    pods = json.loads(
        kube_cluster.kubectl("-n", release_namespace, "get", "pods", "-o", "json").stdout
    )["items"]
    nodes: dict[str, set] = {}
    for pod in pods:
        component = pod["metadata"]["labels"]["app.kubernetes.io/component"]
        nodes.setdefault(component, set()).add(pod["spec"]["nodeName"])
    for component in ("frontend", "backend", "sse-gateway"):
        assert len(nodes[component]) == 2, (component, nodes[component])


def test_upgrade_keeps_every_replica_available(kube_cluster, release_namespace, installed):
    baseline = {name: d["spec"]["replicas"] for name, d in installed.items()}
    watch = DeploymentWatch(kube_cluster, release_namespace)
    watch.wait_for_initial(len(baseline))
    _helm_release(kube_cluster, release_namespace, "--set", "global.imageTag=v1.0.1")
    _wait_steady(kube_cluster, release_namespace, "v1.0.1")
    events = watch.stop()
    _assert_capacity_held(events, baseline)
    # The watch saw the rollouts happen: new pods surged in next to the old ones.
    surged = {
        d["metadata"]["name"]
        for d in events
        if d["status"].get("replicas", 0) > baseline[d["metadata"]["name"]]
    }
    assert surged == set(baseline), f"no rollout observed for {set(baseline) - surged}"


def test_release_that_never_gets_ready_is_rolled_back(kube_cluster, release_namespace, installed):
    before = _wait_steady(kube_cluster, release_namespace, "v1.0.1")
    baseline = {name: d["spec"]["replicas"] for name, d in before.items()}
    revision = json.loads(
        helm_on(kube_cluster, "status", RELEASE, "-n", release_namespace, "-o", "json").stdout
    )["version"]
    watch = DeploymentWatch(kube_cluster, release_namespace)
    watch.wait_for_initial(len(baseline))
    res = _helm_release(
        kube_cluster, release_namespace, "--set", "global.imageTag=v1.0.2", *NEVER_READY,
        check=False, timeout=45,
    )  # fmt: skip
    assert res.returncode != 0
    assert "has been rolled back due to rollback-on-failure being set" in res.stderr, res.stderr
    # Helm 4's watcher names each Deployment it gave up on
    for name in baseline:
        assert f"resource Deployment/{release_namespace}/{name} not ready" in res.stderr, res.stderr
    # The failed pods are replaced by the previous revision's, which never went away.
    _wait_steady(kube_cluster, release_namespace, "v1.0.1")
    events = watch.stop()
    _assert_capacity_held(events, baseline)
    history = json.loads(
        helm_on(kube_cluster, "history", RELEASE, "-n", release_namespace, "-o", "json").stdout
    )
    by_revision = {h["revision"]: h for h in history}
    failed, rollback = by_revision[revision + 1], by_revision[revision + 2]
    assert failed["status"] == "failed"
    assert rollback["status"] == "deployed"
    assert rollback["description"] == f"Rollback to {revision}"
    values = helm_on(kube_cluster, "get", "values", RELEASE, "-n", release_namespace, "-o", "json")
    values = json.loads(values.stdout)
    assert values["global"]["imageTag"] == "v1.0.1"
    pods = json.loads(
        kube_cluster.kubectl("-n", release_namespace, "get", "pods", "-o", "json").stdout
    )["items"]
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    images = {c["image"].rsplit(":", 1)[1] for p in live for c in p["spec"]["containers"]}
    assert images == {"v1.0.1"}, images
    assert all(p["status"]["phase"] == "Running" for p in live)
