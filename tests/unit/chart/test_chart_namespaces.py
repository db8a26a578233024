"""Staging and production are isolated: every object lives in the release namespace."""

from __future__ import annotations

import re

import pytest

from tests.helm import CHART, ENVIRONMENTS, render_env

# Kinds that exist only cluster-wide. The chart renders none of them: RBAC, CRDs, the
# IngressClass and the ClusterIssuer belong to the platform role, shared by both environments.
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "IngressClass",
    "ClusterIssuer",
    "PriorityClass",
    "StorageClass",
    "PersistentVolume",
    "GatewayClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
}
VARIANTS = [
    (),
    ("--set", "ingress.controller=nginx", "--set", "ingress.className=nginx"),
    ("--set", "gateway.enabled=true", "--set", "gateway.parentRef.name=gw"),
]


@pytest.mark.parametrize("variant", VARIANTS, ids=["traefik", "nginx", "gateway"])
@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_every_object_is_in_the_release_namespace(env, variant):
    namespace = ENVIRONMENTS[env][1]
    objs = render_env(env, *variant)
    assert objs
    for obj in objs:
        assert obj["kind"] not in CLUSTER_SCOPED, obj["kind"]
        assert obj["metadata"].get("namespace") == namespace, (obj["kind"], obj["metadata"])


@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_the_other_environment_is_never_mentioned(env):
    other = next(e for e in ENVIRONMENTS if e != env)
    other_release, other_ns = ENVIRONMENTS[other][:2]
    for obj in render_env(env):
        text = str(obj)
        assert f"'{other_ns}'" not in text and f'"{other_ns}"' not in text, obj["metadata"]["name"]
        if env == "production":  # "todo-app" is a prefix of "todo-app-staging", not the reverse
            assert other_release not in text, obj["metadata"]["name"]


def test_templates_never_hard_code_a_namespace():
    for path in (CHART / "templates").glob("*.yaml"):
        for line in path.read_text().splitlines():
            m = re.match(r"\s*namespace:\s*(.+)$", line)
            if m:
                assert m.group(1).strip() in {
                    "{{ .Release.Namespace }}",
                    "{{ $.Release.Namespace }}",
                    "{{ $ns }}",
                    "{{ . }}",  # gateway.parentRef.namespace: a reference, not an object
                }, f"{path.name}: {line.strip()}"
