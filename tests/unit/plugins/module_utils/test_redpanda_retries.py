"""Retries only for retryable errors, counted as requests; everything else fails at once with a
message that says what to fix. Kafka side with fake futures, HTTP side with a local server."""

from __future__ import annotations

import concurrent.futures

import pytest
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _redpanda
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda import (
    HttpApi,
    HttpApiError,
    KafkaAdmin,
    RedpandaError,
    RequestCounter,
)
from confluent_kafka import KafkaError, KafkaException

from tests.standins._server import JsonServer, Response

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
    monkeypatch.setattr(_redpanda.time, "sleep", lambda _s: None)


@pytest.fixture
def kafka():
    admin = KafkaAdmin(PARAMS, RequestCounter())
    admin._client = FakeClient()
    return admin


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
