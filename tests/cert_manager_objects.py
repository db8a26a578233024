"""cert-manager's objects as its controllers leave them, for a bed that runs no cert-manager:
a Certificate for a host, its CertificateRequest (with a real CSR), and the statuses cert-manager
v1.21 writes when the certificate is issued or while the ACME order is pending. Tests write the
status through the status subresource, as the controller does."""

from __future__ import annotations

import base64
import datetime
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ISSUER = {"name": "letsencrypt-staging", "kind": "ClusterIssuer", "group": "cert-manager.io"}


def stamp(days: float = 0) -> str:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def csr_pem(host: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def certificate(name: str, namespace: str, host: str) -> dict:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"secretName": name, "dnsNames": [host], "issuerRef": ISSUER},
    }


def certificate_request(certificate_name: str, namespace: str, host: str, revision=1) -> dict:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "CertificateRequest",
        "metadata": {
            "name": f"{certificate_name}-{revision}",
            "namespace": namespace,
            "annotations": {
                "cert-manager.io/certificate-name": certificate_name,
                "cert-manager.io/certificate-revision": str(revision),
            },
        },
        "spec": {
            "request": base64.b64encode(csr_pem(host)).decode(),
            "issuerRef": ISSUER,
            "usages": ["digital signature", "key encipherment"],
        },
    }


def _condition(kind, status, reason, message, generation=None):
    c = {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": stamp(),
    }
    if generation is not None:
        c["observedGeneration"] = generation
    return c


APPROVED = (
    "Approved",
    "True",
    "cert-manager.io",
    "Certificate request has been approved by cert-manager.io",
)
NOT_ISSUED = "Issuing certificate as Secret does not exist"


def issued(generation: int, days_left: float) -> tuple[dict, dict]:
    """(Certificate status, CertificateRequest status) once the certificate is issued."""
    cert = {
        "conditions": [
            _condition("Ready", "True", "Ready", "Certificate is up to date and has not expired",
                       generation),
        ],
        "notBefore": stamp(days_left - 90),
        "notAfter": stamp(days_left),
        "renewalTime": stamp(days_left - 30),
        "revision": 1,
    }  # fmt: skip
    request = {
        "conditions": [
            _condition(*APPROVED),
            _condition("Ready", "True", "Issued", "Certificate fetched from issuer successfully"),
        ]
    }
    return cert, request


def pending(generation: int, order: str) -> tuple[dict, dict]:
    """(Certificate status, CertificateRequest status) while the ACME order is pending."""
    cert = {
        "conditions": [
            _condition("Ready", "False", "DoesNotExist", NOT_ISSUED, generation),
            _condition("Issuing", "True", "DoesNotExist", NOT_ISSUED, generation),
        ]
    }
    request = {
        "conditions": [
            _condition(*APPROVED),
            _condition(
                "Ready", "False", "Pending",
                f'Waiting on certificate issuance from order {order}: "pending"',
            ),
        ]
    }  # fmt: skip
    return cert, request


def put(kube_cluster, name: str, namespace: str, host: str, ready: bool, days_left: float = 60):
    """Apply the Certificate and its request, then write their status like cert-manager."""
    kube_cluster.kubectl("apply", "-f", "-", input=json.dumps(certificate(name, namespace, host)))
    request = certificate_request(name, namespace, host)
    kube_cluster.kubectl("apply", "-f", "-", input=json.dumps(request))
    live = json.loads(
        kube_cluster.kubectl("-n", namespace, "get", "certificate", name, "-o", "json").stdout
    )
    generation = live["metadata"]["generation"]
    if ready:
        cert_status, request_status = issued(generation, days_left)
    else:
        cert_status, request_status = pending(generation, f"{namespace}/{name}-1-2804017914")
    for kind, obj, status in (
        ("certificaterequest", request["metadata"]["name"], request_status),
        ("certificate", name, cert_status),
    ):
        kube_cluster.kubectl(
            "-n", namespace, "patch", kind, obj, "--subresource=status", "--type=merge",
            "-p", json.dumps({"status": status}),
        )  # fmt: skip


def remove(kube_cluster, name: str, namespace: str):
    kube_cluster.kubectl(
        "-n", namespace, "delete", "certificaterequest", f"{name}-1", "--ignore-not-found"
    )
    kube_cluster.kubectl("-n", namespace, "delete", "certificate", name, "--ignore-not-found")
