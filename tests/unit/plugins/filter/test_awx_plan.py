"""The awx_plan filter: dependency order, cross-checks, survey and workflow expansion.

Pure Python: no AWX is needed (or contacted) to test what the filter decides.
"""

from __future__ import annotations

import copy
import importlib.util

import pytest
from ansible.errors import AnsibleFilterError

from tests.testbed import ROOT

_spec = importlib.util.spec_from_file_location(
    "awx_plan", ROOT / "plugins" / "filter" / "awx_plan.py"
)
awx_plan_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(awx_plan_module)
awx_plan = awx_plan_module.awx_plan
ORDER = awx_plan_module.ORDER

CANARY = "canary-secret-7f3a9c"  # a credential value that must never leave the data


def _data():
    """One object of every kind, listed in reverse dependency order on purpose."""
    return {
        "workflow_job_templates": [
            {
                "name": "Promote",
                "survey": [
                    {"variable": "image_tag", "required": True, "pattern": r"^v\d+\.\d+\.\d+$"}
                ],
                "nodes": [
                    {"identifier": "stage", "job_template": "Release", "success": ["ok"]},
                    {
                        "identifier": "ok",
                        "approval": {"name": "Go?", "timeout": 60},
                        "success": ["prod"],
                    },
                    {"identifier": "prod", "job_template": "Release", "inventory": "prod"},
                ],
            }
        ],
        "job_templates": [
            {
                "name": "Release",
                "project": "deploy",
                "playbook": "release.yml",
                "inventory": "stage",
                "ask_inventory_on_launch": True,
                "execution_environment": "ee",
                "credentials": ["token", "Vault"],
                "survey": [
                    {
                        "variable": "image_tag",
                        "question": "Tag?",
                        "description": "The tag.",
                        "required": True,
                        "min": 1,
                        "max": 20,
                        "default": "v1.0.0",
                        "pattern": r"^v\d+\.\d+\.\d+$",
                    }
                ],
            }
        ],
        "inventory_sources": [
            {
                "name": "stage src",
                "inventory": "stage",
                "source_project": "deploy",
                "source_path": "inventories/staging/hosts.yml",
            }
        ],
        "inventories": [{"name": "stage"}, {"name": "prod"}],
        "projects": [{"name": "deploy", "scm_url": "https://example.invalid/x.git"}],
        "execution_environments": [{"name": "ee", "image": "ghcr.io/x/ee:1"}],
        "credentials": [
            {"name": "token", "credential_type": "API token", "inputs": {"token": CANARY}},
            {"name": "Vault", "credential_type": "Vault", "inputs": {"vault_password": CANARY}},
        ],
        "credential_types": [
            {
                "name": "API token",
                "inputs": {
                    "fields": [{"id": "token", "secret": True}, {"id": "note"}],
                    "required": ["token"],
                },
                "injectors": {"env": {"API_TOKEN": "{{ token }}"}},
            }
        ],
        "organizations": [{"name": "org"}],
    }


EXISTING = {"credential_types": ["Vault"]}


def _plan(data, **kw):
    return awx_plan(data, kw.pop("org", "org"), kw.pop("existing", EXISTING), **kw)


def _errors(data, **kw) -> str:
    with pytest.raises(AnsibleFilterError) as err:
        _plan(data, **kw)
    return str(err.value)


def test_steps_follow_dependency_order_whatever_the_input_order():
    plan = _plan(_data())
    assert [s["kind"] for s in plan["steps"]] == list(ORDER)
    assert {s["state"] for s in plan["steps"]} == {"present"}


def test_every_reference_points_to_an_earlier_kind():
    # The invariant the order rests on; a new reference to a later kind would break applying.
    for kind, refs in awx_plan_module.REFERENCES.items():
        for field, target, _many in refs:
            assert ORDER.index(target) < ORDER.index(kind), (kind, field, target)


def test_absent_objects_go_last_in_reverse_order():
    data = _data()
    data["projects"].append({"name": "old", "state": "absent"})
    data["job_templates"].append({"name": "Old JT", "state": "absent"})
    plan = _plan(data)
    tail = [(s["kind"], s["state"]) for s in plan["steps"]][-2:]
    assert tail == [("job_templates", "absent"), ("projects", "absent")]


def test_a_reference_to_something_being_removed_is_an_error():
    data = _data()
    data["projects"][0]["state"] = "absent"
    msg = _errors(data)
    assert "job template 'Release': project 'deploy' is being removed" in msg


def test_all_problems_are_reported_at_once_with_names():
    data = _data()
    data["job_templates"][0]["project"] = "depoly"
    data["job_templates"][0]["credentials"] = ["token", "nope"]
    data["inventory_sources"][0]["inventory"] = "stagign"
    data["inventories"].append({"name": "prod"})
    msg = _errors(data)
    assert "4 problem(s)" in msg
    assert "job template 'Release': project 'depoly' is not defined in projects" in msg
    assert "job template 'Release': credentials 'nope' is not defined in credentials" in msg
    assert "inventory source 'stage src': inventory 'stagign' is not defined" in msg
    assert "inventory 'prod': defined twice" in msg


def test_existing_objects_may_be_referred_to():
    data = _data()
    data["job_templates"][0]["credentials"].append("Legacy")
    assert "Legacy" in _errors(data)
    plan = _plan(data, existing={"credential_types": ["Vault"], "credentials": ["Legacy"]})
    assert plan["steps"]


def test_objects_without_organization_get_the_default():
    plan = _plan(_data())
    for step in plan["steps"]:
        if step["kind"] in awx_plan_module.ORGANIZATION_KINDS:
            assert all(o["organization"] == "org" for o in step["objects"]), step["kind"]


def test_credential_values_never_enter_the_plan_or_an_error():
    data = _data()
    plan = _plan(data)
    assert CANARY not in repr(plan)
    creds = next(s for s in plan["steps"] if s["kind"] == "credentials")["objects"]
    assert {c["name"]: c["input_fields"] for c in creds} == {
        "token": ["token"],
        "Vault": ["vault_password"],
    }
    data["credentials"][0]["inputs"]["bogus"] = CANARY
    del data["credentials"][0]["name"]
    msg = _errors(data)
    assert CANARY not in msg


def test_credential_inputs_are_checked_against_their_type():
    data = _data()
    data["credentials"][0]["inputs"] = {"tokn": "x"}
    msg = _errors(data)
    assert "credential 'token': inputs ['tokn'] are not fields of its type" in msg
    assert "credential 'token': required input 'token' is not given" in msg


def test_empty_secrets_are_listed_and_empty_optional_inputs_dropped():
    data = _data()
    data["credentials"][0]["inputs"] = {"token": "", "note": ""}
    data["credentials"][1]["inputs"] = {"vault_password": ""}
    plan = _plan(data)
    assert plan["missing_inputs"] == [
        "credential 'token': token",
        "credential 'Vault': vault_password",
    ]
    creds = next(s for s in plan["steps"] if s["kind"] == "credentials")["objects"]
    assert [c["input_fields"] for c in creds] == [[], []]


def test_injectors_may_only_use_declared_fields():
    data = _data()
    data["credential_types"][0]["injectors"] = {
        "env": {"A": "{{ token }}", "B": "{{ tokne }}"},
        "file": {"template": "{{ note }}"},
        "extra_vars": {"path": "{{ tower.filename }}"},
    }
    assert "injectors use undeclared fields ['tokne']" in _errors(data)


def test_survey_is_expanded_to_the_api_form_with_the_pattern_in_the_description():
    plan = _plan(_data())
    jt = next(s for s in plan["steps"] if s["kind"] == "job_templates")["objects"][0]
    assert "survey" not in jt
    assert jt["survey_enabled"] is True
    assert jt["survey_patterns"] == {"image_tag": r"^v\d+\.\d+\.\d+$"}
    assert jt["survey_spec"] == {
        "name": "Release",
        "description": "",
        "spec": [
            {
                "question_name": "Tag?",
                "question_description": r"The tag. Must match ^v\d+\.\d+\.\d+$ (the playbook "
                "checks it; AWX surveys cannot).",
                "variable": "image_tag",
                "type": "text",
                "required": True,
                "min": 1,
                "max": 20,
                "default": "v1.0.0",
            }
        ],
    }


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"default": "1.0.0"}, r"'1.0.0' does not match ^v\d+\.\d+\.\d+$"),
        ({"default": "v1.0.0", "max": 3}, "'v1.0.0' is longer than max 3"),
        ({"min": 5, "max": 2}, "min 5 is greater than max 2"),
        ({"pattern": "(["}, "does not compile"),
        ({"type": "integer", "default": 7, "pattern": None, "max": 5}, "7 is above max 5"),
        ({"type": "multiplechoice", "pattern": None, "default": None}, "needs choices"),
        ({"choices": ["a"]}, "choices only apply to multiplechoice and multiselect"),
        ({"type": "integer", "default": None}, "a pattern only applies to text and password"),
        ({"variable": "image-tag"}, "variable must be an identifier"),
        ({"type": "date"}, "type 'date' is not one of"),
    ],
)
def test_survey_questions_that_contradict_themselves_are_errors(change, expected):
    data = _data()
    question = data["job_templates"][0]["survey"][0]
    question.update(change)
    for key in [k for k, v in change.items() if v is None]:
        question.pop(key)
    assert expected in _errors(data)


def test_a_question_asked_twice_is_an_error():
    data = _data()
    survey = data["job_templates"][0]["survey"]
    survey.append(copy.deepcopy(survey[0]))
    assert "survey question 'image_tag': asked twice" in _errors(data)


def test_workflow_nodes_are_expanded_to_the_api_form():
    plan = _plan(_data())
    wf = next(s for s in plan["steps"] if s["kind"] == "workflow_job_templates")["objects"][0]
    assert "nodes" not in wf
    assert wf["survey_spec"]["spec"][0]["variable"] == "image_tag"
    assert wf["workflow_nodes"] == [
        {
            "identifier": "stage",
            "unified_job_template": {
                "name": "Release",
                "type": "job_template",
                "organization": {"name": "org"},
            },
            "related": {
                "success_nodes": [{"identifier": "ok"}],
                "failure_nodes": [],
                "always_nodes": [],
            },
        },
        {
            "identifier": "ok",
            "unified_job_template": {
                "name": "Go?",
                "type": "workflow_approval",
                "description": "",
                "timeout": 60,
            },
            "related": {
                "success_nodes": [{"identifier": "prod"}],
                "failure_nodes": [],
                "always_nodes": [],
            },
        },
        {
            "identifier": "prod",
            "unified_job_template": {
                "name": "Release",
                "type": "job_template",
                "organization": {"name": "org"},
            },
            "inventory": {"name": "prod", "organization": {"name": "org"}},
            "related": {"success_nodes": [], "failure_nodes": [], "always_nodes": []},
        },
    ]


def test_workflow_graph_errors():
    data = _data()
    nodes = data["workflow_job_templates"][0]["nodes"]
    nodes[2]["success"] = ["stage"]  # prod -> stage: a cycle
    nodes[0]["failure"] = ["nowhere"]
    nodes.append({"identifier": "both", "job_template": "Release", "approval": {"name": "x"}})
    nodes.append({"identifier": "ghost", "job_template": "Missing"})
    msg = _errors(data)
    assert "nodes form a cycle: stage -> ok -> prod -> stage" in msg
    assert "node 'stage': failure link to unknown node 'nowhere'" in msg
    assert "node 'both': needs exactly one of job_template, approval" in msg
    assert "node 'ghost': job template 'Missing' is not defined in job_templates" in msg


def test_launch_values_a_job_template_would_ignore_are_errors():
    data = _data()
    data["job_templates"][0]["ask_inventory_on_launch"] = False
    data["workflow_job_templates"][0]["nodes"][0]["extra_data"] = {
        "image_tag": "v1.0.0",
        "other": 1,
    }
    msg = _errors(data)
    assert "job template 'Release' does not prompt for an inventory" in msg
    assert "would ignore extra_data ['other']" in msg


def test_playbooks_can_be_restricted_to_the_entry_points():
    data = _data()
    assert _plan(data, playbooks=["release.yml"])
    data["job_templates"][0]["playbook"] = "playbooks/release.yml"
    assert "is not one of release.yml" in _errors(data, playbooks=["release.yml"])
    data["job_templates"][0]["playbook"] = "release"
    assert "is not a playbook file" in _errors(data)


def test_bad_shapes_are_reported_not_crashed_on():
    assert "unknown kinds ['hosts']" in _errors({"hosts": []})
    assert "projects: must be a list" in _errors({"projects": {"name": "x"}})
    assert "every object needs a name" in _errors({"inventories": [{"description": "x"}]})
    with pytest.raises(AnsibleFilterError, match="expects a dict"):
        awx_plan([])
