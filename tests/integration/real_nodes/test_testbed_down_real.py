"""Last of the real-node tier (files run in name order): `make cluster-down` on real nodes leaves
no process, mount, network namespace, veth or cgroup behind (testbed/nodes.sh leftovers)."""

from __future__ import annotations

import subprocess

from tests.ansible_run import ROOT
from tests.testbed import STATE, TESTBED


def test_testbed_down_leaves_nothing_behind(kube_cluster):
    down = subprocess.run(
        ["make", "-C", str(ROOT), "cluster-down"], capture_output=True, text=True, check=False
    )
    assert down.returncode == 0, down.stdout + down.stderr
    left = subprocess.run(
        ["bash", str(TESTBED / "nodes.sh"), "leftovers"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert left.stdout.strip() == "", left.stdout
    netns = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert "htd" not in netns.split()
    assert not (STATE / "nodes").exists()
    ps = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True, check=True)
    alive = [line for line in ps.stdout.splitlines() if not line.lstrip().startswith("Z")]
    assert not [
        a for a in alive if str(STATE / "nodes") in a or "/run/htd/" in a or "load_balancers" in a
    ]
