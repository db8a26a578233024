# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""hackathon_todo.deploy.smoke_check's input: the checks, their defaults, their secrets.

Private (the leading underscore): the API may change between minor releases.

resolve_checks turns the module's `checks` and `defaults` into complete, validated check dicts
(CHECK_DEFAULTS also supplies the module's documented defaults); secret_header_values and redact
keep credentials out of results and logs. Sending the requests and judging the answers is
_probe's part; this file sends nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
from urllib.parse import urlsplit, urlunsplit

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._x509 import (
    HAS_CRYPTOGRAPHY,
    host_is_ip,
)

# Header names whose values are credentials. Compared case-insensitively; users add their own
# with the secret_headers option.
SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "x-api-key")
REDACTED = "********"

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

# Built-in defaults for every per-check option. The smoke_check module's argument spec takes the
# defaults of its `defaults` option from here, so that DOCUMENTATION shows the same values.
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


class SecretHeadersModule(AnsibleModule):
    """AnsibleModule that knows which header values are secrets before it logs anything.

    AnsibleModule logs its invocation (syslog/journal) and returns it with every result, even a
    validation failure, masking only `no_log_values`. Secret headers are identified by name
    inside a dict, which no_log cannot express (marking all headers no_log would mask every
    occurrence of harmless values such as "https" or "application/json"). So the secret values
    are registered as soon as the raw parameters are read. `smoke_option` names the option that
    holds the checks and defaults (helm_release's `smoke`); none: they are top-level options.
    """

    def __init__(self, *args, **kwargs):
        self.smoke_option = kwargs.pop("smoke_option", None)
        super(SecretHeadersModule, self).__init__(*args, **kwargs)

    def _load_params(self):
        super(SecretHeadersModule, self)._load_params()
        self.no_log_values.update(self.secret_headers())

    def secret_headers(self):
        params = self.params if self.smoke_option is None else self.params.get(self.smoke_option)
        return secret_header_values(params if isinstance(params, dict) else {})


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
        if check["https"] and not HAS_CRYPTOGRAPHY:
            raise SmokeConfigError(
                "%s: %s"
                % (
                    label,
                    missing_required_lib(
                        "cryptography", reason="to read the server certificate of https:// checks"
                    ),
                )
            )
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
        if check.get("dns_server") and not host_is_ip(check["dns_server"]):
            raise SmokeConfigError(
                "%s: dns_server must be an IP address, not %r" % (label, check["dns_server"])
            )
        resolved.append(check)
    return resolved
