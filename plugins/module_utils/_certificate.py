# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether cert-manager has a certificate ready for a host: the Certificate that covers it is
Ready=True for its current generation and does not expire within a threshold. When it is not, the
answer says why in cert-manager's own words (the Certificate's conditions and those of its newest
CertificateRequest). Used by the helm_release module (release verification) and the
certificate_status module (smoke.yml). Reads only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import math
import time

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kube import KubeError
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._x509 import (
    cert_covers_host,
    iso_utc,
)

API = "/apis/cert-manager.io/v1/namespaces/%s/%s"
ACME_API = "/apis/acme.cert-manager.io/v1/namespaces/%s/%s"
NAME_ANNOTATION = "cert-manager.io/certificate-name"
REVISION_ANNOTATION = "cert-manager.io/certificate-revision"
# What a CertificateRequest's conditions can say, in the order a reader wants them.
REQUEST_CONDITIONS = ("Denied", "InvalidRequest", "Approved", "Ready")


class CertificateAPIMissing(Exception):
    """The cluster does not serve cert-manager.io/v1 (cert-manager's CRDs are not installed)."""


def parse_time(value):
    """An RFC 3339 time of the API ("2027-03-01T10:00:00Z") as an aware datetime, or None."""
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def condition(obj, kind):
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return c
    return None


def _says(c):
    """A condition as one phrase: "Ready=False (Pending: Waiting on ...)"."""
    text = "%s=%s" % (c.get("type"), c.get("status"))
    detail = ": ".join(x for x in (c.get("reason"), (c.get("message") or "").strip()) if x)
    return "%s (%s)" % (text, detail) if detail else text


def covers(certificate, host):
    spec = certificate.get("spec") or {}
    names = list(spec.get("dnsNames") or [])
    if spec.get("commonName"):
        names.append(spec["commonName"])
    return cert_covers_host(
        {"dns_names": names, "ip_addresses": list(spec.get("ipAddresses") or [])}, host
    )


def pick(certificates, host, secret_name=None):
    """The Certificate that serves host: among those covering it, the one writing secret_name
    (the TLS secret the Ingress names), else the first by name. None when none covers it."""
    found = sorted(
        (c for c in certificates if covers(c, host)), key=lambda c: c["metadata"]["name"]
    )
    for c in found:
        if secret_name and (c.get("spec") or {}).get("secretName") == secret_name:
            return c
    return found[0] if found else None


def newest_request(requests, certificate):
    """The CertificateRequest of the certificate's newest revision (cert-manager annotates each
    request with the Certificate's name and the revision it is for)."""
    name = certificate["metadata"]["name"]
    mine = []
    for r in requests:
        ann = (r.get("metadata") or {}).get("annotations") or {}
        if ann.get(NAME_ANNOTATION) != name:
            continue
        try:
            revision = int(ann.get(REVISION_ANNOTATION) or 0)
        except ValueError:
            revision = 0
        mine.append((revision, (r.get("metadata") or {}).get("creationTimestamp") or "", r))
    if not mine:
        return None
    return max(mine, key=lambda t: (t[0], t[1]))[2]


def _owned_by(obj, owner):
    uid = (owner.get("metadata") or {}).get("uid")
    return bool(uid) and any(
        ref.get("uid") == uid for ref in (obj.get("metadata") or {}).get("ownerReferences") or []
    )


def acme_progress(orders, challenges, request):
    """Where an ACME issuance stands: the request's newest Order and that Order's Challenges.
    cert-manager writes why it is stuck (the HTTP-01 self check, the CA's verdict) on these, not
    on the Certificate or its request. None when the request has no Order (not an ACME issuer)."""
    if request is None:
        return None
    mine = [o for o in orders if _owned_by(o, request)]
    if not mine:
        return None
    newest = max(mine, key=lambda o: o["metadata"].get("creationTimestamp") or "")
    status = newest.get("status") or {}
    return {
        "order": newest["metadata"]["name"],
        "state": status.get("state") or "pending",
        **({"reason": status["reason"]} if status.get("reason") else {}),
        "challenges": [
            {
                "dns_name": (c.get("spec") or {}).get("dnsName"),
                "type": (c.get("spec") or {}).get("type"),
                "state": (c.get("status") or {}).get("state") or "pending",
                "reason": (c.get("status") or {}).get("reason") or "",
            }
            for c in challenges
            if _owned_by(c, newest)
        ],
    }


def _acme_says(acme):
    out = [
        "Order %s: %s%s"
        % (acme["order"], acme["state"], " (%s)" % acme["reason"] if acme.get("reason") else "")
    ]
    for c in acme["challenges"]:
        out.append(
            "%s challenge for %s: %s%s"
            % (c["type"], c["dns_name"], c["state"], ": " + c["reason"] if c["reason"] else "")
        )
    return out


def assess(certificate, request, host, min_days, now, acme=None):
    """The verdict on one Certificate (None: none covers the host) at `now`."""
    if certificate is None:
        return {
            "ready": False,
            "name": None,
            "not_after": None,
            "days_left": None,
            "renewal_time": None,
            "conditions": [],
            "request": None,
            "acme": None,
            "problem": "no cert-manager Certificate covers %s" % host,
        }
    meta, status = certificate["metadata"], certificate.get("status") or {}
    ready = condition(certificate, "Ready")
    not_after = parse_time(status.get("notAfter"))
    days = None if not_after is None else math.floor((not_after - now).total_seconds() / 86400.0)
    problems = []
    if ready is None:
        problems.append("cert-manager has not reported on it yet (no Ready condition)")
    elif ready.get("status") != "True":
        problems.append("not ready: %s" % _says(ready))
    elif int(ready.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        problems.append(
            "Ready=True is for generation %s, the Certificate is at generation %s (cert-manager "
            "has not reconciled the change yet)"
            % (ready.get("observedGeneration"), meta.get("generation"))
        )
    if not problems:
        if days is None:
            problems.append("Ready=True but its status has no notAfter")
        elif days < min_days:
            problems.append(
                "expires %s, in %d days (under the %d-day threshold)%s"
                % (
                    iso_utc(not_after),
                    days,
                    min_days,
                    "; renewal was due %s" % status["renewalTime"]
                    if status.get("renewalTime")
                    else "",
                )
            )
    said = []
    if problems:
        issuing = condition(certificate, "Issuing")
        if issuing is not None and (ready or {}).get("message") != issuing.get("message"):
            said.append(_says(issuing))
        if status.get("failedIssuanceAttempts"):
            said.append(
                "%s failed issuance attempts, the last at %s"
                % (status["failedIssuanceAttempts"], status.get("lastFailureTime") or "?")
            )
        if request is not None:
            rconds = [condition(request, k) for k in REQUEST_CONDITIONS]
            phrases = [_says(c) for c in rconds if c is not None]
            said.append(
                "CertificateRequest %s: %s"
                % (request["metadata"]["name"], "; ".join(phrases) or "no conditions yet")
            )
        if acme is not None:
            said.extend(_acme_says(acme))
        elif ready is not None and ready.get("status") != "True" and request is None:
            said.append("no CertificateRequest exists for it yet")
    problem = None
    if problems:
        problem = "Certificate %s/%s for %s: %s%s" % (
            meta.get("namespace"),
            meta["name"],
            host,
            "; ".join(problems),
            (". " + ". ".join(said)) if said else "",
        )
    return {
        "ready": not problems,
        "name": meta["name"],
        "not_after": iso_utc(not_after) if not_after else None,
        "days_left": days,
        "renewal_time": status.get("renewalTime"),
        "conditions": [_says(c) for c in status.get("conditions") or []],
        "request": request["metadata"]["name"] if request else None,
        "acme": acme if problems else None,
        "problem": problem,
    }


def look(kube, namespace, host, min_days, secret_name=None, now=None):
    """One look at the cluster: the verdict for host in namespace."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    try:
        certificates = kube.list(API % (namespace, "certificates"))
    except KubeError as exc:
        if exc.status == 404:
            raise CertificateAPIMissing(
                "the cluster does not serve cert-manager.io/v1 Certificates: install cert-manager "
                "(bootstrap.yml's platform role) or turn the certificate check off"
            ) from None
        raise
    certificate = pick(certificates, host, secret_name)
    request = acme = None
    if certificate is not None:
        request = newest_request(kube.list(API % (namespace, "certificaterequests")), certificate)
        if request is not None and (condition(certificate, "Ready") or {}).get("status") != "True":
            acme = _acme(kube, namespace, request)
    verdict = assess(certificate, request, host, min_days, now, acme)
    if certificate is None:
        verdict["problem"] += (
            " in %s (cert-manager creates it from the Ingress's cert-manager.io/cluster-issuer "
            "annotation and tls section: is cert-manager running, and does the Ingress name "
            "this host?)" % namespace
        )
    return verdict


def _acme(kube, namespace, request):
    try:
        orders = kube.list(ACME_API % (namespace, "orders"))
        challenges = kube.list(ACME_API % (namespace, "challenges")) if orders else []
    except KubeError as exc:
        if exc.status in (403, 404):  # no ACME issuer types served, or not ours to read
            return None
        raise
    return acme_progress(orders, challenges, request)


def wait_ready(
    kube, namespace, host, min_days, deadline, secret_name=None, clock=time.monotonic,
    sleep=time.sleep, interval=5.0,
):  # fmt: skip
    """Look until the certificate is ready or `deadline` seconds have passed (issuance after a
    first install takes the ACME round trip). Returns the last verdict and the looks taken."""
    end = clock() + max(0.0, float(deadline))
    looks = 0
    while True:
        verdict = look(kube, namespace, host, min_days, secret_name)
        looks += 1
        if verdict["ready"] or clock() >= end:
            verdict["looks"] = looks
            return verdict
        sleep(min(interval, max(0.0, end - clock())))
