# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What do_domain_record does to a domain's records, planned as plain data before anything is sent.

``plan(domain, declared, existing)`` takes the task's records and the domain's records as the
API lists them, and returns ``(changes, records)``:

* ``changes``: a ChangeSet (``_changes``) in order. Each change is one item of the module's
  RV(changes) (``action`` create, update, delete, or none with a ``reason``: another record
  with a declared type and name, left alone); its request is ``(method, path, body)``, to send
  unless in check mode (None for a ``none``).
* ``records``: the declared present records as they are after the run (``id`` None for a record
  still to be created; ``created_id`` fills it in from the API's answer).

It raises PlanError for a declaration it cannot carry out, before anything is sent.
``records_diff`` gives the before and after text of the records concerned. No I/O here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._changes import ChangeSet

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
    """Compute every change first: (ChangeSet, resulting records). Raises PlanError for an
    ambiguous declaration, before anything is sent."""
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
        by_key.setdefault(record_key(record), []).append(record)

    changes = ChangeSet()
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
        spare = _plan_present(
            path, rtype, name, present, absent, current, changes, results, problems
        )
        _plan_absent(path, rtype, name, absent, spare, changes)
        for record in spare:
            changes.add(
                "none",
                type=rtype,
                name=name,
                id=record.get("id"),
                data=record.get("data"),
                reason="another %s record with this name; left alone (declare it "
                "with state: absent to remove it)" % rtype,
            )
    if problems:
        raise PlanError(" ".join(problems) + " Nothing was changed.")
    return changes, results


def record_key(record):
    """(type, name) of a record as the API lists it (names compared in lower case)."""
    return record.get("type"), (record.get("name") or "").lower()


def _plan_present(path, rtype, name, present, absent, current, changes, results, problems):
    """Match the declared present records of one type and name with the current ones (by data,
    or the only one in place); the current records left over."""
    kept = []
    unmatched = []
    for want in present:
        match = [
            r for r in current if r not in kept and same_data(rtype, r.get("data"), want["data"])
        ]
        if match:
            kept.append(match[0])
            before, after = field_differences(want, match[0])
            if after:
                _update(changes, path, rtype, name, want, match[0], before, after)
            results.append(dict(view(match[0]), **after))
        else:
            unmatched.append(want)
    spare = [r for r in current if r not in kept]
    for want in unmatched:
        if len(present) == 1 and len(spare) == 1 and not absent:
            target = spare.pop()
            kept.append(target)
            before, after = field_differences(want, target)
            _update(changes, path, rtype, name, want, target, before, after)
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
            after = dict((k, v) for k, v in body.items() if k not in ("type", "name"))
            changes.add("create", request=("POST", path, body), type=rtype, name=name, after=after)
            results.append(dict(dict(id=None), **body))
    return spare


def _plan_absent(path, rtype, name, absent, spare, changes):
    """Delete the spare records that a declared absent record names (all without data)."""
    for gone in absent:
        doomed = [
            r
            for r in spare
            if gone.get("data") is None or same_data(rtype, r.get("data"), gone["data"])
        ]
        for record in doomed:
            spare.remove(record)
            changes.add(
                "delete",
                request=("DELETE", "%s/%s" % (path, record.get("id")), None),
                type=rtype,
                name=name,
                id=record.get("id"),
                before=dict(data=record.get("data"), ttl=record.get("ttl")),
            )


def _update(changes, path, rtype, name, want, record, before, after):
    body = dict(type=rtype, name=name, data=want["data"])
    for field in OPTIONAL_FIELDS:
        value = want.get(field) if want.get(field) is not None else record.get(field)
        if value is not None:
            body[field] = value
    changes.add(
        "update",
        request=("PUT", "%s/%s" % (path, record.get("id")), body),
        type=rtype,
        name=name,
        id=record.get("id"),
        before=before,
        after=after,
    )


def note_created(records, created):
    """Give the planned record that a POST created (``created``, the API's answer) its new id."""
    for record in records:
        if (
            record.get("id") is None
            and record["type"] == created.get("type")
            and record["name"] == created.get("name")
            and record["data"] == created.get("data")
        ):
            record["id"] = created.get("id")
            return


def records_diff(domain, declared, existing, changes):
    """Before and after text of the records with a declared type and name (one line each)."""
    keys = set((c["type"], c["name"]) for c in changes)
    keys.update((r["type"], relative_name(r["name"], domain)) for r in declared)
    before = [view(r) for r in existing if record_key(r) in keys]
    return dict(
        before="\n".join(diff_view(before)) + "\n",
        after="\n".join(diff_view(apply_changes(before, changes))) + "\n",
    )


def apply_changes(records, changes):
    """The records after the changes (for the diff; works in check mode, without new IDs)."""
    out = dict((r.get("id"), dict(r)) for r in records)
    for change in changes:
        if change["action"] == "update" and change.get("id") in out:
            out[change["id"]].update(change["after"])
        elif change["action"] == "delete":
            out.pop(change.get("id"), None)
    created = [
        dict(change["after"], type=change["type"], name=change["name"])
        for change in changes
        if change["action"] == "create"
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
