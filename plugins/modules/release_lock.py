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
  kubeconfig:
    description:
      - Path to a kubeconfig. Without it, C(K8S_AUTH_KUBECONFIG), then the in-cluster service
        account, then C(~/.kube/config) are used.
    type: path
  context:
    description: Context of the kubeconfig to use (default the current one).
    type: str
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

import datetime
import json
import os
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.rest import ApiException

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

PURPOSE = "hackathon-todo.dev/purpose"
MICROTIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def fmt(ts):
    return ts.strftime(MICROTIME)


def parse(value):
    if not value:
        return None
    value = value.rstrip("Z")
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.datetime.strptime(value, pattern).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            pass
    return None


def expires_at(lease):
    """When a lease stops being valid; None when nobody holds it."""
    spec = lease.get("spec") or {}
    if not spec.get("holderIdentity"):
        return None
    renewed = parse(spec.get("renewTime")) or parse(spec.get("acquireTime"))
    if renewed is None:
        return now()  # a holder without a time is treated as expired
    return renewed + datetime.timedelta(seconds=spec.get("leaseDurationSeconds") or 0)


def summary(lease):
    if not lease:
        return {}
    spec = lease.get("spec") or {}
    meta = lease.get("metadata") or {}
    return dict(
        name=meta.get("name"),
        namespace=meta.get("namespace"),
        holderIdentity=spec.get("holderIdentity") or "",
        leaseDurationSeconds=spec.get("leaseDurationSeconds"),
        acquireTime=spec.get("acquireTime"),
        renewTime=spec.get("renewTime"),
        purpose=(meta.get("annotations") or {}).get(PURPOSE, ""),
    )


class Conflict(Exception):
    """Someone else wrote the Lease between our read and our write."""


class Leases(object):
    """The few Lease calls we need, as plain dicts (the typed client mangles MicroTime)."""

    def __init__(self, module):
        self.module = module
        p = module.params
        kubeconfig = p["kubeconfig"] or os.environ.get("K8S_AUTH_KUBECONFIG")
        try:
            if kubeconfig:
                api = k8s_config.new_client_from_config(
                    config_file=kubeconfig, context=p["context"]
                )
            else:
                try:
                    k8s_config.load_incluster_config()
                    api = k8s_client.ApiClient()
                except k8s_config.ConfigException:
                    api = k8s_config.new_client_from_config(context=p["context"])
        except Exception as exc:  # the client raises many kinds for a bad kubeconfig
            module.fail_json(
                msg="cannot load the kubeconfig %s: %s" % (kubeconfig or "(default)", exc)
            )
        self.api = k8s_client.CoordinationV1Api(api)
        self.ns = p["namespace"]
        self.name = p["name"]

    def _call(self, fn, *args, **kwargs):
        try:
            resp = fn(*args, _preload_content=False, _request_timeout=30, **kwargs)
            return json.loads(resp.data)
        except ApiException as exc:
            if exc.status == 409:
                raise Conflict() from None
            if exc.status == 404:
                return None
            self.module.fail_json(
                msg="Lease %s/%s: the API server answered %s %s: %s"
                % (self.ns, self.name, exc.status, exc.reason, (exc.body or "")[:500])
            )
        except Exception as exc:  # connection refused, TLS, DNS: say which and where
            self.module.fail_json(
                msg="Lease %s/%s: cannot reach the Kubernetes API server: %s"
                % (self.ns, self.name, exc)
            )

    def get(self):
        return self._call(self.api.read_namespaced_lease, self.name, self.ns)

    def create(self, body):
        out = self._call(self.api.create_namespaced_lease, self.ns, body)
        if out is None:
            self.module.fail_json(
                msg="namespace %s does not exist: cannot create the release lock there" % self.ns
            )
        return out

    def replace(self, body):
        out = self._call(self.api.replace_namespaced_lease, self.name, self.ns, body)
        if out is None:
            raise Conflict()  # deleted meanwhile: start over
        return out


def lease_body(name, namespace, holder, ttl, purpose, acquired, renewed, resource_version=None):
    meta = dict(
        name=name,
        namespace=namespace,
        labels={"app.kubernetes.io/managed-by": "hackathon_todo.deploy"},
        annotations={PURPOSE: purpose},
    )
    if resource_version:
        meta["resourceVersion"] = resource_version
    spec = dict(
        holderIdentity=holder or None,
        leaseDurationSeconds=ttl,
        acquireTime=fmt(acquired) if acquired else None,
        renewTime=fmt(renewed) if renewed else None,
    )
    return dict(apiVersion="coordination.k8s.io/v1", kind="Lease", metadata=meta, spec=spec)


def acquire(module, leases, result):
    p = module.params
    started = time.monotonic()
    while True:
        lease = leases.get()
        current = ((lease or {}).get("spec") or {}).get("holderIdentity") or ""
        result["previous_holder"] = current
        expiry = expires_at(lease) if lease else None
        stamp = now()
        if lease is not None and current and current != p["holder"] and expiry > stamp:
            # held by someone else, and valid
            waited = time.monotonic() - started
            result["waited"] = round(waited, 1)
            if module.check_mode or waited >= p["wait_timeout"]:
                info = summary(lease)
                msg = (
                    "the release lock %s/%s is held by %s (%s) since %s; it expires at %s unless renewed. "
                    % (
                        p["namespace"],
                        p["name"],
                        current,
                        info["purpose"] or "no purpose given",
                        info["acquireTime"],
                        fmt(expiry),
                    )
                )
                if module.check_mode:
                    result.update(
                        held=False,
                        current_holder=current,
                        lease=info,
                        msg=msg + "Check mode does not wait for it.",
                    )
                    module.exit_json(**result)
                module.fail_json(
                    msg=msg
                    + "Waited %d s (wait_timeout). Another release of this environment is running: "
                    "wait for it to finish, or if it was killed, run again after its lock expires."
                    % waited,
                    **result,
                )
            time.sleep(min(p["poll_interval"], max(0.1, p["wait_timeout"] - waited)))
            continue

        result["took_over"] = bool(current) and current != p["holder"]
        mine = current == p["holder"]
        acquired_at = parse(((lease or {}).get("spec") or {}).get("acquireTime")) if mine else stamp
        body = lease_body(
            p["name"],
            p["namespace"],
            p["holder"],
            p["ttl"],
            p["purpose"],
            acquired_at or stamp,
            stamp,
            (lease or {}).get("metadata", {}).get("resourceVersion"),
        )
        result["changed"] = True
        if module.check_mode:
            result.update(held=True, current_holder=p["holder"], lease=summary(body))
            return
        try:
            out = leases.replace(body) if lease is not None else leases.create(body)
        except Conflict:
            continue  # lost a race: look again
        result.update(held=True, current_holder=p["holder"], lease=summary(out))
        result["waited"] = round(time.monotonic() - started, 1)
        return


def renew(module, leases, result):
    p = module.params
    while True:
        lease = leases.get()
        current = ((lease or {}).get("spec") or {}).get("holderIdentity") or ""
        result["previous_holder"] = current
        if current != p["holder"]:
            module.fail_json(
                msg="cannot renew the release lock %s/%s: it is held by %s, not by %s (it expired and "
                "was taken over, or was never acquired)"
                % (p["namespace"], p["name"], current or "nobody", p["holder"]),
                **result,
            )
        spec = lease["spec"]
        body = lease_body(
            p["name"],
            p["namespace"],
            p["holder"],
            p["ttl"],
            p["purpose"] or (lease["metadata"].get("annotations") or {}).get(PURPOSE, ""),
            parse(spec.get("acquireTime")) or now(),
            now(),
            lease["metadata"]["resourceVersion"],
        )
        result["changed"] = True
        if module.check_mode:
            result.update(held=True, current_holder=current, lease=summary(body))
            return
        try:
            out = leases.replace(body)
        except Conflict:
            continue
        result.update(held=True, current_holder=current, lease=summary(out))
        return


def release(module, leases, result):
    p = module.params
    while True:
        lease = leases.get()
        current = ((lease or {}).get("spec") or {}).get("holderIdentity") or ""
        result["previous_holder"] = current
        if current != p["holder"]:
            result.update(held=False, current_holder=current, lease=summary(lease))
            if current:
                module.warn(
                    "the release lock %s/%s is held by %s, not by %s: left alone"
                    % (p["namespace"], p["name"], current, p["holder"])
                )
            return
        # Keep the Lease (its purpose says what ran last); clear the holder so it is free.
        body = lease_body(
            p["name"],
            p["namespace"],
            None,
            lease["spec"].get("leaseDurationSeconds") or p["ttl"],
            (lease["metadata"].get("annotations") or {}).get(PURPOSE, ""),
            None,
            None,
            lease["metadata"]["resourceVersion"],
        )
        result["changed"] = True
        if module.check_mode:
            result.update(held=False, current_holder="", lease=summary(body))
            return
        try:
            out = leases.replace(body)
        except Conflict:
            continue
        result.update(held=False, current_holder="", lease=summary(out))
        return


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
            kubeconfig=dict(type="path"),
            context=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    p = module.params
    if not p["holder"].strip():
        module.fail_json(msg="holder must not be empty")
    if p["ttl"] < 1:
        module.fail_json(msg="ttl must be at least 1 second")
    result = dict(
        changed=False,
        held=False,
        holder=p["holder"],
        current_holder="",
        previous_holder="",
        took_over=False,
        waited=0.0,
        lease={},
    )
    leases = Leases(module)
    {"acquired": acquire, "renewed": renew, "released": release}[p["state"]](module, leases, result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
