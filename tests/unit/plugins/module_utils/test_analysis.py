"""Release analysis against a real Prometheus (the bed's binary on loopback) scraping an
exporter of ours every second: verdicts, limits, no data, a refused query, an unreachable
Prometheus, dry runs and the report's samples.

The flow around it (rollback on breach, the lock, check mode, no-op) is proven with the app on
real nodes: tests/integration/real_nodes/test_monitoring_real.py.
"""

from __future__ import annotations

import pytest
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _analysis

from tests.prometheus_support import free_port, settle

OPTIONS = {
    "enabled": True,
    "url": "",
    "service": "",
    "interval": 1.5,
    "count": 3,
    "window": "5s",
    "failure_limit": 0,
    "inconclusive_limit": 0,
    "on_inconclusive": "rollback",
    "dry_run": False,
    "queries": [],
}
VARIABLES = {"namespace": "production", "release": "todo-app"}


def _analysis_of(prometheus, **change):
    a = dict(OPTIONS, url=prometheus.url, **change)
    assert _analysis.check_options(a) is None
    return _analysis.Analysis(a, _analysis.url_transport(a["url"]), VARIABLES)


def test_a_healthy_release_passes_every_sample(exporter, prometheus):
    settle(exporter, prometheus, 0.0)
    run = _analysis_of(prometheus)
    run.validate()
    r = run.run()
    assert r["status"] == "passed", r["summary"]
    assert [q["name"] for q in r["queries"]] == ["error_rate", "latency_p95"]
    for q in r["queries"]:
        assert [s["verdict"] for s in q["samples"]] == ["passed"] * 3
        assert "$" not in q["query"] and 'namespace="production"' in q["query"]
        assert "[5s]" in q["query"]
    (error_rate, latency) = r["queries"]
    assert all(s["value"] == 0 for s in error_rate["samples"])
    # every request took 20 ms: p95 interpolates inside the 10-25 ms bucket
    assert all(0.01 < s["value"] <= 0.025 for s in latency["samples"])
    assert r["queries_sent"] == 2 + 2 * 3  # validate once, then three rounds
    assert r["seconds"] >= 1.5 * 3


def test_twenty_percent_errors_fail_at_the_first_sample(exporter, prometheus):
    settle(exporter, prometheus, 0.2)
    r = _analysis_of(prometheus).run()
    assert r["status"] == "failed"
    (error_rate, latency) = r["queries"]
    assert error_rate["verdict"] == "failed" and latency["verdict"] == "passed"
    # failure_limit 0: the first failed sample settles it, no need to wait for the others
    assert len(error_rate["samples"]) == 1
    (sample,) = error_rate["samples"]
    assert sample["value"] == pytest.approx(0.2, abs=0.01)
    assert sample["threshold"] == 0.05 and sample["verdict"] == "failed"
    assert sample["time"].endswith("Z")
    assert r["summary"].startswith("failed: error_rate failed (worst 0.2")
    assert "1 of 1 samples failed" in r["summary"]


def test_a_failure_limit_lets_that_many_failed_samples_pass(exporter, prometheus):
    settle(exporter, prometheus, 0.2)
    r = _analysis_of(prometheus, failure_limit=2, count=3).run()
    # all three failed: more than two
    assert [s["verdict"] for s in r["queries"][0]["samples"]] == ["failed"] * 3
    assert r["status"] == "failed"
    r = _analysis_of(
        prometheus,
        failure_limit=2,
        count=3,
        queries=[
            {"name": "errors", "query": OPTIONS_QUERY, "threshold": 0.25},
        ],
    ).run()
    assert r["status"] == "passed"


OPTIONS_QUERY = (
    'sum(rate(http_requests_total{namespace="$namespace", status="500"}[$window]))'
    '/ sum(rate(http_requests_total{namespace="$namespace"}[$window]))'
)


def test_a_dry_run_measures_every_sample_even_after_a_failure(exporter, prometheus):
    settle(exporter, prometheus, 0.2)
    r = _analysis_of(prometheus, dry_run=True, count=2).run()
    assert r["status"] == "failed" and r["dry_run"] is True
    assert len(r["queries"][0]["samples"]) == 2


def test_no_data_is_inconclusive_never_a_pass(exporter, prometheus):
    # staging has no series on this Prometheus at all
    a = dict(OPTIONS, url=prometheus.url, count=2)
    run = _analysis.Analysis(
        a, _analysis.url_transport(a["url"]), dict(VARIABLES, namespace="staging")
    )
    r = run.run()
    assert r["status"] == "inconclusive"
    for q in r["queries"]:
        assert q["verdict"] == "inconclusive"
        assert [s["value"] for s in q["samples"]] == [None, None]
        assert q["samples"][0]["error"] == "no data: the query returned no series"
    # the inconclusive limit tolerates that many samples without data
    r = _analysis.Analysis(
        dict(a, inconclusive_limit=2),
        _analysis.url_transport(a["url"]),
        dict(VARIABLES, namespace="staging"),
    ).run()
    assert r["status"] == "passed"


def test_nan_from_no_requests_is_no_data(prometheus):
    # 0/0: a window without requests
    run = _analysis_of(
        prometheus, count=1, queries=[{"name": "nan", "query": "0/0", "threshold": 1}]
    )
    r = run.run()
    (sample,) = r["queries"][0]["samples"]
    assert sample["verdict"] == "inconclusive" and "NaN" in sample["error"]


def test_direction_below_and_the_worst_series_decides(exporter, prometheus):
    run = _analysis_of(
        prometheus,
        count=1,
        queries=[
            {"name": "targets_up", "query": 'up{job="app"}', "threshold": 1, "direction": "below"},
            {"name": "scrapes", "query": 'up{job="app"} * 2', "threshold": 3, "direction": "below"},
        ],
    )
    r = run.run()
    (up, scrapes) = r["queries"]
    assert up["verdict"] == "passed" and up["samples"][0]["value"] == 1
    assert up["samples"][0]["labels"]["job"] == "app"
    assert scrapes["verdict"] == "failed" and scrapes["samples"][0]["value"] == 2


def test_a_query_prometheus_refuses_is_a_configuration_error(prometheus):
    run = _analysis_of(
        prometheus, queries=[{"name": "typo", "query": "sum(rate(x[5m])", "threshold": 1}]
    )
    with pytest.raises(_analysis.PrometheusError) as err:
        run.validate()
    assert err.value.kind == "query"
    assert "the analysis query typo is refused by Prometheus (bad_data:" in str(err.value)
    range_query = [{"name": "matrix", "query": "up[1m]", "threshold": 1}]
    with pytest.raises(_analysis.PrometheusError) as err:
        _analysis_of(prometheus, queries=range_query).validate()
    assert err.value.kind == "query" and "not a matrix" in str(err.value)


def test_an_unreachable_prometheus_is_unreachable_then_inconclusive():
    a = dict(OPTIONS, url=f"http://127.0.0.1:{free_port()}", interval=0.2, count=2)
    run = _analysis.Analysis(a, _analysis.url_transport(a["url"], timeout=2), VARIABLES)
    with pytest.raises(_analysis.PrometheusError) as err:
        run.validate()
    assert err.value.kind == "unreachable" and "127.0.0.1" in str(err.value)
    r = run.run()
    assert r["status"] == "inconclusive"
    assert all(
        s["verdict"] == "inconclusive" and "refused" in s["error"].lower()
        for q in r["queries"]
        for s in q["samples"]
    )


def test_the_report_shows_every_sample_and_the_query(exporter, prometheus):
    settle(exporter, prometheus, 0.2)
    r = _analysis_of(prometheus, count=2, failure_limit=1).run()
    md = "\n".join(_analysis.render_markdown(r))
    assert md.count("| error_rate |") == 2 and md.count("| latency_p95 |") == 2
    assert "| above 0.05 | failed |" in md
    assert '- `error_rate`: `(sum(rate(http_requests_total{namespace="production"' in md


def test_credentials_in_the_url_never_reach_the_report():
    get = _analysis.url_transport("https://reader:s3cret@prometheus.example.com/")
    assert "s3cret" not in get.where and get.where == "https://***@prometheus.example.com"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({}, "exactly one of url"),
        ({"url": "http://p:9090", "service": "monitoring/p:9090"}, "exactly one of url"),
        ({"service": "monitoring-p:9090"}, "analysis.service must be namespace/name:port"),
        ({"url": "prometheus:9090"}, "analysis.url must be an http:// or https:// URL"),
        ({"url": "http://p", "count": 0}, "analysis.count at least 1"),
        ({"url": "http://p", "failure_limit": 3}, "must be below analysis.count (3)"),
        ({"url": "http://p", "window": "five"}, "analysis.window must be a Prometheus duration"),
        (
            {"url": "http://p", "queries": [{"name": "a", "query": "up", "threshold": "x"}]},
            "numeric threshold",
        ),
        (
            {"url": "http://p", "queries": [{"name": "a", "query": "up", "threshold": 1}] * 2},
            "the name 'a' is used twice",
        ),
        (
            {
                "url": "http://p",
                "queries": [{"name": "a", "query": 'up{ns="$ns"}', "threshold": 1}],
            },
            "uses unknown variables $ns; known: $namespace, $release, $window",
        ),
        ({"service": "monitoring/monitoring-kube-prometheus-prometheus:9090"}, None),
        ({"service": "monitoring/prometheus-operated:web"}, None),
    ],
)
def test_options(change, message):
    problem = _analysis.check_options(dict(OPTIONS, **change))
    if message is None:
        assert problem is None
    else:
        assert problem and message in problem, problem


def test_variables_longest_first():
    assert _analysis.expand("$namespace $window", {"namespace": "p", "window": "1m"}) == "p 1m"
    assert _analysis.window_of(dict(OPTIONS, window="", interval=30)) == "30s"
    assert _analysis.window_of(dict(OPTIONS, window="", interval=0.5)) == "1s"
