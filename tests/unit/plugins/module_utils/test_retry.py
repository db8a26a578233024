"""The collection's one retry policy (_retry), on its own: what is retried, for which requests,
how long it waits and when it gives up. Pure: a fake clock, a recording sleep, a fixed random.

The clients that use it are tested against real local servers: test_redpanda_retries.py and
tests/unit/plugins/module_utils/test_digitalocean.py.
"""

from __future__ import annotations

import contextlib
import email.utils
import socket
from urllib.error import URLError

import pytest
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _retry
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._retry import (
    FATAL,
    REFUSED,
    RESET,
    RETRYABLE,
    STATUS,
    TIMEOUT,
    Failure,
    RetryPolicy,
    error_kind,
    retry_after_seconds,
)


class Clock:
    """Time that passes only when the policy sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    def time(self) -> float:
        return self.now


class Top:
    """random.uniform that always answers the top of the range: the longest wait."""

    @staticmethod
    def uniform(_low, high):
        return high


def policy(clock, **kwargs) -> RetryPolicy:
    kwargs.setdefault("rng", Top())
    return RetryPolicy(sleep=clock.sleep, clock=clock.time, **kwargs)


def failing(*failures, result="ok"):
    """send() that raises the failures one by one, then returns `result`; counts attempts."""
    seen = []

    def send(attempt):
        seen.append(attempt)
        if len(seen) <= len(failures):
            raise failures[len(seen) - 1]
        return result

    return send, seen


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_a_get_is_retried_on_each_retryable_status(status):
    clock = Clock()
    send, seen = failing(Failure(STATUS, status=status))
    assert policy(clock).call(send, "GET") == "ok"
    assert seen == [1, 2]
    assert clock.sleeps == [0.5]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 500, 501])
def test_other_statuses_are_final_at_once(status):
    clock = Clock()
    send, seen = failing(Failure(STATUS, status=status))
    with pytest.raises(Failure) as err:
        policy(clock).call(send, "GET")
    assert (err.value.attempts, err.value.gave_up, err.value.status) == (1, "not_retryable", status)
    assert seen == [1] and clock.sleeps == []


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "get"])
@pytest.mark.parametrize("kind", [REFUSED, RESET, TIMEOUT])
def test_connection_errors_are_retried_for_idempotent_methods(method, kind):
    send, seen = failing(Failure(kind), Failure(kind))
    assert policy(Clock()).call(send, method) == "ok"
    assert seen == [1, 2, 3]


@pytest.mark.parametrize(
    ("failure", "tries"),
    [
        (Failure(TIMEOUT), 1),  # it may have been applied: sending it again could apply it twice
        (Failure(RESET), 1),
        (Failure(STATUS, status=502), 1),
        (Failure(STATUS, status=504), 1),
        (Failure(REFUSED), 2),  # nothing was sent
        (Failure(STATUS, status=429), 2),  # refused before processing
        (Failure(STATUS, status=503), 2),
        (Failure(RETRYABLE), 2),  # the caller knows it was not applied
    ],
)
def test_a_post_is_retried_only_when_the_error_says_it_was_not_applied(failure, tries):
    send, seen = failing(failure)
    try:
        policy(Clock()).call(send, "POST")
    except Failure as exc:
        assert exc is failure and exc.gave_up == "not_retryable"
    assert len(seen) == tries


@pytest.mark.parametrize("failure", [Failure(TIMEOUT), Failure(RESET), Failure(STATUS, status=502)])
def test_a_post_the_caller_declares_idempotent_is_retried_like_a_get(failure):
    send, seen = failing(failure)
    assert policy(Clock()).call(send, "POST", idempotent=True) == "ok"
    assert seen == [1, 2]


def test_a_get_declared_not_idempotent_is_not_retried_after_a_timeout():
    send, seen = failing(Failure(TIMEOUT))
    with pytest.raises(Failure):
        policy(Clock()).call(send, "GET", idempotent=False)
    assert seen == [1]


def test_fatal_errors_are_never_retried_even_when_idempotent():
    send, seen = failing(Failure(FATAL, error=ValueError("bad TLS")))
    with pytest.raises(Failure) as err:
        policy(Clock()).call(send, "GET", idempotent=True)
    assert seen == [1] and str(err.value) == "bad TLS"
    assert str(Failure(STATUS, status=502)) == "HTTP 502" and str(Failure(TIMEOUT)) == "timeout"


def test_the_last_failure_is_raised_with_how_many_attempts_were_made():
    clock = Clock()
    failures = [Failure(STATUS, status=503, error=f"try {i}") for i in range(1, 6)]
    send, seen = failing(*failures)
    with pytest.raises(Failure) as err:
        policy(clock, attempts=4).call(send, "GET")
    assert err.value is failures[3]
    assert (err.value.attempts, err.value.gave_up) == (4, "attempts")
    assert seen == [1, 2, 3, 4]
    assert len(clock.sleeps) == 3  # no wait after the last attempt


def test_backoff_doubles_up_to_the_cap_with_equal_jitter():
    clock = Clock()
    send, _seen = failing(*[Failure(STATUS, status=502)] * 6)
    policy(clock, attempts=7, base=0.5, cap=4.0).call(send, "GET")
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]

    class Bottom:
        @staticmethod
        def uniform(low, _high):
            return low

    low = RetryPolicy(base=0.5, cap=4.0, rng=Bottom())
    assert [low.backoff(n) for n in range(1, 6)] == [0.25, 0.5, 1.0, 2.0, 2.0]
    real = RetryPolicy(base=0.5, cap=4.0)
    for n in range(1, 6):
        full = min(4.0, 0.5 * 2 ** (n - 1))
        assert all(full / 2 <= real.backoff(n) <= full for draw in range(50))
    assert RetryPolicy(base=1.0, cap=30.0).backoff(10_000) <= 30.0  # no overflow


def test_retry_after_is_waited_instead_of_the_backoff():
    clock = Clock()
    send, seen = failing(
        Failure(STATUS, status=429, retry_after=7.0), Failure(STATUS, status=503, retry_after=0)
    )
    assert policy(clock).call(send, "POST") == "ok"
    assert clock.sleeps == [7.0, 0.0] and seen == [1, 2, 3]


def test_a_retry_after_longer_than_allowed_gives_up_at_once():
    clock = Clock()
    send, seen = failing(Failure(STATUS, status=429, retry_after=3600))
    with pytest.raises(Failure) as err:
        policy(clock, max_retry_after=60).call(send, "GET")
    assert (err.value.attempts, err.value.gave_up) == (1, "retry_after")
    assert seen == [1] and clock.sleeps == []


def test_no_wait_ends_past_the_deadline():
    clock = Clock()
    send, seen = failing(*[Failure(TIMEOUT)] * 20)
    with pytest.raises(Failure) as err:
        policy(clock, attempts=20, base=1.0, cap=100.0, deadline=10.0).call(send, "GET")
    # waits 1, 2, 4 (7 s in all); the next, 8 s, would end at 15 s: past the deadline
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert (err.value.attempts, err.value.gave_up) == (4, "deadline")
    assert seen == [1, 2, 3, 4]


def test_a_retry_after_past_the_deadline_gives_up_rather_than_oversleeping():
    clock = Clock()
    send, _seen = failing(Failure(STATUS, status=503, retry_after=30))
    with pytest.raises(Failure) as err:
        policy(clock, deadline=20.0).call(send, "GET")
    assert err.value.gave_up == "deadline" and clock.sleeps == []


def test_the_deadline_counts_the_time_spent_in_attempts_too():
    clock = Clock()

    def slow(attempt):
        clock.now += 4.0  # every attempt takes 4 s (a timeout)
        raise Failure(TIMEOUT)

    with pytest.raises(Failure) as err:
        policy(clock, attempts=10, base=1.0, cap=1.0, deadline=10.0).call(slow, "GET")
    # attempts end at 4 s, 9 s (after a 1 s wait) and 14 s (after a wait that ended at 10 s)
    assert err.value.attempts == 3 and clock.sleeps == [1.0, 1.0]
    assert clock.now - 1000.0 == 14.0  # only the attempt in flight when it passed ran past it


def test_the_default_sleep_and_clock_are_looked_up_when_used(monkeypatch):
    slept = []
    monkeypatch.setattr(_retry.time, "sleep", slept.append)
    send, _seen = failing(Failure(STATUS, status=502))
    RetryPolicy(rng=Top()).call(send, "GET")
    assert slept == [0.5]


def test_narrower_policies_for_clients_that_document_one():
    """The DigitalOcean client: 500 retried for a GET, only resets of the connection errors."""
    do = dict(statuses=[429, 500, 502, 503, 504], errors=[RESET])
    for failure, tries in (
        (Failure(STATUS, status=500), 2),
        (Failure(RESET), 2),
        (Failure(TIMEOUT), 1),
        (Failure(REFUSED), 1),
    ):
        send, seen = failing(failure)
        with contextlib.suppress(Failure):
            policy(Clock(), **do).call(send, "GET")
        assert len(seen) == tries, failure.kind


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (URLError(ConnectionRefusedError(111, "Connection refused")), REFUSED),
        (ConnectionRefusedError(), REFUSED),
        (URLError(ConnectionResetError()), RESET),
        (ConnectionResetError(), RESET),
        (BrokenPipeError(), RESET),
        (ConnectionAbortedError(), RESET),
        (URLError(TimeoutError("timed out")), TIMEOUT),
        (TimeoutError("timed out"), TIMEOUT),
        (URLError(socket.gaierror(-2, "Name or service not known")), FATAL),
        (URLError("unknown url type: ftp"), FATAL),
        (ValueError("bad"), FATAL),
    ],
)
def test_error_kind_of_urllib_errors(exc, kind):
    assert error_kind(exc) == kind


def test_retry_after_seconds_reads_seconds_and_http_dates():
    now = 1_700_000_000.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("3", now) == 3.0
    assert retry_after_seconds(" 1.5 ", now) == 1.5
    assert retry_after_seconds("-4", now) == 0.0
    assert retry_after_seconds(email.utils.formatdate(now + 30, usegmt=True), now) == 30.0
    assert retry_after_seconds(email.utils.formatdate(now - 30, usegmt=True), now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds("", now) is None
