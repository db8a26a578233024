# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's conventions: the names and rules that several roles, playbooks and modules
share, defined here once.

Roles and playbooks read them through the `hackathon_todo.deploy.convention` lookup, modules and
their documentation (doc_fragments/conventions.py) import them. Renaming a thing here renames it
everywhere; nothing else spells these values out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The environments, each a namespace of its own. The primary one keeps the bare names (Helm
# release, topics); the others carry their name as a prefix or suffix.
ENVIRONMENTS = ("staging", "production")
PRIMARY_ENVIRONMENT = "production"

# The app's Helm release: `todo-app` in the primary environment, `todo-app-<env>` elsewhere.
RELEASE_BASE_NAME = "todo-app"

# The Secrets every environment's namespace holds (redpanda_secrets writes them, the release
# checks and mounts them).
SECRET_NAME = "app-secrets"  # noqa: S105 - a Secret's name, not a secret
PULL_SECRET_NAME = "ghcr-pull-secret"  # noqa: S105 - a Secret's name, not a secret

# Kubernetes minors the collection is tested with; the API server must report one of them.
SUPPORTED_MINORS = ("1.34", "1.35", "1.36")

# Image tags: any OCI tag outside production; in production only immutable ones (a release
# version or a commit), as the chart's values schema enforces too.
# The AWX release surveys offer the immutable tags (staging) and the version tags (production).
TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
_VERSION_TAG = r"v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?"
_COMMIT_TAG = r"sha-[0-9a-f]{7,40}"
IMMUTABLE_TAG_PATTERN = r"^(%s|%s)$" % (_VERSION_TAG, _COMMIT_TAG)
VERSION_TAG_PATTERN = r"^%s$" % _VERSION_TAG

# The app's public host under the inventory's domain.
HOST_LABEL = "todo"


def _known(environment):
    if not environment or not isinstance(environment, str):
        raise ValueError("an environment name is required (one of %s)" % ", ".join(ENVIRONMENTS))
    return environment


def release_name(environment):
    """The Helm release of the app in an environment."""
    env = _known(environment)
    return RELEASE_BASE_NAME if env == PRIMARY_ENVIRONMENT else "%s-%s" % (RELEASE_BASE_NAME, env)


def host(environment, domain):
    """The app's public host name: todo.<domain>, or <env>.todo.<domain>."""
    env = _known(environment)
    if env == PRIMARY_ENVIRONMENT:
        return "%s.%s" % (HOST_LABEL, domain)
    return "%s.%s.%s" % (env, HOST_LABEL, domain)


def dns_record(environment):
    """The host's record name relative to the domain (the DNS zone's record)."""
    env = _known(environment)
    return HOST_LABEL if env == PRIMARY_ENVIRONMENT else "%s.%s" % (env, HOST_LABEL)


def dns_records():
    """Every environment's record, the primary one first."""
    ordered = [PRIMARY_ENVIRONMENT] + [e for e in ENVIRONMENTS if e != PRIMARY_ENVIRONMENT]
    return [dns_record(e) for e in ordered]


def topic_prefix(environment):
    """Topics: the primary environment's are bare, every other's carry `<env>-`."""
    env = _known(environment)
    return "" if env == PRIMARY_ENVIRONMENT else "%s-" % env


def group_prefix(environment):
    """Consumer groups always carry `<env>-` (Dapr's consumerID is `<prefix>{appID}`)."""
    return "%s-" % _known(environment)


def service_account(environment):
    """The environment's broker account (SCRAM user)."""
    return "%s-%s" % (_known(environment), RELEASE_BASE_NAME)


def newest_minor():
    """The newest supported minor, as `helm template --kube-version` takes it."""
    return max(SUPPORTED_MINORS, key=lambda m: tuple(int(x) for x in m.split(".")))


CONSTANTS = {
    "environments": list(ENVIRONMENTS),
    "primary_environment": PRIMARY_ENVIRONMENT,
    "secret_name": SECRET_NAME,
    "pull_secret_name": PULL_SECRET_NAME,
    "supported_minors": list(SUPPORTED_MINORS),
    "newest_minor": newest_minor(),
    "tag_pattern": TAG_PATTERN,
    "immutable_tag_pattern": IMMUTABLE_TAG_PATTERN,
    "version_tag_pattern": VERSION_TAG_PATTERN,
    "dns_records": dns_records(),
}

PER_ENVIRONMENT = {
    "release_name": release_name,
    "topic_prefix": topic_prefix,
    "group_prefix": group_prefix,
    "service_account": service_account,
    "dns_record": dns_record,
}


def convention(name, environment=None, domain=None):
    """Look one convention up by name (what the lookup plugin answers)."""
    if name in CONSTANTS:
        return CONSTANTS[name]
    if name == "host":
        if not domain:
            raise ValueError("the convention 'host' needs a domain")
        return host(environment, domain)
    if name in PER_ENVIRONMENT:
        return PER_ENVIRONMENT[name](environment)
    known = sorted(list(CONSTANTS) + list(PER_ENVIRONMENT) + ["host"])
    raise ValueError("no convention named %r; known: %s" % (name, ", ".join(known)))
