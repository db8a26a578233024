# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ingress_controller
short_description: What the platform's ingress controller choice means for each role and the chart
version_added: 0.1.0
description:
  - The one place that says, for each ingress controller the collection supports, where it runs,
    which load-balanced Service it exposes, the IngressClass it serves and the app chart's
    annotation preset (C(ingress.controller)).
  - The platform role installs the controller and issues certificates through its class; the
    release role sets the app's Ingress class, preset and NetworkPolicy source namespace from the
    same answer, so the inventory names the controller once (C(htd_ingress_controller)).
positional: _input
options:
  _input:
    description: The controller, C(traefik) or C(ingress-nginx).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The app's Ingress follows the platform's controller
  ansible.builtin.set_fact:
    ingress_values:
      className: "{{ controller.ingress_class }}"
      controller: "{{ controller.chart_preset }}"
  vars:
    controller: "{{ htd_ingress_controller | hackathon_todo.deploy.ingress_controller }}"
"""

RETURN = r"""
_value:
  description: C(namespace), C(service), C(ingress_class) and C(chart_preset) of the controller.
  type: dict
"""

from ansible.errors import AnsibleFilterError

# ingress-nginx was retired upstream in March 2026; it stays for clusters that still run it.
CONTROLLERS = {
    "traefik": {
        "namespace": "traefik",
        "service": "traefik",
        "ingress_class": "traefik",
        "chart_preset": "traefik",
    },
    "ingress-nginx": {
        "namespace": "ingress-nginx",
        "service": "ingress-nginx-controller",
        "ingress_class": "nginx",
        "chart_preset": "nginx",
    },
}


def ingress_controller(name):
    if name not in CONTROLLERS:
        raise AnsibleFilterError(
            "unknown ingress controller %r: set htd_ingress_controller to one of %s"
            % (name, ", ".join(sorted(CONTROLLERS)))
        )
    return dict(CONTROLLERS[name])


class FilterModule(object):
    def filters(self):
        return {"ingress_controller": ingress_controller}
