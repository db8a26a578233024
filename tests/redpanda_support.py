"""Helpers for the redpanda_* integration tests: module arguments for the test bed broker, and
independent reads (and hand-made changes) of the broker's state with confluent-kafka (never
through our modules), so a test checks what really happened on the broker.

Its fixtures ``conn`` and ``admin`` are registered as a pytest plugin by tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ConfigResource,
    ResourcePatternType,
    ResourceType,
)

from tests.ansible_run import ModuleRun


def tag() -> str:
    return uuid.uuid4().hex[:10]


def connection(kafka_broker, **overrides) -> dict:
    """Connection options of our modules for the test bed broker, as the admin super user."""
    args = {
        "bootstrap_servers": [kafka_broker.bootstrap_servers],
        "security_protocol": kafka_broker.security_protocol,
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_username": kafka_broker.admin_user,
        "sasl_password": kafka_broker.admin_password,
        "request_timeout": 20,
    }
    if kafka_broker.ca_file:
        args["ca_file"] = kafka_broker.ca_file
    args.update(overrides)
    return args


def inventory_vars(kafka_broker) -> dict:
    """The same connection as inventory variables (group_vars/all/redpanda.yml), for playbooks."""
    return {
        "redpanda_bootstrap_servers": [kafka_broker.bootstrap_servers],
        "redpanda_security_protocol": kafka_broker.security_protocol,
        "redpanda_sasl_mechanism": "SCRAM-SHA-512",
        "redpanda_admin_user": kafka_broker.admin_user,
        "redpanda_admin_password": kafka_broker.admin_password,
        "redpanda_ca_file": kafka_broker.ca_file,
    }


def admin_client(kafka_broker) -> AdminClient:
    return AdminClient(kafka_broker.client_config(log_level=0))


@pytest.fixture
def conn(kafka_broker):
    """connection() for the test bed broker (or the one the test module overrides it with)."""
    return connection(kafka_broker)


@pytest.fixture
def admin(kafka_broker):
    """An independent confluent-kafka admin client of the same broker."""
    return admin_client(kafka_broker)


def topics_on_broker(admin: AdminClient, names) -> dict:
    """name -> {"partitions": n, "replication_factor": rf, "configs": {overrides}}."""
    md = admin.list_topics(timeout=20)
    out = {}
    for name in names:
        meta = md.topics.get(name)
        if meta is None or meta.error is not None:
            continue
        parts = meta.partitions
        out[name] = {
            "partitions": len(parts),
            "replication_factor": len(next(iter(parts.values())).replicas) if parts else 0,
        }
    if out:
        futures = admin.describe_configs([ConfigResource("topic", n) for n in out])
        for res, fut in futures.items():
            try:
                entries = fut.result(timeout=20)
            except KafkaException as exc:
                # Metadata can still list a topic whose deletion the controller has finished
                # (CI saw it in a teardown): it is not on the broker any more.
                if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise
                del out[res.name]
                continue
            out[res.name]["configs"] = {
                k: e.value
                for k, e in entries.items()
                if int(e.source) == 1  # DYNAMIC_TOPIC
            }
    return out


def wait_topics_gone(admin: AdminClient, names, timeout: float = 20) -> dict:
    deadline = time.time() + timeout
    while True:
        left = topics_on_broker(admin, names)
        if not left or time.time() > deadline:
            return left
        time.sleep(0.2)


def delete_topics(admin: AdminClient, names) -> None:
    existing = list(topics_on_broker(admin, names))
    if existing:
        for fut in admin.delete_topics(existing, operation_timeout=20).values():
            with contextlib.suppress(KafkaException):
                fut.result(timeout=30)
        wait_topics_gone(admin, existing)


def acls_of(admin: AdminClient, principal: str) -> set[tuple]:
    """(resource_type, name, pattern, operation, permission, host) of one principal."""
    found = admin.describe_acls(
        AclBindingFilter(
            ResourceType.ANY,
            None,
            ResourcePatternType.ANY,
            principal,
            None,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
    ).result(timeout=20)
    return {
        (
            b.restype.name.lower(),
            b.name,
            b.resource_pattern_type.name.lower(),
            b.operation.name.lower(),
            b.permission_type.name.lower(),
            b.host,
        )
        for b in found
    }


def allow_on_topic(admin: AdminClient, principal: str, topic: str, operation: AclOperation) -> None:
    """An ACL made by hand, as an operator would outside Ansible: allow one operation on one
    topic (literal name) from any host."""
    binding = AclBinding(
        ResourceType.TOPIC,
        topic,
        ResourcePatternType.LITERAL,
        principal,
        "*",
        operation,
        AclPermissionType.ALLOW,
    )
    for fut in admin.create_acls([binding]).values():
        fut.result(timeout=20)


def delete_acls_of(admin: AdminClient, *principals: str, timeout: float = 20) -> None:
    filters = [
        AclBindingFilter(
            ResourceType.ANY,
            None,
            ResourcePatternType.ANY,
            p,
            None,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
        for p in principals
    ]
    if filters:
        for fut in admin.delete_acls(filters, request_timeout=timeout).values():
            fut.result(timeout=timeout)


def scram_users(admin: AdminClient) -> dict:
    """name -> sorted mechanisms."""
    result = admin.describe_user_scram_credentials().result(timeout=20)
    return {
        name: sorted(i.mechanism.name.replace("_", "-") for i in desc.scram_credential_infos)
        for name, desc in result.items()
    }


def delete_scram_users(admin: AdminClient, *names: str) -> None:
    from confluent_kafka.admin import ScramMechanism, UserScramCredentialDeletion

    existing = scram_users(admin)
    # Kafka refuses two alterations of one user in a request: one mechanism per round
    for index in range(2):
        dels = [
            UserScramCredentialDeletion(n, ScramMechanism[mechs[index].replace("-", "_")])
            for n, mechs in existing.items()
            if n in names and len(mechs) > index
        ]
        if dels:
            for fut in admin.alter_user_scram_credentials(dels).values():
                fut.result(timeout=20)


def can_login(kafka_broker, user: str, password: str, mechanism: str = "SCRAM-SHA-512") -> bool:
    errors: list[KafkaError] = []
    client = AdminClient(
        kafka_broker.client_config(user, password, mechanism, error_cb=errors.append, log_level=0)
    )
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            client.list_topics(timeout=1)
            return True
        except KafkaException:
            client.poll(0)
            if any(e.code() == KafkaError._AUTHENTICATION for e in errors):
                return False
    raise AssertionError(f"no answer while logging in as {user}")


def produce(kafka_broker, user, password, topic, mechanism="SCRAM-SHA-512"):
    """None when the broker took the message, else the KafkaError of the delivery report."""
    reports = []
    producer = Producer(
        kafka_broker.client_config(
            user,
            password,
            mechanism,
            **{"message.timeout.ms": 8000, "log_level": 0},
        )
    )
    producer.produce(topic, value=b"hello", on_delivery=lambda err, _msg: reports.append(err))
    producer.flush(15)
    assert reports, f"no delivery report for {topic}"
    return reports[0]


def group_consumer(kafka_broker, user, password, group, mechanism) -> Consumer:
    """A consumer in `group` that starts at the oldest message and commits only when told."""
    return Consumer(
        kafka_broker.client_config(
            user,
            password,
            mechanism,
            **{
                "group.id": group,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "log_level": 0,
            },
        )
    )


def _first_message(consumer: Consumer, topic: str):
    """The first message of `topic` for a subscribed consumer, a KafkaError, or None (25 s)."""
    consumer.subscribe([topic])
    deadline = time.time() + 25
    while time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is None or (msg.error() and msg.error().code() == KafkaError._PARTITION_EOF):
            continue
        return msg.error() or msg
    return None


def consume(kafka_broker, user, password, topic, group, mechanism="SCRAM-SHA-512"):
    """The first message's value, a KafkaError, or None when nothing arrived."""
    consumer = group_consumer(kafka_broker, user, password, group, mechanism)
    try:
        got = _first_message(consumer, topic)
        return got if got is None or isinstance(got, KafkaError) else got.value()
    finally:
        consumer.close()


def join_and_commit(kafka_broker, user, password, topic, group, mechanism="SCRAM-SHA-512"):
    """Join `group`, read the first message of `topic` and commit the offset after it, as a
    Dapr subscriber does. The committed offsets the broker then reports, or the KafkaError that
    stopped the join, the read or the commit."""
    consumer = group_consumer(kafka_broker, user, password, group, mechanism)
    try:
        got = _first_message(consumer, topic)
        assert got is not None, f"nothing to read on {topic} as {user} in group {group}"
        if isinstance(got, KafkaError):
            return got
        try:
            consumer.commit(message=got, asynchronous=False)
            committed = consumer.committed(consumer.assignment(), timeout=10)
        except KafkaException as exc:
            return exc.args[0]
        return {(tp.topic, tp.partition): tp.offset for tp in committed if tp.offset >= 0}
    finally:
        consumer.close()


def assert_no_secrets(run: ModuleRun | object, *secrets: str) -> None:
    """No secret appears anywhere in what ansible printed (stdout and stderr)."""
    text = (getattr(run, "stdout", "") or "") + (getattr(run, "stderr", "") or "")
    for secret in secrets:
        assert secret and secret not in text, "a secret leaked into the output"
