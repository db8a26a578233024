#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: redpanda_topic
short_description: Manage Redpanda / Kafka topics declaratively
description:
  - Creates, changes and deletes one or many topics of a Redpanda (or Apache Kafka) cluster
    through the Kafka API.
  - Partitions can only grow. Asking for fewer partitions, or for another replication factor of
    an existing topic, fails with an explanation and changes nothing, for every listed topic.
  - Configs are changed with C(IncrementalAlterConfigs); configs the task does not list are left
    alone.
  - All topics of a task are read with one C(Metadata) and one C(DescribeConfigs) request and
    changed with at most one request per kind of change (C(CreateTopics), C(CreatePartitions),
    C(IncrementalAlterConfigs), C(DeleteTopics)).
  - In check mode creations, partition increases and config changes are sent with
    C(validate_only), so the broker checks them without applying them.
author:
  - hackathon-todo platform team (@hackathon-todo)
version_added: 0.1.0
extends_documentation_fragment:
  - hackathon_todo.deploy.attributes
  - hackathon_todo.deploy.redpanda
attributes:
  check_mode:
    support: full
    details: Creations, partition increases and config changes are validated by the broker.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  name:
    description:
      - Name of one topic. Use O(topics) for several.
      - Up to 249 ASCII letters, digits, C(.), C(_) and C(-).
    type: str
  topics:
    description:
      - Several topics. O(partitions), O(replication_factor), O(configs) and O(state) given at the
        top level are defaults for every entry.
    type: list
    elements: dict
    suboptions:
      name:
        description: Topic name.
        type: str
        required: true
      partitions:
        description: Number of partitions. Can grow, never shrink.
        type: int
      replication_factor:
        description: Replication factor. Set at creation; cannot be changed by this module.
        type: int
      configs:
        description:
          - Topic configs, for example C(retention.ms) or C(cleanup.policy). Merged over the
            top-level O(configs).
          - A value of V(null) removes the topic's override, so the cluster default applies.
        type: dict
      state:
        description: Whether the topic should exist.
        type: str
        choices: [present, absent]
  partitions:
    description:
      - Number of partitions. Without it a new topic gets the cluster default and an existing
        topic keeps its count.
    type: int
  replication_factor:
    description:
      - Replication factor of new topics. Without it the cluster default is used. Redpanda Cloud
        serverless uses 3.
    type: int
  configs:
    description:
      - Topic configs to enforce; other configs are left as they are.
      - Values are compared as the broker reports them (strings); V(true) becomes C(true).
      - A value of V(null) removes the override, so the cluster default applies.
    type: dict
    default: {}
  state:
    description:
      - C(present) creates or updates, C(absent) deletes (see O(allow_deletion)).
    type: str
    default: present
    choices: [present, absent]
  allow_deletion:
    description:
      - Deleting a topic deletes its data. C(state=absent) fails for an existing topic unless this
        is V(true), like the C(allow_deletion) of the Redpanda Terraform provider.
    type: bool
    default: false
seealso:
  - module: hackathon_todo.deploy.redpanda_acl
  - module: hackathon_todo.deploy.redpanda_info
"""

EXAMPLES = r"""
- name: The production topics of the todo app
  hackathon_todo.deploy.redpanda_topic:
    bootstrap_servers: "{{ redpanda_bootstrap_servers }}"
    sasl_username: "{{ redpanda_admin_user }}"
    sasl_password: "{{ redpanda_admin_password }}"
    topics:
      - name: task-events
      - name: notifications
      - name: processed-events
        configs:
          retention.ms: 259200000
    partitions: 3
    configs:
      cleanup.policy: delete
      retention.ms: 604800000

- name: Grow a topic to 6 partitions (shrinking is refused)
  hackathon_todo.deploy.redpanda_topic:
    name: task-events
    partitions: 6

- name: Go back to the cluster default retention
  hackathon_todo.deploy.redpanda_topic:
    name: task-events
    configs:
      retention.ms: null

- name: Delete a topic and its data
  hackathon_todo.deploy.redpanda_topic:
    name: staging-scratch
    state: absent
    allow_deletion: true
"""

RETURN = r"""
topics:
  description:
    - One entry per declared topic, in the order declared.
    - C(action) is C(create), C(update), C(delete) or C(none). For what differs, C(partitions),
      C(replication_factor) and C(configs) (per key) hold C(before) and C(after).
  returned: always
  type: list
  elements: dict
  sample:
    - name: task-events
      action: update
      partitions: {before: 3, after: 6}
      configs:
        retention.ms: {before: "604800000", after: "259200000"}
    - name: notifications
      action: none
requests:
  description: Requests sent to the cluster, by API, and their total.
  returned: always
  type: dict
  sample: {by_api: {Metadata: 1, DescribeConfigs: 1, CreatePartitions: 1}, total: 3}
diff:
  description: Before and after of the changed topics (with C(--diff)).
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda import RedpandaModule
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_plan import (
    RedpandaError,
    plan_topics,
    topic_diff,
    topic_name_problem,
)


def desired_topics(params):
    defaults = dict(
        partitions=params["partitions"],
        replication_factor=params["replication_factor"],
        state=params["state"],
    )
    if params["name"] is not None:
        return [dict(name=params["name"], configs=dict(params["configs"] or {}), **defaults)]
    out = []
    for entry in params["topics"]:
        spec = dict(defaults)
        spec.update((k, v) for k, v in entry.items() if v is not None and k != "configs")
        configs = dict(params["configs"] or {})
        configs.update(entry.get("configs") or {})
        spec["configs"] = configs
        out.append(spec)
    return out


def main():
    module = RedpandaModule(
        argument_spec=dict(
            name=dict(type="str"),
            topics=dict(
                type="list",
                elements="dict",
                options=dict(
                    name=dict(type="str", required=True),
                    partitions=dict(type="int"),
                    replication_factor=dict(type="int"),
                    configs=dict(type="dict"),
                    state=dict(type="str", choices=["present", "absent"]),
                ),
            ),
            partitions=dict(type="int"),
            replication_factor=dict(type="int"),
            configs=dict(type="dict", default={}),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            allow_deletion=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("name", "topics")],
        required_one_of=[("name", "topics")],
    )
    desired = desired_topics(module.params)
    # Refuse bad names before connecting: nothing is sent for an invalid task.
    problems = [p for p in (topic_name_problem(t["name"]) for t in desired) if p]
    if problems:
        module.fail_json(msg="; ".join(problems), changed=False)

    try:
        kafka = module.kafka
        current = kafka.describe_topics([t["name"] for t in desired])
        need_configs = [
            t["name"]
            for t in desired
            if t["name"] in current and t.get("configs") and t["state"] == "present"
        ]
        configs = kafka.describe_topic_configs(need_configs)
        for name, cfg in configs.items():
            current[name]["configs"] = cfg

        planned, errors = plan_topics(desired, current, module.params["allow_deletion"])
        changes = planned.changes
        if errors:
            module.fail_json(
                msg="nothing was changed: " + "; ".join(errors),
                changed=False,
                topics=changes,
                requests=module.counter.result(),
            )

        creates = [
            (
                c["name"],
                c["partitions"]["after"],
                c["replication_factor"]["after"],
                dict((k, v["after"]) for k, v in c.get("configs", {}).items()),
            )
            for c in changes
            if c["action"] == "create"
        ]
        grow = dict(
            (c["name"], c["partitions"]["after"])
            for c in changes
            if c["action"] == "update" and "partitions" in c
        )
        alter = dict(
            (c["name"], dict((k, v["after"]) for k, v in c["configs"].items()))
            for c in changes
            if c["action"] == "update" and c.get("configs")
        )
        deletes = [c["name"] for c in changes if c["action"] == "delete"]

        # Check mode asks the broker to validate without applying (DeleteTopics has no such
        # mode; deletions were already checked against what exists).
        check = module.check_mode
        kafka.create_topics(creates, validate_only=check)
        kafka.create_partitions(grow, validate_only=check)
        kafka.alter_topic_configs(alter, validate_only=check)
        if not check:
            kafka.delete_topics(deletes)
    except RedpandaError as exc:
        module.fail_redpanda(exc, changed=False)

    module.exit_redpanda(
        **planned.result(module._diff, lambda: topic_diff(changes, current), key="topics")
    )


if __name__ == "__main__":
    main()
