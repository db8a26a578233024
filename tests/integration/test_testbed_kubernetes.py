"""Proof that the local Kubernetes test bed is real: API server, controllers, scheduler, etcd."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest

from tests.ansible_run import run_module
from tests.testbed import TESTBED, versions

FAIL_LABEL = "testbed.hackathon-todo.dev/readiness"
STARTUP_LABEL = "testbed.hackathon-todo.dev/startup"


@pytest.fixture
def namespace(kube_cluster):
    name = f"proof-{uuid.uuid4().hex[:8]}"
    kube_cluster.kubectl("create", "namespace", name)
    yield name
    kube_cluster.kubectl("delete", "namespace", name, "--wait=false")


def _deployment(name: str, namespace: str, labels: dict | None = None) -> dict:
    pod_labels = {"app": name, **(labels or {})}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]},
            },
        },
    }


def test_server_reports_pinned_version(kube_cluster):
    out = json.loads(kube_cluster.kubectl("version", "-o", "json").stdout)
    assert out["serverVersion"]["gitVersion"] == versions()["KUBERNETES_VERSION"]


def test_cluster_up_again_is_a_noop(kube_cluster):
    res = subprocess.run(
        ["bash", str(TESTBED / "cluster.sh"), "up"], capture_output=True, text=True, check=True
    )
    assert "already up" in res.stdout


def test_nodes_are_simulated_and_ready(kube_cluster):
    nodes = json.loads(kube_cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert len(nodes) >= 2
    for node in nodes:
        ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
        assert ready == "True", node["metadata"]["name"]


def test_k8s_module_deployment_becomes_available_and_is_idempotent(kube_cluster, namespace):
    args = {
        "kubeconfig": str(kube_cluster.kubeconfig),
        "definition": _deployment("web", namespace),
        "wait": True,
        "wait_condition": {"type": "Available", "status": "True"},
        "wait_timeout": 60,
    }
    first = run_module("kubernetes.core.k8s", args)
    assert not first.failed, first.result
    assert first.changed
    status = first.result["result"]["status"]
    assert status["availableReplicas"] == 2
    again = run_module("kubernetes.core.k8s", args)
    assert not again.failed, again.result
    assert again.changed is False


def test_labelled_pod_fails_readiness(kube_cluster, namespace):
    kube_cluster.kubectl(
        "apply", "-f", "-", input=json.dumps(_deployment("broken", namespace, {FAIL_LABEL: "fail"}))
    )
    deadline = time.monotonic() + 30
    pods = []
    while time.monotonic() < deadline:
        pods = json.loads(
            kube_cluster.kubectl(
                "get", "pods", "-n", namespace, "-l", "app=broken", "-o", "json"
            ).stdout
        )["items"]
        if len(pods) == 2 and all(p["status"].get("phase") == "Running" for p in pods):
            break
        time.sleep(0.5)
    assert len(pods) == 2 and all(p["status"].get("phase") == "Running" for p in pods), pods
    time.sleep(3)  # give the stages time to (wrongly) mark them Ready
    pods = json.loads(
        kube_cluster.kubectl(
            "get", "pods", "-n", namespace, "-l", "app=broken", "-o", "json"
        ).stdout
    )["items"]
    for pod in pods:
        ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"]
        assert ready == "False", pod["metadata"]["name"]
    deploy = json.loads(
        kube_cluster.kubectl("get", "deployment", "broken", "-n", namespace, "-o", "json").stdout
    )
    assert deploy["status"].get("availableReplicas", 0) == 0


def _ready_at(kube_cluster, namespace, app, count, timeout=60) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = kube_cluster.kubectl("get", "pods", "-n", namespace, "-l", f"app={app}", "-o", "json")
        pods = json.loads(out.stdout)["items"]
        ready = [
            p
            for p in pods
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in p.get("status", {}).get("conditions") or []
            )
        ]
        if len(ready) == count:
            return time.monotonic()
        time.sleep(0.2)
    raise AssertionError(f"{app}: {count} pods not Ready within {timeout} s")


def test_startup_label_delays_readiness_like_a_kubelet(kube_cluster, namespace):
    t0 = time.monotonic()
    kube_cluster.kubectl("apply", "-f", "-", input=json.dumps(_deployment("quick", namespace)))
    quick = _ready_at(kube_cluster, namespace, "quick", 2) - t0
    t0 = time.monotonic()
    kube_cluster.kubectl(
        "apply", "-f", "-", input=json.dumps(_deployment("slow", namespace, {STARTUP_LABEL: "6s"}))
    )
    slow = _ready_at(kube_cluster, namespace, "slow", 2) - t0
    assert slow >= 6, f"Ready after {slow:.1f} s, before the 6 s start-up"
    assert quick < slow - 3, (quick, slow)
