"""Pure parts of the smoke_check engine: certificate reading, verdict wording, retry timing."""

from __future__ import annotations

import datetime
import ipaddress
import itertools
import ssl

import pytest
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _probe, _smoke, _x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

UTC = datetime.UTC
_BMP = x509.name._ASN1Type.BMPString
NOW = datetime.datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


def _cert(
    *,
    subject_cn="todo.example.com",
    issuer_org="Let's Encrypt",
    issuer_cn="R11",
    dns=("todo.example.com",),
    ips=(),
    not_before=None,
    not_after=None,
    san=True,
):
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, issuer_org),
            x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - datetime.timedelta(days=10))
        .not_valid_after(not_after or NOW + datetime.timedelta(days=80))
    )
    if san:
        names = [x509.DNSName(d) for d in dns] + [
            x509.IPAddress(ipaddress.ip_address(i)) for i in ips
        ]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    builder = builder.add_extension(
        x509.BasicConstraints(ca=False, path_length=None), critical=True
    )
    cert = builder.sign(key, hashes.SHA256())
    return cert, cert.public_bytes(serialization.Encoding.DER)


# --- certificate reading ----------------------------------------------------------------------


def test_parse_der_reads_validity_names_and_sans():
    cert, der = _cert(
        dns=("todo.example.com", "*.todo.example.com"), ips=("203.0.113.7", "2001:db8::1")
    )
    info = _x509.parse_der_certificate(der)
    assert info["not_before"] == cert.not_valid_before_utc
    assert info["not_after"] == cert.not_valid_after_utc
    assert info["issuer"] == "C=US, O=Let's Encrypt, CN=R11"
    assert info["subject"] == "CN=todo.example.com"
    assert info["dns_names"] == ["todo.example.com", "*.todo.example.com"]
    assert info["ip_addresses"] == ["203.0.113.7", "2001:db8::1"]


def test_parse_der_generalized_time_after_2049_and_unicode_names():
    # RFC 5280: dates from 2050 on are GeneralizedTime, earlier ones UTCTime
    not_after = datetime.datetime(2051, 3, 4, 5, 6, 7, tzinfo=UTC)
    _cert_obj, der = _cert(not_after=not_after, issuer_org="Ünïcode Trust GmbH")
    info = _x509.parse_der_certificate(der)
    assert info["not_after"] == not_after
    assert info["issuer"] == "C=US, O=Ünïcode Trust GmbH, CN=R11"


def test_parse_der_without_san():
    _cert_obj, der = _cert(san=False)
    info = _x509.parse_der_certificate(der)
    assert info["dns_names"] == [] and info["ip_addresses"] == []


def test_parse_der_agrees_with_the_stdlib_decoder(tmp_path):
    """Cross-check against CPython's own (private, file-based) certificate decoder."""
    cert, der = _cert(dns=("a.example", "b.example"), ips=("192.0.2.1",))
    pem = tmp_path / "c.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    ref = ssl._ssl._test_decode_cert(str(pem))
    info = _x509.parse_der_certificate(der)
    assert ssl.cert_time_to_seconds(ref["notAfter"]) == info["not_after"].timestamp()
    assert ssl.cert_time_to_seconds(ref["notBefore"]) == info["not_before"].timestamp()
    assert [v for k, v in ref["subjectAltName"] if k == "DNS"] == info["dns_names"]
    assert [v for k, v in ref["subjectAltName"] if k == "IP Address"] == info["ip_addresses"]


@pytest.mark.parametrize(
    "der", [b"", b"\x30", b"\x30\x05\x02\x01\x01", b"\x04\x00", b"\x30\x84\xff\xff\xff\xff"]
)
def test_parse_der_rejects_garbage(der):
    with pytest.raises(_x509.CertificateParseError):
        _x509.parse_der_certificate(der)


def test_parse_der_rejects_truncated_certificate():
    _cert_obj, der = _cert()
    with pytest.raises(_x509.CertificateParseError):
        _x509.parse_der_certificate(der[:-20])


def _with_time(der, old, new):
    """der with the validity time TLV `old` replaced by `new` of another length; the lengths of
    Validity, tbsCertificate and Certificate follow. The signature no longer matches (reading
    the certificate does not verify it)."""
    grow = len(new) - len(old)
    at = der.index(old)
    out = bytearray(der[:at] + new + der[at + len(old) :])

    def fix(pos):  # add `grow` to the length of the TLV at pos; the position of its value
        first = out[pos + 1]
        if not first & 0x80:
            out[pos + 1] = first + grow
            return pos + 2
        size = first & 0x7F
        length = int.from_bytes(out[pos + 2 : pos + 2 + size], "big") + grow
        out[pos + 2 : pos + 2 + size] = length.to_bytes(size, "big")
        return pos + 2 + size

    fix(fix(0))  # Certificate, then tbsCertificate
    validity = at - 2 - 15  # not_after's TLV follows a 15-byte UTCTime not_before
    assert out[validity] == 0x30
    fix(validity)
    return bytes(out)


@pytest.mark.parametrize(
    ("when", "tlv", "year"),
    [
        (
            {"not_after": datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)},
            b"\x17\x0d491231235959Z",
            2049,
        ),
        (
            {"not_before": datetime.datetime(1950, 1, 1, tzinfo=UTC)},
            b"\x17\x0d500101000000Z",
            1950,
        ),
        (
            {"not_after": datetime.datetime(2051, 3, 4, 5, 6, 7, tzinfo=UTC)},
            b"\x18\x0f20510304050607Z",
            2051,
        ),
    ],
)
def test_validity_time_century_rules(when, tlv, year):
    # RFC 5280 4.1.2.5: UTCTime YY >= 50 is 19YY, below 20YY; from 2050 on GeneralizedTime
    _cert_obj, der = _cert(**when)
    assert tlv in der  # the encoding this case is about
    info = _x509.parse_der_certificate(der)
    assert info["not_before" if "not_before" in when else "not_after"].year == year


def test_validity_rejects_local_times():
    not_after = datetime.datetime(2026, 12, 27, 12, 0, 0, tzinfo=UTC)
    _cert_obj, der = _cert(not_after=not_after)
    utc = b"\x17\x0d261227120000Z"
    assert _x509.parse_der_certificate(_with_time(der, utc, utc))["not_after"] == not_after
    with pytest.raises(_x509.CertificateParseError):
        _x509.parse_der_certificate(_with_time(der, utc, b"\x17\x0f2612271200+0100"))


def test_names_keep_certificate_order_multi_valued_rdns_and_unknown_attributes():
    key = ec.generate_private_key(ec.SECP256R1())
    rdn = x509.RelativeDistinguishedName
    subject = x509.Name(
        [
            rdn(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "O1"),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "OU1"),
                ]
            ),
            rdn([x509.NameAttribute(NameOID.STREET_ADDRESS, "Main St")]),
            rdn([x509.NameAttribute(NameOID.EMAIL_ADDRESS, "ops@example.com")]),
            rdn([x509.NameAttribute(NameOID.COMMON_NAME, "BMP Ü", _type=_BMP)]),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    info = _x509.parse_der_certificate(cert.public_bytes(serialization.Encoding.DER))
    assert info["subject"] == "O=O1+OU=OU1, 2.5.4.9=Main St, emailAddress=ops@example.com, CN=BMP Ü"
    assert info["issuer"] == info["subject"]


def test_reading_a_certificate_needs_cryptography(monkeypatch):
    _cert_obj, der = _cert()
    monkeypatch.setattr(_x509, "HAS_CRYPTOGRAPHY", False)
    with pytest.raises(RuntimeError, match="cryptography"):
        _x509.parse_der_certificate(der)


# --- host coverage and wording ----------------------------------------------------------------


def _info(
    dns=(),
    ips=(),
    not_before=NOW - datetime.timedelta(days=1),
    not_after=NOW + datetime.timedelta(days=30),
):
    return {
        "dns_names": list(dns),
        "ip_addresses": list(ips),
        "not_before": not_before,
        "not_after": not_after,
        "issuer": "C=US, O=Test CA, CN=T1",
        "subject": "CN=x",
    }


@pytest.mark.parametrize(
    ("host", "covered"),
    [
        ("todo.example.com", True),
        ("TODO.Example.com.", True),
        ("staging.todo.example.com", True),  # via *.todo.example.com
        ("a.staging.todo.example.com", False),  # a wildcard covers one label only
        ("example.com", False),
        ("xtodo.example.com", False),
        ("127.0.0.1", False),  # an IP host needs an IP SAN, not a DNS SAN
        ("203.0.113.7", True),
    ],
)
def test_cert_covers_host(host, covered):
    info = _info(dns=["todo.example.com", "*.todo.example.com", "127.0.0.1"], ips=["203.0.113.7"])
    assert _x509.cert_covers_host(info, host) is covered


def test_expired_certificate_wording():
    info = _info(dns=["h"], not_after=NOW - datetime.timedelta(days=3, hours=5))
    assert _x509.certificate_problems(info, "h", NOW) == [
        "certificate expired 3 days ago (not after 2026-11-24T07:00:00Z)"
    ]
    recent = _info(dns=["h"], not_after=NOW - datetime.timedelta(hours=5))
    assert _x509.certificate_problems(recent, "h", NOW) == [
        "certificate expired 5 hours ago (not after 2026-11-27T07:00:00Z)"
    ]
    assert _x509.days_left(info, NOW) == -4


def test_not_yet_valid_and_wrong_host_are_both_named():
    info = _info(
        dns=["other.example"], ips=["192.0.2.9"], not_before=NOW + datetime.timedelta(days=1)
    )
    assert _x509.certificate_problems(info, "todo.example.com", NOW) == [
        "certificate is not valid yet (not before 2026-11-28T12:00:00Z)",
        "certificate does not cover host todo.example.com (SANs: DNS:other.example, IP:192.0.2.9)",
    ]


def test_hostname_mismatch_is_reported_apart_from_trust():
    info = _info(dns=["other.example"])
    msg = _x509.explain_verify_failure(
        62, "Hostname mismatch", info, "todo.example.com", "the system trust store", NOW
    )
    assert msg == "certificate does not cover host todo.example.com (SANs: DNS:other.example)"


def test_untrusted_certificate_names_trust_store_issuer_and_other_problems():
    info = _info(dns=["other.example"])
    msg = _x509.explain_verify_failure(
        20,
        "unable to get local issuer certificate",
        info,
        "todo.example.com",
        "the CA bundle /ca.pem",
        NOW,
    )
    assert msg == (
        "certificate is not trusted by the CA bundle /ca.pem: unable to get local issuer "
        "certificate (issuer: C=US, O=Test CA, CN=T1); certificate does not cover host "
        "todo.example.com (SANs: DNS:other.example)"
    )


def test_verify_failure_without_a_readable_certificate():
    msg = _x509.explain_verify_failure(
        10, "certificate has expired", None, "h", "the system trust store", NOW
    )
    assert msg == "certificate is not trusted by the system trust store: certificate has expired"


def test_days_left_counts_whole_days():
    assert _x509.days_left(_info(not_after=NOW + datetime.timedelta(days=5, hours=23)), NOW) == 5
    assert _x509.days_left(_info(not_after=NOW + datetime.timedelta(hours=1)), NOW) == 0


# --- body assertions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "tokens"),
    [
        ("status", ["status"]),
        ("checks.db.ok", ["checks", "db", "ok"]),
        ("items[0].id", ["items", 0, "id"]),
        ("$.items[-1]", ["items", -1]),
        ("[2][0]", [2, 0]),
        ("with-dash.under_score", ["with-dash", "under_score"]),
    ],
)
def test_parse_json_path(path, tokens):
    assert _smoke.parse_json_path(path) == tokens


@pytest.mark.parametrize(
    "path", ["", "$", "a..b", "a[x]", "a[0", ".a", "a.", "a b]", "a[0]b", "$a"]
)
def test_parse_json_path_rejects(path):
    with pytest.raises(_smoke.SmokeConfigError):
        _smoke.parse_json_path(path)


def test_json_lookup_and_strict_equality():
    doc = {"items": [{"id": 7}], "ok": True, "n": 1, "code": "200"}
    assert _smoke.json_lookup(doc, ["items", 0, "id"]) == 7
    assert _smoke.json_lookup(doc, ["items", 1, "id"]) is _smoke._MISSING
    assert _smoke.json_lookup(doc, ["ok", "x"]) is _smoke._MISSING
    assert (
        _smoke.json_equal(True, True)
        and not _smoke.json_equal(True, 1)
        and not _smoke.json_equal(1, True)
    )
    assert _smoke.json_equal(1, 1.0) and not _smoke.json_equal("200", 200)
    assert _smoke.json_equal({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]})
    assert not _smoke.json_equal({"a": [1]}, {"a": [1, 2]})


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://Todo.Example.com", "https://todo.example.com/", True),
        ("https://todo.example.com:443/", "https://todo.example.com/", True),
        ("http://todo.example.com:80/x?y=1", "http://todo.example.com/x?y=1", True),
        ("http://todo.example.com/", "https://todo.example.com/", False),
        ("https://todo.example.com/a", "https://todo.example.com/a/", False),
        ("https://todo.example.com:8443/", "https://todo.example.com/", False),
    ],
)
def test_normalize_url_for_redirect_comparison(a, b, same):
    assert (_smoke.normalize_url(a) == _smoke.normalize_url(b)) is same


def test_percentile_is_nearest_rank():
    values = list(range(1, 21))  # 1..20
    assert _probe.percentile(values, 0.95) == 19
    assert _probe.percentile(values, 0.50) == 10
    assert _probe.percentile([7.0], 0.95) == 7.0
    assert _probe.percentile([5, 1, 9], 0.5) == 5


# --- retries ----------------------------------------------------------------------------------


def test_backoff_doubles_up_to_cap():
    delays = _probe.backoff_delays(1.0, rng=lambda: 0.5)  # jitter midpoint = no jitter
    assert list(itertools.islice(delays, 6)) == [1, 2, 4, 8, 10, 10]
    big = _probe.backoff_delays(15.0, rng=lambda: 0.5)
    assert list(itertools.islice(big, 2)) == [15, 15]
    jittered = _probe.backoff_delays(1.0, rng=lambda: 1.0)
    assert next(jittered) == pytest.approx(1.1)


class _FakeTime:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def _check(**over):
    check = dict(_smoke.CHECK_DEFAULTS, name="c", url="http://h/", https=False)
    check.update(over)
    return check


def _scripted(monkeypatch, outcomes, fake, seconds_per_attempt=0.0):
    calls = []

    def attempt(check, ctx, now=None):
        calls.append(fake.now)
        fake.now += seconds_per_attempt
        result = _probe.Attempt()
        result.error = outcomes[min(len(calls), len(outcomes)) - 1]
        result.status = 200 if result.error is None else 503
        result.latencies = [12.0]
        return result

    monkeypatch.setattr(_probe, "attempt", attempt)
    monkeypatch.setattr(_probe.random, "random", lambda: 0.5)
    return calls


def test_retries_until_deadline_then_reports_last_error(monkeypatch):
    fake = _FakeTime()
    calls = _scripted(monkeypatch, ["first", "second", "third", "fourth", "fifth"], fake)
    result = _probe.run_check(
        _check(deadline=10.0, retry_delay=1.0), None, clock=fake.clock, sleep=fake.sleep
    )
    assert fake.sleeps == [1.0, 2.0, 4.0, 3.0]  # the last wait is cut to the deadline
    assert calls == [0.0, 1.0, 3.0, 7.0, 10.0]  # an attempt still happens at the deadline
    assert result["attempts"] == 5
    assert result["passed"] is False
    assert result["error"] == "fifth"


def test_passes_as_soon_as_an_attempt_passes(monkeypatch):
    fake = _FakeTime()
    _scripted(monkeypatch, ["down", "down", None], fake)
    result = _probe.run_check(
        _check(deadline=60.0, retry_delay=0.5), None, clock=fake.clock, sleep=fake.sleep
    )
    assert result["passed"] and result["attempts"] == 3 and result["error"] is None
    assert fake.sleeps == [0.5, 1.0]


def test_deadline_zero_means_one_attempt(monkeypatch):
    fake = _FakeTime()
    _scripted(monkeypatch, ["down"], fake)
    result = _probe.run_check(_check(deadline=0.0), None, clock=fake.clock, sleep=fake.sleep)
    assert result["attempts"] == 1 and fake.sleeps == []


def test_no_attempt_starts_after_the_deadline(monkeypatch):
    fake = _FakeTime()
    calls = _scripted(monkeypatch, ["slow failure"], fake, seconds_per_attempt=4.0)
    result = _probe.run_check(
        _check(deadline=5.0, retry_delay=1.0), None, clock=fake.clock, sleep=fake.sleep
    )
    assert calls == [0.0, 5.0]  # 0-4 s, wait 1 s, 5-9 s, then stop
    assert result["attempts"] == 2


# --- input ------------------------------------------------------------------------------------


def test_resolve_checks_merges_defaults():
    defaults = {
        "timeout": 3.0,
        "headers": {"Accept": "application/json", "authorization": "x"},
        "secret_headers": ["X-Team-Token"],
        "status_code": [200, 204],
    }
    checks = [
        {
            "url": "https://a.example/",
            "headers": {"Authorization": "y", "X-Trace": 1},
            "secret_headers": ["x-other"],
            "timeout": None,
        },
        {"url": "http://b.example/", "name": "b", "status_code": [503], "timeout": 9.5},
    ]
    a, b = _smoke.resolve_checks(checks, defaults)
    assert a["name"] == "https://a.example/" and a["https"] and not b["https"]
    assert a["timeout"] == 3.0 and b["timeout"] == 9.5
    assert a["headers"] == {"Accept": "application/json", "Authorization": "y", "X-Trace": "1"}
    assert a["secret_names"] >= {"authorization", "cookie", "x-team-token", "x-other"}
    assert "x-other" not in b["secret_names"] and "x-team-token" in b["secret_names"]
    assert a["status_code"] == [200, 204] and b["status_code"] == [503]
    assert a["method"] == "GET" and a["redirect_status"] == [301, 308] and a["deadline"] == 30.0


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ({"url": "ftp://h/"}, "is not an absolute http:// or https:// URL"),
        ({"url": "https://user:pw@h/"}, "must not carry credentials"),
        ({"url": "https://h:99999/"}, "has an invalid port"),
        ({"url": "https://h/ä"}, "percent-encode non-ASCII"),
        (
            {"url": "https://h/", "method": "DELETE"},
            "method DELETE is not one of GET, HEAD, OPTIONS",
        ),
        ({"url": "https://h/", "body_regex": "("}, "body_regex is not a valid regular expression"),
        (
            {"url": "https://h/", "headers": {"X-A": "a\nb"}},
            "header 'X-A' has an invalid name or value",
        ),
        (
            {"url": "https://h/", "headers": {"Bad Name": "a"}},
            "header 'Bad Name' has an invalid name",
        ),
        ({"url": "https://h/", "status_code": [42]}, "status_code 42 is not an HTTP status code"),
        ({"url": "https://h/", "samples": 0}, "samples must be at least 1"),
        (
            {"url": "https://h/", "expect_redirect_to": "/relative"},
            "expect_redirect_to '/relative' is not",
        ),
        (
            {"url": "https://h/", "ca_path": "/nonexistent/ca.pem"},
            "ca_path /nonexistent/ca.pem does not exist",
        ),
        (
            {"url": "https://h/", "body_json": [{"path": "a", "exists": False, "equals": 1}]},
            "cannot both be absent",
        ),
        (
            {"url": "https://h/", "body_json": [{"path": "a..b", "exists": True}]},
            "invalid JSON path",
        ),
    ],
)
def test_resolve_checks_rejects_bad_input_naming_the_check(check, message):
    with pytest.raises(_smoke.SmokeConfigError) as err:
        _smoke.resolve_checks([{"url": "http://ok/"}, dict(check, name="bad one")], {})
    assert str(err.value).startswith("checks[1] (bad one)")
    assert message in str(err.value)


def test_https_checks_need_cryptography(monkeypatch):
    monkeypatch.setattr(_smoke, "HAS_CRYPTOGRAPHY", False)
    assert _smoke.resolve_checks([{"url": "http://h/"}], {})[0]["https"] is False
    with pytest.raises(_smoke.SmokeConfigError) as err:
        _smoke.resolve_checks([{"url": "http://h/"}, {"url": "https://h/", "name": "tls"}], {})
    assert str(err.value).startswith(
        "checks[1] (tls): Failed to import the required Python library (cryptography)"
    )


def test_secret_header_values_from_raw_and_validated_params():
    params = {
        "defaults": {
            "headers": {"X-Api-Key": "k1", "Accept": "text/html"},
            "secret_headers": ["X-Team"],
        },
        "checks": [
            {
                "url": "u",
                "headers": {"authorization": "Bearer a", "X-Team": "t1", "X-Mine": "m1"},
                "secret_headers": ["x-mine"],
            },
            {"url": "u", "headers": "Cookie=c1,X-Plain=p"},  # the key=value string form
            "not a dict",
            {"url": "u", "headers": None},
        ],
    }
    assert _smoke.secret_header_values(params) == {"k1", "Bearer a", "t1", "m1", "c1"}
    assert _smoke.secret_header_values({"checks": "garbage", "defaults": 3}) == set()


def test_redact_nested():
    out = _smoke.redact(
        {"a": ["x Bearer tok y", 3, None], "b": {"c": "tok"}}, {"Bearer tok", "tok"}
    )
    assert out == {"a": ["x ******** y", 3, None], "b": {"c": "********"}}


def test_summary_and_failure_message():
    results = [
        {
            "name": "h",
            "url": "https://h/",
            "passed": True,
            "error": None,
            "attempts": 1,
            "elapsed_ms": 10,
        },
        {
            "name": "https://r/",
            "url": "https://r/",
            "passed": False,
            "error": "boom",
            "attempts": 1,
            "elapsed_ms": 20,
        },
        {
            "name": "x",
            "url": "https://x/",
            "passed": False,
            "error": "bang",
            "attempts": 3,
            "elapsed_ms": 2500,
        },
    ]
    summary, failure = _probe.summarize(results, 2.54)
    assert summary == "1 of 3 smoke checks passed in 2.5 s; failed: https://r/, x"
    assert failure == (
        "2 of 3 smoke checks failed: https://r/: boom [1 attempt in 0.0 s]; "
        "x (https://x/): bang [3 attempts in 2.5 s]"
    )
    assert _probe.summarize(results[:1], 0.01) == ("1 of 1 smoke check passed in 0.0 s", None)
