"""release.yml against the bare Helm command it wraps, on the local test bed.

    python benchmarks/bench_release.py [--rounds 3] [--env staging] \
        [--write docs/benchmarks/release.md]

Needs the bed up and bootstrapped (`make testbed-up && ansible-playbook bootstrap.yml`) and a
first release of the environment. Each round:

1. bare Helm: `helm upgrade --install --atomic --wait` of the same packaged chart with the same
   values release.yml used last (its `helm get values`), with a new image tag, so a real rollout
   happens;
2. `ansible-playbook release.yml -e image_tag=<new tag>`: preflight, lock, the same Helm command,
   verify, report (a real rollout too);
3. the same `release.yml` again: a no-op release (nothing to upgrade).

Goals (issue 7): release.yml / bare Helm <= 1.3; no-op release.yml / first release.yml <= 0.3.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ansible_run import run_playbook  # noqa: E402


def sh(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--env", default="staging")
    ap.add_argument("--chart", default=os.environ.get("HTD_CHART_DIR", str(ROOT / "chart")))
    ap.add_argument("--write")
    args = ap.parse_args()
    env = args.env
    name = "todo-app" if env == "production" else f"todo-app-{env}"
    kubeconfig = os.environ.get("KUBECONFIG", str(ROOT / ".testbed" / "kubeconfig"))
    chart = pathlib.Path(args.chart)
    extra = ["-e", f"target={env}", "-e", f"app_release_chart_dir={chart}"]

    def release(tag: str) -> None:
        proc = run_playbook("release.yml", *extra, "-e", f"image_tag={tag}")
        if proc.returncode != 0:
            sys.exit(f"release.yml {tag} failed:\n{proc.stdout[-3000:]}")

    release("v0.9.0")  # make sure a release exists and the values are release.yml's
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            bare_tag, tag = f"v0.{n + 10}.0", f"v0.{n + 10}.1"
            values = json.loads(
                sh(
                    "helm",
                    "get",
                    "values",
                    name,
                    "-n",
                    env,
                    "-o",
                    "json",
                    "--kubeconfig",
                    kubeconfig,
                )
            )
            values["global"]["imageTag"] = bare_tag
            vfile = pathlib.Path(tmp) / "values.json"
            vfile.write_text(json.dumps(values))
            sh("helm", "package", str(chart), "--app-version", bare_tag, "-d", tmp)
            tgz = next(pathlib.Path(tmp).glob("*.tgz"))
            bare = timed(
                lambda tgz=tgz, vfile=vfile: sh(
                    "helm",
                    "upgrade",
                    "--install",
                    name,
                    str(tgz),
                    "-n",
                    env,
                    "--atomic",
                    "--wait",
                    "--timeout",
                    "5m",
                    "--history-max",
                    "10",
                    "-f",
                    str(vfile),
                    "--kubeconfig",
                    kubeconfig,
                )
            )
            tgz.unlink()
            first = timed(lambda tag=tag: release(tag))
            noop = timed(lambda tag=tag: release(tag))
            rows.append((bare, first, noop))
            print(
                f"round {n + 1}: bare helm {bare:.1f} s, release.yml {first:.1f} s, "
                f"no-op release.yml {noop:.1f} s",
                flush=True,
            )

    bare, first, noop = (statistics.median(c) for c in zip(*rows, strict=True))
    ratio, noop_ratio = first / bare, noop / first
    lines = [
        "# Benchmark: release.yml",
        "",
        "`python benchmarks/bench_release.py` on the local test bed (real kube-apiserver, kwok "
        f"nodes), environment `{env}`, {args.rounds} rounds, medians; "
        f"{platform.machine()}, {os.cpu_count()} CPUs, shared with other work.",
        "",
        "| run | seconds | ratio | goal |",
        "|---|---|---|---|",
        f"| bare `helm upgrade --install --atomic --wait` | {bare:.1f} | 1.00 | |",
        f"| `release.yml` (same chart and values, new tag) | {first:.1f} | {ratio:.2f} x bare "
        f"| ≤ 1.3 {'met' if ratio <= 1.3 else 'NOT met'} |",
        f"| `release.yml` again (no-op) | {noop:.1f} | {noop_ratio:.2f} x first "
        f"| ≤ 0.3 {'met' if noop_ratio <= 0.3 else 'NOT met'} |",
        "",
        "Per round (bare / release.yml / no-op, s): "
        + "; ".join(f"{b:.1f} / {f:.1f} / {z:.1f}" for b, f, z in rows),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        pathlib.Path(args.write).write_text(text)


if __name__ == "__main__":
    main()
