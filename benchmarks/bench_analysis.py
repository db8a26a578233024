"""Benchmark: what the release analysis phase costs over its own waiting.

The analysis (helm_release `analysis`, plugins/module_utils/_analysis.py) waits `interval`
seconds `count` times and sends two instant queries per sample. Its goal from issue 16: wall
time = interval x count plus at most 1 s, and a known number of Prometheus queries per release.
Measured against the bed's real Prometheus on loopback (tests/prometheus_support.py), scraping an
exporter every second, in the same run:

  baseline      interval x count: the waiting the phase is made of
  analysis      Analysis.validate() + run() with the default queries, healthy samples
  overhead      analysis - baseline (the queries and the judging)
  per query     the median latency of one instant query, measured directly

Usage (from the repository root, after `make toolchain`):
    .tools/venv/bin/python benchmarks/bench_analysis.py \
        [--runs 3] [--write docs/benchmarks/analysis.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / ".tools" / "collections"))

from ansible_collections.hackathon_todo.deploy.plugins.module_utils import (  # noqa: E402
    _analysis,
)

from tests.prometheus_support import Exporter, Prometheus, prometheus_binary  # noqa: E402

SHAPES = ((1.0, 3), (2.0, 3), (1.0, 6))  # (interval s, count)


def options(interval: float, count: int, url: str) -> dict:
    return {
        "enabled": True,
        "url": url,
        "service": "",
        "interval": interval,
        "count": count,
        "window": "5s",
        "failure_limit": 0,
        "inconclusive_limit": 0,
        "on_inconclusive": "rollback",
        "dry_run": False,
        "queries": [],
    }


def one(url: str, interval: float, count: int) -> tuple[float, int, str]:
    a = options(interval, count, url)
    run = _analysis.Analysis(a, _analysis.url_transport(url), {"namespace": "production"})
    t0 = time.monotonic()
    run.validate()
    result = run.run()
    return time.monotonic() - t0, result["queries_sent"], result["status"]


def query_ms(url: str, samples: int = 20) -> list[float]:
    get = _analysis.url_transport(url)
    promql = _analysis.expand(
        _analysis.DEFAULT_QUERIES[0]["query"], {"namespace": "production", "window": "5s"}
    )
    out = []
    for _sample in range(samples):
        t0 = time.monotonic()
        _analysis.instant_query(get, promql)
        out.append((time.monotonic() - t0) * 1000)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write", help="also write the results as Markdown to this file")
    args = ap.parse_args()

    exporter = Exporter()
    prom = Prometheus(prometheus_binary(), exporter)
    try:
        prom.wait_for('rate(http_requests_total{namespace="production"}[5s]) > 0')
        rows = []
        for interval, count in SHAPES:
            walls, sent = [], set()
            for _run in range(args.runs):
                wall, queries, status = one(prom.url, interval, count)
                assert status == "passed", status
                walls.append(wall)
                sent.add(queries)
            base = interval * count
            med = statistics.median(walls)
            rows.append((interval, count, base, min(walls), med, max(walls), med - base, sent))
        q = query_ms(prom.url)
    finally:
        prom.stop()
        exporter.close()

    load = os.getloadavg()
    lines = [
        f"Release analysis cost, {datetime.date.today()}, {platform.node()}, "
        f"{os.cpu_count()} CPUs, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"{args.runs} runs per shape; Prometheus on loopback, two default queries.",
        "",
        "| interval x count | baseline (s) | analysis min / median / max (s) | overhead (s) "
        "| ratio | queries per release |",
        "|---|---|---|---|---|---|",
    ]
    for interval, count, base, lo, med, hi, over, sent in rows:
        lines.append(
            f"| {interval:g} s x {count} | {base:.2f} | {lo:.2f} / {med:.2f} / {hi:.2f} "
            f"| {over:.3f} | {med / base:.3f} | {', '.join(str(s) for s in sorted(sent))} |"
        )
    lines += [
        "",
        f"One instant query: median {statistics.median(q):.1f} ms "
        f"(min {min(q):.1f}, max {max(q):.1f}, {len(q)} queries).",
        "Goal (issue 16): overhead <= 1 s; queries per release = 2 (validation) + 2 x count.",
        "Met: " + ("yes" if all(r[6] <= 1.0 for r in rows) else "NO"),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        pathlib.Path(args.write).write_text("# Benchmark: release analysis\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
