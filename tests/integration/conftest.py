"""Fixtures shared by the integration tests that need more than the bare test bed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.ansible_run import run_playbook
from tests.testbed import TESTBED


def _chart_repo(action: str) -> int:
    return subprocess.run(
        [sys.executable, str(TESTBED / "chart_repo.py"), action],
        capture_output=True,
        check=False,
    ).returncode


@pytest.fixture(scope="session", autouse=True)
def chart_repository_cleanup():
    """bootstrap.yml's cluster role starts the local chart repository; stop it at the end of the
    session if the session started it, as the other test bed fixtures do (no stray process)."""
    was_up = _chart_repo("status") == 0
    yield
    if not was_up and not os.environ.get("HTD_KEEP_TESTBED"):
        _chart_repo("down")


@pytest.fixture(scope="session")
def bootstrapped(kube_cluster, kafka_broker):
    """The test bed after `ansible-playbook bootstrap.yml` (the local default inventory)."""
    first = run_playbook("bootstrap.yml")
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
    return first
