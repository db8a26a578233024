# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: chart_source
short_description: Where Helm should take a platform component's chart from
version_added: 0.1.0
description:
  - Turns a component declaration (C(chart), C(repo), C(version), optional C(source)) into the
    C(chart_ref), C(chart_repo_url) and C(chart_version) arguments of M(hackathon_todo.deploy.helm_chart).
  - A C(source) that is an C(oci://) reference or a local path (directory or C(.tgz)) wins.
  - Otherwise, when O(repository) is set (air-gapped mode, one repository that serves every
    pinned chart), the chart is taken from it; else from the component's upstream C(repo).
  - A C(repo) (or O(repository)) starting with C(oci://) is a registry path holding the chart by name.
positional: _input, repository
options:
  _input:
    description: The component (dict with C(chart), C(version), and C(repo) or C(source)).
    type: dict
    required: true
  repository:
    description: Repository URL that replaces every component's C(repo); empty for none.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Install cert-manager from wherever the inventory says
  hackathon_todo.deploy.helm_chart:
    name: cert-manager
    release_namespace: cert-manager
    chart_ref: "{{ src.chart_ref }}"
    chart_repo_url: "{{ src.chart_repo_url | default(omit) }}"
    chart_version: "{{ src.chart_version | default(omit) }}"
  vars:
    src: "{{ platform_components.cert_manager | hackathon_todo.deploy.chart_source(platform_chart_repository) }}"
"""

RETURN = r"""
_value:
  description: C(chart_ref) always; C(chart_repo_url) for repositories; C(chart_version) unless a local path.
  type: dict
"""

from ansible.errors import AnsibleFilterError


def chart_source(component, repository=""):
    if not isinstance(component, dict):
        raise AnsibleFilterError(
            "chart_source expects a component dict, got %r" % type(component).__name__
        )
    name = component.get("chart")
    version = component.get("version")
    source = component.get("source") or ""
    if source.startswith("oci://"):
        out = {"chart_ref": source}
        if version:
            out["chart_version"] = str(version)
        return out
    if source:
        # A local chart directory or packaged .tgz carries its own version.
        return {"chart_ref": source}
    if not name or not version:
        raise AnsibleFilterError(
            "component %r needs 'chart' and 'version' (or a 'source' path/oci:// reference)"
            % (name or component)
        )
    repo = repository or component.get("repo")
    if not repo:
        raise AnsibleFilterError(
            "component %r has no 'repo'; set it, a 'source', or platform_chart_repository" % name
        )
    if repo.startswith("oci://"):
        # An OCI registry path (e.g. oci://ghcr.io/org/helm-charts) holds the chart by name.
        return {"chart_ref": repo.rstrip("/") + "/" + name, "chart_version": str(version)}
    return {"chart_ref": name, "chart_repo_url": repo, "chart_version": str(version)}


class FilterModule(object):
    def filters(self):
        return {"chart_source": chart_source}
