#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: release_lock
short_description: Hold a per-environment release lock (a coordination.k8s.io/v1 Lease)
version_added: 0.1.0
description:
  - A mutual-exclusion lock for releases, kept as a C(coordination.k8s.io/v1) Lease in the
    environment's namespace, so two releases of one environment (two AWX jobs, CI and a human)
    never overlap.
  - O(state=acquired) takes the lock. When another holder has it, the module polls until the lock
    is free or O(wait_timeout) has passed, then fails with a message naming the holder, what it is
    doing and when its lock expires.
  - A lock whose holder stopped renewing it for longer than its TTL (a killed run) is stale and is
    taken over; the result says so and names the previous holder.
  - O(state=renewed) extends the lock the caller holds (fails when someone else took it);
    O(state=released) gives it up (a lock held by someone else is left alone).
  - Every write is a compare-and-swap on the Lease's C(resourceVersion), so two callers racing for
    a free lock cannot both win.
author:
  - hackathon-todo platform team (@hackathon-todo)
extends_documentation_fragment:
  - hackathon_todo.deploy.attributes
  - hackathon_todo.deploy.kubernetes
attributes:
  check_mode:
    support: full
    details:
      - Reads the Lease and reports what would happen; writes nothing and never waits.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - Acquiring a lock the caller already holds renews it, which updates its renew time.
requirements:
  - kubernetes (the Python client)
options:
  name:
    description: Name of the Lease.
    type: str
    default: hackathon-todo-release
  namespace:
    description: Namespace of the Lease, normally the environment's namespace.
    type: str
    required: true
  holder:
    description:
      - Identity of the caller, stored as the Lease's C(holderIdentity). Use one value for the
        whole release (for example C(user@host/run-id)), so the same run can renew and release it.
    type: str
    required: true
  state:
    description:
      - V(acquired) takes the lock (waiting for it), V(renewed) extends the caller's lock,
        V(released) gives it up.
    type: str
    choices: [acquired, renewed, released]
    default: acquired
  ttl:
    description:
      - Seconds the lock stays valid without renewal (the Lease's C(leaseDurationSeconds)). After
        that, another caller takes it over. Make it longer than the longest step between renewals.
    type: int
    default: 900
  wait_timeout:
    description: Seconds O(state=acquired) waits for a lock held by someone else before it fails.
    type: int
    default: 300
  poll_interval:
    description: Seconds between two looks at a lock held by someone else.
    type: float
    default: 2.0
  purpose:
    description:
      - What the holder is doing (for example C(release v1.2.0)); stored in the Lease's annotation
        C(hackathon-todo.dev/purpose) and shown to whoever waits for the lock.
    type: str
    default: ""
seealso:
  - name: Leases
    description: Kubernetes documentation of the Lease object.
    link: https://kubernetes.io/docs/concepts/architecture/leases/
"""

EXAMPLES = r"""
- name: Take the release lock of production (wait up to 10 minutes)
  hackathon_todo.deploy.release_lock:
    namespace: production
    holder: "{{ lookup('ansible.builtin.env', 'USER') }}@ci/{{ run_id }}"
    purpose: release v1.2.0
    ttl: 900
    wait_timeout: 600
  register: lock

- name: Extend it between long steps
  hackathon_todo.deploy.release_lock:
    namespace: production
    holder: "{{ lock.holder }}"
    state: renewed

- name: Give it up
  hackathon_todo.deploy.release_lock:
    namespace: production
    holder: "{{ lock.holder }}"
    state: released
"""

RETURN = r"""
held:
  description: Whether the caller holds the lock after the call (in check mode, whether it would).
  returned: always
  type: bool
  sample: true
holder:
  description: The caller's identity (O(holder)).
  returned: always
  type: str
  sample: alice@laptop/4f2a
current_holder:
  description: Who holds the lock after the call; empty when nobody does.
  returned: always
  type: str
  sample: alice@laptop/4f2a
previous_holder:
  description: The holder before the call; empty when the lock was free.
  returned: always
  type: str
  sample: ci@runner-7/91ab
took_over:
  description: Whether a stale lock (not renewed within its TTL) was taken over.
  returned: always
  type: bool
  sample: false
waited:
  description: Seconds spent waiting for another holder.
  returned: always
  type: float
  sample: 0.0
lease:
  description: The Lease after the call (its spec and annotations); empty when there is none.
  returned: always
  type: dict
  sample:
    name: hackathon-todo-release
    namespace: production
    holderIdentity: alice@laptop/4f2a
    leaseDurationSeconds: 900
    acquireTime: "2026-01-05T10:00:00.000000Z"
    renewTime: "2026-01-05T10:00:00.000000Z"
    purpose: release v1.2.0
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kube_options import (
    kube_argument_spec,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kube import (
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    Kube,
    KubeUnreachable,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._lease import (
    LeaseLock,
    LockError,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", default="hackathon-todo-release"),
            namespace=dict(type="str", required=True),
            holder=dict(type="str", required=True),
            state=dict(type="str", default="acquired", choices=["acquired", "renewed", "released"]),
            ttl=dict(type="int", default=900),
            wait_timeout=dict(type="int", default=300),
            poll_interval=dict(type="float", default=2.0),
            purpose=dict(type="str", default=""),
            **kube_argument_spec(),
        ),
        supports_check_mode=True,
    )
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    p = module.params
    result = {}
    try:
        lock = LeaseLock(
            Kube(p["kubeconfig"], p["context"]),
            p["namespace"],
            p["name"],
            p["holder"],
            ttl=p["ttl"],
            purpose=p["purpose"],
        )
        result = lock.new_result()
        if p["state"] == "acquired":
            result = lock.acquire(p["wait_timeout"], p["poll_interval"], module.check_mode)
        elif p["state"] == "renewed":
            result = lock.renew(module.check_mode)
        else:
            result = lock.release(module.check_mode)
    except KubeUnreachable as exc:
        module.fail_json(msg=str(exc))
    except LockError as exc:
        result.update(exc.result)
        module.fail_json(msg=exc.msg, **result)
    for warning in lock.warnings:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
