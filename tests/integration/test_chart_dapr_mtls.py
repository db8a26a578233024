"""With dapr.mtls.enabled, the release refuses a Dapr control plane whose mTLS is off.

Dapr reads mTLS only from the control plane's Configuration `daprsystem`; the chart looks it up
at install time (helm's `lookup`, which a server-side dry run exercises too). The control-plane
namespace here is a stand-in made by the test, so nothing of the platform's is touched.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.helm import CHART, create_app_namespace, helm_on


@pytest.fixture
def namespaces(kube_cluster, cluster_crds):
    suffix = uuid.uuid4().hex[:6]
    app, control_plane = f"chart-mtls-{suffix}", f"chart-daprcp-{suffix}"
    create_app_namespace(kube_cluster, app)
    kube_cluster.kubectl("create", "namespace", control_plane)
    yield app, control_plane
    for name in (app, control_plane):
        kube_cluster.kubectl("delete", "namespace", name, "--wait=false")


def _daprsystem(kube_cluster, namespace: str, mtls: bool):
    config = {
        "apiVersion": "dapr.io/v1alpha1",
        "kind": "Configuration",
        "metadata": {"name": "daprsystem", "namespace": namespace},
        "spec": {
            "mtls": {  # what Dapr's chart writes; the CRD requires the last two
                "enabled": mtls,
                "workloadCertTTL": "24h",
                "allowedClockSkew": "15m",
                "controlPlaneTrustDomain": "cluster.local",
                "sentryAddress": f"dapr-sentry.{namespace}.svc.cluster.local:443",
            }
        },
    }
    kube_cluster.kubectl("apply", "-f", "-", input=json.dumps(config))


def _install_dry_run(kube_cluster, app, control_plane, *extra):
    return helm_on(
        kube_cluster, "install", "todo-app", str(CHART), "--namespace", app, "--dry-run=server",
        "--set", f"dapr.controlPlaneNamespace={control_plane}", *extra, check=False,
    )  # fmt: skip


def test_mtls_off_on_the_control_plane_fails_the_release(kube_cluster, namespaces):
    app, control_plane = namespaces
    _daprsystem(kube_cluster, control_plane, mtls=False)
    res = _install_dry_run(kube_cluster, app, control_plane)
    assert res.returncode != 0
    assert "the Dapr control plane has mTLS off (Configuration daprsystem in " in res.stderr
    # An explicit opt-out is possible (and visible in the values).
    res = _install_dry_run(kube_cluster, app, control_plane, "--set", "dapr.mtls.enabled=false")
    assert res.returncode == 0, res.stderr


def test_mtls_on_or_no_dapr_yet_passes(kube_cluster, namespaces):
    app, control_plane = namespaces
    res = _install_dry_run(kube_cluster, app, control_plane)  # no daprsystem at all
    assert res.returncode == 0, res.stderr
    _daprsystem(kube_cluster, control_plane, mtls=True)
    res = _install_dry_run(kube_cluster, app, control_plane)
    assert res.returncode == 0, res.stderr
