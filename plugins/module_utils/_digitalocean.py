# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A small client for the DigitalOcean API v2, shared by the collection's DigitalOcean modules.

Private to the collection (the leading ``_``): it may change without notice.

Why our own client: community.digitalocean 1.27.0 hard-codes https://api.digitalocean.com/v2 for
``digital_ocean_kubernetes`` and ``digital_ocean_domain_record`` (no way to point them at another
endpoint), does not retry rate-limited or failed calls, and its errors do not say what to fix.

What it does:

* ``Authorization: Bearer`` with the token; the token is never put into a message, an exception
  or a return value (it is also ``no_log`` in the argument spec, so Ansible masks it).
* Retries, under the collection's retry policy (``_retry``: jittered exponential backoff), only
  answers that are safe to retry: 429 (waiting as long as ``Retry-After`` or ``RateLimit-Reset``
  say), and 5xx / connection resets for idempotent methods. A POST is retried only on 429 and
  503, which mean it was not processed; re-sending a POST that may have been processed could
  create a second cluster or record. Timeouts and unreachable hosts are not retried: the
  message says which option to fix.
* Follows ``links.pages.next`` for lists, re-using only its query string, so every page is
  fetched from ``api_url`` and the token is never sent to a host taken from a response.
* Turns error answers into messages that say what to fix (401 token, 403 scope, 404, 422 with the
  API's own message).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import socket
import time

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import parse_qsl, urlencode, urlsplit
from ansible.module_utils.urls import open_url

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._retry import (
    FATAL,
    RESET,
    RETRY_AFTER,
    STATUS,
    TIMEOUT,
    Failure,
    RetryPolicy,
    retry_after_seconds,
)

DEFAULT_API_URL = "https://api.digitalocean.com/v2"
TOKEN_ENV_VARS = ["DIGITALOCEAN_ACCESS_TOKEN", "DO_API_TOKEN"]
API_URL_ENV_VARS = ["DIGITALOCEAN_API_URL"]
USER_AGENT = "ansible-hackathon_todo.deploy"

# Answers worth retrying: the policy's, and 500 (documented for max_retries). A POST is retried
# only on the answers that mean "not processed" (429, 503: the policy's not_applied).
RETRYABLE_STATUS = frozenset([429, 500, 502, 503, 504])
# How _send names a connection error -> the policy's kind; only resets are retried.
CONNECTION_KINDS = {"reset": RESET, "timeout": TIMEOUT, "connect": FATAL}

HTTP_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def digitalocean_argument_spec():
    """Options shared by every DigitalOcean module (documented in doc_fragments/digitalocean.py)."""
    return dict(
        api_url=dict(
            type="str", default=DEFAULT_API_URL, fallback=(env_fallback, API_URL_ENV_VARS)
        ),
        token=dict(
            type="str",
            no_log=True,
            aliases=["oauth_token", "api_token"],
            fallback=(env_fallback, TOKEN_ENV_VARS),
        ),
        timeout=dict(type="int", default=30),
        validate_certs=dict(type="bool", default=True),
        max_retries=dict(type="int", default=5),
    )


class DigitalOceanError(Exception):
    """An API call failed; ``str(error)`` says what happened and what to do about it."""

    def __init__(
        self,
        message,
        status=None,
        error_id=None,
        request_id=None,
        method=None,
        path=None,
        attempts=1,
    ):
        super(DigitalOceanError, self).__init__(message)
        self.message = message
        self.status = status
        self.error_id = error_id
        self.request_id = request_id
        self.method = method
        self.path = path
        self.attempts = attempts

    def to_result(self):
        """Fields for fail_json besides msg (no secrets: status, ids, the call)."""
        out = {
            "status": self.status,
            "api_error_id": self.error_id,
            "request": "%s %s" % (self.method, self.path) if self.method else None,
            "attempts": self.attempts,
        }
        if self.request_id:
            out["request_id"] = self.request_id
        return out


def required_scope(method, path):
    """The custom-token scope DigitalOcean documents for a call, for 403 messages."""
    path = path.split("?", 1)[0]
    if path.startswith("/kubernetes"):
        if path.endswith("/kubeconfig") or path.endswith("/credentials"):
            return "kubernetes:access_cluster"
        if method == "GET":
            return "kubernetes:read"
        if path.rstrip("/") == "/kubernetes/clusters":
            return "kubernetes:create"
        if method == "DELETE" and path.count("/") == 3:
            return "kubernetes:delete"
        return "kubernetes:update"
    if path.startswith("/domains"):
        return {
            "GET": "domain:read",
            "POST": "domain:create",
            "PUT": "domain:update",
            "PATCH": "domain:update",
            "DELETE": "domain:delete",
        }.get(method, "domain:update")
    if path.startswith("/account"):
        return "account:read"
    return None


def error_message(status, method, path, body, attempts=1):
    """A message that says what went wrong and what to fix. ``body`` is the decoded error body."""
    body = body if isinstance(body, dict) else {}
    api_msg = body.get("message") or ""
    said = " DigitalOcean said: %s" % api_msg if api_msg else ""
    call = "%s %s" % (method, path)
    reason = HTTP_REASONS.get(status, "HTTP %s" % status)
    if status == 401:
        return (
            "DigitalOcean rejected the API token (401 Unauthorized) on %s: check "
            "DIGITALOCEAN_ACCESS_TOKEN / do_token (the module option token): it may be "
            "mistyped, expired or revoked. Create a new token at "
            "https://cloud.digitalocean.com/account/api/tokens.%s" % (call, said)
        )
    if status == 403:
        scope = required_scope(method, path)
        need = (
            (
                " It needs the %s scope: give the token that scope (or full access) under "
                "API > Tokens." % scope
            )
            if scope
            else ""
        )
        return (
            "DigitalOcean refused %s (403 Forbidden): the API token is valid but not allowed "
            "to do this.%s%s" % (call, need, said)
        )
    if status == 404:
        return (
            "DigitalOcean has no such resource (404 Not Found) for %s: check the name or id, "
            "and that the token belongs to the team that owns it.%s" % (call, said)
        )
    if status == 422:
        return (
            "DigitalOcean rejected the request %s (422 Unprocessable Entity): fix the module "
            "arguments the API names.%s" % (call, said)
        )
    if status == 429:
        return (
            "DigitalOcean rate limit still exceeded after %d attempts on %s (429 Too Many "
            "Requests): the token is limited to 250 requests a minute and 5000 an hour; "
            "retry later or use another token.%s" % (attempts, call, said)
        )
    if status is not None and status >= 500:
        return (
            "DigitalOcean answered %s with %d %s after %d attempts: this is on the "
            "DigitalOcean side; retry later and check https://status.digitalocean.com.%s"
            % (call, status, reason, attempts, said)
        )
    return "DigitalOcean answered %s with %s %s.%s" % (call, status, reason, said)


class DigitalOceanClient(object):
    """DigitalOcean API v2 over ansible.module_utils.urls (no extra Python dependencies)."""

    def __init__(
        self,
        token,
        api_url=DEFAULT_API_URL,
        timeout=30,
        validate_certs=True,
        max_retries=5,
        backoff_base=0.5,
        backoff_max=20.0,
        max_wait=60.0,
        sleep=time.sleep,
        clock=time.time,
    ):
        if not token:
            raise DigitalOceanError(
                "No DigitalOcean API token: set the token option (for example from the "
                "do_token inventory variable) or the DIGITALOCEAN_ACCESS_TOKEN environment "
                "variable."
            )
        self._token = token
        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.max_retries = max(0, int(max_retries))
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_wait = max_wait
        self._clock = clock
        self.retry = RetryPolicy(
            attempts=self.max_retries + 1,
            base=backoff_base,
            cap=backoff_max,
            max_retry_after=max_wait,
            statuses=RETRYABLE_STATUS,
            errors=[RESET],
            sleep=sleep,
            clock=clock,
        )
        self.calls = []  # (method, path, status) of every attempt, for results and tests

    @classmethod
    def from_module(cls, module):
        p = module.params
        try:
            return cls(
                p.get("token"),
                api_url=p.get("api_url"),
                timeout=p.get("timeout"),
                validate_certs=p.get("validate_certs"),
                max_retries=p.get("max_retries"),
            )
        except DigitalOceanError as exc:
            module.fail_json(msg=str(exc))

    # -- public API -------------------------------------------------------------------------

    def get(self, path, params=None):
        return self.request("GET", path, params=params)

    def post(self, path, body=None):
        return self.request("POST", path, body=body)

    def put(self, path, body=None):
        return self.request("PUT", path, body=body)

    def delete(self, path):
        return self.request("DELETE", path)

    def get_text(self, path, params=None):
        """GET a non-JSON document (the kubeconfig is YAML)."""
        return self.request("GET", path, params=params, raw=True)

    def list_all(self, path, key, params=None, per_page=200):
        """Every item of a paginated list, following links.pages.next."""
        query = dict(params or {})
        query.setdefault("per_page", per_page)
        items = []
        seen = set()
        while True:
            page = self.get(path, params=query) or {}
            items.extend(page.get(key) or [])
            nxt = ((page.get("links") or {}).get("pages") or {}).get("next")
            if not nxt:
                return items
            # Only the query string of the next link is used: the host always stays api_url.
            query = dict(parse_qsl(urlsplit(nxt).query, keep_blank_values=True))
            marker = tuple(sorted(query.items()))
            if marker in seen:  # a server that loops would otherwise keep us here forever
                return items
            seen.add(marker)

    # -- machinery --------------------------------------------------------------------------

    def _url(self, path, params=None):
        url = self.api_url + "/" + path.lstrip("/")
        if params:
            url += "?" + urlencode(sorted((k, v) for k, v in params.items() if v is not None))
        return url

    def _redact(self, text):
        text = to_text(text, errors="surrogate_or_replace")
        return text.replace(self._token, "********") if self._token else text

    def _retry_after(self, status, headers):
        """Seconds an error answer asks to wait before the next attempt, or None (backoff)."""
        wait = retry_after_seconds(_header(headers, "Retry-After"), self._clock())
        if wait is None and status == 429:
            reset = _header(headers, "RateLimit-Reset")
            remaining = _header(headers, "RateLimit-Remaining")
            if reset is not None and remaining in (None, "0"):
                try:
                    wait = max(0.0, float(reset) - self._clock())
                except ValueError:
                    wait = None
        return wait

    def request(self, method, path, params=None, body=None, raw=False):
        method = method.upper()
        shown = "/" + path.lstrip("/")
        if params:
            shown += "?" + urlencode(sorted((k, v) for k, v in params.items() if v is not None))
        url = self._url(path, params)
        data = json.dumps(body).encode("utf-8") if body is not None else None
        headers = {"Authorization": "Bearer " + self._token, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"

        def send(attempt):
            status, resp_headers, payload, conn_error = self._send(method, url, data, headers)
            self.calls.append((method, shown.split("?", 1)[0], status))
            if conn_error is None and status < 400:
                return status, payload, attempt
            if conn_error is not None:
                raise Failure(CONNECTION_KINDS[conn_error[0]], error=(None, b"", conn_error))
            raise Failure(
                STATUS,
                status=status,
                error=(resp_headers, payload, None),
                retry_after=self._retry_after(status, resp_headers),
            )

        try:
            status, payload, attempts = self.retry.call(send, method)
        except Failure as failure:
            resp_headers, payload, conn_error = failure.error
            raise self._error(
                method,
                shown,
                failure.status,
                resp_headers,
                payload,
                conn_error,
                failure.attempts,
                failure.gave_up == RETRY_AFTER,
            ) from None
        if raw:
            return to_text(payload, errors="surrogate_or_replace")
        if not payload:
            return None
        try:
            return json.loads(to_text(payload, errors="surrogate_or_replace"))
        except ValueError:
            raise DigitalOceanError(
                "DigitalOcean answered %s %s with %s but the body is not JSON: is "
                "api_url (%s) really the DigitalOcean API v2?"
                % (method, shown, status, self.api_url),
                status=status,
                method=method,
                path=shown,
                attempts=attempts,
            ) from None

    def _send(self, method, url, data, headers):
        """One attempt: (status, headers, body bytes, connection error or None)."""
        try:
            resp = open_url(
                url,
                data=data,
                headers=headers,
                method=method,
                timeout=self.timeout,
                validate_certs=self.validate_certs,
                http_agent=USER_AGENT,
                follow_redirects="none",
                use_netrc=False,
                force=True,
            )
            try:
                return resp.getcode(), resp.headers, resp.read(), None
            finally:
                resp.close()
        except HTTPError as exc:
            try:
                payload = exc.read()
            except Exception:  # pylint: disable=broad-except
                payload = b""
            return exc.code, exc.headers, payload, None
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as exc:
            return None, {}, b"", ("reset", exc)
        except socket.timeout as exc:
            return None, {}, b"", ("timeout", exc)
        except URLError as exc:
            if isinstance(
                getattr(exc, "reason", None), (ConnectionResetError, ConnectionAbortedError)
            ):
                return None, {}, b"", ("reset", exc.reason)
            return None, {}, b"", ("connect", exc)
        except (OSError, ValueError) as exc:
            return None, {}, b"", ("connect", exc)

    def _error(self, method, shown, status, headers, payload, conn_error, attempts, wait_too_long):
        if conn_error is not None:
            kind, exc = conn_error
            reason = self._redact(getattr(exc, "reason", exc))
            if kind == "timeout":
                msg = (
                    "DigitalOcean did not answer %s %s within %s s (timeout): raise the "
                    "timeout option or retry later." % (method, shown, self.timeout)
                )
            elif kind == "reset":
                msg = "The connection to %s was reset during %s %s (%d attempts): %s" % (
                    self.api_url,
                    method,
                    shown,
                    attempts,
                    reason,
                )
            else:
                msg = (
                    "Could not reach the DigitalOcean API at %s for %s %s: %s. Check api_url "
                    "and the network (proxy, DNS, firewall)."
                    % (self.api_url, method, shown, reason)
                )
            return DigitalOceanError(msg, method=method, path=shown, attempts=attempts)
        body = None
        if payload:
            try:
                body = json.loads(to_text(payload, errors="surrogate_or_replace"))
            except ValueError:
                body = {"message": to_text(payload, errors="surrogate_or_replace")[:300]}
        if status == 429 and wait_too_long:
            wait_for = _header(headers, "Retry-After") or _header(headers, "RateLimit-Reset")
            msg = (
                "DigitalOcean rate limit exceeded on %s %s (429 Too Many Requests) and it asks "
                "to wait longer than %d s (Retry-After / RateLimit-Reset: %s): retry later."
                % (method, shown, self.max_wait, wait_for)
            )
        else:
            msg = error_message(status, method, shown, body, attempts)
        body = body if isinstance(body, dict) else {}
        return DigitalOceanError(
            self._redact(msg),
            status=status,
            error_id=body.get("id"),
            request_id=body.get("request_id") or _header(headers, "x-request-id"),
            method=method,
            path=shown,
            attempts=attempts,
        )


def _header(headers, name):
    if not headers:
        return None
    try:
        value = headers.get(name)
    except AttributeError:
        return None
    if value is None and isinstance(headers, dict):
        lname = name.lower()
        for key, val in headers.items():
            if key.lower() == lname:
                return val
    return value
