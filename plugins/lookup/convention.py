# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: convention
short_description: The collection's shared names and rules, defined once
version_added: 0.4.0
author:
  - hackathon-todo platform team (@hackathon-todo)
description:
  - Answers the conventions several roles, playbooks and modules share, so none of them spells
    one out itself - the app's Helm release per environment, the Secrets' names, the topic,
    consumer-group and account names, the public host, the supported Kubernetes minors and the
    image tag rules. They are defined in the collection's C(module_utils/_conventions.py).
  - Per-environment conventions need O(environment); C(host) needs O(domain) as well.
options:
  _terms:
    description:
      - Names of conventions. Constants are C(environments), C(primary_environment),
        C(secret_name), C(pull_secret_name), C(supported_minors), C(newest_minor), C(tag_pattern),
        C(immutable_tag_pattern), C(version_tag_pattern) and C(dns_records); per environment C(release_name),
        C(topic_prefix), C(group_prefix), C(service_account), C(dns_record) and C(host).
    type: list
    elements: str
    required: true
  environment:
    description: The environment the per-environment conventions are for.
    type: str
  domain:
    description: The DNS domain, for C(host).
    type: str
"""

EXAMPLES = r"""
- name: The release of the staging environment
  ansible.builtin.debug:
    msg: "{{ lookup('hackathon_todo.deploy.convention', 'release_name', environment='staging') }}"

- name: A list convention, read with query() (its items are the result)
  ansible.builtin.debug:
    msg: "{{ query('hackathon_todo.deploy.convention', 'supported_minors') }}"
"""

RETURN = r"""
_raw:
  description: The values of the terms, in order; a list convention contributes its items.
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._conventions import convention


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        environment = self.get_option("environment")
        domain = self.get_option("domain")
        values = []
        for term in terms:
            try:
                value = convention(term, environment=environment, domain=domain)
            except ValueError as exc:
                raise AnsibleLookupError("convention lookup: %s" % exc) from exc
            # A list convention contributes its items, so query() returns the list itself.
            if isinstance(value, list):
                values.extend(value)
            else:
                values.append(value)
        return values
