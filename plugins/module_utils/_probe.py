# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The engine behind hackathon_todo.deploy.smoke_check: probe HTTP(S) endpoints, judge them.

Private (the leading underscore): the API may change between minor releases.

Takes the checks _smoke.resolve_checks made. The HTTP client is http.client on a socket we open
ourselves, because a smoke check must see what higher level clients hide: the raw redirect (never
followed), the peer certificate even when it fails verification (read by _x509), and a latency
that covers connect + TLS + the whole body.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import datetime
import http.client
import json
import math
import os
import random
import socket
import ssl
import time
from urllib.parse import urljoin, urlsplit, urlunsplit

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._dns import DnsError, resolve_a
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._smoke import (
    _MISSING,
    SmokeConfigError,
    json_equal,
    json_lookup,
    normalize_url,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._x509 import (
    CertificateParseError,
    days_left,
    explain_verify_failure,
    host_is_ip,
    iso_utc,
    parse_der_certificate,
)

MAX_BODY_BYTES = 1024 * 1024  # body assertions look at the first MiB
BACKOFF_CAP = 10.0  # seconds; retry delays double up to this (or retry_delay if larger)
USER_AGENT = "hackathon_todo.deploy.smoke_check"


class ProbeError(Exception):
    """One request did not get a usable answer (DNS, connect, TLS, HTTP framing)."""

    def __init__(self, message, cert=None):
        super(ProbeError, self).__init__(message)
        self.cert = cert


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
    if target.dns_server and not host_is_ip(address):
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
