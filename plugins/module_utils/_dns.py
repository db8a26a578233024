# -*- coding: utf-8 -*-
# Copyright: contributors to hackathon_todo.deploy
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ask one named DNS server for a host's IPv4 address (RFC 1035, UDP, one question).

Used where the system resolver is the wrong one to ask: a new record checked at the zone's own
name servers before resolvers cache its absence, or a cluster's names asked of its cluster DNS.
Standard library only; no recursion of our own (the server is asked to recurse).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import socket
import struct

RCODES = {1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


class DnsError(Exception):
    pass


def build_query(name, query_id):
    """A standard query (RD set) for the A records of `name`."""
    labels = [p for p in name.rstrip(".").split(".") if p]
    if not labels or any(len(p) > 63 for p in labels):
        raise DnsError("%r is not a DNS name" % name)
    qname = b"".join(struct.pack("B", len(p)) + p.encode("idna") for p in labels) + b"\0"
    return struct.pack(">HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1)


def _skip_name(data, pos):
    while True:
        if pos >= len(data):
            raise DnsError("truncated answer")
        length = data[pos]
        if length & 0xC0 == 0xC0:  # a compression pointer ends the name
            return pos + 2
        if length == 0:
            return pos + 1
        pos += 1 + length


def parse_answer(data, query_id):
    """The IPv4 addresses in a response to query `query_id`; DnsError for an error response."""
    if len(data) < 12:
        raise DnsError("answer too short")
    rid, flags, qdcount, ancount = struct.unpack(">HHHH", data[:8])
    if rid != query_id:
        raise DnsError("answer to another question (id %d, not %d)" % (rid, query_id))
    rcode = flags & 0x0F
    if rcode:
        raise DnsError(RCODES.get(rcode, "rcode %d" % rcode))
    pos = 12
    for _question in range(qdcount):
        pos = _skip_name(data, pos) + 4
    found = []
    for _answer in range(ancount):
        pos = _skip_name(data, pos)
        rtype, rclass, _ttl, rdlen = struct.unpack(">HHIH", data[pos : pos + 10])
        pos += 10
        if rtype == 1 and rclass == 1 and rdlen == 4:
            found.append(socket.inet_ntoa(data[pos : pos + 4]))
        pos += rdlen
    return found


def resolve_a(name, server, timeout=5.0, port=53):
    """The first IPv4 address `server` gives for `name`; DnsError saying what went wrong."""
    query_id = random.SystemRandom().randint(0, 0xFFFF)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.settimeout(timeout)
        try:
            sock.sendto(build_query(name, query_id), (server, port))
            data = sock.recv(4096)
        except socket.timeout:
            raise DnsError(
                "no answer from the DNS server %s within %gs" % (server, timeout)
            ) from None
        except OSError as exc:
            raise DnsError(
                "cannot ask the DNS server %s: %s" % (server, exc.strerror or exc)
            ) from None
    finally:
        sock.close()
    try:
        found = parse_answer(data, query_id)
    except DnsError as exc:
        if str(exc) == "NXDOMAIN":
            raise DnsError(
                "the DNS server %s says %s does not exist (NXDOMAIN)" % (server, name)
            ) from None
        raise DnsError("the DNS server %s answered for %s: %s" % (server, name, exc)) from None
    if not found:
        raise DnsError("the DNS server %s has no A record for %s" % (server, name))
    return found[0]
