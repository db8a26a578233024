"""The test bed starts, is reused, and stops cleanly: no stray process, ports freed, no state left.

Runs a second, private instance of each component (own ports, own state directory) so it never
disturbs the bed the rest of the suite uses.
"""

from __future__ import annotations

import os
import pathlib
import shutil
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


def _host_routes() -> str:
    return subprocess.run(["ip", "route"], capture_output=True, text=True, check=True).stdout


def test_a_kwok_bed_going_down_leaves_another_beds_real_nodes_alone(tmp_path):
    """Two beds share the machine (`make test` runs a kwok bed next to the real-node one): the
    kwok bed's `down` must not take the other bed's network namespace, even under the same cluster
    name. The real-node bed here is only what `down` looks at (its namespace, its owner record and
    its state); no node runs."""
    name = "htd-owner-test"
    other_state = tmp_path / "other"
    (other_state / "nodes").mkdir(parents=True)
    run = pathlib.Path("/run/htd") / name
    # the other bed's way in: its veth (both ends on the host here) and its route to the Services,
    # the same range and namespace end this bed's would have
    other_veth = "htdother-h0"
    subprocess.run(
        ["ip", "link", "add", other_veth, "type", "veth", "peer", "name", "htdother-p0"], check=True
    )
    subprocess.run(["ip", "addr", "add", "10.213.250.1/24", "dev", other_veth], check=True)
    subprocess.run(["ip", "link", "set", other_veth, "up"], check=True)
    route = ["10.250.0.0/16", "via", "10.213.250.2", "dev", other_veth]
    subprocess.run(["ip", "route", "add", *route], check=True)
    routes_before = _host_routes()
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        run.mkdir(parents=True)
        (run / "owner").write_text(f"{other_state}\n")
        # addresses of their own: nothing here may name the real bed's (10.213.0.x, 10.96.0.0/16)
        env = {
            "HTD_STATE": str(tmp_path / "kwok"),
            "HTD_CLUSTER_NAME": name,
            "HTD_BED_NET": "10.213.250",
            "HTD_SERVICE_CIDR": "10.250.0.0/16",
        }
        down = _run("cluster.sh", "down", env)
        assert down.returncode == 0, down.stdout + down.stderr
        assert pathlib.Path("/run/netns", name).exists(), down.stdout + down.stderr
        assert str(other_state) in down.stdout, down.stdout  # says whose nodes it left running
        # once that bed is gone (no state), the namespace is a leftover and goes
        shutil.rmtree(other_state)
        down = _run("cluster.sh", "down", env)
        assert down.returncode == 0, down.stdout + down.stderr
        assert not pathlib.Path("/run/netns", name).exists(), down.stdout + down.stderr
        assert _host_routes() == routes_before  # no other bed's route went with it
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)
        subprocess.run(["ip", "link", "del", other_veth], check=False, capture_output=True)
        shutil.rmtree(run, ignore_errors=True)
