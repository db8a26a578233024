"""`helm lint --strict` passes with the default, staging and production values."""

from __future__ import annotations

import pytest

from tests.helm import CHART, ENVIRONMENTS, helm


@pytest.mark.parametrize("env", ["default", *ENVIRONMENTS])
def test_lint_strict(env):
    args = ENVIRONMENTS[env][2] if env != "default" else ()
    res = helm("lint", "--strict", str(CHART), *args, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in res.stdout
    assert "[WARNING]" not in res.stdout and "[ERROR]" not in res.stdout


def test_lint_fails_on_what_the_schema_rejects():
    # Lint validates values against the schema too, so CI catches bad values files early.
    res = helm("lint", "--strict", str(CHART), "--set", "backend.replicas=0", check=False)
    assert res.returncode != 0
    assert "/backend/replicas" in res.stdout + res.stderr


def test_helm_assumes_the_kubernetes_it_was_built_against():
    # A helm built without upstream's version ldflags assumes v1.20 and fails kubeVersion.
    res = helm("template", "t", str(CHART), "--show-only", "templates/service.yaml")
    assert "kind: Service" in res.stdout
