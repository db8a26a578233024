"""The API server accepts the rendered staging and production manifests: a server-side dry run
with the real CRDs installed and Pod Security `restricted` enforced on the namespace."""

from __future__ import annotations

import uuid

import pytest

from tests.helm import ENVIRONMENTS, create_app_namespace, render_env, render_text

VARIANTS = {
    "traefik": (),
    "nginx": ("--set", "ingress.controller=nginx", "--set", "ingress.className=nginx"),
    "gateway": (
        "--set",
        "gateway.enabled=true",
        "--set",
        "gateway.parentRef.name=public",
        "--set",
        "gateway.parentRef.namespace=traefik",
    ),
}


@pytest.fixture(scope="module")
def dry_run_namespaces(kube_cluster):
    names = {env: f"chart-dry-{env}-{uuid.uuid4().hex[:6]}" for env in ENVIRONMENTS}
    for name in names.values():
        create_app_namespace(kube_cluster, name, secrets=False)
    yield names
    for name in names.values():
        kube_cluster.kubectl("delete", "namespace", name, "--wait=false")


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_server_side_dry_run(kube_cluster, cluster_crds, dry_run_namespaces, env, variant):
    release, args = ENVIRONMENTS[env][0], ENVIRONMENTS[env][2]
    namespace = dry_run_namespaces[env]
    manifest = render_text(release, namespace, *args, *VARIANTS[variant])
    kinds = {o["kind"] for o in render_env(env, *VARIANTS[variant])}
    res = kube_cluster.kubectl(
        "apply", "--dry-run=server", "--validate=strict", "-f", "-", input=manifest, check=False
    )
    assert res.returncode == 0, res.stderr
    # PodSecurity violations of Deployments are warnings (their pods would be refused).
    assert "Warning" not in res.stderr, res.stderr
    applied = res.stdout.count("(server dry run)")
    assert applied == manifest.count("\nkind: "), res.stdout
    assert {"Component", "Deployment", "NetworkPolicy"} <= kinds
    # the environments' pods name bootstrap's Dapr Configuration; the chart renders none there
    assert "Configuration" not in kinds
