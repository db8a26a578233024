"""Benchmark the test bed: toolchain (cold and warm), cluster-up and kafka-up, real nodes.

    python testbed/bench_testbed.py [--no-real] [--write-release docs/benchmarks/release-real.md]

Prints measured numbers and ratios against a baseline taken in the same run:
  * cold toolchain: the build time each cache slot recorded when it was built (measured by
    toolchain.sh at that time; a slot missing now is built, and so measured, by this run);
  * warm toolchain: a full `toolchain.sh` run now, every slot cached;
  * cluster-up (kwok nodes) / kafka-up: from stopped to ready, then a second `up` on the running
    bed (no-op), then `down`. A component that was running before is restarted (the cluster with
    kwok nodes), and left up;
  * real nodes (HTD_NODES_MODE=real): cluster-up from stopped to nodes Ready (kubelets,
    containerd, CoreDNS, metrics-server, registry), a second `up` (no-op); the app stand-in's five
    images built and pushed for a new tag, then the same tag again (cached); `bootstrap.yml`; the
    first `release.yml` and the time from bootstrap's start to the first Certificate Ready (issued
    by Pebble through Traefik); and benchmarks/bench_release.py on those nodes (release.yml vs
    bare Helm, no-op release). The cluster is left stopped.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
TESTBED = ROOT / "testbed"
CACHE = pathlib.Path(
    os.environ.get("HTD_CACHE", pathlib.Path.home() / ".cache" / "hackathon-todo-deploy")
)


REAL = {**os.environ, "HTD_NODES_MODE": "real"}
KWOK = {**os.environ, "HTD_NODES_MODE": "kwok"}


def timed(*cmd: str, env: dict | None = None) -> float:
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, env=env)
    return time.monotonic() - t0


def status(script: str) -> bool:
    res = subprocess.run(
        ["bash", str(TESTBED / script), "status"],
        cwd=ROOT,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return res.returncode == 0


def _charts_serving() -> bool:
    return (
        subprocess.run(
            [sys.executable, str(TESTBED / "chart_repo.py"), "status"], cwd=ROOT, check=False
        ).returncode
        == 0
    )


def _any_certificate_ready() -> bool:
    got = subprocess.run(
        [str(ROOT / ".tools" / "bin" / "kubectl"), "--kubeconfig",
         str(ROOT / ".testbed" / "kubeconfig"), "get", "certificates", "-A", "-o",
         "jsonpath={.items[*].status.conditions[?(@.type=='Ready')].status}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return "True" in got.stdout.split()


def first_certificate(tag: str, t0: float) -> tuple[float, float]:
    """release.yml for `tag` (the first install: cert-manager gets each environment's certificate
    from Pebble through Traefik); seconds from t0 to the first Certificate Ready, and the release's
    own duration."""
    playbook = str(ROOT / ".tools" / "venv" / "bin" / "ansible-playbook")
    started = time.monotonic()
    proc = subprocess.Popen(
        [playbook, "release.yml", "-e", f"image_tag={tag}"], cwd=ROOT, env=REAL,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    first = None
    while first is None and proc.poll() is None:  # bounded: the release's own deadlines end it
        if _any_certificate_ready():
            first = time.monotonic() - t0
        time.sleep(0.5)
    if first is None and _any_certificate_ready():
        first = time.monotonic() - t0
    if proc.wait() != 0 or first is None:
        raise SystemExit("release.yml failed or no Certificate became Ready")
    return first, time.monotonic() - started


def real_nodes(rows: list[tuple[str, float]], write_release: str | None) -> None:
    """Real-node bed: up, images, bootstrap, then the release benchmark on it; left stopped."""
    cluster = ["bash", str(TESTBED / "cluster.sh")]
    if status("cluster.sh"):
        subprocess.run([*cluster, "down"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    kafka_was_up = status("kafka.sh")
    charts_were_up = _charts_serving()
    if not kafka_was_up:
        timed("bash", str(TESTBED / "kafka.sh"), "up")
    rows.append(("real nodes: cluster-up (stopped -> Ready)", timed(*cluster, "up", env=REAL)))
    rows.append(("real nodes: cluster-up again (no-op)", timed(*cluster, "up", env=REAL)))
    tag = time.strftime("v0.%Y%m%d.%H%M%S")  # a tag no earlier run pushed
    build = [sys.executable, str(TESTBED / "images" / "build.py"), "app", "--tag", tag]
    rows.append(("real nodes: 5 images built + pushed (new tag)", timed(*build, env=REAL)))
    rows.append(("real nodes: same images again (cached)", timed(*build, env=REAL)))
    playbook = [str(ROOT / ".tools" / "venv" / "bin" / "ansible-playbook"), "bootstrap.yml"]
    t0 = time.monotonic()
    rows.append(("real nodes: bootstrap.yml (both environments)", timed(*playbook, env=REAL)))
    first_cert, release = first_certificate(tag, t0)
    rows.append(("real nodes: bootstrap start -> first Certificate Ready", first_cert))
    rows.append(("real nodes: first release.yml (certificates issued)", release))
    bench = [sys.executable, str(ROOT / "benchmarks" / "bench_release.py"), "--rounds", "3"]
    if write_release:
        bench += ["--write", write_release]
    subprocess.run(bench, check=True, cwd=ROOT, env=REAL)
    rows.append(("real nodes: cluster-down", timed(*cluster, "down", env=REAL)))
    if not charts_were_up:  # bootstrap.yml started it; it serves this bed's mode of the charts
        timed(sys.executable, str(TESTBED / "chart_repo.py"), "down")
    if not kafka_was_up:
        timed("bash", str(TESTBED / "kafka.sh"), "down")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-real", action="store_true", help="skip the real-node part")
    ap.add_argument("--write-release", help="write the real-node release table to this file")
    args = ap.parse_args()
    rows: list[tuple[str, float]] = []
    warm = timed("bash", str(TESTBED / "toolchain.sh"))
    cold = {}
    for stamp in sorted(CACHE.glob("*/.build-seconds")):
        cold[stamp.parent.name] = float(stamp.read_text())
    # Only the slots this checkout links to count (old versions may linger in the cache).
    linked = {p.resolve().name for p in (ROOT / ".tools").iterdir() if p.is_symlink()}
    cold = {k: v for k, v in cold.items() if k in linked}
    cold_total = sum(cold.values())
    print("toolchain, cold build per slot (recorded when built):")
    for name, secs in cold.items():
        print(f"  {name:<40} {secs:8.1f} s")
    print(f"  {'total':<40} {cold_total:8.1f} s")
    rows.append(("toolchain warm (all cached)", warm))

    for label, script in (("cluster (kwok nodes)", "cluster.sh"), ("kafka", "kafka.sh")):
        was_up = status(script)
        if was_up:
            timed("bash", str(TESTBED / script), "down")
        up = timed("bash", str(TESTBED / script), "up", env=KWOK)
        again = timed("bash", str(TESTBED / script), "up", env=KWOK)
        rows.append((f"{label}-up (stopped -> ready)", up))
        rows.append((f"{label}-up again (no-op)", again))
        if not was_up:
            rows.append((f"{label}-down", timed("bash", str(TESTBED / script), "down")))

    if not args.no_real:
        real_nodes(rows, args.write_release)

    print("\nmeasured now:")
    for name, secs in rows:
        print(f"  {name:<40} {secs:8.2f} s")
    if cold_total:
        print(
            f"\nratio warm/cold toolchain: {warm / cold_total:.4f} "
            f"({cold_total / max(warm, 1e-9):.0f}x faster when cached)"
        )
    goal = 30.0
    ups = [s for n, s in rows if "(stopped -> ready)" in n]
    verdict = "meets" if all(s <= goal for s in ups) else "MISSES"
    print(f"goal: each component ready in <= {goal:.0f} s with a warm toolchain: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
