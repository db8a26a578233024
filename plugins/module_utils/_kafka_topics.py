# -*- coding: utf-8 -*-
# Copyright: (c) 2025, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Topic operations of the Kafka protocol client: read topics and their configs, create topics,
add partitions, change configs, delete topics; ONE batched request each (``KafkaClient``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kafka_client import (
    KafkaClient,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_plan import (
    RedpandaError,
)

try:
    from confluent_kafka import KafkaError, KafkaException, TopicCollection
    from confluent_kafka.admin import (
        AlterConfigOpType,
        ConfigEntry,
        ConfigResource,
        ConfigSource,
        NewPartitions,
        NewTopic,
    )
except ImportError:
    pass  # _kafka_client.HAS_CONFLUENT_KAFKA: the module base fails first, saying what to install


class KafkaTopics(KafkaClient):
    """Topics: Metadata, DescribeConfigs, CreateTopics, CreatePartitions,
    IncrementalAlterConfigs, DeleteTopics."""

    def list_topic_names(self):
        self.counter.add("Metadata")
        try:
            md = self.client.list_topics(timeout=self.request_timeout)
        except KafkaException as exc:
            self.client.poll(0)
            raise RedpandaError(self.explain(exc.args[0], "listing topics")) from None
        return sorted(md.topics)

    def describe_topics(self, names):
        """name -> dict(partitions, replication_factor, internal) for the names that exist."""
        if not names:
            return {}
        out = {}
        self.counter.add("Metadata")
        futures = self.client.describe_topics(
            TopicCollection(list(names)), request_timeout=self.request_timeout
        )
        self._wait(list(futures.values()))
        for name, future in futures.items():
            try:
                desc = future.result(timeout=0)
            except KafkaException as exc:
                err = exc.args[0]
                if err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                    continue
                raise RedpandaError(self.explain(err, "describing topic %r" % name)) from None
            partitions = desc.partitions or []
            rf = len(partitions[0].replicas) if partitions else 0
            out[name] = dict(
                partitions=len(partitions),
                replication_factor=rf,
                internal=bool(getattr(desc, "is_internal", False)),
            )
        return out

    def describe_topic_configs(self, names):
        """name -> key -> dict(value, override, source, sensitive, read_only)."""
        if not names:
            return {}
        resources = [ConfigResource("topic", n) for n in names]
        results = self._batch(
            "DescribeConfigs",
            "reading topic configs",
            resources,
            lambda items: self.client.describe_configs(items, request_timeout=self.request_timeout),
            describe_item=lambda r: "topic %r" % r.name,
        )
        out = {}
        for resource, entries in results.items():
            cfg = {}
            for key, entry in entries.items():
                try:
                    source = ConfigSource(entry.source).name
                except ValueError:
                    source = "UNKNOWN_CONFIG"
                cfg[key] = dict(
                    value=None if entry.is_sensitive else entry.value,
                    override=source == "DYNAMIC_TOPIC_CONFIG",
                    source=source.lower(),
                    sensitive=bool(entry.is_sensitive),
                    read_only=bool(entry.is_read_only),
                )
            out[resource.name] = cfg
        return out

    def create_topics(self, specs, validate_only=False):
        """specs: list of (name, partitions|None, replication_factor|None, configs dict)."""
        if not specs:
            return
        new = dict(
            (
                s[0],
                NewTopic(
                    s[0],
                    num_partitions=s[1] or -1,
                    replication_factor=s[2] or -1,
                    config=dict((k, v) for k, v in (s[3] or {}).items() if v is not None),
                ),
            )
            for s in specs
        )
        self._batch(
            "CreateTopics",
            "creating topics",
            list(new),
            lambda names: self.client.create_topics(
                [new[n] for n in names],
                validate_only=validate_only,
                request_timeout=self.request_timeout,
                operation_timeout=self.request_timeout,
            ),
            describe_item=lambda n: "topic %r" % n,
        )

    def create_partitions(self, totals, validate_only=False):
        """totals: dict name -> new total partition count."""
        if not totals:
            return
        self._batch(
            "CreatePartitions",
            "adding partitions",
            list(totals),
            lambda names: self.client.create_partitions(
                [NewPartitions(n, totals[n]) for n in names],
                validate_only=validate_only,
                request_timeout=self.request_timeout,
                operation_timeout=self.request_timeout,
            ),
            describe_item=lambda n: "topic %r" % n,
        )

    def alter_topic_configs(self, changes, validate_only=False):
        """changes: dict name -> dict key -> value (None = delete the override)."""
        if not changes:
            return
        resources = []
        for name, cfg in changes.items():
            entries = []
            for key, value in sorted(cfg.items()):
                if value is None:
                    entries.append(
                        ConfigEntry(key, None, incremental_operation=AlterConfigOpType.DELETE)
                    )
                else:
                    entries.append(
                        ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
                    )
            resources.append(ConfigResource("topic", name, incremental_configs=entries))
        self._batch(
            "IncrementalAlterConfigs",
            "changing topic configs",
            resources,
            lambda items: self.client.incremental_alter_configs(
                items, validate_only=validate_only, request_timeout=self.request_timeout
            ),
            describe_item=lambda r: "topic %r" % r.name,
        )

    def delete_topics(self, names):
        if not names:
            return
        self._batch(
            "DeleteTopics",
            "deleting topics",
            list(names),
            lambda items: self.client.delete_topics(
                items, request_timeout=self.request_timeout, operation_timeout=self.request_timeout
            ),
            describe_item=lambda n: "topic %r" % n,
        )
