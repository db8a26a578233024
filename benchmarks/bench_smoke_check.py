"""Benchmark: one smoke_check call vs a sequential ansible.builtin.uri loop.

20 local HTTP endpoints (separate servers on 127.0.0.1), each answering after 200 ms. In the
same run, and as playbooks run the same way:

  baseline    one ansible.builtin.ping task: ansible-playbook's fixed cost (start-up, module
              transfer, result handling), which any single task pays
  smoke_check_1  one smoke_check task with one check of an instant endpoint: the fixed cost of
              our module (a bigger payload than ping, its imports)
  smoke_check one task with 20 checks
  uri_1       one ansible.builtin.uri task, one request: what a single HTTP task costs anyway
  uri loop    one ansible.builtin.uri task looping over the 20 URLs

plus a single request measured directly (no ansible). Goal from issue 5: smoke_check's wall
time <= 2x a single request's latency. Ansible's fixed cost is reported separately rather than
hidden: the module's own time comes from its `elapsed_ms` result, and "minus baseline" is the
playbook wall time with the baseline median subtracted.

Usage (from the repository root, after `make toolchain`):
    .tools/venv/bin/python benchmarks/bench_smoke_check.py \
        [--runs 3] [--write docs/benchmarks/smoke_check.md]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
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

from tests.ansible_run import _env  # noqa: E402 - after the sys.path line above
from tests.smoke_endpoints import EndpointServer  # noqa: E402

ENDPOINTS = 20
DELAY_MS = 200


def single_request_ms(port: int, samples: int = 7) -> list[float]:
    out = []
    for _sample in range(samples):
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", f"/slow/{DELAY_MS}")
        conn.getresponse().read()
        conn.close()
        out.append((time.perf_counter() - started) * 1000)
    return out


def play(tasks: list[dict], workdir: pathlib.Path, name: str) -> tuple[float, dict]:
    """Run a one-play playbook on localhost; (wall seconds, json-callback result of task 0)."""
    path = workdir / f"{name}.yml"
    path.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    cmd = [
        "ansible-playbook",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        "ansible_python_interpreter={{ ansible_playbook_python }}",
        str(path),
    ]
    started = time.perf_counter()
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"}),
    )
    wall = time.perf_counter() - started
    doc = json.loads(proc.stdout[proc.stdout.index("{") :])
    result = doc["plays"][0]["tasks"][0]["hosts"]["localhost"]
    if proc.returncode != 0 or result.get("failed"):
        raise SystemExit(f"{name} failed:\n{json.dumps(result, indent=1)[:3000]}\n{proc.stderr}")
    return wall, result


def med(values):
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each measurement")
    parser.add_argument("--write", type=pathlib.Path, help="write the markdown report here")
    args = parser.parse_args()
    os.environ["PATH"] = f"{ROOT / '.tools' / 'venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"

    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        servers = [stack.enter_context(EndpointServer()) for _endpoint in range(ENDPOINTS)]
        urls = [s.url(f"/slow/{DELAY_MS}") for s in servers]
        workdir = pathlib.Path(tmp)
        single = single_request_ms(servers[0].port)

        tasks = {
            "baseline": [{"ansible.builtin.ping": {}}],
            "smoke_check_1": [
                {
                    "hackathon_todo.deploy.smoke_check": {
                        "checks": [{"url": servers[0].url("/health")}]
                    }
                }
            ],
            "smoke_check": [
                {
                    "hackathon_todo.deploy.smoke_check": {
                        "defaults": {"deadline": 0},
                        "checks": [{"url": u} for u in urls],
                    }
                }
            ],
            "uri_1": [{"ansible.builtin.uri": {"url": urls[0], "status_code": 200}}],
            "uri_loop": [
                {"ansible.builtin.uri": {"url": "{{ item }}", "status_code": 200}, "loop": urls}
            ],
        }
        walls: dict[str, list[float]] = {k: [] for k in tasks}
        module_ms: list[float] = []
        for run in range(args.runs):
            for name, task in tasks.items():  # interleaved, so load drift hits all alike
                wall, result = play(task, workdir, name)
                walls[name].append(wall)
                if name == "smoke_check":
                    module_ms.append(result["elapsed_ms"])
                print(f"run {run + 1}/{args.runs} {name:12s} {wall:6.2f} s", flush=True)

    single_ms = med(single)
    base = med(walls["baseline"])
    smoke, uri = med(walls["smoke_check"]), med(walls["uri_loop"])
    smoke_1 = med(walls["smoke_check_1"])
    own = med(module_ms)
    goal = 2 * single_ms

    def spread(values, unit="s"):
        if unit == "ms":
            return f"{min(values):.0f}-{max(values):.0f} ms"
        return f"{min(values):.2f}-{max(values):.2f} s"

    rows = [
        (
            "single request, no ansible (7 requests)",
            f"{single_ms:.0f} ms",
            spread(single, "ms"),
            "",
        ),
        (
            "baseline: one `ansible.builtin.ping` task",
            f"{base:.2f} s",
            spread(walls["baseline"]),
            "",
        ),
        (
            "`smoke_check`, 1 instant check: playbook wall",
            f"{smoke_1:.2f} s",
            spread(walls["smoke_check_1"]),
            f"{smoke_1 - base:.2f} s",
        ),
        (
            "`smoke_check`, 20 checks: playbook wall",
            f"{smoke:.2f} s",
            spread(walls["smoke_check"]),
            f"{smoke - base:.2f} s",
        ),
        (
            "`smoke_check`, 20 checks: module's own `elapsed_ms`",
            f"{own:.0f} ms",
            spread(module_ms, "ms"),
            "",
        ),
        (
            "`uri`, 1 request: playbook wall",
            f"{med(walls['uri_1']):.2f} s",
            spread(walls["uri_1"]),
            f"{med(walls['uri_1']) - base:.2f} s",
        ),
        (
            "`uri` loop over 20 URLs: playbook wall",
            f"{uri:.2f} s",
            spread(walls["uri_loop"]),
            f"{uri - base:.2f} s",
        ),
    ]
    ratio_wall = uri / smoke
    ratio_net = (uri - base) / max(smoke - base, 1e-3)
    verdict_own = "meets" if own <= goal else "misses"
    verdict_net = "meets" if (smoke - base) * 1000 <= goal else "misses"
    try:
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        load = "n/a"
    report = "\n".join(
        [
            "# Benchmark: `smoke_check` vs a sequential `ansible.builtin.uri` loop",
            "",
            f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by "
            "`benchmarks/bench_smoke_check.py` "
            f"({args.runs} interleaved runs, medians; Python {platform.python_version()}, "
            f"{os.cpu_count()} CPUs, load average at the end {load}).",
            "",
            f"{ENDPOINTS} local HTTP endpoints on 127.0.0.1, separate servers, each answering "
            f"after {DELAY_MS} ms. Every measurement is an `ansible-playbook` run of one task on "
            "localhost (connection local), so all pay the same fixed cost; the baseline run "
            "measures that cost.",
            "",
            "| What | Median | Range | Median minus baseline |",
            "|---|---|---|---|",
            *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
            "",
            f"- `uri` loop / `smoke_check`: **{ratio_wall:.1f}x** on playbook wall time, "
            f"**{ratio_net:.1f}x** with the fixed cost subtracted from both.",
            f"- Goal `smoke_check` <= 2x a single request ({goal:.0f} ms): the module's own time "
            f"({own:.0f} ms) **{verdict_own}** it; the playbook wall time minus the baseline "
            f"({(smoke - base) * 1000:.0f} ms) **{verdict_net}** it (on the fastest runs "
            f"instead of medians: {(min(walls['smoke_check']) - min(walls['baseline'])) * 1000:.0f}"
            " ms). Split: one instant check "
            f"costs {(smoke_1 - base) * 1000:.0f} ms more than `ping` (the module's fixed cost: "
            "a collection module with module_utils to package, its imports), and 20 checks "
            f"{(smoke - smoke_1) * 1000:.0f} ms more than one. Differences smaller than the "
            "Range column are noise: the reference machine is shared with a long build.",
            "- Raw walls (s): "
            + "; ".join(f"{k} {', '.join(f'{w:.2f}' for w in v)}" for k, v in walls.items()),
            f"- Module `elapsed_ms` per run: {', '.join(f'{m:.0f}' for m in module_ms)}; "
            f"single requests (ms): {', '.join(f'{s:.0f}' for s in single)}.",
            "",
        ]
    )
    print()
    print(report)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(report)
        print(f"written to {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
