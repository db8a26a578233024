"""Staging's overnight scale-to-zero, as the chart renders it: the containers' argv is what the
kubelet execs (no shell: the upstream kubectl image is distroless), the evening job scales every
Deployment of the release to 0 and the morning job gives each the count the release declares.
Issue 13 #4: the platform role ran `/bin/sh -ec` in that image, which has no /bin/sh."""

from __future__ import annotations

import pathlib

import pytest

from tests.helm import by_kind, render_env

ROOT = pathlib.Path(__file__).resolve().parents[3]
SHELLS = {"sh", "bash", "ash", "dash", "zsh"}


def _jobs(env: str, *extra: str) -> dict[str, dict]:
    return {
        name.rsplit("-", 2)[-2] + "-" + name.rsplit("-", 1)[-1]: cron
        for name, cron in by_kind(render_env(env, *extra), "CronJob").items()
    }


def _containers(cron: dict) -> list[dict]:
    return cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]


def _declared_replicas(env: str, *extra: str) -> dict[str, int]:
    objs = render_env(env, *extra)
    hpa_min = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]["minReplicas"]
        for h in by_kind(objs, "HorizontalPodAutoscaler").values()
    }
    return {
        name: d["spec"].get("replicas", hpa_min.get(name))
        for name, d in by_kind(objs, "Deployment").items()
    }


def _scaled(cron: dict) -> dict[str, int]:
    """deployment name -> the replica count the job's kubectl calls set."""
    out = {}
    for c in _containers(cron):
        verb, namespace, replicas, *objects = c["args"]
        assert verb == "scale" and namespace == "--namespace=staging"
        count = int(replicas.removeprefix("--replicas="))
        for obj in objects:
            kind, name = obj.split("/")
            assert kind == "deployment" and name not in out
            out[name] = count
    return out


def test_every_container_execs_kubectl_itself():
    jobs = _jobs("staging")
    assert set(jobs) == {"scale-down", "scale-up"}
    for cron in jobs.values():
        for c in _containers(cron):
            assert c["command"] == ["/bin/kubectl"], c["command"]
            argv = c["command"] + c["args"]
            assert not SHELLS & {pathlib.PurePosixPath(a).name for a in argv}
            assert "-c" not in argv and "-ec" not in argv


def test_the_evening_scales_every_deployment_to_zero():
    assert _scaled(_jobs("staging")["scale-down"]) == dict.fromkeys(
        _declared_replicas("staging"), 0
    )


@pytest.mark.parametrize(
    "extra",
    [
        (),
        # an HPA: the morning brings back its minReplicas; mixed counts need one call per count
        ("--set", "hpa.enabled=true", "--set", "backend.hpa.minReplicas=2",
         "--set", "backend.hpa.maxReplicas=4",
         "--set", "backend.hpa.targetCPUUtilizationPercentage=70",
         "--set", "frontend.replicas=3"),
    ],
)  # fmt: skip
def test_the_morning_restores_the_declared_replicas(extra):
    declared = _declared_replicas("staging", *extra)
    assert all(isinstance(n, int) and n > 0 for n in declared.values()), declared
    assert _scaled(_jobs("staging", *extra)["scale-up"]) == declared


def test_the_service_account_may_scale_deployments_of_its_namespace_only():
    objs = render_env("staging")
    (role,) = by_kind(objs, "Role").values()
    assert role["metadata"]["namespace"] == "staging"
    assert role["rules"] == [
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]},
        {
            "apiGroups": ["apps"],
            "resources": ["deployments/scale"],
            "verbs": ["get", "patch", "update"],
        },
    ]
    assert not by_kind(objs, "ClusterRole") and not by_kind(objs, "ClusterRoleBinding")
    (sa,) = (s for n, s in by_kind(objs, "ServiceAccount").items() if n.endswith("scale-to-zero"))
    for cron in _jobs("staging").values():
        pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == sa["metadata"]["name"]


def test_production_has_no_scale_to_zero():
    assert not by_kind(render_env("production"), "CronJob")


def test_the_kubectl_image_follows_the_pinned_kubernetes_version():
    versions = dict(
        line.split("=", 1)
        for line in (ROOT / "testbed/versions.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    images = {c["image"] for cron in _jobs("staging").values() for c in _containers(cron)}
    assert images == {f"registry.k8s.io/kubectl:{versions['KUBERNETES_VERSION']}"}
