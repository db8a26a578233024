"""Staging's overnight scale-to-zero, run for real with the ServiceAccount the CronJobs use.

kwok runs no container, so the CronJobs' scripts are taken from the cluster's own CronJob objects
and run here with kubectl, authenticated as `staging:scale-to-zero` by a real TokenRequest.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

ANNOTATION = "hackathon-todo.dev/replicas-before-scale-to-zero"


@pytest.fixture
def as_service_account(bootstrapped, kube_cluster, tmp_path):
    token = kube_cluster.kubectl(
        "-n", "staging", "create", "token", "scale-to-zero", "--duration=10m"
    ).stdout.strip()
    server = kube_cluster.kubectl(
        "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"
    ).stdout
    kubeconfig = tmp_path / "sa.kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "bed", "cluster": {"server": server, "insecure-skip-tls-verify": True}}
                ],
                "users": [{"name": "sa", "user": {"token": token}}],
                "contexts": [{"name": "sa", "context": {"cluster": "bed", "user": "sa"}}],
                "current-context": "sa",
            }
        )
    )
    return {**os.environ, "KUBECONFIG": str(kubeconfig)}


def _script(kube_cluster, job: str) -> str:
    cron = json.loads(
        kube_cluster.kubectl("-n", "staging", "get", "cronjob", job, "-o", "json").stdout
    )
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["/bin/sh", "-ec"]
    return container["args"][0]


def _run(script: str, env: dict, namespace: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["/bin/sh", "-ec", script],
        env={**env, "NAMESPACE": namespace},
        capture_output=True,
        text=True,
        check=False,
    )


def _deployment(kube_cluster, namespace: str) -> dict:
    return json.loads(
        kube_cluster.kubectl("-n", namespace, "get", "deployment", "sleepy", "-o", "json").stdout
    )


@pytest.fixture
def sleepy(kube_cluster):
    kube_cluster.kubectl(
        "-n",
        "staging",
        "create",
        "deployment",
        "sleepy",
        "--image=registry.invalid/x:1",
        "--replicas=3",
    )
    yield
    kube_cluster.kubectl("-n", "staging", "delete", "deployment", "sleepy", "--wait=false")


def test_scale_down_then_up_restores_replicas(kube_cluster, as_service_account, sleepy):
    down = _run(_script(kube_cluster, "scale-down"), as_service_account, "staging")
    assert down.returncode == 0, down.stderr
    d = _deployment(kube_cluster, "staging")
    assert d["spec"]["replicas"] == 0
    assert d["metadata"]["annotations"][ANNOTATION] == "3"

    up = _run(_script(kube_cluster, "scale-up"), as_service_account, "staging")
    assert up.returncode == 0, up.stderr
    d = _deployment(kube_cluster, "staging")
    assert d["spec"]["replicas"] == 3
    assert ANNOTATION not in d["metadata"].get("annotations", {})


def test_service_account_cannot_touch_production(kube_cluster, as_service_account):
    res = _run(_script(kube_cluster, "scale-down"), as_service_account, "production")
    assert res.returncode != 0
    assert "forbidden" in res.stderr.lower()
