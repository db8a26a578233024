"""Benchmark the test bed: toolchain (cold and warm), cluster-up and kafka-up.

Prints measured numbers and ratios against a baseline taken in the same run:
  * cold toolchain: the build time each cache slot recorded when it was built (measured by
    toolchain.sh at that time; a slot missing now is built, and so measured, by this run);
  * warm toolchain: a full `toolchain.sh` run now, every slot cached;
  * cluster-up / kafka-up: from stopped to ready, then a second `up` on the running bed (no-op),
    then `down`. A component that was running before the benchmark is restarted, and left up.
"""

from __future__ import annotations

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


def timed(*cmd: str) -> float:
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def status(script: str) -> bool:
    res = subprocess.run(["bash", str(TESTBED / script), "status"], cwd=ROOT, check=False)
    return res.returncode == 0


def main() -> int:
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

    for label, script in (("cluster", "cluster.sh"), ("kafka", "kafka.sh")):
        was_up = status(script)
        if was_up:
            timed("bash", str(TESTBED / script), "down")
        up = timed("bash", str(TESTBED / script), "up")
        again = timed("bash", str(TESTBED / script), "up")
        rows.append((f"{label}-up (stopped -> ready)", up))
        rows.append((f"{label}-up again (no-op)", again))
        if not was_up:
            rows.append((f"{label}-down", timed("bash", str(TESTBED / script), "down")))

    print("\nmeasured now:")
    for name, secs in rows:
        print(f"  {name:<40} {secs:8.2f} s")
    if cold_total:
        print(
            f"\nratio warm/cold toolchain: {warm / cold_total:.4f} "
            f"({cold_total / max(warm, 1e-9):.0f}x faster when cached)"
        )
    goal = 30.0
    ups = [s for n, s in rows if n.endswith("(stopped -> ready)")]
    verdict = "meets" if all(s <= goal for s in ups) else "MISSES"
    print(f"goal: each component ready in <= {goal:.0f} s with a warm toolchain: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
