"""The test bed starts, is reused, and stops cleanly: no stray process, ports freed, no state left.

Runs a second, private instance of each component (own ports, own state directory) so it never
disturbs the bed the rest of the suite uses.
"""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from tests.testbed import TESTBED


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _processes_mentioning(text: str) -> list[str]:
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            out.append(f"{pid}: {cmd[:200]}")
    return out


def _run(script: str, action: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(TESTBED / script), action],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize(
    ("script", "env", "ports"),
    [
        (
            "kafka.sh",
            {"HTD_KAFKA_PORT": "39292", "HTD_KAFKA_CONTROLLER_PORT": "39293"},
            [39292, 39293],
        ),
        ("cluster.sh", {"HTD_APISERVER_PORT": "36543", "HTD_CLUSTER_NAME": "lifecycle"}, [36543]),
    ],
    ids=["kafka", "cluster"],
)
def test_up_reuse_down(tmp_path, script, env, ports):
    env = {**env, "HTD_STATE": str(tmp_path / "state")}
    first = _run(script, "up", env)
    assert first.returncode == 0, first.stdout + first.stderr
    try:
        assert _run(script, "status", env).returncode == 0
        assert all(_port_open(p) for p in ports)
        again = _run(script, "up", env)
        assert again.returncode == 0 and "already up" in again.stdout
    finally:
        down = _run(script, "down", env)
    assert down.returncode == 0, down.stdout + down.stderr
    assert _run(script, "status", env).returncode != 0
    assert not [p for p in ports if _port_open(p)], "ports still bound after down"
    assert _processes_mentioning(str(tmp_path)) == []
    leftovers = list((tmp_path / "state").rglob("*")) if (tmp_path / "state").exists() else []
    assert leftovers == [], leftovers
