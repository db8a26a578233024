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


def render(release: str, namespace: str, *args: str) -> list[dict]:
    """The objects `helm template` renders (hooks included), parsed. Results are cached."""
    return [d for d in yaml.safe_load_all(_render(release, namespace, tuple(args))) if d]


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
