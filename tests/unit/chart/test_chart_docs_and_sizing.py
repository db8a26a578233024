"""chart/README.md documents every value, and the environments fit their namespace quotas
(the peak the runbook states is the one the chart renders)."""

from __future__ import annotations

import re

import pytest
import yaml

from plugins.module_utils._quota import quantity
from tests.helm import CHART, ROOT, SERVICES, by_kind, render_env

# Keys whose value is a map of free-form entries (documented as a whole, not key by key).
OPAQUE = {
    "labels", "prometheusPodLabels", "secretEnv", "behavior", "podSecurityContext",
    "securityContext", "readiness", "liveness", "requests", "limits", "podLabels",
    "podAnnotations", "annotations", "env", "config", "nodeSelector", "affinity", "resources",
}  # fmt: skip


def _paths(values: dict, prefix: str = ""):
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value and key not in OPAQUE:
            yield from _paths(value, path)
        else:
            yield path


def _documented_as(path: str) -> str:
    """backend.port is documented once for all services, as <service>.port."""
    head, sep, rest = path.partition(".")
    return f"<service>.{rest}" if head in SERVICES and sep else path


def test_readme_documents_every_value():
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    readme = (CHART / "README.md").read_text()
    documented = set(re.findall(r"^\| `([^`]+)` \|", readme, flags=re.M))
    known = {_documented_as(path) for path in _paths(values)}
    missing = known - documented
    assert not missing, f"values missing from chart/README.md: {sorted(missing)}"
    # ...and documents nothing that does not exist.
    hpa_keys = {"<service>.hpa.minReplicas", "<service>.hpa.maxReplicas",
                "<service>.hpa.targetCPUUtilizationPercentage"}  # fmt: skip
    assert documented - known - hpa_keys == set()


# The ResourceQuota and LimitRange the platform role puts on each namespace: read from the role's
# defaults, the one place they are declared.
PLATFORM = yaml.safe_load((ROOT / "roles/platform/defaults/main.yml").read_text())
QUOTAS = PLATFORM["platform_env_quotas"]
DEFAULTS = PLATFORM["platform_env_limit_range"]
DEPLOY_RUNBOOK = ROOT / "docs/runbooks/deploy.md"


def _container_needs(resources: dict) -> dict[str, float]:
    """requests/limits of one container; the LimitRange's defaults where it declares none."""
    req = (resources or {}).get("requests") or DEFAULTS["default_request"]
    lim = (resources or {}).get("limits") or DEFAULTS["default_limit"]
    return {
        "requests.cpu": quantity(req["cpu"]),
        "requests.memory": quantity(req["memory"]),
        "limits.cpu": quantity(lim["cpu"]),
        "limits.memory": quantity(lim["memory"]),
    }


def _pod_needs(template: dict) -> dict[str, float]:
    total = dict.fromkeys(("requests.cpu", "requests.memory", "limits.cpu", "limits.memory"), 0.0)
    for container in template["spec"]["containers"]:
        for key, value in _container_needs(container.get("resources")).items():
            total[key] += value
    ann = template["metadata"].get("annotations") or {}
    if ann.get("dapr.io/enabled") == "true":  # the injected daprd container
        sidecar = _container_needs(
            {
                "requests": {"cpu": ann["dapr.io/sidecar-cpu-request"],
                             "memory": ann["dapr.io/sidecar-memory-request"]},
                "limits": {"cpu": ann["dapr.io/sidecar-cpu-limit"],
                           "memory": ann["dapr.io/sidecar-memory-limit"]},
            }
        )  # fmt: skip
        for key, value in sidecar.items():
            total[key] += value
    return total


def peak(env: str) -> dict[str, float]:
    """What the environment's release holds at its worst moment: every Deployment at its HPA's
    maxReplicas plus the rollout's surge pods, the helm test pod, and one pod per CronJob."""
    objs = render_env(env)
    hpas = by_kind(objs, "HorizontalPodAutoscaler")
    need = dict.fromkeys(("requests.cpu", "requests.memory", "limits.cpu", "limits.memory"), 0.0)
    need["pods"] = 0

    def add(template, count):
        for key, value in _pod_needs(template).items():
            need[key] += count * value
        need["pods"] += count

    for name, dep in by_kind(objs, "Deployment").items():
        pods = hpas[name]["spec"]["maxReplicas"] if name in hpas else dep["spec"]["replicas"]
        add(dep["spec"]["template"], pods + dep["spec"]["strategy"]["rollingUpdate"]["maxSurge"])
    for pod in by_kind(objs, "Pod").values():  # helm test
        add(pod, 1)
    for job in by_kind(objs, "CronJob").values():  # staging's scale-to-zero
        add(job["spec"]["jobTemplate"]["spec"]["template"], 1)
    return need


@pytest.mark.parametrize("env", list(QUOTAS))
def test_the_peak_fits_the_namespace_quota_with_room_to_spare(env):
    need, hard = peak(env), {k: quantity(v) for k, v in QUOTAS[env].items()}
    for key, value in need.items():
        assert value <= hard[key], f"{env}: {key} {value:g} at peak, quota {QUOTAS[env][key]}"
    # The runbook promises room for kubectl debug, one-off Jobs and a rollout that overlaps a
    # scale-up: at the peak, at least a third of the requests and of the pod count is left.
    for key in ("requests.cpu", "requests.memory", "pods"):
        assert need[key] <= hard[key] * 2 / 3, f"{env}: {key} leaves less than a third"


def _runbook_rows(heading: str) -> dict[str, list[str]]:
    section = DEPLOY_RUNBOOK.read_text().split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return {
        cells[0]: cells[1:]
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| namespace") and "---" not in line
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }


def _cpu_mem(cpu: float, mem: float) -> str:
    return f"{cpu:g} / {mem / 2**30:.1f}Gi"


@pytest.mark.parametrize("env", list(QUOTAS))
def test_the_runbooks_quota_table_is_the_roles_and_the_charts(env):
    """docs/runbooks/deploy.md states the quota and the peak it was sized for: both must be what
    the role declares and the chart renders."""
    rows = _runbook_rows("Quotas")
    quota, need = QUOTAS[env], peak(env)
    assert rows[env] == [
        f"{quota['requests.cpu']} / {quota['requests.memory']}",
        f"{quota['limits.cpu']} / {quota['limits.memory']}",
        quota["pods"],
    ]
    assert rows[f"{env} at peak"] == [
        _cpu_mem(need["requests.cpu"], need["requests.memory"]),
        _cpu_mem(need["limits.cpu"], need["limits.memory"]),
        str(need["pods"]),
    ]
