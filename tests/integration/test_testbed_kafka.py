"""Proof that the local broker is real: SCRAM logins, enforced ACLs, working admin API."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)


def _wait(futures: dict, timeout: float = 30) -> None:
    for f in futures.values():
        f.result(timeout=timeout)


@pytest.fixture
def layout(kafka_broker):
    """Two topics with one message each, and a SCRAM user allowed to read only the first."""
    admin = AdminClient(kafka_broker.client_config())
    tag = uuid.uuid4().hex[:8]
    topic_a, topic_b, group = f"proof-a-{tag}", f"proof-b-{tag}", f"proof-group-{tag}"
    user, password = f"reader-{tag}", uuid.uuid4().hex
    _wait(admin.create_topics([NewTopic(t, 1, 1) for t in (topic_a, topic_b)]))
    _wait(
        admin.alter_user_scram_credentials(
            [
                UserScramCredentialUpsertion(
                    user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), password.encode()
                )
            ]
        )
    )
    principal = f"User:{user}"
    acls = [
        AclBinding(
            ResourceType.TOPIC,
            topic_a,
            ResourcePatternType.LITERAL,
            principal,
            "*",
            AclOperation.READ,
            AclPermissionType.ALLOW,
        ),
        AclBinding(
            ResourceType.GROUP,
            group,
            ResourcePatternType.LITERAL,
            principal,
            "*",
            AclOperation.READ,
            AclPermissionType.ALLOW,
        ),
    ]
    _wait(admin.create_acls(acls))
    producer = Producer(kafka_broker.client_config())
    for t in (topic_a, topic_b):
        producer.produce(t, value=f"hello {t}".encode())
    assert producer.flush(30) == 0
    yield {
        "admin": admin,
        "a": topic_a,
        "b": topic_b,
        "group": group,
        "user": user,
        "password": password,
        "principal": principal,
    }
    admin.delete_acls(
        [
            AclBindingFilter(
                ResourceType.ANY,
                None,
                ResourcePatternType.ANY,
                principal,
                None,
                AclOperation.ANY,
                AclPermissionType.ANY,
            )
        ]
    )
    admin.delete_topics([topic_a, topic_b])


def _consume_one(kafka_broker, layout, topic: str):
    consumer = Consumer(
        kafka_broker.client_config(
            layout["user"],
            layout["password"],
            **{
                "group.id": layout["group"],
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            },
        )
    )
    try:
        consumer.subscribe([topic])
        for _attempt in range(60):
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                return msg.error()
            return msg.value()
        return None
    finally:
        consumer.close()


def test_reader_consumes_its_topic(kafka_broker, layout):
    assert _consume_one(kafka_broker, layout, layout["a"]) == f"hello {layout['a']}".encode()


def test_reader_is_denied_other_topic(kafka_broker, layout):
    err = _consume_one(kafka_broker, layout, layout["b"])
    assert isinstance(err, KafkaError), f"expected an authorization error, got {err!r}"
    assert err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_wrong_password_is_rejected(kafka_broker, layout):
    errors: list[KafkaError] = []
    admin = AdminClient(
        kafka_broker.client_config(
            layout["user"], "not-the-password", error_cb=errors.append, log_level=0
        )
    )
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)
    admin.poll(1)  # error_cb is served from poll()
    assert any(e.code() == KafkaError._AUTHENTICATION for e in errors), errors


def test_admin_lists_the_acl(layout):
    found = (
        layout["admin"]
        .describe_acls(
            AclBindingFilter(
                ResourceType.ANY,
                None,
                ResourcePatternType.ANY,
                layout["principal"],
                None,
                AclOperation.ANY,
                AclPermissionType.ANY,
            )
        )
        .result(timeout=30)
    )
    seen = {(b.restype, b.name, b.operation) for b in found}
    assert (ResourceType.TOPIC, layout["a"], AclOperation.READ) in seen
    assert (ResourceType.GROUP, layout["group"], AclOperation.READ) in seen
    assert len(found) == 2
