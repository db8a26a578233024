"""Monitoring and release analysis on REAL nodes: the real prometheus-operator, Prometheus,
Alertmanager and kube-state-metrics (built from their Go modules, installed by the monitoring
role) watch the app stand-in's pods, and `release.yml` judges a release by what Prometheus sees.

The seed's US4 checkpoint, live: the chart's ServiceMonitors are selected and their targets are
up; the stand-in's request counter is queryable per environment; with the 5xx knob at 10%
HighErrorRate goes pending, then firing, and reaches Alertmanager; at 20% CriticalErrorRate; a
crash-looping pod fires PodCrashLooping; the dashboard's queries return series. The alerts' `for:`
and rate window are shortened through chart values (never by editing the rules), and the
ServiceMonitors scrape every 5 s, so the file ends in minutes; Prometheus evaluates its rules
every 30 s, its default.

Then the analysis (issue 16, part 2): a v2 whose backend answers 20% of requests with 500 passes
readiness and the smoke checks (health stays 200) and is rolled back by the analysis, v1 serving
again; a healthy release passes it; check mode and a no-op skip it; a Prometheus that cannot be
reached refuses the release before anything changes; a dry run measures and never rolls back.
Production, as the seed's checkpoint is; a bounded request loop is the users.
"""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest

from plugins.module_utils._conventions import PULL_SECRET_NAME
from tests.ansible_run import run_playbook
from tests.real_nodes_support import RELEASES, RequestLoop, release_pods, service_url

ENV = "production"
RELEASE = RELEASES[ENV]
PROMETHEUS = (
    "/api/v1/namespaces/monitoring/services/monitoring-kube-prometheus-prometheus:9090/proxy"
)
ALERTMANAGER = (
    "/api/v1/namespaces/monitoring/services/monitoring-kube-prometheus-alertmanager:9093/proxy"
)
# Chart values that make the alerts answer in about a minute instead of five.
FAST_MONITORING = {
    "monitoring": {
        "enabled": True,
        "interval": "5s",
        "rules": {
            "rateWindow": "1m",
            "highErrorRate": {"threshold": 0.05, "for": "30s"},
            "criticalErrorRate": {"threshold": 0.15, "for": "30s"},
            "podCrashLooping": {"threshold": 0.2, "for": "30s"},
        },
    }
}
# Three samples ten seconds apart over a 30 s window: 30 s of analysis per release.
ANALYSIS = {
    "app_release_analysis": True,
    "app_release_analysis_interval": 10,
    "app_release_analysis_count": 3,
    "app_release_analysis_window": "30s",
}


def _values(error_rate=None, warmup=False):
    values = json.loads(json.dumps(FAST_MONITORING))
    if warmup:  # a pod label only: the next release without it is a real (healthy) upgrade
        values["global"] = {"podLabels": {"test-warmup": "true"}}
    if error_rate is not None:
        values["backend"] = {"env": {"STANDIN_ERROR_RATE": str(error_rate)}}
    return {"app_release_extra_values": values}


def _get(kube_cluster, path, **query):
    if query:
        path += "?" + urllib.parse.urlencode(query)
    return json.loads(kube_cluster.kubectl("get", "--raw", path).stdout)


def _query(kube_cluster, promql):
    return _get(kube_cluster, PROMETHEUS + "/api/v1/query", query=promql)["data"]["result"]


def _alerts(kube_cluster, name):
    """{state: [labels]} of Prometheus's alerts called `name` in production."""
    out = {}
    for a in _get(kube_cluster, PROMETHEUS + "/api/v1/alerts")["data"]["alerts"]:
        if a["labels"].get("alertname") == name and a["labels"].get("namespace") == ENV:
            out.setdefault(a["state"], []).append(a["labels"])
    return out


def _in_alertmanager(kube_cluster, name):
    alerts = _get(kube_cluster, ALERTMANAGER + "/api/v2/alerts", filter=f'alertname="{name}"')
    return [a for a in alerts if a["labels"].get("namespace") == ENV]


def _wait(what, predicate, limit_s, step_s=3):
    t_end = time.monotonic() + limit_s
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() >= t_end:
            pytest.fail(f"{what}: not within {limit_s} s", pytrace=False)
        time.sleep(step_s)


@pytest.fixture(scope="module")
def users(kube_cluster, release_to):
    """Ten requests a second to the production backend's tasks for the whole file (bounded).

    Production is first released with monitoring on and without analysis, and Prometheus is
    given the time to find the new ServiceMonitors and scrape a window's worth: an analysis
    right after the release that creates them would (rightly) find no data, inconclusive."""
    proc, _report = release_to(ENV, "v1.0.0", _values(warmup=True))
    assert proc.returncode == 0, proc.stdout[-4000:]
    loop = RequestLoop(service_url(kube_cluster, ENV, path="/api/tasks"), rps=10, limit_s=1800)
    with loop:
        rate = (
            f'sum(rate(http_requests_total{{namespace="{ENV}", service="{RELEASE}-backend"}}[30s]))'
        )
        _wait(
            "Prometheus scraping production's backend",
            lambda: _query(kube_cluster, rate + " > 0"),
            240,
        )
        yield loop


@pytest.fixture(scope="module")
def healthy(release_to, users):
    """v1 with monitoring on and fast alerts, released with analysis: (process, report)."""
    return release_to(ENV, "v1.0.0", {**_values(), **ANALYSIS})


def test_a_healthy_release_passes_its_analysis(healthy):
    proc, report = healthy
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert report["outcome"] == "succeeded", report
    analysis = report["analysis"]
    assert analysis["status"] == "passed", analysis
    assert analysis["prometheus"] == (
        "service monitoring/monitoring-kube-prometheus-prometheus:9090 (API server proxy)"
    )
    assert [q["name"] for q in analysis["queries"]] == ["error_rate", "latency_p95"]
    for q in analysis["queries"]:
        assert [s["verdict"] for s in q["samples"]] == ["passed"] * 3, q
        assert f'namespace="{ENV}"' in q["query"] and "[30s]" in q["query"]
    assert analysis["queries_sent"] == 2 + 2 * 3
    # three intervals of 10 s were waited for (the cost is measured in benchmarks/analysis.py)
    assert analysis["seconds"] >= 30, analysis["seconds"]
    assert "analysis: passed" in proc.stdout


def test_the_services_monitors_are_selected_and_their_targets_up(healthy, kube_cluster):
    want = {f"{RELEASE}-{s}" for s in ("backend", "notification", "sse-gateway")}

    def up():
        targets = _get(kube_cluster, PROMETHEUS + "/api/v1/targets", state="active")
        seen = {
            t["labels"].get("service"): t["health"]
            for t in targets["data"]["activeTargets"]
            if t["labels"].get("namespace") == ENV
        }
        return seen if want <= set(seen) and all(seen[s] == "up" for s in want) else None

    seen = _wait("the backend, notification and sse-gateway targets up", up, 120)
    # the frontend and mcp export no metrics: no monitors for them
    assert set(seen) == want, seen


def _both_environments(kube_cluster):
    def look():
        rates = _query(
            kube_cluster, "sum by (namespace, service) (rate(http_requests_total[1m])) > 0"
        )
        return rates if {s["metric"]["namespace"] for s in rates} >= {"staging", ENV} else None

    return look


def test_request_counters_are_queryable_per_environment(healthy, release_to, kube_cluster):
    proc, _report = release_to("staging", "v1.0.0", _values())
    assert proc.returncode == 0, proc.stdout[-4000:]
    staging_health = RequestLoop(service_url(kube_cluster, "staging"), rps=5, limit_s=60)
    with staging_health:
        rates = _wait(
            "http_requests_total from both environments", _both_environments(kube_cluster), 120
        )
    by_env = {}
    for s in rates:
        by_env.setdefault(s["metric"]["namespace"], set()).add(s["metric"]["service"])
    assert f"{RELEASE}-backend" in by_env["production"], by_env
    assert f"{RELEASES['staging']}-backend" in by_env["staging"], by_env
    # a production query sees production only
    prod = _query(kube_cluster, f'sum by (namespace) (http_requests_total{{namespace="{ENV}"}})')
    assert [s["metric"]["namespace"] for s in prod] == [ENV]


def test_the_dashboard_queries_return_series(healthy, kube_cluster):
    out = kube_cluster.kubectl(
        "-n", ENV, "get", "configmaps", "-l", "grafana_dashboard=1", "-o", "json"
    )  # fmt: skip
    (cm,) = json.loads(out.stdout)["items"]
    dashboard = json.loads(next(iter(cm["data"].values())))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) == 5
    for expr in exprs:
        # Grafana's variables as Grafana would substitute them for this environment
        promql = (
            expr.replace("$__rate_interval", "1m")
            .replace("$namespace", ENV)
            .replace("$service", ".*")
        )
        series = _wait(f"series for {promql}", lambda q=promql: _query(kube_cluster, q), 60)
        assert any(s["metric"].get("service") == f"{RELEASE}-backend" for s in series), series


def test_a_release_serving_errors_is_rolled_back_by_its_analysis(
    healthy, release_to, kube_cluster, users
):
    before = len(users.results)
    proc, report = release_to(ENV, "v2.0.0", {**_values(error_rate=0.2), **ANALYSIS})
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert report["outcome"] == "rolled back", report
    # readiness and the smoke checks passed: health stays 200 at any error rate
    assert report["smoke"]["status"] == "passed", report["smoke"]
    analysis = report["analysis"]
    assert analysis["status"] == "failed", analysis
    (error_rate, _latency) = analysis["queries"]
    assert error_rate["verdict"] == "failed"
    # failure_limit 0: the first sample over the threshold ends it
    (sample,) = error_rate["samples"]
    assert sample["verdict"] == "failed" and sample["value"] > 0.05, sample
    assert sample["threshold"] == 0.05 and sample["time"].endswith("Z")
    assert "the release analysis failed (failed: error_rate failed" in report["error"]
    assert f"rolled back to revision {report['revision_before']}" in report["error"]
    assert report["app_version_live"] == "v1.0.0"
    # v1 serves again, and the users saw v2's errors only while it was live
    backends = release_pods(kube_cluster, ENV, "backend")
    assert backends and all(
        c["image"].endswith(":v1.0.0")
        for p in backends
        for c in p["spec"]["containers"]
        if c["name"] == "backend"
    ), [c["image"] for p in backends for c in p["spec"]["containers"]]
    _wait(
        "v1 answering the users again",
        lambda: [v for _s, v in users.results[before:]][-20:].count("v1.0.0") == 20,
        60,
    )


def test_the_report_shows_every_sample_in_markdown(kube_cluster):
    """The rolled-back release's record in the cluster keeps the samples table."""
    out = kube_cluster.kubectl(
        "-n", ENV, "get", "configmaps", "-l", "hackathon-todo.dev/outcome=rolled-back",
        "-o", "json",
    )  # fmt: skip
    records = json.loads(out.stdout)["items"]
    assert records, "no record of the rolled-back release"
    md = max(records, key=lambda c: c["metadata"]["creationTimestamp"])["data"]["report.md"]
    assert "| analysis | failed: error_rate failed" in md
    assert "| analysis query | time | value | threshold | verdict |" in md
    assert "| error_rate |" in md and "| above 0.05 | failed |" in md
    assert '`error_rate`: `(sum(rate(http_requests_total{namespace="production"' in md


def test_check_mode_and_a_no_op_skip_the_analysis(release_to, kube_cluster, tmp_path):
    extra = {**_values(), **ANALYSIS}
    check = run_playbook(
        "release.yml", "--check", "-e", f"target={ENV}", "-e", "image_tag=v1.0.0",
        "-e", json.dumps(extra), env={"HTD_REPORT_DIR": str(tmp_path)},
    )  # fmt: skip
    assert check.returncode == 0, check.stdout[-3000:]
    report = json.loads((tmp_path / f"release-{ENV}.json").read_text())
    assert report["analysis"] == {"status": "skipped", "summary": "check mode"}
    # the live revision is the healthy v1 with these values: a no-op, nothing to analyse
    proc, report = release_to(ENV, "v1.0.0", extra)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report["outcome"] == "unchanged", report
    assert report["analysis"] == {
        "status": "skipped",
        "summary": "no-op release: nothing new to analyse",
    }


def test_an_unreachable_prometheus_refuses_the_release(release_to):
    proc, report = release_to(
        ENV,
        "v2.0.0",
        {
            **_values(),
            **ANALYSIS,
            "app_release_analysis_prometheus_service": "monitoring/no-such-prometheus:9090",
        },
    )
    assert proc.returncode != 0
    assert report["outcome"] == "failed"
    assert report["error"].startswith("Nothing was changed. the release analysis cannot reach")
    assert "monitoring/no-such-prometheus:9090" in report["error"]
    assert report["revision_after"] == report["revision_before"]


def test_ten_percent_errors_fire_high_error_rate_into_alertmanager(release_to, kube_cluster, users):
    # a dry run: the analysis sees the errors and reports them, the release stays
    proc, report = release_to(
        ENV, "v1.0.0", {**_values(error_rate=0.1), **ANALYSIS, "app_release_analysis_dry_run": True}
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert report["outcome"] == "succeeded", report
    analysis = report["analysis"]
    assert analysis["dry_run"] is True
    assert len(analysis["queries"][0]["samples"]) == 3  # a dry run measures every sample
    assert any("Analysis (dry run) " in m for m in report["messages"]), report["messages"]
    backend = f"{RELEASE}-backend"

    _wait(
        "HighErrorRate pending",
        lambda: any(
            a["service"] == backend
            for a in _alerts(kube_cluster, "HighErrorRate").get("pending", [])
            + _alerts(kube_cluster, "HighErrorRate").get("firing", [])
        ),
        150,
    )
    firing = _wait(
        "HighErrorRate firing",
        lambda: [
            a
            for a in _alerts(kube_cluster, "HighErrorRate").get("firing", [])
            if a["service"] == backend
        ],
        150,
    )
    assert firing[0]["severity"] == "warning"
    received = _wait(
        "HighErrorRate in Alertmanager", lambda: _in_alertmanager(kube_cluster, "HighErrorRate"), 90
    )
    assert received[0]["labels"]["service"] == backend
    assert received[0]["annotations"]["summary"] == (
        f"{backend}: more than 5% of requests fail with 5xx"
    )
    assert received[0]["status"]["state"] == "active"
    # 10% stays under the critical threshold (15%)
    assert not _alerts(kube_cluster, "CriticalErrorRate").get("firing"), _alerts(
        kube_cluster, "CriticalErrorRate"
    )


def test_twenty_percent_errors_fire_critical_error_rate(release_to, kube_cluster, users):
    proc, report = release_to(ENV, "v1.0.0", _values(error_rate=0.2))
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert report["analysis"]["status"] == "skipped"  # analysis is off by default
    backend = f"{RELEASE}-backend"
    firing = _wait(
        "CriticalErrorRate firing",
        lambda: [
            a
            for a in _alerts(kube_cluster, "CriticalErrorRate").get("firing", [])
            if a["service"] == backend
        ],
        240,
    )
    assert firing[0]["severity"] == "critical"
    _wait(
        "CriticalErrorRate in Alertmanager",
        lambda: _in_alertmanager(kube_cluster, "CriticalErrorRate"),
        90,
    )


CRASHING_POD = f"{RELEASE}-crashloop-probe"


def test_a_crash_looping_pod_fires_pod_crash_looping(kube_cluster):
    """A pod of the backend's image without its settings: the stand-in refuses to start (exit 1),
    as the real service does, and the kubelet restarts it again and again."""
    image = next(
        c["image"] for p in release_pods(kube_cluster, ENV, "backend")
        for c in p["spec"]["containers"] if c["name"] == "backend"
    )  # fmt: skip
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": CRASHING_POD, "namespace": ENV, "labels": {"test": "crashloop"}},
        "spec": {
            "imagePullSecrets": [{"name": PULL_SECRET_NAME}],
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "app",
                    "image": image,
                    "env": [{"name": "PORT", "value": "8000"}],
                    "resources": {
                        "requests": {"cpu": "10m", "memory": "16Mi"},
                        "limits": {"cpu": "50m", "memory": "32Mi"},
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }
    kube_cluster.kubectl("apply", "-f", "-", input=json.dumps(pod))
    try:
        firing = _wait(
            "PodCrashLooping firing",
            lambda: [
                a
                for a in _alerts(kube_cluster, "PodCrashLooping").get("firing", [])
                if a.get("pod") == CRASHING_POD
            ],
            300,
            step_s=5,
        )
        assert firing[0]["container"] == "app" and firing[0]["severity"] == "critical"
        received = _wait(
            "PodCrashLooping in Alertmanager",
            lambda: [
                a
                for a in _in_alertmanager(kube_cluster, "PodCrashLooping")
                if a["labels"].get("pod") == CRASHING_POD
            ],
            90,
        )
        assert received[0]["annotations"]["summary"] == f"{CRASHING_POD} is crash looping"
    finally:
        kube_cluster.kubectl("-n", ENV, "delete", "pod", CRASHING_POD, "--wait=false", check=False)


def test_production_back_to_its_plain_values(release_to, users):
    """Leave production as the files after this one expect it: v1, the chart's own values."""
    proc, _report = release_to(ENV, "v1.0.0")
    assert proc.returncode == 0, proc.stdout[-4000:]
    users.stop()
