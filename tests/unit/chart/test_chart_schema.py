"""values.schema.json and the chart's own checks reject bad values with a readable message."""

from __future__ import annotations

import pytest

from tests.helm import CHART, template_error

STAGING = ("-f", str(CHART / "values-staging.yaml"))
PRODUCTION = ("-f", str(CHART / "values-production.yaml"))

CASES = [
    pytest.param(
        ("--set", "ingress.enabled=true"),
        ["/ingress/host", "minLength: got 0, want 1"],
        id="ingress on without host",
    ),
    pytest.param(
        ("--set", "ingress.enabled=true", "--set", "ingress.host=Not A Host"),
        ["/ingress/host", "does not match pattern"],
        id="ingress host not a DNS name",
    ),
    pytest.param(
        ("--set", "global.imageTag="),
        ["/global/imageTag", "minLength: got 0, want 1"],
        id="empty image tag",
    ),
    pytest.param(
        STAGING,
        ["/global/imageTag", "minLength: got 0, want 1"],
        id="staging values without a tag",
    ),
    pytest.param(
        (*PRODUCTION, "--set", "global.imageTag=latest"),
        ["/global/imageTag", "'latest' does not match pattern"],
        id="latest in production",
    ),
    pytest.param(
        (*PRODUCTION, "--set", "global.imageTag=main-latest"),
        ["/global/imageTag", "'main-latest' does not match pattern"],
        id="moving tag in production",
    ),
    pytest.param(
        ("--set", "backend.replicas=0"),
        ["/backend/replicas", "minimum: got 0, want 1"],
        id="replicas below one",
    ),
    pytest.param(
        (
            "--set",
            "hpa.enabled=true",
            "--set-json",
            'backend.hpa={"minReplicas":5,"maxReplicas":3,"targetCPUUtilizationPercentage":70}',
        ),
        ["backend.hpa: minReplicas (5) is greater than maxReplicas (3)"],
        id="hpa min above max",
    ),
    pytest.param(
        (
            "--set-json",
            'backend.hpa={"minReplicas":0,"maxReplicas":3,"targetCPUUtilizationPercentage":70}',
        ),
        ["/backend/hpa/minReplicas", "minimum: got 0, want 1"],
        id="hpa min below one",
    ),
    pytest.param(
        ("--set-json", 'frontend.hpa={"minReplicas":2}'),
        ["/frontend/hpa", "missing properties", "maxReplicas"],
        id="incomplete hpa block",
    ),
    pytest.param(
        ("--set", "backend.replica=2"),
        ["/backend", "additional properties 'replica' not allowed"],
        id="unknown key in a service block",
    ),
    pytest.param(
        ("--set", "redpanda.enabled=true"),
        ["additional properties 'redpanda' not allowed"],
        id="unknown top-level key",
    ),
    pytest.param(
        ("--set", "ingress.controller=haproxy"),
        ["/ingress/controller", "'traefik', 'nginx'"],
        id="unknown ingress controller",
    ),
    pytest.param(
        ("--set", "dapr.pubsub.saslMechanism=SCRAM-SHA-512"),
        ["/dapr/pubsub/saslMechanism", "'SHA-256', 'SHA-512'"],
        id="sasl mechanism in Kafka spelling",
    ),
    pytest.param(
        ("--set", "environment=prod"),
        ["/environment", "'development', 'staging', 'production'"],
        id="unknown environment",
    ),
    pytest.param(
        ("--set", "gateway.enabled=true", "--set", "ingress.host=todo.example.com"),
        ["gateway.enabled: set gateway.parentRef.name"],
        id="gateway without parent",
    ),
    pytest.param(
        (
            "--set",
            "ingress.enabled=true",
            "--set",
            "ingress.host=a.example.com",
            "--set",
            "backend.enabled=false",
        ),
        ['ingress.paths: "/api" routes to backend, which is disabled'],
        id="route to a disabled service",
    ),
]


@pytest.mark.parametrize(("args", "messages"), CASES)
def test_rejected_with_a_clear_message(args, messages):
    err = template_error(*args)
    for message in messages:
        assert message in err, err


def test_valid_production_tags_are_accepted():
    from tests.helm import helm

    for tag in ("v1.0.0", "1.2.3", "v2.0.0-rc.1", "sha-0123abc"):
        helm("template", "t", str(CHART), *PRODUCTION, "--set", f"global.imageTag={tag}")
