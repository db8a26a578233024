"""The DigitalOcean API client: retries only what is retryable, pagination, errors that say what
to fix, and a token that never shows up in a message.

The client runs in-process against the DigitalOcean API stand-in (a real HTTP server); sleeping is
replaced by a recorder so retry delays are checked exactly and cost no time.
"""

from __future__ import annotations

import email.utils
import socket
import threading

import pytest
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._digitalocean import (
    DigitalOceanClient,
    DigitalOceanError,
    required_scope,
)

from tests.standins.digitalocean_api import DigitalOceanAPIStandIn


class Clock:
    def __init__(self):
        self.now = 1_700_000_000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def time(self) -> float:
        return self.now


def client(api, token=None, clock=None, **kwargs) -> DigitalOceanClient:
    clock = clock or Clock()
    return DigitalOceanClient(
        token or api.token,
        api_url=api.api_url,
        sleep=clock.sleep,
        clock=clock.time,
        **kwargs,
    )


def statuses(api) -> list[int]:
    return [r.status for r in api.requests]


def test_list_all_follows_pagination_and_keeps_to_api_url(do_api):
    do_api.add_domain("example.com")
    for i in range(450):
        do_api.add_record("example.com", "TXT", f"t{i}", f"v{i}")

    class Elsewhere(DigitalOceanAPIStandIn):
        """Next links that point at another host: only their query string may be used."""

        def _page(self, path, query, key, items):
            out = super()._page(path, query, key, items)
            for name, link in (out.get("links", {}).get("pages") or {}).items():
                out["links"]["pages"][name] = link.replace(self.base, "http://198.51.100.7:9")
            return out

    do_api.__class__ = Elsewhere
    records = client(do_api).list_all("/domains/example.com/records", "domain_records")
    assert len(records) == 454  # 450 + 3 NS + SOA
    assert len({r["id"] for r in records}) == 454
    assert [(r.path, r.query.get("page")) for r in do_api.requests] == [
        ("/v2/domains/example.com/records", None),
        ("/v2/domains/example.com/records", "2"),
        ("/v2/domains/example.com/records", "3"),
    ]


def test_429_waits_as_long_as_retry_after_says(do_api):
    do_api.fail_next(429, count=2, retry_after=1.5)
    clock = Clock()
    assert client(do_api, clock=clock).get("/account")["account"]["status"] == "active"
    assert clock.sleeps == [1.5, 1.5]
    assert statuses(do_api) == [429, 429, 200]


def test_429_without_retry_after_waits_until_ratelimit_reset(do_api):
    clock = Clock()
    do_api.fail_next(429, ratelimit_reset=clock.now + 7)
    client(do_api, clock=clock).get("/account")
    assert clock.sleeps == [7.0]


def test_429_asking_for_too_long_a_wait_fails_at_once_and_says_so(do_api):
    do_api.fail_next(429, retry_after=3600)
    with pytest.raises(DigitalOceanError) as err:
        client(do_api).get("/account")
    assert "asks to wait longer than 60 s" in str(err.value)
    assert statuses(do_api) == [429]


def test_5xx_on_get_is_retried_with_jittered_backoff(do_api):
    do_api.fail_next(500, count=2)
    do_api.fail_next(503, count=1)
    clock = Clock()
    client(do_api, clock=clock, backoff_base=0.5).get("/account")
    assert statuses(do_api) == [500, 500, 503, 200]
    # equal jitter: attempt n waits between half and all of 0.5 * 2**n
    for attempt, waited in enumerate(clock.sleeps):
        assert 0.25 * 2**attempt <= waited <= 0.5 * 2**attempt


def test_retries_stop_after_max_retries_with_a_message_that_counts_them(do_api):
    do_api.fail_next(502, count=10)
    with pytest.raises(DigitalOceanError) as err:
        client(do_api, max_retries=2).get("/kubernetes/clusters")
    assert statuses(do_api) == [502, 502, 502]
    assert "502 Bad Gateway after 3 attempts" in str(err.value)
    assert "status.digitalocean.com" in str(err.value)


def test_post_is_not_retried_on_500_because_it_may_have_been_processed(do_api):
    do_api.fail_next(500, method="POST")
    with pytest.raises(DigitalOceanError) as err:
        client(do_api).post("/domains/example.com/records", {"type": "A"})
    assert err.value.status == 500
    assert statuses(do_api) == [500]


def test_post_is_retried_on_503_and_429_which_mean_not_processed(do_api):
    do_api.add_domain("example.com")
    do_api.fail_next(503, method="POST")
    do_api.fail_next(429, method="POST", retry_after=0)
    body = {"type": "A", "name": "www", "data": "203.0.113.1"}
    client(do_api).post("/domains/example.com/records", body)
    assert statuses(do_api) == [503, 429, 201]
    assert len(do_api.records("example.com", type="A")) == 1


@pytest.mark.parametrize("status", [502, 504])
def test_post_is_not_retried_on_a_gateway_error_either(do_api, status):
    do_api.fail_next(status, count=3, method="POST")
    with pytest.raises(DigitalOceanError) as err:
        client(do_api).post("/domains/example.com/records", {"type": "A"})
    assert (err.value.status, err.value.attempts) == (status, 1)
    assert statuses(do_api) == [status]


def test_a_retry_after_on_a_503_is_waited_too(do_api):
    """The shared retry policy honours Retry-After on any retried answer (RFC 9110 10.2.3);
    before it, only a 429's was read and a 503 waited the backoff (0.25 to 0.5 s)."""
    do_api.fail_next(503, retry_after=4)
    clock = Clock()
    client(do_api, clock=clock).get("/account")
    assert clock.sleeps == [4.0]
    assert statuses(do_api) == [503, 200]


def test_a_retry_after_given_as_an_http_date_is_waited(do_api):
    clock = Clock()
    do_api.fail_next(429, retry_after=email.utils.formatdate(clock.now + 12, usegmt=True))
    client(do_api, clock=clock).get("/account")
    assert clock.sleeps == [12.0]


def test_422_is_not_retried_and_carries_the_api_message(do_api):
    bad = {"name": "c", "region": "mars1", "version": "1.36", "node_pools": []}
    with pytest.raises(DigitalOceanError) as err:
        client(do_api).post("/kubernetes/clusters", bad)
    assert err.value.status == 422
    assert statuses(do_api) == [422]
    assert "422 Unprocessable Entity" in str(err.value)
    assert "region 'mars1' is not valid" in str(err.value)
    assert err.value.error_id == "unprocessable_entity"


def test_401_names_the_fix_and_never_the_token(do_api):
    token = "dop_v1_" + "9f" * 32
    with pytest.raises(DigitalOceanError) as err:
        client(do_api, token=token).get("/kubernetes/clusters")
    msg = str(err.value)
    assert msg.startswith("DigitalOcean rejected the API token (401 Unauthorized)")
    assert "DIGITALOCEAN_ACCESS_TOKEN / do_token" in msg
    assert token not in msg and token not in repr(err.value.to_result())
    assert statuses(do_api) == [401]


def test_403_names_the_missing_scope(do_api):
    do_api.add_domain("example.com")
    record = do_api.add_record("example.com", "A", "www", "203.0.113.1")
    do_api.add_token("read-only-token", "read")
    with pytest.raises(DigitalOceanError) as err:
        client(do_api, token="read-only-token").put(
            f"/domains/example.com/records/{record['id']}", {"data": "203.0.113.2"}
        )
    assert "403 Forbidden" in str(err.value)
    assert "domain:update scope" in str(err.value)


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/kubernetes/clusters", "kubernetes:read"),
        ("POST", "/kubernetes/clusters", "kubernetes:create"),
        ("DELETE", "/kubernetes/clusters/abc", "kubernetes:delete"),
        ("PUT", "/kubernetes/clusters/abc/node_pools/p", "kubernetes:update"),
        ("DELETE", "/kubernetes/clusters/abc/node_pools/p", "kubernetes:update"),
        ("GET", "/kubernetes/clusters/abc/kubeconfig", "kubernetes:access_cluster"),
        ("POST", "/domains/example.com/records", "domain:create"),
    ],
)
def test_required_scope_follows_the_api_reference(method, path, scope):
    assert required_scope(method, path) == scope


def test_the_token_is_redacted_even_when_an_answer_echoes_it(do_api):
    class Echo(DigitalOceanAPIStandIn):
        def _get_account(self, **_):
            from tests.standins.digitalocean_api import ApiError

            raise ApiError(422, "unprocessable_entity", f"bad token {self.token} given")

    do_api.__class__ = Echo
    with pytest.raises(DigitalOceanError) as err:
        client(do_api).get("/account")
    assert do_api.token not in str(err.value)
    assert "bad token ******** given" in str(err.value)


def test_unreachable_api_says_where_it_tried():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api = DigitalOceanClient("t", api_url=f"http://127.0.0.1:{port}/v2", timeout=2)
    with pytest.raises(DigitalOceanError) as err:
        api.get("/account")
    assert f"Could not reach the DigitalOcean API at http://127.0.0.1:{port}/v2" in str(err.value)


def _resetting_server(accepted: list, hang: bool = False) -> tuple[socket.socket, list]:
    """Accepts connections and reads the request, then closes without answering (a reset) or,
    with `hang`, keeps the connection open without answering (a timeout)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list = []

    def run():
        while True:
            try:
                conn, _addr = server.accept()
            except OSError:
                return
            accepted.append(1)
            conn.recv(65536)
            if hang:
                held.append(conn)
            else:
                conn.close()

    threading.Thread(target=run, daemon=True).start()
    return server, held


def _call_silent_server(method, hang=False, **kwargs):
    """(the error, connections accepted, waits) of one call to a server that never answers."""
    accepted: list = []
    server, held = _resetting_server(accepted, hang)
    clock = Clock()
    try:
        api = DigitalOceanClient(
            "t",
            api_url=f"http://127.0.0.1:{server.getsockname()[1]}/v2",
            sleep=clock.sleep,
            clock=clock.time,
            **kwargs,
        )
        with pytest.raises(DigitalOceanError) as err:
            api.request(method, "/account", body={} if method == "POST" else None)
    finally:
        server.close()
        for conn in held:
            conn.close()
    return err.value, len(accepted), clock.sleeps


@pytest.mark.parametrize(("method", "attempts"), [("GET", 3), ("POST", 1)])
def test_reset_connections_are_retried_only_for_idempotent_methods(method, attempts):
    err, accepted, _sleeps = _call_silent_server(method, max_retries=2)
    assert accepted == attempts
    assert "reset" in str(err) or "Could not reach" in str(err)


def test_a_timeout_is_not_retried_and_names_the_timeout_option():
    """Documented for max_retries: of the connection errors only resets are retried; a GET that
    timed out fails at once, naming the option to raise."""
    err, accepted, sleeps = _call_silent_server("GET", hang=True, timeout=0.2)
    assert "did not answer GET /account within 0.2 s (timeout): raise the timeout" in str(err)
    assert accepted == 1 and sleeps == []


def test_no_token_at_all_is_a_clear_error():
    with pytest.raises(DigitalOceanError) as err:
        DigitalOceanClient(None)
    assert "DIGITALOCEAN_ACCESS_TOKEN" in str(err.value)


def test_stand_in_serves_an_injected_kubeconfig_verbatim():
    """The integration tests point the stand-in at the local test bed's real API server."""
    testbed = (
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: https://127.0.0.1:6443}\n"
    )
    api = DigitalOceanAPIStandIn(kubeconfig=testbed).start()
    try:
        cluster = api.add_cluster("c", [{"name": "p", "size": "s-2vcpu-4gb", "count": 1}])
        text = client(api).get_text(f"/kubernetes/clusters/{cluster['id']}/kubeconfig")
        assert text == testbed
        api.kubeconfig = lambda c: f"# for {c['name']} at {c['endpoint']}\n"
        text = client(api).get_text(f"/kubernetes/clusters/{cluster['id']}/kubeconfig")
        assert text == f"# for c at {cluster['endpoint']}\n"
    finally:
        api.stop()
