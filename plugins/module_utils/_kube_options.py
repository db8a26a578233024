# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The connection options of every module that talks to Kubernetes (documented once in
doc_fragments/kubernetes.py), with kubernetes.core's environment fallbacks. Kept apart from _kube
so that modules that only run Helm do not import the Kubernetes client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback

KUBECONFIG_ENV_VARS = ["K8S_AUTH_KUBECONFIG"]
CONTEXT_ENV_VARS = ["K8S_AUTH_CONTEXT"]


def kube_argument_spec():
    return dict(
        kubeconfig=dict(type="path", fallback=(env_fallback, KUBECONFIG_ENV_VARS)),
        context=dict(type="str", fallback=(env_fallback, CONTEXT_ENV_VARS)),
    )
