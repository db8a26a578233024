"""Staging's overnight scale-to-zero on REAL nodes: the chart's CronJobs, started now with
`kubectl create job --from=cronjob/...` as the runbook says, run in a kubelet-started container
of `registry.k8s.io/kubectl` (the bed's copy has the upstream layout: /bin/kubectl on an empty
base, no shell), authenticated as the chart's ServiceAccount, in a Pod Security `restricted`
namespace. Issue 13 #4: the CronJobs ran `/bin/sh -ec` in that image, which has no /bin/sh, and
the test of the day ran their script with this host's sh instead.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.helm import CHART, ENVIRONMENTS, create_app_namespace, helm_on
from tests.real_nodes_support import OWNER, bed_registry_account

RELEASE = "todo-app-staging"
# The test's own namespace is not an environment the platform prepared: it has no Dapr
# Configuration and no broker account, so the chart runs there without Dapr (once the platform is
# installed, its injector would add sidecars that cannot start; test_dapr_real covers Dapr).
VALUES = (
    *ENVIRONMENTS["staging"][2][:2],
    "--set", f"global.imageOwner={OWNER}",
    "--set", "dapr.enabled=false",
)  # fmt: skip
# What values-staging.yaml declares: one pod per service.
DECLARED = {
    f"{RELEASE}-{s}": 1 for s in ("frontend", "backend", "mcp", "notification", "sse-gateway")
}


def _replicas(cluster, namespace) -> dict[str, tuple[int, int]]:
    out = cluster.kubectl("-n", namespace, "get", "deployments", "-o", "json").stdout
    return {
        d["metadata"]["name"]: (d["spec"]["replicas"], d["status"].get("availableReplicas", 0))
        for d in json.loads(out)["items"]
    }


def _until(what, check, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got is True:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{what} after {timeout}s: {got}", pytrace=False)
        time.sleep(1)


def _run_job(cluster, namespace, cronjob: str) -> dict:
    """The Job's pod, once the Job completed (fails with its pod's state and log otherwise)."""
    job = f"{cronjob.rsplit('-', 1)[-1]}-{uuid.uuid4().hex[:5]}"
    cluster.kubectl("-n", namespace, "create", "job", f"--from=cronjob/{cronjob}", job)
    done = cluster.kubectl(
        "-n", namespace, "wait", "--for=condition=complete", f"job/{job}", "--timeout=120s",
        check=False,
    )  # fmt: skip
    pods = json.loads(
        cluster.kubectl("-n", namespace, "get", "pods", f"-l=job-name={job}", "-o", "json").stdout
    )["items"]
    logs = cluster.kubectl(
        "-n", namespace, "logs", f"job/{job}", "--all-containers", check=False
    ).stdout
    assert done.returncode == 0, f"job {job} did not complete: {done.stderr} {pods} {logs}"
    return pods[-1]


@pytest.fixture(scope="module")
def staging(kube_cluster, cluster_crds, push_images):
    push_images("v1.0.0")
    namespace = f"scale-to-zero-{uuid.uuid4().hex[:6]}"
    create_app_namespace(kube_cluster, namespace, registry_account=bed_registry_account())
    helm_on(
        kube_cluster, "upgrade", "--install", RELEASE, str(CHART), "--namespace", namespace,
        *VALUES, "--set", "global.imageTag=v1.0.0", "--wait=watcher", "--timeout", "180s",
        timeout=240,
    )  # fmt: skip
    assert {n: r for n, (r, _a) in _replicas(kube_cluster, namespace).items()} == DECLARED
    yield namespace
    helm_on(kube_cluster, "uninstall", RELEASE, "--namespace", namespace, check=False)
    kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false")


def test_the_evening_job_scales_staging_to_zero_then_the_morning_job_restores_it(
    kube_cluster, staging
):
    down = _run_job(kube_cluster, staging, f"{RELEASE}-scale-down")
    # what the kubelet ran: kubectl itself, from the image the chart names
    (container,) = down["spec"]["containers"]
    assert container["command"] == ["/bin/kubectl"]
    assert container["image"].startswith("registry.k8s.io/kubectl:")
    assert down["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    _until(
        "the app's pods still run",
        lambda: (
            _replicas(kube_cluster, staging) == dict.fromkeys(DECLARED, (0, 0))
            or _replicas(kube_cluster, staging)
        ),
    )

    _run_job(kube_cluster, staging, f"{RELEASE}-scale-up")
    _until(
        "staging is not back to its declared replicas, all available",
        lambda: (
            _replicas(kube_cluster, staging) == {n: (r, r) for n, r in DECLARED.items()}
            or _replicas(kube_cluster, staging)
        ),
    )


def test_the_jobs_account_may_scale_this_namespace_only(kube_cluster, staging):
    account = f"system:serviceaccount:{staging}:{RELEASE}-scale-to-zero"

    def can(namespace, verb, resource, *extra):
        return kube_cluster.kubectl(
            "auth", "can-i", verb, resource, *extra, "-n", namespace, f"--as={account}",
            check=False,
        ).stdout.strip()  # fmt: skip

    assert can(staging, "patch", "deployments.apps", "--subresource=scale") == "yes"
    assert can(staging, "delete", "deployments.apps") == "no"
    assert can(staging, "get", "secrets") == "no"
    assert can("default", "patch", "deployments.apps", "--subresource=scale") == "no"
