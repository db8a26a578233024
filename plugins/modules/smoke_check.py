#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: smoke_check
short_description: Prove that HTTP(S) endpoints serve users (status, body, TLS, redirects, latency)
version_added: 0.1.0
description:
  - Runs a list of HTTP(S) checks concurrently and reports per check whether it passed, and why not.
    The whole call takes about as long as the slowest check, not the sum of all checks.
  - A check can assert the status code, the body (substring, regular expression, JSON paths),
    a redirect and its target, the TLS certificate (trust, host name coverage, days left, issuer)
    and a latency budget on the p95 of several samples.
  - A failing check is retried with backoff until its O(checks[].deadline), so DNS and certificate
    propagation after a deploy are ridden out. A check that never passes reports its last error
    and the number of attempts.
  - Only read-only requests (V(GET), V(HEAD), V(OPTIONS)) are sent. The module never reports
    C(changed) and does the same in check mode.
  - Values of secret headers are never returned or logged.
author:
  - hackathon-todo platform team (@hackathon-todo)
requirements:
  - cryptography (the Python library; reads the server certificate of V(https://) checks)
extends_documentation_fragment:
  - hackathon_todo.deploy.attributes
attributes:
  check_mode:
    support: full
    details:
      - The module only reads, so check mode sends the same requests and reports the same result.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Never changes anything; the result reflects the endpoints at the time of the call.
notes:
  - Redirects are never followed. A redirect answer is judged by O(checks[].status_code), or by
    O(checks[].expect_redirect_to) and O(checks[].redirect_status); its target is returned in
    RV(checks[].redirect_location). Check the target with a check of its own.
  - Every sample uses a new connection, so RV(checks[].latency_ms) covers DNS, connect, the TLS
    handshake and the whole body (what a new visitor waits for). Samples of one check run one
    after the other; checks run concurrently.
  - When a certificate fails verification, the module reads it through a second handshake that
    verifies nothing, so the error can say what is wrong (expired since when, which host names it
    covers, who issued it). That handshake is only used for the report, never to pass a check.
  - Proxy environment variables (C(HTTPS_PROXY) and the like) are not used; the module connects
    to the endpoints directly. O(checks[].connect_to) connects to a given address instead of the
    one DNS returns.
seealso:
  - module: ansible.builtin.uri
    description: One request per task, without certificate or redirect assertions.
options:
  checks:
    description:
      - The checks to run. Options left unset take their value from O(defaults).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Label of the check in the result and in failure messages. Defaults to O(checks[].url).
        type: str
      url:
        description:
          - Absolute V(http://) or V(https://) URL to request. Credentials in the URL are refused;
            send them in O(checks[].headers).
        type: str
        required: true
      method:
        description:
          - HTTP method. Only read-only methods are offered, so smoke checks never change anything.
          - Defaults to O(defaults.method).
        type: str
        choices: [GET, HEAD, OPTIONS]
      headers:
        description:
          - Request headers, merged over O(defaults.headers) (a header set here replaces the default
            of the same name).
          - The values of V(Authorization), V(Proxy-Authorization), V(Cookie), V(X-Api-Key) and of
            every header named in O(checks[].secret_headers) are secrets. They are masked in the
            module's invocation, its result and its log, wherever they would appear.
        type: dict
      secret_headers:
        description:
          - More header names (case-insensitive) whose values are secrets, in addition to
            V(Authorization), V(Proxy-Authorization), V(Cookie) and V(X-Api-Key).
          - Added to O(defaults.secret_headers), never replacing them.
        type: list
        elements: str
      status_code:
        description:
          - Status codes that count as success. Ignored when O(checks[].expect_redirect_to) is set.
          - Defaults to O(defaults.status_code).
        type: list
        elements: int
      body_contains:
        description:
          - Strings that must all appear in the response body (the first MiB of it).
          - Defaults to O(defaults.body_contains).
        type: list
        elements: str
      body_regex:
        description:
          - Python regular expression that must match somewhere in the response body.
          - Defaults to O(defaults.body_regex).
        type: str
      body_json:
        description:
          - Assertions on the body parsed as JSON. Each names a path and either a value the path
            must equal or whether it must exist.
          - Defaults to O(defaults.body_json).
        type: list
        elements: dict
        suboptions:
          path:
            description:
              - Keys separated by dots, V([N]) for list items, for example V(checks.db.status) or
                V(items[0].id). A leading V($.) is accepted.
            type: str
            required: true
          equals:
            description:
              - Value the path must equal, compared as JSON (V(true) is not V(1), V("200") is
                not V(200)).
            type: raw
          exists:
            description:
              - V(true) to require the path, V(false) to require its absence (then
                O(checks[].body_json[].equals) must be unset).
            type: bool
            default: true
      timeout:
        description:
          - Seconds one request may take (connect, TLS handshake, response and body).
          - Defaults to O(defaults.timeout).
        type: float
      expect_redirect_to:
        description:
          - The check passes only when the answer is a redirect with a status in
            O(checks[].redirect_status) and a C(Location) that resolves to this URL.
            Scheme and host case, a default port and an empty path do not matter.
        type: str
      redirect_status:
        description:
          - Redirect status codes accepted with O(checks[].expect_redirect_to). The default accepts
            only permanent redirects, so a V(302) fails.
          - Defaults to O(defaults.redirect_status).
        type: list
        elements: int
      validate_certs:
        description:
          - Verify the server certificate (trust, validity, host name coverage by its SANs).
          - With V(false) nothing is verified, but O(checks[].min_cert_days) and
            O(checks[].cert_issuer_contains) still apply when set.
          - Defaults to O(defaults.validate_certs).
        type: bool
      ca_path:
        description:
          - CA bundle file (or OpenSSL hashed directory) to verify against instead of the system
            trust store.
          - Defaults to O(defaults.ca_path).
        type: path
      min_cert_days:
        description:
          - Fail when the certificate expires in fewer than this many whole days.
          - Defaults to O(defaults.min_cert_days).
        type: int
      cert_issuer_contains:
        description:
          - Text that must appear in the certificate issuer (case-insensitive), for example
            V(Let's Encrypt). The issuer is written like V(C=US, O=Let's Encrypt, CN=R11).
          - Defaults to O(defaults.cert_issuer_contains).
        type: str
      latency_ms:
        description:
          - Budget in milliseconds for the p95 of the O(checks[].samples) request latencies.
          - Defaults to O(defaults.latency_ms).
        type: int
      samples:
        description:
          - Requests per attempt, one after the other; every one must pass the assertions. Use
            several with O(checks[].latency_ms).
          - Defaults to O(defaults.samples).
        type: int
      deadline:
        description:
          - Seconds after which no new attempt starts; the check then fails with its last error.
            An attempt in flight finishes (each of its requests is bounded by O(checks[].timeout)).
            V(0) makes a single attempt.
          - Defaults to O(defaults.deadline).
        type: float
      retry_delay:
        description:
          - Seconds to wait after the first failed attempt. The wait doubles after each further
            failure, up to 10 seconds (or this value if it is larger), with 10% jitter.
          - Defaults to O(defaults.retry_delay).
        type: float
      connect_to:
        description:
          - Connect to this address (IP or host name) instead of the one DNS returns for the URL's
            host. The C(Host) header, TLS SNI and the certificate check still use the URL's host,
            like C(curl --connect-to). Useful to check a new load balancer before DNS points at it.
          - Defaults to O(defaults.connect_to).
        type: str
      dns_server:
        description:
          - Resolve the host name (of O(checks[].connect_to), or of the URL) by asking this DNS
            server (an IPv4 address) instead of the system resolver, like C(curl --dns-servers).
            Useful to check a new record at the zone's own name servers before resolvers cache
            its absence, or a cluster's names through its cluster DNS.
          - Defaults to O(defaults.dns_server).
        type: str
  defaults:
    description:
      - Values for every check that does not set the option itself. Same meaning as the options of
        O(checks) with the same name.
    type: dict
    suboptions:
      method:
        description: Default for O(checks[].method).
        type: str
        choices: [GET, HEAD, OPTIONS]
        default: GET
      headers:
        description: Default for O(checks[].headers). Secret values are handled the same way.
        type: dict
      secret_headers:
        description: Default for O(checks[].secret_headers).
        type: list
        elements: str
      status_code:
        description: Default for O(checks[].status_code).
        type: list
        elements: int
        default: [200]
      body_contains:
        description: Default for O(checks[].body_contains).
        type: list
        elements: str
      body_regex:
        description: Default for O(checks[].body_regex).
        type: str
      body_json:
        description: Default for O(checks[].body_json).
        type: list
        elements: dict
        suboptions:
          path:
            description: See O(checks[].body_json[].path).
            type: str
            required: true
          equals:
            description: See O(checks[].body_json[].equals).
            type: raw
          exists:
            description: See O(checks[].body_json[].exists).
            type: bool
            default: true
      timeout:
        description: Default for O(checks[].timeout).
        type: float
        default: 10
      expect_redirect_to:
        description: Default for O(checks[].expect_redirect_to).
        type: str
      redirect_status:
        description: Default for O(checks[].redirect_status).
        type: list
        elements: int
        default: [301, 308]
      validate_certs:
        description: Default for O(checks[].validate_certs).
        type: bool
        default: true
      ca_path:
        description: Default for O(checks[].ca_path). Unset means the system trust store.
        type: path
      min_cert_days:
        description: Default for O(checks[].min_cert_days). V(0) only requires a valid certificate.
        type: int
        default: 0
      cert_issuer_contains:
        description: Default for O(checks[].cert_issuer_contains).
        type: str
      latency_ms:
        description: Default for O(checks[].latency_ms). Unset means no latency budget.
        type: int
      samples:
        description: Default for O(checks[].samples).
        type: int
        default: 1
      deadline:
        description: Default for O(checks[].deadline).
        type: float
        default: 30
      retry_delay:
        description: Default for O(checks[].retry_delay).
        type: float
        default: 1
      connect_to:
        description: Default for O(checks[].connect_to).
        type: str
      dns_server:
        description: Default for O(checks[].dns_server).
        type: str
  concurrency:
    description:
      - How many checks run at the same time.
    type: int
    default: 32
"""

EXAMPLES = r"""
# The seed's release checks as one task, for production and staging. DOMAIN is the app's domain.
- name: Smoke-check todo.<DOMAIN> and staging.todo.<DOMAIN>
  hackathon_todo.deploy.smoke_check:
    defaults:
      deadline: 300                       # ride out DNS and certificate propagation
      min_cert_days: 14
      cert_issuer_contains: Let's Encrypt
    checks:
      - name: production health
        url: "https://todo.{{ domain }}/api/health"
      - name: production redirects HTTP to HTTPS
        url: "http://todo.{{ domain }}/"
        expect_redirect_to: "https://todo.{{ domain }}/"
      - name: staging health
        url: "https://staging.todo.{{ domain }}/api/health"
      - name: staging redirects HTTP to HTTPS
        url: "http://staging.todo.{{ domain }}/"
        expect_redirect_to: "https://staging.todo.{{ domain }}/"
  register: smoke

- name: Show what was checked
  ansible.builtin.debug:
    msg: "{{ smoke.summary }}"

# Body assertions, a latency budget and an API key that never shows up in output or logs.
- name: Check the API in depth
  hackathon_todo.deploy.smoke_check:
    checks:
      - name: health reports a healthy database
        url: "https://todo.{{ domain }}/api/health"
        body_json:
          - path: status
            equals: ok
          - path: checks.database.ok
            equals: true
          - path: error
            exists: false
      - name: task list answers fast
        url: "https://todo.{{ domain }}/api/tasks?limit=1"
        headers:
          X-Api-Key: "{{ todo_api_key }}"
          Accept: application/json
        latency_ms: 300
        samples: 10
      - name: front page
        url: "https://todo.{{ domain }}/"
        body_regex: "<title>[^<]*Todo"

# Before switching DNS: check the new load balancer under the real host name and certificate.
- name: Check the new ingress load balancer directly
  hackathon_todo.deploy.smoke_check:
    defaults:
      connect_to: "{{ new_lb_ip }}"
      deadline: 120
    checks:
      - url: "https://todo.{{ domain }}/api/health"
      - url: "http://todo.{{ domain }}/"
        expect_redirect_to: "https://todo.{{ domain }}/"

# An internal endpoint with a private CA, and one check that tolerates a temporary redirect.
- name: Check internal endpoints
  hackathon_todo.deploy.smoke_check:
    defaults:
      ca_path: /etc/pki/internal-ca.pem
      timeout: 5
      deadline: 0                         # a single attempt
    checks:
      - url: https://grafana.internal.example/api/health
      - url: https://auth.internal.example/login
        expect_redirect_to: https://auth.internal.example/login/
        redirect_status: [301, 302, 307, 308]
"""

RETURN = r"""
checks:
  description: One entry per check, in the order of O(checks).
  returned: when the checks ran
  type: list
  elements: dict
  contains:
    name:
      description: The check's O(checks[].name) (or its URL).
      returned: always
      type: str
      sample: production health
    url:
      description: The URL requested.
      returned: always
      type: str
      sample: https://todo.example.com/api/health
    passed:
      description: Whether the check passed within its deadline.
      returned: always
      type: bool
      sample: true
    status:
      description: HTTP status of the last response, V(null) when none was received.
      returned: always
      type: int
      sample: 200
    latency_ms:
      description: Latency of the last attempt's samples, V(null) when no request completed.
      returned: always
      type: dict
      contains:
        p50:
          description: Median, in milliseconds.
          type: float
          returned: always
          sample: 41.7
        p95:
          description: 95th percentile (nearest rank), in milliseconds.
          type: float
          returned: always
          sample: 63.2
    attempts:
      description: Attempts made, including the last one.
      returned: always
      type: int
      sample: 1
    elapsed_ms:
      description: Wall time of the check including retries, in milliseconds.
      returned: always
      type: float
      sample: 84.1
    cert_not_after:
      description:
        - End of the server certificate's validity (UTC, ISO 8601), also when it failed
          verification. V(null) for V(http://) URLs or when no certificate was received.
      returned: always
      type: str
      sample: "2026-02-19T08:14:02Z"
    cert_days_left:
      description: Whole days until RV(checks[].cert_not_after); negative once expired.
      returned: always
      type: int
      sample: 61
    issuer:
      description: Issuer of the server certificate, V(null) when there is none.
      returned: always
      type: str
      sample: C=US, O=Let's Encrypt, CN=R11
    redirect_location:
      description: The C(Location) of the last response resolved against its URL, V(null) if absent.
      returned: always
      type: str
      sample: https://todo.example.com/
    error:
      description: Why the check failed (its last attempt's error); V(null) when it passed.
      returned: always
      type: str
      sample: >-
        certificate does not cover host todo.example.com (SANs: DNS:staging.todo.example.com)
summary:
  description: One line saying how many checks passed, how long it took and which failed.
  returned: when the checks ran
  type: str
  sample: "3 of 4 smoke checks passed in 1.2 s; failed: staging health"
elapsed_ms:
  description: Wall time of all checks together, in milliseconds (Ansible's own overhead excluded).
  returned: when the checks ran
  type: float
  sample: 1210.4
"""

import copy

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._probe import (
    run_checks,
    summarize,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._smoke import (
    CHECK_DEFAULTS,
    SecretHeadersModule,
    SmokeConfigError,
    redact,
    resolve_checks,
)

# The per-check options without their defaults: those are CHECK_DEFAULTS, the values
# resolve_checks fills in (DOCUMENTATION repeats them under `defaults`; ansible-test's
# validate-modules and the unit tests keep the two equal).
CHECK_OPTIONS = dict(
    method=dict(type="str", choices=["GET", "HEAD", "OPTIONS"]),
    headers=dict(type="dict"),
    secret_headers=dict(type="list", elements="str", no_log=False),
    status_code=dict(type="list", elements="int"),
    body_contains=dict(type="list", elements="str"),
    body_regex=dict(type="str"),
    body_json=dict(
        type="list",
        elements="dict",
        options=dict(
            path=dict(type="str", required=True),
            equals=dict(type="raw"),
            exists=dict(type="bool", default=True),
        ),
    ),
    timeout=dict(type="float"),
    expect_redirect_to=dict(type="str"),
    redirect_status=dict(type="list", elements="int"),
    validate_certs=dict(type="bool"),
    ca_path=dict(type="path"),
    min_cert_days=dict(type="int"),
    cert_issuer_contains=dict(type="str"),
    latency_ms=dict(type="int"),
    samples=dict(type="int"),
    deadline=dict(type="float"),
    retry_delay=dict(type="float"),
    connect_to=dict(type="str"),
    dns_server=dict(type="str"),
)


def check_options(for_defaults):
    """Options of one check. `defaults` carries the same ones, defaulting to CHECK_DEFAULTS.

    An empty built-in default (None, [], {}) stays undocumented and unset: a check then inherits
    it through resolve_checks the same way.
    """
    options = copy.deepcopy(CHECK_OPTIONS)
    if not for_defaults:
        options.update(name=dict(type="str"), url=dict(type="str", required=True))
        return options
    for name, spec in options.items():
        if CHECK_DEFAULTS[name] not in (None, [], {}):
            spec["default"] = copy.deepcopy(CHECK_DEFAULTS[name])
    return options


def argument_spec():
    return dict(
        checks=dict(type="list", elements="dict", required=True, options=check_options(False)),
        defaults=dict(type="dict", options=check_options(True), apply_defaults=True),
        concurrency=dict(type="int", default=32),
    )


class SmokeCheckModule(SecretHeadersModule):
    """smoke_check's checks and defaults are top-level options."""


def main():
    module = SmokeCheckModule(argument_spec=argument_spec(), supports_check_mode=True)
    secrets = module.secret_headers()

    if module.params["concurrency"] < 1:
        module.fail_json(msg="concurrency must be at least 1", changed=False)
    try:
        checks = resolve_checks(module.params["checks"], module.params["defaults"])
        results, seconds = run_checks(checks, module.params["concurrency"])
    except SmokeConfigError as exc:
        module.fail_json(msg=redact(str(exc), secrets), changed=False)

    summary, failure = summarize(results, seconds)
    result = redact(
        dict(checks=results, summary=summary, elapsed_ms=round(seconds * 1000.0, 1)), secrets
    )
    if failure:
        module.fail_json(msg=redact(failure, secrets), changed=False, **result)
    module.exit_json(msg=result["summary"], changed=False, **result)


if __name__ == "__main__":
    main()
