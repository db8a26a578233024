# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection to a Kubernetes API server, as kubernetes.core's modules take it. Mirrors
    # kube_argument_spec() in plugins/module_utils/_kube.py.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file.
      - Falls back to the E(K8S_AUTH_KUBECONFIG) environment variable (the one kubernetes.core
        reads, and the one AWX's Kubeconfig credential sets).
      - Without either, the Kubernetes client and Helm use E(KUBECONFIG), then C(~/.kube/config);
        modules that call the API directly also use the pod's service account when they run
        inside a cluster.
    type: path
  context:
    description:
      - The kubeconfig context to use.
      - Falls back to the E(K8S_AUTH_CONTEXT) environment variable, then the current context.
    type: str
notes:
  - C(module_defaults) with C(group/hackathon_todo.deploy.kubernetes) sets O(kubeconfig) and
    O(context) once for every module of this collection that talks to Kubernetes.
"""
