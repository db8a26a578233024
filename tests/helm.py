"""Render and release the hackathon-todo chart with the real Helm binary (.tools/bin/helm).

Shared by the render tests (tests/unit/chart) and the test bed tests (tests/integration).
"""

from __future__ import annotations

import functools
import subprocess

import yaml

from tests.testbed import ROOT

CHART = ROOT / "chart"

# Tags of the shape each environment deploys: staging a commit, production a release.
STAGING_TAG = "sha-1a2b3c4"
PRODUCTION_TAG = "v1.4.2"

# name -> (release, namespace, helm arguments): how the release role installs each environment.
ENVIRONMENTS = {
    "staging": (
        "todo-app-staging",
        "staging",
        ("-f", str(CHART / "values-staging.yaml"), "--set", f"global.imageTag={STAGING_TAG}"),
    ),
    "production": (
        "todo-app",
        "production",
        ("-f", str(CHART / "values-production.yaml"), "--set", f"global.imageTag={PRODUCTION_TAG}"),
    ),
}

SERVICES = {  # values key -> object and Dapr name
    "frontend": "frontend",
    "backend": "backend",
    "mcp": "mcp",
    "notification": "notification",
    "sseGateway": "sse-gateway",
}


def helm(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    res = subprocess.run(
        ["helm", *args], capture_output=True, text=True, check=False, timeout=timeout
    )
    if check and res.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}")
    return res


@functools.lru_cache(maxsize=128)
def _render(release: str, namespace: str, args: tuple[str, ...]) -> str:
    return helm("template", release, str(CHART), "--namespace", namespace, *args).stdout


def render_text(release: str, namespace: str, *args: str) -> str:
    """What `helm template` prints (hooks included). Results are cached."""
    return _render(release, namespace, tuple(args))


def render(release: str, namespace: str, *args: str) -> list[dict]:
    """The objects `helm template` renders, parsed."""
    return [d for d in yaml.safe_load_all(render_text(release, namespace, *args)) if d]


def render_env(env: str, *extra: str) -> list[dict]:
    release, namespace, args = ENVIRONMENTS[env]
    return render(release, namespace, *args, *extra)


def template_error(*args: str) -> str:
    """The error `helm template` prints for values it must reject (fails if it renders)."""
    res = helm("template", "t", str(CHART), *args, check=False)
    assert res.returncode != 0, f"helm template accepted {args}"
    return res.stderr


def by_kind(objs: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def admitted_namespaces(policies) -> set[str]:
    """Namespaces whose every pod the NetworkPolicies admit (a peer that selects a namespace by
    name and no pods in it): where the ingress controller must run."""
    return {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for policy in policies
        for rule in policy["spec"].get("ingress", [])
        for peer in rule.get("from", [])
        if "namespaceSelector" in peer
        and "podSelector" not in peer
        and "kubernetes.io/metadata.name" in peer["namespaceSelector"].get("matchLabels", {})
    }


# --- on the test bed ---------------------------------------------------------------------

# The keys the release role writes into app-secrets, with placeholders shaped like real values
# (the app stand-in, like the app, will not start on a DATABASE_URL that is not PostgreSQL's).
APP_SECRETS = {
    "DATABASE_URL": "postgresql://todo:placeholder@db.invalid:5432/todo",
    "BETTER_AUTH_SECRET": "placeholder-better-auth-secret",
    "OPENAI_API_KEY": "sk-placeholder",
    "FRONTEND_DATABASE_URL": "postgresql://frontend:placeholder@db.invalid:5432/todo",
    "REDPANDA_BROKERS": "redpanda.invalid:9092",
    "REDPANDA_USERNAME": "placeholder-user",
    "REDPANDA_PASSWORD": "placeholder-password",
    "REDPANDA_SASL_MECHANISM": "SCRAM-SHA-256",
}
APP_SECRET_KEYS = tuple(APP_SECRETS)


def create_app_namespace(
    cluster, name: str, secrets: bool = True, registry_account: tuple[str, str] | None = None
) -> None:
    """A namespace as the platform role prepares it: Pod Security `restricted` enforced (and
    warned about, so a dry run reports violations), with the two secrets the chart expects.
    `registry_account` (username, password) goes into ghcr-pull-secret: on real nodes, the bed
    registry's, so that the kubelets can pull; otherwise a placeholder."""
    username, password = registry_account or ("ci", "placeholder")
    cluster.kubectl("create", "namespace", name)
    cluster.kubectl(
        "label",
        "namespace",
        name,
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/warn=restricted",
    )
    if secrets:
        literals = [f"--from-literal={k}={v}" for k, v in APP_SECRETS.items()]
        cluster.kubectl("-n", name, "create", "secret", "generic", "app-secrets", *literals)
        cluster.kubectl(
            "-n",
            name,
            "create",
            "secret",
            "docker-registry",
            "ghcr-pull-secret",
            "--docker-server=ghcr.io",
            f"--docker-username={username}",
            f"--docker-password={password}",
        )


def helm_on(cluster, *args: str, check: bool = True, timeout: float = 180):
    return helm("--kubeconfig", str(cluster.kubeconfig), *args, check=check, timeout=timeout)
