"""helm_release's contract: its conventions' defaults come from one place, its outcome says
whether it succeeded, and its smoke checks' secret headers never reach the invocation log."""

from __future__ import annotations

import json

import pytest
import yaml
from ansible.module_utils import basic
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.testing import patch_module_args
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _conventions as conv
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _pods, _smoke
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._analysis import DEFAULT_QUERIES
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._release import (
    SUCCESS,
    Failed,
    Release,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._release_preflight import (
    check_inputs,
)
from ansible_collections.hackathon_todo.deploy.plugins.modules import helm_release

from tests.helm import render_env
from tests.prometheus_support import scraping, settle
from tests.smoke_endpoints import EndpointServer

SECRET = "Bearer release-smoke-secret-51d0"
ARGS = {
    "environment": "staging",
    "namespace": "staging",
    "release_name": "todo-app-staging",
    "chart_dir": "/nonexistent/chart",
    "values_file": "/nonexistent/values.yaml",
    "smoke": {
        "enabled": True,
        "checks": [
            {
                "url": "http://127.0.0.1:9/api/health",
                "headers": {"Authorization": SECRET, "Accept": "text/plain"},
            }
        ],
    },
}


def _logged_invocation(module_class, monkeypatch):
    logged = []
    monkeypatch.setattr(
        basic.AnsibleModule, "log", lambda self, msg, log_args=None: logged.append((msg, log_args))
    )
    with patch_module_args(ARGS):
        module_class(argument_spec=helm_release.argument_spec(), supports_check_mode=True)
    assert logged and logged[0][0].startswith("Invoked with")
    return repr(logged)


def test_invocation_log_masks_smoke_secret_headers(monkeypatch):
    text = _logged_invocation(helm_release.HelmReleaseModule, monkeypatch)
    assert "text/plain" in text  # the smoke checks are logged ...
    assert SECRET not in text  # ... without the secret value


def test_plain_ansible_module_would_log_the_secret(monkeypatch):
    """The control for the test above: without the hook the secret reaches the log."""
    assert SECRET in _logged_invocation(basic.AnsibleModule, monkeypatch)


def test_validation_failure_result_masks_smoke_secret_headers(capsys):
    bad = dict(ARGS, operation="bogus")
    with patch_module_args(bad), pytest.raises(SystemExit):
        helm_release.HelmReleaseModule(
            argument_spec=helm_release.argument_spec(), supports_check_mode=True
        )
    out = json.loads(capsys.readouterr().out)
    assert "bogus" in out["msg"] and "invocation" in out
    assert SECRET not in json.dumps(out)


def test_convention_defaults_come_from_one_place():
    spec = helm_release.argument_spec()
    given = {key: None for key in spec}
    resolved = helm_release.resolved_params(given)
    assert resolved["secret_name"] == conv.SECRET_NAME
    assert resolved["pull_secret_name"] == conv.PULL_SECRET_NAME
    assert resolved["tag_pattern"] == conv.TAG_PATTERN
    assert resolved["immutable_tag_pattern"] == conv.IMMUTABLE_TAG_PATTERN
    for key in helm_release.CONVENTION_DEFAULTS:
        assert "default" not in spec[key], key  # documented by name: a rename is one line
        assert helm_release.resolved_params(dict(given, **{key: "x"}))[key] == "x"


@pytest.mark.parametrize(
    ("outcome", "succeeded"),
    [("succeeded", True), ("unchanged", True), ("checked", True), ("failed", False)],
)
def test_the_result_says_whether_the_outcome_is_a_success(outcome, succeeded):
    # The release role fails the play on `succeeded` alone: it keeps no list of outcomes.
    assert (outcome in SUCCESS) is succeeded
    assert helm_release.result_of({"outcome": outcome})["succeeded"] is succeeded


# -- RETURN: the report it documents is the report it returns ----------------------------------
#
# A release needs a cluster (tests/integration/test_release_flow.py); its report does not. The
# reports below are real ones: the module's own output for runs refused before any cluster is
# asked, and Release.write_report after the phases that need no cluster ran for real (the
# certificate, smoke and analysis checks against local HTTP endpoints), with the revisions set as
# reading Helm's history would set them.

RETURN = yaml.safe_load(helm_release.RETURN)
REPORT = RETURN["report"]
RETURN_TYPES = {"bool", "complex", "dict", "float", "int", "list", "raw", "str"}
PYTHON_TYPES = {
    "bool": (bool,),
    "dict": (dict,),
    "complex": (dict,),
    "float": (float, int),  # JSON has one number type: a float may be a whole number
    "int": (int,),
    "list": (list,),
    "str": (str,),
}


def _is(value, doc_type):
    if doc_type == "raw":
        return True
    if isinstance(value, bool) and doc_type in ("int", "float"):
        return False
    return isinstance(value, PYTHON_TYPES[doc_type])


def _nullable(doc):
    """A value may be null only where its description says so."""
    text = doc["description"]
    return "C(null)" in (" ".join(text) if isinstance(text, list) else text)


def _walk_docs(docs, path=""):
    for key, doc in docs.items():
        here = f"{path}.{key}" if path else key
        yield here, doc
        yield from _walk_docs(
            doc.get("contains") or {}, here + ("[]" if doc["type"] == "list" else "")
        )


def test_return_documentation_is_well_formed():
    """What ansible-test's validate-modules requires of RETURN, and samples of the right type."""
    source = helm_release.RETURN.splitlines()
    assert max(len(line) for line in source) <= 100
    for path, doc in _walk_docs(RETURN):
        assert doc.get("description"), path
        assert doc.get("type") in RETURN_TYPES, path
        assert "." in path or doc.get("returned"), f"{path}: top-level keys need returned"
        assert ("elements" in doc) == (doc["type"] == "list"), path
        if doc["type"] == "complex" or doc.get("elements") == "dict":
            assert doc.get("contains"), f"{path}: say what it contains"
        if "contains" in doc:
            assert doc["type"] in ("dict", "complex") or doc.get("elements") == "dict", path
        if "sample" in doc:
            sample = doc["sample"]
            assert _is(sample, doc["type"]), f"{path}: sample {sample!r} is not a {doc['type']}"
            if doc["type"] == "list" and doc["elements"] in PYTHON_TYPES:
                assert all(_is(s, doc["elements"]) for s in sample), path


def _check(value, doc, path, seen):
    """`value` is what `doc` says: its type (null only where it says so), every key documented,
    every key it says is always returned there. Records the documented paths it saw."""
    seen.add(path)
    if value is None:
        assert _nullable(doc), f"{path} is null, and its documentation does not say it can be"
        return
    assert _is(value, doc["type"]), f"{path}: {value!r} is not a {doc['type']}"
    contains = doc.get("contains")
    if isinstance(value, dict) and contains:
        _check_keys(value, contains, path, seen)
    if isinstance(value, list):
        for item in value:
            assert _is(item, doc["elements"]), f"{path}[]: {item!r} is not a {doc['elements']}"
            if contains:
                _check_keys(item, contains, path + "[]", seen)


def _check_keys(value, contains, path, seen):
    assert set(value) <= set(contains), f"{path}: undocumented {sorted(set(value) - set(contains))}"
    always = {k for k, d in contains.items() if d.get("returned") == "always"}
    assert always <= set(value), f"{path}: documented as always, missing {always - set(value)}"
    for key, item in value.items():
        _check(item, contains[key], f"{path}.{key}", seen)


def _run_module(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit):
        helm_release.main()
    return json.loads(capsys.readouterr().out)


REFUSALS = {
    "no image tag": {"image_tag": ""},
    "rollback to a negative revision": {"operation": "rollback", "rollback_revision": -1},
    "an unreadable kubeconfig": {"image_tag": "v1.4.0", "kubeconfig": "/nonexistent/kubeconfig"},
}


def _refused(name, capsys):
    base = {k: v for k, v in ARGS.items() if k != "smoke"}
    return _run_module(dict(base, **REFUSALS[name]), capsys)


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_a_refused_run_returns_what_return_documents(name, capsys):
    out = _refused(name, capsys)
    assert set(RETURN) <= set(out)
    assert set(out) - set(RETURN) <= {"changed", "failed", "invocation"}
    for key, doc in RETURN.items():
        _check(out[key], doc, key, set())
    report = out["report"]
    assert out["failed"] is True and out["succeeded"] is False and out["changed"] is False
    assert report["outcome"] == out["outcome"] == "failed"
    assert report["error"].startswith("Nothing was changed.")
    # refused before Helm's history was read: the revisions are unknown, not 0
    assert report["revision_before"] is None and report["revision_after"] is None
    assert report["chart"] == "hackathon-todo-?"
    assert report["lock"] == {"holder": "", "took_over_from": "", "waited_s": 0}
    assert report["durations_s"].keys() == {"total"}
    for part in ("certificate", "smoke", "analysis"):
        assert report[part]["status"] == "not run", part


# The analysis against the real Prometheus (tests/prometheus_support.py): the error rate per
# service (a labelled series), the default p95 latency, and a metric nobody exports (a sample
# with no value, which the report must carry too).
QUERIES = [
    {
        "name": "error_rate",
        # per service, 0 where a service never answered a 5xx (it exports no such series)
        "query": '(sum by (service) (rate(http_requests_total{namespace="$namespace", '
        'status=~"5.."}[$window])) or 0 * sum by (service) '
        '(rate(http_requests_total{namespace="$namespace"}[$window]))) / sum by (service) '
        '(rate(http_requests_total{namespace="$namespace"}[$window]))',
        "threshold": 0.05,
    },
    dict(DEFAULT_QUERIES[1]),
    {
        "name": "absent",
        "query": 'sum(rate(no_such_total{namespace="$namespace"}[$window]))',
        "threshold": 1,
    },
]


@pytest.fixture(scope="module")
def endpoints():
    """The app's smoke endpoints and a real Prometheus scraping the staging metrics, on
    loopback."""
    with EndpointServer() as web, scraping("staging") as scraped:
        exporter, prom = scraped
        settle(exporter, prom, 0.0)
        yield web, prom


def _params(web, prom, report_path, **change):
    args = dict(
        ARGS,
        image_tag="v1.4.0",
        # as the module fills them in when the task gives none
        tag_pattern=conv.TAG_PATTERN,
        immutable_tag_pattern=conv.IMMUTABLE_TAG_PATTERN,
        dapr_sidecar_check=False,
        record_in_cluster=False,
        report_path=str(report_path),
        smoke={"enabled": True, "checks": [{"name": "health", "url": web.url("/health")}]},
        analysis={
            "enabled": True,
            "url": prom.url,
            "interval": 0.05,
            "count": 2,
            "window": "5s",
            "dry_run": True,
            "queries": QUERIES,
        },
    )
    args.update(change)
    result = ArgumentSpecValidator(helm_release.argument_spec()).validate(args)
    assert result.error_messages == []
    return result.validated_parameters


def _verified_release(params, check_mode=False):
    """Release.execute's steps that need no cluster, for real: the preflight's input checks,
    smoke checks and Prometheus; the certificate check, the smoke checks, the analysis; the
    report. Helm's history (read_history, _note_live) would say revision 3 ran v1.3.0, and the
    upgrade made revision 4."""
    run = Release(params, run=None, check_mode=check_mode)
    assert check_inputs(params) is None
    run.smoke_checks = _smoke.resolve_checks(params["smoke"]["checks"], params["smoke"]["defaults"])
    run.prepare_analysis()
    run.phase("preflight")
    run.history_read, run.revision_before, run.app_version_before = True, 3, "v1.3.0"
    run.revision_after, run.app_version_after = 4, "v1.4.0"
    run.images_live = _pods.images_of(render_env("staging"))
    run.phase("helm")
    try:
        run.certificate_check()
        run.smoke_test()
        run.analyze()
        run.phase("verify")
        run.outcome = "checked" if check_mode else "succeeded"
    except Failed as exc:
        run.outcome, run.error = "failed", str(exc)
    run.write_report()
    return run.report


def test_a_verified_release_report_is_what_return_documents(endpoints, tmp_path):
    web, prom = endpoints
    seen = set()
    passed = _verified_release(_params(web, prom, tmp_path / "passed"))
    _check(passed, REPORT, "report", seen)
    assert passed["outcome"] == "succeeded", passed["error"]
    assert (passed["revision_before"], passed["revision_after"]) == (3, 4)
    assert passed["smoke"]["status"] == "passed" and passed["smoke"]["checks"][0]["status"] == 200
    assert passed["certificate"]["status"] == "skipped"
    analysis = passed["analysis"]
    assert analysis["status"] == "inconclusive" and analysis["dry_run"] is True
    error_rate, latency, absent = analysis["queries"]
    assert error_rate["samples"][0]["labels"] == {"service": "todo-app-backend"}
    assert error_rate["samples"][0]["value"] == 0 and latency["samples"][0]["value"] > 0
    assert absent["samples"][0]["value"] is None and absent["samples"][0]["error"]
    assert passed["durations_s"].keys() == {"preflight", "helm", "verify", "total"}
    # the report file is the report
    assert json.loads((tmp_path / "passed.json").read_text()) == passed

    failing = [{"name": "down", "url": web.url("/status/503"), "deadline": 0}]
    failed = _verified_release(
        _params(web, prom, tmp_path / "failed", smoke={"enabled": True, "checks": failing})
    )
    _check(failed, REPORT, "report", seen)
    assert failed["outcome"] == "failed" and failed["smoke"]["status"] == "failed"
    assert failed["smoke"]["checks"][0]["error"] and failed["analysis"]["status"] == "not run"
    assert "verify" not in failed["durations_s"]

    cert = {"enabled": True, "host": "staging.todo.example.com"}
    checked = _verified_release(
        _params(web, prom, tmp_path / "checked", certificate=cert), check_mode=True
    )
    _check(checked, REPORT, "report", seen)
    assert checked["check_mode"] is True
    assert {checked[p]["summary"] for p in ("certificate", "smoke", "analysis")} == {"check mode"}

    # every key RETURN documents in the report is one some report has
    documented = {"report." + p for p, _doc in _walk_docs(REPORT["contains"])} | {"report"}
    assert documented - seen == set()
