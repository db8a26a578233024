"""Least privilege, proven with real clients: the seed's Redpanda layout from docs/redpanda.md.

The playbook is taken verbatim from the documentation and run with ansible-playbook against the
test bed broker (Apache Kafka, StandardAuthorizer, allow.everyone.if.no.acl.found=false). Then
real producers and consumers, logged in as the two service accounts, show what each may do.
The layout uses the seed's exact names, so this module cleans them up before and after.
"""

from __future__ import annotations

import json
import re

import pytest
from confluent_kafka import KafkaError
from confluent_kafka.admin import AclOperation

from tests.ansible_run import ROOT, run_playbook
from tests.helm import by_kind, render_env
from tests.redpanda_support import (
    acls_of,
    admin_client,
    allow_on_topic,
    assert_no_secrets,
    consume,
    delete_acls_of,
    delete_scram_users,
    delete_topics,
    inventory_vars,
    join_and_commit,
    produce,
    scram_users,
    tag,
    topics_on_broker,
)
from tests.testbed import private_kafka_broker

PRODUCTION_TOPICS = ["task-events", "notifications", "processed-events"]
STAGING_TOPICS = ["staging-task-events", "staging-notifications", "staging-processed-events"]
USERS = ["production-todo-app", "staging-todo-app"]


def layout_playbook() -> str:
    doc = (ROOT / "docs" / "redpanda.md").read_text()
    begin, end = "<!-- redpanda-layout.yml: begin -->", "<!-- redpanda-layout.yml: end -->"
    match = re.search(re.escape(begin) + r"\s*```yaml\n(.*?)```\s*" + re.escape(end), doc, re.S)
    assert match, "docs/redpanda.md lost its redpanda-layout.yml block"
    return match.group(1)


def layout_vars(kafka_broker, directory, passwords: dict):
    """The playbook's variables for the broker, written to a file for `-e @file`."""
    extra = directory / "vars.json"
    extra.write_text(
        json.dumps(
            {
                **inventory_vars(kafka_broker),
                "redpanda_user_backend": "kafka",  # the test bed is Apache Kafka
                "redpanda_app_mechanism": "SCRAM-SHA-512",
                **passwords,
            }
        )
    )
    return extra


def clean(admin):
    delete_acls_of(admin, *(f"User:{u}" for u in USERS))
    delete_scram_users(admin, *USERS)
    delete_topics(admin, PRODUCTION_TOPICS + STAGING_TOPICS)


@pytest.fixture(scope="module")
def kafka_broker(tmp_path_factory):
    """A private broker for this module: it owns the seed's fixed names (task-events,
    staging-todo-app, ...), which bootstrap's redpanda_secrets also declares on the shared one."""
    with private_kafka_broker(tmp_path_factory.mktemp("least-privilege-broker"), 39592) as broker:
        yield broker


@pytest.fixture(scope="module")
def layout(kafka_broker, tmp_path_factory):
    admin = admin_client(kafka_broker)
    clean(admin)
    tmp = tmp_path_factory.mktemp("layout")
    playbook = tmp / "redpanda-layout.yml"
    playbook.write_text(layout_playbook())
    secrets = {
        "production_todo_app_redpanda_password": "prod-" + tag(),
        "staging_todo_app_redpanda_password": "stag-" + tag(),
    }
    extra = layout_vars(kafka_broker, tmp, secrets)
    first = run_playbook(playbook, "-i", "localhost,", "-e", f"@{extra}", "--diff", "-vvvv")
    second = run_playbook(playbook, "-i", "localhost,", "-e", f"@{extra}")
    yield {
        "first": first,
        "second": second,
        "prod": secrets["production_todo_app_redpanda_password"],
        "stag": secrets["staging_todo_app_redpanda_password"],
        "admin": admin,
    }
    clean(admin)


def recap(run) -> dict:
    match = re.search(r"localhost\s*:\s*(.*)", run.stdout.split("PLAY RECAP")[-1])
    assert match, run.stdout[-2000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def test_playbook_creates_the_layout_then_changes_nothing(layout):
    first, second = layout["first"], layout["second"]
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert recap(first)["changed"] == 3  # topics, users, ACLs
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert recap(second)["changed"] == 0 and recap(second)["failed"] == 0
    assert "ACLs: 0 created, 0 deleted, 14 already in place" in second.stdout


def test_no_secret_in_the_output_at_vvvv_with_diff(layout, kafka_broker):
    assert_no_secrets(layout["first"], layout["prod"], layout["stag"], kafka_broker.admin_password)


def test_broker_holds_exactly_the_layout(layout):
    admin = layout["admin"]
    topics = topics_on_broker(admin, PRODUCTION_TOPICS + STAGING_TOPICS)
    assert set(topics) == set(PRODUCTION_TOPICS + STAGING_TOPICS)
    assert all(
        t["partitions"] == 3 and t["configs"]["retention.ms"] == "604800000"
        for t in topics.values()
    )
    assert {u: scram_users(admin).get(u) for u in USERS} == {u: ["SCRAM-SHA-512"] for u in USERS}
    assert acls_of(admin, "User:staging-todo-app") == {
        ("topic", "staging-", "prefixed", "write", "allow", "*"),
        ("topic", "staging-", "prefixed", "describe", "allow", "*"),
        ("topic", "staging-", "prefixed", "read", "allow", "*"),
        ("group", "staging-", "prefixed", "read", "allow", "*"),
    }
    production = acls_of(admin, "User:production-todo-app")
    assert {a[1] for a in production if a[0] == "topic"} == set(PRODUCTION_TOPICS)
    assert {(a[0], a[1], a[2]) for a in production if a[0] == "group"} == {
        ("group", "production-", "prefixed")
    }


def test_staging_account_uses_its_topics(layout, kafka_broker):
    assert produce(kafka_broker, "staging-todo-app", layout["stag"], "staging-task-events") is None
    assert (
        consume(
            kafka_broker,
            "staging-todo-app",
            layout["stag"],
            "staging-task-events",
            "staging-notification",
        )
        == b"hello"
    )


def test_staging_account_is_denied_production(layout, kafka_broker):
    err = produce(kafka_broker, "staging-todo-app", layout["stag"], "task-events")
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    err = consume(
        kafka_broker, "staging-todo-app", layout["stag"], "task-events", "staging-notification"
    )
    assert isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # its own topic, but a production consumer group: denied too
    err = consume(
        kafka_broker,
        "staging-todo-app",
        layout["stag"],
        "staging-task-events",
        "production-notification",
    )
    assert isinstance(err, KafkaError) and err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED


def test_production_account_uses_its_topics(layout, kafka_broker):
    assert produce(kafka_broker, "production-todo-app", layout["prod"], "task-events") is None
    assert (
        consume(
            kafka_broker,
            "production-todo-app",
            layout["prod"],
            "task-events",
            "production-notification",
        )
        == b"hello"
    )


@pytest.mark.parametrize("topic", STAGING_TOPICS)
def test_production_account_is_denied_staging(layout, kafka_broker, topic):
    err = produce(kafka_broker, "production-todo-app", layout["prod"], topic)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    err = consume(
        kafka_broker, "production-todo-app", layout["prod"], topic, "production-notification"
    )
    assert isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_a_hand_made_grant_is_removed_by_the_next_run(layout, kafka_broker, tmp_path):
    """exclusive: an ACL added outside the playbook does not survive the next run."""
    admin = layout["admin"]
    assert produce(kafka_broker, "production-todo-app", layout["prod"], "task-events") is None
    allow_on_topic(admin, "User:staging-todo-app", "task-events", AclOperation.READ)
    assert (
        consume(kafka_broker, "staging-todo-app", layout["stag"], "task-events", "staging-sneaky")
        == b"hello"
    )
    playbook = tmp_path / "redpanda-layout.yml"
    playbook.write_text(layout_playbook())
    extra = layout_vars(
        kafka_broker,
        tmp_path,
        {
            "production_todo_app_redpanda_password": layout["prod"],
            "staging_todo_app_redpanda_password": layout["stag"],
        },
    )
    run = run_playbook(playbook, "-i", "localhost,", "-e", f"@{extra}")
    assert run.returncode == 0 and "ACLs: 0 created, 1 deleted" in run.stdout
    err = consume(kafka_broker, "staging-todo-app", layout["stag"], "task-events", "staging-sneaky")
    assert isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def chart_consumer_group(env: str, service: str) -> str:
    """The consumer group the chart, rendered with the environment's own values file and nothing
    else (the seed's hand-run `helm upgrade`), gives a service's Dapr sidecar."""
    objs = render_env(env)
    (component,) = by_kind(objs, "Component").values()
    group = {m["name"]: m.get("value") for m in component["spec"]["metadata"]}["consumerID"]
    (deployment,) = (
        d
        for d in by_kind(objs, "Deployment").values()
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == service
    )
    app_id = deployment["spec"]["template"]["metadata"]["annotations"]["dapr.io/app-id"]
    return group.replace("{appID}", app_id)


@pytest.mark.parametrize(
    ("env", "own", "topic", "other", "other_topic"),
    [
        ("production", "production-todo-app", "task-events", "staging-todo-app", STAGING_TOPICS[0]),
        ("staging", "staging-todo-app", STAGING_TOPICS[0], "production-todo-app", "task-events"),
    ],
)
def test_the_charts_consumer_group_joins_and_commits_for_its_environment_only(
    layout, kafka_broker, env, own, topic, other, other_topic
):
    """Issue 13 #5: production values rendered "{appID}", a group the ACLs refuse."""
    passwords = {"production-todo-app": layout["prod"], "staging-todo-app": layout["stag"]}
    group = chart_consumer_group(env, "notification")
    assert produce(kafka_broker, own, passwords[own], topic) is None
    committed = join_and_commit(kafka_broker, own, passwords[own], topic, group)
    assert isinstance(committed, dict) and committed, committed
    assert all(t == topic and offset >= 1 for (t, _p), offset in committed.items())
    # the other environment's account, reading a topic it may read, may not join this group
    assert produce(kafka_broker, other, passwords[other], other_topic) is None
    err = join_and_commit(kafka_broker, other, passwords[other], other_topic, group)
    assert isinstance(err, KafkaError), err
    assert err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED
