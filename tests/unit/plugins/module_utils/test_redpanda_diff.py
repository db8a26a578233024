"""The difference computation of the redpanda_* modules: plan_topics, plan_acls, plan_users.

These functions are the one place that decides what changes, so `changed`, `--diff` and check mode
are derived from them. The tests pin the behaviours users rely on: idempotence, refusals that
leave everything alone, `exclusive` scoping, role expansion, password handling.
"""

from __future__ import annotations

import pytest
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_plan import (
    AclKey,
    acl_diff,
    acl_principals,
    acl_text,
    config_value,
    expand_acl_entries,
    normalize_principal,
    plan_acls,
    plan_topics,
    topic_diff,
    topic_name_problem,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_user_plan import (
    plan_users,
    user_diff,
)

# --------------------------------------------------------------------------------------------
# topics
# --------------------------------------------------------------------------------------------


def topic_changes(*args, **kwargs):
    """plan_topics' changes as the list the module returns (RV(topics)), and its errors."""
    planned, errors = plan_topics(*args, **kwargs)
    return planned.changes, errors


def topic(name, **kw):
    spec = dict(name=name, state="present", partitions=None, replication_factor=None, configs={})
    spec.update(kw)
    return spec


def existing(partitions=3, rf=1, **configs):
    return dict(
        partitions=partitions,
        replication_factor=rf,
        configs={k: dict(value=v, override=True) for k, v in configs.items()},
    )


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("task-events", None),
        ("a.b_c-D9", None),
        ("x" * 249, None),
        ("", "must not be empty"),
        (".", "reserved"),
        ("..", "reserved"),
        ("x" * 250, "the limit is 249"),
        ("bad name!", "' ', '!'"),
        ("tâche", "'â'"),
    ],
)
def test_topic_names(name, problem):
    found = topic_name_problem(name)
    if problem is None:
        assert found is None
    else:
        assert problem in found


def test_config_values_compare_as_the_broker_reports_them():
    assert config_value(True) == "true"
    assert config_value(False) == "false"
    assert config_value(604800000) == "604800000"
    assert config_value(1.0) == "1"
    assert config_value("delete") == "delete"
    assert config_value(None) is None


def test_new_topic_is_created_with_its_settings():
    changes, errors = topic_changes(
        [topic("t", partitions=3, replication_factor=1, configs={"retention.ms": 1000})], {}
    )
    assert errors == []
    assert changes == [
        dict(
            name="t",
            action="create",
            partitions=dict(before=None, after=3),
            replication_factor=dict(before=None, after=1),
            configs={"retention.ms": dict(before=None, after="1000")},
        )
    ]


def test_matching_topic_is_unchanged_second_run():
    current = {"t": existing(3, 1, **{"retention.ms": "1000"})}
    changes, errors = topic_changes(
        [topic("t", partitions=3, replication_factor=1, configs={"retention.ms": 1000})], current
    )
    assert errors == []
    assert changes == [dict(name="t", action="none")]
    diff = topic_diff(changes, current)
    assert diff["before"] == diff["after"] == {"topics": {}}
    assert plan_topics([topic("t", partitions=3)], current)[0].changed is False
    assert plan_topics([topic("t", partitions=4)], current)[0].changed is True


def test_partitions_grow_and_configs_change():
    current = {"t": existing(3, 1, **{"retention.ms": "1000", "cleanup.policy": "delete"})}
    changes, errors = topic_changes(
        [topic("t", partitions=6, configs={"retention.ms": "2000", "cleanup.policy": "delete"})],
        current,
    )
    assert errors == []
    (change,) = changes
    assert change["action"] == "update"
    assert change["partitions"] == dict(before=3, after=6)
    assert change["configs"] == {"retention.ms": dict(before="1000", after="2000")}
    diff = topic_diff(changes, current)
    assert diff["before"]["topics"]["t"] == dict(
        partitions=3, replication_factor=1, configs={"retention.ms": "1000"}
    )
    assert diff["after"]["topics"]["t"] == dict(
        partitions=6, replication_factor=1, configs={"retention.ms": "2000"}
    )


def test_a_null_config_resets_an_override_only():
    current = {
        "t": dict(
            partitions=1,
            replication_factor=1,
            configs={
                "retention.ms": dict(value="1000", override=True),
                "segment.ms": dict(value="604800000", override=False),
            },
        )
    }
    changes, _errors = topic_changes(
        [topic("t", configs={"retention.ms": None, "segment.ms": None})], current
    )
    assert changes[0]["configs"] == {"retention.ms": dict(before="1000", after=None)}
    assert "retention.ms" not in topic_diff(changes, current)["after"]["topics"]["t"].get(
        "configs", {}
    )


def test_partition_decrease_is_refused_with_the_numbers():
    changes, errors = topic_changes([topic("t", partitions=2)], {"t": existing(6)})
    assert changes == []
    assert len(errors) == 1
    assert "has 6 partitions" in errors[0] and "asked for 2" in errors[0]


def test_replication_factor_change_is_refused():
    _changes, errors = topic_changes([topic("t", replication_factor=3)], {"t": existing(3, 1)})
    assert "replication factor 1" in errors[0] and "to 3" in errors[0]


def test_one_refusal_is_reported_alongside_valid_changes_so_callers_apply_nothing():
    changes, errors = topic_changes(
        [topic("ok", partitions=5), topic("bad", partitions=1)],
        {"ok": existing(3), "bad": existing(3)},
    )
    assert [c["name"] for c in changes] == ["ok"]
    assert errors and "'bad'" in errors[0]


def test_deletion_needs_allow_deletion_only_when_something_would_be_deleted():
    current = {"t": existing(3)}
    changes, errors = topic_changes([topic("t", state="absent")], current)
    assert changes == [] and "allow_deletion=true" in errors[0]
    changes, errors = topic_changes([topic("t", state="absent")], current, allow_deletion=True)
    assert errors == [] and changes[0]["action"] == "delete"
    assert topic_diff(changes, current)["after"] == {"topics": {}}
    changes, errors = topic_changes([topic("gone", state="absent")], current)
    assert errors == [] and changes == [dict(name="gone", action="none")]


def test_duplicate_and_invalid_topics_are_errors():
    _changes, errors = topic_changes([topic("t"), topic("t"), topic("no way")], {})
    assert any("more than once" in e for e in errors)
    assert any("'no way'" in e for e in errors)


def test_zero_partitions_is_an_error():
    _changes, errors = topic_changes([topic("t", partitions=0)], {})
    assert "at least 1" in errors[0]


# --------------------------------------------------------------------------------------------
# ACLs
# --------------------------------------------------------------------------------------------


def key(
    principal="User:app",
    rtype="topic",
    name="t",
    pattern="literal",
    op="read",
    perm="allow",
    host="*",
):
    return AclKey(principal, host, rtype, name, pattern, op, perm)


def test_principal_normalisation():
    assert normalize_principal("app") == "User:app"
    assert normalize_principal("User:app") == "User:app"
    assert normalize_principal("RedpandaRole:ops") == "RedpandaRole:ops"
    assert normalize_principal(" app ") == "User:app"


def test_explicit_entry_expands_one_acl_per_operation():
    present, absent, errors = expand_acl_entries(
        [
            dict(
                principal="app",
                resource_type="topic",
                resource_name="t",
                operations=["read", "describe"],
            )
        ]
    )
    assert errors == [] and absent == []
    assert present == [key(op="read"), key(op="describe")]


def test_producer_and_consumer_roles_expand_to_the_documented_sets():
    present, _absent, errors = expand_acl_entries(
        [
            dict(
                principal="User:s",
                role="producer",
                resource_name="staging-",
                pattern_type="prefixed",
            ),
            dict(
                principal="User:s",
                role="consumer",
                resource_name="staging-",
                pattern_type="prefixed",
                group="staging-",
            ),
        ]
    )
    assert errors == []
    got = {(k.resource_type, k.resource_name, k.pattern_type, k.operation) for k in present}
    assert got == {
        ("topic", "staging-", "prefixed", "write"),
        ("topic", "staging-", "prefixed", "describe"),
        ("topic", "staging-", "prefixed", "read"),
        ("group", "staging-", "prefixed", "read"),
    }
    assert len(present) == 4  # the shared DESCRIBE is not duplicated


def test_producer_role_with_transactional_id_and_literal_group_pattern():
    present, _absent, errors = expand_acl_entries(
        [
            dict(
                principal="p",
                role="producer",
                resource_name="t",
                transactional_id="tx-",
                group_pattern_type="prefixed",
            ),
        ]
    )
    assert errors == []
    assert key("User:p", "transactional_id", "tx-", "prefixed", "write") in present
    assert all(k.operation != "create" for k in present)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (dict(principal="p", role="consumer", resource_name="t"), "needs group"),
        (dict(principal="p", role="producer"), "needs resource_name"),
        (
            dict(principal="p", role="producer", resource_name="t", operations=["read"]),
            "either role or operations",
        ),
        (
            dict(principal="p", role="producer", resource_name="t", resource_type="group"),
            "applies to topics",
        ),
        (
            dict(principal="p", resource_type="group", resource_name="g", operations=["write"]),
            "do not apply to resource_type group",
        ),
        (
            dict(
                principal="p",
                resource_type="cluster",
                resource_name="other",
                operations=["describe"],
            ),
            "always literal 'kafka-cluster'",
        ),
        (dict(principal="p", resource_name="t", operations=["read"]), "resource_type is required"),
        (
            dict(principal="p", resource_type="topic", operations=["read"]),
            "resource_name is required",
        ),
        (
            dict(principal="", resource_type="topic", resource_name="t", operations=["read"]),
            "principal is required",
        ),
    ],
)
def test_bad_entries_are_refused(entry, message):
    _present, _absent, errors = expand_acl_entries([entry])
    assert errors and message in errors[0]


def test_cluster_entry_defaults_its_name():
    present, _absent, errors = expand_acl_entries(
        [dict(principal="ops", resource_type="cluster", operations=["describe"])]
    )
    assert errors == [] and present[0].resource_name == "kafka-cluster"


def test_same_acl_present_and_absent_is_an_error():
    entry = dict(principal="p", resource_type="topic", resource_name="t", operations=["read"])
    _p, _a, errors = expand_acl_entries([entry, dict(entry, state="absent")])
    assert errors and "both present and absent" in errors[0]


def acls(plan, action):
    """The ACLs plan_acls' ChangeSet sends for `action` (CreateAcls, DeleteAcls)."""
    return plan.select(action).requests


def test_acl_plan_creates_missing_and_keeps_existing():
    plan = plan_acls([key(op="read"), key(op="write")], [], [key(op="read")])
    assert acls(plan, "create") == [key(op="write")] and acls(plan, "delete") == []
    assert [c["action"] for c in plan.changes] == ["create", "none"]
    assert plan.changes[1] == dict(action="none", **key(op="read")._asdict())
    assert plan.changed


def test_acl_plan_is_empty_when_everything_exists_second_run():
    wanted = [key(op="read"), key(op="write")]
    plan = plan_acls(wanted, [], [*wanted, key("User:other")], exclusive=True)
    assert acls(plan, "create") == [] and acls(plan, "delete") == []
    assert plan.changed is False and len(plan.select("none").changes) == 2
    diff = acl_diff(plan, [*wanted, key("User:other")], acl_principals(wanted, []))
    assert diff["before"] == diff["after"]


def test_absent_entries_delete_only_what_exists():
    plan = plan_acls([], [key(op="read"), key(op="write")], [key(op="read")])
    assert acls(plan, "delete") == [key(op="read")] and acls(plan, "create") == []


def test_exclusive_removes_undeclared_acls_of_listed_principals_only():
    stray = key(op="alter")
    other = key("User:other", op="alter")
    current = [key(op="read"), stray, other, key("User:app", rtype="group", name="g")]
    plan = plan_acls([key(op="read")], [], current, exclusive=True)
    assert set(acls(plan, "delete")) == {stray, key("User:app", rtype="group", name="g")}
    assert other not in acls(plan, "delete")
    # without exclusive nothing undeclared is touched
    assert acls(plan_acls([key(op="read")], [], current), "delete") == []


def test_acl_diff_is_derived_from_the_plan():
    current = [key(op="read"), key(op="alter"), key("User:other")]
    present = [key(op="read"), key(op="write")]
    plan = plan_acls(present, [], current, exclusive=True)
    diff = acl_diff(plan, current, acl_principals(present, []))
    assert set(diff["before"]["acls"]) == {"User:app"}  # scoped to the listed principal
    assert diff["before"]["acls"]["User:app"] == sorted(
        [acl_text(key(op="read")), acl_text(key(op="alter"))]
    )
    assert diff["after"]["acls"]["User:app"] == [
        acl_text(k) for k in sorted([key(op="read"), key(op="write")])
    ]


def test_acl_text_is_readable():
    assert acl_text(key(op="read", pattern="prefixed", name="staging-")) == (
        "ALLOW READ topic:staging- (prefixed) from *"
    )


# --------------------------------------------------------------------------------------------
# users
# --------------------------------------------------------------------------------------------


def user_changes(*args, **kwargs):
    """plan_users' changes as the list the module returns (RV(users)), and its errors."""
    planned, errors = plan_users(*args, **kwargs)
    return planned.changes, errors


def user(name="app", **kw):
    spec = dict(
        name=name, state="present", mechanisms=["SCRAM-SHA-256"], iterations=4096, has_password=True
    )
    spec.update(kw)
    return spec


def test_new_user_is_created():
    changes, errors = user_changes([user()], {})
    assert errors == []
    assert changes[0]["action"] == "create"
    assert changes[0]["set_mechanisms"] == ["SCRAM-SHA-256"] and changes[0]["password_set"]


def test_existing_user_is_left_alone_on_create_mode():
    current = {"app": dict(mechanisms={"SCRAM-SHA-256": 4096})}
    changes, _errors = user_changes([user()], current, "on_create")
    assert changes[0]["action"] == "none"
    assert user_diff(changes) == dict(before=dict(users={}), after=dict(users={}))


def test_always_mode_changes_nothing_when_the_password_is_known_to_work():
    current = {"app": dict(mechanisms={"SCRAM-SHA-256": 4096})}
    changes, _errors = user_changes([user()], current, "always", {"app": True})
    assert changes[0]["action"] == "none"
    assert plan_users([user()], current, "always", {"app": True})[0].changed is False


def test_always_mode_sets_the_password_when_it_fails_or_cannot_be_checked():
    current = {"app": dict(mechanisms={"SCRAM-SHA-256": 4096})}
    for verdict in (False, None):
        changes, _errors = user_changes([user()], current, "always", {"app": verdict})
        assert changes[0]["action"] == "update"
        assert changes[0]["set_mechanisms"] == ["SCRAM-SHA-256"]
        assert changes[0]["password_set"]


def test_unreadable_mechanisms_leave_existing_users_alone():
    current = {"app": dict(mechanisms=None)}  # Redpanda Admin API: names only
    changes, _errors = user_changes([user()], current, "on_create", single_mechanism=True)
    assert changes[0]["action"] == "none"
    diff = user_diff(user_changes([user()], current, "always", single_mechanism=True)[0])
    assert diff["before"]["users"]["app"]["mechanisms"] == "(not reported by this backend)"


def test_kafka_backend_adds_and_removes_mechanisms():
    current = {"app": dict(mechanisms={"SCRAM-SHA-256": 4096})}
    changes, _errors = user_changes([user(mechanisms=["SCRAM-SHA-512"])], current)
    (change,) = changes
    assert change["action"] == "update"
    assert change["set_mechanisms"] == ["SCRAM-SHA-512"]
    assert change["delete_mechanisms"] == ["SCRAM-SHA-256"]
    assert change["before"] == ["SCRAM-SHA-256"] and change["after"] == ["SCRAM-SHA-512"]


def test_iterations_change_only_with_always():
    current = {"app": dict(mechanisms={"SCRAM-SHA-256": 8192})}
    assert user_changes([user()], current, "on_create")[0][0]["action"] == "none"
    changes, _errors = user_changes([user()], current, "always", {"app": True})
    assert changes[0]["action"] == "none"  # password works: not reset for iterations alone
    changes, _errors = user_changes([user()], current, "always", {"app": False})
    assert any("iterations" in r for r in changes[0]["reasons"])


def test_redpanda_refuses_two_mechanisms():
    _changes, errors = user_changes(
        [user(mechanisms=["SCRAM-SHA-256", "SCRAM-SHA-512"])], {}, single_mechanism=True
    )
    assert "one SCRAM credential per user" in errors[0]
    _changes, errors = user_changes([user(mechanisms=["SCRAM-SHA-256", "SCRAM-SHA-512"])], {})
    assert errors == []  # Apache Kafka keeps both


def test_redpanda_mechanism_change_sets_the_password_too():
    current = {"app": dict(mechanisms={"SCRAM-SHA-512": None})}
    changes, _errors = user_changes([user()], current, "on_create", single_mechanism=True)
    assert changes[0]["action"] == "update"
    assert changes[0]["set_mechanisms"] == ["SCRAM-SHA-256"] and changes[0]["password_set"]
    assert changes[0]["delete_mechanisms"] == []


def test_absent_users_are_deleted_once():
    current = {"app": dict(mechanisms={"SCRAM-SHA-256": 4096})}
    changes, _errors = user_changes([user(state="absent", has_password=False)], current)
    assert changes[0]["action"] == "delete"
    changes, _errors = user_changes([user(state="absent", has_password=False)], {})
    assert changes[0]["action"] == "none"


def test_present_user_without_password_and_duplicates_are_errors():
    _c, errors = user_changes([user(has_password=False), user("b"), user("b")], {})
    assert any("password is required" in e for e in errors)
    assert any("more than once" in e for e in errors)


def test_user_diff_never_contains_a_password():
    changes, _errors = user_changes([user()], {})
    diff = user_diff(changes)
    assert diff["after"]["users"]["app"] == {
        "mechanisms": ["SCRAM-SHA-256"],
        "password": "(set by this task)",
    }
