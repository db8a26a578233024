"""The platform CRDs on the test bed are the real ones, accepted by the real API server."""

from __future__ import annotations

import json
import subprocess

from tests.testbed import ROOT, TESTBED, versions

# Kinds the chart and the platform role create; each must be served by an upstream CRD.
NEEDED = {
    "cert-manager.io/v1": {"Certificate", "ClusterIssuer", "Issuer"},
    "dapr.io/v1alpha1": {"Component", "Configuration", "Subscription", "Resiliency"},
    "monitoring.coreos.com/v1": {"ServiceMonitor", "PodMonitor", "PrometheusRule"},
    "traefik.io/v1alpha1": {"Middleware", "IngressRoute"},
    "gateway.networking.k8s.io/v1": {"Gateway", "GatewayClass", "HTTPRoute"},
}


def test_needed_kinds_are_served(kube_cluster, cluster_crds):
    for group_version, kinds in NEEDED.items():
        res = kube_cluster.kubectl("get", "--raw", f"/apis/{group_version}")
        served = {r["kind"] for r in json.loads(res.stdout)["resources"]}
        assert kinds <= served, f"{group_version}: missing {kinds - served}"


def test_crds_come_from_pinned_upstream_modules(cluster_crds):
    sources = (ROOT / ".tools" / "crds" / "SOURCES").read_text()
    pinned = versions()
    for module, key in [
        ("github.com/cert-manager/cert-manager", "CERT_MANAGER_VERSION"),
        ("github.com/dapr/dapr", "DAPR_VERSION"),
        (
            "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring",
            "PROMETHEUS_OPERATOR_VERSION",
        ),
        ("github.com/traefik/traefik/v3", "TRAEFIK_VERSION"),
        ("sigs.k8s.io/gateway-api", "GATEWAY_API_VERSION"),
    ]:
        assert f"{module}@{pinned[key]}\t" in sources, (module, sources)


def test_schema_is_enforced(kube_cluster, cluster_crds):
    # A real CRD rejects what a permissive lookalike would accept.
    bad = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "bad", "namespace": "default"},
        "spec": {"endpoints": [{"interval": "thirty seconds"}], "selector": {}},
    }
    res = kube_cluster.kubectl(
        "apply", "--dry-run=server", "-f", "-", input=json.dumps(bad), check=False
    )
    assert res.returncode != 0
    assert "spec.endpoints[0].interval" in res.stderr


def test_apply_again_is_a_noop(cluster_crds):
    res = subprocess.run(
        ["bash", str(TESTBED / "crds.sh"), "apply"], capture_output=True, text=True, check=True
    )
    assert "already applied" in res.stdout
