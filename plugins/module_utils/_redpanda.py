# -*- coding: utf-8 -*-
# Copyright: (c) 2025, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Private helpers shared by the redpanda_* modules. The leading underscore means "may change".

Three layers, each used by every module in the same way:

* argument specs for the broker connection and for the user backends (one place, so the
  modules and the doc fragment cannot drift apart);
* pure planning functions (``plan_topics``, ``plan_acls``, ``plan_users``) that compare what is
  declared with what exists and return the list of changes. ``changed``, ``--diff`` and check
  mode are all derived from that one plan, so they can never disagree;
* clients that do the I/O: ``KafkaAdmin`` (confluent-kafka AdminClient: batched requests, a
  request counter, fail-fast on authentication/connection errors, retries only for retryable
  errors, messages that say what to fix) and the HTTP user backends (Redpanda Admin API and
  Redpanda Cloud Data Plane API).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json
import logging
import random
import re
import socket
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib
from ansible.module_utils.urls import open_url

from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode

KAFKA_IMPORT_ERROR = None
try:
    import concurrent.futures

    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import (
        AclBinding,
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        AdminClient,
        AlterConfigOpType,
        ConfigEntry,
        ConfigResource,
        ConfigSource,
        NewPartitions,
        NewTopic,
        ResourcePatternType,
        ResourceType,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialDeletion,
        UserScramCredentialUpsertion,
    )
    from confluent_kafka import TopicCollection

    HAS_CONFLUENT_KAFKA = True
except ImportError:
    HAS_CONFLUENT_KAFKA = False
    KAFKA_IMPORT_ERROR = traceback.format_exc()


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

CLOUD_AUTH_URL = "https://auth.prd.cloud.redpanda.com/oauth/token"
CLOUD_API_URL = "https://api.redpanda.com"
CLOUD_AUDIENCE = "cloudv2-production.redpanda.cloud"
CLOUD_MECHANISMS = {
    "SCRAM-SHA-256": "SASL_MECHANISM_SCRAM_SHA_256",
    "SCRAM-SHA-512": "SASL_MECHANISM_SCRAM_SHA_512",
}


class RedpandaError(Exception):
    """An error with a message a person can act on. ``partial`` says what was already done."""

    def __init__(self, msg, partial=None, details=None):
        super(RedpandaError, self).__init__(msg)
        self.msg = msg
        self.partial = partial
        self.details = details


# --------------------------------------------------------------------------------------------
# Argument specs (documented by the doc fragment hackathon_todo.deploy.redpanda)
# --------------------------------------------------------------------------------------------


def connection_argument_spec():
    return dict(
        bootstrap_servers=dict(
            type="list", elements="str", fallback=(env_fallback, ["RPK_BROKERS"])
        ),
        security_protocol=dict(type="str", default="SASL_SSL", choices=SECURITY_PROTOCOLS),
        sasl_mechanism=dict(
            type="str",
            choices=SASL_MECHANISMS,
            default="SCRAM-SHA-256",
            fallback=(env_fallback, ["RPK_SASL_MECHANISM"]),
        ),
        sasl_username=dict(type="str", fallback=(env_fallback, ["RPK_USER"])),
        sasl_password=dict(type="str", no_log=True, fallback=(env_fallback, ["RPK_PASS"])),
        ca_file=dict(type="path"),
        tls_verify=dict(type="bool", default=True),
        client_id=dict(type="str", default="ansible-hackathon_todo.deploy"),
        connect_timeout=dict(type="int", default=10),
        request_timeout=dict(type="int", default=30),
    )


def user_backend_argument_spec():
    return dict(
        backend=dict(type="str", default="kafka", choices=USER_BACKENDS),
        admin_api_url=dict(type="str"),
        admin_api_username=dict(type="str"),
        admin_api_password=dict(type="str", no_log=True),
        cloud_client_id=dict(type="str", fallback=(env_fallback, ["REDPANDA_CLIENT_ID"])),
        cloud_client_secret=dict(
            type="str", no_log=True, fallback=(env_fallback, ["REDPANDA_CLIENT_SECRET"])
        ),
        cloud_cluster_id=dict(type="str"),
        cloud_dataplane_url=dict(type="str"),
        cloud_auth_url=dict(type="str", default=CLOUD_AUTH_URL),
        cloud_api_url=dict(type="str", default=CLOUD_API_URL),
        cloud_audience=dict(type="str", default=CLOUD_AUDIENCE),
    )


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
    Returns (changes, errors). Each change: name, action ('create', 'update', 'delete', 'none')
    and, for what differs, partitions/replication_factor/configs as {before, after}.
    `errors` lists every change that cannot be made; callers apply nothing when it is not empty.
    """
    changes, errors, seen = [], [], set()
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
                changes.append(dict(name=name, action="none"))
            elif not allow_deletion:
                errors.append(
                    "topic %r exists and state=absent would delete it with all its data; "
                    "set allow_deletion=true to confirm" % name
                )
            else:
                changes.append(
                    dict(
                        name=name,
                        action="delete",
                        partitions=dict(before=have["partitions"], after=None),
                    )
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
            change = dict(
                name=name,
                action="create",
                partitions=dict(before=None, after=partitions),
                replication_factor=dict(before=None, after=rf),
            )
            set_configs = dict((k, v) for k, v in want_configs.items() if v is not None)
            if set_configs:
                change["configs"] = dict(
                    (k, dict(before=None, after=v)) for k, v in sorted(set_configs.items())
                )
            changes.append(change)
            continue
        change = dict(name=name, action="none")
        if partitions is not None and partitions != have["partitions"]:
            if partitions < have["partitions"]:
                errors.append(
                    "topic %r has %d partitions; Kafka cannot reduce partitions (asked for %d). "
                    "Keep %d or more, or create a new topic and migrate"
                    % (name, have["partitions"], partitions, have["partitions"])
                )
                continue
            change["partitions"] = dict(before=have["partitions"], after=partitions)
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
            change["configs"] = config_changes
        if "partitions" in change or config_changes:
            change["action"] = "update"
        changes.append(change)
    return changes, errors


def topic_diff(changes, current):
    """before/after for --diff, limited to the topics and keys the task manages."""
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
            errors.append("%s: principal is required (for example User:staging-todo-app)" % where)
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
    Returns dict(create=[...], delete=[...], principals=[...]) with sorted, unique AclKeys.
    """
    current = set(current)
    wanted = set(present)
    principals = sorted(set(k.principal for k in present) | set(k.principal for k in absent))
    create = sorted(wanted - current)
    delete = set(k for k in absent if k in current)
    if exclusive:
        scope = set(principals)
        delete |= set(k for k in current if k.principal in scope and k not in wanted)
    return dict(create=create, delete=sorted(delete), principals=principals)


def acl_diff(plan, current):
    """before/after for --diff: the ACLs of the principals the task names, grouped by principal."""
    scope = set(plan["principals"])
    before_keys = set(k for k in current if k.principal in scope)
    after_keys = (before_keys - set(plan["delete"])) | set(plan["create"])

    def grouped(keys):
        out = {}
        for key in sorted(keys):
            out.setdefault(key.principal, []).append(acl_text(key))
        return out

    return dict(before=dict(acls=grouped(before_keys)), after=dict(acls=grouped(after_keys)))


# --------------------------------------------------------------------------------------------
# Users: the difference
# --------------------------------------------------------------------------------------------


def plan_users(
    desired,
    current,
    update_password="on_create",  # noqa: S107 - a mode, not a password
    password_ok=None,
    single_mechanism=False,
):
    """Compare declared SCRAM users with the backend's.

    desired: list of dicts name, state, mechanisms (list), iterations (int).
    current: dict name -> dict(mechanisms=dict mechanism -> iterations (or None when the
             backend does not report iterations), or mechanisms=None when the backend cannot
             report mechanisms at all (Redpanda Admin API)).
    password_ok: dict name -> True (the declared password works), False, or None (unknown).
    Passwords cannot be read back: with update_password=on_create an existing user's password is
    left alone; with always it is set unless it is known to work already.
    Returns (changes, errors). A change: name, action ('create', 'update', 'delete', 'none'),
    before/after mechanisms, set_mechanisms (credentials to write), delete_mechanisms,
    password_set (bool), reasons (list of str).
    """
    password_ok = password_ok or {}
    changes, errors, seen = [], [], set()
    for spec in desired:
        name = spec["name"]
        if not name:
            errors.append("a user name must not be empty")
            continue
        if name in seen:
            errors.append("user %r is declared more than once" % name)
            continue
        seen.add(name)
        have = current.get(name)
        have_mechs = None if have is None else have.get("mechanisms")
        before = None if have is None else sorted(have_mechs) if have_mechs is not None else None
        if spec.get("state", "present") == "absent":
            if have is None:
                changes.append(
                    dict(
                        name=name,
                        action="none",
                        before=None,
                        after=None,
                        set_mechanisms=[],
                        delete_mechanisms=[],
                        password_set=False,
                        reasons=[],
                    )
                )
            else:
                changes.append(
                    dict(
                        name=name,
                        action="delete",
                        before=before,
                        after=None,
                        set_mechanisms=[],
                        delete_mechanisms=before or [],
                        password_set=False,
                        reasons=["state=absent"],
                    )
                )
            continue
        want = list(dict.fromkeys(spec.get("mechanisms") or ["SCRAM-SHA-256"]))
        if single_mechanism and len(want) > 1:
            errors.append(
                "user %r asks for %s; Redpanda keeps one SCRAM credential per user, "
                "so choose one mechanism (the kafka backend, on Apache Kafka, allows "
                "several)" % (name, " and ".join(want))
            )
            continue
        if not spec.get("has_password"):
            errors.append("user %r: password is required when state=present" % name)
            continue
        if have is None:
            changes.append(
                dict(
                    name=name,
                    action="create",
                    before=None,
                    after=sorted(want),
                    set_mechanisms=want,
                    delete_mechanisms=[],
                    password_set=True,
                    reasons=["user does not exist"],
                )
            )
            continue
        reasons, set_mechs, delete_mechs = [], [], []
        reset = update_password == "always" and password_ok.get(name) is not True  # noqa: S105
        if have_mechs is not None:
            missing = [m for m in want if m not in have_mechs]
            extra = [m for m in sorted(have_mechs) if m not in want]
            if single_mechanism and (missing or extra):
                reasons.append(
                    "mechanism %s -> %s (sets the password too)"
                    % (", ".join(sorted(have_mechs)) or "none", ", ".join(want))
                )
                set_mechs = want
                delete_mechs = []
            else:
                if missing:
                    reasons.append("add %s credential" % ", ".join(missing))
                    set_mechs.extend(missing)
                if extra:
                    reasons.append("remove %s credential" % ", ".join(extra))
                    delete_mechs.extend(extra)
                if reset and spec.get("iterations"):
                    stale = [
                        m
                        for m in want
                        if m in have_mechs and have_mechs[m] and have_mechs[m] != spec["iterations"]
                    ]
                    if stale:
                        reasons.append(
                            "iterations %s -> %d"
                            % (
                                ", ".join("%s=%s" % (m, have_mechs[m]) for m in stale),
                                spec["iterations"],
                            )
                        )
        if reset:
            reasons.append(
                "update_password=always and the password %s"
                % (
                    "does not work"
                    if password_ok.get(name) is False
                    else "cannot be read back, so it is set again"
                )
            )
            for m in want:
                if m not in set_mechs:
                    set_mechs.append(m)
        if set_mechs or delete_mechs:
            after = sorted(want) if have_mechs is not None or set_mechs else before
            changes.append(
                dict(
                    name=name,
                    action="update",
                    before=before,
                    after=after,
                    set_mechanisms=set_mechs,
                    delete_mechanisms=delete_mechs,
                    password_set=bool(set_mechs),
                    reasons=reasons,
                )
            )
        else:
            changes.append(
                dict(
                    name=name,
                    action="none",
                    before=before,
                    after=before,
                    set_mechanisms=[],
                    delete_mechanisms=[],
                    password_set=False,
                    reasons=[],
                )
            )
    return changes, errors


def user_diff(changes):
    before, after = {}, {}
    for change in changes:
        if change["action"] == "none":
            continue
        name = change["name"]
        if change["action"] != "create":
            before[name] = dict(
                mechanisms=change["before"]
                if change["before"] is not None
                else "(not reported by this backend)"
            )
        if change["action"] != "delete":
            after[name] = dict(
                mechanisms=change["after"]
                if change["after"] is not None
                else "(not reported by this backend)",
                password="(set by this task)" if change["password_set"] else "(unchanged)",
            )
    return dict(before=dict(users=before), after=dict(users=after))


# --------------------------------------------------------------------------------------------
# Request accounting
# --------------------------------------------------------------------------------------------


class RequestCounter(object):
    """Counts the requests the modules send, by API. Returned as `requests` by every module."""

    def __init__(self):
        self.by_api = collections.OrderedDict()

    def add(self, api, n=1):
        self.by_api[api] = self.by_api.get(api, 0) + n

    def result(self):
        return dict(by_api=dict(self.by_api), total=sum(self.by_api.values()))


# --------------------------------------------------------------------------------------------
# Kafka protocol client
# --------------------------------------------------------------------------------------------


class _RecentLogs(logging.Handler):
    """Keeps librdkafka's last log lines (it logs to stderr otherwise) for error messages."""

    def __init__(self):
        logging.Handler.__init__(self)
        self.lines = collections.deque(maxlen=20)

    def emit(self, record):
        self.lines.append(record.getMessage())


def _err_name(err):
    try:
        return err.name()
    except Exception:  # pylint: disable=broad-except
        return str(err.code())


class KafkaAdmin(object):
    """confluent-kafka AdminClient with batching, request counting, fail-fast and retries.

    Every public method sends ONE protocol request for all the items it is given (more only when
    a retryable error forces a retry of the failed items) and counts it in `counter`.
    """

    ATTEMPTS = 4
    BACKOFF = 0.5

    def __init__(self, params, counter):
        self.params = params
        self.counter = counter
        self._errors = []
        self._client = None
        self._logs = _RecentLogs()
        servers = params.get("bootstrap_servers") or []
        self.servers = ",".join(s.strip() for s in servers if s and s.strip())
        self.request_timeout = float(params.get("request_timeout") or 30)
        self.connect_timeout = float(params.get("connect_timeout") or 10)

    # connection ------------------------------------------------------------------------------

    def config(self, username=None, password=None, mechanism=None):
        p = self.params
        if not self.servers:
            raise RedpandaError(
                "bootstrap_servers is required: the Kafka API address of the "
                "cluster, for example seed-1234.any.us-east-1.mpx.prd.cloud."
                "redpanda.com:9092 (or set RPK_BROKERS)"
            )
        logger = logging.getLogger("hackathon_todo.deploy.redpanda.%x" % id(self))
        logger.propagate = False
        logger.setLevel(logging.INFO)
        if self._logs not in logger.handlers:
            logger.addHandler(self._logs)
        conf = {
            "bootstrap.servers": self.servers,
            "security.protocol": p["security_protocol"],
            "client.id": p.get("client_id") or "ansible-hackathon_todo.deploy",
            "socket.connection.setup.timeout.ms": int(self.connect_timeout * 1000),
            "error_cb": self._on_error,
            "logger": logger,
        }
        if p["security_protocol"].startswith("SASL"):
            user = username if username is not None else p.get("sasl_username")
            secret = password if password is not None else p.get("sasl_password")
            if not user or secret is None:
                raise RedpandaError(
                    "security_protocol %s needs sasl_username and sasl_password "
                    "(or RPK_USER/RPK_PASS)" % p["security_protocol"]
                )
            conf.update(
                {
                    "sasl.mechanism": mechanism or p["sasl_mechanism"],
                    "sasl.username": user,
                    "sasl.password": secret,
                }
            )
        if p["security_protocol"] in ("SASL_SSL", "SSL"):
            conf["ssl.ca.location"] = p.get("ca_file") or "probe"
            if not p.get("tls_verify", True):
                conf["enable.ssl.certificate.verification"] = False
                conf["ssl.endpoint.identification.algorithm"] = "none"
        return conf

    @property
    def client(self):
        if self._client is None:
            self._client = AdminClient(self.config())
        return self._client

    def _on_error(self, err):
        if len(self._errors) < 50:
            self._errors.append(err)

    def _fatal(self):
        """A connection-level error that no wait will cure, as a message saying what to fix."""
        by_code = {}
        for err in self._errors:
            by_code.setdefault(err.code(), err)
        p = self.params
        if KafkaError._AUTHENTICATION in by_code:
            return (
                "authentication failed for sasl_username %r with %s at %s: check "
                "sasl_username, sasl_password and sasl_mechanism (the broker said: %s)"
                % (
                    p.get("sasl_username"),
                    p.get("sasl_mechanism"),
                    self.servers,
                    by_code[KafkaError._AUTHENTICATION].str(),
                )
            )
        if KafkaError._SSL in by_code:
            return (
                "TLS handshake with %s failed: check security_protocol (%s), ca_file and "
                "tls_verify (librdkafka said: %s)"
                % (self.servers, p["security_protocol"], by_code[KafkaError._SSL].str())
            )
        if KafkaError._ALL_BROKERS_DOWN in by_code:
            cause = (
                by_code.get(KafkaError._RESOLVE)
                or by_code.get(KafkaError._TRANSPORT)
                or by_code[KafkaError._ALL_BROKERS_DOWN]
            )
            return (
                "cannot reach any broker in bootstrap_servers (%s): %s. Check the host and "
                "port, that the broker is running, and that security_protocol (%s) matches "
                "the listener" % (self.servers, cause.str(), p["security_protocol"])
            )
        return None

    def _wait(self, futures, client=None):
        client = client or self.client
        pending = set(futures)
        deadline = time.time() + self.request_timeout + 5
        while pending:
            _done, pending = concurrent.futures.wait(pending, timeout=0.1)
            client.poll(0)
            if pending:
                fatal = self._fatal()
                if fatal:
                    raise RedpandaError(fatal)
                if time.time() > deadline:
                    raise RedpandaError(
                        "no answer from %s within request_timeout=%ss"
                        % (self.servers, int(self.request_timeout))
                    )

    # error handling --------------------------------------------------------------------------

    @staticmethod
    def _retryable(err):
        code = err.code()
        if code in (
            KafkaError._TIMED_OUT,
            KafkaError._TRANSPORT,
            KafkaError._AUTHENTICATION,
            KafkaError._ALL_BROKERS_DOWN,
            KafkaError._SSL,
            KafkaError._RESOLVE,
        ):
            return False
        if code in (
            KafkaError.REQUEST_TIMED_OUT,
            KafkaError.NOT_CONTROLLER,
            KafkaError.LEADER_NOT_AVAILABLE,
            KafkaError.THROTTLING_QUOTA_EXCEEDED,
        ):
            return True
        try:
            return bool(err.retriable())
        except Exception:  # pylint: disable=broad-except
            return False

    def explain(self, err, what):
        """Turn a KafkaError into a message that says what to fix."""
        code = err.code()
        user = self.params.get("sasl_username")
        text = err.str()
        fatal = self._fatal()
        if fatal:
            return fatal
        if code in (
            KafkaError.TOPIC_AUTHORIZATION_FAILED,
            KafkaError.CLUSTER_AUTHORIZATION_FAILED,
            KafkaError.GROUP_AUTHORIZATION_FAILED,
            KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        ):
            return (
                "the broker denied %s to %r (%s). This needs an administrative user: a "
                "super user, or ACLs such as ALTER on the cluster for ACL and user changes "
                "and CREATE/ALTER/DELETE on the topics" % (what, user, _err_name(err))
            )
        if code == KafkaError.SECURITY_DISABLED:
            return (
                "%s failed: the broker has no authorizer enabled, so it keeps no ACLs "
                "(Redpanda: enable kafka_enable_authorization / SASL)" % what
            )
        if code == KafkaError.UNSUPPORTED_VERSION:
            return (
                "%s failed: the broker does not implement this request (%s). Redpanda does "
                "not implement AlterUserScramCredentials/DescribeUserScramCredentials: use "
                "backend=admin_api (self-hosted) or backend=cloud (Redpanda Cloud)" % (what, text)
            )
        if code == KafkaError._TIMED_OUT:
            return "%s timed out after request_timeout=%ss waiting for %s (%s)" % (
                what,
                int(self.request_timeout),
                self.servers,
                text,
            )
        return "%s failed: %s: %s" % (what, _err_name(err), text)

    # batched calls ---------------------------------------------------------------------------

    def _batch(self, api, what, items, submit, describe_item=str):
        """Send one request for `items`; retry only the items that failed retryably.

        submit(items) -> dict item -> future. Returns dict item -> result.
        """
        results, failures = {}, []
        remaining = list(items)
        for attempt in range(1, self.ATTEMPTS + 1):
            if not remaining:
                break
            self.counter.add(api)
            futures = submit(remaining)
            self._wait(list(futures.values()))
            retry = []
            for item, future in futures.items():
                try:
                    results[item] = future.result(timeout=0)
                except KafkaException as exc:
                    err = exc.args[0]
                    if self._retryable(err) and attempt < self.ATTEMPTS:
                        retry.append(item)
                    else:
                        failures.append((item, err))
            remaining = retry
            if remaining:
                time.sleep(min(8.0, self.BACKOFF * (2 ** (attempt - 1))) * random.uniform(0.5, 1))  # noqa: S311 - jitter, not crypto
        if failures:
            lines = [
                "%s: %s" % (describe_item(item), self.explain(err, what)) for item, err in failures
            ]
            done = [describe_item(item) for item in results]
            msg = (
                lines[0]
                if len(lines) == 1
                else "%s failed for %d item(s):\n%s" % (what, len(lines), "\n".join(lines))
            )
            raise RedpandaError(msg, partial=done)
        return results

    def _single(self, api, what, submit):
        return self._batch(
            api, what, ["_"], lambda _items: {"_": submit()}, describe_item=lambda _i: what
        )["_"]

    # topics ----------------------------------------------------------------------------------

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

    # ACLs ------------------------------------------------------------------------------------

    _RESTYPE = None

    @classmethod
    def _maps(cls):
        if cls._RESTYPE is None:
            cls._RESTYPE = {
                "topic": ResourceType.TOPIC,
                "group": ResourceType.GROUP,
                "cluster": ResourceType.BROKER,
                "transactional_id": ResourceType.TRANSACTIONAL_ID,
            }
        return cls._RESTYPE

    @staticmethod
    def _binding_args(key):
        restype = KafkaAdmin._maps()[key.resource_type]
        return (
            restype,
            key.resource_name,
            ResourcePatternType[key.pattern_type.upper()],
            key.principal,
            key.host,
            AclOperation[key.operation.upper()],
            AclPermissionType[key.permission.upper()],
        )

    @staticmethod
    def _key_from_binding(b):
        reverse = dict((v, k) for k, v in KafkaAdmin._maps().items())
        if b.restype not in reverse or b.resource_pattern_type not in (
            ResourcePatternType.LITERAL,
            ResourcePatternType.PREFIXED,
        ):
            return None
        return AclKey(
            b.principal,
            b.host,
            reverse[b.restype],
            b.name,
            b.resource_pattern_type.name.lower(),
            b.operation.name.lower(),
            b.permission_type.name.lower(),
        )

    def cluster_operations(self):
        """The cluster operations the connected user may perform (ONE request).

        Returns a set of lower-case operation names, or None when the broker reports none (a user
        without rights, or a broker that does not report authorized operations).
        """
        # librdkafka sends this as a Metadata request asking for the authorized operations
        desc = self._single(
            "Metadata (DescribeCluster)",
            "describing the cluster",
            lambda: self.client.describe_cluster(
                include_authorized_operations=True, request_timeout=self.request_timeout
            ),
        )
        ops = getattr(desc, "authorized_operations", None)
        if not ops:
            return None
        return set(op.name.lower() for op in ops)

    def require_cluster_operation(self, operation, what, unknown_is_denied=False):
        """Fail, with what to fix, when the user may not `operation` on the cluster.

        Returns False (and fails nothing) when the broker does not say, unless
        unknown_is_denied.
        """
        ops = self.cluster_operations()
        if ops is None and not unknown_is_denied:
            return False
        if ops is None or (operation not in ops and "all" not in ops):
            raise RedpandaError(
                "%r may not %s: it needs %s on the cluster (a super user has it). Nothing was "
                "changed" % (self.params.get("sasl_username"), what, operation.upper())
            )
        return True

    def describe_acls(
        self,
        principal=None,
        resource_type=None,
        resource_name=None,
        pattern_type=None,
        host=None,
        operation=None,
        permission=None,
    ):
        """ONE DescribeAcls request; returns a sorted list of AclKey."""
        restype = (
            ResourceType.ANY
            if not resource_type or resource_type == "any"
            else self._maps()[resource_type]
        )
        ptype = (
            ResourcePatternType.ANY
            if not pattern_type or pattern_type == "any"
            else ResourcePatternType[pattern_type.upper()]
        )
        op = (
            AclOperation.ANY
            if not operation or operation == "any"
            else AclOperation[operation.upper()]
        )
        perm = (
            AclPermissionType.ANY
            if not permission or permission == "any"
            else AclPermissionType[permission.upper()]
        )
        flt = AclBindingFilter(restype, resource_name, ptype, principal, host, op, perm)
        bindings = self._single(
            "DescribeAcls",
            "listing ACLs",
            lambda: self.client.describe_acls(flt, request_timeout=self.request_timeout),
        )
        keys = [self._key_from_binding(b) for b in bindings]
        return sorted(k for k in keys if k is not None)

    def create_acls(self, keys):
        """ONE CreateAcls request for every key."""
        if not keys:
            return
        bindings = dict((AclBinding(*self._binding_args(k)), k) for k in keys)
        self._batch(
            "CreateAcls",
            "creating ACLs",
            list(bindings),
            lambda items: self.client.create_acls(items, request_timeout=self.request_timeout),
            describe_item=lambda b: acl_text(bindings[b]) + " for " + bindings[b].principal,
        )

    def delete_acls(self, keys):
        """ONE DeleteAcls request with one exact filter per key."""
        if not keys:
            return
        filters = dict((AclBindingFilter(*self._binding_args(k)), k) for k in keys)
        self._batch(
            "DeleteAcls",
            "deleting ACLs",
            list(filters),
            lambda items: self.client.delete_acls(items, request_timeout=self.request_timeout),
            describe_item=lambda f: acl_text(filters[f]) + " for " + filters[f].principal,
        )

    # SCRAM users (KIP-554) -------------------------------------------------------------------

    _MECH = None

    @classmethod
    def _mech(cls, name):
        if cls._MECH is None:
            cls._MECH = {
                "SCRAM-SHA-256": ScramMechanism.SCRAM_SHA_256,
                "SCRAM-SHA-512": ScramMechanism.SCRAM_SHA_512,
            }
        return cls._MECH[name]

    def describe_scram_users(self):
        """ONE DescribeUserScramCredentials request: name -> {mechanism: iterations}.

        Preceded by a DescribeCluster check: confluent-kafka 2.16 aborts the whole process
        (munmap_chunk(): invalid pointer) when DescribeUserScramCredentials is denied, so a user
        without DESCRIBE on the cluster must never send it.
        """
        self.require_cluster_operation("describe", "read SCRAM credentials", unknown_is_denied=True)
        result = self._single(
            "DescribeUserScramCredentials",
            "listing SCRAM users",
            lambda: self.client.describe_user_scram_credentials(
                request_timeout=self.request_timeout
            ),
        )
        out = {}
        for name, desc in (result or {}).items():
            mechs = {}
            for info in desc.scram_credential_infos:
                mechs[info.mechanism.name.replace("_", "-")] = info.iterations
            out[name] = mechs
        return out

    def alter_scram_users(self, upserts, deletions):
        """AlterUserScramCredentials for every user, batched.

        upserts: list of (name, mechanism, iterations, password); deletions: (name, mechanism).
        Apache Kafka refuses two alterations of the same user in one request
        (DUPLICATE_RESOURCE), so the alterations go out in rounds: round N carries the N-th
        alteration of every user. One request when each user has one change, two at most.
        """
        per_user = collections.OrderedDict()
        for name, mech, iterations, password in upserts:
            per_user.setdefault(name, []).append(
                UserScramCredentialUpsertion(
                    name,
                    ScramCredentialInfo(self._mech(mech), iterations),
                    password.encode("utf-8"),
                )
            )
        for name, mech in deletions:
            per_user.setdefault(name, []).append(
                UserScramCredentialDeletion(name, self._mech(mech))
            )
        rounds = max([len(v) for v in per_user.values()] or [0])
        for index in range(rounds):
            batch = dict(
                (name, alts[index]) for name, alts in per_user.items() if len(alts) > index
            )
            self._batch(
                "AlterUserScramCredentials",
                "changing SCRAM credentials",
                sorted(batch),
                lambda names, batch=batch: self.client.alter_user_scram_credentials(
                    [batch[n] for n in names], request_timeout=self.request_timeout
                ),
                describe_item=lambda n: "user %r" % n,
            )

    def scram_login_works(self, username, password, mechanism):
        """Log in as `username` over the Kafka protocol: the only way to check a password.

        True when the broker accepts it, False when it rejects it. The Metadata request that
        follows needs no ACL. Counted as a request of its own.
        """
        errors = []
        conf = self.config(username=username, password=password, mechanism=mechanism)
        conf["error_cb"] = errors.append
        conf["client.id"] = conf["client.id"] + "-password-check"
        client = AdminClient(conf)
        deadline = time.time() + self.connect_timeout + 5
        try:
            while time.time() < deadline:
                self.counter.add("Metadata (password check)")
                try:
                    client.list_topics(timeout=1)
                    return True
                except KafkaException:
                    client.poll(0)
                    if any(e.code() == KafkaError._AUTHENTICATION for e in errors):
                        return False
                    if any(e.code() == KafkaError._ALL_BROKERS_DOWN for e in errors):
                        raise RedpandaError(
                            "cannot reach %s to check the password of %r" % (self.servers, username)
                        ) from None
            raise RedpandaError(
                "no answer from %s while checking the password of %r" % (self.servers, username)
            )
        finally:
            del client


# --------------------------------------------------------------------------------------------
# HTTP APIs (Redpanda Admin API, Redpanda Cloud)
# --------------------------------------------------------------------------------------------


class HttpApi(object):
    """JSON over HTTP with request counting; retries only 429/502/503/504 and timeouts."""

    ATTEMPTS = 3
    BACKOFF = 0.5
    RETRY_STATUS = (429, 502, 503, 504)

    def __init__(self, name, base_url, params, counter, basic_auth=None, bearer=None):
        self.name = name
        self.base_url = (base_url or "").rstrip("/")
        self.params = params
        self.counter = counter
        self.basic_auth = basic_auth
        self.bearer = bearer  # callable(force_new=False) -> token

    def call(self, method, path, template=None, body=None, query=None, form=None, auth=True):
        """Returns (status, parsed JSON or None). Raises HttpApiError for HTTP errors."""
        url = self.base_url + path
        if query:
            url += "?" + urlencode(query)
        headers = {"Accept": "application/json"}
        data = None
        if form is not None:
            data = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            kwargs = {}
            if auth and self.basic_auth:
                kwargs.update(
                    url_username=self.basic_auth[0],
                    url_password=self.basic_auth[1],
                    force_basic_auth=True,
                )
            if auth and self.bearer:
                headers["Authorization"] = "Bearer %s" % self.bearer(force_new=refreshed)
            self.counter.add("%s %s %s" % (self.name, method, template or path))
            try:
                resp = open_url(
                    url,
                    method=method,
                    data=data,
                    headers=headers,
                    validate_certs=self.params.get("tls_verify", True),
                    ca_path=self.params.get("ca_file"),
                    timeout=self.params.get("request_timeout") or 30,
                    follow_redirects="all",
                    **kwargs,
                )
                return resp.getcode(), _json_or_none(resp.read())
            except HTTPError as exc:
                payload = _json_or_none(_read(exc))
                if exc.code == 401 and self.bearer and not refreshed:
                    refreshed = True  # the token may have expired: one fresh token, one retry
                    continue
                if exc.code in self.RETRY_STATUS and attempt < self.ATTEMPTS:
                    time.sleep(self.BACKOFF * (2 ** (attempt - 1)) * random.uniform(0.5, 1))  # noqa: S311 - jitter, not crypto
                    continue
                raise HttpApiError(self.name, method, url, exc.code, payload) from None
            except (URLError, socket.timeout, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                if (
                    isinstance(reason, (socket.timeout, ConnectionResetError))
                    and attempt < self.ATTEMPTS
                ):
                    time.sleep(self.BACKOFF * (2 ** (attempt - 1)) * random.uniform(0.5, 1))  # noqa: S311 - jitter, not crypto
                    continue
                raise RedpandaError(
                    "cannot reach the %s at %s: %s. Check the URL and that the "
                    "service is running" % (self.name, self.base_url, reason)
                ) from None


def _read(exc):
    try:
        return exc.read()
    except Exception:  # pylint: disable=broad-except
        return b""


def _json_or_none(raw):
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except ValueError:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return {"message": text[:300]}


class HttpApiError(RedpandaError):
    def __init__(self, api, method, url, status, payload):
        self.api, self.method, self.status, self.payload = api, method, status, payload or {}
        detail = ""
        if isinstance(self.payload, dict):
            detail = (
                self.payload.get("message")
                or self.payload.get("error_description")
                or self.payload.get("error")
                or ""
            )
        self.detail = detail
        msg = "%s %s %s returned HTTP %s%s" % (
            api,
            method,
            url,
            status,
            ": %s" % detail if detail else "",
        )
        super(HttpApiError, self).__init__(msg)


# --------------------------------------------------------------------------------------------
# User backends: one interface, three implementations
# --------------------------------------------------------------------------------------------


class UserBackend(object):
    """list_users() -> name -> dict(mechanisms=dict mech -> iterations|None, or None)."""

    name = None
    single_mechanism = False  # Redpanda keeps one SCRAM credential per user
    reports_mechanisms = True

    def list_users(self):
        raise NotImplementedError

    def apply(self, changes, passwords, iterations):
        """Make `changes` (from plan_users) real. passwords: name -> password."""
        raise NotImplementedError


class KafkaUsers(UserBackend):
    """Apache Kafka KIP-554: DescribeUserScramCredentials / AlterUserScramCredentials."""

    name = "kafka"

    def __init__(self, kafka):
        self.kafka = kafka

    def list_users(self):
        return dict(
            (name, dict(mechanisms=mechs))
            for name, mechs in self.kafka.describe_scram_users().items()
        )

    def apply(self, changes, passwords, iterations):
        upserts, deletions = [], []
        for change in changes:
            name = change["name"]
            for mech in change["set_mechanisms"]:
                upserts.append((name, mech, iterations.get(name) or 4096, passwords[name]))
            for mech in change["delete_mechanisms"]:
                deletions.append((name, mech))
        self.kafka.alter_scram_users(upserts, deletions)


class AdminApiUsers(UserBackend):
    """Self-hosted Redpanda Admin API: /v1/security/users (HTTP Basic auth as a super user).

    The API lists names only, so mechanisms cannot be compared; it has no batch call, so each
    change is one request.
    """

    name = "admin_api"
    single_mechanism = True
    reports_mechanisms = False

    def __init__(self, params, counter):
        url = params.get("admin_api_url")
        if not url:
            raise RedpandaError(
                "backend=admin_api needs admin_api_url, the Redpanda Admin API "
                "address, for example http://redpanda-0.redpanda:9644"
            )
        user = params.get("admin_api_username") or params.get("sasl_username")
        password = params.get("admin_api_password")
        if password is None and not params.get("admin_api_username"):
            password = params.get("sasl_password")
        basic = (user, password) if user and password is not None else None
        self.api = HttpApi("Redpanda Admin API", url, params, counter, basic_auth=basic)

    def _explain(self, exc, what):
        if isinstance(exc, HttpApiError) and exc.status in (401, 403):
            return RedpandaError(
                "the Redpanda Admin API refused %s (HTTP %s: %s): give admin_api_username and "
                "admin_api_password of a super user (defaults: sasl_username/sasl_password)"
                % (what, exc.status, exc.detail or "unauthorized")
            )
        return exc

    def list_users(self):
        try:
            _status, names = self.api.call("GET", "/v1/security/users")
        except RedpandaError as exc:
            raise self._explain(exc, "listing users") from None
        return dict((n, dict(mechanisms=None)) for n in (names or []))

    def apply(self, changes, passwords, iterations):
        done = []
        for change in changes:
            name = change["name"]
            path = "/v1/security/users/" + quote(name, safe="")
            try:
                if change["action"] == "delete":
                    self.api.call("DELETE", path, template="/v1/security/users/{user}")
                elif change["action"] == "create":
                    self.api.call(
                        "POST",
                        "/v1/security/users",
                        body=dict(
                            username=name,
                            password=passwords[name],
                            algorithm=change["set_mechanisms"][0],
                        ),
                    )
                elif change["set_mechanisms"]:
                    self.api.call(
                        "PUT",
                        path,
                        template="/v1/security/users/{user}",
                        body=dict(
                            username=name,
                            password=passwords[name],
                            algorithm=change["set_mechanisms"][0],
                        ),
                    )
            except RedpandaError as exc:
                exc = self._explain(exc, "%s of user %r" % (change["action"], name))
                exc.partial = done
                raise exc
            done.append(name)


class CloudUsers(UserBackend):
    """Redpanda Cloud Data Plane API /v1/users with an OAuth2 client-credentials token.

    The data plane URL is discovered from cloud_cluster_id through the Control Plane API
    (serverless clusters first, then dedicated/BYOC) unless cloud_dataplane_url is given.
    """

    name = "cloud"
    single_mechanism = True

    def __init__(self, params, counter):
        self.params = params
        self.counter = counter
        for key in ("cloud_client_id", "cloud_client_secret"):
            if not params.get(key):
                raise RedpandaError(
                    "backend=cloud needs cloud_client_id and cloud_client_secret "
                    "of a Redpanda Cloud service account (Organization IAM > "
                    "Service accounts), or REDPANDA_CLIENT_ID/"
                    "REDPANDA_CLIENT_SECRET"
                )
        if not params.get("cloud_dataplane_url") and not params.get("cloud_cluster_id"):
            raise RedpandaError(
                "backend=cloud needs cloud_cluster_id (to discover the Data Plane "
                "API URL) or cloud_dataplane_url"
            )
        self._token = None
        self.auth = HttpApi("Redpanda Cloud auth", params["cloud_auth_url"], params, counter)
        self.control = HttpApi(
            "Redpanda Cloud Control Plane API",
            params["cloud_api_url"],
            params,
            counter,
            bearer=self.token,
        )
        self._data = None
        self.dataplane_url = params.get("cloud_dataplane_url")

    def token(self, force_new=False):
        if self._token and not force_new:
            return self._token
        try:
            _status, body = self.auth.call(
                "POST",
                "",
                template="/oauth/token",
                auth=False,
                form=dict(
                    grant_type="client_credentials",
                    client_id=self.params["cloud_client_id"],
                    client_secret=self.params["cloud_client_secret"],
                    audience=self.params["cloud_audience"],
                ),
            )
        except HttpApiError as exc:
            if exc.status in (400, 401, 403):
                raise RedpandaError(
                    "Redpanda Cloud rejected the client credentials at %s (HTTP %s: %s): check "
                    "cloud_client_id and cloud_client_secret (a service account under "
                    "Organization IAM > Service accounts)"
                    % (self.params["cloud_auth_url"], exc.status, exc.detail or "denied")
                ) from None
            raise
        token = (body or {}).get("access_token")
        if not token:
            raise RedpandaError(
                "the Redpanda Cloud auth endpoint %s answered without an "
                "access_token" % self.params["cloud_auth_url"]
            )
        self._token = token
        return token

    @property
    def data(self):
        if self._data is None:
            if not self.dataplane_url:
                self.dataplane_url = self._discover()
            self._data = HttpApi(
                "Redpanda Cloud Data Plane API",
                self.dataplane_url,
                self.params,
                self.counter,
                bearer=self.token,
            )
        return self._data

    def _discover(self):
        cluster = quote(self.params["cloud_cluster_id"], safe="")
        for path, template, wrapper in (
            (
                "/v1/serverless/clusters/" + cluster,
                "/v1/serverless/clusters/{id}",
                "serverless_cluster",
            ),
            ("/v1/clusters/" + cluster, "/v1/clusters/{id}", "cluster"),
        ):
            try:
                _status, body = self.control.call("GET", path, template=template)
            except HttpApiError as exc:
                if exc.status == 404:
                    continue
                raise self._explain(
                    exc, "looking up cluster %r" % self.params["cloud_cluster_id"]
                ) from None
            body = body or {}
            info = body.get(wrapper) if isinstance(body.get(wrapper), dict) else body
            url = ((info or {}).get("dataplane_api") or {}).get("url")
            if url:
                return url
            raise RedpandaError(
                "cluster %r has no Data Plane API URL yet (state %s); wait until "
                "it is ready or give cloud_dataplane_url"
                % (self.params["cloud_cluster_id"], (info or {}).get("state"))
            )
        raise RedpandaError(
            "no Redpanda Cloud cluster with id %r (neither serverless nor "
            "dedicated) is visible to this service account: check "
            "cloud_cluster_id" % self.params["cloud_cluster_id"]
        )

    @staticmethod
    def _explain(exc, what):
        if isinstance(exc, HttpApiError) and exc.status in (401, 403):
            return RedpandaError(
                "Redpanda Cloud refused %s (HTTP %s: %s): the service account "
                "token is not valid for this organization or lacks permission"
                % (what, exc.status, exc.detail or "unauthorized")
            )
        return exc

    def list_users(self):
        users, token = {}, None
        while True:
            query = {"page_size": 1000}
            if token:
                query["page_token"] = token
            try:
                _status, body = self.data.call("GET", "/v1/users", query=query)
            except RedpandaError as exc:
                raise self._explain(exc, "listing users") from None
            body = body or {}
            for user in body.get("users") or []:
                mech = user.get("mechanism")
                mechs = {}
                for name, value in CLOUD_MECHANISMS.items():
                    if mech == value:
                        mechs[name] = None
                users[user.get("name")] = dict(mechanisms=mechs)
            token = body.get("next_page_token")
            if not token:
                return users

    def apply(self, changes, passwords, iterations):
        done = []
        for change in changes:
            name = change["name"]
            path = "/v1/users/" + quote(name, safe="")
            try:
                if change["action"] == "delete":
                    try:
                        self.data.call("DELETE", path, template="/v1/users/{name}")
                    except HttpApiError as exc:
                        if exc.status != 404:  # already gone is what was asked for
                            raise
                elif change["action"] == "create":
                    self.data.call(
                        "POST",
                        "/v1/users",
                        body=dict(
                            name=name,
                            password=passwords[name],
                            mechanism=CLOUD_MECHANISMS[change["set_mechanisms"][0]],
                        ),
                    )
                elif change["set_mechanisms"]:
                    self.data.call(
                        "PUT",
                        path,
                        template="/v1/users/{user.name}",
                        body=dict(
                            name=name,
                            password=passwords[name],
                            mechanism=CLOUD_MECHANISMS[change["set_mechanisms"][0]],
                        ),
                    )
            except RedpandaError as exc:
                exc = self._explain(exc, "%s of user %r" % (change["action"], name))
                exc.partial = done
                raise exc
            done.append(name)


# --------------------------------------------------------------------------------------------
# The module base class
# --------------------------------------------------------------------------------------------


class RedpandaModule(AnsibleModule):
    """AnsibleModule with the shared connection options, a lazy Kafka client, a request counter
    and result helpers. Modules declare what they manage; this class and the helpers above do it.
    """

    def __init__(self, argument_spec=None, user_backends=False, **kwargs):
        spec = connection_argument_spec()
        if user_backends:
            spec.update(user_backend_argument_spec())
        spec.update(argument_spec or {})
        kwargs.setdefault("supports_check_mode", True)
        super(RedpandaModule, self).__init__(argument_spec=spec, **kwargs)
        self.counter = RequestCounter()
        self._kafka = None

    def require_kafka_lib(self):
        if not HAS_CONFLUENT_KAFKA:
            self.fail_json(
                msg=missing_required_lib("confluent-kafka"), exception=KAFKA_IMPORT_ERROR
            )

    @property
    def kafka(self):
        if self._kafka is None:
            self.require_kafka_lib()
            self._kafka = KafkaAdmin(self.params, self.counter)
        return self._kafka

    def user_backend(self):
        backend = self.params.get("backend") or "kafka"
        if backend == "kafka":
            return KafkaUsers(self.kafka)
        if backend == "admin_api":
            return AdminApiUsers(self.params, self.counter)
        return CloudUsers(self.params, self.counter)

    def can_check_passwords(self):
        """A password can be checked by logging in over the Kafka protocol with SCRAM."""
        p = self.params
        return (
            bool(p.get("bootstrap_servers"))
            and p["security_protocol"].startswith("SASL")
            and HAS_CONFLUENT_KAFKA
        )

    def exit_redpanda(self, **result):
        result["requests"] = self.counter.result()
        self.exit_json(**result)

    def fail_redpanda(self, error, **result):
        result["requests"] = self.counter.result()
        if getattr(error, "partial", None):
            result["partial"] = error.partial
            result["changed"] = True
        self.fail_json(msg=error.msg if isinstance(error, RedpandaError) else str(error), **result)
