# -*- coding: utf-8 -*-
# Copyright: (c) 2025, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Kafka protocol client of the redpanda_* modules: ``KafkaAdmin`` joins the operations on
topics (``_kafka_topics``), ACLs (``_kafka_acls``) and SCRAM users (``_kafka_scram``) over one
connection (``_kafka_client.KafkaClient``: configuration, batching, retries, error messages,
request counting). The module base (``_redpanda``) makes one per task.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kafka_acls import (
    KafkaAcls,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kafka_scram import (
    KafkaScram,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kafka_topics import (
    KafkaTopics,
)


class KafkaAdmin(KafkaTopics, KafkaAcls, KafkaScram):
    """One AdminClient for every operation a task needs (``KafkaAdmin(params, counter)``)."""
