#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: redpanda_info
short_description: Read topics (with configs), ACLs and users of a Redpanda / Kafka cluster
description:
  - Returns the topics of a cluster with partitions, replication factor and configs, its ACLs
    (optionally filtered by principal, resource and more) and its SCRAM users.
  - Each kind of information costs one request (users through an HTTP backend may need more, one
    per page).
author:
  - hackathon-todo platform team (@hackathon-todo)
version_added: 0.1.0
extends_documentation_fragment:
  - hackathon_todo.deploy.attributes
  - hackathon_todo.deploy.attributes.info_module
  - hackathon_todo.deploy.redpanda
  - hackathon_todo.deploy.redpanda.user_backends
options:
  gather:
    description:
      - What to read. C(users) is not read by default because the default O(backend=kafka) does
        not work against Redpanda (use O(backend=admin_api) or O(backend=cloud) there).
    type: list
    elements: str
    default: [topics, acls]
    choices: [topics, acls, users]
  topics:
    description:
      - Names of the topics to describe. Empty means all (see O(include_internal)).
    type: list
    elements: str
    default: []
  include_internal:
    description: Include internal topics such as C(__consumer_offsets).
    type: bool
    default: false
  include_default_configs:
    description:
      - Return every config of each topic. By default only configs set on the topic (overrides)
        are returned.
    type: bool
    default: false
  acl_filter:
    description:
      - Return only the ACLs that match all given fields. The filter is applied by the broker.
    type: dict
    default: {}
    suboptions:
      principal:
        description: Principal, C(User:name) (a bare name means C(User:name)).
        type: str
      host:
        description: Host.
        type: str
      resource_type:
        description: Resource type.
        type: str
        choices: [any, topic, group, transactional_id, cluster]
        default: any
      resource_name:
        description: Resource name.
        type: str
      pattern_type:
        description:
          - Pattern type. C(match) returns the ACLs that apply to O(acl_filter.resource_name),
            including prefixed and wildcard ones.
        type: str
        choices: [any, match, literal, prefixed]
        default: any
      operation:
        description: Operation.
        type: str
        choices: [any, all, read, write, create, delete, alter, describe, cluster_action,
                  describe_configs, alter_configs, idempotent_write]
        default: any
      permission:
        description: Permission.
        type: str
        choices: [any, allow, deny]
        default: any
seealso:
  - module: hackathon_todo.deploy.redpanda_topic
  - module: hackathon_todo.deploy.redpanda_acl
  - module: hackathon_todo.deploy.redpanda_user
"""

EXAMPLES = r"""
- name: What can the staging app do?
  hackathon_todo.deploy.redpanda_info:
    bootstrap_servers: "{{ redpanda_bootstrap_servers }}"
    sasl_username: "{{ redpanda_admin_user }}"
    sasl_password: "{{ redpanda_admin_password }}"
    gather: [acls]
    acl_filter:
      principal: User:staging-todo-app
  register: staging_acls

- name: Every topic with all its configs, and the Cloud users
  hackathon_todo.deploy.redpanda_info:
    gather: [topics, users]
    include_default_configs: true
    backend: cloud
    cloud_client_id: "{{ redpanda_cloud_client_id }}"
    cloud_client_secret: "{{ redpanda_cloud_client_secret }}"
    cloud_cluster_id: "{{ redpanda_cluster_id }}"
"""

RETURN = r"""
topics:
  description:
    - Topic name to partitions, replication factor, whether it is internal, and its configs
      (values of sensitive configs are C(null)).
  returned: when C(topics) is gathered
  type: dict
  sample:
    task-events:
      partitions: 3
      replication_factor: 3
      internal: false
      configs: {retention.ms: "604800000", cleanup.policy: delete}
acls:
  description: ACLs matching O(acl_filter), one per operation.
  returned: when C(acls) is gathered
  type: list
  elements: dict
  sample:
    - principal: User:staging-todo-app
      host: '*'
      resource_type: topic
      resource_name: staging-
      pattern_type: prefixed
      operation: read
      permission: allow
users:
  description:
    - SCRAM users with their mechanisms (C(null) when the backend cannot tell). Never passwords.
  returned: when C(users) is gathered
  type: list
  elements: dict
  sample:
    - name: staging-todo-app
      mechanisms: [SCRAM-SHA-256]
requests:
  description: Requests sent, by API, and their total.
  returned: always
  type: dict
  sample: {by_api: {Metadata: 1, DescribeConfigs: 1, DescribeAcls: 1}, total: 3}
"""

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda import RedpandaModule
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_plan import (
    OPERATIONS,
    RESOURCE_TYPES,
    RedpandaError,
    acl_key_dict,
    normalize_principal,
)


def gather_topics(module):
    kafka = module.kafka
    names = module.params["topics"] or kafka.list_topic_names()
    described = kafka.describe_topics(names)
    if not module.params["include_internal"]:
        described = dict(
            (n, d) for n, d in described.items() if not d["internal"] and not n.startswith("__")
        )
    configs = kafka.describe_topic_configs(sorted(described))
    out = {}
    for name, info in sorted(described.items()):
        cfg = configs.get(name, {})
        if not module.params["include_default_configs"]:
            cfg = dict((k, v) for k, v in cfg.items() if v["override"])
        info = dict(info)
        info["configs"] = dict((k, v["value"]) for k, v in sorted(cfg.items()))
        out[name] = info
    return out


def gather_acls(module):
    flt = module.params["acl_filter"] or {}
    keys = module.kafka.describe_acls(
        principal=normalize_principal(flt.get("principal")) or None,
        host=flt.get("host"),
        resource_type=flt.get("resource_type"),
        resource_name=flt.get("resource_name"),
        pattern_type=flt.get("pattern_type"),
        operation=flt.get("operation"),
        permission=flt.get("permission"),
    )
    if not keys and not module.kafka.require_cluster_operation("describe", "read ACLs"):
        # An unauthorised DescribeAcls comes back as an empty list: say so rather than imply
        # that there are no ACLs.
        module.warn(
            "the broker does not report whether %r may read ACLs; if it may not, the list is "
            "empty for that reason" % module.params["sasl_username"]
        )
    return [acl_key_dict(k) for k in keys]


def gather_users(module):
    users = module.user_backend().list_users()
    return [
        dict(
            name=name,
            mechanisms=sorted(info["mechanisms"]) if info.get("mechanisms") is not None else None,
        )
        for name, info in sorted(users.items())
    ]


def main():
    module = RedpandaModule(
        user_backends=True,
        argument_spec=dict(
            gather=dict(
                type="list",
                elements="str",
                default=["topics", "acls"],
                choices=["topics", "acls", "users"],
            ),
            topics=dict(type="list", elements="str", default=[]),
            include_internal=dict(type="bool", default=False),
            include_default_configs=dict(type="bool", default=False),
            acl_filter=dict(
                type="dict",
                default={},
                options=dict(
                    principal=dict(type="str"),
                    host=dict(type="str"),
                    resource_type=dict(type="str", default="any", choices=["any", *RESOURCE_TYPES]),
                    resource_name=dict(type="str"),
                    pattern_type=dict(
                        type="str", default="any", choices=["any", "match", "literal", "prefixed"]
                    ),
                    operation=dict(type="str", default="any", choices=["any", *OPERATIONS]),
                    permission=dict(type="str", default="any", choices=["any", "allow", "deny"]),
                ),
            ),
        ),
    )
    result = dict(changed=False)
    try:
        if "topics" in module.params["gather"]:
            result["topics"] = gather_topics(module)
        if "acls" in module.params["gather"]:
            result["acls"] = gather_acls(module)
        if "users" in module.params["gather"]:
            result["users"] = gather_users(module)
    except RedpandaError as exc:
        module.fail_redpanda(exc, changed=False)
    module.exit_redpanda(**result)


if __name__ == "__main__":
    main()
