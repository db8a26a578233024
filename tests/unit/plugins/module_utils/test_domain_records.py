"""How do_domain_record decides what to create, update, delete or leave alone."""

from __future__ import annotations

import json

import pytest
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._domain_records import (
    PlanError,
    note_created,
    plan,
    records_diff,
    relative_name,
)


def rec(rid, rtype, name, data, ttl=1800):
    return {"id": rid, "type": rtype, "name": name, "data": data, "ttl": ttl}


def want(rtype, name, data=None, state="present", **extra):
    out = {"type": rtype, "name": name, "data": data, "state": state}
    out.update({k: None for k in ("ttl", "priority", "port", "weight", "flags", "tag")})
    out.update(extra)
    return out


def planned(domain, declared, existing):
    """plan()'s ChangeSet as its (change, request) steps, and the records."""
    changes, records = plan(domain, declared, existing)
    return changes.steps, records


def ops(steps):
    return [
        (c["action"], c["type"], c["name"], request[0] if request else None) for c, request in steps
    ]


@pytest.mark.parametrize(
    ("name", "relative"),
    [
        ("todo", "todo"),
        ("todo.example.com", "todo"),
        ("Staging.Todo.Example.COM.", "staging.todo"),
        ("example.com", "@"),
        ("@", "@"),
    ],
)
def test_names_are_relative_to_the_domain(name, relative):
    assert relative_name(name, "example.com") == relative


def test_in_sync_records_need_nothing():
    existing = [rec(1, "A", "todo", "203.0.113.10", 300)]
    steps, results = planned("example.com", [want("A", "todo", "203.0.113.10", ttl=300)], existing)
    assert steps == []
    assert results == [{"id": 1, "type": "A", "name": "todo", "data": "203.0.113.10", "ttl": 300}]


def test_single_record_is_updated_in_place_keeping_its_id():
    existing = [rec(7, "A", "todo", "203.0.113.9")]
    steps = planned("example.com", [want("A", "todo.example.com", "203.0.113.10")], existing)[0]
    (change, request) = steps[0]
    assert change["before"] == {"data": "203.0.113.9"} and change["after"] == {
        "data": "203.0.113.10"
    }
    assert request == (
        "PUT",
        "/domains/example.com/records/7",
        {"type": "A", "name": "todo", "data": "203.0.113.10", "ttl": 1800},
    )


def test_undeclared_ttl_is_kept_and_declared_ttl_is_reconciled():
    existing = [rec(7, "A", "todo", "203.0.113.10", ttl=600)]
    assert planned("example.com", [want("A", "todo", "203.0.113.10")], existing)[0] == []
    steps = planned("example.com", [want("A", "todo", "203.0.113.10", ttl=300)], existing)[0]
    assert steps[0][0]["after"] == {"ttl": 300}


def test_missing_record_is_created_and_unrelated_records_are_not_touched():
    existing = [rec(1, "A", "www", "198.51.100.1"), rec(2, "TXT", "todo", "hello")]
    steps = planned("example.com", [want("A", "todo", "203.0.113.10")], existing)[0]
    assert ops(steps) == [("create", "A", "todo", "POST")]


def test_several_records_with_one_declared_value_is_ambiguous_and_changes_nothing():
    existing = [rec(1, "A", "todo", "198.51.100.1"), rec(2, "A", "todo", "198.51.100.2")]
    with pytest.raises(PlanError) as err:
        planned("example.com", [want("A", "todo", "203.0.113.10")], existing)
    assert "2 A records named todo exist" in str(err.value)
    assert "state: absent" in str(err.value)


def test_extra_record_next_to_a_matching_one_is_reported_not_deleted():
    existing = [rec(1, "A", "todo", "203.0.113.10"), rec(2, "A", "todo", "198.51.100.2")]
    changes, _records = plan("example.com", [want("A", "todo", "203.0.113.10")], existing)
    assert ops(changes.steps) == [("none", "A", "todo", None)]
    assert changes.changes[0]["reason"].startswith("another A record with this name; left alone")
    assert changes.changed is False


def test_round_robin_values_are_matched_by_data():
    existing = [rec(1, "A", "lb", "198.51.100.1")]
    declared = [want("A", "lb", "198.51.100.1"), want("A", "lb", "198.51.100.2")]
    steps = planned("example.com", declared, existing)[0]
    assert ops(steps) == [("create", "A", "lb", "POST")]


def test_absent_with_and_without_data():
    existing = [rec(1, "A", "old", "198.51.100.1"), rec(2, "A", "old", "198.51.100.2")]
    steps = planned("example.com", [want("A", "old", "198.51.100.2", state="absent")], existing)[0]
    assert [(c["action"], c["id"]) for c, _request in steps if c["action"] == "delete"] == [
        ("delete", 2)
    ]
    steps = planned("example.com", [want("A", "old", state="absent")], existing)[0]
    assert sorted(c["id"] for c, _request in steps) == [1, 2]


def test_hostnames_and_addresses_compare_by_meaning():
    existing = [rec(1, "CNAME", "www", "Example.com."), rec(2, "AAAA", "v6", "2001:db8::1")]
    declared = [want("CNAME", "www", "example.com"), want("AAAA", "v6", "2001:0db8:0:0::1")]
    assert planned("example.com", declared, existing)[0] == []


def test_present_record_needs_data():
    with pytest.raises(PlanError):
        planned("example.com", [want("A", "todo")], [])


# -- the plan is plain data; the diff and the new ids come from it --------------------------------


def test_a_plan_is_plain_data_the_module_only_has_to_send():
    existing = [rec(7, "A", "todo", "203.0.113.9"), rec(8, "A", "old", "198.51.100.8")]
    declared = [
        want("A", "todo", "203.0.113.10", ttl=300),
        want("A", "old", state="absent"),
        want("TXT", "new", "hello"),
    ]
    steps, results = planned("example.com", declared, existing)
    json.dumps([steps, results])
    # in the order of (type, name)
    assert [request for _change, request in steps] == [
        ("DELETE", "/domains/example.com/records/8", None),
        (
            "PUT",
            "/domains/example.com/records/7",
            {"type": "A", "name": "todo", "data": "203.0.113.10", "ttl": 300},
        ),
        ("POST", "/domains/example.com/records", {"type": "TXT", "name": "new", "data": "hello"}),
    ]
    assert [r["id"] for r in results] == [7, None]


def test_planning_twice_gives_the_same_plan_and_leaves_the_inputs_alone():
    existing = [rec(7, "A", "todo", "203.0.113.9")]
    declared = [want("A", "todo.example.com", "203.0.113.10")]
    frozen = json.dumps([existing, declared])
    assert planned("example.com", declared, existing) == planned("example.com", declared, existing)
    assert json.dumps([existing, declared]) == frozen


def test_the_diff_shows_only_the_records_with_a_declared_type_and_name():
    existing = [
        rec(1, "A", "todo", "198.51.100.7", 300),
        rec(2, "A", "old", "198.51.100.8"),
        rec(3, "CNAME", "www", "example.com."),
    ]
    declared = [want("A", "todo", "203.0.113.10", ttl=300), want("A", "old", state="absent")]
    steps = planned("example.com", declared, existing)[0]
    diff = records_diff("example.com", declared, existing, [change for change, _r in steps])
    assert diff == {
        "before": "A old 198.51.100.8 ttl=1800\nA todo 198.51.100.7 ttl=300\n",
        "after": "A todo 203.0.113.10 ttl=300\n",
    }


def test_a_created_record_gets_the_id_the_api_gave_it():
    steps, results = planned("example.com", [want("A", "lb", "198.51.100.1")], [])
    assert results == [{"id": None, "type": "A", "name": "lb", "data": "198.51.100.1"}]
    note_created(results, {"id": 42, "type": "A", "name": "lb", "data": "198.51.100.1"})
    note_created(results, {"id": 43, "type": "A", "name": "other", "data": "198.51.100.1"})
    assert results[0]["id"] == 42
    assert [c["action"] for c, _request in steps] == ["create"]
