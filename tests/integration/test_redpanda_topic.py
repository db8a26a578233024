"""redpanda_topic on the real test bed broker, run through ansible like a user would.

Every assertion about the broker is made with an independent confluent-kafka client.
"""

from __future__ import annotations

import pytest

from tests.ansible_run import run_module
from tests.redpanda_support import (
    assert_no_secrets,
    delete_topics,
    tag,
    topics_on_broker,
    wait_topics_gone,
)


@pytest.fixture
def names(admin):
    t = tag()
    created = [f"rp-topic-a-{t}", f"rp-topic-b-{t}"]
    yield created
    delete_topics(admin, created)


def actions(run):
    return [t["action"] for t in run.result["topics"]]


def test_create_unchanged_change_delete(conn, admin, names):
    a, b = names
    declared = dict(
        conn,
        topics=[{"name": a}, {"name": b, "configs": {"retention.ms": 3600000}}],
        partitions=2,
        replication_factor=1,
        configs={"cleanup.policy": "delete"},
    )

    # check mode reports both creations and creates nothing
    run = run_module("redpanda_topic", declared, check=True, diff=True)
    assert not run.failed, run.result
    assert run.changed and actions(run) == ["create", "create"]
    assert topics_on_broker(admin, names) == {}

    # create
    run = run_module("redpanda_topic", declared, diff=True)
    assert run.changed and actions(run) == ["create", "create"]
    assert run.result["requests"]["by_api"]["CreateTopics"] == 1  # both topics, one request
    assert topics_on_broker(admin, names) == {
        a: {"partitions": 2, "replication_factor": 1, "configs": {"cleanup.policy": "delete"}},
        b: {
            "partitions": 2,
            "replication_factor": 1,
            "configs": {"cleanup.policy": "delete", "retention.ms": "3600000"},
        },
    }
    assert run.result["diff"]["before"] == {"topics": {}}
    assert set(run.result["diff"]["after"]["topics"]) == {a, b}

    # the same task again changes nothing: one Metadata + one DescribeConfigs request
    run = run_module("redpanda_topic", declared)
    assert not run.changed and actions(run) == ["none", "none"]
    assert run.result["requests"]["by_api"] == {"Metadata": 1, "DescribeConfigs": 1}

    # change: grow b, change its retention; check mode first changes nothing on the broker
    changed = dict(
        declared,
        topics=[{"name": a}, {"name": b, "partitions": 4, "configs": {"retention.ms": 7200000}}],
    )
    before = topics_on_broker(admin, names)
    run = run_module("redpanda_topic", changed, check=True, diff=True)
    assert run.changed and actions(run) == ["none", "update"]
    assert topics_on_broker(admin, names) == before

    run = run_module("redpanda_topic", changed, diff=True)
    assert run.changed
    (update,) = [t for t in run.result["topics"] if t["action"] == "update"]
    assert update["partitions"] == {"before": 2, "after": 4}
    assert update["configs"] == {"retention.ms": {"before": "3600000", "after": "7200000"}}
    assert run.result["diff"] == {
        "before": {
            "topics": {
                b: {
                    "partitions": 2,
                    "replication_factor": 1,
                    "configs": {"retention.ms": "3600000"},
                }
            }
        },
        "after": {
            "topics": {
                b: {
                    "partitions": 4,
                    "replication_factor": 1,
                    "configs": {"retention.ms": "7200000"},
                }
            }
        },
    }
    now = topics_on_broker(admin, names)
    assert now[b]["partitions"] == 4 and now[b]["configs"]["retention.ms"] == "7200000"
    assert now[a] == before[a]
    assert not run_module("redpanda_topic", changed).changed

    # reset an override to the cluster default with null
    run = run_module("redpanda_topic", dict(conn, name=b, configs={"retention.ms": None}))
    assert run.changed
    assert "retention.ms" not in topics_on_broker(admin, [b])[b]["configs"]
    assert not run_module(
        "redpanda_topic", dict(conn, name=b, configs={"retention.ms": None})
    ).changed

    # delete (guarded), then deleting again changes nothing
    gone = dict(conn, topics=[{"name": a}, {"name": b}], state="absent", allow_deletion=True)
    run = run_module("redpanda_topic", gone, check=True)
    assert run.changed and set(topics_on_broker(admin, names)) == {a, b}
    run = run_module("redpanda_topic", gone, diff=True)
    assert run.changed and actions(run) == ["delete", "delete"]
    assert run.result["diff"]["after"] == {"topics": {}}
    assert wait_topics_gone(admin, names) == {}
    assert not run_module("redpanda_topic", gone).changed


def test_partition_decrease_fails_and_changes_nothing(conn, admin, names):
    a, b = names
    assert run_module(
        "redpanda_topic", dict(conn, topics=[{"name": a}, {"name": b}], partitions=3)
    ).changed
    before = topics_on_broker(admin, names)
    # a valid change for a and an impossible one for b: neither is applied
    run = run_module(
        "redpanda_topic",
        dict(
            conn,
            topics=[
                {"name": a, "partitions": 5, "configs": {"retention.ms": 1000}},
                {"name": b, "partitions": 1},
            ],
        ),
    )
    assert run.failed and not run.changed
    assert f"topic '{b}' has 3 partitions" in run.result["msg"]
    assert "cannot reduce partitions" in run.result["msg"]
    assert topics_on_broker(admin, names) == before


def test_replication_factor_change_fails_and_changes_nothing(conn, admin, names):
    a = names[0]
    assert run_module("redpanda_topic", dict(conn, name=a, replication_factor=1)).changed
    before = topics_on_broker(admin, [a])
    run = run_module("redpanda_topic", dict(conn, name=a, replication_factor=3, partitions=4))
    assert run.failed and "replication factor 1" in run.result["msg"]
    assert topics_on_broker(admin, [a]) == before


def test_invalid_topic_name_fails_before_anything_is_sent(conn, admin, names):
    bad = names[0] + "/oops"
    run = run_module("redpanda_topic", dict(conn, topics=[{"name": names[0]}, {"name": bad}]))
    assert run.failed and not run.changed
    assert repr(bad) in run.result["msg"] and "'/'" in run.result["msg"]
    assert topics_on_broker(admin, names) == {}


def test_deletion_without_allow_deletion_is_refused(conn, admin, names):
    a = names[0]
    assert run_module("redpanda_topic", dict(conn, name=a)).changed
    run = run_module("redpanda_topic", dict(conn, name=a, state="absent"))
    assert run.failed and "allow_deletion=true" in run.result["msg"]
    assert set(topics_on_broker(admin, [a])) == {a}


def test_broker_rejects_an_unknown_config_even_in_check_mode(conn, admin, names):
    a = names[0]
    run = run_module("redpanda_topic", dict(conn, name=a, configs={"retention.mss": 1}), check=True)
    assert run.failed and "retention.mss" in run.result["msg"]
    assert topics_on_broker(admin, [a]) == {}


def test_wrong_admin_password_is_named_and_nothing_changes(conn, admin, names):
    wrong = "Wrong-" + tag()
    run = run_module("redpanda_topic", dict(conn, name=names[0], sasl_password=wrong), verbosity=4)
    assert run.failed
    assert "authentication failed for sasl_username 'admin'" in run.result["msg"]
    assert "sasl_password" in run.result["msg"]
    assert topics_on_broker(admin, names) == {}
    assert_no_secrets(run, wrong)


def test_unreachable_broker_is_named(conn, names):
    run = run_module("redpanda_topic", dict(conn, name=names[0], bootstrap_servers=["127.0.0.1:1"]))
    assert run.failed
    assert "cannot reach any broker in bootstrap_servers (127.0.0.1:1)" in run.result["msg"]


def test_admin_password_never_printed_at_vvvv(conn, kafka_broker, names):
    run = run_module("redpanda_topic", dict(conn, name=names[0]), diff=True, verbosity=4)
    assert run.changed
    assert_no_secrets(run, kafka_broker.admin_password)
