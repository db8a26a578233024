# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection to the DigitalOcean API v2. Mirrors digitalocean_argument_spec() in
    # plugins/module_utils/_digitalocean.py.
    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - Base URL of the DigitalOcean API v2.
      - Change it only to reach the API through a proxy or gateway, or to test against a local
        stand-in of the API (the collection's tests do).
      - Falls back to the E(DIGITALOCEAN_API_URL) environment variable.
    type: str
    default: https://api.digitalocean.com/v2
  token:
    description:
      - DigitalOcean API token (a personal access token), sent as a C(Bearer) token in the
        C(Authorization) header.
      - Falls back to the E(DIGITALOCEAN_ACCESS_TOKEN) environment variable (the one C(doctl)
        uses), then E(DO_API_TOKEN).
      - A custom-scoped token needs C(kubernetes:read), C(kubernetes:create),
        C(kubernetes:update), C(kubernetes:delete) and C(kubernetes:access_cluster) for
        M(hackathon_todo.deploy.doks_cluster), and C(domain:read), C(domain:create),
        C(domain:update), C(domain:delete) for M(hackathon_todo.deploy.do_domain_record);
        read-only scopes are enough for check mode.
      - Never logged, never returned, never part of an error message.
    type: str
    aliases: [oauth_token, api_token]
  timeout:
    description:
      - Seconds to wait for one HTTP answer.
    type: int
    default: 30
  validate_certs:
    description:
      - Verify the TLS certificate of O(api_url). Turn off only for a local test endpoint.
    type: bool
    default: true
  max_retries:
    description:
      - How many times one call is retried after a retryable answer.
      - Retried are C(429 Too Many Requests) (after the delay C(Retry-After) or
        C(RateLimit-Reset) asks for, when that is at most 60 seconds), and for C(GET), C(PUT) and
        C(DELETE) also C(5xx) answers (after their C(Retry-After), when given) and reset
        connections, with jittered exponential backoff.
        A C(POST) is retried only on C(429) and C(503), which mean it was not processed.
      - Any other error (for example C(401), C(403), C(404), C(422)) fails at once.
    type: int
    default: 5
notes:
  - These modules talk to the DigitalOcean API v2 directly, with the collection's own small client
    (no extra Python library). Errors say what to fix, for example which token scope is missing.
  - Set the connection once for a play with C(module_defaults) and the action group
    C(group/hackathon_todo.deploy.digitalocean).
"""

    # The node_pools list that doks_cluster and doks_cost_estimate share (one variable serves
    # both), as hackathon_todo.deploy.digitalocean.node_pool. Mirrors node_pools_argument_spec()
    # in plugins/module_utils/_doks.py. A module using it documents node_pools' own description
    # (and required); what the suboptions mean to it, it says there.
    NODE_POOL = r"""
options:
  node_pools:
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the pool.
        type: str
        required: true
      size:
        description:
          - Droplet size slug of the nodes, for example C(s-2vcpu-4gb). Cannot change in place.
        type: str
        required: true
      count:
        description:
          - Number of nodes. Required unless O(node_pools[].auto_scale=true).
          - With auto-scaling the autoscaler owns the count, so
            M(hackathon_todo.deploy.doks_cluster) uses it only when it creates the pool (default
            O(node_pools[].min_nodes)) and never compares it afterwards.
        type: int
      auto_scale:
        description: Let the cluster autoscaler size the pool between min and max nodes.
        type: bool
        default: false
      min_nodes:
        description: Fewest nodes when auto-scaling. Required with O(node_pools[].auto_scale=true).
        type: int
      max_nodes:
        description: Most nodes when auto-scaling. Required with O(node_pools[].auto_scale=true).
        type: int
      tags:
        description:
          - Tags of the pool's Droplets. Unset means "not managed". The tags DigitalOcean adds
            (C(k8s), C(k8s:worker), C(k8s:<cluster id>)) are never compared.
        type: list
        elements: str
      labels:
        description: Kubernetes labels of the pool's nodes. Unset means "not managed".
        type: dict
      taints:
        description: Kubernetes taints of the pool's nodes. Unset means "not managed".
        type: list
        elements: dict
        suboptions:
          key:
            description: Taint key.
            type: str
            required: true
          value:
            description: Taint value.
            type: str
          effect:
            description: Taint effect.
            type: str
            required: true
            choices: [NoSchedule, PreferNoSchedule, NoExecute]
"""
