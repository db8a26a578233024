"""release.yml against the bare Helm command it wraps, on the local test bed.

    python benchmarks/bench_release.py [--rounds 3] [--env staging] [--startup 0,20] \
        [--write docs/benchmarks/release.md]

Needs the bed up and bootstrapped (`make testbed-up && ansible-playbook bootstrap.yml`) and a
first release of the environment. Each round:

1. bare Helm 4: `helm upgrade --install --rollback-on-failure --wait=watcher` (what release.yml
   runs; a bare `--wait` is the same strategy) of the same packaged chart with the same
   values release.yml used last (its `helm get values`), with a new image tag, so a real rollout
   happens;
2. `ansible-playbook release.yml -e image_tag=<new tag>`: preflight, lock, the same Helm command,
   verify, report (a real rollout too);
3. the same `release.yml` again: a no-op release (nothing to upgrade).

On kwok nodes each series runs with pods that take `--startup` seconds to become Ready (the test
bed's kwok stage reads the pod label `testbed.hackathon-todo.dev/startup`; 0 = Ready at once,
which no real kubelet does: a real pod pulls its image, starts and passes a first readiness
probe). Both Helm and release.yml get the same label, through the same values.

On real nodes (HTD_NODES_MODE=real: kubelets, containerd, the bed's registry) there is one
series: the pods really pull the app stand-in's images, start and pass their probes. Every tag a
round deploys is first built and pushed to the bed's registry (`testbed/images/build.py app`,
not timed), because release.yml's preflight checks that the images exist.

Goals: kwok nodes (issue 7) release.yml / bare Helm <= 1.3, no-op / release <= 0.3; real nodes
(issue 12) <= 1.15 and <= 0.1.
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

STARTUP = "testbed.hackathon-todo.dev/startup"
ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ansible_run import run_playbook  # noqa: E402


def sh(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _startup(startup: int | None) -> str:
    return "real kubelet" if startup is None else f"{startup} s"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--env", default="staging")
    ap.add_argument("--startup", default="0,20", help="pod start-up seconds, comma-separated")
    ap.add_argument("--chart", default=os.environ.get("HTD_CHART_DIR", str(ROOT / "chart")))
    ap.add_argument("--write")
    args = ap.parse_args()
    env = args.env
    name = "todo-app" if env == "production" else f"todo-app-{env}"
    kubeconfig = os.environ.get("KUBECONFIG", str(ROOT / ".testbed" / "kubeconfig"))
    chart = pathlib.Path(args.chart)
    real = os.environ.get("HTD_NODES_MODE") == "real"
    # None: real kubelets decide how long a pod takes to start
    startups = [None] if real else [int(s) for s in args.startup.split(",") if s.strip()]
    goal, noop_goal = (1.15, 0.1) if real else (1.3, 0.3)
    reports = pathlib.Path(tempfile.mkdtemp(prefix="bench-release-"))

    def push(tag: str) -> None:
        if real:
            build = [sys.executable, str(ROOT / "testbed" / "images" / "build.py")]
            sh(*build, "app", "--tag", tag, "--owner", "hackathon-todo")

    def release(tag: str, startup: int | None) -> dict:
        labels = {STARTUP: f"{startup}s"} if startup else {}
        extra = {"app_release_extra_values": {"global": {"podLabels": labels}}}
        proc = run_playbook(
            "release.yml",
            "-e",
            f"target={env}",
            "-e",
            f"app_release_chart_dir={chart}",
            "-e",
            json.dumps(extra),
            "-e",
            f"image_tag={tag}",
            env={"HTD_REPORT_DIR": str(reports)},
            timeout=1800,
        )
        if proc.returncode != 0:
            sys.exit(f"release.yml {tag} failed:\n{proc.stdout[-3000:]}")
        return json.loads((reports / f"release-{env}.json").read_text())

    def bare_helm(tag: str, tmp: str) -> float:
        values = json.loads(
            sh("helm", "get", "values", name, "-n", env, "-o", "json", "--kubeconfig", kubeconfig)
        )
        values["global"]["imageTag"] = tag
        vfile = pathlib.Path(tmp) / "values.json"
        vfile.write_text(json.dumps(values))
        sh("helm", "package", str(chart), "--app-version", tag, "-d", tmp)
        tgz = next(pathlib.Path(tmp).glob("*.tgz"))
        upgrade = ["helm", "upgrade", "--install", name, str(tgz), "-n", env]
        upgrade += ["--rollback-on-failure", "--wait=watcher"]
        upgrade += ["--timeout", "5m", "--history-max", "10", "-f", str(vfile)]
        took = timed(lambda: sh(*upgrade, "--kubeconfig", kubeconfig))
        tgz.unlink()
        return took

    series = []
    with tempfile.TemporaryDirectory() as tmp:
        for startup in startups:
            major = 9 if startup is None else startup
            push(f"v{major}.9.0")
            release(f"v{major}.9.0", startup)  # values (and the label) are release.yml's
            rows = []
            for n in range(args.rounds):
                bare_tag, tag = f"v{major}.{n + 10}.0", f"v{major}.{n + 10}.1"
                push(bare_tag)  # outside the timed runs
                push(tag)
                bare = bare_helm(bare_tag, tmp)
                t0 = time.perf_counter()
                report = release(tag, startup)
                first = time.perf_counter() - t0
                noop = timed(lambda tag=tag, startup=startup: release(tag, startup))
                phases = report["durations_s"]
                rows.append(
                    (bare, first, noop, phases["preflight"], phases["helm"], phases["verify"])
                )
                print(
                    f"start-up {_startup(startup)}, round {n + 1}: bare helm {bare:.1f} s, "
                    f"release.yml {first:.1f} s (its preflight {phases['preflight']} s, helm "
                    f"{phases['helm']} s, verify {phases['verify']} s), no-op {noop:.1f} s",
                    flush=True,
                )
            series.append((startup, rows))

    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    if real:
        how = (
            "`HTD_NODES_MODE=real python benchmarks/bench_release.py` on the local test bed with "
            "real nodes (kubelets, containerd, runc; images pulled from the bed's registry)"
        )
        pods = "Pods start as the real kubelets start them: image pull, process start, probes."
    else:
        how = (
            "`python benchmarks/bench_release.py --startup "
            + ",".join(str(s) for s in startups)
            + "` on the local test bed (real kube-apiserver, kwok nodes)"
        )
        pods = (
            "Pod start-up is what the simulated kubelet takes from scheduling to Ready (label "
            "`testbed.hackathon-todo.dev/startup`, same for both runs)."
        )
    lines = [
        "# Benchmark: release.yml" + (" on real nodes" if real else ""),
        "",
        f"{how}, environment `{env}`, {args.rounds} rounds per series, medians; "
        f"{platform.machine()}, {os.cpu_count()} CPUs, shared with other work; load average "
        f"after the run {load} (1 / 5 / 15 min).",
        "",
        pods,
        "",
        "| pod start-up | bare `helm upgrade --install --rollback-on-failure --wait=watcher` "
        "| `release.yml` "
        f"(new tag) | ratio (goal ≤ {goal}) | of which preflight / Helm / verify "
        "| no-op `release.yml` "
        f"| no-op ratio (goal ≤ {noop_goal}) |",
        "|---|---|---|---|---|---|---|",
    ]
    for startup, rows in series:
        bare, first, noop, pre, helm, verify = (
            statistics.median(c) for c in zip(*rows, strict=True)
        )
        ratio, noop_ratio = first / bare, noop / first
        lines.append(
            f"| {_startup(startup)} | {bare:.1f} s | {first:.1f} s | {ratio:.2f} "
            f"{'met' if ratio <= goal else 'NOT met'} | {pre:.1f} s / {helm:.1f} s / "
            f"{verify:.1f} s "
            f"| {noop:.1f} s | {noop_ratio:.2f} {'met' if noop_ratio <= noop_goal else 'NOT met'} |"
        )
    lines += ["", "Per round (bare / release.yml / no-op, s):", ""]
    for startup, rows in series:
        lines.append(
            f"- start-up {_startup(startup)}: "
            + "; ".join(f"{b:.1f} / {f:.1f} / {z:.1f}" for b, f, z, *_phases in rows)
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        pathlib.Path(args.write).write_text(text)


if __name__ == "__main__":
    main()
