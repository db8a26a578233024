# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one retry policy of the collection's API clients (DigitalOcean, the Redpanda HTTP APIs,
the Kafka protocol client).

Private to the collection (the leading ``_``): it may change without notice.

A failed attempt is tried again only when both hold:

* the error is worth another try: no connection (``refused``), a reset connection, a timeout, an
  HTTP answer in ``statuses`` (429, 502, 503, 504), or an error the caller knows to be transient
  and not applied (``retryable``: a Kafka error the broker marks retryable);
* sending the request again is safe: the request is idempotent (GET, HEAD, PUT, DELETE, OPTIONS,
  or a POST the caller declares idempotent: one with an idempotency key, a read-only query such
  as Prometheus's POST /api/v1/query, an OAuth token request), or the error says the request was
  not applied (a refused connection sent nothing; 429 and 503, in ``not_applied``, refuse the
  request). A POST answered by a timeout, a reset or a 502/504 may have been applied: sending it
  again could create a second user, cluster or record, so it is not sent again.

Waits grow exponentially (``base`` x 2^n, at most ``cap``) with equal jitter (between half and
all of it), so clients that failed together do not come back together. A ``Retry-After`` the
server sends is waited instead, unless it asks for more than ``max_retry_after`` seconds: then
the call gives up at once. At most ``attempts`` attempts are made and no wait ends past the
``deadline`` (seconds from the first attempt). On giving up, the last failure is raised with
``attempts`` (how many were made) and ``gave_up`` (why it stopped) set, for the caller's message.

The clock, sleep and random source are injectable: tests check every wait without waiting.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils
import random
import socket
import time

from urllib.error import URLError

IDEMPOTENT_METHODS = frozenset(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"])
RETRYABLE_STATUSES = frozenset([429, 502, 503, 504])
NOT_APPLIED_STATUSES = frozenset([429, 503])  # refused before processing: safe to resend

# What went wrong in one attempt (Failure.kind).
REFUSED = "refused"  # no connection: nothing was sent
RESET = "reset"  # the connection broke after the request went out: it may have been applied
TIMEOUT = "timeout"  # no answer in time: it may have been applied
STATUS = "status"  # an HTTP answer (Failure.status)
RETRYABLE = "retryable"  # the caller knows it is transient and was not applied
FATAL = "fatal"  # anything else: never tried again
CONNECTION_ERRORS = frozenset([REFUSED, RESET, TIMEOUT])

# Why the policy stopped (Failure.gave_up).
NOT_RETRYABLE = "not_retryable"
ATTEMPTS = "attempts"
DEADLINE = "deadline"
RETRY_AFTER = "retry_after"


class Failure(Exception):
    """One failed attempt, as the caller describes it to the policy (see the module's text).

    ``error`` is whatever the caller needs for its own message (an exception, an answer);
    ``retry_after`` the seconds the server asked to wait. Raised again by RetryPolicy.call when
    it gives up, with ``attempts`` and ``gave_up`` set.
    """

    def __init__(self, kind, status=None, error=None, retry_after=None):
        if error is not None:
            text = str(error)
        else:
            text = "HTTP %s" % status if status is not None else kind
        super(Failure, self).__init__(text)
        self.kind = kind
        self.status = status
        self.error = error
        self.retry_after = retry_after
        self.attempts = 0
        self.gave_up = None


def error_kind(exc):
    """REFUSED, RESET, TIMEOUT or FATAL for an exception of urllib / open_url (not HTTPError: an
    HTTP answer is a STATUS)."""
    reason = getattr(exc, "reason", exc) if isinstance(exc, URLError) else exc
    if isinstance(reason, ConnectionRefusedError):
        return REFUSED
    if isinstance(reason, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return RESET
    if isinstance(reason, socket.timeout):
        return TIMEOUT
    return FATAL


def retry_after_seconds(value, now=None):
    """The seconds a Retry-After header asks for (delta-seconds or an HTTP-date), or None when
    there is none or it cannot be read. ``now``: the current Unix time, for an HTTP-date."""
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RetryPolicy(object):
    """How often, how long and what to try again; ``call`` runs one request under it."""

    def __init__(
        self,
        attempts=3,
        base=0.5,
        cap=8.0,
        deadline=None,
        max_retry_after=60.0,
        statuses=RETRYABLE_STATUSES,
        not_applied=NOT_APPLIED_STATUSES,
        errors=CONNECTION_ERRORS,
        sleep=None,
        clock=None,
        rng=None,
    ):
        self.attempts = max(1, int(attempts))
        self.base = float(base)
        self.cap = float(cap)
        self.deadline = deadline
        self.max_retry_after = max_retry_after
        self.statuses = frozenset(statuses)
        self.not_applied = frozenset(not_applied)
        self.errors = frozenset(errors)
        # time.sleep / time.monotonic are looked up at each use, so a test that patches them
        # for a whole module also reaches the policy.
        self._sleep = sleep
        self._clock = clock
        self._rng = rng

    def sleep(self, seconds):
        (self._sleep or time.sleep)(seconds)

    def now(self):
        return (self._clock or time.monotonic)()

    def retryable(self, failure, idempotent):
        """True when another attempt after ``failure`` is worth it and safe."""
        if failure.kind == RETRYABLE:
            return True
        if failure.kind == STATUS:
            return failure.status in self.statuses and (
                idempotent or failure.status in self.not_applied
            )
        return failure.kind in self.errors and (idempotent or failure.kind == REFUSED)

    def backoff(self, retry):
        """The wait before retry number ``retry`` (1 for the first): base x 2^(retry-1), at most
        cap, with equal jitter."""
        full = min(self.cap, self.base * 2 ** min(max(0, retry - 1), 60))
        return (self._rng or random).uniform(full / 2.0, full)

    def next_wait(self, failure, idempotent, attempt, started):
        """(seconds to wait before attempt ``attempt`` + 1, None), or (None, why to give up)."""
        if not self.retryable(failure, idempotent):
            return None, NOT_RETRYABLE
        if attempt >= self.attempts:
            return None, ATTEMPTS
        if failure.retry_after is not None:
            wait = max(0.0, float(failure.retry_after))
            if self.max_retry_after is not None and wait > self.max_retry_after:
                return None, RETRY_AFTER
        else:
            wait = self.backoff(attempt)
        if self.deadline is not None and self.now() + wait > started + self.deadline:
            return None, DEADLINE
        return wait, None

    def call(self, send, method="GET", idempotent=None):
        """``send(attempt)`` (1 for the first) until it returns; it raises Failure for a failed
        attempt. ``idempotent``: None decides by ``method``; True for a POST that is safe to send
        twice. Raises the last Failure, with ``attempts`` and ``gave_up``, on giving up."""
        if idempotent is None:
            idempotent = (method or "").upper() in IDEMPOTENT_METHODS
        started = self.now()
        attempt = 0
        while True:
            attempt += 1
            try:
                return send(attempt)
            except Failure as failure:
                wait, why = self.next_wait(failure, idempotent, attempt, started)
                if wait is None:
                    failure.attempts = attempt
                    failure.gave_up = why
                    raise
            self.sleep(wait)
