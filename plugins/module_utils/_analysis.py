# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Release analysis: after a release is live, ask Prometheus what its users see, and judge it.

Private (the leading underscore): the API may change between minor releases.

A release passes readiness and its smoke checks and can still answer one request in five with a
500 a minute later. The analysis samples PromQL queries (by default the environment's 5xx share
and p95 latency) every `interval` seconds, `count` times, and gives one verdict:

- a sample is `failed` when its value is past the query's threshold, `inconclusive` when there is
  no value (no series, NaN: no requests in the window) or Prometheus did not answer, else
  `passed`;
- a query fails when more than `failure_limit` of its samples failed; otherwise it is
  inconclusive when more than `inconclusive_limit` were inconclusive; otherwise it passed;
- the analysis fails when a query failed, is inconclusive when one is, and passes otherwise. It
  stops as soon as the verdict can no longer change for the better.

No data is never a pass. Prometheus is reached directly (`url`) or through the Kubernetes API
server's service proxy (`service`), with the release's own cluster credentials: no port-forward.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import math
import re
import time

from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode

from ansible.module_utils.urls import open_url

DIRECTIONS = ("above", "below")  # a sample fails when its value is above / below the threshold
ON_INCONCLUSIVE = ("rollback", "fail")
VARIABLES = ("namespace", "release", "window")
SERVICE_RE = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)/([a-z0-9]([-a-z0-9]*[a-z0-9])?):([0-9]+|[a-z][-a-z0-9]*)$"
)

# The queries a release is judged by when the user names none: the environment's share of 5xx
# answers and its p95 latency, over the services that export the request metrics.
DEFAULT_QUERIES = (
    {
        "name": "error_rate",
        # `or vector(0)`: an app that never answered a 5xx exports no 5xx series (the client
        # libraries create a label set when it is first seen), which is 0 errors, not no data.
        # No requests at all still gives no value (the denominator is empty): inconclusive.
        "query": '(sum(rate(http_requests_total{namespace="$namespace", status=~"5.."}[$window]))'
        " or vector(0))\n"
        '/\nsum(rate(http_requests_total{namespace="$namespace"}[$window]))',
        "threshold": 0.05,
        "direction": "above",
    },
    {
        "name": "latency_p95",
        "query": "histogram_quantile(0.95, sum by (le) "
        '(rate(http_request_duration_seconds_bucket{namespace="$namespace"}[$window])))',
        "threshold": 0.5,
        "direction": "above",
    },
)


class PrometheusError(Exception):
    """Prometheus did not give a value: `unreachable` (no answer), `query` (it refused the query:
    a configuration error) or `response` (an answer we cannot read)."""

    def __init__(self, kind, message):
        super(PrometheusError, self).__init__(message)
        self.kind = kind


# -- inputs ----------------------------------------------------------------------------------
def check_options(a):
    """A problem with the analysis options, as a sentence that says what to fix; or None."""
    if bool(a.get("url")) == bool(a.get("service")):
        return "analysis needs exactly one of url (Prometheus's address) or service (namespace/name:port)"
    if a.get("service") and not SERVICE_RE.match(a["service"]):
        return (
            "analysis.service must be namespace/name:port, e.g. "
            "monitoring/monitoring-kube-prometheus-prometheus:9090 (got %r)" % a["service"]
        )
    if a.get("url") and not re.match(r"^https?://[^/\s]+", a["url"]):
        return "analysis.url must be an http:// or https:// URL (got %r)" % a["url"]
    if a["interval"] <= 0 or a["count"] < 1:
        return "analysis.interval must be above 0 seconds and analysis.count at least 1"
    if a["failure_limit"] < 0 or a["inconclusive_limit"] < 0:
        return "analysis.failure_limit and analysis.inconclusive_limit must be 0 or more"
    if a["failure_limit"] >= a["count"]:
        return (
            "analysis.failure_limit (%d) must be below analysis.count (%d), or no number of "
            "failed samples could ever fail the analysis" % (a["failure_limit"], a["count"])
        )
    if a.get("window") and not re.match(r"^[0-9]+(ms|s|m|h)$", a["window"]):
        return (
            "analysis.window must be a Prometheus duration such as 60s or 2m (got %r)" % a["window"]
        )
    names = set()
    for i, q in enumerate(queries_of(a)):
        where = "analysis.queries[%d]" % i
        for key in ("name", "query"):
            if not q.get(key):
                return "%s needs a %s" % (where, key)
        if q["name"] in names:
            return "%s: the name %r is used twice" % (where, q["name"])
        names.add(q["name"])
        if not isinstance(q.get("threshold"), (int, float)) or isinstance(q["threshold"], bool):
            return "%s (%s) needs a numeric threshold" % (where, q["name"])
        if q.get("direction", "above") not in DIRECTIONS:
            return "%s (%s): direction must be above or below" % (where, q["name"])
        unknown = set(re.findall(r"\$([a-z_]+)", q["query"])) - set(VARIABLES)
        if unknown:
            return "%s (%s) uses unknown variables %s; known: %s" % (
                where,
                q["name"],
                ", ".join("$" + v for v in sorted(unknown)),
                ", ".join("$" + v for v in VARIABLES),
            )
    return None


def queries_of(a):
    """The queries to run: the user's, or the defaults."""
    return [
        dict(q, direction=q.get("direction") or "above")
        for q in (a.get("queries") or DEFAULT_QUERIES)
    ]


def window_of(a):
    """The rate window the queries' $window stands for: the option, or the interval."""
    return a.get("window") or "%ds" % max(1, math.ceil(a["interval"]))


def expand(query, variables):
    """$namespace, $release and $window replaced by their values (longest names first, so a
    variable that starts another's name cannot cut it)."""
    for name in sorted(variables, key=len, reverse=True):
        query = query.replace("$" + name, variables[name])
    return query


# -- Prometheus's HTTP API -------------------------------------------------------------------
def url_transport(url, headers=None, validate_certs=True, ca_path=None, timeout=10.0):
    """GET {url}{path}?{params} -> (status, body text), straight to Prometheus."""
    base = url.rstrip("/")

    def get(path, params):
        try:
            resp = open_url(
                "%s%s?%s" % (base, path, urlencode(params)),
                method="GET",
                headers=dict(headers or {}, Accept="application/json"),
                validate_certs=validate_certs,
                ca_path=ca_path,
                timeout=timeout,
            )
            return resp.getcode(), resp.read().decode("utf-8", "replace")
        except HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")
        except (URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PrometheusError("unreachable", "%s: %s" % (base, reason)) from None

    get.where = re.sub(r"//[^/@]*@", "//***@", base)  # no credentials in the report
    return get


def service_transport(kube, service):
    """GET through the API server's service proxy (namespace/name:port), with the credentials of
    the kubeconfig the release uses. Imports the Kubernetes errors lazily: only this path needs
    them."""
    from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kube import (
        KubeError,
        KubeUnreachable,
    )

    m = SERVICE_RE.match(service)
    ns, name, port = m.group(1), m.group(3), m.group(5)
    prefix = "/api/v1/namespaces/%s/services/%s:%s/proxy" % (ns, quote(name), port)

    def get(path, params):
        try:
            return 200, kube.request("GET", prefix + path, query=params, raw=True)
        except KubeError as exc:
            if exc.status in (502, 503) or (exc.status == 404 and "services" in str(exc.body)):
                raise PrometheusError(
                    "unreachable", "the service %s (through the API server): %s" % (service, exc)
                ) from None
            return exc.status, exc.body or ""
        except KubeUnreachable as exc:
            raise PrometheusError("unreachable", "the Kubernetes API server: %s" % exc) from None

    get.where = "service %s (API server proxy)" % service
    return get


def instant_query(get, promql, at=None):
    """[(labels, value)] of an instant query; a scalar answer is one series without labels."""
    params = {"query": promql}
    if at is not None:
        params["time"] = "%.3f" % at
    status, text = get("/api/v1/query", params)
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        if status >= 500 or status in (404, 401, 403):
            raise PrometheusError(
                "unreachable", "HTTP %s from %s: %s" % (status, get.where, text[:200])
            )
        raise PrometheusError(
            "response", "HTTP %s: not a Prometheus answer: %s" % (status, text[:200])
        )
    if doc.get("status") != "success":
        kind = "query" if doc.get("errorType") in ("bad_data", "execution") else "unreachable"
        raise PrometheusError(
            kind, "%s: %s" % (doc.get("errorType") or "HTTP %s" % status, doc.get("error"))
        )
    data = doc.get("data") or {}
    if data.get("resultType") == "scalar":
        return [({}, float(data["result"][1]))]
    if data.get("resultType") != "vector":
        raise PrometheusError(
            "query",
            "the query must give an instant vector or a scalar, not a %s" % data.get("resultType"),
        )
    return [(s.get("metric") or {}, float(s["value"][1])) for s in data.get("result") or []]


# -- judging ---------------------------------------------------------------------------------
def judge_sample(series, threshold, direction):
    """(verdict, value, labels) of one sample: the worst series decides."""
    values = [(v, labels) for labels, v in series if not math.isnan(v)]
    if not values:
        return "inconclusive", None, {}
    pick = max if direction == "above" else min
    value, labels = pick(values, key=lambda vl: vl[0])
    breached = value > threshold if direction == "above" else value < threshold
    return ("failed" if breached else "passed"), value, labels


def query_verdict(samples, failure_limit, inconclusive_limit):
    failed = sum(1 for s in samples if s["verdict"] == "failed")
    unknown = sum(1 for s in samples if s["verdict"] == "inconclusive")
    if failed > failure_limit:
        return "failed"
    if unknown > inconclusive_limit:
        return "inconclusive"
    return "passed"


def overall(verdicts):
    for v in ("failed", "inconclusive"):
        if v in verdicts:
            return v
    return "passed"


def _stamp(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fmt(v):
    if v is None:
        return "—"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return "%.4g" % v


class Analysis(object):
    """One analysis run. `get` is a transport (url_transport / service_transport); `between` is
    called between samples (the release renews its lock there); `sleep` and `clock` are seams
    for the timing."""

    def __init__(self, a, get, variables, between=None, sleep=time.sleep, clock=time.time):
        self.a = a
        self.get = get
        self.variables = dict(variables, window=window_of(a))
        self.between = between or (lambda: None)
        self.sleep = sleep
        self.clock = clock
        self.sent = 0
        self.queries = [
            dict(q, promql=expand(q["query"], self.variables), samples=[]) for q in queries_of(a)
        ]

    def validate(self):
        """Run every query once: a query Prometheus refuses is a configuration error, raised as
        PrometheusError('query'); an unreachable Prometheus raises PrometheusError('unreachable')."""
        for q in self.queries:
            try:
                self.sent += 1
                instant_query(self.get, q["promql"])
            except PrometheusError as exc:
                if exc.kind == "query":
                    raise PrometheusError(
                        "query",
                        "the analysis query %s is refused by Prometheus (%s)" % (q["name"], exc),
                    ) from None
                raise

    def _sample(self, q):
        t = self.clock()
        try:
            self.sent += 1
            series = instant_query(self.get, q["promql"], at=t)
        except PrometheusError as exc:
            return {
                "time": _stamp(t),
                "value": None,
                "threshold": q["threshold"],
                "verdict": "inconclusive",
                "error": str(exc),
            }
        verdict, value, labels = judge_sample(series, q["threshold"], q["direction"])
        sample = {
            "time": _stamp(t),
            "value": value,
            "threshold": q["threshold"],
            "verdict": verdict,
            "error": "",
        }
        if verdict == "inconclusive":
            sample["error"] = (
                "no data: the query returned no series"
                if not series
                else "no data: NaN (no requests in the window?)"
            )
        if labels:
            sample["labels"] = labels
        return sample

    def run(self):
        a = self.a
        start = self.clock()
        for i in range(1, a["count"] + 1):
            self.sleep(max(0.0, start + i * a["interval"] - self.clock()))
            for q in self.queries:
                q["samples"].append(self._sample(q))
            if not a["dry_run"] and self._settled():
                break
            if i < a["count"]:
                self.between()
        return self.result(self.clock() - start)

    def _settled(self):
        """True when the remaining samples cannot change the verdict: a query already failed."""
        return any(
            query_verdict(q["samples"], self.a["failure_limit"], self.a["inconclusive_limit"])
            == "failed"
            for q in self.queries
        )

    def result(self, seconds):
        a = self.a
        queries = []
        for q in self.queries:
            verdict = query_verdict(q["samples"], a["failure_limit"], a["inconclusive_limit"])
            queries.append(
                {
                    "name": q["name"],
                    "query": q["promql"],
                    "threshold": q["threshold"],
                    "direction": q["direction"],
                    "verdict": verdict,
                    "samples": q["samples"],
                }
            )
        status = overall([q["verdict"] for q in queries])
        return {
            "status": status,
            "summary": summary_of(status, queries, a),
            "prometheus": self.get.where,
            "interval_s": a["interval"],
            "count": a["count"],
            "failure_limit": a["failure_limit"],
            "inconclusive_limit": a["inconclusive_limit"],
            "dry_run": a["dry_run"],
            "queries_sent": self.sent,
            "seconds": round(seconds, 1),
            "queries": queries,
        }


def summary_of(status, queries, a):
    """One line: which queries decided, with their worst value against the threshold."""
    parts = []
    for q in queries:
        values = [s["value"] for s in q["samples"] if s["value"] is not None]
        worst = (max if q["direction"] == "above" else min)(values) if values else None
        bad = (
            sum(1 for s in q["samples"] if s["verdict"] == q["verdict"])
            if q["verdict"] != "passed"
            else 0
        )
        parts.append(
            "%s %s (worst %s, threshold %s %s%s)"
            % (
                q["name"],
                q["verdict"],
                _fmt(worst),
                q["direction"],
                _fmt(q["threshold"]),
                ", %d of %d samples %s" % (bad, len(q["samples"]), q["verdict"]) if bad else "",
            )
        )
    return "%s: %s" % (status, "; ".join(parts))


def render_markdown(r):
    """The samples as a Markdown table for the release report."""
    lines = ["", "| analysis query | time | value | threshold | verdict |", "|---|---|---|---|---|"]
    for q in r["queries"]:
        for s in q["samples"]:
            lines.append(
                "| %s | %s | %s | %s %s | %s%s |"
                % (
                    q["name"],
                    s["time"],
                    _fmt(s["value"]),
                    q["direction"],
                    _fmt(q["threshold"]),
                    s["verdict"],
                    (": " + s["error"]).replace("|", "\\|") if s.get("error") else "",
                )
            )
    lines.append("")
    for q in r["queries"]:
        lines.append("- `%s`: `%s`" % (q["name"], " ".join(q["query"].split()).replace("|", "\\|")))
    return lines
