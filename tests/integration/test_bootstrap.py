"""`ansible-playbook bootstrap.yml` on the local test bed (the embedded default inventory).

Proves the issue's contract: from the bed it succeeds, a second run reports changed=0, and
--check afterwards changes no object (resourceVersions compared before and after). The objects it
declares exist and were accepted by the API server with the real CRDs, and the platform's Helm
releases came from the local chart repository (air-gapped mode).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.ansible_run import run_playbook

KINDS = (
    "namespaces,resourcequotas,limitranges,networkpolicies,configurations.dapr.io,"
    "clusterissuers.cert-manager.io,cronjobs,serviceaccounts,roles,rolebindings,deployments,secrets"
)


def _recap(stdout: str) -> dict[str, dict[str, int]]:
    out = {}
    for host, fields in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", stdout, flags=re.M):
        out[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", fields)}
    return out


def _versions(kube_cluster) -> dict[str, str]:
    items = json.loads(kube_cluster.kubectl("get", KINDS, "-A", "-o", "json").stdout)["items"]
    return {
        f"{i['kind']}/{i['metadata'].get('namespace', '')}/{i['metadata']['name']}": i["metadata"][
            "resourceVersion"
        ]
        for i in items
    }


def test_second_run_changes_nothing(bootstrapped):
    again = run_playbook("bootstrap.yml")
    assert again.returncode == 0, again.stdout[-4000:]
    recap = _recap(again.stdout)
    assert set(recap) >= {"local-testbed", "staging", "production"}
    assert {h: r["changed"] for h, r in recap.items()} == dict.fromkeys(recap, 0)


def test_check_mode_changes_no_object(bootstrapped, kube_cluster):
    before = _versions(kube_cluster)
    check = run_playbook("bootstrap.yml", "--check", "--diff")
    assert check.returncode == 0, check.stdout[-4000:]
    assert all(r["changed"] == 0 for r in _recap(check.stdout).values()), check.stdout[-4000:]
    assert _versions(kube_cluster) == before


@pytest.mark.parametrize(
    ("env", "cpu", "memory", "sampling"),
    [("staging", "4", "6Gi", "1"), ("production", "8", "12Gi", "0.1")],
)
def test_environment_scaffolding(bootstrapped, kube_cluster, env, cpu, memory, sampling):
    ns = json.loads(kube_cluster.kubectl("get", "namespace", env, "-o", "json").stdout)
    assert ns["metadata"]["labels"]["hackathon-todo.dev/environment"] == env
    quota = json.loads(
        kube_cluster.kubectl(
            "-n", env, "get", "resourcequota", "environment-quota", "-o", "json"
        ).stdout
    )
    assert quota["spec"]["hard"]["requests.cpu"] == cpu
    assert quota["spec"]["hard"]["requests.memory"] == memory
    kube_cluster.kubectl("-n", env, "get", "limitrange", "container-defaults")
    deny = json.loads(
        kube_cluster.kubectl(
            "-n", env, "get", "networkpolicy", "default-deny-all", "-o", "json"
        ).stdout
    )
    assert deny["spec"]["podSelector"] == {}
    assert sorted(deny["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    dapr = json.loads(
        kube_cluster.kubectl(
            "-n", env, "get", "configurations.dapr.io", "appconfig", "-o", "json"
        ).stdout
    )
    assert dapr["spec"]["tracing"]["samplingRate"] == sampling
    # staging's scale-to-zero is the app chart's now: bootstrap creates no CronJob (a release
    # earlier in the session may have installed the chart's, which Helm manages)
    not_helms = kube_cluster.kubectl(
        "-n", env, "get", "cronjobs", "-l", "app.kubernetes.io/managed-by!=Helm", "-o", "name"
    )
    assert not_helms.stdout.split() == []


def test_cluster_issuers_and_helm_releases(bootstrapped, kube_cluster):
    issuers = json.loads(kube_cluster.kubectl("get", "clusterissuers", "-o", "json").stdout)[
        "items"
    ]
    assert {i["metadata"]["name"] for i in issuers} == {"letsencrypt-prod", "letsencrypt-staging"}
    for issuer in issuers:
        solver = issuer["spec"]["acme"]["solvers"][0]["http01"]["ingress"]
        assert solver["ingressClassName"] == "traefik"
    releases = json.loads(
        kube_cluster.kubectl(
            "get", "secrets", "-A", "-l", "owner=helm,status=deployed", "-o", "json"
        ).stdout
    )["items"]
    names = {r["metadata"]["labels"]["name"] for r in releases}
    assert {"traefik", "cert-manager", "dapr", "monitoring", "loki", "alloy"} <= names
    # metrics-server: the test bed already serves metrics.k8s.io, so the role did not install one
    assert "metrics-server" not in names


LEGACY_SCALE_TO_ZERO = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: scale-to-zero, namespace: staging}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: scale-down, namespace: staging}
spec:
  schedule: "0 20 * * 1-5"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: kubectl
              image: registry.k8s.io/kubectl:v1.36.3
              command: [/bin/sh, -ec]
              args: [exit 1]
"""

ENVIRONMENT_PLAY = """
- name: Staging's scaffolding only
  hosts: staging
  gather_facts: false
  tasks:
    - name: The platform role's environment entry point
      ansible.builtin.include_role:
        name: hackathon_todo.deploy.platform
        tasks_from: environment
"""


def test_the_former_shell_cronjobs_are_removed(bootstrapped, kube_cluster, tmp_path):
    """Issue 13 #4: clusters bootstrapped before keep CronJobs that fail every night."""
    kube_cluster.kubectl("apply", "-f", "-", input=LEGACY_SCALE_TO_ZERO)
    play = tmp_path / "environment.yml"
    play.write_text(ENVIRONMENT_PLAY)
    first = run_playbook(str(play), "--diff")
    assert first.returncode == 0, first.stdout[-3000:]
    assert _recap(first.stdout)["staging"]["changed"] == 1
    left = kube_cluster.kubectl(
        "-n", "staging", "get", "cronjob/scale-down", "serviceaccount/scale-to-zero",
        "--ignore-not-found", "-o", "name",
    ).stdout  # fmt: skip
    assert left.strip() == ""
    again = run_playbook(str(play))
    assert again.returncode == 0 and _recap(again.stdout)["staging"]["changed"] == 0
