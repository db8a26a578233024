"""chart/README.md documents every value, and the environments fit their namespace quotas."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.helm import CHART, SERVICES, by_kind, render_env

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


def _cpu(q: str) -> float:
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def _mem(q: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    return float(q[:-2]) * units[q[-2:]] if q[-2:] in units else float(q)


# The ResourceQuota the platform role puts on each namespace (issue: roles platform/monitoring).
QUOTA = {"staging": (4, 6 * 2**30), "production": (8, 12 * 2**30)}


@pytest.mark.parametrize("env", list(QUOTA))
def test_worst_case_requests_fit_the_namespace_quota(env):
    objs = render_env(env)
    hpas = by_kind(objs, "HorizontalPodAutoscaler")
    cpu = mem = 0.0
    for name, dep in by_kind(objs, "Deployment").items():
        pods = hpas[name]["spec"]["maxReplicas"] if name in hpas else dep["spec"]["replicas"]
        pods += dep["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        template = dep["spec"]["template"]
        (container,) = template["spec"]["containers"]
        requests = container["resources"]["requests"]
        pod_cpu, pod_mem = _cpu(requests["cpu"]), _mem(requests["memory"])
        ann = template["metadata"]["annotations"]
        if ann.get("dapr.io/enabled") == "true":  # the injected daprd container
            pod_cpu += _cpu(ann["dapr.io/sidecar-cpu-request"])
            pod_mem += _mem(ann["dapr.io/sidecar-memory-request"])
        cpu, mem = cpu + pods * pod_cpu, mem + pods * pod_mem
    for pod in by_kind(objs, "Pod").values():  # helm test
        requests = pod["spec"]["containers"][0]["resources"]["requests"]
        cpu, mem = cpu + _cpu(requests["cpu"]), mem + _mem(requests["memory"])
    quota_cpu, quota_mem = QUOTA[env]
    assert cpu <= quota_cpu, f"{env}: {cpu:.2f} CPU requested at peak, quota {quota_cpu}"
    assert mem <= quota_mem, (
        f"{env}: {mem / 2**30:.2f}Gi requested at peak, quota {quota_mem / 2**30}Gi"
    )
