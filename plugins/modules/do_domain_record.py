#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: do_domain_record
short_description: Manage DNS records of a DigitalOcean domain declaratively
description:
  - Makes the listed DNS records of a domain hosted by DigitalOcean Domains present (created, or
    updated in place) or absent.
  - Records are matched by type and name. When one value is declared for a type and name and
    exactly one record exists, that record is updated in place (C(PUT)), so its ID stays. When
    several values are declared for the same type and name, each is matched by its data.
  - Records of the domain that the task does not mention are never touched. Other records with a
    declared type and name are reported, not deleted; declare them with O(records[].state=absent)
    to remove them.
  - The domain's records are read with one paginated list request, whatever the number of
    records declared; then one request per record that changes.
author:
  - hackathon-todo platform team (@hackathon-todo)
version_added: 0.1.0
extends_documentation_fragment:
  - hackathon_todo.deploy.attributes
  - hackathon_todo.deploy.digitalocean
attributes:
  check_mode:
    support: full
    details: Only the list request is sent; the result lists the changes a real run would make.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  domain:
    description:
      - The domain, as added to DigitalOcean Domains, for example C(example.com).
    type: str
    required: true
  records:
    description:
      - The records to manage.
    type: list
    elements: dict
    required: true
    suboptions:
      type:
        description: Record type.
        type: str
        required: true
        choices: [A, AAAA, CAA, CNAME, MX, NS, SRV, TXT]
      name:
        description:
          - Host name relative to O(domain) (C(todo), C(staging.todo)), C(@) for the domain
            itself, or the fully qualified name (C(todo.example.com), with or without the final
            dot).
        type: str
        required: true
      data:
        description:
          - Value of the record (the IPv4 address of an A record, the target host of a CNAME,
            ...). Required with O(records[].state=present).
          - With O(records[].state=absent) and no data, every record of that type and name is
            deleted.
        type: str
      ttl:
        description:
          - Time to live in seconds (DigitalOcean accepts 30 or more). Unset means "not managed";
            new records then get DigitalOcean's default, 1800.
        type: int
      priority:
        description: Priority of MX and SRV records.
        type: int
      port:
        description: Port of SRV records.
        type: int
      weight:
        description: Weight of SRV records.
        type: int
      flags:
        description: Flags of CAA records (0-255).
        type: int
      tag:
        description: Tag of CAA records.
        type: str
        choices: [issue, issuewild, iodef]
      state:
        description: Whether the record should exist.
        type: str
        default: present
        choices: [present, absent]
notes:
  - Why not M(community.digitalocean.digital_ocean_domain_record) 1.27.0 - it has no option to
    point it at another API endpoint and does not support check mode.
seealso:
  - module: hackathon_todo.deploy.doks_cluster
  - name: DigitalOcean API reference, Domain Records
    description: The endpoints this module uses.
    link: https://docs.digitalocean.com/reference/api/digitalocean/#tag/Domain-Records
"""

EXAMPLES = r"""
- name: Point todo and staging.todo at the ingress load balancer
  hackathon_todo.deploy.do_domain_record:
    domain: "{{ domain }}"
    records:
      - {type: A, name: todo, data: "{{ ingress_ip }}", ttl: 300}
      - {type: A, name: staging.todo, data: "{{ ingress_ip }}", ttl: 300}
    token: "{{ do_token }}"

- name: Remove an old record
  hackathon_todo.deploy.do_domain_record:
    domain: example.com
    records:
      - {type: A, name: old, state: absent}
"""

RETURN = r"""
records:
  description: The declared present records as they are after the run (in check mode, as planned).
  returned: success
  type: list
  elements: dict
  sample:
    - {id: 28448433, type: A, name: todo, data: 203.0.113.10, ttl: 300}
changes:
  description:
    - What the run changed (or, in check mode, would change). C(action) is C(create), C(update),
      C(delete) or C(none) (another record with a declared type and name, left alone; its
      C(reason) says so).
  returned: always
  type: list
  elements: dict
  sample:
    - action: update
      type: A
      name: todo
      id: 28448433
      before: {data: 203.0.113.9}
      after: {data: 203.0.113.10}
    - action: none
      type: A
      name: todo
      id: 28448434
      data: 198.51.100.7
      reason: "another A record with this name; left alone (declare it with state: absent to remove it)"
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._changes import ChangeSet
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._digitalocean import (
    DigitalOceanClient,
    DigitalOceanError,
    digitalocean_argument_spec,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._domain_records import (
    PlanError,
    note_created,
    plan,
    records_diff,
)


def argument_spec():
    spec = digitalocean_argument_spec()
    spec.update(
        domain=dict(type="str", required=True),
        records=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                type=dict(
                    type="str",
                    required=True,
                    choices=["A", "AAAA", "CAA", "CNAME", "MX", "NS", "SRV", "TXT"],
                ),
                name=dict(type="str", required=True),
                data=dict(type="str"),
                ttl=dict(type="int"),
                priority=dict(type="int"),
                port=dict(type="int"),
                weight=dict(type="int"),
                flags=dict(type="int"),
                tag=dict(type="str", choices=["issue", "issuewild", "iodef"]),
                state=dict(type="str", default="present", choices=["present", "absent"]),
            ),
        ),
    )
    return spec


def read_records(module, client, domain):
    try:
        return client.list_all("/domains/%s/records" % domain, "domain_records")
    except DigitalOceanError as exc:
        if exc.status == 404:
            module.fail_json(
                msg="The domain %s is not in DigitalOcean Domains for this token (404): add "
                "it first (Networking > Domains, or POST /v2/domains), and point its name "
                "servers at ns1/ns2/ns3.digitalocean.com." % domain,
                **exc.to_result(),
            )
        raise


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    domain = module.params["domain"].strip().rstrip(".").lower()
    declared = module.params["records"]
    client = DigitalOceanClient.from_module(module)
    planned = ChangeSet()
    sending = None
    done = []
    try:
        existing = read_records(module, client, domain)
        try:
            planned, results = plan(domain, declared, existing)
        except PlanError as exc:
            module.fail_json(msg=to_native(exc))
        for sending, (method, path, body) in planned.to_send(module.check_mode):
            answer = client.request(method, path, body=body)
            done.append(sending)
            if method == "POST":
                note_created(results, (answer or {}).get("domain_record") or {})
    except DigitalOceanError as exc:
        module.fail_json(
            msg=to_native(exc),
            changed=bool(done),
            changes=planned.through(sending),
            **exc.to_result(),
        )
    module.exit_json(
        **planned.result(
            module._diff,
            lambda: records_diff(domain, declared, existing, planned.changes),
            records=results,
        )
    )


if __name__ == "__main__":
    main()
