"""The cluster role with provider digitalocean, against the DigitalOcean API stand-in.

The stand-in (tests/standins/digitalocean_api.py) keeps clusters and node pools, and answers the
kubeconfig request with the local test bed's kubeconfig, so after "creating" the DOKS cluster the
role goes on to talk to a real API server exactly as it would to DOKS.
"""

from __future__ import annotations

import os
import stat

import pytest

from tests.ansible_run import run_playbook

PLAY = """
- hosts: cluster
  gather_facts: false
  roles:
    - role: hackathon_todo.deploy.cluster
"""


@pytest.fixture
def doks(do_api, kube_cluster, tmp_path):
    do_api.kubeconfig = kube_cluster.kubeconfig.read_text()
    playbook = tmp_path / "cluster.yml"
    playbook.write_text(PLAY)
    kubeconfig = tmp_path / "doks.kubeconfig"

    def run(*extra: str):
        return run_playbook(
            playbook,
            "-i",
            "production",
            "-e",
            f"cluster_do_api_url={do_api.api_url}",
            "-e",
            f"htd_kubeconfig={kubeconfig}",
            *extra,
            env={"DIGITALOCEAN_ACCESS_TOKEN": do_api.token},
        )

    return run, kubeconfig


def test_creates_writes_kubeconfig_then_changes_nothing(doks, do_api):
    run, kubeconfig = doks
    first = run()
    assert first.returncode == 0, first.stdout[-5000:]
    assert "$88.00/month" in first.stdout  # the seed's layout at minimum node counts
    assert stat.S_IMODE(os.stat(kubeconfig).st_mode) == 0o600
    assert [c["name"] for c in do_api.clusters.values()] == ["hackathon-todo"]
    cluster = next(iter(do_api.clusters.values()))
    assert cluster["region"] == "nyc1" and cluster["ha"] is False
    pool = cluster["node_pools"][0]
    assert (
        pool["size"],
        pool["count"],
        pool["auto_scale"],
        pool["min_nodes"],
        pool["max_nodes"],
    ) == (
        "s-2vcpu-4gb",
        3,
        True,
        3,
        5,
    )

    before = len(do_api.requests)
    again = run()
    assert again.returncode == 0, again.stdout[-5000:]
    assert "changed=0" in again.stdout.split("PLAY RECAP")[-1]
    assert {r.method for r in do_api.requests[before:]} == {"GET"}


def test_check_mode_on_nothing_reports_and_creates_nothing(doks, do_api):
    run, kubeconfig = doks
    check = run("--check")
    assert check.returncode == 0, check.stdout[-5000:]
    assert do_api.clusters == {}
    assert not kubeconfig.exists()
    assert {r.method for r in do_api.requests} == {"GET"}


def test_bad_token_fails_clearly_and_never_prints_it(doks, do_api):
    run = doks[0]
    res = run("-e", "cluster_do_token=dop_v1_wrong_token_0123456789", "-vvv")
    assert res.returncode != 0
    assert "rejected the API token" in res.stdout
    assert "dop_v1_wrong_token_0123456789" not in res.stdout + res.stderr
    assert do_api.clusters == {}
