"""The collection's one change vocabulary and its tracker (module_utils/_changes.py): what every
planner records and every module returns, so `changed`, `--diff` and check mode agree."""

from __future__ import annotations

import json
import pathlib
import re

import pytest
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._changes import (
    ACTIONS,
    ChangeSet,
)

ROOT = pathlib.Path(__file__).resolve().parents[4]
LEFT_RUNNING = "not declared; left running (prune_node_pools: true deletes it)"


def example() -> ChangeSet:
    """A plan like doks_cluster's: one PUT for two fields, a finding, a POST."""
    changes = ChangeSet()
    put = ("PUT", "/c/1", {"auto_upgrade": True, "tags": ["x"]})
    changes.add("update", "cluster", request=put, field="auto_upgrade", before=False, after=True)
    changes.add("update", "cluster", field="tags", before=[], after=["x"])
    changes.add("none", "node_pool/adhoc", reason=LEFT_RUNNING)
    changes.add("create", "node_pool/batch", request=("POST", "/c/1/node_pools", {"n": 1}))
    return changes


def test_the_vocabulary_is_one_key_and_five_actions():
    assert ACTIONS == ("create", "update", "delete", "upgrade", "none")
    change = ChangeSet().add("none", "node_pool/adhoc", reason=LEFT_RUNNING, before={"count": 1})
    assert change == {
        "action": "none",
        "target": "node_pool/adhoc",
        "reason": LEFT_RUNNING,
        "before": {"count": 1},
    }
    # modules that name things otherwise (a topic, a DNS record) leave target out
    assert ChangeSet().add("create", name="task-events") == {
        "action": "create",
        "name": "task-events",
    }


@pytest.mark.parametrize("action", ["report", "write", "chmod", "op", "", None, "Create"])
def test_an_unknown_action_is_refused(action):
    changes = ChangeSet()
    with pytest.raises(ValueError, match="unknown action"):
        changes.add(action, "cluster")
    assert changes.steps == []


def test_a_finding_sends_nothing():
    with pytest.raises(ValueError, match="sends no request"):
        ChangeSet().add("none", "node_pool/adhoc", request=("DELETE", "/x", None))


def test_changes_and_requests_keep_their_order():
    changes = example()
    assert [(c["action"], c["target"], c.get("field")) for c in changes.changes] == [
        ("update", "cluster", "auto_upgrade"),
        ("update", "cluster", "tags"),
        ("none", "node_pool/adhoc", None),
        ("create", "node_pool/batch", None),
    ]
    # one request for the two fields, none for the finding
    assert [(m, p) for m, p, _body in changes.requests] == [
        ("PUT", "/c/1"),
        ("POST", "/c/1/node_pools"),
    ]
    json.dumps(changes.steps)  # plain data


def test_changed_means_some_action_is_not_none():
    assert ChangeSet().changed is False
    findings = ChangeSet()
    findings.add("none", "node_pool/adhoc", reason=LEFT_RUNNING)
    findings.add("none", name="notifications")
    assert findings.changed is False
    for action in ("create", "update", "delete", "upgrade"):
        one = ChangeSet()
        one.add("none", "node_pool/adhoc", reason=LEFT_RUNNING)
        one.add(action, "cluster")
        assert one.changed is True, action


def test_check_mode_sends_nothing_and_reports_what_a_run_sends():
    changes = example()
    assert changes.to_send(check_mode=True) == []
    sent = changes.to_send(check_mode=False)
    assert [request for _change, request in sent] == changes.requests
    # each request goes with the first change it makes
    assert [(c["target"], c.get("field")) for c, _request in sent] == [
        ("cluster", "auto_upgrade"),
        ("node_pool/batch", None),
    ]
    # what check mode reports is what the run sends: both come from the same steps
    result = changes.result(False)
    assert result["changed"] is True and result["changes"] == changes.changes


def test_the_result_has_a_diff_only_in_diff_mode():
    changes = example()
    built = []

    def diff():
        built.append(True)
        return {"before": {"tags": []}, "after": {"tags": ["x"]}}

    assert "diff" not in changes.result(False, diff)
    assert built == []  # not even computed
    assert changes.result(True, diff)["diff"] == {"before": {"tags": []}, "after": {"tags": ["x"]}}
    assert changes.result(True, {"before": 1, "after": 2})["diff"] == {"before": 1, "after": 2}
    assert "diff" not in changes.result(True, None)


def test_the_result_names_the_list_as_the_module_documents_it():
    changes = ChangeSet()
    changes.add("none", name="notifications")
    assert changes.result(False, key="topics", backend="kafka") == {
        "changed": False,
        "topics": [{"action": "none", "name": "notifications"}],
        "backend": "kafka",
    }
    assert changes.result(False, key=None, unchanged=1) == {"changed": False, "unchanged": 1}


def test_select_extend_and_through():
    changes = example()
    assert [c["target"] for c in changes.select("none").changes] == ["node_pool/adhoc"]
    assert changes.select("none").requests == []
    assert changes.select("create", "update").changed is True
    joined = ChangeSet()
    joined.add("create", "kubeconfig", path="/k")
    assert [c["target"] for c in example().extend(joined).changes][-1] == "kubeconfig"
    failed_at = changes.changes[2]
    assert changes.through(failed_at) == changes.changes[:3]
    assert changes.through(None) == changes.changes


def test_op_and_report_are_gone_from_the_modules_that_used_them():
    """RETURN, EXAMPLES and code speak `action` (report is now none with a reason)."""
    files = [
        "plugins/modules/doks_cluster.py",
        "plugins/modules/do_domain_record.py",
        "plugins/module_utils/_doks_plan.py",
        "plugins/module_utils/_domain_records.py",
    ]
    for name in files:
        text = (ROOT / name).read_text()
        assert not re.search(
            r"[\"']op[\"']|\bop=|\bop: |C\(op\b|[\"']report[\"']|C\(report\)", text
        ), name
