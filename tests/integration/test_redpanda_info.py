"""redpanda_info on the real test bed broker: topics with configs, filtered ACLs, users."""

from __future__ import annotations

import pytest

from tests.ansible_run import run_module
from tests.redpanda_support import (
    admin_client,
    connection,
    delete_acls_of,
    delete_scram_users,
    delete_topics,
    tag,
)


@pytest.fixture(scope="module")
def layout(kafka_broker):
    """Two topics, ACLs for two principals and one user, made with our own modules."""
    conn = connection(kafka_broker)
    admin = admin_client(kafka_broker)
    t = tag()
    topics = [f"rp-info-a-{t}", f"rp-info-b-{t}"]
    reader, writer, user = f"User:rp-info-reader-{t}", f"User:rp-info-writer-{t}", f"rp-info-{t}"
    assert run_module(
        "redpanda_topic",
        dict(
            conn,
            topics=[
                {"name": topics[0], "configs": {"retention.ms": 3600000}},
                {"name": topics[1], "partitions": 2},
            ],
        ),
    ).changed
    assert run_module(
        "redpanda_acl",
        dict(
            conn,
            acls=[
                {
                    "principal": reader,
                    "resource_type": "topic",
                    "resource_name": topics[0],
                    "operations": ["read", "describe"],
                },
                {
                    "principal": writer,
                    "resource_type": "topic",
                    "resource_name": topics[1],
                    "operations": ["write"],
                },
                {
                    "principal": writer,
                    "resource_type": "group",
                    "resource_name": "rp-info-",
                    "pattern_type": "prefixed",
                    "operations": ["read"],
                },
            ],
        ),
    ).changed
    assert run_module(
        "redpanda_user", dict(conn, name=user, password="pw-" + tag(), mechanism="SCRAM-SHA-512")
    ).changed
    yield dict(conn=conn, topics=topics, reader=reader, writer=writer, user=user)
    delete_acls_of(admin, reader, writer)
    delete_scram_users(admin, user)
    delete_topics(admin, topics)


def test_topics_with_their_overrides(layout):
    run = run_module(
        "redpanda_info", dict(layout["conn"], gather=["topics"], topics=layout["topics"])
    )
    assert not run.failed and not run.changed
    a, b = layout["topics"]
    assert run.result["topics"][a] == {
        "partitions": 1,
        "replication_factor": 1,
        "internal": False,
        "configs": {"retention.ms": "3600000"},
    }
    assert run.result["topics"][b]["partitions"] == 2
    assert run.result["topics"][b]["configs"] == {}
    assert run.result["requests"]["by_api"] == {"Metadata": 1, "DescribeConfigs": 1}


def test_all_topics_and_default_configs(layout):
    run = run_module(
        "redpanda_info", dict(layout["conn"], gather=["topics"], include_default_configs=True)
    )
    a = layout["topics"][0]
    assert a in run.result["topics"]
    configs = run.result["topics"][a]["configs"]
    assert configs["retention.ms"] == "3600000" and "cleanup.policy" in configs
    assert not any(name.startswith("__") for name in run.result["topics"])


def test_acls_filtered_by_principal_and_resource(layout):
    run = run_module(
        "redpanda_info",
        dict(layout["conn"], gather=["acls"], acl_filter={"principal": layout["reader"]}),
    )
    assert {(a["resource_name"], a["operation"]) for a in run.result["acls"]} == {
        (layout["topics"][0], "read"),
        (layout["topics"][0], "describe"),
    }
    assert run.result["requests"] == {"by_api": {"DescribeAcls": 1}, "total": 1}

    run = run_module(
        "redpanda_info",
        dict(
            layout["conn"],
            gather=["acls"],
            acl_filter={
                "resource_type": "group",
                "resource_name": "rp-info-",
                "pattern_type": "prefixed",
            },
        ),
    )
    assert [(a["principal"], a["operation"]) for a in run.result["acls"]] == [
        (layout["writer"], "read")
    ]

    # `match`: what applies to one group name, prefixed entries included
    run = run_module(
        "redpanda_info",
        dict(
            layout["conn"],
            gather=["acls"],
            acl_filter={
                "resource_type": "group",
                "resource_name": "rp-info-consumers",
                "pattern_type": "match",
                "principal": layout["writer"].split(":", 1)[1],
            },
        ),
    )
    assert [a["resource_name"] for a in run.result["acls"]] == ["rp-info-"]


def test_users_through_the_kafka_backend(layout):
    run = run_module("redpanda_info", dict(layout["conn"], gather=["users"]))
    users = {u["name"]: u["mechanisms"] for u in run.result["users"]}
    assert users[layout["user"]] == ["SCRAM-SHA-512"]
    assert "password" not in str(run.result["users"])


def test_users_through_the_cloud_backend_stand_in():
    """The cloud backend against the local Redpanda Cloud STAND-IN (tests/standins)."""
    from tests.standins.redpanda_cloud import RedpandaCloudStandin

    cloud = RedpandaCloudStandin(client_secret="secret-" + tag()).start()
    try:
        args = {
            "backend": "cloud",
            "cloud_client_id": cloud.client_id,
            "cloud_client_secret": cloud.client_secret,
            "cloud_cluster_id": cloud.cluster_id,
            "cloud_auth_url": cloud.auth_url,
            "cloud_api_url": cloud.control.url,
        }
        assert run_module(
            "redpanda_user",
            {**args, "name": "a", "password": "pw-" + tag(), "mechanism": "SCRAM-SHA-512"},
        ).changed
        run = run_module("redpanda_info", {**args, "gather": ["users"]})
        assert not run.failed, run.result
        assert run.result["users"] == [{"name": "a", "mechanisms": ["SCRAM-SHA-512"]}]
    finally:
        cloud.stop()
