# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a server certificate says, and whether it can serve a host now.

Private (the leading underscore): the API may change between minor releases.

Used by smoke_check (_probe: the certificate a TLS handshake presented) and by certificate_status
(_certificate: the host names a cert-manager Certificate asks for).

Why read the certificate ourselves: SSLSocket.getpeercert() returns the parsed dict only for a
certificate that passed verification, and an expired, mismatched or untrusted certificate is
exactly the one we must describe. Its binary (DER) form is always available; `cryptography`
reads it. Anything it cannot read raises CertificateParseError; the check then reports the TLS
verdict without certificate details instead of guessing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import math
import traceback

try:
    from cryptography import x509

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()


class CertificateParseError(ValueError):
    pass


# Attribute names as `openssl x509 -issuer` writes them; other attributes by their dotted OID.
_OID_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.5": "serialNumber",
    "1.2.840.113549.1.9.1": "emailAddress",
    "0.9.2342.19200300.100.1.25": "DC",
}


def _name(name):
    """A Name as 'C=US, O=Let's Encrypt, CN=R11': certificate order, as `openssl x509 -issuer`."""
    parts = []
    for rdn in name.rdns:
        attrs = []
        for attr in rdn:
            oid = attr.oid.dotted_string
            value = attr.value
            if isinstance(value, bytes):  # X500UniqueIdentifier is a BIT STRING
                value = value.decode("utf-8", "replace")
            attrs.append("%s=%s" % (_OID_NAMES.get(oid, oid), value))
        parts.append("+".join(attrs))
    return ", ".join(parts)


def _utc(cert, field):
    """not_valid_before/after as an aware UTC datetime (the *_utc properties since 42.0)."""
    moment = getattr(cert, field + "_utc", None)
    if moment is None:  # pragma: no cover - older cryptography than requirements.txt pins
        moment = getattr(cert, field).replace(tzinfo=datetime.timezone.utc)
    return moment


def parse_der_certificate(der):
    """The fields smoke_check reports from a DER X.509 certificate.

    Returns a dict: not_before, not_after (aware UTC datetimes), issuer, subject (strings),
    dns_names, ip_addresses (lists of strings from the subjectAltName extension, in certificate
    order; empty without one). Raises CertificateParseError for anything that is not a readable
    certificate, and RuntimeError when `cryptography` is not installed.
    """
    if not HAS_CRYPTOGRAPHY:
        raise RuntimeError("reading a certificate needs the Python library cryptography")
    try:
        cert = x509.load_der_x509_certificate(bytes(der))
        info = {
            "not_before": _utc(cert, "not_valid_before"),
            "not_after": _utc(cert, "not_valid_after"),
            "issuer": _name(cert.issuer),
            "subject": _name(cert.subject),
            "dns_names": [],
            "ip_addresses": [],
        }
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return info
        info["dns_names"] = list(san.get_values_for_type(x509.DNSName))
        info["ip_addresses"] = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    except (ValueError, TypeError) as exc:  # x509.DuplicateExtension is a ValueError too
        raise CertificateParseError("not a readable X.509 certificate: %s" % exc) from None
    return info


def host_is_ip(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def cert_covers_host(cert, host):
    """Whether the certificate's SANs cover host (RFC 6125: one left-most wildcard label)."""
    host = host.rstrip(".").lower()
    if host_is_ip(host):
        return any(
            ipaddress.ip_address(host) == ipaddress.ip_address(ip) for ip in cert["ip_addresses"]
        )
    for name in cert["dns_names"]:
        name = name.rstrip(".").lower()
        if name == host:
            return True
        if name.startswith("*."):
            suffix = name[1:]  # '.example.com'
            label = host[: -len(suffix)] if host.endswith(suffix) else ""
            if label and "." not in label:
                return True
    return False


def describe_sans(cert):
    names = ["DNS:%s" % n for n in cert["dns_names"]] + ["IP:%s" % i for i in cert["ip_addresses"]]
    return ", ".join(names) if names else "none"


def iso_utc(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def days_left(cert, now):
    """Whole days until notAfter (negative once expired)."""
    return math.floor((cert["not_after"] - now).total_seconds() / 86400.0)


def _ago(delta):
    seconds = delta.total_seconds()
    if seconds >= 2 * 86400:
        return "%d days" % int(seconds // 86400)
    if seconds >= 2 * 3600:
        return "%d hours" % int(seconds // 3600)
    return "%d minutes" % max(1, int(seconds // 60))


def certificate_problems(cert, host, now):
    """Human-readable reasons this certificate cannot serve host now (empty when none)."""
    problems = []
    if now > cert["not_after"]:
        problems.append(
            "certificate expired %s ago (not after %s)"
            % (_ago(now - cert["not_after"]), iso_utc(cert["not_after"]))
        )
    elif now < cert["not_before"]:
        problems.append(
            "certificate is not valid yet (not before %s)" % iso_utc(cert["not_before"])
        )
    if not cert_covers_host(cert, host):
        problems.append(
            "certificate does not cover host %s (SANs: %s)" % (host, describe_sans(cert))
        )
    return problems


# OpenSSL X509_V_ERR_* codes that say something about this certificate rather than the chain.
_X509_NOT_YET_VALID, _X509_EXPIRED, _X509_HOSTNAME_MISMATCH = 9, 10, 62


def explain_verify_failure(verify_code, verify_message, cert, host, trust_store, now):
    """One message for a failed TLS verification, from OpenSSL's verdict and the certificate.

    OpenSSL stops at its first error; reading the certificate ourselves lets the message name
    every problem (e.g. an untrusted certificate that also covers the wrong host).
    """
    problems = certificate_problems(cert, host, now) if cert else []
    if (
        verify_code not in (_X509_NOT_YET_VALID, _X509_EXPIRED, _X509_HOSTNAME_MISMATCH)
        or not problems
    ):
        issuer = " (issuer: %s)" % cert["issuer"] if cert else ""
        problems.insert(
            0,
            "certificate is not trusted by %s: %s%s"
            % (trust_store, verify_message or "verification failed", issuer),
        )
    return "; ".join(problems)
