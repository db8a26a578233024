"""The pure parts of helm_release: value merging, input checks, rollout state, report text.

The flow itself (Helm, the API server, the lock) is proven on the test bed by
tests/integration/test_release_flow.py.
"""

from __future__ import annotations

import json
import pathlib

import pytest
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import (
    _pods,
    _release_preflight,
    _release_report,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._helm import (
    Helm,
    HelmError,
    merge,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kube import KubeError

INPUTS = {
    "environment": "staging",
    "environments": ["staging", "production"],
    "operation": "release",
    "image_tag": "v1.2.0",
    "rollback_revision": 0,
    "require_immutable_tag": False,
    "tag_pattern": r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
    "immutable_tag_pattern": r"^(v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?|sha-[0-9a-f]{7,40})$",
}


def test_merge_is_helms_maps_merge_lists_replace():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    out = merge(base, {"a": {"c": [3]}, "e": {"f": 1}})
    assert out == {"a": {"b": 1, "c": [3]}, "d": 1, "e": {"f": 1}}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}  # not modified in place


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({}, None),
        ({"environment": "qa"}, 'unknown environment "qa": expected one of staging, production'),
        ({"image_tag": ""}, "no image tag: run with -e image_tag=<tag>"),
        ({"image_tag": "latest"}, 'malformed image tag "latest"'),
        ({"image_tag": "v1..0 bad"}, 'malformed image tag "v1..0 bad"'),
        ({"image_tag": "main", "require_immutable_tag": True}, "production takes only immutable"),
        ({"image_tag": "sha-1a2b3c4", "require_immutable_tag": True}, None),
        ({"operation": "rollback", "image_tag": ""}, None),
        ({"operation": "rollback", "rollback_revision": -1}, "revision must be a number >= 0"),
        (
            {"certificate": {"enabled": True, "host": " "}},
            "certificate.enabled needs certificate.host",
        ),
        (
            {"certificate": {"enabled": True, "host": "a.example", "min_days": -1}},
            "min_days must be",
        ),
        ({"certificate": {"enabled": False, "host": ""}}, None),
        ({"certificate": {"enabled": True, "host": "a.example", "min_days": 14}}, None),
    ],
)
def test_inputs(change, message):
    problem = _release_preflight.check_inputs({**INPUTS, **change})
    if message is None:
        assert problem is None
    else:
        assert message in problem


def _deployment(name, want=2, **status):
    full = {
        "observedGeneration": 3,
        "updatedReplicas": want,
        "readyReplicas": want,
        "availableReplicas": want,
        "replicas": want,
    }
    full.update(status)
    return {
        "metadata": {"name": name, "generation": 3},
        "spec": {"replicas": want},
        "status": full,
    }


def test_a_rollout_is_complete_only_when_every_count_matches():
    assert _pods.rollout_incomplete([_deployment("ok")]) == []
    cases = [
        _deployment("stale", observedGeneration=2),  # controller has not seen the new spec
        _deployment("updating", updatedReplicas=1),
        _deployment("unready", readyReplicas=1),
        _deployment("unavailable", availableReplicas=1),  # inside minReadySeconds
        _deployment("old-pods-left", replicas=3),  # the surge pod's predecessor still runs
    ]
    assert _pods.rollout_incomplete(cases) == [d["metadata"]["name"] for d in cases]


@pytest.mark.parametrize(
    ("env", "expected"),
    [("staging", ["appconfig"]), ("production", ["appconfig"]), (None, [])],
)
def test_the_dapr_configurations_a_release_needs_from_the_namespace(env, expected):
    """The environments name bootstrap's `appconfig`; the chart's default brings its own."""
    from tests.helm import render, render_env

    rendered = render_env(env) if env else render("t", "default")
    assert _release_preflight.dapr_configs_to_find(rendered) == expected


def test_images_of_reads_deployments_only():
    rendered = [
        {"kind": "Service"},
        {
            "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [{"image": "b:1"}, {"image": "a:1"}]}}},
        },
    ]
    listed = [{"spec": {"template": {"spec": {"containers": [{"image": "c:1"}]}}}}]  # no kind
    assert _pods.images_of(rendered) == ["a:1", "b:1"]
    assert _pods.images_of(listed) == ["c:1"]


def test_the_release_names_the_secrets_it_checked():
    # The preflight checks p["secret_name"] and p["pull_secret_name"]; the chart must read the
    # same ones, so a renamed Secret is renamed in one place (the convention).
    p = {"secret_name": "renamed-secrets", "pull_secret_name": "renamed-pull"}
    values = {"global": {"imagePullSecrets": ["another-pull"]}, "secretName": "app-secrets"}
    assert _release_preflight.secret_values(values, p) == {
        "secretName": "renamed-secrets",
        "global": {"imagePullSecrets": ["another-pull", "renamed-pull"]},
    }
    p["pull_secret_name"] = "another-pull"
    assert _release_preflight.secret_values(values, p)["global"]["imagePullSecrets"] == [
        "another-pull"
    ]
    assert _release_preflight.secret_values({}, p)["global"]["imagePullSecrets"] == ["another-pull"]


def test_secret_digest_changes_with_any_value_and_ignores_key_order():
    a = _release_preflight.secret_digest({"A": "eA==", "B": "eQ=="})
    assert a == _release_preflight.secret_digest({"B": "eQ==", "A": "eA=="})
    assert a != _release_preflight.secret_digest({"A": "eA==", "B": "eg=="})


# What Helm 4.3.1 printed on the test bed for `helm upgrade --rollback-on-failure --wait=watcher
# --timeout 20s` of a revision whose pods never get ready (docs/testbed.md, readiness: fail).
HELM4_WATCHER_FAILURE = (
    pathlib.Path(__file__).parent / "data" / "helm4-watcher-failure.stderr"
).read_text()


def test_helm_error_names_the_deployments_that_never_got_ready():
    err = HelmError("upgrade", 1, "", HELM4_WATCHER_FAILURE)
    assert err.not_ready() == [
        "cap4/todo-app-frontend",
        "cap4/todo-app-backend",
        "cap4/todo-app-mcp",
        "cap4/todo-app-notification",
        "cap4/todo-app-sse-gateway",
    ]
    # the whole error, every resource's line included, and none of the log line before it
    assert err.errors().startswith("Error: UPGRADE FAILED: release todo-app failed, and has been")
    assert err.errors().count("not ready") == 5 and "level=WARN" not in err.errors()
    assert err.errors().endswith("context deadline exceeded")
    assert HelmError("upgrade", 1, "", "level=WARN msg=x\n").not_ready() == []


def test_helm_runs_with_helm_4_flags():
    """Helm 4's names: --atomic and a bare --wait are deprecated or mean something else."""
    calls = []
    helm = Helm(lambda argv: calls.append(argv) or (0, "", ""), "todo-app", "production")
    helm.upgrade("chart.tgz", ["values.yaml"], "10m", 10)
    helm.rollback(3, "10m", 10)
    helm.uninstall("10m")
    upgrade, rollback, uninstall = calls
    assert upgrade[:4] == ["helm", "upgrade", "--install", "todo-app"]
    assert "--rollback-on-failure" in upgrade and "--atomic" not in upgrade
    for argv in calls:
        assert "--wait=watcher" in argv and "--wait" not in argv, argv
    assert rollback[:4] == ["helm", "rollback", "todo-app", "3"]
    assert uninstall[:3] == ["helm", "uninstall", "todo-app"]


@pytest.mark.parametrize(
    ("printed", "major"), [("v4.3.1", 4), ("v3.22.0", 3), ("v5.0.0-rc.1", 5), ("", 0)]
)
def test_helm_version_gives_the_major_the_module_checks(printed, major):
    helm = Helm(lambda argv: (0, printed + "\n", ""), "todo-app", "production")
    assert helm.version() == (printed, major)


_MD_REPORT = {
    "operation": "release",
    "release": "todo-app",
    "environment": "production",
    "outcome": "rolled back",
    "check_mode": False,
    "namespace": "production",
    "chart": "hackathon-todo-1.0.0",
    "app_version_before": "v1.0.0",
    "app_version": "v1.1.0",
    "app_version_live": "v1.0.0",
    "revision_before": 4,
    "revision_after": 6,
    "images": [],
    "certificate": {"status": "not run", "summary": ""},
    "smoke": {"status": "passed", "summary": "", "checks": []},
    "durations_s": {"total": 9.5},
    "failed_deployments": [],
    "recovery": "",
    "lock": {"holder": "", "took_over_from": "", "waited_s": 0},
    "error": "the release analysis failed",
}


def test_markdown_report_says_outcome_why_and_smoke():
    report = {
        **_MD_REPORT,
        "images": ["ghcr.io/o/hackathon-todo/frontend:v1.0.0"],
        "certificate": {
            "status": "passed",
            "summary": "production/todo-tls is Ready, expires 2027-02-20T12:00:00Z (75 days)",
        },
        "smoke": {
            "status": "failed",
            "summary": "1 of 1 smoke check failed",
            "checks": [{"name": "health", "passed": False, "status": 500, "error": "HTTP 500"}],
        },
        "durations_s": {"preflight": 1.0, "total": 9.5},
        "lock": {"took_over_from": "ci@runner/1"},
        "error": "the smoke checks failed",
    }
    md = _release_report.render_markdown(report)
    assert "### Release of `todo-app` in production: **rolled back**" in md
    assert "| revision | 4 → 6 |" in md
    assert "taken over from stale holder ci@runner/1" in md
    assert "**Why:** the smoke checks failed" in md
    assert "| health | False | 500 | HTTP 500 |" in md
    assert "| certificate | passed: production/todo-tls is Ready, expires 2027-02-20" in md


def test_markdown_analysis_row_says_its_status_once():
    # seen in a real-node release record: "| analysis | failed: failed: error_rate failed ..."
    analysis = {"status": "failed", "summary": "failed: error_rate failed (worst 0.2)"}
    md = _release_report.render_markdown({**_MD_REPORT, "analysis": analysis})
    assert "| analysis | failed: error_rate failed (worst 0.2) |" in md
    dry = {**analysis, "dry_run": True}
    md = _release_report.render_markdown({**_MD_REPORT, "analysis": dry})
    assert "| analysis | failed (dry run): error_rate failed (worst 0.2) |" in md


def test_markdown_report_of_a_refusal_before_the_history_names_no_revision():
    md = _release_report.render_markdown(
        {
            "operation": "release",
            "release": "todo-app",
            "environment": "production",
            "outcome": "failed",
            "check_mode": False,
            "namespace": "production",
            "chart": "hackathon-todo-?",
            "app_version_before": "",
            "app_version": "v1.1.0",
            "app_version_live": "",
            "revision_before": None,
            "revision_after": None,
            "images": [],
            "certificate": {"status": "not run", "summary": ""},
            "smoke": {"status": "not run", "summary": "", "checks": []},
            "durations_s": {"total": 0.4},
            "failed_deployments": [],
            "recovery": "",
            "lock": {"holder": "", "took_over_from": "", "waited_s": 0},
            "error": "app-secrets lacks the keys OPENAI_API_KEY",
        }
    )
    assert "| revision | not read (refused before Helm's history was read) |" in md
    assert "None" not in md


# -- why pods are not ready (pod_problems): what the report says when a rollout fails ----------


def _pod(name, **cs):
    return {
        "metadata": {"name": name},
        "status": {"containerStatuses": [{"name": "backend", **cs}]},
    }


def test_pod_problems_name_the_crash_and_its_exit():
    pods = [
        _pod(
            "b-1",
            ready=False,
            restartCount=3,
            state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
            lastState={"terminated": {"reason": "Error", "exitCode": 1}},
        ),
        _pod("b-2", ready=True, state={"running": {}}),
    ]
    assert _pods.pod_problems(pods) == [
        {
            "pod": "b-1",
            "container": "backend",
            "reason": "CrashLoopBackOff",
            "message": "back-off 40s",
            "restarts": 3,
            "exit_code": 1,
        }
    ]


def test_pod_problems_running_but_not_ready_is_a_readiness_failure():
    (entry,) = _pods.pod_problems([_pod("b-1", ready=False, state={"running": {}})])
    assert entry["reason"] == "NotReady" and "readiness probe" in entry["message"]


def test_pod_problems_ignore_terminating_pods():
    pod = _pod("b-1", ready=False, state={"running": {}})
    pod["metadata"]["deletionTimestamp"] = "2026-12-06T00:00:00Z"
    assert _pods.pod_problems([pod]) == []


def test_pod_watch_summary_puts_crashes_first_with_the_last_log_line():
    watch = _pods.PodWatch(kube=None, namespace="staging", selector="")
    watch.problems = {
        ("a", "c"): {
            "pod": "a",
            "container": "c",
            "reason": "NotReady",
            "message": "probe",
            "restarts": 0,
        },
        ("b", "c"): {
            "pod": "b",
            "container": "c",
            "reason": "CrashLoopBackOff",
            "message": "",
            "restarts": 2,
            "exit_code": 1,
            "last_log": '{"msg":"DATABASE_URL is not set"}',
        },
    }
    assert watch.summary() == [
        'b/c: CrashLoopBackOff (exit 1, 2 restarts), last log: {"msg":"DATABASE_URL is not set"}',
        "a/c: NotReady: probe",
    ]


# -- the Dapr sidecar (pods_without_sidecar): Dapr's injector fails open ------------------------


def _dapr_pod(name, containers, enabled="true", init=(), deleting=False):
    meta = {"name": name, "annotations": {"dapr.io/enabled": enabled} if enabled else {}}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-07T00:00:00Z"
    return {
        "metadata": meta,
        "spec": {
            "containers": [{"name": c} for c in containers],
            "initContainers": [{"name": c} for c in init],
        },
    }


def test_a_pod_that_asks_for_dapr_and_runs_without_its_sidecar_is_named():
    pods = [
        _dapr_pod("backend-1", ["backend", "daprd"]),
        _dapr_pod("backend-2", ["backend"]),  # admitted while the injector was down
        _dapr_pod("mcp-1", ["mcp"], enabled="True"),
    ]
    assert _pods.pods_without_sidecar(pods) == ["backend-2", "mcp-1"]


def test_pods_without_dapr_terminating_pods_and_native_sidecars_pass():
    pods = [
        _dapr_pod("job-1", ["job"], enabled=""),
        _dapr_pod("job-2", ["job"], enabled="false"),
        _dapr_pod("old-1", ["backend"], deleting=True),
        _dapr_pod("native-1", ["backend"], init=["daprd"]),  # NATIVE_SIDECAR_ENABLED
    ]
    assert _pods.pods_without_sidecar(pods) == []


# -- the log line a failed rollout's report quotes (telling_line) -------------------------------


def test_a_go_panic_is_quoted_by_its_message_not_its_last_stack_frame():
    # daprd built without its components, as a real run showed: the report quoted the frame.
    lines = [
        "panic: When building github.com/dapr/dapr/cmd/daprd, you must use either "
        "'-tags stablecomponents' or `-tags allcomponents'",
        "",
        "goroutine 1 [running]:",
        "github.com/dapr/dapr/cmd/daprd/components.init.0()",
        "\tgithub.com/dapr/dapr@v1.18.3/cmd/daprd/components/zz_notag.go:21 +0x25",
    ]
    assert _pods.telling_line(lines).startswith("panic: When building")
    fatal = ["goroutine 5 [running]:", "fatal error: concurrent map writes", "\tmain.go:3"]
    assert _pods.telling_line(fatal) == "fatal error: concurrent map writes"


def test_other_logs_are_quoted_by_their_last_line():
    lines = ['{"level":"info","msg":"starting"}', '{"level":"fatal","msg":"no broker"}', ""]
    assert _pods.telling_line(lines) == '{"level":"fatal","msg":"no broker"}'
    assert _pods.telling_line([]) == ""


def test_refusals_name_every_object_and_each_reason_once():
    def refused(kind, name, reason):
        body = json.dumps({"message": f'{kind}.apps "{name}" is invalid: {reason}'})
        return ({"kind": kind, "metadata": {"name": name}}, KubeError(422, "Invalid", body))

    label = 'spec.template.labels: Invalid value: "not a label value!"'
    text = _release_preflight.refusals(
        [
            refused("Deployment", "a", label),
            refused("Deployment", "b", label),
            refused("Service", "c", "spec.ports: Required value"),
        ]
    )
    assert text == f"Deployment a, Deployment b: {label}; Service c: spec.ports: Required value"
