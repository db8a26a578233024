# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: quota_headroom
short_description: Whether a namespace's ResourceQuota has room for a rolling update's surge pods
version_added: 0.1.0
description:
  - Sums the resource requests of every pod the rendered Deployments run at the peak of a rolling
    update (each Deployment's replicas plus its surge pods, all Deployments rolling at once), Dapr
    sidecars included, and compares them with what the namespace's ResourceQuota has left once the
    release's own current pods are given back.
  - Replicas are the Deployment's C(spec.replicas); for a Deployment an HPA owns (no
    C(spec.replicas)), the larger of the HPA's C(minReplicas) and the replicas running now.
  - Containers without requests count with the LimitRange default request.
positional: _input, quota, release_pods
options:
  _input:
    description: The rendered manifests (list of dicts, e.g. C(helm template) output through C(from_yaml_all)).
    type: list
    elements: dict
    required: true
  quota:
    description: The ResourceQuota object (its C(status.hard) and C(status.used) are read); empty for none.
    type: dict
    default: {}
  release_pods:
    description: The release's pods now running in the namespace (their requests are given back).
    type: list
    elements: dict
    default: []
  live_replicas:
    description: Replicas running now per Deployment name (for Deployments an HPA owns).
    type: dict
    default: {}
  surge:
    description: Surge pods per Deployment (the chart's C(maxSurge)).
    type: int
    default: 1
  default_request:
    description: Requests of a container that states none (the LimitRange C(defaultRequest)).
    type: dict
    default: {cpu: 100m, memory: 128Mi}
"""

EXAMPLES = r"""
- name: Check the quota
  ansible.builtin.assert:
    that: room.fits
    fail_msg: "{{ room.msg }}"
  vars:
    room: "{{ rendered | hackathon_todo.deploy.quota_headroom(quota, pods, live_replicas=live) }}"
"""

RETURN = r"""
_value:
  description:
    - C(fits) (bool), C(msg), C(need) / C(available) (C(cpu) in millicores, C(memory) in bytes,
      C(pods)) and C(deployments) (per Deployment, its replicas, pods at peak and requests per pod).
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._quota import (
    quota_headroom as _quota_headroom,
)


def quota_headroom(
    docs, quota=None, release_pods=None, live_replicas=None, surge=1, default_request=None
):
    try:
        return _quota_headroom(docs, quota, release_pods, live_replicas, surge, default_request)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule(object):
    def filters(self):
        return {"quota_headroom": quota_headroom}
