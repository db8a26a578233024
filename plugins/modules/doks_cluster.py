#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: doks_cluster
short_description: Manage a DigitalOcean Kubernetes (DOKS) cluster and its node pools declaratively
description:
  - Creates a DOKS cluster, or brings an existing one (found by O(name)) to the declared state,
    or deletes it.
  - "Node pools are compared with what runs: mutable fields (O(node_pools[].count),
    O(node_pools[].auto_scale), O(node_pools[].min_nodes), O(node_pools[].max_nodes),
    O(node_pools[].tags), O(node_pools[].labels), O(node_pools[].taints)) are reconciled with
    C(PUT /v2/kubernetes/clusters/{id}/node_pools/{pool_id}); a declared pool that is missing is
    added with C(POST .../node_pools); pools that are not declared are reported and deleted only
    with O(prune_node_pools=true)."
  - A change DigitalOcean cannot make in place (a pool's O(node_pools[].size), the O(region), the
    VPC, a version downgrade, turning HA off) fails with a message that says how to get there,
    and nothing is changed, for every declared item.
  - Cluster-level settings (O(auto_upgrade), O(surge_upgrade), O(maintenance_policy), O(ha) from
    false to true, O(tags)) are reconciled with one C(PUT /v2/kubernetes/clusters/{id}).
  - With O(kubeconfig_path) the kubeconfig is fetched from
    C(GET /v2/kubernetes/clusters/{id}/kubeconfig) and written with mode C(0600), on the first
    create as on later runs. The content is never returned.
  - All reads are C(GET)s; check mode sends nothing else and reports exactly the changes a real
    run would make (the C(changes) list).
author:
  - hackathon-todo platform team (@hackathon-todo)
version_added: 0.1.0
extends_documentation_fragment:
  - hackathon_todo.deploy.attributes
  - hackathon_todo.deploy.digitalocean
  - hackathon_todo.deploy.digitalocean.node_pool
attributes:
  check_mode:
    support: full
    details: Only C(GET) requests are sent; the result lists the changes a real run would make.
  diff_mode:
    support: full
    details: Before and after of the declared fields (never the kubeconfig content).
  idempotent:
    support: full
options:
  name:
    description:
      - Name of the cluster. Clusters are found by name, so it must be unique in the team.
    type: str
    required: true
  state:
    description:
      - C(present) creates or reconciles the cluster, C(absent) deletes it (only with
        O(allow_deletion=true)).
    type: str
    default: present
    choices: [present, absent]
  region:
    description:
      - Region slug, for example C(nyc1). Required with O(state=present). Checked against
        C(GET /v2/kubernetes/options) when the cluster is created; a cluster cannot move.
    type: str
  version:
    description:
      - Kubernetes version. Required with O(state=present).
      - A full DigitalOcean slug such as C(1.36.1-do.0) pins that exact release; it must be
        offered by C(GET /v2/kubernetes/options) (C(doctl kubernetes options versions)).
      - A prefix such as C(1.36) (or C(1.36.1)) means the whole line. A new cluster gets the
        newest offered slug of the line, and an existing cluster on any release of the line is
        left as it is (with O(auto_upgrade=true) DigitalOcean moves it to new patches itself).
      - A declared version newer than the running one is an upgrade, done with
        C(POST /v2/kubernetes/clusters/{id}/upgrade) only when O(allow_upgrade=true). A declared
        version older than the running one is an error (DigitalOcean cannot downgrade), except
        that a cluster DigitalOcean auto-upgraded to a newer patch of the declared minor version
        is accepted with a warning when O(auto_upgrade) is on.
    type: str
  node_pools:
    description:
      - The worker node pools. Required with O(state=present). Pools are matched by name.
      - The same list as O(hackathon_todo.deploy.doks_cost_estimate#module:node_pools), so one
        variable can serve both.
  auto_upgrade:
    description:
      - Let DigitalOcean upgrade the cluster to new patch releases in the maintenance window.
        Unset means "not managed".
    type: bool
  surge_upgrade:
    description:
      - Bring up new nodes before old ones are removed during upgrades. Unset means "not managed".
    type: bool
  maintenance_policy:
    description:
      - Maintenance window for upgrades. Unset means "not managed"; only the given keys are
        compared.
    type: dict
    suboptions:
      start_time:
        description: Start of the window in UTC, C(HH:MM).
        type: str
      day:
        description: Day of the window.
        type: str
        choices: [any, monday, tuesday, wednesday, thursday, friday, saturday, sunday]
  ha:
    description:
      - Highly available control plane (billed separately). It can be turned on for an existing
        cluster but never off.
      - Unset means "not managed", and a new cluster gets DigitalOcean's default, which depends
        on the version (on for 1.36 and later according to the API reference).
    type: bool
  vpc_uuid:
    description:
      - VPC of the cluster. Used at creation; an existing cluster in another VPC is an error.
    type: str
  tags:
    description:
      - Tags of the cluster. Unset means "not managed". C(k8s) and C(k8s:<cluster id>), which
        DigitalOcean adds, are never compared.
    type: list
    elements: str
  prune_node_pools:
    description:
      - Delete node pools of the cluster that O(node_pools) does not declare. Without it they are
        reported in RV(changes) (C(action=none) with a C(reason)) and left running.
      - New pools are always created before old ones are deleted.
    type: bool
    default: false
  allow_upgrade:
    description:
      - Allow upgrading the cluster to a newer declared O(version). Upgrades cannot be undone.
    type: bool
    default: false
  allow_deletion:
    description:
      - Required to delete the cluster with O(state=absent), as a guard against deleting it by
        accident. Load balancers and volumes the cluster created are not deleted with it.
    type: bool
    default: false
  wait:
    description:
      - Wait until the cluster is C(running) and every node is C(running) after a create, an
        upgrade or a node pool change (and until it is gone after a delete). Polls with a short
        backoff (from 0.5 s up to 15 s between reads).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait in total. A new DOKS cluster usually takes 5 to 10 minutes.
    type: int
    default: 1800
  kubeconfig_path:
    description:
      - Write the cluster's kubeconfig here (mode C(0600); missing directories are created with
        mode C(0700)).
      - The file is rewritten when it is missing, when the cluster entries (server, certificate
        authority, names) differ, or when its credentials are older than half their lifetime
        (O(kubeconfig_expiry_seconds)). DigitalOcean issues a new token for every kubeconfig
        request, so a token-only difference does not count as a change before that.
    type: path
  kubeconfig_expiry_seconds:
    description:
      - Lifetime in seconds of the credentials in the kubeconfig (C(expiry_seconds) of the API).
        C(0) is DigitalOcean's default, 7 days.
    type: int
    default: 0
notes:
  - Why not M(community.digitalocean.digital_ocean_kubernetes) 1.27.0 - it has no option to point
    it at another API endpoint (its helper uses https://api.digitalocean.com/v2), in check mode it
    reports a change even when the cluster exists, it drops the kubeconfig from its result on the
    first create, it ignores node pool changes on an existing cluster, it polls every 10 seconds,
    and the collection is no longer maintained upstream.
  - Version validation, region and size checks use C(GET /v2/kubernetes/options); it is read only
    when something is created or upgraded.
seealso:
  - module: hackathon_todo.deploy.do_domain_record
  - module: hackathon_todo.deploy.doks_cost_estimate
  - name: DigitalOcean API reference, Kubernetes
    description: The endpoints this module uses.
    link: https://docs.digitalocean.com/reference/api/digitalocean/#tag/Kubernetes
"""

EXAMPLES = r"""
- name: DOKS cluster for hackathon-todo, kubeconfig next to the inventory
  hackathon_todo.deploy.doks_cluster:
    name: hackathon-todo
    region: nyc1
    version: 1.36.1-do.0
    node_pools:
      - name: workers
        size: s-2vcpu-4gb
        count: 3
        auto_scale: true
        min_nodes: 3
        max_nodes: 5
        tags: [hackathon-todo]
    surge_upgrade: true
    auto_upgrade: true
    maintenance_policy:
      start_time: "04:00"
      day: sunday
    ha: false
    token: "{{ do_token }}"
    kubeconfig_path: "{{ inventory_dir }}/.kube/hackathon-todo.yaml"
  register: doks

- name: Show what changed
  ansible.builtin.debug:
    var: doks.changes

- name: Check for drift only (reports, changes nothing)
  hackathon_todo.deploy.doks_cluster:
    name: hackathon-todo
    region: nyc1
    version: "1.36"
    node_pools:
      - name: workers
        size: s-2vcpu-4gb
        auto_scale: true
        min_nodes: 3
        max_nodes: 5
  check_mode: true
  register: drift
  failed_when: drift.changed

- name: Delete the cluster
  hackathon_todo.deploy.doks_cluster:
    name: hackathon-todo
    state: absent
    allow_deletion: true
"""

RETURN = r"""
cluster:
  description:
    - The cluster after the run (in check mode, as it is now; empty when it does not exist).
  returned: success
  type: dict
  contains:
    id:
      description: Cluster ID.
      type: str
      sample: bd5f5959-5e1e-4205-a714-a914373942af
    name:
      description: Cluster name.
      type: str
      sample: hackathon-todo
    region:
      description: Region slug.
      type: str
      sample: nyc1
    version:
      description: Kubernetes version slug the cluster runs.
      type: str
      sample: 1.36.1-do.0
    endpoint:
      description: URL of the Kubernetes API server.
      type: str
      sample: https://bd5f5959-5e1e-4205-a714-a914373942af.k8s.ondigitalocean.com
    status:
      description: State of the cluster (C(running), C(provisioning), C(upgrading), ...).
      type: str
      sample: running
    ha:
      description: Whether the control plane is highly available.
      type: bool
    auto_upgrade:
      description: Whether patch releases are applied automatically.
      type: bool
    surge_upgrade:
      description: Whether upgrades use surge nodes.
      type: bool
    maintenance_policy:
      description: Maintenance window (C(start_time), C(day)).
      type: dict
      sample: {start_time: "04:00", day: sunday}
    tags:
      description: Cluster tags, without the ones DigitalOcean adds.
      type: list
      elements: str
    vpc_uuid:
      description: VPC of the cluster.
      type: str
    node_pools:
      description: One summary per node pool.
      type: list
      elements: dict
      sample:
        - id: cdda885e-7663-40c8-bc74-3a036c66545d
          name: workers
          size: s-2vcpu-4gb
          count: 3
          auto_scale: true
          min_nodes: 3
          max_nodes: 5
          tags: [hackathon-todo]
          labels: {}
          taints: []
          nodes_running: 3
changes:
  description:
    - What the run changed (or, in check mode, would change), one item per change.
    - C(action) is C(create), C(update), C(delete), C(upgrade) or C(none) (a finding that changes
      nothing, such as an undeclared node pool left running; its C(reason) says why).
    - C(target) is C(cluster), C(node_pool/<name>) or C(kubeconfig). The kubeconfig file is
      C(create)d when it is missing, and C(update)d when it is rewritten (C(reason) says why) or
      when its mode is set to C(0600) (C(field=mode)).
  returned: always
  type: list
  elements: dict
  sample:
    - {action: update, target: node_pool/workers, field: max_nodes, before: 4, after: 5}
    - action: none
      target: node_pool/adhoc
      reason: "not declared; left running (prune_node_pools: true deletes it)"
      before: {size: s-2vcpu-4gb, count: 1}
    - {action: create, target: kubeconfig, path: /home/ops/.kube/hackathon-todo.yaml, reason: missing}
kubeconfig_path:
  description: Where the kubeconfig was written (null without O(kubeconfig_path)).
  returned: always
  type: str
  sample: /home/ops/.kube/hackathon-todo.yaml
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._changes import ChangeSet
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._digitalocean import (
    DigitalOceanClient,
    DigitalOceanError,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _kubeconfig as kubeconfig
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._doks import (
    DeclarationError,
    doks_argument_spec,
    find_cluster,
    node_pools_argument_spec,
    pool_view,
    settings_view,
    validate_declaration,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._doks_plan import (
    needs_options,
    plan_absent,
    plan_create,
    plan_present,
)


def argument_spec():
    return doks_argument_spec(
        name=dict(type="str", required=True),
        region=dict(type="str"),
        version=dict(type="str"),
        node_pools=node_pools_argument_spec(),
        auto_upgrade=dict(type="bool"),
        surge_upgrade=dict(type="bool"),
        maintenance_policy=dict(
            type="dict",
            options=dict(
                start_time=dict(type="str"),
                day=dict(
                    type="str",
                    choices=[
                        "any",
                        "monday",
                        "tuesday",
                        "wednesday",
                        "thursday",
                        "friday",
                        "saturday",
                        "sunday",
                    ],
                ),
            ),
        ),
        ha=dict(type="bool"),
        vpc_uuid=dict(type="str"),
        tags=dict(type="list", elements="str"),
        prune_node_pools=dict(type="bool", default=False),
        allow_upgrade=dict(type="bool", default=False),
        allow_deletion=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
        kubeconfig_path=dict(type="path"),
        kubeconfig_expiry_seconds=dict(type="int", default=0),
    )


def summarize(cluster):
    if not cluster:
        return {}
    settings = settings_view(cluster)
    return dict(
        id=cluster.get("id"),
        name=cluster.get("name"),
        region=cluster.get("region"),
        version=cluster.get("version"),
        endpoint=cluster.get("endpoint") or None,
        status=(cluster.get("status") or {}).get("state"),
        ha=settings["ha"],
        auto_upgrade=settings["auto_upgrade"],
        surge_upgrade=settings["surge_upgrade"],
        maintenance_policy=settings["maintenance_policy"],
        tags=settings["tags"],
        vpc_uuid=cluster.get("vpc_uuid"),
        node_pools=[pool_view(p, cluster.get("id")) for p in cluster.get("node_pools") or []],
    )


class DoksCluster(object):
    """Reads the cluster, hands it to a planner (module_utils/_doks_plan.py), sends the planned
    requests unless in check mode, waits, and keeps the kubeconfig."""

    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.check = module.check_mode
        self.client = DigitalOceanClient.from_module(module)
        self.changes = ChangeSet()
        self.applied = []
        self._options = None
        self.deadline = time.time() + self.p["wait_timeout"]

    # -- reads --------------------------------------------------------------------------------

    def options(self):
        if self._options is None:
            self._options = (self.client.get("/kubernetes/options") or {}).get("options") or {}
        return self._options

    def find_cluster(self):
        return find_cluster(self.client, self.p["name"])

    def get_cluster(self, cluster_id):
        return (self.client.get("/kubernetes/clusters/%s" % cluster_id) or {})["kubernetes_cluster"]

    # -- waiting ------------------------------------------------------------------------------

    def _poll(self, read, done, describe):
        delay = 0.5
        while True:
            value = read()
            if done(value):
                return value
            if time.time() + delay > self.deadline:
                self.fail(
                    "Gave up waiting after wait_timeout=%d s: %s. DigitalOcean keeps "
                    "working on it; run the task again later (it picks up where this run "
                    "stopped) or raise wait_timeout." % (self.p["wait_timeout"], describe(value))
                )
            time.sleep(delay)
            delay = min(15.0, delay * 1.5)

    def wait_ready(self, cluster_id):
        def done(cluster):
            state = (cluster.get("status") or {}).get("state")
            if state == "error":
                self.fail(
                    "The cluster %s is in state error: %s. See the cluster page in the "
                    "DigitalOcean control panel."
                    % (cluster.get("name"), (cluster.get("status") or {}).get("message"))
                )
            if state != "running":
                return False
            return all(
                (n.get("status") or {}).get("state") == "running"
                for pool in cluster.get("node_pools") or []
                for n in pool.get("nodes") or []
            )

        def describe(cluster):
            nodes = [n for p in cluster.get("node_pools") or [] for n in p.get("nodes") or []]
            running = sum(1 for n in nodes if (n.get("status") or {}).get("state") == "running")
            return "cluster %s is %s with %d of %d nodes running" % (
                cluster.get("name"),
                (cluster.get("status") or {}).get("state"),
                running,
                len(nodes),
            )

        return self._poll(lambda: self.get_cluster(cluster_id), done, describe)

    def wait_gone(self, cluster_id):
        def read():
            try:
                return self.get_cluster(cluster_id)
            except DigitalOceanError as exc:
                if exc.status == 404:
                    return None
                raise

        def done(cluster):
            return cluster is None or (cluster.get("status") or {}).get("state") == "deleted"

        return self._poll(
            read,
            done,
            lambda c: (
                "cluster %s is still %s"
                % (self.p["name"], ((c or {}).get("status") or {}).get("state"))
            ),
        )

    # -- results ------------------------------------------------------------------------------

    def fail(self, msg, **extra):
        self.module.fail_json(
            msg=msg, changed=bool(self.applied), changes=self.changes.changes, **extra
        )

    def exit(self, cluster, diff=None):
        self.module.exit_json(
            **self.changes.result(
                self.module._diff,
                diff,
                cluster=summarize(cluster),
                kubeconfig_path=self.p["kubeconfig_path"] if self.p["kubeconfig_path"] else None,
            )
        )

    def adopt(self, plan):
        """Take a plan's changes and warnings; raise its error (nothing has been sent)."""
        self.changes.extend(plan["changes"])
        for warning in plan["warnings"]:
            self.module.warn(warning)
        if plan["error"]:
            raise DeclarationError(plan["error"])

    def send(self, steps):
        """The requests of the planned steps (ChangeSet.to_send), in order; the answers."""
        answers = []
        for _change, (method, path, body) in steps:
            answers.append(self.client.request(method, path, body=body))
            self.applied.append((method, path))
        return answers

    # -- present ------------------------------------------------------------------------------

    def create(self):
        plan = plan_create(self.p, self.options())
        self.adopt(plan)
        if self.check:
            path = self.p["kubeconfig_path"]
            if path:
                self.changes.add(
                    "update" if os.path.exists(path) else "create",
                    "kubeconfig",
                    path=path,
                    reason="the cluster will be created",
                )
            self.exit(None, plan["diff"])
        created = self.send(plan["changes"].to_send(self.check))[0]["kubernetes_cluster"]
        cluster = self.wait_ready(created["id"]) if self.p["wait"] else created
        self.sync_kubeconfig(cluster)
        self.exit(cluster, plan["diff"])

    def present(self):
        validate_declaration(self.p)
        cluster = self.find_cluster()
        if cluster is None:
            self.create()  # exits
            return
        state = (cluster.get("status") or {}).get("state")
        if self.p["wait"] and not self.check and state in ("provisioning", "upgrading"):
            cluster = self.wait_ready(cluster["id"])
        options = self.options() if needs_options(self.p, cluster) else None
        plan = plan_present(self.p, cluster, options)
        self.adopt(plan)
        steps = plan["changes"].to_send(self.check)
        if steps:
            self.send(steps)
            cluster = (
                self.wait_ready(cluster["id"])
                if self.p["wait"]
                else self.get_cluster(cluster["id"])
            )
        self.sync_kubeconfig(cluster)
        self.exit(cluster, plan["diff"])

    # -- kubeconfig ---------------------------------------------------------------------------

    def sync_kubeconfig(self, cluster):
        path = self.p["kubeconfig_path"]
        if not path:
            return
        state = (cluster.get("status") or {}).get("state")
        if state != "running":
            self.module.warn(
                "The kubeconfig was not written: cluster %s is %s (wait: false). Run "
                "again once it is running." % (cluster.get("name"), state)
            )
            return
        params = None
        if self.p["kubeconfig_expiry_seconds"]:
            params = dict(expiry_seconds=self.p["kubeconfig_expiry_seconds"])
        text = self.client.get_text(
            "/kubernetes/clusters/%s/kubeconfig" % cluster["id"], params=params
        )
        lifetime = self.p["kubeconfig_expiry_seconds"] or kubeconfig.DEFAULT_CREDENTIAL_LIFETIME
        reason = kubeconfig.write_reason(path, text, lifetime // 2)
        if reason:
            self.changes.add(
                "update" if os.path.exists(path) else "create",
                "kubeconfig",
                path=path,
                reason=reason,
            )
            if not self.check:
                kubeconfig.write_private(path, text, self.module.atomic_move)
            return
        mode = kubeconfig.mode_of(path)
        if mode != 0o600:
            self.changes.add(
                "update", "kubeconfig", path=path, field="mode", before="%04o" % mode, after="0600"
            )
            if not self.check:
                os.chmod(path, 0o600)

    # -- absent -------------------------------------------------------------------------------

    def absent(self):
        cluster = self.find_cluster()
        plan = plan_absent(self.p, cluster)
        self.adopt(plan)
        steps = plan["changes"].to_send(self.check)
        if steps:
            self.send(steps)
            if self.p["wait"]:
                self.wait_gone(cluster["id"])
        self.exit(None, plan["diff"])

    def run(self):
        if self.p["state"] == "absent":
            self.absent()
        else:
            self.present()


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[("state", "present", ("region", "version", "node_pools"))],
        supports_check_mode=True,
    )
    runner = DoksCluster(module)
    try:
        runner.run()
    except DeclarationError as exc:
        runner.fail(to_native(exc))
    except DigitalOceanError as exc:
        runner.fail(to_native(exc), **exc.to_result())


if __name__ == "__main__":
    main()
