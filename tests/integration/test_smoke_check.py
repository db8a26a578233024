"""smoke_check end to end: real ansible, real HTTP/HTTPS servers on 127.0.0.1, a test PKI.

Most failure modes are probed in ONE module call (`batch`), which is how users run the module
(one task, many checks) and keeps the suite fast; each test then asserts on its own check.
Behaviours that need their own call (concurrency timing, -vvvv output, check mode, invalid
input) get one.
"""

from __future__ import annotations

import datetime
import re
import time

import pytest

from tests.ansible_run import run_module
from tests.smoke_endpoints import EndpointServer, closed_port, make_ca, make_leaf

UTC = datetime.UTC


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(UTC)
    ca = make_ca(d, "Hackathon Test CA", "Hackathon Test Root R1")
    rogue = make_ca(d, "Rogue CA", "Rogue Root")
    local = {"dns": ["localhost", "todo.smoke.test"], "ips": ["127.0.0.1"]}
    certs = {
        "good": make_leaf(d, ca, "good", **local)[0],
        "expired": make_leaf(
            d,
            ca,
            "expired",
            **local,
            not_before=now - datetime.timedelta(days=90),
            not_after=now - datetime.timedelta(days=3, hours=2),
        )[0],
        "other_host": make_leaf(d, ca, "other_host", dns=["other.example"])[0],
        "untrusted": make_leaf(d, rogue, "untrusted", **local)[0],
        "short": make_leaf(
            d, ca, "short", **local, not_after=now + datetime.timedelta(days=5, hours=2)
        )[0],
    }
    return {"ca": str(ca.pem_path), "certs": certs}


@pytest.fixture(scope="module")
def servers(pki):
    names = ["good", "expired", "other_host", "untrusted", "short"]
    with EndpointServer() as http_srv:
        started = [EndpointServer(pki["certs"][n]).__enter__() for n in names]
        try:
            yield {"http": http_srv, **dict(zip(names, started, strict=True))}
        finally:
            for srv in started:
                srv.__exit__(None, None, None)


def _by_name(run):
    return {c["name"]: c for c in run.result["checks"]}


@pytest.fixture(scope="module")
def batch(pki, servers):
    """One smoke_check call covering every failure mode from the issue, plus passing checks."""
    http, good = servers["http"], servers["good"]
    ca = pki["ca"]
    home = good.url("/", host="localhost")
    refused = closed_port()
    checks = [
        {
            "name": "health",
            "url": good.url("/health", host="localhost"),
            "body_contains": ['"status"'],
            "body_regex": r'"version":\s*"1\.4\.',
            "body_json": [
                {"path": "status", "equals": "ok"},
                {"path": "checks.db.ok", "equals": True},
                {"path": "error", "exists": False},
            ],
            "min_cert_days": 14,
            "cert_issuer_contains": "hackathon test ca",
            "latency_ms": 5000,
            "samples": 3,
        },
        {
            "name": "connect-to",
            "url": good.url("/health", host="todo.smoke.test"),
            "connect_to": "127.0.0.1",
        },
        {"name": "server-error", "url": http.url("/status/500")},
        {
            "name": "wrong-json",
            "url": http.url("/wrong-body"),
            "body_json": [{"path": "status", "equals": "ok"}],
        },
        {"name": "wrong-text", "url": http.url("/wrong-body"), "body_contains": ['"status": "ok"']},
        {
            "name": "wrong-regex",
            "url": http.url("/wrong-body"),
            "body_regex": r'"db":\s*\{"ok":\s*true',
        },
        {"name": "over-budget", "url": http.url("/slow/400"), "latency_ms": 150, "samples": 3},
        {"name": "too-slow-to-answer", "url": http.url("/slow/3000/timeout"), "timeout": 0.5},
        {
            "name": "flaky-recovers",
            "url": http.url("/flaky/recovers/2"),
            "deadline": 15,
            "retry_delay": 0.1,
        },
        {
            "name": "flaky-never",
            "url": http.url("/flaky/never/1000000"),
            "deadline": 1.0,
            "retry_delay": 0.1,
        },
        {"name": "expired", "url": servers["expired"].url("/health", host="localhost")},
        {"name": "wrong-host", "url": servers["other_host"].url("/health", host="localhost")},
        {"name": "untrusted", "url": servers["untrusted"].url("/health", host="localhost")},
        {
            "name": "expiring-soon",
            "url": servers["short"].url("/health", host="localhost"),
            "min_cert_days": 14,
        },
        {
            "name": "wrong-issuer",
            "url": good.url("/health", host="localhost"),
            "cert_issuer_contains": "Let's Encrypt",
        },
        {
            "name": "redirect-ok",
            "url": http.url(f"/redirect/301?to={home}"),
            "expect_redirect_to": home.rstrip("/"),
        },
        {
            "name": "redirect-302",
            "url": http.url(f"/redirect/302?to={home}"),
            "expect_redirect_to": home,
        },
        {
            "name": "redirect-elsewhere",
            "url": http.url("/redirect/308?to=https://evil.example/"),
            "expect_redirect_to": home,
        },
        {"name": "unexpected-redirect", "url": http.url(f"/redirect/301?to={home}")},
        {"name": "refused", "url": f"http://127.0.0.1:{refused}/health"},
        {"name": "dns", "url": "http://smoke-check-test.invalid/health"},
        {
            "name": "no-verify",
            "url": servers["expired"].url("/health", host="localhost"),
            "validate_certs": False,
        },
    ]
    # deadline 0 (one attempt) unless a check sets its own: failing checks report immediately
    run = run_module(
        "smoke_check", {"defaults": {"ca_path": ca, "deadline": 0}, "checks": checks}, timeout=120
    )
    return run


@pytest.fixture(scope="module")
def result(batch):
    return _by_name(batch)


# --- passing --------------------------------------------------------------------------------


def test_passing_https_health_check_reports_everything(result):
    r = result["health"]
    assert r["passed"], r["error"]
    assert r["error"] is None
    assert r["status"] == 200
    assert r["attempts"] == 1
    assert 0 < r["latency_ms"]["p50"] <= r["latency_ms"]["p95"] < 5000
    assert r["issuer"] == "C=US, O=Hackathon Test CA, CN=Hackathon Test Root R1"
    assert r["cert_days_left"] in (88, 89)
    not_after = datetime.datetime.strptime(r["cert_not_after"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs((not_after.replace(tzinfo=UTC) - datetime.datetime.now(UTC)).days - 89) <= 1


def test_connect_to_keeps_host_for_sni_and_certificate(result, servers):
    r = result["connect-to"]
    assert r["passed"], r["error"]
    assert r["url"].startswith("https://todo.smoke.test:")


def test_batch_fails_naming_each_failing_check_and_why(batch, result):
    assert batch.failed
    assert not batch.changed
    failing = [name for name, r in result.items() if not r["passed"]]
    assert set(failing) == {
        "server-error",
        "wrong-json",
        "wrong-text",
        "wrong-regex",
        "over-budget",
        "too-slow-to-answer",
        "flaky-never",
        "expired",
        "wrong-host",
        "untrusted",
        "expiring-soon",
        "wrong-issuer",
        "redirect-302",
        "redirect-elsewhere",
        "unexpected-redirect",
        "refused",
        "dns",
    }
    msg = batch.result["msg"]
    assert msg.startswith(f"{len(failing)} of {len(result)} smoke checks failed: ")
    for name in failing:
        assert f"{name} (" in msg
        assert result[name]["error"] in msg
    assert batch.result["summary"].startswith(
        f"{len(result) - len(failing)} of {len(result)} smoke checks passed"
    )


# --- HTTP and body --------------------------------------------------------------------------


def test_server_error(result):
    r = result["server-error"]
    assert not r["passed"]
    assert r["status"] == 500
    assert r["error"].startswith("got HTTP 500 Internal Server Error, expected 200")
    assert '"boom"' in r["error"]  # the body excerpt says why


def test_wrong_body_json_path(result):
    assert result["wrong-json"]["error"] == 'JSON path status is "degraded", expected "ok"'


def test_wrong_body_substring(result):
    assert result["wrong-text"]["error"].startswith(
        'body does not contain \'"status": "ok"\'; body: {'
    )


def test_wrong_body_regex(result):
    assert result["wrong-regex"]["error"].startswith(
        'body does not match /"db":\\s*\\{"ok":\\s*true/'
    )


def test_slow_endpoint_over_latency_budget(result):
    r = result["over-budget"]
    assert not r["passed"]
    assert r["status"] == 200
    assert r["latency_ms"]["p95"] >= 400
    assert re.match(
        r"p95 latency \d+ ms over the 150 ms budget \(p50 \d+ ms, 3 samples\)$", r["error"]
    )


def test_request_timeout(result):
    r = result["too-slow-to-answer"]
    assert r["status"] is None and r["latency_ms"] is None
    assert r["error"] == (
        f"timed out after 0.5s while waiting for the response from 127.0.0.1 "
        f"port {r['url'].split(':')[2].split('/')[0]}"
    )


# --- retries --------------------------------------------------------------------------------


def test_flaky_endpoint_recovers_inside_deadline(result, servers):
    r = result["flaky-recovers"]
    assert r["passed"], r["error"]
    assert r["attempts"] == 3  # two 503s, then 200
    assert servers["http"].hits["/flaky/recovers/2"] == 3


def test_flaky_endpoint_that_never_recovers_fails_with_attempts(batch, result):
    r = result["flaky-never"]
    assert not r["passed"]
    assert r["attempts"] >= 4  # 0.1 + 0.2 + 0.4 + 0.3 s of waiting in 1 s
    assert 1000 <= r["elapsed_ms"] < 3000
    assert r["error"].startswith("got HTTP 503 Service Unavailable, expected 200")
    assert f"[{r['attempts']} attempts in " in batch.result["msg"]


# --- TLS ------------------------------------------------------------------------------------


def test_expired_certificate(result):
    r = result["expired"]
    assert not r["passed"]
    assert r["status"] is None
    assert re.fullmatch(
        r"certificate expired 3 days ago \(not after \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)", r["error"]
    ), r["error"]
    assert r["cert_days_left"] == -4  # floor(-3 days - 2 hours)
    assert r["cert_not_after"] in r["error"]
    assert r["issuer"] == "C=US, O=Hackathon Test CA, CN=Hackathon Test Root R1"


def test_certificate_for_another_host(result):
    r = result["wrong-host"]
    assert r["error"] == "certificate does not cover host localhost (SANs: DNS:other.example)"
    assert r["cert_days_left"] in (88, 89)


def test_untrusted_ca(result, pki):
    r = result["untrusted"]
    assert r["error"].startswith(f"certificate is not trusted by the CA bundle {pki['ca']}: ")
    assert r["error"].endswith("(issuer: C=US, O=Rogue CA, CN=Rogue Root)")
    assert r["issuer"] == "C=US, O=Rogue CA, CN=Rogue Root"


def test_certificate_expiring_inside_min_cert_days(result):
    r = result["expiring-soon"]
    assert r["status"] == 200  # the app answers; the certificate is the problem
    assert r["cert_days_left"] == 5
    assert re.fullmatch(
        r"certificate expires in 5 days \(not after \S+Z\), fewer than "
        r"min_cert_days 14",
        r["error"],
    ), r["error"]


def test_wrong_issuer(result):
    assert result["wrong-issuer"]["error"] == (
        "certificate issued by C=US, O=Hackathon Test CA, CN=Hackathon Test Root R1, expected an "
        'issuer containing "Let\'s Encrypt"'
    )


def test_validate_certs_false_still_reports_the_certificate(result):
    r = result["no-verify"]
    assert r["passed"], r["error"]
    assert r["cert_days_left"] == -4


# --- redirects ------------------------------------------------------------------------------


def test_permanent_redirect_to_expected_place(result, servers):
    r = result["redirect-ok"]
    assert r["passed"], r["error"]
    assert r["status"] == 301
    assert r["redirect_location"] == servers["good"].url("/", host="localhost")


def test_302_where_301_or_308_required(result):
    r = result["redirect-302"]
    assert r["status"] == 302
    assert r["error"] == (
        f"expected a 301 or 308 redirect to {r['redirect_location']}, got HTTP 302 "
        f"to {r['redirect_location']}"
    )


def test_redirect_to_the_wrong_place(result, servers):
    r = result["redirect-elsewhere"]
    assert r["redirect_location"] == "https://evil.example/"
    assert r["error"] == (
        "redirects to https://evil.example/ (HTTP 308), expected "
        + servers["good"].url("/", host="localhost")
    )


def test_unexpected_redirect_is_not_followed(result):
    r = result["unexpected-redirect"]
    assert r["status"] == 301
    assert r["error"].startswith(
        f"got HTTP 301 Moved Permanently to {r['redirect_location']}, expected 200"
    )


# --- network --------------------------------------------------------------------------------


def test_connection_refused(result):
    r = result["refused"]
    port = r["url"].split(":")[2].split("/")[0]
    assert r["error"] == f"connection refused by 127.0.0.1 port {port}"


def test_dns_name_that_does_not_resolve(result):
    assert result["dns"]["error"].startswith("DNS lookup for smoke-check-test.invalid failed: ")


# --- separate calls -------------------------------------------------------------------------


def test_checks_run_concurrently(servers):
    http = servers["http"]
    count = 8
    started = time.monotonic()
    run = run_module(
        "smoke_check",
        {
            "checks": [
                {"name": f"slow-{i}", "url": http.url(f"/slow/1000/{i}")} for i in range(count)
            ]
        },
    )
    wall = time.monotonic() - started
    assert not run.failed, run.result.get("msg")
    latencies = [c["latency_ms"]["p50"] for c in run.result["checks"]]
    assert all(lat >= 1000 for lat in latencies), latencies  # each really waited a second
    assert sum(latencies) >= count * 1000
    # about one check's time, not eight (the margin absorbs a loaded 2-core machine)
    assert run.result["elapsed_ms"] < 2000, (run.result["elapsed_ms"], latencies)
    assert wall < sum(latencies) / 1000, (wall, latencies)


SECRETS = {
    "Authorization": "Bearer s3cr3t-bearer-0d9f7a",
    "Cookie": "session=c00kie-secret-71bd",
    "X-Api-Key": "apikey-secret-5e21",
    "X-Deploy-Token": "deploy-token-secret-aa41",  # secret because the check lists it
}


def test_secret_headers_never_returned_or_logged_at_vvvv(servers):
    http = servers["http"]
    http.required_headers = dict(SECRETS)
    run = run_module(
        "smoke_check",
        {
            "defaults": {
                "headers": {"X-Api-Key": SECRETS["X-Api-Key"]},
                "secret_headers": ["x-deploy-token"],
                "deadline": 0,
            },
            "checks": [
                {
                    "name": "authorized",
                    "url": http.url("/auth"),
                    "headers": {k: v for k, v in SECRETS.items() if k != "X-Api-Key"}
                    | {"Accept": "application/json"},
                },
                # wrong token: the app echoes the Authorization header into its 401 body, which the
                # module quotes in its error, so redaction of results is exercised too
                {
                    "name": "rejected",
                    "url": http.url("/auth"),
                    "headers": {"Authorization": "Bearer wrong-token-secret-9c3e"},
                },
            ],
        },
        verbosity=4,
    )
    checks = _by_name(run)
    assert checks["authorized"]["passed"], checks["authorized"]["error"]  # the headers were sent
    assert checks["rejected"]["status"] == 401
    assert "rejected credentials: ********" in checks["rejected"]["error"]
    output = run.stdout + run.stderr
    assert "<localhost> EXEC" in output  # really -vvvv
    assert "invocation" in output  # module args are displayed ...
    assert "application/json" in output  # ... non-secret header values included
    for value in [*SECRETS.values(), "wrong-token-secret-9c3e"]:
        assert value not in output


def test_invalid_secret_header_value_is_refused_without_echoing_it(servers):
    run = run_module(
        "smoke_check",
        {
            "checks": [
                {
                    "url": servers["http"].url("/health"),
                    "headers": {"X-Api-Key": "line1-secret\r\nX-Evil: 1"},
                },
            ]
        },
        verbosity=4,
    )
    assert run.failed
    assert "header 'X-Api-Key' has an invalid name or value" in run.result["msg"]
    assert "line1-secret" not in run.stdout + run.stderr


def test_invalid_arguments_do_not_leak_secret_headers():
    run = run_module(
        "smoke_check",
        {
            "checks": [
                {
                    "url": "http://127.0.0.1:9/",
                    "headers": {"Authorization": "Bearer leak-check-31f0"},
                    "not_an_option": 1,
                },
            ]
        },
        verbosity=4,
    )
    assert run.failed
    assert "not_an_option" in run.result["msg"]
    assert "leak-check-31f0" not in run.stdout + run.stderr


def test_check_mode_probes_for_real_and_never_changes(servers, pki):
    good = servers["good"]
    before = good.hits.get("/health/check-mode", 0)
    run = run_module(
        "smoke_check",
        {
            "defaults": {"ca_path": pki["ca"]},
            "checks": [
                {"url": good.url("/health/check-mode", host="localhost")},
                {"url": servers["http"].url("/health")},
            ],
        },
        check=True,
    )
    assert run.rc == 0
    assert not run.failed and not run.changed
    assert all(c["passed"] for c in run.result["checks"])
    assert run.result["msg"] == run.result["summary"]
    assert good.hits["/health/check-mode"] == before + 1
