"""The pure parts of helm_chart: what makes a release unchanged, what a pending release's message
tells the operator to run, which Helm flags it passes, and how Helm 4's errors are explained.
(The module's behaviour end to end: tests/integration/test_helm_chart_module.py.)"""

from __future__ import annotations

import pathlib

import pytest
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _helm_chart
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._helm import (
    Helm,
    HelmError,
    diagnose,
    release_diff,
)

DATA = pathlib.Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("ref", "name"),
    [
        ("traefik", "traefik"),
        ("jetstack/cert-manager", "cert-manager"),
        ("oci://ghcr.io/grafana-community/helm-charts/loki", "loki"),
        ("oci://ghcr.io/org/charts/loki:18.11.0", "loki"),
        ("oci://ghcr.io/org/charts/loki@sha256:abc", "loki"),
    ],
)
def test_chart_name_from_its_reference(ref, name):
    assert _helm_chart.chart_name_of(ref) == name


@pytest.mark.parametrize(
    ("chart", "name", "version"),
    [
        ("cert-manager-v1.21.2", "cert-manager", "v1.21.2"),
        ("kube-prometheus-stack-88.5.3", "kube-prometheus-stack", "88.5.3"),
        ("demo-1.0.0-rc.1", "demo", "1.0.0-rc.1"),
        ("other-chart-1.0.0", "demo", None),
        ("", "demo", None),
    ],
)
def test_live_version_reads_dashed_names_and_versions(chart, name, version):
    assert _helm_chart.live_version(chart, name) == version


def test_v_prefix_is_the_same_version_for_helm():
    assert _helm_chart.same_version("v1.21.2", "1.21.2")
    assert not _helm_chart.same_version("1.21.2", "1.21.3")
    assert not _helm_chart.same_version(None, "1.0.0")


@pytest.mark.parametrize(
    ("version", "known"),
    [
        *[("41.3.0", "41.3.0"), ("v1.21.2", "v1.21.2"), ("1.0.0-rc.1", "1.0.0-rc.1")],
        *[("^41.0.0", None), ("~1.2", None), ("1.2", None), (None, None), (">=1.0.0", None)],
    ],
)
def test_only_an_exact_version_is_compared_without_asking_the_repository(version, known):
    params = {
        "name": "traefik",
        "release_namespace": "traefik",
        "kubeconfig": None,
        "context": None,
        "binary_path": "helm",
        "chart_ref": "traefik",
        "chart_version": version,
    }
    run = _helm_chart.ChartRelease(params, run=None)
    assert run.desired_chart() == ("traefik", known)


def test_pending_release_message_names_the_rollback_target():
    history = [
        {"revision": 3, "status": "superseded"},
        {"revision": 4, "status": "deployed"},
        {"revision": 5, "status": "pending-upgrade"},
    ]
    msg = _helm_chart.pending_message("traefik", "traefik", history)
    assert msg.startswith("Nothing was changed.")
    assert "pending-upgrade at revision 5" in msg
    assert "`helm rollback traefik 4 -n traefik --wait=watcher`" in msg


def test_pending_first_install_message_says_uninstall():
    msg = _helm_chart.pending_message(
        "loki", "monitoring", [{"revision": 1, "status": "pending-install"}]
    )
    assert "`helm uninstall loki -n monitoring (it never deployed)`" in msg


def test_upgrade_flags_for_a_repository_chart():
    helm = Helm(None, "traefik", "traefik", kubeconfig="/k", context="ctx")
    argv = helm.upgrade_argv(
        "traefik",
        ["v.json"],
        "10m",
        repo_url="https://traefik.github.io/charts",
        version="41.3.0",
        create_namespace=True,
        reset_values=True,
    )
    assert argv[:4] == ["upgrade", "--install", "traefik", "traefik"]
    assert argv[4:8] == ["--repo", "https://traefik.github.io/charts", "--version", "41.3.0"]
    for flag in ("--reset-values", "--create-namespace", "--rollback-on-failure", "--wait=watcher"):
        assert flag in argv
    assert "--atomic" not in argv and "--history-max" not in argv
    assert argv[-6:] == ["-n", "traefik", "--kubeconfig", "/k", "--kube-context", "ctx"]


def test_no_wait_and_no_rollback_means_no_wait_flag():
    helm = Helm(None, "x", "ns")
    argv = helm.upgrade_argv("./chart", [], "5m", rollback_on_failure=False, wait=False)
    assert not [a for a in argv if a.startswith("--wait") or a == "--rollback-on-failure"]
    # --rollback-on-failure waits anyway (Helm 4); the watcher is named explicitly
    assert "--wait=watcher" in helm.upgrade_argv("./chart", [], "5m", wait=False)
    assert helm.uninstall_argv("5m", wait=False) == [
        "uninstall",
        "x",
        "--timeout",
        "5m",
        "-n",
        "ns",
    ]


# Helm 4.3.1's own words on the test bed (stderr), and what the module tells the operator.
@pytest.mark.parametrize(
    ("err", "hint"),
    [
        (
            'Error: chart "traefik" version "9.9.9" not found in http://127.0.0.1:47879 repository',
            "the chart was not found",
        ),
        ('Error: path "/nonexistent/chart" not found', "the chart was not found"),
        (
            'Error: looks like "http://127.0.0.1:1" is not a valid chart repository or cannot be '
            'reached: Get "http://127.0.0.1:1/index.yaml": dial tcp 127.0.0.1:1: connect: '
            "connection refused",
            "the chart repository (or registry) cannot be reached",
        ),
        (
            'Error: failed to perform "FetchReference" on source: Get "https://127.0.0.1:1/v2/x/'
            'loki/manifests/1.0.0": dial tcp 127.0.0.1:1: connect: connection refused',
            "the chart repository (or registry) cannot be reached",
        ),
        (
            "Error: UPGRADE FAILED: values don't meet the specifications of the schema(s) in the "
            "following chart(s):\ndemo:\n- at '/replicas': got string, want integer",
            "the chart rejected the values",
        ),
        (
            "Error: kubernetes cluster unreachable: stat /nonexist: no such file or directory",
            "the Kubernetes API server cannot be reached",
        ),
        (
            "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress",
            "another Helm operation on this release is in progress",
        ),
        (
            (DATA / "helm4-watcher-failure.stderr").read_text(),
            "the release's objects did not become ready",
        ),
        ("Error: something new", ""),
    ],
)
def test_helm_errors_are_explained(err, hint):
    assert diagnose(err).startswith(hint) if hint else diagnose(err) == ""


def test_failure_message_has_the_fix_what_is_live_and_helms_error():
    exc = HelmError("upgrade", 1, "", (DATA / "helm4-watcher-failure.stderr").read_text())
    live = {"revision": 4, "chart": "demo-0.1.0", "status": "deployed"}
    msg = _helm_chart.helm_failure("upgrade", exc, "todo-app", "cap4", live)
    assert msg.startswith("helm upgrade of todo-app in cap4 failed: the release's objects did not")
    assert "Deployments that never became ready: cap4/todo-app-frontend," in msg
    assert "Live now: revision 4 (demo-0.1.0, deployed)" in msg
    assert "Helm said: Error: UPGRADE FAILED:" in msg
    assert "Live now: nothing" in _helm_chart.helm_failure("install", exc, "x", "y", {})


def test_release_diff_is_text_on_both_sides_and_empty_when_absent():
    diff = release_diff("a revision 1", {"chart": "c-1", "values": {"b": 1}}, "a (gone)", None)
    assert diff["before"] == '{\n  "chart": "c-1",\n  "values": {\n    "b": 1\n  }\n}\n'
    assert diff["after"] == ""
