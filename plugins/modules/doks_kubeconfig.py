#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: doks_kubeconfig
short_description: Short-lived credentials for an existing DigitalOcean Kubernetes cluster
version_added: 0.1.0
description:
  - Finds the DOKS cluster O(cluster_name) with the DigitalOcean API token. It then writes the
    cluster's kubeconfig to O(path), mode C(0600), with credentials that expire after
    O(expiry_seconds) (C(GET /v2/kubernetes/clusters/{id}/kubeconfig?expiry_seconds=N)).
  - It only reads from DigitalOcean. It never creates or changes a cluster; that is
    M(hackathon_todo.deploy.doks_cluster)'s job (C(bootstrap.yml)).
  - Made for runs that start on a machine with no kubeconfig, such as a GitHub Actions runner or
    an AWX execution environment. The release takes its own credentials at the start and removes
    them at the end (O(state=absent)).
  - A file whose clusters, contexts and users are what the API serves is left alone until half
    of O(expiry_seconds) has passed. Then it is rewritten with new credentials.
author:
  - hackathon-todo platform team (@hackathon-todo)
extends_documentation_fragment:
  - hackathon_todo.deploy.attributes
  - hackathon_todo.deploy.digitalocean
attributes:
  check_mode:
    support: full
    details:
      - Reads the API and reports whether the file would be written or removed, and writes
        nothing. A release in check mode still needs credentials to read the cluster, so the
        collection's playbooks run this task with C(check_mode=false). The file is the run's own
        and is removed at the end.
  diff_mode:
    support: none
    details:
      - The file holds credentials; no diff of it is ever shown.
  idempotent:
    support: full
    details:
      - A second run inside half the credentials' lifetime reports no change.
options:
  cluster_name:
    description: Name of the DOKS cluster (clusters are found by name).
    type: str
    required: true
  path:
    description: Where the kubeconfig goes. Missing directories are created with mode C(0700).
    type: path
    required: true
  state:
    description:
      - V(present) writes the kubeconfig (or leaves a current one). V(absent) removes the file
        and does not call the API, so it needs no token.
    type: str
    choices: [present, absent]
    default: present
  expiry_seconds:
    description:
      - Lifetime of the credentials in seconds. Choose one longer than the longest run that
        uses them. V(0) asks for DigitalOcean's default lifetime (seven days).
    type: int
    default: 3600
notes:
  - The credentials are never returned or logged. The result names the file, the cluster and
    when the credentials expire.
seealso:
  - module: hackathon_todo.deploy.doks_cluster
    description: Creates and updates the cluster, and can keep a kubeconfig for it too.
  - name: DigitalOcean API, retrieve the kubeconfig for a Kubernetes cluster
    description: The endpoint and its C(expiry_seconds) parameter.
    link: https://docs.digitalocean.com/reference/api/digitalocean/#tag/Kubernetes/operation/kubernetes_get_kubeconfig
"""

EXAMPLES = r"""
- name: Credentials for this run (one hour)
  hackathon_todo.deploy.doks_kubeconfig:
    cluster_name: hackathon-todo
    path: "{{ lookup('ansible.builtin.env', 'RUNNER_TEMP') }}/hackathon-todo.kubeconfig"
    expiry_seconds: 3600
  register: credentials

- name: Give them up
  hackathon_todo.deploy.doks_kubeconfig:
    cluster_name: hackathon-todo
    path: "{{ credentials.path }}"
    state: absent
"""

RETURN = r"""
path:
  description: The kubeconfig file.
  returned: always
  type: str
  sample: /home/runner/work/_temp/hackathon-todo.kubeconfig
cluster_id:
  description: ID of the cluster, V(null) with O(state=absent).
  returned: always
  type: str
  sample: bd5f5959-5e1e-4205-a714-a914373942af
reason:
  description: Why the file was written or removed, V(null) when it was left alone.
  returned: always
  type: str
  sample: missing
expires_at:
  description:
    - When the credentials written now expire (UTC). V(null) when nothing was written, or with
      O(expiry_seconds=0).
  returned: always
  type: str
  sample: "2026-12-07T11:00:00Z"
"""

import datetime
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _kubeconfig as kubeconfig
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._digitalocean import (
    DigitalOceanClient,
    DigitalOceanError,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._doks import (
    DeclarationError,
    doks_argument_spec,
    find_cluster,
)


def argument_spec():
    return doks_argument_spec(
        cluster_name=dict(type="str", required=True),
        path=dict(type="path", required=True),
        expiry_seconds=dict(type="int", default=3600),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    path = p["path"]
    result = dict(changed=False, path=path, cluster_id=None, reason=None, expires_at=None)

    if p["state"] == "absent":
        if os.path.lexists(path):
            result.update(changed=True, reason="removed")
            if not module.check_mode:
                os.remove(path)
        module.exit_json(**result)

    if p["expiry_seconds"] < 0:
        module.fail_json(
            msg="expiry_seconds must be 0 (DigitalOcean's default) or more, not %s"
            % p["expiry_seconds"],
            **result,
        )
    client = DigitalOceanClient.from_module(module)
    try:
        cluster = find_cluster(client, p["cluster_name"])
        if cluster is None:
            raise DeclarationError(
                "No DOKS cluster named %s in this DigitalOcean account: create it with "
                "bootstrap.yml (the cluster role), or check htd_cluster_name and the token's "
                "team. Nothing was written." % p["cluster_name"]
            )
        state = (cluster.get("status") or {}).get("state")
        if state != "running":
            raise DeclarationError(
                "Cluster %s is %s, not running: its API server cannot be used yet. Nothing was "
                "written." % (p["cluster_name"], state)
            )
        params = dict(expiry_seconds=p["expiry_seconds"]) if p["expiry_seconds"] else None
        text = client.get_text("/kubernetes/clusters/%s/kubeconfig" % cluster["id"], params=params)
    except DeclarationError as exc:
        module.fail_json(msg=to_native(exc), **result)
    except DigitalOceanError as exc:
        module.fail_json(msg=to_native(exc), **dict(result, **exc.to_result()))

    result["cluster_id"] = cluster["id"]
    lifetime = p["expiry_seconds"] or kubeconfig.DEFAULT_CREDENTIAL_LIFETIME
    reason = kubeconfig.write_reason(path, text, lifetime // 2)
    if reason is None and kubeconfig.mode_of(path) != 0o600:
        reason = "mode %04o, not 0600" % kubeconfig.mode_of(path)
    if reason:
        result.update(changed=True, reason=reason)
        if p["expiry_seconds"]:
            expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
                seconds=p["expiry_seconds"]
            )
            result["expires_at"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        if not module.check_mode:
            kubeconfig.write_private(path, text, module.atomic_move)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
