"""HTTPS for real on the real-node bed (issue 15): Traefik serves the app's Ingress, cert-manager's
real controllers get its certificate from Pebble (Let's Encrypt's ACME test server, in the bed's
namespace) by HTTP-01 through the load balancer and Traefik, and `release.yml` checks the
Certificate and smoke-checks https://<host> trusting only the roots Pebble issues under.

Production, after the autoscaler's file: a release whose certificate and HTTPS are real, a
renewal cert-manager does without a release, a host whose HTTP-01 path is broken (the release
fails with cert-manager's own reason and rolls back), and zero failed requests through the
ingress during v1 -> v2.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time

import pytest
from cryptography import x509

from tests.real_nodes_support import (
    RELEASES,
    RequestLoop,
    bed_env,
    https_opener,
    ingress_address,
)

ENV = "production"
HOST = "todo.todo.test"
SECRET = f"{HOST}-tls"


@pytest.fixture(scope="module")
def roots():
    return bed_env()["HTD_ACME_ROOTS"]


def _curl(url, address, roots, *extra):
    host = url.split("/")[2]
    port = 443 if url.startswith("https") else 80
    return subprocess.run(
        ["curl", "-sS", "--max-time", "10", "--resolve", f"{host}:{port}:{address}",
         "--cacert", roots, *extra, url],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def _served_certificate(address, host=HOST):
    out = subprocess.run(
        ["openssl", "s_client", "-connect", f"{address}:443", "-servername", host],
        input="", capture_output=True, text=True, check=False, timeout=20,
    )  # fmt: skip
    pem = out.stdout[out.stdout.index("-----BEGIN CERTIFICATE-----") :]
    return x509.load_pem_x509_certificate(pem.encode())


def _get(kube_cluster, namespace, kind, name):
    scope = ("-n", namespace) if namespace else ()
    out = kube_cluster.kubectl(*scope, "get", kind, name, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


def _ready(obj):
    return any(
        c["type"] == "Ready" and c["status"] == "True" for c in obj["status"].get("conditions", [])
    )


def test_the_release_certificate_is_issued_by_pebble_and_https_serves_it(
    release_to, kube_cluster, pushed, roots
):
    proc, report = release_to(ENV, "v1.0.0")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert report["certificate"]["status"] == "passed", report["certificate"]
    assert report["smoke"]["status"] == "passed", report["smoke"]
    names = {c["name"] for c in report["smoke"]["checks"] if c["passed"]}
    assert names == {f"{ENV} health", f"{ENV} redirects HTTP to HTTPS"}, report["smoke"]

    cert = _get(kube_cluster, ENV, "certificate", SECRET)
    assert _ready(cert), cert["status"]
    # issued through ACME: the request's Order is valid (the Challenge was answered over HTTP-01)
    orders = json.loads(kube_cluster.kubectl("-n", ENV, "get", "orders", "-o", "json").stdout)
    assert any(o["status"].get("state") == "valid" for o in orders["items"]), orders["items"]

    address = ingress_address(kube_cluster)
    health = _curl(f"https://{HOST}/api/health", address, roots, "-f")
    assert health.returncode == 0, health.stderr
    assert json.loads(health.stdout)["status"] == "ok"
    redirect = _curl(f"http://{HOST}/api/health", address, roots, "-o", "/dev/null",
                     "-w", "%{http_code} %{redirect_url}")  # fmt: skip
    code, location = redirect.stdout.split()
    assert code in ("301", "308") and location == f"https://{HOST}/api/health", redirect.stdout

    served = _served_certificate(address)
    secret = _get(kube_cluster, ENV, "secret", SECRET)
    stored = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    assert served.serial_number == stored.serial_number
    assert "Pebble" in served.issuer.rfc4514_string()
    not_after = served.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert cert["status"]["notAfter"] == not_after
    assert not_after in report["certificate"]["summary"], report["certificate"]


def test_cert_manager_renews_a_certificate_without_a_release(bootstrapped, kube_cluster):
    """Due 30 s after issuance (Pebble issues for 90 days; renewBefore is 30 s short of that),
    cert-manager issues revision 2 by itself: a new serial in the Secret."""
    ns = "renewal-test"
    kube_cluster.kubectl("create", "namespace", ns)
    try:
        manifest = {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": "renew", "namespace": ns},
            "spec": {
                "secretName": "renew-tls",
                "dnsNames": ["renew.todo.test"],
                "duration": "2160h",
                "renewBefore": "2159h59m30s",
                "issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt-prod"},
            },
        }
        kube_cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))
        serials, deadline = set(), time.monotonic() + 240
        while time.monotonic() < deadline:
            cert = _get(kube_cluster, ns, "certificate", "renew")
            secret = _get(kube_cluster, ns, "secret", "renew-tls")
            if secret and secret.get("data", {}).get("tls.crt"):
                pem = base64.b64decode(secret["data"]["tls.crt"])
                serials.add(x509.load_pem_x509_certificate(pem).serial_number)
            if cert and (cert["status"].get("revision") or 0) >= 2 and len(serials) >= 2:
                break
            time.sleep(2)
        assert (cert["status"].get("revision") or 0) >= 2, cert["status"]
        assert len(serials) >= 2, serials
    finally:
        kube_cluster.kubectl("delete", "namespace", ns, "--wait=false")


def test_a_broken_http01_path_fails_the_release_with_cert_managers_reason(release_to, kube_cluster):
    """A host the public DNS cannot answer: cert-manager's HTTP-01 self check fails. The release
    waits its certificate deadline, fails quoting the Challenge's reason, and rolls back."""
    proc, report = release_to(
        ENV, "v1.0.0",
        {"app_release_host": "broken.todo.invalid", "app_release_certificate_deadline": 45},
    )  # fmt: skip
    assert proc.returncode != 0
    summary = report["certificate"]["summary"]
    assert report["certificate"]["status"] == "failed", report["certificate"]
    assert "HTTP-01 challenge for broken.todo.invalid: pending" in summary, summary
    assert "failed to perform self check GET request" in summary, summary
    assert "failed to perform self check GET request" in proc.stdout
    assert "rolled back" in proc.stdout, proc.stdout[-3000:]
    # the live release serves the host it served before, with its certificate
    ing = _get(kube_cluster, ENV, "ingress", RELEASES[ENV])
    assert [r["host"] for r in ing["spec"]["rules"]] == [HOST]
    assert _ready(_get(kube_cluster, ENV, "certificate", SECRET))
    # and no Certificate is left trying for the host the rolled-back revision named
    certs = json.loads(kube_cluster.kubectl("-n", ENV, "get", "certificates", "-o", "json").stdout)
    assert [c["metadata"]["name"] for c in certs["items"]] == [SECRET]


def test_v1_to_v2_through_the_ingress_with_zero_failed_requests(release_to, kube_cluster, roots):
    opener = https_opener(HOST, ingress_address(kube_cluster), roots)
    with RequestLoop(f"https://{HOST}/api/health", opener=opener) as loop:
        proc, report = release_to(ENV, "v2.0.0")
        time.sleep(3)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert report["outcome"] == "succeeded", report
    assert len(loop.results) > 100, len(loop.results)
    assert loop.failures() == [], loop.failures()[:5]
    seen = loop.versions_in_order()
    assert (seen[0], seen[-1]) == ("v1.0.0", "v2.0.0"), seen


def test_cert_managers_webhook_validates_and_mutates_with_an_injected_ca(
    bootstrapped, kube_cluster
):
    """The admission webhook answers the API server over TLS from its own CA, which cainjector
    wrote into the webhook configurations; it refuses what upstream's validation refuses, and
    stamps each CertificateRequest with its requester."""
    for kind in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
        conf = _get(kube_cluster, "", kind, "cert-manager-webhook")
        bundle = base64.b64decode(conf["webhooks"][0]["clientConfig"]["caBundle"])
        ca = _get(kube_cluster, "cert-manager", "secret", "cert-manager-webhook-ca")
        assert bundle == base64.b64decode(ca["data"]["ca.crt"]), kind
    invalid = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "no-names", "namespace": ENV},
        "spec": {
            "secretName": "no-names",
            "issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt-prod"},
        },
    }
    refused = kube_cluster.kubectl("apply", "-f", "-", input=json.dumps(invalid), check=False)
    assert refused.returncode != 0
    assert 'admission webhook "webhook.cert-manager.io" denied the request' in refused.stderr
    assert "at least one of commonName" in refused.stderr, refused.stderr
    # a CertificateRequest the controller creates is stamped with the controller's identity
    ns = "webhook-test"
    kube_cluster.kubectl("create", "namespace", ns)
    try:
        valid = {**invalid, "metadata": {"name": "named", "namespace": ns}}
        valid["spec"] = {**invalid["spec"], "dnsNames": ["webhook.todo.test"]}
        kube_cluster.kubectl("apply", "-f", "-", input=json.dumps(valid))
        requests, deadline = [], time.monotonic() + 60
        while not requests and time.monotonic() < deadline:
            time.sleep(1)
            out = kube_cluster.kubectl("-n", ns, "get", "certificaterequests", "-o", "json")
            requests = json.loads(out.stdout)["items"]
        assert [r["spec"].get("username") for r in requests] == [
            "system:serviceaccount:cert-manager:cert-manager"
        ], requests
    finally:
        kube_cluster.kubectl("delete", "namespace", ns, "--wait=false")
