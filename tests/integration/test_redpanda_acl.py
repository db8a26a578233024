"""redpanda_acl on the real test bed broker (StandardAuthorizer), run through ansible."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AclOperation

from tests.ansible_run import run_module
from tests.redpanda_support import acls_of, allow_on_topic, assert_no_secrets, delete_acls_of, tag


@pytest.fixture
def principals(admin):
    t = tag()
    names = [f"User:rp-acl-app-{t}", f"User:rp-acl-other-{t}"]
    yield names
    delete_acls_of(admin, *names)


def test_create_unchanged_change_delete(conn, admin, principals):
    app = principals[0]
    declared = dict(
        conn,
        acls=[
            {
                "principal": app,
                "role": "producer",
                "resource_name": "rp-acl-",
                "pattern_type": "prefixed",
            },
            {
                "principal": app,
                "role": "consumer",
                "resource_name": "rp-acl-",
                "pattern_type": "prefixed",
                "group": "rp-acl-group-",
            },
            {"principal": app, "resource_type": "cluster", "operations": ["describe"]},
        ],
    )
    expected = {
        ("topic", "rp-acl-", "prefixed", "write", "allow", "*"),
        ("topic", "rp-acl-", "prefixed", "describe", "allow", "*"),
        ("topic", "rp-acl-", "prefixed", "read", "allow", "*"),
        ("group", "rp-acl-group-", "prefixed", "read", "allow", "*"),
        ("broker", "kafka-cluster", "literal", "describe", "allow", "*"),
    }

    run = run_module("redpanda_acl", declared, check=True, diff=True)
    assert not run.failed, run.result
    assert run.changed and len(run.result["created"]) == 5
    assert acls_of(admin, app) == set()

    run = run_module("redpanda_acl", declared, diff=True)
    assert run.changed and len(run.result["created"]) == 5 and run.result["deleted"] == []
    # the principal has no ACLs yet: the empty answer is confirmed with DescribeCluster
    assert run.result["requests"]["by_api"] == {
        "DescribeAcls": 1,
        "Metadata (DescribeCluster)": 1,
        "CreateAcls": 1,
    }
    assert acls_of(admin, app) == expected
    assert run.result["diff"]["before"] == {"acls": {}}
    assert sorted(run.result["diff"]["after"]["acls"][app]) == sorted(
        [
            "ALLOW DESCRIBE cluster:kafka-cluster (literal) from *",
            "ALLOW READ group:rp-acl-group- (prefixed) from *",
            "ALLOW DESCRIBE topic:rp-acl- (prefixed) from *",
            "ALLOW READ topic:rp-acl- (prefixed) from *",
            "ALLOW WRITE topic:rp-acl- (prefixed) from *",
        ]
    )

    run = run_module("redpanda_acl", declared)
    assert not run.changed and run.result["unchanged"] == 5
    assert run.result["requests"] == {"by_api": {"DescribeAcls": 1}, "total": 1}

    # change: drop the cluster describe, deny one host
    changed = dict(
        conn,
        acls=[
            *declared["acls"][:2],
            {
                "principal": app,
                "resource_type": "cluster",
                "operations": ["describe"],
                "state": "absent",
            },
            {
                "principal": app,
                "host": "10.0.0.9",
                "resource_type": "topic",
                "resource_name": "rp-acl-secret",
                "operations": ["read", "describe"],
                "permission": "deny",
            },
        ],
    )
    run = run_module("redpanda_acl", changed, check=True)
    assert run.changed and acls_of(admin, app) == expected
    run = run_module("redpanda_acl", changed, diff=True)
    assert run.changed
    assert run.result["deleted"] == [
        {
            "principal": app,
            "host": "*",
            "resource_type": "cluster",
            "resource_name": "kafka-cluster",
            "pattern_type": "literal",
            "operation": "describe",
            "permission": "allow",
        }
    ]
    assert {(a["operation"], a["permission"], a["host"]) for a in run.result["created"]} == {
        ("read", "deny", "10.0.0.9"),
        ("describe", "deny", "10.0.0.9"),
    }
    assert acls_of(admin, app) == (
        expected - {("broker", "kafka-cluster", "literal", "describe", "allow", "*")}
    ) | {
        ("topic", "rp-acl-secret", "literal", "read", "deny", "10.0.0.9"),
        ("topic", "rp-acl-secret", "literal", "describe", "deny", "10.0.0.9"),
    }
    assert not run_module("redpanda_acl", changed).changed

    # delete everything of the principal
    gone = dict(conn, acls=[dict(e, state="absent") for e in changed["acls"]])
    run = run_module("redpanda_acl", gone)
    assert run.changed and len(run.result["deleted"]) == 6
    assert run.result["requests"]["by_api"] == {"DescribeAcls": 1, "DeleteAcls": 1}
    assert acls_of(admin, app) == set()
    assert not run_module("redpanda_acl", gone).changed


def test_exclusive_removes_the_stray_acl_and_nothing_else(conn, admin, principals):
    app, other = principals
    declared = dict(
        conn,
        exclusive=True,
        acls=[
            {
                "principal": app,
                "resource_type": "topic",
                "resource_name": "rp-acl-events",
                "operations": ["read", "describe"],
            },
        ],
    )
    assert run_module("redpanda_acl", declared).changed
    # someone adds an ACL by hand for the app, and one for another principal
    allow_on_topic(admin, app, "rp-acl-payroll", AclOperation.READ)
    allow_on_topic(admin, other, "rp-acl-payroll", AclOperation.READ)

    run = run_module("redpanda_acl", declared, diff=True)
    assert run.changed and run.result["created"] == []
    assert run.result["deleted"] == [
        {
            "principal": app,
            "host": "*",
            "resource_type": "topic",
            "resource_name": "rp-acl-payroll",
            "pattern_type": "literal",
            "operation": "read",
            "permission": "allow",
        }
    ]
    assert (
        "ALLOW READ topic:rp-acl-payroll (literal) from *"
        in run.result["diff"]["before"]["acls"][app]
    )
    assert (
        "ALLOW READ topic:rp-acl-payroll (literal) from *"
        not in run.result["diff"]["after"]["acls"][app]
    )
    assert other not in run.result["diff"]["before"]["acls"]  # out of scope, not shown
    assert acls_of(admin, app) == {
        ("topic", "rp-acl-events", "literal", "read", "allow", "*"),
        ("topic", "rp-acl-events", "literal", "describe", "allow", "*"),
    }
    assert acls_of(admin, other) == {("topic", "rp-acl-payroll", "literal", "read", "allow", "*")}
    assert not run_module("redpanda_acl", declared).changed


def test_unknown_operation_fails_before_anything_is_sent(conn, admin, principals):
    run = run_module(
        "redpanda_acl",
        dict(
            conn,
            acls=[
                {
                    "principal": principals[0],
                    "resource_type": "topic",
                    "resource_name": "t",
                    "operations": ["read", "fly"],
                },
            ],
        ),
    )
    assert run.failed and "fly" in run.result["msg"] and "operations" in run.result["msg"]
    assert acls_of(admin, principals[0]) == set()


def test_operation_that_does_not_apply_to_the_resource_fails(conn, admin, principals):
    run = run_module(
        "redpanda_acl",
        dict(
            conn,
            acls=[
                {
                    "principal": principals[0],
                    "resource_type": "topic",
                    "resource_name": "t",
                    "operations": ["read"],
                },
                {
                    "principal": principals[0],
                    "resource_type": "group",
                    "resource_name": "g",
                    "operations": ["write"],
                },
            ],
        ),
    )
    assert run.failed
    assert "acls[1]: operation(s) write do not apply to resource_type group" in run.result["msg"]
    assert acls_of(admin, principals[0]) == set()  # the valid entry was not applied either


def test_wrong_admin_password_and_unreachable_broker(conn, admin, principals):
    entry = {
        "principal": principals[0],
        "resource_type": "topic",
        "resource_name": "t",
        "operations": ["read"],
    }
    wrong = "Wrong-" + tag()
    run = run_module("redpanda_acl", dict(conn, sasl_password=wrong, acls=[entry]), verbosity=4)
    assert run.failed and "authentication failed" in run.result["msg"]
    assert_no_secrets(run, wrong)
    run = run_module("redpanda_acl", dict(conn, bootstrap_servers=["127.0.0.1:1"], acls=[entry]))
    assert run.failed and "cannot reach any broker" in run.result["msg"]
    assert acls_of(admin, principals[0]) == set()


def test_non_admin_user_is_told_what_it_lacks(conn, kafka_broker, admin, principals):
    """A user without ACL rights gets an authorization error naming the user, not a timeout."""
    from tests.redpanda_support import delete_scram_users

    user, password = f"rp-acl-weak-{tag()}", "weak-" + tag()
    assert run_module(
        "redpanda_user", dict(conn, name=user, password=password, mechanism="SCRAM-SHA-512")
    ).changed
    try:
        run = run_module(
            "redpanda_acl",
            dict(
                conn,
                sasl_username=user,
                sasl_password=password,
                acls=[
                    {
                        "principal": principals[0],
                        "resource_type": "topic",
                        "resource_name": "t",
                        "operations": ["read"],
                    }
                ],
            ),
        )
        assert run.failed
        assert f"the broker denied creating ACLs to '{user}'" in run.result["msg"]
        # the empty ACL list it was shown could not be confirmed, and it says so
        assert any("may read ACLs" in w for w in run.result.get("warnings", []))
        assert acls_of(admin, principals[0]) == set()
    finally:
        delete_scram_users(admin, user)
