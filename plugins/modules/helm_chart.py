#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: helm_chart
short_description: Install, upgrade or uninstall one release of a chart with Helm 4
version_added: 0.1.0
description:
  - Installs or upgrades (C(helm upgrade --install)) one release of a chart from a chart
    repository (O(chart_repo_url)), an OCI registry (C(oci://...)) or a local path, with the
    values in O(release_values); or uninstalls it (O(state=absent)).
  - Drives the Helm 4 CLI (C(--rollback-on-failure), C(--wait=watcher)); a Helm older than 4 is
    refused before anything changes. It replaces M(kubernetes.core.helm) 6.2.0 for the platform
    charts, which cannot drive Helm 4 (it reads releases back with C(helm list --all), a flag
    Helm 4 removed).
  - >-
    B(Idempotent): nothing runs when the release's last revision is C(deployed), runs the same
    chart name and version and has the same user-supplied values (C(helm get values)) as
    O(release_values). A version that is not exact (a range, or none) and a local chart are
    resolved with C(helm show chart) first.
  - >-
    B(Pending releases): a release whose last revision is C(pending-install),
    C(pending-upgrade), C(pending-rollback) or C(uninstalling) is left alone and the module
    fails, saying which C(helm rollback) (or C(helm uninstall)) resolves it. Without a lock it
    cannot tell a killed Helm client from one still at work, so it does not guess.
  - The values Helm gets are exactly O(release_values) (C(--reset-values)), never the previous
    revision's.
author:
  - hackathon-todo platform team (@hackathon-todo)
extends_documentation_fragment:
  - hackathon_todo.deploy.attributes
  - hackathon_todo.deploy.kubernetes
attributes:
  check_mode:
    support: full
    details:
      - Reads the release and compares it; when it would change, fetches the chart and renders it
        with the values (C(helm template), no cluster object touched), so an unknown chart, an
        unreachable repository or rejected values fail in check mode too. Changes nothing.
  diff_mode:
    support: full
    details:
      - The deployed revision's chart (name-version) and user-supplied values against the
        desired ones.
  idempotent:
    support: full
    details:
      - See the description for what makes a release unchanged.
requirements:
  - helm (the binary, 4.x)
options:
  name:
    description: The release's name.
    type: str
    required: true
    aliases: [release_name]
  release_namespace:
    description: The release's namespace.
    type: str
    required: true
    aliases: [namespace]
  create_namespace:
    description: Create O(release_namespace) if it does not exist (C(--create-namespace)).
    type: bool
    default: false
  state:
    description: V(present) installs or upgrades; V(absent) uninstalls.
    type: str
    choices: [present, absent]
    default: present
  chart_ref:
    description:
      - The chart. With O(chart_repo_url), its name in that repository (C(traefik)); else an
        C(oci://) reference (C(oci://ghcr.io/org/charts/loki)), a local chart directory or
        packaged C(.tgz), or C(<repo>/<name>) of a repository added with C(helm repo add).
      - Required with O(state=present).
    type: str
  chart_repo_url:
    description: The chart repository's URL (C(--repo)).
    type: str
  chart_version:
    description:
      - The chart version (C(--version)), exact (C(41.3.0)) or a range (C(^41.0.0)); none means the
        newest. Ignored by Helm for a local chart, which carries its own version.
    type: str
  release_values:
    description: The release's values (passed in a file, C(-f)); they replace the previous ones.
    type: dict
    default: {}
    aliases: [values]
  rollback_on_failure:
    description:
      - On a failed install or upgrade, roll back to the previous revision (an install is
        uninstalled), C(--rollback-on-failure). Implies waiting.
    type: bool
    default: true
  wait:
    description:
      - Wait until every object of the release is ready (C(--wait=watcher), Helm 4's kstatus
        watcher; for a Deployment its whole rollout), up to O(wait_timeout). Also for O(state=absent).
    type: bool
    default: true
  wait_timeout:
    description: How long Helm waits (C(--timeout), a Go duration such as C(5m) or C(90s)).
    type: str
    default: 5m
  binary_path:
    description: The Helm binary (Helm 4).
    type: str
    default: helm
notes:
  - No lock guards the release; run one play per cluster at a time (as bootstrap does).
seealso:
  - module: hackathon_todo.deploy.helm_release
  - module: kubernetes.core.helm
  - name: Helm 4 in this collection
    description: docs/architecture.md, section Helm 4.
    link: https://github.com/hackathon-todo/hackathon-todo-deploy/blob/main/docs/architecture.md
"""

EXAMPLES = r"""
- name: Install or upgrade cert-manager from its repository
  hackathon_todo.deploy.helm_chart:
    name: cert-manager
    release_namespace: cert-manager
    create_namespace: true
    chart_ref: cert-manager
    chart_repo_url: https://charts.jetstack.io
    chart_version: v1.21.2
    release_values:
      crds: {enabled: true}
    wait_timeout: 10m

- name: Install Loki from an OCI registry
  hackathon_todo.deploy.helm_chart:
    name: loki
    release_namespace: monitoring
    chart_ref: oci://ghcr.io/grafana-community/helm-charts/loki
    chart_version: 18.11.0
    release_values: "{{ lookup('ansible.builtin.template', 'values/loki.yml.j2') | from_yaml }}"

- name: Install a platform component from wherever the inventory says (chart_source filter)
  hackathon_todo.deploy.helm_chart:
    name: traefik
    release_namespace: traefik
    create_namespace: true
    chart_ref: "{{ src.chart_ref }}"
    chart_repo_url: "{{ src.chart_repo_url | default(omit) }}"
    chart_version: "{{ src.chart_version | default(omit) }}"
  vars:
    src: "{{ platform_components.traefik | hackathon_todo.deploy.chart_source(platform_chart_repository) }}"

- name: Remove metrics-server
  hackathon_todo.deploy.helm_chart:
    name: metrics-server
    release_namespace: kube-system
    state: absent
"""

RETURN = r"""
release:
  description:
    - The release after the run (before it, in check mode). C(status) is C(absent) when there is
      none.
  returned: always
  type: dict
  contains:
    name:
      description: The release's name.
      type: str
      sample: traefik
    namespace:
      description: Its namespace.
      type: str
      sample: traefik
    status:
      description: Its last revision's status (C(deployed), C(failed), C(pending-upgrade), ...) or C(absent).
      type: str
      sample: deployed
    revision:
      description: Its last revision (0 when absent).
      type: int
      sample: 3
    chart:
      description: The chart it runs, C(<name>-<version>).
      type: str
      sample: traefik-41.3.0
    app_version:
      description: The chart's appVersion.
      type: str
      sample: v3.7.13
command:
  description: The Helm command that changed the release (empty when none ran).
  returned: always
  type: list
  elements: str
  sample: [helm, upgrade, --install, traefik, traefik, --repo, https://traefik.github.io/charts]
msg:
  description: What happened (or would), and why.
  returned: always
  type: str
  sample: "Upgraded traefik in traefik (chart traefik-41.2.0 -> 41.3.0): revision 3, deployed."
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kube_options import (
    kube_argument_spec,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._helm_chart import (
    ChartError,
    ChartRelease,
)


def argument_spec():
    return dict(
        name=dict(type="str", required=True, aliases=["release_name"]),
        release_namespace=dict(type="str", required=True, aliases=["namespace"]),
        create_namespace=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        chart_ref=dict(type="str"),
        chart_repo_url=dict(type="str"),
        chart_version=dict(type="str"),
        release_values=dict(type="dict", default={}, aliases=["values"]),
        rollback_on_failure=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="str", default="5m"),
        **kube_argument_spec(),
        binary_path=dict(type="str", default="helm"),
    )


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[("state", "present", ["chart_ref"])],
        supports_check_mode=True,
    )
    binary = module.get_bin_path(module.params["binary_path"])
    if not binary:
        module.fail_json(
            msg="%s not found on this host's PATH: install Helm 4 (testbed/versions.env "
            "HELM_VERSION, `make toolchain`) or set binary_path to it"
            % module.params["binary_path"]
        )
    module.params["binary_path"] = binary
    run = ChartRelease(
        module.params,
        module.run_command,
        check_mode=module.check_mode,
        diff=module._diff,
    )
    try:
        result = run.execute()
    except ChartError as exc:
        # changed: a failed Helm command may still have written revisions (its rollback).
        module.fail_json(msg=exc.msg, release=exc.release, command=exc.command, changed=exc.changed)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
