# -*- coding: utf-8 -*-
# Copyright: (c) 2025, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The user backends of redpanda_user, one interface and three implementations: KIP-554 over
the Kafka protocol (``KafkaUsers``, through ``KafkaAdmin``), the self-hosted Redpanda Admin API
(``AdminApiUsers``) and the Redpanda Cloud Data Plane API (``CloudUsers``), with the JSON-over-
HTTP client they share (``HttpApi``: request counting, retries under the collection's policy,
``_retry``: 429/502/503/504, timeouts and broken connections for idempotent requests, and for a
POST only what says it was not applied).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import socket

from ansible.module_utils.urls import open_url

from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_plan import (
    RedpandaError,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._retry import (
    STATUS,
    Failure,
    RetryPolicy,
    error_kind,
    retry_after_seconds,
)

CLOUD_AUTH_URL = "https://auth.prd.cloud.redpanda.com/oauth/token"
CLOUD_API_URL = "https://api.redpanda.com"
CLOUD_AUDIENCE = "cloudv2-production.redpanda.cloud"
CLOUD_MECHANISMS = {
    "SCRAM-SHA-256": "SASL_MECHANISM_SCRAM_SHA_256",
    "SCRAM-SHA-512": "SASL_MECHANISM_SCRAM_SHA_512",
}


# --------------------------------------------------------------------------------------------
# HTTP APIs (Redpanda Admin API, Redpanda Cloud)
# --------------------------------------------------------------------------------------------


class HttpApi(object):
    """JSON over HTTP with request counting, retried under the collection's policy (_retry).

    Retried: 429/502/503/504, timeouts, reset and refused connections, for idempotent requests
    (GET, PUT, DELETE, or ``idempotent=True``); a POST only on a refused connection, 429 or 503,
    which say it was not applied. A 401 with a bearer token gets one fresh token at once.
    """

    ATTEMPTS = 3
    BACKOFF = 0.5
    RETRY_STATUS = (429, 502, 503, 504)

    def __init__(self, name, base_url, params, counter, basic_auth=None, bearer=None, retry=None):
        self.name = name
        self.base_url = (base_url or "").rstrip("/")
        self.params = params
        self.counter = counter
        self.basic_auth = basic_auth
        self.bearer = bearer  # callable(force_new=False) -> token
        self.retry = retry or RetryPolicy(
            attempts=self.ATTEMPTS, base=self.BACKOFF, statuses=self.RETRY_STATUS
        )

    def call(
        self,
        method,
        path,
        template=None,
        body=None,
        query=None,
        form=None,
        auth=True,
        idempotent=None,
    ):
        """Returns (status, parsed JSON or None). Raises HttpApiError for HTTP errors.

        ``idempotent``: True for a POST that is safe to send twice (a token request, a create
        that the server answers 200 when repeated); None decides by the method."""
        url = self.base_url + path
        if query:
            url += "?" + urlencode(query)
        headers = {"Accept": "application/json"}
        data = None
        if form is not None:
            data = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        state = {"refreshed": False}

        def send(_attempt):
            while True:
                try:
                    return self._send(
                        method, url, template or path, data, headers, auth, state["refreshed"]
                    )
                except HTTPError as exc:
                    payload = _json_or_none(_read(exc))
                    if exc.code == 401 and self.bearer and not state["refreshed"]:
                        state["refreshed"] = True  # the token may have expired: one fresh token
                        continue
                    raise Failure(
                        STATUS,
                        status=exc.code,
                        error=HttpApiError(self.name, method, url, exc.code, payload),
                        retry_after=retry_after_seconds(
                            exc.headers.get("Retry-After") if exc.headers else None
                        ),
                    ) from None
                except (URLError, socket.timeout, ConnectionError) as exc:
                    raise Failure(error_kind(exc), error=exc) from None

        try:
            return self.retry.call(send, method, idempotent=idempotent)
        except Failure as failure:
            if failure.kind == STATUS:
                raise failure.error from None
            reason = getattr(failure.error, "reason", failure.error)
            raise RedpandaError(
                "cannot reach the %s at %s: %s. Check the URL and that the "
                "service is running" % (self.name, self.base_url, reason)
            ) from None

    def _send(self, method, url, counted, data, headers, auth, fresh_token):
        """One request: (status, parsed JSON or None); urllib's exceptions otherwise."""
        kwargs = {}
        if auth and self.basic_auth:
            kwargs.update(
                url_username=self.basic_auth[0],
                url_password=self.basic_auth[1],
                force_basic_auth=True,
            )
        if auth and self.bearer:
            headers["Authorization"] = "Bearer %s" % self.bearer(force_new=fresh_token)
        self.counter.add("%s %s %s" % (self.name, method, counted))
        resp = open_url(
            url,
            method=method,
            data=data,
            headers=headers,
            validate_certs=self.params.get("tls_verify", True),
            ca_path=self.params.get("ca_file"),
            timeout=self.params.get("request_timeout") or 30,
            follow_redirects="all",
            **kwargs,
        )
        return resp.getcode(), _json_or_none(resp.read())


def _read(exc):
    try:
        return exc.read()
    except Exception:  # pylint: disable=broad-except
        return b""


def _json_or_none(raw):
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except ValueError:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return {"message": text[:300]}


class HttpApiError(RedpandaError):
    def __init__(self, api, method, url, status, payload):
        self.api, self.method, self.status, self.payload = api, method, status, payload or {}
        detail = ""
        if isinstance(self.payload, dict):
            detail = (
                self.payload.get("message")
                or self.payload.get("error_description")
                or self.payload.get("error")
                or ""
            )
        self.detail = detail
        msg = "%s %s %s returned HTTP %s%s" % (
            api,
            method,
            url,
            status,
            ": %s" % detail if detail else "",
        )
        super(HttpApiError, self).__init__(msg)


# --------------------------------------------------------------------------------------------
# User backends: one interface, three implementations
# --------------------------------------------------------------------------------------------


class UserBackend(object):
    """list_users() -> name -> dict(mechanisms=dict mech -> iterations|None, or None)."""

    name = None
    single_mechanism = False  # Redpanda keeps one SCRAM credential per user
    reports_mechanisms = True

    def list_users(self):
        raise NotImplementedError

    def apply(self, changes, passwords, iterations):
        """Make `changes` (from plan_users) real. passwords: name -> password."""
        raise NotImplementedError


class KafkaUsers(UserBackend):
    """Apache Kafka KIP-554: DescribeUserScramCredentials / AlterUserScramCredentials."""

    name = "kafka"

    def __init__(self, kafka):
        self.kafka = kafka

    def list_users(self):
        return dict(
            (name, dict(mechanisms=mechs))
            for name, mechs in self.kafka.describe_scram_users().items()
        )

    def apply(self, changes, passwords, iterations):
        upserts, deletions = [], []
        for change in changes:
            name = change["name"]
            for mech in change["set_mechanisms"]:
                upserts.append((name, mech, iterations.get(name) or 4096, passwords[name]))
            for mech in change["delete_mechanisms"]:
                deletions.append((name, mech))
        self.kafka.alter_scram_users(upserts, deletions)


class AdminApiUsers(UserBackend):
    """Self-hosted Redpanda Admin API: /v1/security/users (HTTP Basic auth as a super user).

    The API lists names only, so mechanisms cannot be compared; it has no batch call, so each
    change is one request.
    """

    name = "admin_api"
    single_mechanism = True
    reports_mechanisms = False

    def __init__(self, params, counter):
        url = params.get("admin_api_url")
        if not url:
            raise RedpandaError(
                "backend=admin_api needs admin_api_url, the Redpanda Admin API "
                "address, for example http://redpanda-0.redpanda:9644"
            )
        user = params.get("admin_api_username") or params.get("sasl_username")
        password = params.get("admin_api_password")
        if password is None and not params.get("admin_api_username"):
            password = params.get("sasl_password")
        basic = (user, password) if user and password is not None else None
        self.api = HttpApi("Redpanda Admin API", url, params, counter, basic_auth=basic)

    def _explain(self, exc, what):
        if isinstance(exc, HttpApiError) and exc.status in (401, 403):
            return RedpandaError(
                "the Redpanda Admin API refused %s (HTTP %s: %s): give admin_api_username and "
                "admin_api_password of a super user (defaults: sasl_username/sasl_password)"
                % (what, exc.status, exc.detail or "unauthorized")
            )
        return exc

    def list_users(self):
        try:
            _status, names = self.api.call("GET", "/v1/security/users")
        except RedpandaError as exc:
            raise self._explain(exc, "listing users") from None
        return dict((n, dict(mechanisms=None)) for n in (names or []))

    def apply(self, changes, passwords, iterations):
        done = []
        for change in changes:
            name = change["name"]
            path = "/v1/security/users/" + quote(name, safe="")
            try:
                if change["action"] == "delete":
                    self.api.call("DELETE", path, template="/v1/security/users/{user}")
                elif change["action"] == "create":
                    # Redpanda answers 200 to a POST that repeats a user's credential: safe to
                    # send again when the first answer was lost.
                    self.api.call(
                        "POST",
                        "/v1/security/users",
                        body=dict(
                            username=name,
                            password=passwords[name],
                            algorithm=change["set_mechanisms"][0],
                        ),
                        idempotent=True,
                    )
                elif change["set_mechanisms"]:
                    self.api.call(
                        "PUT",
                        path,
                        template="/v1/security/users/{user}",
                        body=dict(
                            username=name,
                            password=passwords[name],
                            algorithm=change["set_mechanisms"][0],
                        ),
                    )
            except RedpandaError as exc:
                exc = self._explain(exc, "%s of user %r" % (change["action"], name))
                exc.partial = done
                raise exc
            done.append(name)


class CloudUsers(UserBackend):
    """Redpanda Cloud Data Plane API /v1/users with an OAuth2 client-credentials token.

    The data plane URL is discovered from cloud_cluster_id through the Control Plane API
    (serverless clusters first, then dedicated/BYOC) unless cloud_dataplane_url is given.
    """

    name = "cloud"
    single_mechanism = True

    def __init__(self, params, counter):
        self.params = params
        self.counter = counter
        for key in ("cloud_client_id", "cloud_client_secret"):
            if not params.get(key):
                raise RedpandaError(
                    "backend=cloud needs cloud_client_id and cloud_client_secret "
                    "of a Redpanda Cloud service account (Organization IAM > "
                    "Service accounts), or REDPANDA_CLIENT_ID/"
                    "REDPANDA_CLIENT_SECRET"
                )
        if not params.get("cloud_dataplane_url") and not params.get("cloud_cluster_id"):
            raise RedpandaError(
                "backend=cloud needs cloud_cluster_id (to discover the Data Plane "
                "API URL) or cloud_dataplane_url"
            )
        self._token = None
        self.auth = HttpApi("Redpanda Cloud auth", params["cloud_auth_url"], params, counter)
        self.control = HttpApi(
            "Redpanda Cloud Control Plane API",
            params["cloud_api_url"],
            params,
            counter,
            bearer=self.token,
        )
        self._data = None
        self.dataplane_url = params.get("cloud_dataplane_url")

    def token(self, force_new=False):
        if self._token and not force_new:
            return self._token
        try:
            _status, body = self.auth.call(
                "POST",
                "",
                template="/oauth/token",
                auth=False,
                idempotent=True,  # a second token request only issues another token
                form=dict(
                    grant_type="client_credentials",
                    client_id=self.params["cloud_client_id"],
                    client_secret=self.params["cloud_client_secret"],
                    audience=self.params["cloud_audience"],
                ),
            )
        except HttpApiError as exc:
            if exc.status in (400, 401, 403):
                raise RedpandaError(
                    "Redpanda Cloud rejected the client credentials at %s (HTTP %s: %s): check "
                    "cloud_client_id and cloud_client_secret (a service account under "
                    "Organization IAM > Service accounts)"
                    % (self.params["cloud_auth_url"], exc.status, exc.detail or "denied")
                ) from None
            raise
        token = (body or {}).get("access_token")
        if not token:
            raise RedpandaError(
                "the Redpanda Cloud auth endpoint %s answered without an "
                "access_token" % self.params["cloud_auth_url"]
            )
        self._token = token
        return token

    @property
    def data(self):
        if self._data is None:
            if not self.dataplane_url:
                self.dataplane_url = self._discover()
            self._data = HttpApi(
                "Redpanda Cloud Data Plane API",
                self.dataplane_url,
                self.params,
                self.counter,
                bearer=self.token,
            )
        return self._data

    def _discover(self):
        cluster = quote(self.params["cloud_cluster_id"], safe="")
        for path, template, wrapper in (
            (
                "/v1/serverless/clusters/" + cluster,
                "/v1/serverless/clusters/{id}",
                "serverless_cluster",
            ),
            ("/v1/clusters/" + cluster, "/v1/clusters/{id}", "cluster"),
        ):
            try:
                _status, body = self.control.call("GET", path, template=template)
            except HttpApiError as exc:
                if exc.status == 404:
                    continue
                raise self._explain(
                    exc, "looking up cluster %r" % self.params["cloud_cluster_id"]
                ) from None
            body = body or {}
            info = body.get(wrapper) if isinstance(body.get(wrapper), dict) else body
            url = ((info or {}).get("dataplane_api") or {}).get("url")
            if url:
                return url
            raise RedpandaError(
                "cluster %r has no Data Plane API URL yet (state %s); wait until "
                "it is ready or give cloud_dataplane_url"
                % (self.params["cloud_cluster_id"], (info or {}).get("state"))
            )
        raise RedpandaError(
            "no Redpanda Cloud cluster with id %r (neither serverless nor "
            "dedicated) is visible to this service account: check "
            "cloud_cluster_id" % self.params["cloud_cluster_id"]
        )

    @staticmethod
    def _explain(exc, what):
        if isinstance(exc, HttpApiError) and exc.status in (401, 403):
            return RedpandaError(
                "Redpanda Cloud refused %s (HTTP %s: %s): the service account "
                "token is not valid for this organization or lacks permission"
                % (what, exc.status, exc.detail or "unauthorized")
            )
        return exc

    def list_users(self):
        users, token = {}, None
        while True:
            query = {"page_size": 1000}
            if token:
                query["page_token"] = token
            try:
                _status, body = self.data.call("GET", "/v1/users", query=query)
            except RedpandaError as exc:
                raise self._explain(exc, "listing users") from None
            body = body or {}
            for user in body.get("users") or []:
                mech = user.get("mechanism")
                mechs = {}
                for name, value in CLOUD_MECHANISMS.items():
                    if mech == value:
                        mechs[name] = None
                users[user.get("name")] = dict(mechanisms=mechs)
            token = body.get("next_page_token")
            if not token:
                return users

    def apply(self, changes, passwords, iterations):
        done = []
        for change in changes:
            name = change["name"]
            path = "/v1/users/" + quote(name, safe="")
            try:
                if change["action"] == "delete":
                    try:
                        self.data.call("DELETE", path, template="/v1/users/{name}")
                    except HttpApiError as exc:
                        if exc.status != 404:  # already gone is what was asked for
                            raise
                elif change["action"] == "create":
                    # Not idempotent: a second POST is refused (409 ALREADY_EXISTS), so one whose
                    # answer was lost (timeout, reset, 502/504) is not sent again.
                    self.data.call(
                        "POST",
                        "/v1/users",
                        body=dict(
                            name=name,
                            password=passwords[name],
                            mechanism=CLOUD_MECHANISMS[change["set_mechanisms"][0]],
                        ),
                    )
                elif change["set_mechanisms"]:
                    self.data.call(
                        "PUT",
                        path,
                        template="/v1/users/{user.name}",
                        body=dict(
                            name=name,
                            password=passwords[name],
                            mechanism=CLOUD_MECHANISMS[change["set_mechanisms"][0]],
                        ),
                    )
            except RedpandaError as exc:
                exc = self._explain(exc, "%s of user %r" % (change["action"], name))
                exc.partial = done
                raise exc
            done.append(name)
