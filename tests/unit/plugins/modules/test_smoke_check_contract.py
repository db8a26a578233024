"""smoke_check's contract: documentation that matches the code, and secrets kept out of logs."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from ansible.module_utils import basic
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.testing import patch_module_args
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _smoke
from ansible_collections.hackathon_todo.deploy.plugins.modules import smoke_check

from tests.smoke_endpoints import closed_port

DOC = yaml.safe_load(smoke_check.DOCUMENTATION)
RETURN = yaml.safe_load(smoke_check.RETURN)


def _compare_options(doc_options, spec_options, where):
    assert set(doc_options) == set(spec_options), where
    for name, spec in spec_options.items():
        doc, here = doc_options[name], f"{where}.{name}"
        assert doc.get("description"), here
        assert doc.get("type", "str") == spec.get("type", "str"), here
        assert doc.get("elements") == spec.get("elements"), here
        assert doc.get("required", False) == spec.get("required", False), here
        assert doc.get("choices") == spec.get("choices"), here
        assert doc.get("default") == spec.get("default"), here
        assert ("suboptions" in doc) == ("options" in spec), here
        if "options" in spec:
            _compare_options(doc["suboptions"], spec["options"], here)


def test_documentation_matches_argument_spec():
    _compare_options(DOC["options"], smoke_check.argument_spec(), "options")


def test_defaults_option_mirrors_check_options_with_engine_defaults():
    spec = smoke_check.argument_spec()
    per_check = set(spec["checks"]["options"]) - {"name", "url"}
    assert set(spec["defaults"]["options"]) == per_check == set(_smoke.CHECK_DEFAULTS)
    for name, opt in spec["defaults"]["options"].items():
        if "default" in opt:
            assert opt["default"] == _smoke.CHECK_DEFAULTS[name], name
        else:
            assert _smoke.CHECK_DEFAULTS[name] in (None, [], {}), name
        assert "default" not in spec["checks"]["options"][name], f"checks[].{name} must inherit"


def test_attributes_are_documented():
    assert {k: v["support"] for k, v in DOC["attributes"].items()} == {
        "check_mode": "full",
        "diff_mode": "none",
        "idempotent": "full",
    }


def _example_tasks():
    return [
        t["hackathon_todo.deploy.smoke_check"]
        for t in yaml.safe_load(smoke_check.EXAMPLES)
        if "hackathon_todo.deploy.smoke_check" in t
    ]


def test_examples_are_valid_module_input():
    tasks = _example_tasks()
    assert len(tasks) >= 3
    for args in tasks:
        result = ArgumentSpecValidator(smoke_check.argument_spec()).validate(args)
        assert result.error_messages == []
        params = result.validated_parameters
        if params["defaults"]["ca_path"]:
            params["defaults"]["ca_path"] = None  # the example's file does not exist here
        for check in params["checks"]:
            check["url"] = re.sub(r"\{\{ *domain *\}\}", "example.com", check["url"])
            if check["expect_redirect_to"]:
                check["expect_redirect_to"] = re.sub(
                    r"\{\{ *domain *\}\}", "example.com", check["expect_redirect_to"]
                )
        _smoke.resolve_checks(params["checks"], params["defaults"])


def test_examples_cover_the_seed_checks_for_both_hosts():
    seed = _example_tasks()[0]
    urls = {c["url"] for c in seed["checks"]}
    for host in ("todo.{{ domain }}", "staging.todo.{{ domain }}"):
        assert f"https://{host}/api/health" in urls
        assert any(
            c.get("expect_redirect_to") == f"https://{host}/" and c["url"] == f"http://{host}/"
            for c in seed["checks"]
        )
    assert seed["defaults"]["min_cert_days"] == 14
    assert seed["defaults"]["cert_issuer_contains"] == "Let's Encrypt"


def _run_main(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit):
        smoke_check.main()
    return json.loads(capsys.readouterr().out)


def test_returned_keys_match_return_documentation(capsys):
    out = _run_main(
        {"checks": [{"url": f"http://127.0.0.1:{closed_port()}/", "deadline": 0}]}, capsys
    )
    assert set(RETURN) <= set(out)
    assert set(out) - set(RETURN) <= {"changed", "failed", "msg", "invocation", "exception"}
    assert set(out["checks"][0]) == set(RETURN["checks"]["contains"])
    assert set(RETURN["checks"]["contains"]["latency_ms"]["contains"]) == {"p50", "p95"}
    assert out["failed"] is True and out["changed"] is False


def test_https_checks_fail_the_module_without_cryptography(capsys, monkeypatch):
    monkeypatch.setattr(_smoke, "HAS_CRYPTOGRAPHY", False)
    out = _run_main({"checks": [{"url": "https://127.0.0.1:9/", "deadline": 0}]}, capsys)
    assert out["failed"] is True
    assert "Failed to import the required Python library (cryptography)" in out["msg"]
    assert "checks" not in out  # refused before any request


SECRET = "Bearer in-process-secret-77ac"
ARGS = {
    "checks": [
        {"url": "http://127.0.0.1:9/", "headers": {"Authorization": SECRET, "Accept": "text/plain"}}
    ]
}


def _logged_invocation(module_class, monkeypatch):
    logged = []
    monkeypatch.setattr(
        basic.AnsibleModule, "log", lambda self, msg, log_args=None: logged.append((msg, log_args))
    )
    with patch_module_args(ARGS):
        module_class(argument_spec=smoke_check.argument_spec(), supports_check_mode=True)
    assert logged and logged[0][0].startswith("Invoked with")
    return repr(logged)


def test_invocation_log_masks_secret_headers(monkeypatch):
    text = _logged_invocation(smoke_check.SmokeCheckModule, monkeypatch)
    assert "text/plain" in text  # the checks are logged ...
    assert SECRET not in text  # ... without the secret value


def test_plain_ansible_module_would_log_the_secret(monkeypatch):
    """The control for the test above: without our hook the secret reaches the log."""
    assert SECRET in _logged_invocation(basic.AnsibleModule, monkeypatch)


def test_validation_failure_result_masks_secret_headers(capsys):
    bad = {"checks": [dict(ARGS["checks"][0], bogus=1)]}
    with patch_module_args(bad), pytest.raises(SystemExit):
        smoke_check.SmokeCheckModule(
            argument_spec=smoke_check.argument_spec(), supports_check_mode=True
        )
    out = capsys.readouterr().out
    assert "bogus" in out and "invocation" in out
    assert SECRET not in out
