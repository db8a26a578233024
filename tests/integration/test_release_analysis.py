"""`release.yml` with analysis on the kwok bed: the control logic around it, in seconds.

Prometheus is real (the bed's binary on loopback) and scrapes an exporter of ours that plays
staging's request metrics (tests/prometheus_support.py), so the test sets what users "see": a
healthy release passes its analysis; one that serves 20% errors is rolled back by Helm to the
revision before it, and the run fails; the release lock is held (and renewed) while the analysis
waits and given up after it. The same proofs with the app's real pods and the cluster's
Prometheus: tests/integration/real_nodes/test_monitoring_real.py.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import threading
import time

import pytest

from plugins.module_utils._conventions import release_name
from tests.ansible_run import run_playbook
from tests.prometheus_support import settle

ENV = "staging"
RELEASE = release_name(ENV)
LOCK = "hackathon-todo-release"
PROMETHEUS_NAMESPACE = ENV  # the exporter plays staging (tests/prometheus_support.py)


@pytest.fixture(scope="module")
def release(bootstrapped, prometheus, tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")

    def run(tag, **analysis):
        extra = {
            "app_release_analysis": True,
            "app_release_analysis_prometheus_url": prometheus.url,
            "app_release_analysis_interval": 1.5,
            "app_release_analysis_count": 4,
            "app_release_analysis_window": "5s",
            **analysis,
        }
        proc = run_playbook(
            "release.yml", "-e", f"target={ENV}", "-e", f"image_tag={tag}",
            "-e", json.dumps(extra), env={"HTD_REPORT_DIR": str(reports)},
        )  # fmt: skip
        path = reports / f"release-{ENV}.json"
        report = json.loads(path.read_text()) if path.exists() else {}
        path.unlink(missing_ok=True)
        return proc, report

    return run


def _holder(kube_cluster):
    out = kube_cluster.kubectl("-n", ENV, "get", "lease", LOCK, "-o", "json", check=False)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)["spec"].get("holderIdentity")


def _live(kube_cluster):
    res = subprocess.run(
        ["helm", "history", RELEASE, "-n", ENV, "-o", "json", "--kubeconfig",
         str(kube_cluster.kubeconfig)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [h for h in json.loads(res.stdout) if h["status"] == "deployed"][-1]


def test_a_healthy_release_passes_and_holds_the_lock_while_it_is_judged(
    release, exporter, prometheus, kube_cluster
):
    settle(exporter, prometheus, 0.0)
    proc, _first = release("v1.0.0", app_release_analysis=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    holders = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            holders.append((time.time(), _holder(kube_cluster)))
            time.sleep(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        proc, report = release("v1.1.0")
    finally:
        stop.set()
        watcher.join(10)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report["outcome"] == "succeeded", report
    analysis = report["analysis"]
    assert analysis["status"] == "passed", analysis
    assert analysis["prometheus"] == prometheus.url
    assert [len(q["samples"]) for q in analysis["queries"]] == [4, 4]
    assert analysis["queries_sent"] == 2 + 2 * 4
    # the lock was this run's through the analysis (seen held in the wait before its last
    # sample; sample times are whole seconds), then given up
    held = [(t, h) for t, h in holders if h]
    assert held and {h for _t, h in held} == {report["lock"]["holder"]}, set(holders)
    last_sample = max(
        datetime.datetime.fromisoformat(s["time"].replace("Z", "+00:00")).timestamp()
        for q in analysis["queries"]
        for s in q["samples"]
    )
    assert max(t for t, _h in held) >= last_sample - 1, (held[-1], last_sample)
    assert not _holder(kube_cluster)
    assert "analysis: passed" in proc.stdout


def test_errors_roll_the_release_back_to_the_revision_before(
    release, exporter, prometheus, kube_cluster
):
    before = _live(kube_cluster)
    settle(exporter, prometheus, 0.2)
    try:
        proc, report = release("v1.2.0")
    finally:
        exporter.set(error_share=0.0)
    assert proc.returncode != 0
    assert report["outcome"] == "rolled back", report
    analysis = report["analysis"]
    assert analysis["status"] == "failed"
    assert len(analysis["queries"][0]["samples"]) == 1  # the first breach settles it
    assert report["revision_before"] == int(before["revision"])
    live = _live(kube_cluster)
    assert live["app_version"] == before["app_version"] == "v1.1.0", live
    assert int(live["revision"]) == report["revision_after"] > int(before["revision"])
    assert f"rolled back to revision {before['revision']}" in report["error"]
    assert "analysis: failed — failed: error_rate failed" in proc.stdout, proc.stdout[-3000:]


def test_a_query_prometheus_refuses_changes_nothing(release, kube_cluster):
    before = _live(kube_cluster)
    proc, report = release(
        "v1.3.0",
        app_release_analysis_queries=[{"name": "typo", "query": "sum(rate(x[5m])", "threshold": 1}],
    )
    assert proc.returncode != 0
    assert report["error"].startswith(
        "Nothing was changed. the analysis query typo is refused by Prometheus (bad_data:"
    ), report["error"]
    assert _live(kube_cluster)["revision"] == before["revision"]


def test_bad_analysis_options_are_refused_saying_what_to_fix(release, kube_cluster):
    before = _live(kube_cluster)
    proc, report = release("v1.3.0", app_release_analysis_failure_limit=4)
    assert proc.returncode != 0
    assert "analysis.failure_limit (4) must be below analysis.count (4)" in report["error"]
    assert report["error"].startswith("Nothing was changed.")
    assert _live(kube_cluster)["revision"] == before["revision"]
