"""Fixtures shared by the integration tests that need more than the bare test bed."""

from __future__ import annotations

import pytest

from tests.ansible_run import run_playbook


@pytest.fixture(scope="session")
def bootstrapped(kube_cluster, kafka_broker):
    """The test bed after `ansible-playbook bootstrap.yml` (the local default inventory)."""
    first = run_playbook("bootstrap.yml")
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
    return first
