# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A kubeconfig file on the controller: written private (mode 0600, atomically) and only when it
must be. DigitalOcean issues new credentials with every kubeconfig it serves, so a file whose
clusters, contexts and users are unchanged is current until half its credentials' lifetime has
passed. Used by doks_cluster (bootstrap) and doks_kubeconfig (a release's own credentials)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import tempfile
import time

from ansible.module_utils.common.text.converters import to_bytes

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False

CREDENTIAL_KEYS = ("token", "client-certificate-data", "client-key-data", "password")
# What DigitalOcean gives a kubeconfig requested without expiry_seconds.
DEFAULT_CREDENTIAL_LIFETIME = 7 * 24 * 3600


def strip_credentials(doc):
    """The kubeconfig without user credentials (they differ on every API request)."""
    doc = copy.deepcopy(doc)
    for user in (doc or {}).get("users") or []:
        fields = (user or {}).get("user") or {}
        for key in CREDENTIAL_KEYS:
            fields.pop(key, None)
    return doc


def write_reason(path, new_text, refresh_after, now=None):
    """Why the file must be (re)written, or None when it is current."""
    if not os.path.exists(path):
        return "missing"
    with open(path, "rb") as handle:
        old_text = handle.read().decode("utf-8", "replace")
    if old_text == new_text:
        return None
    if not HAS_YAML:
        return "content differs"
    try:
        old_doc = yaml.safe_load(old_text)
        new_doc = yaml.safe_load(new_text)
    except yaml.YAMLError:
        return "content differs (the file is not valid YAML)"
    if not isinstance(old_doc, dict) or strip_credentials(old_doc) != strip_credentials(new_doc):
        return "cluster, context or user entries differ"
    age = (now or time.time()) - os.stat(path).st_mtime
    if age > refresh_after:
        return "credentials are %d s old (renewed after %d s)" % (age, refresh_after)
    return None


def write_private(path, text, atomic_move):
    """Write text to path with mode 0600 (missing directories 0700); atomic_move(tmp, path) is
    AnsibleModule.atomic_move, which keeps the mode of a file it replaces."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    if os.path.exists(path):
        os.chmod(path, 0o600)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".kubeconfig-")
    try:
        os.write(fd, to_bytes(text))
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    atomic_move(tmp, path)
    os.chmod(path, 0o600)


def mode_of(path):
    return os.stat(path).st_mode & 0o777
