"""Quota headroom for a rollout's peak: replicas + surge, sidecars, HPA, pods given back."""

from __future__ import annotations

import pytest

from plugins.module_utils._quota import quantity, quota_headroom


def deployment(name, replicas=None, cpu="100m", memory="128Mi", dapr=True):
    template = {
        "metadata": {
            "annotations": {
                "dapr.io/enabled": "true",
                "dapr.io/sidecar-cpu-request": "50m",
                "dapr.io/sidecar-memory-request": "64Mi",
            }
            if dapr
            else {}
        },
        "spec": {"containers": [{"resources": {"requests": {"cpu": cpu, "memory": memory}}}]},
    }
    spec = {"template": template}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def quota(cpu, memory, pods, used_cpu="0", used_memory="0", used_pods="0"):
    hard = {"requests.cpu": cpu, "requests.memory": memory, "pods": pods}
    used = {"requests.cpu": used_cpu, "requests.memory": used_memory, "pods": used_pods}
    return {"status": {"hard": hard, "used": used}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("250m", 0.25), ("2", 2.0), ("192Mi", 192 * 2**20), ("1Gi", 2**30), ("1.5", 1.5), ("1k", 1e3)],
)
def test_quantity(value, expected):
    assert quantity(value) == pytest.approx(expected)


def test_quantity_rejects_garbage():
    with pytest.raises(ValueError, match="not a Kubernetes quantity: '12 cores'"):
        quantity("12 cores")


def test_the_filter_reports_garbage_as_a_filter_error():
    quota = {"status": {"hard": {"requests.cpu": "12 cores"}, "used": {}}}
    with pytest.raises(ValueError, match="12 cores"):
        quota_headroom([], quota)


def test_peak_is_replicas_plus_surge_with_sidecars():
    docs = [deployment("a", replicas=2), deployment("b", replicas=1, dapr=False)]
    room = quota_headroom(docs, quota("1", "1Gi", "10"))
    # a: 3 pods x (100m + 50m); b: 2 pods x 100m
    assert room["need"] == {"cpu": 650, "memory": 3 * 192 * 2**20 + 2 * 128 * 2**20, "pods": 5}
    assert room["fits"]


def test_hpa_owned_deployment_counts_the_larger_of_min_and_live():
    hpa = {
        "kind": "HorizontalPodAutoscaler",
        "spec": {"scaleTargetRef": {"name": "a"}, "minReplicas": 2},
    }
    docs = [deployment("a"), hpa]
    assert quota_headroom(docs, quota("10", "10Gi", "100"))["need"]["pods"] == 3
    room = quota_headroom(docs, quota("10", "10Gi", "100"), live_replicas={"a": 4})
    assert room["need"]["pods"] == 5


def test_running_pods_of_the_release_are_given_back():
    docs = [deployment("a", replicas=2, dapr=False)]  # peak 3 x 100m = 300m
    running = [
        {"spec": {"containers": [{"resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}
    ] * 2
    full = quota("400m", "1Gi", "10", used_cpu="200m", used_memory="256Mi", used_pods="2")
    assert not quota_headroom(docs, full)["fits"]
    room = quota_headroom(docs, full, running)
    assert room["fits"], room["msg"]


def test_short_quota_says_what_is_short():
    room = quota_headroom([deployment("a", replicas=4)], quota("500m", "10Gi", "100"))
    assert not room["fits"]
    assert "short of: cpu" in room["msg"] and "750m needed, 500m available" in room["msg"]


def test_no_quota_means_unlimited():
    room = quota_headroom([deployment("a", replicas=40)], {})
    assert room["fits"] and room["available"] == {"cpu": None, "memory": None, "pods": None}
