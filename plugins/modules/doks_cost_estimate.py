#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: doks_cost_estimate
short_description: Estimate the monthly cost of a declared DigitalOcean Kubernetes cluster
description:
  - Computes the monthly list price of the declared node pools, load balancers, volumes and
    control plane from the collection's price table (C(plugins/module_utils/_do_prices.py), one
    file with the date the prices were collected). Sends no request and changes nothing.
  - Auto-scaling pools give a range, from O(node_pools[].min_nodes) to
    O(node_pools[].max_nodes); fixed pools count O(node_pools[].count).
  - Takes the same O(node_pools) list as M(hackathon_todo.deploy.doks_cluster), so a role can pass
    one variable to both.
author:
  - hackathon-todo platform team (@hackathon-todo)
version_added: 0.1.0
extends_documentation_fragment:
  - hackathon_todo.deploy.attributes
  - hackathon_todo.deploy.digitalocean.node_pool
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: It never changes anything.
  idempotent:
    support: full
options:
  name:
    description: Cluster name, used in RV(msg).
    type: str
  node_pools:
    description:
      - Node pools, the same list as
        O(hackathon_todo.deploy.doks_cluster#module:node_pools) takes and validated the same way,
        so a role can pass one variable to both.
      - A fixed pool costs O(node_pools[].count) nodes, an auto-scaling one
        O(node_pools[].min_nodes) to O(node_pools[].max_nodes) (its count is not used). Every
        O(node_pools[].size) must be in the price table. O(node_pools[].tags),
        O(node_pools[].labels) and O(node_pools[].taints) do not change the price.
    required: true
  load_balancers:
    description:
      - Number of load balancers (an ingress controller's C(LoadBalancer) Service makes one).
    type: int
    default: 1
  load_balancer_nodes:
    description: Nodes (C(size_unit)) of each load balancer.
    type: int
    default: 1
  volumes:
    description:
      - Persistent volumes (DigitalOcean block storage), for example the Prometheus and Loki
        PVCs.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: What the volume is for, used in the breakdown.
        type: str
      size:
        description:
          - Size as a Kubernetes quantity (C(20Gi), C(1Ti), C(10G)) or a number of GiB. Rounded up
            to whole GiB.
        type: str
        required: true
  ha:
    description: Whether the cluster has a high-availability control plane.
    type: bool
    default: false
notes:
  - List prices only; bandwidth beyond the included transfer, snapshots, taxes and credits are not
    counted. Worker nodes, load balancers and volumes are billed for at most 672 hours (28 days) a
    month, so the figures are what a full month costs.
  - To update prices, edit C(plugins/module_utils/_do_prices.py), its sources and its
    C(PRICES_AS_OF) date together.
seealso:
  - module: hackathon_todo.deploy.doks_cluster
"""

EXAMPLES = r"""
- name: Print the monthly cost of the declared cluster
  hackathon_todo.deploy.doks_cost_estimate:
    name: hackathon-todo
    node_pools: "{{ doks_node_pools }}"
    load_balancers: 1
    volumes:
      - {name: prometheus, size: 20Gi}
      - {name: loki, size: 20Gi}
  register: cost

- name: Show it
  ansible.builtin.debug:
    msg: "{{ cost.msg }}"
"""

RETURN = r"""
msg:
  description: One readable line with the total (a range when pools auto-scale) and the breakdown.
  returned: success
  type: str
  sample: >-
    DOKS hackathon-todo: $88.00/month at the minimum node counts, up to $136.00/month at the
    maximum (...)
estimate:
  description: The estimate.
  returned: success
  type: dict
  contains:
    currency:
      description: Currency of every amount.
      type: str
      sample: USD
    prices_as_of:
      description: Date the price table was collected.
      type: str
      sample: "2026-11-27"
    source:
      description: Where the prices come from.
      type: str
      sample: https://www.digitalocean.com/pricing
    monthly_min:
      description: Total per month at the minimum node counts.
      type: float
      sample: 88.0
    monthly_max:
      description: Total per month at the maximum node counts.
      type: float
      sample: 136.0
    lines:
      description:
        - One line per item (C(item), C(quantity_min), C(quantity_max), C(unit),
          C(unit_price), C(monthly_min), C(monthly_max)).
      type: list
      elements: dict
      sample:
        - {item: "node pool workers (s-2vcpu-4gb)", quantity_min: 3, quantity_max: 5, unit: node,
           unit_price: 24.0, monthly_min: 72.0, monthly_max: 120.0}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._cost import (
    CostError,
    estimate,
    summary,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._doks import (
    node_pools_argument_spec,
)


def argument_spec():
    return dict(
        name=dict(type="str"),
        node_pools=node_pools_argument_spec(required=True),
        load_balancers=dict(type="int", default=1),
        load_balancer_nodes=dict(type="int", default=1),
        volumes=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                name=dict(type="str"),
                size=dict(type="str", required=True),
            ),
        ),
        ha=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    try:
        result = estimate(
            p["node_pools"],
            load_balancers=p["load_balancers"],
            load_balancer_nodes=p["load_balancer_nodes"],
            volumes=p["volumes"],
            ha=p["ha"],
        )
    except CostError as exc:
        module.fail_json(msg=to_native(exc))
    module.exit_json(changed=False, estimate=result, msg=summary(result, p["name"]))


if __name__ == "__main__":
    main()
