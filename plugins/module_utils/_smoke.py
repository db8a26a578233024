# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The engine behind hackathon_todo.deploy.smoke_check: probe HTTP(S) endpoints, judge them.

Private (the leading underscore): the API may change between minor releases.

Standard library only, so the module runs unchanged in AWX execution environments. The HTTP
client is http.client on a socket we open ourselves, because a smoke check must see what higher
level clients hide: the raw redirect (never followed), the peer certificate even when it fails
verification, and a latency that covers connect + TLS + the whole body.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import datetime
import http.client
import ipaddress
import json
import math
import os
import random
import re
import socket
import ssl
import time
from urllib.parse import urljoin, urlsplit, urlunsplit

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._dns import DnsError, resolve_a

# Header names whose values are credentials. Compared case-insensitively; users add their own
# with the secret_headers option.
SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "x-api-key")
REDACTED = "********"

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_BODY_BYTES = 1024 * 1024  # body assertions look at the first MiB
BACKOFF_CAP = 10.0  # seconds; retry delays double up to this (or retry_delay if larger)
USER_AGENT = "hackathon_todo.deploy.smoke_check"

# Built-in defaults for every per-check option (the module's `defaults` option carries the same
# values in its argument spec so that DOCUMENTATION shows them).
CHECK_DEFAULTS = {
    "method": "GET",
    "headers": {},
    "secret_headers": [],
    "status_code": [200],
    "body_contains": [],
    "body_regex": None,
    "body_json": [],
    "timeout": 10.0,
    "expect_redirect_to": None,
    "redirect_status": [301, 308],
    "validate_certs": True,
    "ca_path": None,
    "min_cert_days": 0,
    "cert_issuer_contains": None,
    "latency_ms": None,
    "samples": 1,
    "deadline": 30.0,
    "retry_delay": 1.0,
    "connect_to": None,
    "dns_server": None,
}


class SmokeConfigError(Exception):
    """The module's input cannot work; reported before any request is sent."""


class ProbeError(Exception):
    """One request did not get a usable answer (DNS, connect, TLS, HTTP framing)."""

    def __init__(self, message, cert=None):
        super(ProbeError, self).__init__(message)
        self.cert = cert


class CertificateParseError(ValueError):
    pass


# --------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------


def _as_header_dict(value):
    """Headers as a dict, also for the raw (not yet validated) `k=v` string form."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:
        try:
            from ansible.module_utils.common.validation import check_type_dict

            return check_type_dict(value)
        except (TypeError, ValueError):
            return {}
    return {}


def secret_header_values(params):
    """Every secret header value in the module parameters (checks and defaults).

    Works on raw, unvalidated parameters too: the module calls it before AnsibleModule logs or
    returns its invocation, so odd shapes are skipped rather than trusted.
    """
    values = set()
    defaults = params.get("defaults") if isinstance(params.get("defaults"), dict) else {}
    default_names = defaults.get("secret_headers") or []
    entries = [defaults]
    checks = params.get("checks")
    if isinstance(checks, list):
        entries.extend(c for c in checks if isinstance(c, dict))
    for entry in entries:
        names = set(SECRET_HEADERS)
        for extra in (default_names, entry.get("secret_headers") or []):
            if isinstance(extra, list):
                names.update(str(n).lower() for n in extra)
            elif isinstance(extra, str):
                names.update(n.strip().lower() for n in extra.split(","))
        for key, value in _as_header_dict(entry.get("headers")).items():
            if str(key).lower() in names and value not in (None, ""):
                values.add(str(value))
    return values


def redact(value, secrets):
    """Replace every secret inside strings of a (nested) result with REDACTED."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return dict((k, redact(v, secrets)) for k, v in value.items())
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# X.509 (DER) reading
#
# Why a small DER reader of our own: SSLSocket.getpeercert() returns the parsed dict only for a
# certificate that passed verification, and an expired, mismatched or untrusted certificate is
# exactly the one we must describe. Its binary form is always available. The stdlib's only
# parser, ssl._ssl._test_decode_cert, is a private test hook that needs a PEM file on disk, and
# `cryptography` is not guaranteed in an execution environment. A certificate is plain DER
# (RFC 5280); the handful of fields we report (validity, issuer, subject, SAN) are reachable
# with a strict TLV walker. Anything unexpected raises CertificateParseError; the check then
# reports the TLS verdict without certificate details instead of guessing.
# --------------------------------------------------------------------------------------------

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
_OID_SAN = "2.5.29.17"


def _der_next(data, pos):
    """(tag, value, next_pos) of the TLV at pos."""
    if pos + 2 > len(data):
        raise CertificateParseError("truncated DER at offset %d" % pos)
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise CertificateParseError("multi-byte DER tag at offset %d" % pos)
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise CertificateParseError("bad DER length at offset %d" % pos)
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise CertificateParseError("DER value overruns its container at offset %d" % pos)
    return tag, data[pos:end], end


def _der_items(data):
    pos = 0
    items = []
    while pos < len(data):
        tag, value, pos = _der_next(data, pos)
        items.append((tag, value))
    return items


def _der_single(data, tag):
    got, value, end = _der_next(data, 0)
    if got != tag or end != len(data):
        raise CertificateParseError("expected DER tag 0x%02x, got 0x%02x" % (tag, got))
    return value


def _oid(value):
    if not value:
        raise CertificateParseError("empty OID")
    subids, acc = [], 0
    for byte in value:
        acc = (acc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            subids.append(acc)
            acc = 0
    first = min(subids[0] // 40, 2)
    return ".".join(str(n) for n in [first, subids[0] - 40 * first, *subids[1:]])


def _der_string(tag, value):
    if tag == 0x1E:  # BMPString
        return value.decode("utf-16-be", "replace")
    if tag == 0x1C:  # UniversalString
        return value.decode("utf-32-be", "replace")
    if tag == 0x14:  # TeletexString: latin-1 in practice
        return value.decode("latin-1")
    return value.decode("utf-8", "replace")  # UTF8/Printable/IA5/Visible/Numeric


def _der_name(value):
    """A Name as 'C=US, O=Let's Encrypt, CN=R11': certificate order, as `openssl x509 -issuer`."""
    parts = []
    for rdn_tag, rdn in _der_items(value):
        if rdn_tag != 0x31:
            raise CertificateParseError("RDN is not a SET")
        attrs = []
        for atv_tag, atv in _der_items(rdn):
            if atv_tag != 0x30:
                raise CertificateParseError("attribute is not a SEQUENCE")
            (oid_tag, oid), (str_tag, raw) = _der_items(atv)[:2]
            if oid_tag != 0x06:
                raise CertificateParseError("attribute type is not an OID")
            oid_text = _oid(oid)
            attrs.append("%s=%s" % (_OID_NAMES.get(oid_text, oid_text), _der_string(str_tag, raw)))
        parts.append("+".join(attrs))
    return ", ".join(parts)


def _der_time(tag, value):
    text = value.decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
        match = re.match(r"^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$", text)
        if match:
            year = int(match.group(1))
            year += 1900 if year >= 50 else 2000  # RFC 5280 4.1.2.5.1
    elif tag == 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        match = re.match(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$", text)
        if match:
            year = int(match.group(1))
    else:
        raise CertificateParseError("validity is not a time (tag 0x%02x)" % tag)
    if not match:
        raise CertificateParseError("unsupported time format %r" % text)
    rest = [int(g) for g in match.groups()[1:]]
    return datetime.datetime(year, *rest, tzinfo=datetime.timezone.utc)


def _der_san(value):
    dns_names, ip_addresses = [], []
    for tag, raw in _der_items(_der_single(value, 0x30)):
        if tag == 0x82:  # [2] dNSName
            dns_names.append(raw.decode("ascii", "replace"))
        elif tag == 0x87 and len(raw) in (4, 16):  # [7] iPAddress
            ip_addresses.append(str(ipaddress.ip_address(bytes(raw))))
    return dns_names, ip_addresses


def parse_der_certificate(der):
    """The fields smoke_check reports from a DER X.509 certificate.

    Returns a dict: not_before, not_after (aware UTC datetimes), issuer, subject (strings),
    dns_names, ip_addresses (lists of strings from the subjectAltName extension).
    """
    der = bytes(der)
    cert = _der_single(der, 0x30)
    tbs_tag, tbs, _end = _der_next(cert, 0)
    if tbs_tag != 0x30:
        raise CertificateParseError("tbsCertificate is not a SEQUENCE")
    items = _der_items(tbs)
    idx = 1 if items and items[0][0] == 0xA0 else 0  # [0] EXPLICIT version is optional (v1)
    if len(items) < idx + 6:
        raise CertificateParseError("tbsCertificate has too few fields")
    issuer = items[idx + 2]
    validity = items[idx + 3]
    subject = items[idx + 4]
    if issuer[0] != 0x30 or validity[0] != 0x30 or subject[0] != 0x30:
        raise CertificateParseError("unexpected tbsCertificate layout")
    times = _der_items(validity[1])
    if len(times) != 2:
        raise CertificateParseError("validity must hold two times")
    info = {
        "not_before": _der_time(*times[0]),
        "not_after": _der_time(*times[1]),
        "issuer": _der_name(issuer[1]),
        "subject": _der_name(subject[1]),
        "dns_names": [],
        "ip_addresses": [],
    }
    for tag, value in items[idx + 6 :]:
        if tag != 0xA3:  # [1]/[2] unique IDs: not needed
            continue
        for ext_tag, ext in _der_items(_der_single(value, 0x30)):
            if ext_tag != 0x30:
                raise CertificateParseError("extension is not a SEQUENCE")
            fields = _der_items(ext)
            if fields and fields[0][0] == 0x06 and _oid(fields[0][1]) == _OID_SAN:
                octets = [v for t, v in fields[1:] if t == 0x04]
                if not octets:
                    raise CertificateParseError("subjectAltName without a value")
                info["dns_names"], info["ip_addresses"] = _der_san(octets[0])
    return info


def _host_is_ip(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def cert_covers_host(cert, host):
    """Whether the certificate's SANs cover host (RFC 6125: one left-most wildcard label)."""
    host = host.rstrip(".").lower()
    if _host_is_ip(host):
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


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------

_PATH_KEY = re.compile(r"[^.\[\]]+")
_PATH_INDEX = re.compile(r"\[(-?\d+)\]")


def parse_json_path(path):
    """'checks.db[0].ok' -> ['checks', 'db', 0, 'ok']; a leading '$' or '$.' is accepted."""
    text = path[1:] if path.startswith("$") else path
    tokens, pos = [], 0
    while pos < len(text):
        index = _PATH_INDEX.match(text, pos)
        if index:
            tokens.append(int(index.group(1)))
            pos = index.end()
            continue
        dotted = text[pos] == "."
        if dotted:
            pos += 1
        key = _PATH_KEY.match(text, pos)
        # a key after another token (or after '$') needs its dot; the first key has none
        if not key or dotted != bool(tokens or path.startswith("$")):
            raise SmokeConfigError(
                "invalid JSON path %r (use keys separated by dots and [N] "
                "for list items, e.g. checks.db[0].ok)" % path
            )
        tokens.append(key.group(0))
        pos = key.end()
    if not tokens:
        raise SmokeConfigError("empty JSON path %r" % path)
    return tokens


_MISSING = object()


def json_lookup(doc, tokens):
    for token in tokens:
        if isinstance(token, int):
            if not isinstance(doc, list) or not -len(doc) <= token < len(doc):
                return _MISSING
            doc = doc[token]
        else:
            if not isinstance(doc, dict) or token not in doc:
                return _MISSING
            doc = doc[token]
    return doc


def json_equal(actual, expected):
    """JSON equality that does not confuse true with 1 or "200" with 200."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        return actual == expected
    if isinstance(actual, dict) and isinstance(expected, dict):
        return set(actual) == set(expected) and all(
            json_equal(actual[k], expected[k]) for k in actual
        )
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(
            json_equal(actual[i], expected[i]) for i in range(len(actual))
        )
    return type(actual) is type(expected) and actual == expected


def normalize_url(url):
    """Scheme/host lowercased, default port and empty path dropped, for redirect comparison."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = "[%s]" % host
    port = parts.port
    netloc = (
        host
        if port is None or (scheme, port) in (("http", 80), ("https", 443))
        else "%s:%d" % (host, port)
    )
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _check_url(url, what):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SmokeConfigError("%s %r is not an absolute http:// or https:// URL" % (what, url))
    if parts.username is not None or parts.password is not None:
        raise SmokeConfigError(
            "%s must not carry credentials; send them in an Authorization header instead" % what
        )
    try:
        parts.port  # noqa: B018 - the property raises ValueError for a bad port
    except ValueError:
        raise SmokeConfigError("%s %r has an invalid port" % (what, url)) from None
    try:
        (parts.path + parts.query).encode("ascii")
    except UnicodeEncodeError:
        raise SmokeConfigError(
            "%s %r: percent-encode non-ASCII characters in the path and query" % (what, url)
        ) from None


def resolve_checks(checks, defaults):
    """Merge each check with `defaults` and the built-in defaults, and validate it.

    Returns a list of complete check dicts (every key of CHECK_DEFAULTS plus name/url and a few
    derived keys). Raises SmokeConfigError naming the check and the problem.
    """
    defaults = dict((k, v) for k, v in (defaults or {}).items() if v is not None)
    resolved = []
    for index, raw in enumerate(checks):
        label = "checks[%d] (%s)" % (index, raw.get("name") or raw.get("url"))
        check = dict(CHECK_DEFAULTS)
        check.update(defaults)
        check.update((k, v) for k, v in raw.items() if v is not None)
        # headers merge (a check overrides a default header of the same name); secret header
        # names accumulate, so a default can never be un-secreted by a check.
        headers = {}
        for source in (defaults.get("headers") or {}, raw.get("headers") or {}):
            for key, value in source.items():
                for existing in [k for k in headers if k.lower() == str(key).lower()]:
                    del headers[existing]
                headers[str(key)] = "" if value is None else str(value)
        for key, value in headers.items():
            if re.search(r"[\r\n\x00]", key + value) or not re.match(
                r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", key
            ):
                raise SmokeConfigError(
                    "%s: header %r has an invalid name or value (line breaks "
                    "and control characters are not allowed)" % (label, key)
                )
        check["headers"] = headers
        secret_names = set(SECRET_HEADERS)
        secret_names.update(n.lower() for n in (defaults.get("secret_headers") or []))
        secret_names.update(n.lower() for n in (raw.get("secret_headers") or []))
        check["secret_names"] = secret_names
        check["name"] = raw.get("name") or raw["url"]
        check["method"] = check["method"].upper()
        if check["method"] not in SAFE_METHODS:
            raise SmokeConfigError(
                "%s: method %s is not one of %s" % (label, check["method"], ", ".join(SAFE_METHODS))
            )

        _check_url(check["url"], "%s: url" % label)
        check["https"] = urlsplit(check["url"]).scheme == "https"
        if check["expect_redirect_to"]:
            _check_url(check["expect_redirect_to"], "%s: expect_redirect_to" % label)
        for key in ("status_code", "redirect_status"):
            for code in check[key]:
                if not 100 <= code <= 599:
                    raise SmokeConfigError(
                        "%s: %s %d is not an HTTP status code" % (label, key, code)
                    )
        for key, low in (
            ("timeout", 0.001),
            ("samples", 1),
            ("latency_ms", 1),
            ("deadline", 0),
            ("retry_delay", 0),
            ("min_cert_days", 0),
        ):
            if check[key] is not None and check[key] < low:
                raise SmokeConfigError("%s: %s must be at least %s" % (label, key, low))
        if check["body_regex"]:
            try:
                check["body_regex_compiled"] = re.compile(check["body_regex"])
            except re.error as exc:
                raise SmokeConfigError(
                    "%s: body_regex is not a valid regular expression: %s" % (label, exc)
                ) from None
        else:
            check["body_regex_compiled"] = None
        json_checks = []
        for item in check["body_json"]:
            if item.get("exists") is False and item.get("equals") is not None:
                raise SmokeConfigError(
                    "%s: body_json path %s cannot both be absent (exists: false) "
                    "and equal a value" % (label, item["path"])
                )
            try:
                tokens = parse_json_path(item["path"])
            except SmokeConfigError as exc:
                raise SmokeConfigError("%s: body_json %s" % (label, exc)) from None
            json_checks.append(dict(item, tokens=tokens))
        check["body_json"] = json_checks
        if check["ca_path"] and not os.path.exists(check["ca_path"]):
            raise SmokeConfigError("%s: ca_path %s does not exist" % (label, check["ca_path"]))
        if check.get("dns_server") and not _host_is_ip(check["dns_server"]):
            raise SmokeConfigError(
                "%s: dns_server must be an IP address, not %r" % (label, check["dns_server"])
            )
        resolved.append(check)
    return resolved


# --------------------------------------------------------------------------------------------
# Probing
# --------------------------------------------------------------------------------------------


def _trust_store(check):
    return "the CA bundle %s" % check["ca_path"] if check["ca_path"] else "the system trust store"


def build_tls_context(validate_certs, ca_path):
    """Client context: verify against ca_path (file or directory) or the system store."""
    if not validate_certs:
        return unverified_tls_context()
    try:
        if ca_path and os.path.isdir(ca_path):
            return ssl.create_default_context(capath=ca_path)
        return ssl.create_default_context(cafile=ca_path)
    except (ssl.SSLError, OSError) as exc:
        raise SmokeConfigError(
            "cannot load CA certificates from %s: %s" % (ca_path or "the system store", exc)
        ) from None


def unverified_tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class _Target(object):
    def __init__(self, check):
        parts = urlsplit(check["url"])
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.address = check["connect_to"] or self.host
        self.dns_server = check.get("dns_server")
        self.path = urlunsplit(("", "", parts.path or "/", parts.query, ""))


def _connect(target, timeout):
    address = target.address
    if target.dns_server and not _host_is_ip(address):
        try:
            address = resolve_a(address, target.dns_server, timeout=timeout)
        except DnsError as exc:
            raise ProbeError("DNS lookup for %s failed: %s" % (target.address, exc)) from None
    try:
        return socket.create_connection((address, target.port), timeout=timeout)
    except socket.gaierror as exc:
        raise ProbeError(
            "DNS lookup for %s failed: %s" % (target.address, exc.strerror or exc)
        ) from None
    except ConnectionRefusedError:
        raise ProbeError(
            "connection refused by %s port %d" % (target.address, target.port)
        ) from None
    except socket.timeout:
        raise ProbeError(
            "timed out after %gs connecting to %s port %d" % (timeout, target.address, target.port)
        ) from None
    except OSError as exc:
        raise ProbeError(
            "cannot connect to %s port %d: %s" % (target.address, target.port, exc.strerror or exc)
        ) from None


def fetch_peer_certificate(target, timeout):
    """DER of the server's certificate from a handshake that verifies nothing (or None)."""
    try:
        sock = _connect(target, timeout)
    except ProbeError:
        return None
    try:
        with unverified_tls_context().wrap_socket(sock, server_hostname=target.host) as tls:
            return tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
    finally:
        sock.close()


def _read_cert(der):
    try:
        return parse_der_certificate(der) if der else None
    except (CertificateParseError, ValueError):
        return None


class Sample(object):
    def __init__(self, status, reason, headers, body, seconds, cert):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.seconds = seconds
        self.cert = cert


def probe(check, ctx, now=None):
    """One request on a new connection. Returns a Sample or raises ProbeError."""
    target = _Target(check)
    timeout = check["timeout"]
    started = time.monotonic()
    sock = _connect(target, timeout)
    conn = cert = None
    phase = "while waiting for the response from"
    try:
        if target.https:
            phase = "during the TLS handshake with"
            try:
                sock = ctx.wrap_socket(sock, server_hostname=target.host)
            except ssl.SSLCertVerificationError as exc:
                cert = _read_cert(fetch_peer_certificate(target, timeout))
                raise ProbeError(
                    explain_verify_failure(
                        getattr(exc, "verify_code", None),
                        getattr(exc, "verify_message", None) or str(exc),
                        cert,
                        target.host,
                        _trust_store(check),
                        now or utcnow(),
                    ),
                    cert=cert,
                ) from None
            cert = _read_cert(sock.getpeercert(binary_form=True))
            phase = "while waiting for the response from"
        conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
        conn.sock = sock
        headers = {"User-Agent": USER_AGENT, "Connection": "close"}
        for key, value in check["headers"].items():
            for existing in [k for k in headers if k.lower() == key.lower()]:
                del headers[existing]
            headers[key] = value
        conn.request(check["method"], target.path, headers=headers)
        response = conn.getresponse()
        phase = "while reading the body from"
        body = b""
        if check["method"] != "HEAD":
            while len(body) < MAX_BODY_BYTES:
                chunk = response.read(min(65536, MAX_BODY_BYTES - len(body)))
                if not chunk:
                    break
                body += chunk
                if time.monotonic() - started > timeout:
                    raise socket.timeout()
        seconds = time.monotonic() - started
        return Sample(response.status, response.reason, response.headers, body, seconds, cert)
    except ProbeError:
        raise
    except socket.timeout:
        raise ProbeError(
            "timed out after %gs %s %s port %d" % (timeout, phase, target.address, target.port),
            cert=cert,
        ) from None
    except ssl.SSLError as exc:
        raise ProbeError(
            "TLS error %s %s port %d: %s" % (phase, target.address, target.port, exc.reason or exc),
            cert=cert,
        ) from None
    except http.client.HTTPException as exc:
        raise ProbeError(
            "invalid HTTP response %s %s port %d: %s"
            % (phase, target.address, target.port, str(exc) or type(exc).__name__),
            cert=cert,
        ) from None
    except OSError as exc:
        raise ProbeError(
            "%s %s %s port %d" % (exc.strerror or exc, phase, target.address, target.port),
            cert=cert,
        ) from None
    finally:
        if conn is not None:
            conn.close()  # also closes the response, which holds a reference to the socket
        sock.close()


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _excerpt(text, limit=120):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _body_text(sample):
    charset = sample.headers.get_content_charset() or "utf-8"
    try:
        return sample.body.decode(charset, "replace")
    except LookupError:
        return sample.body.decode("utf-8", "replace")


def location_of(check, sample):
    location = sample.headers.get("Location")
    return urljoin(check["url"], location) if location else None


def assess_response(check, sample):
    """Why this response does not satisfy the check, or None when it does."""
    location = location_of(check, sample)
    expected_redirect = check["expect_redirect_to"]
    if expected_redirect:
        wanted = " or ".join(str(c) for c in check["redirect_status"])
        if sample.status not in check["redirect_status"]:
            got = "HTTP %d" % sample.status + (
                " to %s" % location if location else " without a Location header"
            )
            return "expected a %s redirect to %s, got %s" % (wanted, expected_redirect, got)
        if not location:
            return "HTTP %d redirect without a Location header (expected %s)" % (
                sample.status,
                expected_redirect,
            )
        if normalize_url(location) != normalize_url(expected_redirect):
            return "redirects to %s (HTTP %d), expected %s" % (
                location,
                sample.status,
                expected_redirect,
            )
    elif sample.status not in check["status_code"]:
        detail = " to %s" % location if location else ""
        body = _excerpt(_body_text(sample)) if sample.body else ""
        return "got HTTP %d %s%s, expected %s%s" % (
            sample.status,
            sample.reason,
            detail,
            " or ".join(str(c) for c in check["status_code"]),
            "; body: %s" % body if body else "",
        )

    if not (check["body_contains"] or check["body_regex_compiled"] or check["body_json"]):
        return None
    text = _body_text(sample)
    for needle in check["body_contains"]:
        if needle not in text:
            return "body does not contain %r; body: %s" % (needle, _excerpt(text) or "(empty)")
    regex = check["body_regex_compiled"]
    if regex is not None and not regex.search(text):
        return "body does not match /%s/; body: %s" % (regex.pattern, _excerpt(text) or "(empty)")
    if check["body_json"]:
        try:
            doc = json.loads(text)
        except ValueError as exc:
            return "body is not JSON (%s); body: %s" % (exc, _excerpt(text) or "(empty)")
        for item in check["body_json"]:
            value = json_lookup(doc, item["tokens"])
            if item.get("exists") is False:
                if value is not _MISSING:
                    return "JSON path %s is present (%s), expected it absent" % (
                        item["path"],
                        json.dumps(value),
                    )
                continue
            if value is _MISSING:
                return "JSON path %s is missing; body: %s" % (item["path"], _excerpt(text))
            if item.get("equals") is not None and not json_equal(value, item["equals"]):
                return "JSON path %s is %s, expected %s" % (
                    item["path"],
                    json.dumps(value),
                    json.dumps(item["equals"], default=str),
                )
    return None


def assess_certificate(check, cert, now):
    """Policy checks on a certificate that the handshake accepted (or did not verify)."""
    if not (check["min_cert_days"] or check["cert_issuer_contains"]):
        return None
    if cert is None:
        return "could not read the server certificate to check %s" % (
            "min_cert_days" if check["min_cert_days"] else "the issuer"
        )
    left = days_left(cert, now)
    if check["min_cert_days"] and left < check["min_cert_days"]:
        return "certificate expires in %d days (not after %s), fewer than min_cert_days %d" % (
            left,
            iso_utc(cert["not_after"]),
            check["min_cert_days"],
        )
    wanted = check["cert_issuer_contains"]
    if wanted and wanted.lower() not in cert["issuer"].lower():
        return "certificate issued by %s, expected an issuer containing %r" % (
            cert["issuer"],
            wanted,
        )
    return None


def percentile(values, fraction):
    """Nearest-rank percentile (no interpolation: every reported value was observed)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


class Attempt(object):
    def __init__(self):
        self.error = None
        self.status = None
        self.latencies = []
        self.cert = None
        self.redirect_location = None


def attempt(check, ctx, now=None):
    """`samples` sequential requests (new connection each), judged together."""
    result = Attempt()
    for index in range(check["samples"]):
        try:
            sample = probe(check, ctx, now=now)
        except ProbeError as exc:
            result.error = str(exc)
            if exc.cert is not None and result.cert is None:
                result.cert = exc.cert
            return result
        result.latencies.append(sample.seconds * 1000.0)
        result.status = sample.status
        result.redirect_location = location_of(check, sample)
        if index == 0 and check["https"]:
            result.cert = sample.cert
            result.error = assess_certificate(check, sample.cert, now or utcnow())
            if result.error:
                return result
        result.error = assess_response(check, sample)
        if result.error:
            return result
    if check["latency_ms"]:
        p50, p95 = percentile(result.latencies, 0.50), percentile(result.latencies, 0.95)
        if p95 > check["latency_ms"]:
            result.error = (
                "p95 latency %.0f ms over the %d ms budget (p50 %.0f ms, %d sample%s)"
                % (
                    p95,
                    check["latency_ms"],
                    p50,
                    len(result.latencies),
                    "s" if len(result.latencies) != 1 else "",
                )
            )
    return result


def backoff_delays(first, cap=BACKOFF_CAP, jitter=0.1, rng=None):
    """first, 2*first, 4*first ... capped (at max(cap, first)), each +/- jitter.

    The jitter keeps checks that share a load balancer from retrying in lockstep.
    """
    rng = rng or random.random
    delay = first
    while True:
        yield delay * (1 + jitter * (2 * rng() - 1))
        delay = min(delay * 2, max(cap, first))


def run_check(check, ctx, clock=time.monotonic, sleep=time.sleep):
    """Attempt until the check passes or its deadline passes; the result dict for the check.

    No attempt starts after the deadline; one in flight finishes (bounded by timeout x samples).
    Every failure is retried: after a deploy a 502, a stale body or a missing certificate are
    usually propagation, not a verdict.
    """
    started = clock()
    attempts = 0
    delays = backoff_delays(check["retry_delay"])
    while True:
        attempts += 1
        outcome = attempt(check, ctx)
        remaining = check["deadline"] - (clock() - started)
        if outcome.error is None or remaining <= 0:
            break
        sleep(min(next(delays), remaining))
    now = utcnow()
    cert = outcome.cert
    latency = None
    if outcome.latencies:
        latency = {
            "p50": round(percentile(outcome.latencies, 0.50), 1),
            "p95": round(percentile(outcome.latencies, 0.95), 1),
        }
    return {
        "name": check["name"],
        "url": check["url"],
        "passed": outcome.error is None,
        "status": outcome.status,
        "latency_ms": latency,
        "attempts": attempts,
        "elapsed_ms": round((clock() - started) * 1000.0, 1),
        "cert_not_after": iso_utc(cert["not_after"]) if cert else None,
        "cert_days_left": days_left(cert, now) if cert else None,
        "issuer": cert["issuer"] if cert else None,
        "redirect_location": outcome.redirect_location,
        "error": outcome.error,
    }


def run_checks(checks, concurrency):
    """Run every check concurrently (up to `concurrency` at once); results in input order."""
    # One TLS context per trust setting, built before any thread starts so that a bad CA bundle
    # fails the module up front. Plain-HTTP checks need none (loading the system store costs
    # tens of milliseconds).
    contexts = {}
    for check in checks:
        key = (check["validate_certs"], check["ca_path"])
        if check["https"] and key not in contexts:
            contexts[key] = build_tls_context(*key)
    started = time.monotonic()
    workers = max(1, min(concurrency, len(checks)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(run_check, c, contexts.get((c["validate_certs"], c["ca_path"])))
            for c in checks
        ]
        results = [f.result() for f in futures]
    return results, time.monotonic() - started


def _plural(count, word):
    return "%d %s%s" % (count, word, "" if count == 1 else "s")


def summarize(results, seconds):
    """(summary line, failure message or None)."""
    failed = [r for r in results if not r["passed"]]
    summary = "%d of %s passed in %.1f s" % (
        len(results) - len(failed),
        _plural(len(results), "smoke check"),
        seconds,
    )
    if failed:
        summary += "; failed: %s" % ", ".join(r["name"] for r in failed)
    if not failed:
        return summary, None
    reasons = []
    for r in failed:
        where = r["name"] if r["name"] == r["url"] else "%s (%s)" % (r["name"], r["url"])
        reasons.append(
            "%s: %s [%s in %.1f s]"
            % (where, r["error"], _plural(r["attempts"], "attempt"), r["elapsed_ms"] / 1000.0)
        )
    message = "%d of %s failed: %s" % (
        len(failed),
        _plural(len(results), "smoke check"),
        "; ".join(reasons),
    )
    return summary, message
