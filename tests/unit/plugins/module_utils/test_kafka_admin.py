"""The Kafka protocol client, split by concern: one connection (_kafka_client) and one file per
kind of operation (_kafka_topics, _kafka_acls, _kafka_scram), joined in _kafka_admin.KafkaAdmin.
What the modules rely on: every call they make exists on the one client they get, and each
operation is defined once, over the same connection."""

from __future__ import annotations

import ast
import pathlib
import re

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kafka_acls import KafkaAcls
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kafka_admin import KafkaAdmin
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kafka_client import (
    KafkaClient,
    RequestCounter,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kafka_scram import KafkaScram
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kafka_topics import (
    KafkaTopics,
)

ROOT = pathlib.Path(__file__).resolve().parents[4]
UTILS = ROOT / "plugins" / "module_utils"
OPERATIONS = (KafkaTopics, KafkaAcls, KafkaScram)
PARTS = ("_kafka_topics", "_kafka_acls", "_kafka_scram")


def own_methods(cls) -> set[str]:
    return {
        name
        for name, value in vars(cls).items()
        if callable(value) or isinstance(value, (classmethod, staticmethod))
    }


def collection_imports(name: str) -> set[str]:
    tree = ast.parse((UTILS / f"{name}.py").read_text())
    return {
        node.module.rsplit(".", 1)[-1]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and ".module_utils." in node.module
    }


def test_every_call_the_modules_make_is_on_the_client_they_get():
    sources = [*sorted((ROOT / "plugins" / "modules").glob("redpanda_*.py"))]
    sources += [UTILS / "_redpanda_users.py", UTILS / "_redpanda.py"]
    called = set()
    for path in sources:
        called |= set(re.findall(r"\bkafka\.([a-z_]+)\(", path.read_text()))
    assert {"describe_topics", "describe_acls", "describe_scram_users"} <= called
    missing = sorted(name for name in called if not callable(getattr(KafkaAdmin, name, None)))
    assert missing == []


def test_each_operation_is_defined_once_over_one_connection():
    assert KafkaAdmin.__mro__.count(KafkaClient) == 1
    assert own_methods(KafkaAdmin) == set()  # it only joins them
    seen = {}
    for cls in OPERATIONS:
        assert cls.__bases__ == (KafkaClient,)
        for name in own_methods(cls):
            assert name not in seen, f"{name} in {seen.get(name)} and {cls.__name__}"
            assert name not in vars(KafkaClient), f"{cls.__name__}.{name} overrides the connection"
            seen[name] = cls.__name__
    admin = KafkaAdmin({"bootstrap_servers": ["127.0.0.1:1"]}, RequestCounter())
    assert admin.servers == "127.0.0.1:1" and admin._client is None  # connects on first use


def test_imports_go_one_way():
    """connection <- operations <- KafkaAdmin <- module base; no operation imports another."""
    assert collection_imports("_kafka_client").isdisjoint({*PARTS, "_kafka_admin"})
    for part in PARTS:
        imported = collection_imports(part)
        assert "_kafka_client" in imported, part
        assert imported.isdisjoint({*PARTS, "_kafka_admin"} - {part}), part
    assert collection_imports("_kafka_admin") == set(PARTS)
    users = [
        path.stem
        for path in UTILS.glob("_*.py")
        if path.stem != "_kafka_admin" and collection_imports(path.stem) & set(PARTS)
    ]
    assert users == []  # the modules get KafkaAdmin; only it knows the parts
