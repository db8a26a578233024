"""The verdict on cert-manager's Certificate for a host (issue 13 #8): which Certificate serves the
host, which CertificateRequest is its newest, and what the message says when it is not ready.

The objects are shaped like cert-manager v1.21's (status fields and condition reasons as its
controllers write them); the bed tests write the same through the status subresource."""

from __future__ import annotations

import datetime

import pytest
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._certificate import (
    acme_progress,
    assess,
    newest_request,
    parse_time,
    pick,
)

NOW = datetime.datetime(2026, 12, 7, 12, 0, tzinfo=datetime.UTC)
HOST = "staging.todo.example.com"


def certificate(name="staging-tls", dns=(HOST,), ready="True", generation=1, observed=1,
                not_after="2027-02-20T12:00:00Z", **status):  # fmt: skip
    conditions = []
    if ready is not None:
        conditions.append(
            {
                "type": "Ready",
                "status": ready,
                "reason": "Ready" if ready == "True" else "DoesNotExist",
                "message": "Certificate is up to date and has not expired"
                if ready == "True"
                else "Issuing certificate as Secret does not exist",
                "observedGeneration": observed,
            }
        )
    return {
        "metadata": {"name": name, "namespace": "staging", "generation": generation},
        "spec": {"dnsNames": list(dns), "secretName": name},
        "status": {"conditions": conditions, "notAfter": not_after, **status},
    }


def request(name, cert="staging-tls", revision=1, conditions=()):
    return {
        "metadata": {
            "name": name,
            "annotations": {
                "cert-manager.io/certificate-name": cert,
                "cert-manager.io/certificate-revision": str(revision),
            },
            "creationTimestamp": "2026-12-07T11:00:00Z",
        },
        "status": {"conditions": list(conditions)},
    }


PENDING = [
    {"type": "Approved", "status": "True", "reason": "cert-manager.io",
     "message": "Certificate request has been approved by cert-manager.io"},
    {"type": "Ready", "status": "False", "reason": "Pending",
     "message": 'Waiting on certificate issuance from order staging/staging-tls-1-28: "pending"'},
]  # fmt: skip


def test_a_ready_certificate_with_time_left_passes():
    verdict = assess(certificate(), None, HOST, 14, NOW)
    assert verdict["ready"] and verdict["problem"] is None
    assert verdict["days_left"] == 75 and verdict["not_after"] == "2027-02-20T12:00:00Z"


def test_not_ready_quotes_cert_manager_and_the_newest_request():
    cert = certificate(ready="False")
    cert["status"]["conditions"].append(
        {
            "type": "Issuing",
            "status": "True",
            "reason": "DoesNotExist",
            "message": "Issuing certificate as Secret does not exist",
        }
    )
    verdict = assess(cert, request("staging-tls-1", conditions=PENDING), HOST, 14, NOW)
    assert not verdict["ready"]
    problem = verdict["problem"]
    assert problem.startswith(f"Certificate staging/staging-tls for {HOST}: not ready: Ready=False")
    assert "DoesNotExist: Issuing certificate as Secret does not exist" in problem
    assert "Issuing=True" not in problem  # it says what Ready=False already said
    assert "CertificateRequest staging-tls-1: Approved=True" in problem
    assert "Ready=False (Pending: Waiting on certificate issuance from order" in problem


def test_a_denied_request_is_named_first():
    denied = [
        {"type": "Denied", "status": "True", "reason": "policy.cert-manager.io",
         "message": "no policy approved this request"},
        {"type": "Ready", "status": "False", "reason": "Denied",
         "message": "The request was denied"},
    ]  # fmt: skip
    problem = assess(certificate(ready="False"), request("r", conditions=denied), HOST, 14, NOW)[
        "problem"
    ]
    assert problem.index("Denied=True") < problem.index("Ready=False (Denied")


def test_expiring_within_the_threshold_fails_and_says_when_renewal_was_due():
    cert = certificate(
        not_after="2026-12-17T12:00:00Z",
        renewalTime="2026-11-17T12:00:00Z",
        failedIssuanceAttempts=3,
        lastFailureTime="2026-12-07T10:00:00Z",
    )
    cert["status"]["conditions"].append(
        {
            "type": "Issuing",
            "status": "False",
            "reason": "Failed",
            "message": "The certificate request has failed to complete and will be retried",
        }
    )
    verdict = assess(cert, None, HOST, 14, NOW)
    assert not verdict["ready"] and verdict["days_left"] == 10
    assert (
        "expires 2026-12-17T12:00:00Z, in 10 days (under the 14-day threshold)"
        in (verdict["problem"])
    )
    assert "renewal was due 2026-11-17T12:00:00Z" in verdict["problem"]
    assert "3 failed issuance attempts, the last at 2026-12-07T10:00:00Z" in verdict["problem"]
    assert "Issuing=False (Failed: The certificate request has failed" in verdict["problem"]
    # min_days 0: a valid certificate is enough
    assert assess(cert, None, HOST, 0, NOW)["ready"]


def test_ready_for_an_older_generation_is_not_ready():
    verdict = assess(certificate(generation=2, observed=1), None, HOST, 14, NOW)
    assert not verdict["ready"]
    assert (
        "Ready=True is for generation 1, the Certificate is at generation 2" in verdict["problem"]
    )


def test_no_report_yet_and_no_certificate_at_all():
    assert "no Ready condition" in assess(certificate(ready=None), None, HOST, 14, NOW)["problem"]
    assert (
        assess(None, None, HOST, 14, NOW)["problem"] == f"no cert-manager Certificate covers {HOST}"
    )


def test_pick_takes_the_certificate_that_covers_the_host():
    other = certificate(name="a-other", dns=("todo.example.com",))
    wildcard = certificate(name="b-wildcard", dns=("*.todo.example.com",))
    exact = certificate(name="c-exact")
    assert pick([other], HOST) is None
    assert pick([other, wildcard], HOST)["metadata"]["name"] == "b-wildcard"
    # the wildcard covers one label only
    assert pick([wildcard], "a.staging.todo.example.com") is None
    # several cover it: the one writing the Ingress's TLS secret
    assert pick([wildcard, exact], HOST, secret_name="c-exact")["metadata"]["name"] == "c-exact"
    assert pick([exact, wildcard], HOST)["metadata"]["name"] == "b-wildcard"  # else by name


def test_newest_request_is_the_highest_revision_of_that_certificate():
    cert = certificate()
    requests = [
        request("staging-tls-1", revision=1),
        request("staging-tls-3", revision=3),
        request("other-9", cert="other", revision=9),
        request("staging-tls-2", revision=2),
    ]
    assert newest_request(requests, cert)["metadata"]["name"] == "staging-tls-3"
    assert newest_request([request("other-1", cert="other")], cert) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-02-20T12:00:00Z", datetime.datetime(2027, 2, 20, 12, tzinfo=datetime.UTC)),
        ("", None),
        ("not a time", None),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


# cert-manager writes why an ACME issuance is stuck on the Challenge, not on the Certificate or
# its CertificateRequest (found on the real bed: a host nobody resolves). The chain is
# CertificateRequest -> Order (owner) -> Challenge (owner).
def order(name, owner_uid, state="pending", reason=None, created="2026-12-07T11:00:01Z"):
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": created,
            "ownerReferences": [{"kind": "CertificateRequest", "uid": owner_uid}],
        },
        "status": {"state": state, **({"reason": reason} if reason else {})},
    }


def challenge(order_uid, dns=HOST, state="pending", reason="", kind="HTTP-01"):
    return {
        "metadata": {"name": "c", "ownerReferences": [{"kind": "Order", "uid": order_uid}]},
        "spec": {"dnsName": dns, "type": kind},
        "status": {"state": state, "reason": reason, "processing": True},
    }


SELF_CHECK = (
    "Waiting for HTTP-01 challenge propagation: failed to perform self check GET request "
    "'http://staging.todo.example.com/.well-known/acme-challenge/t': dial tcp: lookup "
    "staging.todo.example.com on 10.96.0.10:53: server misbehaving"
)


def test_a_stuck_acme_issuance_quotes_the_challenge_reason():
    req = request("staging-tls-1", conditions=PENDING)
    req["metadata"]["uid"] = "r1"
    old = order("staging-tls-1-0", "r0", state="invalid", created="2026-12-07T10:00:00Z")
    old["metadata"]["uid"] = "o0"
    new = order("staging-tls-1-28", "r1")
    new["metadata"]["uid"] = "o1"
    acme = acme_progress(
        [old, new], [challenge("o0", reason="old"), challenge("o1", reason=SELF_CHECK)], req
    )
    verdict = assess(certificate(ready="False"), req, HOST, 14, NOW, acme)
    assert verdict["acme"] == {
        "order": "staging-tls-1-28",
        "state": "pending",
        "challenges": [
            {"dns_name": HOST, "type": "HTTP-01", "state": "pending", "reason": SELF_CHECK}
        ],
    }
    assert (
        f"Order staging-tls-1-28: pending. HTTP-01 challenge for {HOST}: pending: {SELF_CHECK}"
        in verdict["problem"]
    ), verdict["problem"]


def test_an_order_that_failed_says_why_and_a_ready_certificate_ignores_acme():
    req = request("staging-tls-1", conditions=PENDING)
    req["metadata"]["uid"] = "r1"
    bad = order("staging-tls-1-28", "r1", state="invalid", reason="Failed to finalize Order")
    bad["metadata"]["uid"] = "o1"
    acme = acme_progress([bad], [], req)
    verdict = assess(certificate(ready="False"), req, HOST, 14, NOW, acme)
    assert "Order staging-tls-1-28: invalid (Failed to finalize Order)" in verdict["problem"]
    assert acme_progress([bad], [], None) is None
    # every verdict has the key the module documents as always returned
    assert assess(None, None, HOST, 14, NOW)["acme"] is None
    assert assess(certificate(), req, HOST, 14, NOW, acme)["problem"] is None
