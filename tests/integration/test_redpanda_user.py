"""redpanda_user with its three backends, run through ansible.

* kafka: the real test bed broker (Apache Kafka, KIP-554); passwords are proven by logging in.
* admin_api and cloud: local HTTP STAND-INS (tests/standins) that follow the published Redpanda
  Admin API and Redpanda Cloud endpoints and keep state; they are not Redpanda.
"""

from __future__ import annotations

import pytest

from tests.ansible_run import run_module
from tests.redpanda_support import (
    assert_no_secrets,
    can_login,
    delete_scram_users,
    scram_users,
    tag,
)
from tests.standins.redpanda_admin import RedpandaAdminStandin
from tests.standins.redpanda_cloud import RedpandaCloudStandin


def actions(run):
    return [(u["name"], u["action"]) for u in run.result["users"]]


# --------------------------------------------------------------------------------------------
# kafka backend, real broker
# --------------------------------------------------------------------------------------------


@pytest.fixture
def username(admin):
    name = f"rp-user-{tag()}"
    yield name
    delete_scram_users(admin, name)


def test_kafka_create_unchanged_change_delete(conn, admin, kafka_broker, username):
    first, second = "first-" + tag(), "second-" + tag()
    declared = dict(conn, name=username, password=first, mechanism="SCRAM-SHA-512")

    run = run_module("redpanda_user", declared, check=True, diff=True)
    assert not run.failed, run.result
    assert run.changed and actions(run) == [(username, "create")]
    assert username not in scram_users(admin)

    run = run_module("redpanda_user", declared, diff=True, verbosity=4)
    assert run.changed and run.result["backend"] == "kafka"
    assert run.result["diff"]["after"]["users"][username] == {
        "mechanisms": ["SCRAM-SHA-512"],
        "password": "(set by this task)",
    }
    assert scram_users(admin)[username] == ["SCRAM-SHA-512"]
    assert can_login(kafka_broker, username, first)
    assert_no_secrets(run, first, kafka_broker.admin_password)

    # second run: nothing to do, on_create leaves the password alone even if it differs
    assert not run_module("redpanda_user", declared).changed
    assert not run_module("redpanda_user", dict(declared, password=second)).changed
    assert can_login(kafka_broker, username, first)

    # always: the password is checked by logging in; it works, so nothing changes
    run = run_module("redpanda_user", {**declared, "update_password": "always"})
    assert not run.changed
    assert run.result["requests"]["by_api"]["Metadata (password check)"] >= 1

    # always with a new password: check mode changes nothing, then it is set
    rotate = {**declared, "password": second, "update_password": "always"}
    run = run_module("redpanda_user", rotate, check=True)
    assert run.changed and can_login(kafka_broker, username, first)
    run = run_module("redpanda_user", rotate, verbosity=4)
    assert run.changed and "does not work" in run.result["users"][0]["reasons"][-1]
    assert can_login(kafka_broker, username, second)
    assert not can_login(kafka_broker, username, first)
    assert_no_secrets(run, first, second)
    assert not run_module("redpanda_user", rotate).changed

    # Apache Kafka keeps both mechanisms
    both = {k: v for k, v in rotate.items() if k != "mechanism"}
    both["mechanisms"] = ["SCRAM-SHA-256", "SCRAM-SHA-512"]
    run = run_module("redpanda_user", both)
    assert run.changed and run.result["users"][0]["set_mechanisms"] == ["SCRAM-SHA-256"]
    assert scram_users(admin)[username] == ["SCRAM-SHA-256", "SCRAM-SHA-512"]
    assert can_login(kafka_broker, username, second, "SCRAM-SHA-256")
    assert not run_module("redpanda_user", both).changed

    # delete
    gone = dict(conn, name=username, state="absent")
    run = run_module("redpanda_user", gone, check=True)
    assert run.changed and username in scram_users(admin)
    run = run_module("redpanda_user", gone, diff=True)
    assert run.changed and username not in scram_users(admin)
    assert run.result["diff"]["after"] == {"users": {}}
    assert not run_module("redpanda_user", gone).changed


def test_kafka_many_users_in_one_request(conn, admin, username):
    names = [f"{username}-{i}" for i in range(3)]
    try:
        run = run_module(
            "redpanda_user",
            dict(conn, users=[{"name": n, "password": "pw-" + tag()} for n in names]),
        )
        assert run.changed
        assert run.result["requests"]["by_api"]["AlterUserScramCredentials"] == 1
        assert set(names) <= set(scram_users(admin))
    finally:
        delete_scram_users(admin, *names)


def test_user_without_rights_gets_a_message_not_a_crash(conn, admin, username):
    """confluent-kafka 2.16 aborts the process when DescribeUserScramCredentials is denied; the
    module checks the user's cluster operations first and says what is missing."""
    password = "weak-" + tag()
    assert run_module(
        "redpanda_user", dict(conn, name=username, password=password, mechanism="SCRAM-SHA-512")
    ).changed
    run = run_module(
        "redpanda_user",
        dict(
            conn,
            sasl_username=username,
            sasl_password=password,
            name=username + "-x",
            password="pw-" + tag(),
        ),
    )
    assert run.failed
    assert f"'{username}' may not read SCRAM credentials" in run.result["msg"]
    assert "DESCRIBE on the cluster" in run.result["msg"]
    assert username + "-x" not in scram_users(admin)


def test_missing_password_fails_before_anything_is_sent(conn, username):
    run = run_module("redpanda_user", dict(conn, name=username))
    assert run.failed and "password is required" in run.result["msg"]
    assert run.result.get("requests") is None or run.result["requests"]["total"] == 0


# --------------------------------------------------------------------------------------------
# admin_api backend, Redpanda Admin API STAND-IN
# --------------------------------------------------------------------------------------------


@pytest.fixture
def admin_api_conn():
    password = "admin-" + tag()
    server = RedpandaAdminStandin("admin", password).start()
    yield (
        server,
        {
            "backend": "admin_api",
            "admin_api_url": server.url,
            "admin_api_username": "admin",
            "admin_api_password": password,
        },
    )
    server.stop()


def test_admin_api_create_unchanged_change_delete(admin_api_conn):
    server, args = admin_api_conn
    first, second = "first-" + tag(), "second-" + tag()
    declared = dict(args, name="staging-todo-app", password=first)

    run = run_module("redpanda_user", declared, check=True, diff=True)
    assert run.changed and "staging-todo-app" not in server.users

    run = run_module("redpanda_user", declared, diff=True, verbosity=4)
    assert run.changed and server.password_matches("staging-todo-app", first, "SCRAM-SHA-256")
    assert run.result["requests"]["by_api"] == {
        "Redpanda Admin API GET /v1/security/users": 1,
        "Redpanda Admin API POST /v1/security/users": 1,
    }
    assert_no_secrets(run, first, args["admin_api_password"])

    run = run_module("redpanda_user", declared)
    assert not run.changed and server.count("POST") == 1

    # a new mechanism cannot be seen through this API, so it needs update_password=always,
    # which sets the password (and mechanism) on every run: the documented trade-off
    rotate = {
        **declared,
        "password": second,
        "mechanism": "SCRAM-SHA-512",
        "update_password": "always",
    }
    run = run_module("redpanda_user", rotate, check=True)
    assert run.changed and server.password_matches("staging-todo-app", first)
    run = run_module("redpanda_user", rotate, verbosity=4)
    assert run.changed and server.password_matches("staging-todo-app", second, "SCRAM-SHA-512")
    assert_no_secrets(run, first, second)

    gone = dict(args, name="staging-todo-app", state="absent")
    assert run_module("redpanda_user", gone).changed
    assert "staging-todo-app" not in server.users
    assert not run_module("redpanda_user", gone).changed


def test_admin_api_refuses_two_mechanisms_and_wrong_password(admin_api_conn):
    server, args = admin_api_conn
    run = run_module(
        "redpanda_user",
        dict(
            args, name="app", password="pw-" + tag(), mechanisms=["SCRAM-SHA-256", "SCRAM-SHA-512"]
        ),
    )
    assert run.failed and "one SCRAM credential per user" in run.result["msg"]
    assert server.count() == 0  # refused before any request

    wrong = "wrong-" + tag()
    run = run_module(
        "redpanda_user",
        dict(args, admin_api_password=wrong, name="app", password="pw-" + tag()),
        verbosity=4,
    )
    assert run.failed and "HTTP 401" in run.result["msg"]
    assert "admin_api_password of a super user" in run.result["msg"]
    assert "app" not in server.users
    assert_no_secrets(run, wrong)


def test_admin_api_unreachable(admin_api_conn):
    _server, args = admin_api_conn
    run = run_module(
        "redpanda_user",
        dict(args, admin_api_url="http://127.0.0.1:1", name="a", password="pw-" + tag()),
    )
    assert (
        run.failed
        and "cannot reach the Redpanda Admin API at http://127.0.0.1:1" in run.result["msg"]
    )


# --------------------------------------------------------------------------------------------
# cloud backend, Redpanda Cloud STAND-IN (auth, Control Plane API, Data Plane API)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def cloud():
    server = RedpandaCloudStandin(client_secret="secret-" + tag(), max_page_size=2).start()
    yield server
    server.stop()


def cloud_args(cloud, **overrides):
    args = {
        "backend": "cloud",
        "cloud_client_id": cloud.client_id,
        "cloud_client_secret": cloud.client_secret,
        "cloud_cluster_id": cloud.cluster_id,
        "cloud_auth_url": cloud.auth_url,
        "cloud_api_url": cloud.control.url,
    }
    args.update(overrides)
    return args


def test_cloud_create_unchanged_change_delete(cloud):
    pw = {n: "pw-" + tag() for n in ("production-todo-app", "staging-todo-app", "reporting")}
    declared = dict(cloud_args(cloud), users=[{"name": n, "password": p} for n, p in pw.items()])

    run = run_module("redpanda_user", declared, check=True, diff=True)
    assert run.changed and cloud.data.users == {}

    run = run_module("redpanda_user", declared, diff=True, verbosity=4)
    assert run.changed
    for name, password in pw.items():
        assert cloud.data.password_matches(name, password)
        assert cloud.data.users[name][0] == "SASL_MECHANISM_SCRAM_SHA_256"
    by_api = run.result["requests"]["by_api"]
    assert by_api["Redpanda Cloud auth POST /oauth/token"] == 1  # one token for the whole run
    assert by_api["Redpanda Cloud Control Plane API GET /v1/serverless/clusters/{id}"] == 1
    assert by_api["Redpanda Cloud Data Plane API POST /v1/users"] == 3
    assert_no_secrets(run, cloud.client_secret, *pw.values())

    # three users, pages of two: the listing follows next_page_token
    run = run_module("redpanda_user", declared)
    assert not run.changed
    assert run.result["requests"]["by_api"]["Redpanda Cloud Data Plane API GET /v1/users"] == 2

    # mechanism change: Redpanda keeps one credential, so the password is set with it
    changed = dict(
        declared,
        users=[{"name": "reporting", "password": pw["reporting"], "mechanism": "SCRAM-SHA-512"}],
    )
    run = run_module("redpanda_user", changed, diff=True)
    assert run.changed
    assert run.result["diff"]["before"]["users"]["reporting"] == {"mechanisms": ["SCRAM-SHA-256"]}
    assert cloud.data.users["reporting"][0] == "SASL_MECHANISM_SCRAM_SHA_512"
    assert not run_module("redpanda_user", changed).changed

    gone = dict(cloud_args(cloud), name="reporting", state="absent")
    assert run_module("redpanda_user", gone).changed
    assert "reporting" not in cloud.data.users
    assert not run_module("redpanda_user", gone).changed


def test_cloud_dedicated_cluster_and_given_dataplane_url():
    cloud = RedpandaCloudStandin(client_secret="secret-" + tag(), kind="dedicated").start()
    try:
        run = run_module("redpanda_user", {**cloud_args(cloud), "name": "a", "password": "pw-a1"})
        assert run.changed and "a" in cloud.data.users
        assert (
            run.result["requests"]["by_api"][
                "Redpanda Cloud Control Plane API GET /v1/clusters/{id}"
            ]
            == 1
        )

        direct = dict(
            cloud_args(cloud),
            cloud_cluster_id=None,
            cloud_dataplane_url=cloud.data.url,
            name="b",
            password="pw-" + tag(),
        )
        run = run_module("redpanda_user", direct)
        assert run.changed and "b" in cloud.data.users
        assert not any("Control Plane" in k for k in run.result["requests"]["by_api"])
    finally:
        cloud.stop()


def test_cloud_bad_client_secret(cloud):
    wrong = "wrong-" + tag()
    run = run_module(
        "redpanda_user",
        dict(cloud_args(cloud, cloud_client_secret=wrong), name="a", password="pw-" + tag()),
        verbosity=4,
    )
    assert run.failed
    assert "Redpanda Cloud rejected the client credentials" in run.result["msg"]
    assert "cloud_client_secret" in run.result["msg"]
    assert cloud.data.users == {} and cloud.data.count() == 0
    assert_no_secrets(run, wrong)


def test_cloud_expired_token_is_refreshed_once_then_reported():
    cloud = RedpandaCloudStandin(client_secret="secret-" + tag(), token_ttl=0).start()
    try:
        run = run_module("redpanda_user", {**cloud_args(cloud), "name": "a", "password": "pw-a1"})
        assert run.failed
        assert "token is not valid" in run.result["msg"] and "HTTP 401" in run.result["msg"]
        # first token, one refresh after the 401, then give up
        assert cloud.auth.count("POST", "/oauth/token") == 2
        assert cloud.data.users == {}
    finally:
        cloud.stop()


def test_cloud_unknown_cluster(cloud):
    run = run_module(
        "redpanda_user",
        dict(cloud_args(cloud, cloud_cluster_id="nope"), name="a", password="pw-" + tag()),
    )
    assert run.failed and "no Redpanda Cloud cluster with id 'nope'" in run.result["msg"]


def test_cloud_refuses_two_mechanisms(cloud):
    run = run_module(
        "redpanda_user",
        dict(
            cloud_args(cloud),
            name="a",
            password="pw-" + tag(),
            mechanisms=["SCRAM-SHA-256", "SCRAM-SHA-512"],
        ),
    )
    assert run.failed and "choose one mechanism" in run.result["msg"]
    assert cloud.auth.count() == 0
