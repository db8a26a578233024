"""The seed's autoscaling checkpoint on REAL nodes: load on the production backend raises the real
CPU its containers use, metrics-server reads it from the real kubelets, and the chart's
HorizontalPodAutoscaler adds pods within 2 minutes, then removes them once the load stops and the
scale-down window has passed.

Production's scale-down window is 5 minutes and one pod per 2 minutes (chart/values.yaml
`hpa.behavior`); the test shortens it through that value (never by editing the chart) so that it
ends in minutes. Scale-up keeps the chart's own policy. Slow: about 4 minutes.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.real_nodes_support import RELEASES, RequestLoop, release_pods, service_url

ENV = "production"
HPA = f"{RELEASES[ENV]}-backend"
SCALE_UP_WITHIN_S = 120  # the seed's checkpoint
SHORT_SCALE_DOWN = {
    "hpa": {
        "behavior": {
            "scaleDown": {
                "stabilizationWindowSeconds": 30,
                "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
            }
        }
    }
}


def _hpa(kube_cluster):
    out = kube_cluster.kubectl("-n", ENV, "get", "hpa", HPA, "-o", "json")
    return json.loads(out.stdout)


def _ready_backends(kube_cluster):
    return [
        p
        for p in release_pods(kube_cluster, ENV, "backend")
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p["status"].get("conditions", [])
        )
    ]


def _wait(what, predicate, limit_s, step_s=5):
    t_end = time.monotonic() + limit_s
    while time.monotonic() < t_end:
        got = predicate()
        if got:
            return got
        time.sleep(step_s)
    pytest.fail(f"{what}: not within {limit_s}s", pytrace=False)


@pytest.mark.slow
def test_the_backend_autoscaler_adds_pods_under_cpu_load_and_removes_them(release_to, kube_cluster):
    proc, report = release_to(ENV, "v1.0.0", {"app_release_extra_values": SHORT_SCALE_DOWN})
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert report["smoke"]["status"] == "passed", report["smoke"]
    hpa = _hpa(kube_cluster)
    floor = hpa["spec"]["minReplicas"]
    assert (floor, hpa["spec"]["maxReplicas"]) == (2, 6), hpa["spec"]

    # metrics-server serves the backend pods' CPU, scraped from the real kubelets
    def cpu_known():
        hpa = _hpa(kube_cluster)
        metrics = hpa.get("status", {}).get("currentMetrics") or []
        # before the first reading the entry is there but empty ({"type": ""})
        return any(
            (m.get("resource") or {}).get("current", {}).get("averageUtilization") is not None
            for m in metrics
        )

    _wait("the HPA reads the backend's CPU from metrics-server", cpu_known, 120)

    burn = service_url(kube_cluster, ENV, path="/_standin/burn?ms=50")
    with RequestLoop(burn, rps=5, workers=4, limit_s=SCALE_UP_WITHIN_S + 60, timeout=5) as load:
        started = time.monotonic()
        _wait(
            f"the HPA adds backend pods under load (utilisation: {_hpa(kube_cluster)['status']})",
            lambda: _hpa(kube_cluster)["status"].get("desiredReplicas", 0) > floor,
            SCALE_UP_WITHIN_S,
        )
        scaled_after = time.monotonic() - started
        grown = _wait(
            "the added backend pods become Ready on the real nodes",
            lambda: len(_ready_backends(kube_cluster)) > floor and _ready_backends(kube_cluster),
            90,
        )
    assert load.results and len(load.failures()) < len(load.results), load.results[:5]
    print(f"scaled up after {scaled_after:.0f}s of load; {len(grown)} backend pods Ready")
    assert {p["spec"]["nodeName"] for p in grown}, grown

    stopped = time.monotonic()
    _wait(
        "the HPA removes the added pods after the scale-down window",
        lambda: (
            _hpa(kube_cluster)["status"].get("currentReplicas") == floor
            and len(release_pods(kube_cluster, ENV, "backend")) == floor
        ),
        240,
    )
    scaled_down_after = time.monotonic() - stopped
    print(f"back to {floor} pods {scaled_down_after:.0f}s after the load stopped")
    assert scaled_down_after >= 30  # not before the (shortened) stabilization window
