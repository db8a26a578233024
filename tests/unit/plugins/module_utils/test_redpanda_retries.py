"""Retries only for retryable errors, counted as requests; everything else fails at once with a
message that says what to fix. Kafka side with fake futures, HTTP side with a local server."""

from __future__ import annotations

import concurrent.futures
import re
import socket
import threading

import pytest
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _kafka_client, _retry
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kafka_client import (
    KafkaClient,
    RequestCounter,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_plan import (
    RedpandaError,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_users import (
    AdminApiUsers,
    CloudUsers,
    HttpApi,
    HttpApiError,
)
from confluent_kafka import KafkaError, KafkaException

from tests.standins._server import JsonServer, Response
from tests.standins.redpanda_admin import RedpandaAdminStandin
from tests.standins.redpanda_cloud import AUDIENCE, RedpandaCloudStandin

PARAMS = {
    "bootstrap_servers": ["127.0.0.1:1"],
    "security_protocol": "SASL_PLAINTEXT",
    "sasl_mechanism": "SCRAM-SHA-512",
    "sasl_username": "admin",
    "sasl_password": "not-used",
    "request_timeout": 5,
    "connect_timeout": 1,
    "tls_verify": True,
    "ca_file": None,
}


class FakeClient:
    def poll(self, _timeout):
        return 0


def future(result=None, error=None):
    fut = concurrent.futures.Future()
    if error is None:
        fut.set_result(result)
    else:
        fut.set_exception(KafkaException(KafkaError(error)))
    return fut


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(_kafka_client.time, "sleep", lambda _s: None)


@pytest.fixture
def kafka():
    client = KafkaClient(PARAMS, RequestCounter())
    client._client = FakeClient()
    return client


def scripted(*rounds):
    """submit() that answers round by round: each round maps item -> error code or None."""
    calls = []

    def submit(items):
        answers = rounds[len(calls)]
        calls.append(list(items))
        return {i: future(result=f"ok-{i}", error=answers.get(i)) for i in items}

    return submit, calls


def test_a_retryable_error_is_retried_for_the_failed_items_only(kafka):
    submit, calls = scripted({"a": KafkaError.NOT_CONTROLLER, "b": None}, {"a": None})
    results = kafka._batch("CreateAcls", "creating ACLs", ["a", "b"], submit)
    assert results == {"a": "ok-a", "b": "ok-b"}
    assert calls == [["a", "b"], ["a"]]
    assert kafka.counter.result() == {"by_api": {"CreateAcls": 2}, "total": 2}


def test_retries_stop_after_four_attempts(kafka):
    submit, calls = scripted(*[{"a": KafkaError.REQUEST_TIMED_OUT}] * 4)
    with pytest.raises(RedpandaError) as exc:
        kafka._batch("CreateTopics", "creating topics", ["a"], submit)
    assert len(calls) == 4 and "REQUEST_TIMED_OUT" in exc.value.msg


def test_kafka_retries_wait_with_jittered_backoff_and_not_after_the_last(kafka, slept):
    submit, calls = scripted(*[{"a": KafkaError.NOT_CONTROLLER}] * 4)
    with pytest.raises(RedpandaError):
        kafka._batch("CreateAcls", "creating ACLs", ["a"], submit)
    assert len(calls) == 4 and len(slept) == 3
    for retry, waited in enumerate(slept):  # equal jitter: half to all of 0.5 s x 2^n
        assert 0.25 * 2**retry <= waited <= 0.5 * 2**retry


def test_kafka_failures_are_reported_in_the_order_they_became_final(kafka):
    submit, _calls = scripted(
        {"x": KafkaError.NOT_CONTROLLER, "y": KafkaError.NOT_CONTROLLER},
        {"x": KafkaError.NOT_CONTROLLER, "y": KafkaError.INVALID_CONFIG},
        {"x": KafkaError.NOT_CONTROLLER},
        {"x": KafkaError.NOT_CONTROLLER},
    )
    with pytest.raises(RedpandaError) as exc:
        kafka._batch("CreateTopics", "creating topics", ["x", "y"], submit)
    lines = exc.value.msg.splitlines()
    assert lines[0] == "creating topics failed for 2 item(s):"
    assert lines[1].startswith("y: ") and lines[2].startswith("x: ")


@pytest.mark.parametrize(
    "code",
    [
        KafkaError.INVALID_CONFIG,
        KafkaError.POLICY_VIOLATION,
        KafkaError.INVALID_PARTITIONS,
        KafkaError._TIMED_OUT,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
    ],
)
def test_other_errors_are_not_retried(kafka, code):
    submit, calls = scripted({"a": code, "b": None})
    with pytest.raises(RedpandaError) as exc:
        kafka._batch(
            "CreateTopics",
            "creating topics",
            ["a", "b"],
            submit,
            describe_item=lambda n: f"topic {n!r}",
        )
    assert len(calls) == 1
    assert exc.value.msg.startswith("topic 'a': ")
    assert exc.value.partial == ["topic 'b'"]  # what was done before the failure


def test_authorization_errors_name_the_user_and_the_missing_right(kafka):
    submit, _calls = scripted({"x": KafkaError.CLUSTER_AUTHORIZATION_FAILED})
    with pytest.raises(RedpandaError) as exc:
        kafka._batch("CreateAcls", "creating ACLs", ["x"], submit)
    assert "denied creating ACLs to 'admin'" in exc.value.msg
    assert "ALTER on the cluster" in exc.value.msg


def test_redpanda_without_kip554_is_pointed_to_the_other_backends(kafka):
    submit, _calls = scripted({"u": KafkaError.UNSUPPORTED_VERSION})
    with pytest.raises(RedpandaError) as exc:
        kafka._batch("AlterUserScramCredentials", "changing SCRAM credentials", ["u"], submit)
    assert "backend=admin_api" in exc.value.msg and "backend=cloud" in exc.value.msg


def test_connection_errors_fail_fast_with_the_cause(kafka):
    kafka._errors = [KafkaError(KafkaError._AUTHENTICATION, "SASL authentication error: bad")]
    pending = concurrent.futures.Future()
    with pytest.raises(RedpandaError) as exc:
        kafka._wait([pending])
    assert "authentication failed for sasl_username 'admin'" in exc.value.msg
    kafka._errors = [
        KafkaError(KafkaError._TRANSPORT, "Connection refused"),
        KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"),
    ]
    with pytest.raises(RedpandaError) as exc:
        kafka._wait([pending])
    assert (
        "cannot reach any broker in bootstrap_servers (127.0.0.1:1): Connection refused"
        in exc.value.msg
    )


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


@pytest.fixture
def flaky():
    server = JsonServer()
    script = []

    def answer(_req):
        status = script.pop(0) if script else 200
        return Response(status, {"message": f"status {status}"} if status != 200 else ["ok"])

    server.route("GET", "/thing", answer)
    server.start()
    yield server, script
    server.stop()


def api(server, counter=None, bearer=None):
    return HttpApi(
        "Test API",
        server.url,
        {"tls_verify": True, "request_timeout": 5},
        counter or RequestCounter(),
        bearer=bearer,
    )


def test_http_retries_503_then_succeeds(flaky):
    server, script = flaky
    script.extend([503, 502])
    counter = RequestCounter()
    status, body = api(server, counter).call("GET", "/thing")
    assert (status, body) == (200, ["ok"])
    assert counter.result()["total"] == 3 and server.count("GET") == 3


@pytest.mark.parametrize("status", [400, 403, 404, 409, 500])
def test_http_client_errors_are_not_retried(flaky, status):
    server, script = flaky
    script.append(status)
    with pytest.raises(HttpApiError) as exc:
        api(server).call("GET", "/thing")
    assert exc.value.status == status and f"status {status}" in exc.value.msg
    assert server.count("GET") == 1


def test_http_401_gets_one_fresh_token(flaky):
    server, script = flaky
    script.extend([401])
    tokens = []

    def bearer(force_new=False):
        tokens.append(force_new)
        return f"t{len(tokens)}"

    assert api(server, bearer=bearer).call("GET", "/thing")[0] == 200
    assert tokens == [False, True] and server.count("GET") == 2


def test_http_unreachable_is_named():
    dead = HttpApi("Test API", "http://127.0.0.1:1", {"request_timeout": 2}, RequestCounter())
    with pytest.raises(RedpandaError) as exc:
        dead.call("GET", "/thing")
    assert "cannot reach the Test API at http://127.0.0.1:1" in exc.value.msg


# The collection's retry policy (_retry) through the HTTP client, against real local servers:
# a request that may have been applied is not sent again unless it is idempotent.


@pytest.fixture
def slept(monkeypatch):
    """The retry policy's waits, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr(_retry.RetryPolicy, "sleep", lambda _self, seconds: waits.append(seconds))
    return waits


def fault(server, method, pattern, *answers, applied=False, delay=0.0):
    """The route's first answers become `answers` (statuses, or (status, headers)); with
    `applied` the real handler runs first, as when a gateway loses the answer of a request the
    service applied. `delay` holds those answers back (longer than request_timeout: a timeout).
    Returns the list of requests the route saw."""
    seen = []
    for index, (m, regex, handler) in enumerate(server.routes):
        if m == method and regex.pattern == "^" + pattern + "$":

            def wrapped(req, _handler=handler, **groups):
                seen.append(req.method)
                if len(seen) > len(answers):
                    return _handler(req, **groups)
                if applied:
                    _handler(req, **groups)
                threading.Event().wait(delay)  # time.sleep is patched away for these tests
                status, headers = answers[len(seen) - 1], {}
                if isinstance(status, tuple):
                    status, headers = status
                return Response(status, {"code": 14, "message": f"gateway {status}"}, headers)

            server.routes[index] = (m, regex, wrapped)
            return seen
    raise AssertionError(f"no route {method} {pattern}")


@pytest.fixture(scope="module")
def cloud_standin():
    standin = RedpandaCloudStandin().start()  # once: stopping its three servers takes 1.5 s
    yield standin
    standin.stop()


@pytest.fixture
def cloud(cloud_standin):
    servers = (cloud_standin.auth, cloud_standin.control, cloud_standin.data)
    routes = [list(server.routes) for server in servers]
    yield cloud_standin
    for server, saved in zip(servers, routes, strict=True):
        server.routes[:] = saved  # without the test's faults
    cloud_standin.data.users.clear()


def cloud_users(standin, timeout=5):
    return CloudUsers(
        {
            "cloud_client_id": standin.client_id,
            "cloud_client_secret": standin.client_secret,
            "cloud_auth_url": standin.auth_url,
            "cloud_api_url": standin.control.url,
            "cloud_audience": AUDIENCE,
            "cloud_dataplane_url": standin.data.url,
            "cloud_cluster_id": None,
            "request_timeout": timeout,
            "tls_verify": True,
        },
        RequestCounter(),
    )


CREATE = {"name": "alice", "action": "create", "set_mechanisms": ["SCRAM-SHA-256"]}


@pytest.mark.parametrize("status", [502, 504])
def test_a_create_post_whose_answer_was_lost_is_not_sent_again(cloud, slept, status):
    """Before the shared policy this POST was sent again and failed with 409 ALREADY_EXISTS,
    hiding that the first one had created the user."""
    seen = fault(cloud.data, "POST", "/v1/users", status, status, applied=True)
    users = cloud_users(cloud)
    with pytest.raises(HttpApiError) as exc:
        users.apply([dict(CREATE, delete_mechanisms=[])], {"alice": "pw-1"}, {})
    assert exc.value.status == status and exc.value.partial == []
    assert seen == ["POST"] and slept == []
    assert cloud.data.password_matches("alice", "pw-1")  # applied: a retry would have said 409


def test_a_create_post_that_timed_out_is_not_sent_again(cloud, slept):
    seen = fault(cloud.data, "POST", "/v1/users", 201, applied=True, delay=0.6)
    users = cloud_users(cloud, timeout=0.2)
    with pytest.raises(RedpandaError) as exc:
        users.apply([dict(CREATE, delete_mechanisms=[])], {"alice": "pw-1"}, {})
    assert f"cannot reach the Redpanda Cloud Data Plane API at {cloud.data.url}" in exc.value.msg
    assert seen == ["POST"] and slept == []


def test_a_create_post_refused_with_429_or_503_is_sent_again_after_retry_after(cloud, slept):
    seen = fault(cloud.data, "POST", "/v1/users", (429, {"Retry-After": "2"}), 503)
    cloud_users(cloud).apply([dict(CREATE, delete_mechanisms=[])], {"alice": "pw-1"}, {})
    assert seen == ["POST"] * 3
    assert slept[0] == 2.0 and 0.5 <= slept[1] <= 1.0  # Retry-After, then the backoff
    assert cloud.data.password_matches("alice", "pw-1")


def test_a_retry_after_longer_than_a_minute_fails_at_once(flaky, slept):
    server, _script = flaky
    server.routes.insert(
        0, ("GET", re.compile("^/slow$"), lambda _r: Response(429, {}, {"Retry-After": "3600"}))
    )
    with pytest.raises(HttpApiError) as exc:
        api(server).call("GET", "/slow")
    assert exc.value.status == 429 and server.count("GET", "/slow") == 1 and slept == []


def test_the_token_request_is_idempotent_so_it_is_sent_again_after_a_502(cloud, slept):
    seen = fault(cloud.auth, "POST", "/oauth/token", 502, 504)
    assert cloud_users(cloud).token()
    assert seen == ["POST"] * 3 and len(slept) == 2


def test_an_admin_api_create_is_sent_again_because_redpanda_answers_a_repeat_with_200(slept):
    with RedpandaAdminStandin() as admin:
        seen = fault(admin, "POST", "/v1/security/users", 504, applied=True)
        users = AdminApiUsers(
            {
                "admin_api_url": admin.url,
                "admin_api_username": "admin",
                "admin_api_password": "admin-secret",
                "request_timeout": 5,
            },
            RequestCounter(),
        )
        users.apply([dict(CREATE, delete_mechanisms=[])], {"alice": "pw-1"}, {})
        assert seen == ["POST", "POST"] and len(slept) == 1
        assert admin.password_matches("alice", "pw-1", "SCRAM-SHA-256")


def test_a_get_that_timed_out_is_sent_again(flaky, slept):
    server, _script = flaky
    seen = fault(server, "GET", "/thing", 200, delay=0.6)
    slow = HttpApi("Test API", server.url, {"request_timeout": 0.2}, RequestCounter())
    assert slow.call("GET", "/thing") == (200, ["ok"])
    assert seen == ["GET", "GET"] and len(slept) == 1


def test_a_refused_connection_is_tried_again_even_for_a_post(monkeypatch):
    """Nothing was sent: the server that starts during the wait gets the only POST."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = JsonServer()
    server.route("POST", "/things", lambda _r: Response(201, {"id": 1}))
    monkeypatch.setattr(_retry.RetryPolicy, "sleep", lambda _self, _s: server.start(port))
    try:
        late = HttpApi("Test API", f"http://127.0.0.1:{port}", {}, RequestCounter())
        assert late.call("POST", "/things", body={}) == (201, {"id": 1})
        assert server.count("POST") == 1
    finally:
        server.stop()
