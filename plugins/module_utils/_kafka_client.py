# -*- coding: utf-8 -*-
# Copyright: (c) 2025, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Kafka protocol connection of the redpanda_* modules: ``KafkaClient`` (a confluent-kafka
AdminClient from the connection options, fail-fast on authentication/connection errors, broker
errors turned into messages that say what to fix, ONE batched request per call with retries only
for retryable errors under the collection's policy, ``_retry``; and the cluster rights of the
connected user) and ``RequestCounter``, which every client counts its requests in.

The operations build on it, one file each, importing only this one: topics (``_kafka_topics``),
ACLs (``_kafka_acls``), SCRAM users (``_kafka_scram``); ``_kafka_admin`` joins them into the
client the modules use.

confluent-kafka is imported under a guard: this file imports without it, and
``HAS_CONFLUENT_KAFKA``/``KAFKA_IMPORT_ERROR`` let the module base fail with a message that says
what to install.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import contextlib
import logging
import time
import traceback

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_plan import (
    RedpandaError,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._retry import (
    RETRYABLE,
    Failure,
    RetryPolicy,
)

KAFKA_IMPORT_ERROR = None
try:
    import concurrent.futures

    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient

    HAS_CONFLUENT_KAFKA = True
except ImportError:
    HAS_CONFLUENT_KAFKA = False
    KAFKA_IMPORT_ERROR = traceback.format_exc()


# --------------------------------------------------------------------------------------------
# Request accounting
# --------------------------------------------------------------------------------------------


class RequestCounter(object):
    """Counts the requests the modules send, by API. Returned as `requests` by every module."""

    def __init__(self):
        self.by_api = collections.OrderedDict()

    def add(self, api, n=1):
        self.by_api[api] = self.by_api.get(api, 0) + n

    def result(self):
        return dict(by_api=dict(self.by_api), total=sum(self.by_api.values()))


# --------------------------------------------------------------------------------------------
# Kafka protocol client
# --------------------------------------------------------------------------------------------


class _RecentLogs(logging.Handler):
    """Keeps librdkafka's last log lines (it logs to stderr otherwise) for error messages."""

    def __init__(self):
        logging.Handler.__init__(self)
        self.lines = collections.deque(maxlen=20)

    def emit(self, record):
        self.lines.append(record.getMessage())


def _err_name(err):
    try:
        return err.name()
    except Exception:  # pylint: disable=broad-except
        return str(err.code())


class KafkaClient(object):
    """confluent-kafka AdminClient with batching, request counting, fail-fast and retries.

    Every operation sends ONE protocol request for all the items it is given (more only when a
    retryable error forces a retry of the failed items) and counts it in `counter`.
    """

    ATTEMPTS = 4
    BACKOFF = 0.5
    BACKOFF_CAP = 8.0

    def __init__(self, params, counter, retry=None):
        self.params = params
        self.counter = counter
        self.retry = retry or RetryPolicy(
            attempts=self.ATTEMPTS, base=self.BACKOFF, cap=self.BACKOFF_CAP
        )
        self._errors = []
        self._client = None
        self._logs = _RecentLogs()
        servers = params.get("bootstrap_servers") or []
        self.servers = ",".join(s.strip() for s in servers if s and s.strip())
        self.request_timeout = float(params.get("request_timeout") or 30)
        self.connect_timeout = float(params.get("connect_timeout") or 10)

    # connection ------------------------------------------------------------------------------

    def config(self, username=None, password=None, mechanism=None):
        p = self.params
        if not self.servers:
            raise RedpandaError(
                "bootstrap_servers is required: the Kafka API address of the "
                "cluster, for example seed-1234.any.us-east-1.mpx.prd.cloud."
                "redpanda.com:9092 (or set RPK_BROKERS)"
            )
        logger = logging.getLogger("hackathon_todo.deploy.redpanda.%x" % id(self))
        logger.propagate = False
        logger.setLevel(logging.INFO)
        if self._logs not in logger.handlers:
            logger.addHandler(self._logs)
        conf = {
            "bootstrap.servers": self.servers,
            "security.protocol": p["security_protocol"],
            "client.id": p.get("client_id") or "ansible-hackathon_todo.deploy",
            "socket.connection.setup.timeout.ms": int(self.connect_timeout * 1000),
            "error_cb": self._on_error,
            "logger": logger,
        }
        if p["security_protocol"].startswith("SASL"):
            user = username if username is not None else p.get("sasl_username")
            secret = password if password is not None else p.get("sasl_password")
            if not user or secret is None:
                raise RedpandaError(
                    "security_protocol %s needs sasl_username and sasl_password "
                    "(or RPK_USER/RPK_PASS)" % p["security_protocol"]
                )
            conf.update(
                {
                    "sasl.mechanism": mechanism or p["sasl_mechanism"],
                    "sasl.username": user,
                    "sasl.password": secret,
                }
            )
        if p["security_protocol"] in ("SASL_SSL", "SSL"):
            conf["ssl.ca.location"] = p.get("ca_file") or "probe"
            if not p.get("tls_verify", True):
                conf["enable.ssl.certificate.verification"] = False
                conf["ssl.endpoint.identification.algorithm"] = "none"
        return conf

    @property
    def client(self):
        if self._client is None:
            self._client = AdminClient(self.config())
        return self._client

    def _on_error(self, err):
        if len(self._errors) < 50:
            self._errors.append(err)

    def _fatal(self):
        """A connection-level error that no wait will cure, as a message saying what to fix."""
        by_code = {}
        for err in self._errors:
            by_code.setdefault(err.code(), err)
        p = self.params
        if KafkaError._AUTHENTICATION in by_code:
            return (
                "authentication failed for sasl_username %r with %s at %s: check "
                "sasl_username, sasl_password and sasl_mechanism (the broker said: %s)"
                % (
                    p.get("sasl_username"),
                    p.get("sasl_mechanism"),
                    self.servers,
                    by_code[KafkaError._AUTHENTICATION].str(),
                )
            )
        if KafkaError._SSL in by_code:
            return (
                "TLS handshake with %s failed: check security_protocol (%s), ca_file and "
                "tls_verify (librdkafka said: %s)"
                % (self.servers, p["security_protocol"], by_code[KafkaError._SSL].str())
            )
        if KafkaError._ALL_BROKERS_DOWN in by_code:
            cause = (
                by_code.get(KafkaError._RESOLVE)
                or by_code.get(KafkaError._TRANSPORT)
                or by_code[KafkaError._ALL_BROKERS_DOWN]
            )
            return (
                "cannot reach any broker in bootstrap_servers (%s): %s. Check the host and "
                "port, that the broker is running, and that security_protocol (%s) matches "
                "the listener" % (self.servers, cause.str(), p["security_protocol"])
            )
        return None

    def _wait(self, futures, client=None):
        client = client or self.client
        pending = set(futures)
        deadline = time.time() + self.request_timeout + 5
        while pending:
            _done, pending = concurrent.futures.wait(pending, timeout=0.1)
            client.poll(0)
            if pending:
                fatal = self._fatal()
                if fatal:
                    raise RedpandaError(fatal)
                if time.time() > deadline:
                    raise RedpandaError(
                        "no answer from %s within request_timeout=%ss"
                        % (self.servers, int(self.request_timeout))
                    )

    # error handling --------------------------------------------------------------------------

    @staticmethod
    def _retryable(err):
        code = err.code()
        if code in (
            KafkaError._TIMED_OUT,
            KafkaError._TRANSPORT,
            KafkaError._AUTHENTICATION,
            KafkaError._ALL_BROKERS_DOWN,
            KafkaError._SSL,
            KafkaError._RESOLVE,
        ):
            return False
        if code in (
            KafkaError.REQUEST_TIMED_OUT,
            KafkaError.NOT_CONTROLLER,
            KafkaError.LEADER_NOT_AVAILABLE,
            KafkaError.THROTTLING_QUOTA_EXCEEDED,
        ):
            return True
        try:
            return bool(err.retriable())
        except Exception:  # pylint: disable=broad-except
            return False

    def explain(self, err, what):
        """Turn a KafkaError into a message that says what to fix."""
        code = err.code()
        user = self.params.get("sasl_username")
        text = err.str()
        fatal = self._fatal()
        if fatal:
            return fatal
        if code in (
            KafkaError.TOPIC_AUTHORIZATION_FAILED,
            KafkaError.CLUSTER_AUTHORIZATION_FAILED,
            KafkaError.GROUP_AUTHORIZATION_FAILED,
            KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        ):
            return (
                "the broker denied %s to %r (%s). This needs an administrative user: a "
                "super user, or ACLs such as ALTER on the cluster for ACL and user changes "
                "and CREATE/ALTER/DELETE on the topics" % (what, user, _err_name(err))
            )
        if code == KafkaError.SECURITY_DISABLED:
            return (
                "%s failed: the broker has no authorizer enabled, so it keeps no ACLs "
                "(Redpanda: enable kafka_enable_authorization / SASL)" % what
            )
        if code == KafkaError.UNSUPPORTED_VERSION:
            return (
                "%s failed: the broker does not implement this request (%s). Redpanda does "
                "not implement AlterUserScramCredentials/DescribeUserScramCredentials: use "
                "backend=admin_api (self-hosted) or backend=cloud (Redpanda Cloud)" % (what, text)
            )
        if code == KafkaError._TIMED_OUT:
            return "%s timed out after request_timeout=%ss waiting for %s (%s)" % (
                what,
                int(self.request_timeout),
                self.servers,
                text,
            )
        return "%s failed: %s: %s" % (what, _err_name(err), text)

    # batched calls ---------------------------------------------------------------------------

    def _batch(self, api, what, items, submit, describe_item=str):
        """Send one request for `items`; retry only the items that failed retryably.

        submit(items) -> dict item -> future. Returns dict item -> result. The broker refused
        what failed retryably (it was not applied), so it is sent again under the retry policy.
        """
        results, failures = {}, []
        remaining = list(items)
        last = []  # the last round's failures: (item, error, retryable), in answer order

        def send(_attempt):
            # Another round: the previous round's failures that are not retried are final.
            failures.extend((item, err) for item, err, retryable in last if not retryable)
            del last[:]
            self.counter.add(api)
            futures = submit(remaining)
            self._wait(list(futures.values()))
            for item, future in futures.items():
                try:
                    results[item] = future.result(timeout=0)
                except KafkaException as exc:
                    err = exc.args[0]
                    last.append((item, err, self._retryable(err)))
            remaining[:] = [item for item, _err, retryable in last if retryable]
            if remaining:
                raise Failure(RETRYABLE)

        if remaining:
            with contextlib.suppress(Failure):  # given up: the last round's failures are final
                self.retry.call(send)
            failures.extend((item, err) for item, err, _retryable in last)
        if failures:
            lines = [
                "%s: %s" % (describe_item(item), self.explain(err, what)) for item, err in failures
            ]
            done = [describe_item(item) for item in results]
            msg = (
                lines[0]
                if len(lines) == 1
                else "%s failed for %d item(s):\n%s" % (what, len(lines), "\n".join(lines))
            )
            raise RedpandaError(msg, partial=done)
        return results

    def _single(self, api, what, submit):
        return self._batch(
            api, what, ["_"], lambda _items: {"_": submit()}, describe_item=lambda _i: what
        )["_"]

    # cluster rights --------------------------------------------------------------------------

    def cluster_operations(self):
        """The cluster operations the connected user may perform (ONE request).

        Returns a set of lower-case operation names, or None when the broker reports none (a user
        without rights, or a broker that does not report authorized operations).
        """
        # librdkafka sends this as a Metadata request asking for the authorized operations
        desc = self._single(
            "Metadata (DescribeCluster)",
            "describing the cluster",
            lambda: self.client.describe_cluster(
                include_authorized_operations=True, request_timeout=self.request_timeout
            ),
        )
        ops = getattr(desc, "authorized_operations", None)
        if not ops:
            return None
        return set(op.name.lower() for op in ops)

    def require_cluster_operation(self, operation, what, unknown_is_denied=False):
        """Fail, with what to fix, when the user may not `operation` on the cluster.

        Returns False (and fails nothing) when the broker does not say, unless
        unknown_is_denied.
        """
        ops = self.cluster_operations()
        if ops is None and not unknown_is_denied:
            return False
        if ops is None or (operation not in ops and "all" not in ops):
            raise RedpandaError(
                "%r may not %s: it needs %s on the cluster (a super user has it). Nothing was "
                "changed" % (self.params.get("sasl_username"), what, operation.upper())
            )
        return True
