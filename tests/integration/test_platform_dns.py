"""The platform role on DigitalOcean: the ingress load balancer's address lands in DNS.

The ingress Service gets its address on the test bed as it would from DigitalOcean's cloud
controller (kwok stage `service-load-balancer`); the A records are written through the
DigitalOcean API stand-in (tests/standins/digitalocean_api.py), which keeps them.
"""

from __future__ import annotations

import pytest

from tests.ansible_run import run_playbook

PLAY = """
- hosts: cluster
  gather_facts: false
  roles:
    - role: hackathon_todo.deploy.platform
"""


@pytest.fixture
def platform_on_digitalocean(bootstrapped, do_api, tmp_path):
    do_api.add_domain("todo.test")
    playbook = tmp_path / "platform.yml"
    playbook.write_text(PLAY)

    def run(*extra: str):
        return run_playbook(
            playbook,
            "-e",
            "platform_provider=digitalocean",
            "-e",
            f"platform_do_api_url={do_api.api_url}",
            "-e",
            "platform_load_balancer_timeout=60",
            *extra,
            env={"DIGITALOCEAN_ACCESS_TOKEN": do_api.token},
        )

    return run


def test_a_records_point_at_the_load_balancer(platform_on_digitalocean, do_api, kube_cluster):
    lb_ip = kube_cluster.kubectl(
        "-n",
        "traefik",
        "get",
        "service",
        "traefik",
        "-o",
        "jsonpath={.status.loadBalancer.ingress[0].ip}",
    ).stdout
    assert lb_ip

    first = platform_on_digitalocean()
    assert first.returncode == 0, first.stdout[-5000:]
    records = {(r["name"], r["data"]) for r in do_api.records("todo.test", type="A")}
    assert records == {("todo", lb_ip), ("staging.todo", lb_ip)}

    before = len(do_api.requests)
    again = platform_on_digitalocean()
    assert again.returncode == 0, again.stdout[-5000:]
    assert "changed=0" in again.stdout.split("PLAY RECAP")[-1]
    assert {r.method for r in do_api.requests[before:]} == {"GET"}
