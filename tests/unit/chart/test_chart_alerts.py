"""The alert rules fire at, and only at, their thresholds and durations (promtool).

The rule group is taken from the rendered PrometheusRule, so what is tested is what is deployed.
promtool evaluates the rules every minute over synthetic series: a 5xx ratio that starts at t=0
is first computable at 1m, so an alert with `for: 5m` fires from 6m and one with `for: 2m`
from 3m.
"""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from tests.helm import CHART, by_kind, render_env, template_error

NS = "production"


def _groups() -> list[dict]:
    (rule,) = by_kind(render_env("production"), "PrometheusRule").values()
    return rule["spec"]["groups"]


@pytest.fixture(scope="module")
def full_rules_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": _groups()}))
    return path


@pytest.fixture(scope="module")
def rules_file(tmp_path_factory):
    """The rules without annotations, so each check states only which alerts fire when."""
    groups = _groups()
    for group in groups:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}))
    return path


def _promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, check=False)


def _requests(service: str, ok: float, errors: float, status: str = "500", namespace: str = NS):
    """Request counters of a service: `ok` 200s and `errors` 5xx per minute, from t=0."""
    labels = f'namespace="{namespace}", service="{service}"'
    return [
        {
            "series": f'http_requests_total{{{labels}, status="200"}}',
            "values": f"0+{ok}x30",
        },
        {
            "series": f'http_requests_total{{{labels}, status="{status}"}}',
            "values": f"0+{errors}x30",
        },
    ]


def _restarts(pod: str, per_minute: float, namespace: str = NS):
    series = (
        f'kube_pod_container_status_restarts_total{{namespace="{namespace}", pod="{pod}", '
        f'container="app"}}'
    )
    return [{"series": series, "values": f"0+{per_minute}x30"}]


def _alert(name: str, at: str, firing: list[dict]):
    return {
        "eval_time": at,
        "alertname": name,
        "exp_alerts": [{"exp_labels": lab} for lab in firing],
    }


def _run(rules_file, tmp_path, input_series, checks):
    test = {
        "rule_files": [str(rules_file)],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": input_series, "alert_rule_test": checks}],
    }
    path = tmp_path / "test.yaml"
    path.write_text(json.dumps(test))
    res = _promtool("test", "rules", str(path))
    assert res.returncode == 0, res.stdout + res.stderr


def test_check_rules(full_rules_file):
    res = _promtool("check", "rules", str(full_rules_file))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS: 3 rules found" in res.stdout


def test_annotations_say_what_and_how_much(full_rules_file, tmp_path):
    check = _alert("HighErrorRate", "6m", [_svc("todo-app-backend")])
    check["exp_alerts"][0]["exp_annotations"] = {
        "summary": "todo-app-backend: more than 5% of requests fail with 5xx",
        "description": "todo-app-backend in production answered 6% of requests with 5xx for "
        "5 minutes.",
    }
    _run(full_rules_file, tmp_path, _requests("todo-app-backend", 94, 6), [check])


def _svc(service):
    return {"severity": "warning", "namespace": NS, "service": service}


def test_four_percent_errors_never_alert(rules_file, tmp_path):
    series = _requests("todo-app-backend", 96, 4)
    _run(
        rules_file,
        tmp_path,
        series,
        [_alert("HighErrorRate", at, []) for at in ("6m", "15m", "30m")]
        + [_alert("CriticalErrorRate", "30m", [])],
    )


def test_six_percent_errors_warn_after_five_minutes(rules_file, tmp_path):
    series = _requests("todo-app-backend", 94, 6)
    _run(
        rules_file,
        tmp_path,
        series,
        [
            _alert("HighErrorRate", "5m", []),  # pending for 4 minutes: not yet
            _alert("HighErrorRate", "6m", [_svc("todo-app-backend")]),
            _alert("HighErrorRate", "20m", [_svc("todo-app-backend")]),
            _alert("CriticalErrorRate", "20m", []),
        ],
    )


def test_grouped_status_codes_count_as_errors(rules_file, tmp_path):
    # prometheus-fastapi-instrumentator reports status="5xx" by default.
    series = _requests("todo-app-notification", 90, 10, status="5xx")
    _run(
        rules_file,
        tmp_path,
        series,
        [
            _alert("HighErrorRate", "6m", [_svc("todo-app-notification")]),
        ],
    )


def test_fourteen_percent_errors_are_not_critical(rules_file, tmp_path):
    series = _requests("todo-app-backend", 86, 14)
    _run(
        rules_file,
        tmp_path,
        series,
        [_alert("CriticalErrorRate", at, []) for at in ("3m", "10m", "30m")]
        + [_alert("HighErrorRate", "6m", [_svc("todo-app-backend")])],
    )


def test_sixteen_percent_errors_are_critical_after_two_minutes(rules_file, tmp_path):
    critical = {"severity": "critical", "namespace": NS, "service": "todo-app-sse-gateway"}
    series = _requests("todo-app-sse-gateway", 84, 16)
    _run(
        rules_file,
        tmp_path,
        series,
        [
            _alert("CriticalErrorRate", "2m", []),  # pending for 1 minute
            _alert("CriticalErrorRate", "3m", [critical]),
            _alert("HighErrorRate", "5m", []),
            _alert("HighErrorRate", "6m", [_svc("todo-app-sse-gateway")]),
        ],
    )


def test_errors_of_one_service_alert_for_that_service_only(rules_file, tmp_path):
    series = _requests("todo-app-backend", 80, 20) + _requests("todo-app-frontend", 100, 0)
    _run(
        rules_file,
        tmp_path,
        series,
        [
            _alert("HighErrorRate", "10m", [_svc("todo-app-backend")]),
        ],
    )


def test_other_namespaces_do_not_alert_here(rules_file, tmp_path):
    series = [
        *_requests("todo-app-backend", 50, 50, namespace="staging"),
        *_restarts("todo-app-backend-1", 1.0, namespace="staging"),
    ]
    _run(
        rules_file,
        tmp_path,
        series,
        [
            _alert("CriticalErrorRate", "10m", []),
            _alert("PodCrashLooping", "10m", []),
        ],
    )


def test_crash_looping_pod(rules_file, tmp_path):
    # rate(...[5m]) averages over five minutes: at 0.4 restarts a minute since t=0 it reads
    # 0.08 at 1m, 0.16 at 2m and 0.24 at 3m, the first value above 0.2; firing 5m later.
    looping = {
        "severity": "critical",
        "namespace": NS,
        "pod": "todo-app-backend-1",
        "container": "app",
    }
    series = (
        _restarts("todo-app-backend-1", 0.4)  # two restarts every five minutes
        + _restarts("todo-app-frontend-1", 0.15)  # below the threshold, for ever
        + _restarts("someone-else-1", 1.0)  # not this release's pod
    )
    _run(
        rules_file,
        tmp_path,
        series,
        [
            _alert("PodCrashLooping", "7m", []),
            _alert("PodCrashLooping", "8m", [looping]),
            _alert("PodCrashLooping", "30m", [looping]),
        ],
    )


def test_dashboard_queries_are_valid_promql(tmp_path):
    # promtool parses every expression of a rules file: the dashboard's queries, with Grafana's
    # variables replaced by values, as recording rules.
    (cm,) = (
        o
        for o in render_env("production")
        if o["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
    )
    dashboard = json.loads(next(iter(cm["data"].values())))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) == 5
    rules = [
        {
            "record": f"dashboard:query{i}",
            "expr": e.replace("$__rate_interval", "1m")
            .replace("$namespace", NS)
            .replace("$service", ".*"),
        }
        for i, e in enumerate(exprs)
    ]
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    res = _promtool("check", "rules", str(path))
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_monitoring_runbook_states_the_crash_loop_threshold_in_the_rule_s_unit():
    """The rule counts restarts per minute (rate * 60); the runbook must not say per second."""
    (rule,) = [r for g in _groups() for r in g["rules"] if r.get("alert") == "PodCrashLooping"]
    assert "* 60" in rule["expr"] and "> 0.2" in rule["expr"]
    runbook = (CHART.parent / "docs/runbooks/monitoring.md").read_text()
    sentence = " ".join(runbook.split())
    assert "PodCrashLooping (restarts above 0.2 per minute" in sentence
    assert "0.2/s" not in runbook


def test_thresholds_durations_and_window_are_values(tmp_path):
    """A bed (or a team) tunes the alerts through values, not by editing the rule: threshold,
    `for:` and the rate window move together into the expressions and the alert text."""
    (rule,) = by_kind(
        render_env(
            "production",
            "--set-json",
            'monitoring.rules.highErrorRate={"threshold": 0.08, "for": "1m"}',
            "--set",
            "monitoring.rules.rateWindow=2m",
        ),
        "PrometheusRule",
    ).values()
    groups = rule["spec"]["groups"]
    (high,) = [r for g in groups for r in g["rules"] if r["alert"] == "HighErrorRate"]
    assert high["for"] == "1m" and "[2m]" in high["expr"] and "[5m]" not in high["expr"]
    assert high["annotations"]["summary"].endswith("more than 8% of requests fail with 5xx")
    assert high["annotations"]["description"].endswith("with 5xx for 1 minute.")
    path = tmp_path / "rules.yaml"
    for group in groups:
        for r in group["rules"]:
            r.pop("annotations", None)
    path.write_text(yaml.safe_dump({"groups": groups}))
    # 6% stays under the new threshold; 10% is computable at 1m, pending there, firing at 2m.
    _run(path, tmp_path, _requests("todo-app-backend", 94, 6), [_alert("HighErrorRate", "10m", [])])
    _run(
        path,
        tmp_path,
        _requests("todo-app-backend", 90, 10),
        [
            _alert("HighErrorRate", "1m", []),
            _alert("HighErrorRate", "2m", [_svc("todo-app-backend")]),
        ],
    )


def test_an_alert_without_a_duration_is_refused():
    err = template_error(
        "-f",
        str(CHART / "values-production.yaml"),
        "--set",
        "global.imageTag=v1.0.0",
        "--set",
        "monitoring.rules.highErrorRate.for=five minutes",
    )
    assert "/monitoring/rules/highErrorRate/for" in err, err
