"""The one-question DNS client smoke_check's dns_server option uses (module_utils/_dns.py).

The wire format is checked here against answers laid out byte by byte as RFC 1035 gives them
(name compression included); the client against a real server (CoreDNS) is exercised by the
real-node integration tests, where smoke checks resolve Service names through cluster DNS.
"""

from __future__ import annotations

import socket
import struct

import pytest

from plugins.module_utils._dns import DnsError, build_query, parse_answer, resolve_a


def _answer(query_id, rcode=0, addresses=(), cname=False):
    question = build_query("backend.staging.svc.cluster.local", query_id)[12:]
    records = b""
    count = 0
    if cname:  # a CNAME first, pointing back at the question's name (compression pointer)
        target = b"\x03api\xc0\x0c"
        records += b"\xc0\x0c" + struct.pack(">HHIH", 5, 1, 30, len(target)) + target
        count += 1
    for addr in addresses:
        records += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 30, 4) + socket.inet_aton(addr)
        count += 1
    header = struct.pack(">HHHHHH", query_id, 0x8180 | rcode, 1, count, 0, 0)
    return header + question + records


def test_query_is_one_recursive_a_question():
    q = build_query("todo.test.", 7)
    assert struct.unpack(">HHHHHH", q[:12]) == (7, 0x0100, 1, 0, 0, 0)
    assert q[12:] == b"\x04todo\x04test\x00" + struct.pack(">HH", 1, 1)


def test_addresses_after_compressed_names_and_other_records():
    assert parse_answer(_answer(9, addresses=["10.96.0.20", "10.96.0.21"], cname=True), 9) == [
        "10.96.0.20",
        "10.96.0.21",
    ]


@pytest.mark.parametrize(("rcode", "word"), [(3, "NXDOMAIN"), (2, "SERVFAIL"), (5, "REFUSED")])
def test_error_codes_by_name(rcode, word):
    with pytest.raises(DnsError, match=word):
        parse_answer(_answer(1, rcode=rcode), 1)


def test_an_answer_to_another_question_is_refused():
    with pytest.raises(DnsError, match="another question"):
        parse_answer(_answer(1, addresses=["10.0.0.1"]), 2)


def test_bad_names_are_refused_before_sending():
    with pytest.raises(DnsError, match="not a DNS name"):
        build_query("a" * 64 + ".test", 1)


def test_silent_server_times_out_with_its_address():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:
        quiet.bind(("127.0.0.1", 0))  # receives, never answers
        with pytest.raises(DnsError, match=r"no answer from the DNS server 127\.0\.0\.1"):
            resolve_a("todo.test", "127.0.0.1", timeout=0.3, port=quiet.getsockname()[1])
