# -*- coding: utf-8 -*-
# Copyright: (c) 2025, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The vocabulary of the redpanda_* modules and the pure planning functions for topics and ACLs.

``plan_topics`` and ``plan_acls`` compare what is declared with what exists and return the
changes as a ChangeSet (``_changes``); ``changed``, ``--diff`` and check mode are all derived
from that one plan, so they can never disagree. No I/O here: the Kafka clients (``_kafka_*``),
``_redpanda_users`` and the module base (``_redpanda``) build on this file, never the other way
round. Users are planned in ``_redpanda_user_plan``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import re

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._changes import ChangeSet


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

SECURITY_PROTOCOLS = ["SASL_SSL", "SASL_PLAINTEXT", "SSL", "PLAINTEXT"]
SASL_MECHANISMS = ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]
SCRAM_MECHANISMS = ["SCRAM-SHA-256", "SCRAM-SHA-512"]
USER_BACKENDS = ["kafka", "admin_api", "cloud"]

RESOURCE_TYPES = ["topic", "group", "transactional_id", "cluster"]
PATTERN_TYPES = ["literal", "prefixed"]
PERMISSIONS = ["allow", "deny"]
OPERATIONS = [
    "all",
    "read",
    "write",
    "create",
    "delete",
    "alter",
    "describe",
    "cluster_action",
    "describe_configs",
    "alter_configs",
    "idempotent_write",
]
CLUSTER_RESOURCE_NAME = "kafka-cluster"

# Which operations mean something on which resource (Apache Kafka's authorization table). Anything
# else is refused before a request is sent, so a typo cannot create a useless ACL.
VALID_OPERATIONS = {
    "topic": {
        "all",
        "read",
        "write",
        "create",
        "delete",
        "alter",
        "describe",
        "describe_configs",
        "alter_configs",
    },
    "group": {"all", "read", "describe", "delete"},
    "transactional_id": {"all", "write", "describe"},
    "cluster": {
        "all",
        "create",
        "alter",
        "describe",
        "cluster_action",
        "describe_configs",
        "alter_configs",
        "idempotent_write",
    },
}

# The `role` shortcuts of redpanda_acl. Documented in the module; kept minimal on purpose (a
# producer gets no CREATE: topics are created by redpanda_topic, not by applications).
ROLE_OPERATIONS = {
    "producer": (("topic", ("write", "describe")), ("transactional_id", ("write", "describe"))),
    "consumer": (("topic", ("read", "describe")), ("group", ("read",))),
}

TOPIC_NAME_RE = re.compile(r"^[a-zA-Z0-9._-]+$")
TOPIC_NAME_MAX = 249


class RedpandaError(Exception):
    """An error with a message a person can act on. ``partial`` says what was already done."""

    def __init__(self, msg, partial=None, details=None):
        super(RedpandaError, self).__init__(msg)
        self.msg = msg
        self.partial = partial
        self.details = details


# --------------------------------------------------------------------------------------------
# Topics: validation and the difference
# --------------------------------------------------------------------------------------------


def topic_name_problem(name):
    """Why `name` is not a valid Kafka topic name, or None."""
    if not name:
        return "a topic name must not be empty"
    if name in (".", ".."):
        return "topic name %r is reserved" % name
    if len(name) > TOPIC_NAME_MAX:
        return "topic name %r is %d characters long; the limit is %d" % (
            name[:40] + "...",
            len(name),
            TOPIC_NAME_MAX,
        )
    if not TOPIC_NAME_RE.match(name):
        bad = sorted(set(c for c in name if not re.match(r"[a-zA-Z0-9._-]", c)))
        return (
            'topic name %r contains %s; only ASCII letters, digits, ".", "_" and "-" are '
            "allowed" % (name, ", ".join(repr(c) for c in bad))
        )
    return None


def config_value(value):
    """Topic config values as the broker reports them (strings); None means "use the default"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def plan_topics(desired, current, allow_deletion=False):
    """Compare declared topics with the broker's.

    desired: list of dicts name, state ('present'/'absent'), partitions (int or None),
             replication_factor (int or None), configs (dict key -> str or None, None = reset).
    current: dict name -> dict(partitions=int, replication_factor=int,
             configs=dict key -> dict(value=str, override=bool)); only existing topics.
    Returns (changes, errors). ``changes`` is a ChangeSet, one change per valid declared topic:
    action ('create', 'update', 'delete', 'none'), name and, for what differs,
    partitions/replication_factor/configs as {before, after}.
    `errors` lists every change that cannot be made; callers apply nothing when it is not empty.
    """
    changes, errors, seen = ChangeSet(), [], set()
    for spec in desired:
        name = spec["name"]
        problem = topic_name_problem(name)
        if problem:
            errors.append(problem)
            continue
        if name in seen:
            errors.append("topic %r is declared more than once" % name)
            continue
        seen.add(name)
        have = current.get(name)
        want_configs = dict((k, config_value(v)) for k, v in (spec.get("configs") or {}).items())
        if spec.get("state", "present") == "absent":
            if have is None:
                changes.add("none", name=name)
            elif not allow_deletion:
                errors.append(
                    "topic %r exists and state=absent would delete it with all its data; "
                    "set allow_deletion=true to confirm" % name
                )
            else:
                changes.add(
                    "delete", name=name, partitions=dict(before=have["partitions"], after=None)
                )
            continue
        partitions, rf = spec.get("partitions"), spec.get("replication_factor")
        if partitions is not None and partitions < 1:
            errors.append("topic %r: partitions must be at least 1 (got %d)" % (name, partitions))
            continue
        if rf is not None and rf < 1:
            errors.append("topic %r: replication_factor must be at least 1 (got %d)" % (name, rf))
            continue
        if have is None:
            fields = dict(
                partitions=dict(before=None, after=partitions),
                replication_factor=dict(before=None, after=rf),
            )
            set_configs = dict((k, v) for k, v in want_configs.items() if v is not None)
            if set_configs:
                fields["configs"] = dict(
                    (k, dict(before=None, after=v)) for k, v in sorted(set_configs.items())
                )
            changes.add("create", name=name, **fields)
            continue
        fields = {}
        if partitions is not None and partitions != have["partitions"]:
            if partitions < have["partitions"]:
                errors.append(
                    "topic %r has %d partitions; Kafka cannot reduce partitions (asked for %d). "
                    "Keep %d or more, or create a new topic and migrate"
                    % (name, have["partitions"], partitions, have["partitions"])
                )
                continue
            fields["partitions"] = dict(before=have["partitions"], after=partitions)
        if rf is not None and rf != have["replication_factor"]:
            errors.append(
                "topic %r has replication factor %d; changing it to %d needs a partition "
                "reassignment, which this module does not do. Leave replication_factor at %d "
                "(or unset) for this topic"
                % (name, have["replication_factor"], rf, have["replication_factor"])
            )
            continue
        config_changes = {}
        have_configs = have.get("configs") or {}
        for key, value in sorted(want_configs.items()):
            entry = have_configs.get(key)
            if value is None:
                if entry is not None and entry.get("override"):
                    config_changes[key] = dict(before=entry["value"], after=None)
            elif entry is None or entry.get("value") != value:
                config_changes[key] = dict(before=entry and entry.get("value"), after=value)
        if config_changes:
            fields["configs"] = config_changes
        changes.add("update" if fields else "none", name=name, **fields)
    return changes, errors


def topic_diff(changes, current):
    """before/after for --diff, limited to the topics and keys the task manages (``changes``: the
    list of plan_topics' changes)."""
    before, after = {}, {}
    for change in changes:
        if change["action"] == "none":
            continue
        name = change["name"]
        have = current.get(name)
        if have is not None:
            b = dict(partitions=have["partitions"], replication_factor=have["replication_factor"])
            cfg = dict(
                (k, v["before"])
                for k, v in change.get("configs", {}).items()
                if v["before"] is not None
            )
            if cfg:
                b["configs"] = cfg
            before[name] = b
        if change["action"] == "delete":
            continue
        a = dict(before.get(name, {}))
        for field in ("partitions", "replication_factor"):
            if field in change:
                a[field] = (
                    change[field]["after"]
                    if change[field]["after"] is not None
                    else "(broker default)"
                )
        cfg = dict(a.get("configs", {}))
        for key, value in change.get("configs", {}).items():
            if value["after"] is None:
                cfg.pop(key, None)
            else:
                cfg[key] = value["after"]
        if cfg:
            a["configs"] = cfg
        else:
            a.pop("configs", None)
        after[name] = a
    return dict(before=dict(topics=before), after=dict(topics=after))


# --------------------------------------------------------------------------------------------
# ACLs: expansion, validation and the difference
# --------------------------------------------------------------------------------------------

AclKey = collections.namedtuple(
    "AclKey", "principal host resource_type resource_name pattern_type operation permission"
)


def normalize_principal(principal):
    """`name` means `User:name`; `Type:name` (User, RedpandaRole, Group ...) is kept."""
    principal = (principal or "").strip()
    if not principal:
        return principal
    return principal if ":" in principal else "User:" + principal


def acl_key_dict(key):
    return dict(key._asdict())


def acl_text(key):
    """One line a reviewer can read: `ALLOW READ topic:task-events (literal) from *`."""
    return "%s %s %s:%s (%s) from %s" % (
        key.permission.upper(),
        key.operation.upper(),
        key.resource_type,
        key.resource_name,
        key.pattern_type,
        key.host,
    )


def expand_acl_entries(entries):
    """Turn redpanda_acl entries (explicit or `role` shortcuts) into AclKeys.

    Returns (present, absent, errors); present/absent are de-duplicated lists in entry order.
    """
    present, absent, errors = [], [], []
    for index, entry in enumerate(entries):
        where = "acls[%d]" % index
        principal = normalize_principal(entry.get("principal"))
        if not principal or principal.endswith(":"):
            errors.append("%s: principal is required (for example User:orders-service)" % where)
            continue
        host = entry.get("host") or "*"
        pattern = entry.get("pattern_type") or "literal"
        permission = entry.get("permission") or "allow"
        role = entry.get("role")
        keys = []
        if role:
            if entry.get("operations"):
                errors.append("%s: give either role or operations, not both" % where)
                continue
            if entry.get("resource_type") not in (None, "topic"):
                errors.append(
                    "%s: role %s applies to topics; resource_type must be topic or "
                    "unset (got %s)" % (where, role, entry.get("resource_type"))
                )
                continue
            topic = entry.get("resource_name")
            if not topic:
                errors.append(
                    "%s: role %s needs resource_name (the topic name or prefix)" % (where, role)
                )
                continue
            names = {"topic": (topic, pattern)}
            group = entry.get("group")
            if role == "consumer" and not group:
                errors.append(
                    "%s: role consumer needs group (the consumer group name or "
                    "prefix the application uses)" % where
                )
                continue
            if group:
                names["group"] = (group, entry.get("group_pattern_type") or pattern)
            if entry.get("transactional_id"):
                names["transactional_id"] = (
                    entry["transactional_id"],
                    entry.get("group_pattern_type") or pattern,
                )
            for resource_type, operations in ROLE_OPERATIONS[role]:
                if resource_type not in names:
                    continue
                name, ptype = names[resource_type]
                for op in operations:
                    keys.append(AclKey(principal, host, resource_type, name, ptype, op, permission))
        else:
            resource_type = entry.get("resource_type")
            if not resource_type:
                errors.append(
                    "%s: resource_type is required (topic, group, transactional_id or "
                    "cluster) unless role is given" % where
                )
                continue
            operations = entry.get("operations") or []
            if not operations:
                errors.append("%s: operations is required unless role is given" % where)
                continue
            name = entry.get("resource_name")
            if resource_type == "cluster":
                name = name or CLUSTER_RESOURCE_NAME
                if name != CLUSTER_RESOURCE_NAME or pattern != "literal":
                    errors.append(
                        "%s: the cluster resource is always literal %r"
                        % (where, CLUSTER_RESOURCE_NAME)
                    )
                    continue
            if not name:
                errors.append(
                    "%s: resource_name is required for resource_type %s" % (where, resource_type)
                )
                continue
            bad = [op for op in operations if op not in VALID_OPERATIONS[resource_type]]
            if bad:
                errors.append(
                    "%s: operation(s) %s do not apply to resource_type %s; valid: %s"
                    % (
                        where,
                        ", ".join(bad),
                        resource_type,
                        ", ".join(sorted(VALID_OPERATIONS[resource_type])),
                    )
                )
                continue
            if entry.get("group") or entry.get("transactional_id"):
                errors.append("%s: group and transactional_id are only used with role" % where)
                continue
            for op in operations:
                keys.append(AclKey(principal, host, resource_type, name, pattern, op, permission))
        target = absent if entry.get("state") == "absent" else present
        for key in keys:
            if key not in target:
                target.append(key)
    clash = set(present) & set(absent)
    for key in sorted(clash):
        errors.append(
            "ACL declared both present and absent: %s for %s" % (acl_text(key), key.principal)
        )
    return present, absent, errors


def plan_acls(present, absent, current, exclusive=False):
    """The one place that decides which ACLs to create and delete.

    current: iterable of AclKey (what DescribeAcls returned).
    With `exclusive`, every current ACL of a principal named in `present`/`absent` that is not in
    `present` is deleted: the least-privilege guarantee.
    Returns a ChangeSet: one ``create`` per missing ACL, then one ``delete`` per ACL to delete,
    then one ``none`` per declared ACL that exists, each sorted; a change holds the ACL's fields
    (acl_key_dict) and its request is the AclKey (for the ONE CreateAcls, the ONE DeleteAcls).
    """
    current = set(current)
    wanted = set(present)
    delete = set(k for k in absent if k in current)
    if exclusive:
        scope = set(acl_principals(present, absent))
        delete |= set(k for k in current if k.principal in scope and k not in wanted)
    changes = ChangeSet()
    for key in sorted(wanted - current):
        changes.add("create", request=key, **acl_key_dict(key))
    for key in sorted(delete):
        changes.add("delete", request=key, **acl_key_dict(key))
    for key in sorted(wanted & current):
        changes.add("none", **acl_key_dict(key))
    return changes


def acl_principals(present, absent):
    """The principals a task names (sorted): what `exclusive` and the diff are scoped to."""
    return sorted(set(k.principal for k in present) | set(k.principal for k in absent))


def acl_diff(changes, current, principals):
    """before/after for --diff: the ACLs of `principals` (acl_principals), grouped by principal;
    ``changes`` is plan_acls' ChangeSet."""
    scope = set(principals)
    before_keys = set(k for k in current if k.principal in scope)
    after_keys = (before_keys - set(changes.select("delete").requests)) | set(
        changes.select("create").requests
    )

    def grouped(keys):
        out = {}
        for key in sorted(keys):
            out.setdefault(key.principal, []).append(acl_text(key))
        return out

    return dict(before=dict(acls=grouped(before_keys)), after=dict(acls=grouped(after_keys)))
