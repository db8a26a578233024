#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: certificate_status
short_description: Whether cert-manager's certificate for a host is ready and not expiring soon
version_added: 0.1.0
description:
  - Finds the cert-manager C(Certificate) in O(namespace) that covers O(host) (its C(dnsNames),
    C(commonName) or C(ipAddresses), one left-most wildcard label allowed). cert-manager creates
    it from an Ingress annotated C(cert-manager.io/cluster-issuer).
  - The certificate is ready when its C(Ready) condition is C(True) for the Certificate's current
    C(metadata.generation), and its C(status.notAfter) is at least O(min_days) whole days away.
  - When it is not ready, the message says why in cert-manager's words. It quotes the
    Certificate's C(Ready) and C(Issuing) conditions and its failed issuance attempts. It also
    quotes the C(Denied), C(InvalidRequest), C(Approved) and C(Ready) conditions of the
    Certificate's newest C(CertificateRequest), found by the C(cert-manager.io/certificate-name)
    and C(cert-manager.io/certificate-revision) annotations.
  - Waits up to O(deadline) seconds for issuance, looking every O(interval) seconds.
  - Reads only. It never reports C(changed), and behaves the same in check mode.
author:
  - hackathon-todo platform team (@hackathon-todo)
extends_documentation_fragment:
  - hackathon_todo.deploy.attributes
  - hackathon_todo.deploy.kubernetes
attributes:
  check_mode:
    support: full
    details:
      - The module only reads, so check mode gives the same answer.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Never changes anything.
requirements:
  - kubernetes (the Python client)
options:
  namespace:
    description: Namespace of the Certificate (the environment's namespace).
    type: str
    required: true
  host:
    description: Host name the certificate must cover, for example V(todo.example.com).
    type: str
    required: true
  secret_name:
    description:
      - When several Certificates cover the host, take the one writing this TLS secret (the
        Ingress's C(spec.tls[].secretName)). Empty takes the first of them by name.
    type: str
    default: ""
  min_days:
    description: Not ready when the certificate expires in fewer whole days than this.
    type: int
    default: 14
  deadline:
    description: Seconds to wait for a ready certificate; V(0) looks once.
    type: float
    default: 0
  interval:
    description: Seconds between two looks while waiting.
    type: float
    default: 5
  fail_when_not_ready:
    description:
      - Fail the task when the certificate is not ready. With V(false) the verdict is only
        returned, for a playbook that gathers several checks before it decides.
    type: bool
    default: true
seealso:
  - module: hackathon_todo.deploy.smoke_check
    description: Checks the certificate the host actually serves, over TLS.
  - module: hackathon_todo.deploy.helm_release
    description: Runs the same check after each release (O(hackathon_todo.deploy.helm_release#module:certificate)).
  - name: cert-manager Certificate resource
    description: The conditions and status fields this module reads.
    link: https://cert-manager.io/docs/usage/certificate/
"""

EXAMPLES = r"""
- name: The production certificate is issued and has two weeks left
  hackathon_todo.deploy.certificate_status:
    namespace: production
    host: todo.example.com
    min_days: 14

- name: After a first install, wait up to 5 minutes for Let's Encrypt
  hackathon_todo.deploy.certificate_status:
    namespace: staging
    host: staging.todo.example.com
    deadline: 300
  register: staging_certificate
"""

RETURN = r"""
ready:
  description: Whether the certificate is ready (see the module's description).
  returned: always
  type: bool
  sample: true
name:
  description: The Certificate's name, V(null) when none covers the host.
  returned: always
  type: str
  sample: todo.example.com-tls
not_after:
  description: End of the certificate's validity (C(status.notAfter), UTC).
  returned: always
  type: str
  sample: "2027-03-01T10:00:00Z"
days_left:
  description: Whole days until RV(not_after); negative once expired.
  returned: always
  type: int
  sample: 61
renewal_time:
  description: When cert-manager plans to renew it (C(status.renewalTime)).
  returned: always
  type: str
  sample: "2027-01-30T10:00:00Z"
conditions:
  description: "The Certificate's conditions, each as C(Type=Status (Reason: message))."
  returned: always
  type: list
  elements: str
  sample: ["Ready=True (Ready: Certificate is up to date and has not expired)"]
request:
  description: The newest CertificateRequest of the Certificate, V(null) when it has none.
  returned: always
  type: str
  sample: todo.example.com-tls-1
acme:
  description:
    - While an ACME issuance is not done, where it stands; V(null) when the certificate is ready or
      its issuer is not ACME. cert-manager writes why an issuance is stuck (the HTTP-01 self check, the
      CA's verdict) here, on the Order and its Challenges, and RV(problem) quotes it.
  returned: always
  type: dict
  contains:
    order:
      description: The newest Order of the CertificateRequest.
      type: str
    state:
      description: The Order's state (pending, ready, valid, invalid, errored).
      type: str
    reason:
      description: Why the Order failed, when it says.
      type: str
    challenges:
      description: The Order's Challenges (dns_name, type, state, reason).
      type: list
      elements: dict
problem:
  description: Why the certificate is not ready, V(null) when it is.
  returned: always
  type: str
  sample: >-
    Certificate production/todo.example.com-tls for todo.example.com: not ready: Ready=False
    (DoesNotExist: Issuing certificate as Secret does not exist). CertificateRequest
    todo.example.com-tls-1: Approved=True (cert-manager.io: Certificate request has been
    approved by cert-manager.io); Ready=False (Pending: Waiting on certificate issuance from
    order production/todo.example.com-tls-1-2804017914: "pending")
looks:
  description: How many times the cluster was read.
  returned: always
  type: int
  sample: 1
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kube_options import (
    kube_argument_spec,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _certificate
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kube import (
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    Kube,
    KubeError,
    KubeUnreachable,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            namespace=dict(type="str", required=True),
            host=dict(type="str", required=True),
            secret_name=dict(type="str", default="", no_log=False),
            min_days=dict(type="int", default=14),
            deadline=dict(type="float", default=0),
            interval=dict(type="float", default=5),
            fail_when_not_ready=dict(type="bool", default=True),
            **kube_argument_spec(),
        ),
        supports_check_mode=True,
    )
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    p = module.params
    host = p["host"].strip()
    if not host or "/" in host or ":" in host:
        module.fail_json(
            msg="host must be a host name such as todo.example.com, not %r" % p["host"]
        )
    for key in ("min_days", "deadline"):
        if p[key] < 0:
            module.fail_json(msg="%s must be 0 or more, not %s" % (key, p[key]))
    if p["interval"] <= 0:
        module.fail_json(msg="interval must be more than 0, not %s" % p["interval"])
    try:
        verdict = _certificate.wait_ready(
            Kube(p["kubeconfig"], p["context"]),
            p["namespace"],
            host,
            p["min_days"],
            p["deadline"],
            secret_name=p["secret_name"] or None,
            interval=p["interval"],
        )
    except _certificate.CertificateAPIMissing as exc:
        module.fail_json(msg=str(exc), ready=False)
    except (KubeError, KubeUnreachable) as exc:
        module.fail_json(msg="the Kubernetes API server: %s" % exc, ready=False)
    if verdict["ready"]:
        msg = "Certificate %s/%s for %s is Ready and expires %s (%d days)" % (
            p["namespace"],
            verdict["name"],
            host,
            verdict["not_after"],
            verdict["days_left"],
        )
        module.exit_json(changed=False, msg=msg, **verdict)
    if p["fail_when_not_ready"]:
        module.fail_json(msg=verdict["problem"], changed=False, **verdict)
    module.exit_json(changed=False, msg=verdict["problem"], **verdict)


if __name__ == "__main__":
    main()
