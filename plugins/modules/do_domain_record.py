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
    - What the run changed (or, in check mode, would change). C(op) is C(create), C(update),
      C(delete) or C(report) (another record with a declared type and name, left alone).
  returned: always
  type: list
  elements: dict
  sample:
    - op: update
      type: A
      name: todo
      id: 28448433
      before: {data: 203.0.113.9}
      after: {data: 203.0.113.10}
"""

import ipaddress

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._digitalocean import (
    DigitalOceanClient,
    DigitalOceanError,
    digitalocean_argument_spec,
)

OPTIONAL_FIELDS = ("ttl", "priority", "port", "weight", "flags", "tag")
HOSTNAME_TYPES = ("CNAME", "MX", "NS", "SRV")


class PlanError(ValueError):
    pass


def relative_name(name, domain):
    """'todo.example.com.' -> 'todo'; 'example.com' -> '@'; 'todo' -> 'todo'."""
    name = (name or "").strip().rstrip(".").lower()
    domain = domain.strip().rstrip(".").lower()
    if not name:
        raise PlanError("A record name is empty: use @ for the domain itself.")
    if name in ("@", domain):
        return "@"
    if name.endswith("." + domain):
        return name[: -len(domain) - 1]
    return name


def same_data(rtype, left, right):
    if left is None or right is None:
        return left == right
    if rtype in ("A", "AAAA"):
        try:
            return ipaddress.ip_address(left) == ipaddress.ip_address(right)
        except ValueError:
            return left == right
    if rtype in HOSTNAME_TYPES:
        return left.rstrip(".").lower() == right.rstrip(".").lower()
    return left == right


def view(record):
    out = dict(
        id=record.get("id"),
        type=record.get("type"),
        name=record.get("name"),
        data=record.get("data"),
    )
    for field in OPTIONAL_FIELDS:
        if record.get(field) is not None:
            out[field] = record[field]
    return out


def field_differences(declared, existing):
    """Fields of an existing record that differ from the declaration (undeclared ones are kept)."""
    before, after = {}, {}
    if not same_data(declared["type"], declared["data"], existing.get("data")):
        before["data"], after["data"] = existing.get("data"), declared["data"]
    for field in OPTIONAL_FIELDS:
        if declared.get(field) is not None and declared[field] != existing.get(field):
            before[field], after[field] = existing.get(field), declared[field]
    return before, after


def plan(domain, declared, existing):
    """Compute every change first: ([(change, request)], resulting records). Raises PlanError for
    an ambiguous declaration, before anything is sent."""
    groups = {}
    for record in declared:
        rtype = record["type"]
        name = relative_name(record["name"], domain)
        if record["state"] == "present" and record.get("data") is None:
            raise PlanError("Record %s %s needs data (or state: absent)." % (rtype, name))
        entry = dict(record, name=name)
        groups.setdefault((rtype, name), []).append(entry)
    by_key = {}
    for record in existing:
        by_key.setdefault((record.get("type"), (record.get("name") or "").lower()), []).append(
            record
        )

    steps = []
    results = []
    problems = []
    path = "/domains/%s/records" % domain
    for (rtype, name), entries in sorted(groups.items()):
        current = list(by_key.get((rtype, name), []))
        present = [e for e in entries if e["state"] == "present"]
        absent = [e for e in entries if e["state"] == "absent"]
        if any(e.get("data") is None for e in absent) and present:
            problems.append(
                "%s %s is declared both present and absent (without data)." % (rtype, name)
            )
            continue
        kept = []
        unmatched = []
        for want in present:
            match = [
                r
                for r in current
                if r not in kept and same_data(rtype, r.get("data"), want["data"])
            ]
            if match:
                kept.append(match[0])
                before, after = field_differences(want, match[0])
                if after:
                    steps.append(_update(path, rtype, name, want, match[0], before, after))
                results.append(dict(view(match[0]), **after))
            else:
                unmatched.append(want)
        spare = [r for r in current if r not in kept]
        for want in unmatched:
            if len(present) == 1 and len(spare) == 1 and not absent:
                target = spare.pop()
                kept.append(target)
                before, after = field_differences(want, target)
                steps.append(_update(path, rtype, name, want, target, before, after))
                results.append(dict(view(target), **after))
            elif len(present) == 1 and len(spare) > 1 and not absent:
                problems.append(
                    "%d %s records named %s exist (data %s) and none has data %s: declare the ones "
                    "to remove with state: absent, so the module does not have to guess which to "
                    "replace."
                    % (
                        len(spare),
                        rtype,
                        name,
                        ", ".join(sorted(str(r.get("data")) for r in spare)),
                        want["data"],
                    )
                )
            else:
                body = dict(type=rtype, name=name, data=want["data"])
                for field in OPTIONAL_FIELDS:
                    if want.get(field) is not None:
                        body[field] = want[field]
                steps.append(
                    (
                        dict(
                            op="create",
                            type=rtype,
                            name=name,
                            after=dict(
                                (k, v) for k, v in body.items() if k not in ("type", "name")
                            ),
                        ),
                        ("POST", path, body),
                    )
                )
                results.append(dict(dict(id=None), **body))
        for gone in absent:
            doomed = [
                r
                for r in spare
                if gone.get("data") is None or same_data(rtype, r.get("data"), gone["data"])
            ]
            for record in doomed:
                spare.remove(record)
                steps.append(
                    (
                        dict(
                            op="delete",
                            type=rtype,
                            name=name,
                            id=record.get("id"),
                            before=dict(data=record.get("data"), ttl=record.get("ttl")),
                        ),
                        ("DELETE", "%s/%s" % (path, record.get("id")), None),
                    )
                )
        for record in spare:
            steps.append(
                (
                    dict(
                        op="report",
                        type=rtype,
                        name=name,
                        id=record.get("id"),
                        data=record.get("data"),
                        reason="another %s record with this name; left alone (declare it "
                        "with state: absent to remove it)" % rtype,
                    ),
                    None,
                )
            )
    if problems:
        raise PlanError(" ".join(problems) + " Nothing was changed.")
    return steps, results


def _update(path, rtype, name, want, record, before, after):
    body = dict(type=rtype, name=name, data=want["data"])
    for field in OPTIONAL_FIELDS:
        value = want.get(field) if want.get(field) is not None else record.get(field)
        if value is not None:
            body[field] = value
    return (
        dict(op="update", type=rtype, name=name, id=record.get("id"), before=before, after=after),
        ("PUT", "%s/%s" % (path, record.get("id")), body),
    )


def apply_changes(records, changes):
    """The records after the changes (for the diff; works in check mode, without new IDs)."""
    out = dict((r.get("id"), dict(r)) for r in records)
    for change in changes:
        if change["op"] == "update" and change.get("id") in out:
            out[change["id"]].update(change["after"])
        elif change["op"] == "delete":
            out.pop(change.get("id"), None)
    created = [
        dict(change["after"], type=change["type"], name=change["name"])
        for change in changes
        if change["op"] == "create"
    ]
    return list(out.values()) + created


def diff_view(records):
    return sorted(
        [
            "%s %s %s%s"
            % (
                r.get("type"),
                r.get("name"),
                r.get("data"),
                " ttl=%s" % r["ttl"] if r.get("ttl") is not None else "",
            )
            for r in records
        ]
    )


def main():
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
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    domain = module.params["domain"].strip().rstrip(".").lower()
    client = DigitalOceanClient.from_module(module)
    changes = []
    done = []
    try:
        try:
            existing = client.list_all("/domains/%s/records" % domain, "domain_records")
        except DigitalOceanError as exc:
            if exc.status == 404:
                module.fail_json(
                    msg="The domain %s is not in DigitalOcean Domains for this token (404): add "
                    "it first (Networking > Domains, or POST /v2/domains), and point its name "
                    "servers at ns1/ns2/ns3.digitalocean.com." % domain,
                    **exc.to_result(),
                )
            raise
        try:
            steps, results = plan(domain, module.params["records"], existing)
        except PlanError as exc:
            module.fail_json(msg=to_native(exc))
        declared_keys = set((s[0]["type"], s[0]["name"]) for s in steps)
        declared_keys.update(
            (r["type"], relative_name(r["name"], domain)) for r in module.params["records"]
        )
        before = [
            view(r)
            for r in existing
            if (r.get("type"), (r.get("name") or "").lower()) in declared_keys
        ]
        for change, request in steps:
            changes.append(change)
            if request is None or module.check_mode:
                continue
            method, path, body = request
            answer = client.request(method, path, body=body)
            done.append(change)
            if method == "POST":
                created = (answer or {}).get("domain_record") or {}
                for record in results:
                    if (
                        record.get("id") is None
                        and record["type"] == created.get("type")
                        and record["name"] == created.get("name")
                        and record["data"] == created.get("data")
                    ):
                        record["id"] = created.get("id")
                        break
    except DigitalOceanError as exc:
        module.fail_json(msg=to_native(exc), changed=bool(done), changes=changes, **exc.to_result())
    changed = any(c["op"] != "report" for c in changes)
    result = dict(changed=changed, changes=changes, records=results)
    if module._diff:
        result["diff"] = dict(
            before="\n".join(diff_view(before)) + "\n",
            after="\n".join(diff_view(apply_changes(before, changes))) + "\n",
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
