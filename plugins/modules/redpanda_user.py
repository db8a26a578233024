#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: redpanda_user
short_description: Manage SCRAM users (service accounts) of Redpanda, Redpanda Cloud or Kafka
description:
  - Creates, updates and deletes SASL/SCRAM users, such as the service accounts applications use
    to connect.
  - One interface, three backends (O(backend)). C(kafka) speaks the Kafka protocol (KIP-554,
    implemented by Apache Kafka, not by Redpanda); C(admin_api) uses the Admin API of a
    self-hosted Redpanda cluster; C(cloud) uses the Data Plane API of a Redpanda Cloud cluster.
  - Passwords cannot be read back from any backend. With O(update_password=on_create) (the
    default) the password of an existing user is left alone, so a second run reports no change.
    With O(update_password=always) the module logs in as the user over the Kafka protocol to
    check the password (when O(bootstrap_servers) is set and the protocol uses SASL) and changes
    nothing if it works; without that check it sets the password on every run and reports a
    change.
  - Redpanda keeps one SCRAM credential per user, so the C(admin_api) and C(cloud) backends
    refuse a user with two mechanisms. Changing the mechanism there sets the password too.
  - The C(admin_api) backend lists user names only, so it cannot see a user's mechanism.
author:
  - hackathon-todo platform team (@hackathon-todo)
version_added: 0.1.0
extends_documentation_fragment:
  - hackathon_todo.deploy.attributes
  - hackathon_todo.deploy.redpanda
  - hackathon_todo.deploy.redpanda.user_backends
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Passwords never appear in the diff; it says whether the task sets one.
  idempotent:
    support: partial
    details:
      - Full with O(update_password=on_create).
      - With O(update_password=always), only when the password can be checked by logging in (see
        the description); otherwise every run sets the password and reports a change.
options:
  name:
    description: Name of one user. Use O(users) for several.
    type: str
  password:
    description:
      - Password of O(name). Required when O(state=present). Never logged or returned.
    type: str
  users:
    description:
      - Several users. O(mechanisms), O(iterations) and O(state) given at the top level are
        defaults for every entry.
    type: list
    elements: dict
    suboptions:
      name:
        description: User name.
        type: str
        required: true
      password:
        description: Password. Required when the user's state is C(present).
        type: str
      mechanisms:
        description: SCRAM mechanisms of the user; see the top-level O(mechanisms).
        type: list
        elements: str
        choices: [SCRAM-SHA-256, SCRAM-SHA-512]
        aliases: [mechanism]
      iterations:
        description: SCRAM iterations (O(backend=kafka) only).
        type: int
      state:
        description: Whether the user should exist.
        type: str
        choices: [present, absent]
  mechanisms:
    description:
      - SCRAM mechanisms the user can log in with.
      - O(backend=kafka) (Apache Kafka) can keep both; Redpanda (C(admin_api), C(cloud)) keeps
        exactly one.
    type: list
    elements: str
    default: [SCRAM-SHA-256]
    choices: [SCRAM-SHA-256, SCRAM-SHA-512]
    aliases: [mechanism]
  iterations:
    description:
      - SCRAM iterations of new credentials (O(backend=kafka) only; Redpanda chooses its own).
      - An existing user's iterations are changed only with O(update_password=always).
    type: int
    default: 4096
  state:
    description: Whether the user(s) should exist.
    type: str
    default: present
    choices: [present, absent]
  update_password:
    description:
      - C(on_create) sets the password only when the user is created.
      - C(always) makes the password match O(password) on every run (see the description for
        how it is checked).
    type: str
    default: on_create
    choices: [on_create, always]
seealso:
  - module: hackathon_todo.deploy.redpanda_acl
  - module: hackathon_todo.deploy.redpanda_info
"""

EXAMPLES = r"""
- name: Service accounts on Redpanda Cloud (serverless)
  hackathon_todo.deploy.redpanda_user:
    backend: cloud
    cloud_client_id: "{{ redpanda_cloud_client_id }}"
    cloud_client_secret: "{{ redpanda_cloud_client_secret }}"
    cloud_cluster_id: "{{ redpanda_cluster_id }}"
    mechanism: SCRAM-SHA-256
    users:
      - name: production-todo-app
        password: "{{ vault_production_redpanda_password }}"
      - name: staging-todo-app
        password: "{{ vault_staging_redpanda_password }}"

- name: A user on a self-hosted Redpanda cluster
  hackathon_todo.deploy.redpanda_user:
    backend: admin_api
    admin_api_url: http://redpanda-0.redpanda.redpanda.svc:9644
    admin_api_username: admin
    admin_api_password: "{{ redpanda_admin_password }}"
    name: reporting
    password: "{{ vault_reporting_password }}"

- name: Rotate a password on Apache Kafka (checked by logging in; unchanged if it works)
  hackathon_todo.deploy.redpanda_user:
    bootstrap_servers: kafka-1:9092
    sasl_username: admin
    sasl_password: "{{ kafka_admin_password }}"
    name: reporting
    password: "{{ vault_reporting_password_v2 }}"
    mechanisms: [SCRAM-SHA-256, SCRAM-SHA-512]
    update_password: always

- name: Remove a user
  hackathon_todo.deploy.redpanda_user:
    backend: cloud
    cloud_client_id: "{{ redpanda_cloud_client_id }}"
    cloud_client_secret: "{{ redpanda_cloud_client_secret }}"
    cloud_cluster_id: "{{ redpanda_cluster_id }}"
    name: old-app
    state: absent
"""

RETURN = r"""
users:
  description:
    - One entry per declared user, in the order declared. Never contains passwords.
    - C(action) is C(create), C(update), C(delete) or C(none); C(before) and C(after) are the
      user's mechanisms (C(null) when the user does not exist or the backend cannot tell);
      C(password_set) says whether the task sets the password; C(reasons) says why.
  returned: always
  type: list
  elements: dict
  sample:
    - name: staging-todo-app
      action: create
      before: null
      after: [SCRAM-SHA-256]
      set_mechanisms: [SCRAM-SHA-256]
      delete_mechanisms: []
      password_set: true
      reasons: [user does not exist]
backend:
  description: The backend that was used.
  returned: always
  type: str
  sample: cloud
requests:
  description: Requests sent, by API (Kafka API or HTTP method and path), and their total.
  returned: always
  type: dict
  sample: {by_api: {"Redpanda Cloud Data Plane API GET /v1/users": 1}, total: 3}
diff:
  description: Mechanisms and whether a password is set, before and after, per changed user.
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda import RedpandaModule
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_plan import (
    SCRAM_MECHANISMS,
    RedpandaError,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_user_plan import (
    plan_users,
    user_diff,
)


def desired_users(params):
    defaults = dict(
        mechanisms=params["mechanisms"], iterations=params["iterations"], state=params["state"]
    )
    if params["name"] is not None:
        entries = [dict(name=params["name"], password=params["password"])]
    else:
        entries = params["users"]
    out, passwords = [], {}
    for entry in entries:
        spec = dict(defaults)
        spec.update((k, v) for k, v in entry.items() if v is not None and k != "password")
        spec["has_password"] = entry.get("password") is not None
        if spec["has_password"]:
            passwords[entry["name"]] = entry["password"]
        out.append(spec)
    return out, passwords


def check_passwords(module, desired, current, passwords):
    """name -> True/False when the password could be checked by a SCRAM login, else absent."""
    if module.params["update_password"] != "always":  # noqa: S105
        return {}
    if module.params["backend"] != "kafka" and not module.can_check_passwords():
        return {}
    result = {}
    for spec in desired:
        name = spec["name"]
        have = current.get(name)
        if spec["state"] != "present" or have is None or name not in passwords:
            continue
        known = have.get("mechanisms")
        mechs = [m for m in spec["mechanisms"] if known is None or m in known]
        if known is None:
            mechs = mechs[:1]
        if not mechs:
            continue
        result[name] = all(module.kafka.scram_login_works(name, passwords[name], m) for m in mechs)
    return result


def main():
    module = RedpandaModule(
        user_backends=True,
        argument_spec=dict(
            name=dict(type="str"),
            password=dict(type="str", no_log=True),
            users=dict(
                type="list",
                elements="dict",
                options=dict(
                    name=dict(type="str", required=True),
                    password=dict(type="str", no_log=True),
                    mechanisms=dict(
                        type="list", elements="str", choices=SCRAM_MECHANISMS, aliases=["mechanism"]
                    ),
                    iterations=dict(type="int"),
                    state=dict(type="str", choices=["present", "absent"]),
                ),
            ),
            mechanisms=dict(
                type="list",
                elements="str",
                default=["SCRAM-SHA-256"],
                choices=SCRAM_MECHANISMS,
                aliases=["mechanism"],
            ),
            iterations=dict(type="int", default=4096),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            update_password=dict(
                type="str", default="on_create", choices=["on_create", "always"], no_log=False
            ),
        ),
        mutually_exclusive=[("name", "users"), ("password", "users")],
        required_one_of=[("name", "users")],
    )
    desired, passwords = desired_users(module.params)
    try:
        backend = module.user_backend()
        # Refuse what the backend cannot store before anything is sent.
        _changes, errors = plan_users(desired, {}, single_mechanism=backend.single_mechanism)
        if errors:
            module.fail_json(msg="nothing was changed: " + "; ".join(errors), changed=False)
        current = backend.list_users()
        password_ok = check_passwords(module, desired, current, passwords)
        planned, errors = plan_users(
            desired,
            current,
            module.params["update_password"],
            password_ok,
            single_mechanism=backend.single_mechanism,
        )
        if errors:
            module.fail_json(
                msg="nothing was changed: " + "; ".join(errors),
                changed=False,
                requests=module.counter.result(),
            )
        todo = planned.select("create", "update", "delete").changes
        if todo and not module.check_mode:
            backend.apply(todo, passwords, dict((s["name"], s.get("iterations")) for s in desired))
    except RedpandaError as exc:
        module.fail_redpanda(exc, changed=False, backend=module.params["backend"])

    module.exit_redpanda(
        **planned.result(
            module._diff,
            lambda: user_diff(planned.changes),
            key="users",
            backend=module.params["backend"],
        )
    )


if __name__ == "__main__":
    main()
