"""helm_chart against the test bed's API server with the real Helm 4 binary: check mode changes
nothing, a second run changes nothing, diff shows chart and values, errors say what to fix, a
pending release is refused with the command that resolves it, state=absent is idempotent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from tests.ansible_run import run_module

NS = "helm-chart-test"
RELEASE = "demo"

CHART_YAML = "apiVersion: v2\nname: demo\nversion: {version}\nappVersion: '1.0'\n"
SCHEMA = {
    "type": "object",
    "properties": {"replicas": {"type": "integer", "minimum": 0}, "message": {"type": "string"}},
}
CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
data:
  message: {{ .Values.message | quote }}
"""
# A claim no volume will ever bind: Helm's watcher waits on it until it is killed.
STUCK_CLAIM = """{{- if .Values.stuck }}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ .Release.Name }}-stuck
spec:
  storageClassName: never-binds
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
{{- end }}
"""


def _chart(root, version):
    d = root / f"demo-{version}"
    (d / "templates").mkdir(parents=True)
    (d / "Chart.yaml").write_text(CHART_YAML.format(version=version))
    (d / "values.yaml").write_text("replicas: 1\nmessage: hi\nstuck: false\n")
    (d / "values.schema.json").write_text(json.dumps(SCHEMA))
    (d / "templates" / "configmap.yaml").write_text(CONFIGMAP)
    (d / "templates" / "stuck.yaml").write_text(STUCK_CLAIM)
    return str(d)


@pytest.fixture(scope="module")
def bed(kube_cluster, tmp_path_factory):
    root = tmp_path_factory.mktemp("charts")
    charts = {v: _chart(root, v) for v in ("0.1.0", "0.2.0")}
    kube_cluster.kubectl("delete", "namespace", NS, "--wait=true", check=False)

    def call(check=False, diff=False, **args):
        args = {
            "name": RELEASE,
            "release_namespace": NS,
            "kubeconfig": str(kube_cluster.kubeconfig),
            "wait_timeout": "60s",
            **args,
        }
        return run_module("helm_chart", args, check=check, diff=diff)

    yield call, charts
    kube_cluster.kubectl("delete", "namespace", NS, "--wait=false", check=False)


def history(kube_cluster):
    res = subprocess.run(
        ["helm", "history", RELEASE, "-n", NS, "-o", "json"],
        env={**os.environ, "KUBECONFIG": str(kube_cluster.kubeconfig)},
        capture_output=True,
        text=True,
        check=False,
    )
    return json.loads(res.stdout) if res.returncode == 0 else []


def test_install_check_diff_then_idempotent(bed, kube_cluster):
    call, charts = bed
    args = {
        "chart_ref": charts["0.1.0"],
        "create_namespace": True,
        "release_values": {"message": "a"},
    }
    check = call(check=True, diff=True, **args)
    assert not check.failed and check.changed, check.result
    assert check.result["diff"]["before"] == ""
    assert json.loads(check.result["diff"]["after"]) == {
        "chart": "demo-0.1.0",
        "values": {"message": "a"},
    }
    assert "not installed" in check.result["msg"]
    assert history(kube_cluster) == []

    first = call(**args)
    assert not first.failed and first.changed, first.result
    assert first.result["release"]["status"] == "deployed"
    assert first.result["release"]["chart"] == "demo-0.1.0"
    assert "--rollback-on-failure" in first.result["command"]
    assert "--wait=watcher" in first.result["command"]

    again = call(check=True, **args)
    assert not again.failed and not again.changed, again.result
    again = call(**args)
    assert not again.failed and not again.changed, again.result
    assert len(history(kube_cluster)) == 1


def test_values_and_chart_changes_upgrade_with_diff(bed, kube_cluster):
    call, charts = bed
    values = call(diff=True, chart_ref=charts["0.1.0"], release_values={"message": "b"})
    assert values.changed and "values differ under message" in values.result["msg"]
    assert json.loads(values.result["diff"]["before"])["values"] == {"message": "a"}
    assert json.loads(values.result["diff"]["after"])["values"] == {"message": "b"}
    chart = call(diff=True, chart_ref=charts["0.2.0"], release_values={"message": "b"})
    assert chart.changed and "demo-0.1.0 -> 0.2.0" in chart.result["msg"], chart.result
    assert chart.result["release"]["chart"] == "demo-0.2.0"
    assert [h["status"] for h in history(kube_cluster)][-1] == "deployed"
    # values a user removed are gone: the release gets exactly release_values (--reset-values)
    reset = call(chart_ref=charts["0.2.0"])
    assert reset.changed
    assert not call(chart_ref=charts["0.2.0"]).changed


def test_rejected_values_change_nothing_and_say_which_key(bed, kube_cluster):
    call, charts = bed
    before = history(kube_cluster)
    for check in (True, False):
        bad = call(check=check, chart_ref=charts["0.2.0"], release_values={"replicas": "x"})
        assert bad.failed and not bad.changed, bad.result
        msg = bad.result["msg"]
        assert msg.startswith("Nothing was changed")
        assert "the chart rejected the values: fix release_values" in msg
        assert "at '/replicas': got string, want integer" in msg
    assert history(kube_cluster) == before


def test_unknown_chart_and_unreachable_repository_say_what_to_fix(bed):
    call, _charts = bed
    missing = call(chart_ref="/nonexistent/chart")
    assert missing.failed and "the chart was not found: check chart_ref" in missing.result["msg"]
    # a range is resolved against the repository, which cannot be reached
    offline = call(chart_ref="demo", chart_repo_url="http://127.0.0.1:1", chart_version="^0.2.0")
    assert offline.failed and not offline.changed
    assert "the chart repository (or registry) cannot be reached" in offline.result["msg"]
    assert "connection refused" in offline.result["msg"]


def test_pending_release_is_refused_with_the_fix(bed, kube_cluster):
    call, charts = bed
    live = history(kube_cluster)[-1]["revision"]
    env = {**os.environ, "KUBECONFIG": str(kube_cluster.kubeconfig)}
    proc = subprocess.Popen(
        [
            *("helm", "upgrade", RELEASE, charts["0.2.0"], "-n", NS, "--set", "stuck=true"),
            *("--wait=watcher", "--timeout", "5m"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and history(kube_cluster)[-1]["status"] != "pending-upgrade":
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert history(kube_cluster)[-1]["status"] == "pending-upgrade"

    for check in (True, False):
        refused = call(check=check, chart_ref=charts["0.2.0"])
        assert refused.failed and not refused.changed
        msg = refused.result["msg"]
        assert msg.startswith("Nothing was changed.") and "pending-upgrade" in msg
        assert f"helm rollback {RELEASE} {live} -n {NS}" in msg
    assert history(kube_cluster)[-1]["status"] == "pending-upgrade"

    subprocess.run(
        ["helm", "rollback", RELEASE, str(live), "-n", NS, "--wait=watcher", "--timeout", "60s"],
        env=env,
        check=True,
        capture_output=True,
    )
    assert not call(chart_ref=charts["0.2.0"]).changed


def test_absent_uninstalls_once(bed, kube_cluster):
    call, _charts = bed
    check = call(check=True, diff=True, state="absent")
    assert check.changed and history(kube_cluster)
    gone = call(state="absent")
    assert gone.changed and gone.result["release"]["status"] == "absent"
    assert history(kube_cluster) == []
    assert not call(state="absent").changed
