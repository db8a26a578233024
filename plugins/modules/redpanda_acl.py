#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: redpanda_acl
short_description: Manage Redpanda / Kafka ACLs as one declarative list
description:
  - Makes the ACLs of a Redpanda (or Apache Kafka) cluster match a list of entries.
  - Each entry names a principal, a resource (topic, consumer group, transactional ID or the
    cluster), a pattern (literal or prefixed), several operations and allow or deny.
  - The O(acls[].role) shortcuts C(producer) and C(consumer) expand to documented operation sets.
  - With O(exclusive=true) every other ACL of the listed principals is removed, which makes
    least privilege a property of the playbook rather than of the cluster's history.
  - The current ACLs are read with one C(DescribeAcls) request, all missing ACLs are created with
    one C(CreateAcls) request and all surplus ACLs deleted with one C(DeleteAcls) request, however
    many entries there are. A run that changes nothing sends one request.
author:
  - hackathon-todo platform team (@hackathon-todo)
version_added: 0.1.0
extends_documentation_fragment:
  - hackathon_todo.deploy.attributes
  - hackathon_todo.deploy.redpanda
attributes:
  check_mode:
    support: full
    details: The broker has no dry run for ACLs; check mode reads the ACLs and reports the plan.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  acls:
    description:
      - The ACL entries. Each entry expands to one ACL per operation.
    type: list
    elements: dict
    required: true
    suboptions:
      principal:
        description:
          - Who the entry is for, C(User:name). A bare C(name) means C(User:name).
            C(User:*) matches every user.
        type: str
        required: true
      host:
        description: Client host the entry applies to; C(*) is every host.
        type: str
        default: '*'
      resource_type:
        description:
          - Kind of resource. Required unless O(acls[].role) is given (then it may only be
            C(topic)).
        type: str
        choices: [topic, group, transactional_id, cluster]
      resource_name:
        description:
          - Name (or prefix, see O(acls[].pattern_type)) of the resource. For a O(acls[].role)
            entry, the topic name or prefix.
          - The cluster resource is always C(kafka-cluster), which is also the default for it.
        type: str
      pattern_type:
        description:
          - C(literal) matches the name exactly, C(prefixed) matches every name starting with it.
        type: str
        default: literal
        choices: [literal, prefixed]
      operations:
        description:
          - Operations the entry allows or denies. Required unless O(acls[].role) is given.
          - Must make sense for the resource type. C(topic) takes C(read), C(write), C(create),
            C(delete), C(alter), C(describe), C(describe_configs), C(alter_configs) and C(all);
            C(group) takes C(read), C(describe), C(delete) and C(all); C(transactional_id) takes
            C(write), C(describe) and C(all); C(cluster) takes C(create), C(alter), C(describe),
            C(cluster_action), C(describe_configs), C(alter_configs), C(idempotent_write) and
            C(all).
        type: list
        elements: str
        choices: [all, read, write, create, delete, alter, describe, cluster_action,
                  describe_configs, alter_configs, idempotent_write]
      permission:
        description: Whether the entry allows or denies the operations.
        type: str
        default: allow
        choices: [allow, deny]
      role:
        description:
          - A shortcut for the operations an application needs.
          - C(producer) grants C(write) and C(describe) on the topic O(acls[].resource_name),
            plus C(write) and C(describe) on O(acls[].transactional_id) when given. It grants no
            C(create), because topics are created by M(hackathon_todo.deploy.redpanda_topic).
          - C(consumer) grants C(read) and C(describe) on the topic and C(read) on the consumer
            group O(acls[].group), which is required.
          - These are the sets of C(kafka-acls.sh --producer/--consumer) without C(create).
        type: str
        choices: [producer, consumer]
      group:
        description:
          - Consumer group name (or prefix, see O(acls[].group_pattern_type)) for a C(consumer)
            O(acls[].role).
        type: str
      group_pattern_type:
        description:
          - Pattern of O(acls[].group) and O(acls[].transactional_id). Defaults to
            O(acls[].pattern_type).
        type: str
        choices: [literal, prefixed]
      transactional_id:
        description: Transactional ID (or prefix) a C(producer) O(acls[].role) may use.
        type: str
      state:
        description: Whether the ACLs of this entry should exist.
        type: str
        default: present
        choices: [present, absent]
  exclusive:
    description:
      - Remove every ACL of the principals named in O(acls) that the list does not declare.
      - ACLs of other principals are never touched.
    type: bool
    default: false
seealso:
  - module: hackathon_todo.deploy.redpanda_info
  - module: hackathon_todo.deploy.redpanda_user
"""

EXAMPLES = r"""
- name: Least privilege for the staging app, and nothing else for it
  hackathon_todo.deploy.redpanda_acl:
    bootstrap_servers: "{{ redpanda_bootstrap_servers }}"
    sasl_username: "{{ redpanda_admin_user }}"
    sasl_password: "{{ redpanda_admin_password }}"
    exclusive: true
    acls:
      - principal: User:staging-todo-app
        role: producer
        resource_name: staging-
        pattern_type: prefixed
      - principal: User:staging-todo-app
        role: consumer
        resource_name: staging-
        pattern_type: prefixed
        group: staging-

- name: Explicit entries with several operations
  hackathon_todo.deploy.redpanda_acl:
    acls:
      - principal: User:auditor
        resource_type: topic
        resource_name: "*"
        operations: [describe, describe_configs]
      - principal: User:auditor
        resource_type: cluster
        operations: [describe]
      - principal: User:intern
        resource_type: topic
        resource_name: task-events
        operations: [write]
        permission: deny

- name: Remove one ACL
  hackathon_todo.deploy.redpanda_acl:
    acls:
      - principal: User:intern
        resource_type: topic
        resource_name: task-events
        operations: [write]
        permission: deny
        state: absent
"""

RETURN = r"""
created:
  description: ACLs that were created (or would be, in check mode), one per operation.
  returned: always
  type: list
  elements: dict
  sample:
    - principal: User:staging-todo-app
      host: '*'
      resource_type: topic
      resource_name: staging-
      pattern_type: prefixed
      operation: write
      permission: allow
deleted:
  description: ACLs that were deleted (or would be, in check mode). Same fields as RV(created).
  returned: always
  type: list
  elements: dict
unchanged:
  description: Number of declared ACLs that already existed.
  returned: always
  type: int
  sample: 5
requests:
  description: Requests sent to the cluster, by API, and their total.
  returned: always
  type: dict
  sample: {by_api: {DescribeAcls: 1, CreateAcls: 1}, total: 2}
diff:
  description: The ACLs of the principals named in the task, before and after, grouped by principal.
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda import RedpandaModule
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_plan import (
    OPERATIONS,
    PATTERN_TYPES,
    PERMISSIONS,
    RESOURCE_TYPES,
    RedpandaError,
    acl_diff,
    acl_key_dict,
    acl_principals,
    expand_acl_entries,
    plan_acls,
)


def main():
    module = RedpandaModule(
        argument_spec=dict(
            acls=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    principal=dict(type="str", required=True),
                    host=dict(type="str", default="*"),
                    resource_type=dict(type="str", choices=RESOURCE_TYPES),
                    resource_name=dict(type="str"),
                    pattern_type=dict(type="str", default="literal", choices=PATTERN_TYPES),
                    operations=dict(type="list", elements="str", choices=OPERATIONS),
                    permission=dict(type="str", default="allow", choices=PERMISSIONS),
                    role=dict(type="str", choices=["producer", "consumer"]),
                    group=dict(type="str"),
                    group_pattern_type=dict(type="str", choices=PATTERN_TYPES),
                    transactional_id=dict(type="str"),
                    state=dict(type="str", default="present", choices=["present", "absent"]),
                ),
            ),
            exclusive=dict(type="bool", default=False),
        ),
    )
    present, absent, errors = expand_acl_entries(module.params["acls"])
    if errors:
        module.fail_json(msg="nothing was changed: " + "; ".join(errors), changed=False)

    principals = acl_principals(present, absent)
    try:
        kafka = module.kafka
        # ONE DescribeAcls: narrowed to the principal when the task names only one.
        current = kafka.describe_acls(principal=principals[0] if len(principals) == 1 else None)
        if not current and not kafka.require_cluster_operation("describe", "read ACLs"):
            # Apache Kafka answers an unauthorised DescribeAcls with an empty list (as seen
            # through librdkafka), so an empty answer alone does not prove there are no ACLs.
            module.warn(
                "the broker does not report whether %r may read ACLs; if it may not, existing "
                "ACLs are invisible to this task" % module.params["sasl_username"]
            )
        planned = plan_acls(present, absent, current, exclusive=module.params["exclusive"])
        sending = planned.to_send(module.check_mode)
        kafka.create_acls([key for c, key in sending if c["action"] == "create"])  # ONE CreateAcls
        kafka.delete_acls([key for c, key in sending if c["action"] == "delete"])  # ONE DeleteAcls
    except RedpandaError as exc:
        module.fail_redpanda(exc, changed=False)

    module.exit_redpanda(
        **planned.result(
            module._diff,
            lambda: acl_diff(planned, current, principals),
            key=None,
            created=[acl_key_dict(k) for k in planned.select("create").requests],
            deleted=[acl_key_dict(k) for k in planned.select("delete").requests],
            unchanged=len(planned.select("none").changes),
        )
    )


if __name__ == "__main__":
    main()
