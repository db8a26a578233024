"""doks_cost_estimate through real ansible: the seed's declaration, priced from the one table."""

from __future__ import annotations

import json
import subprocess

from tests.ansible_run import _env, run_module


def test_seed_declaration_is_priced_with_its_breakdown():
    args = {
        "name": "hackathon-todo",
        # the same list doks_cluster takes, tags and labels included
        "node_pools": [
            {
                "name": "workers",
                "size": "s-2vcpu-4gb",
                "count": 3,
                "auto_scale": True,
                "min_nodes": 3,
                "max_nodes": 5,
                "tags": ["hackathon-todo"],
                "labels": {"pool": "workers"},
            }
        ],
        "load_balancers": 1,
        "volumes": [{"name": "prometheus", "size": "20Gi"}, {"name": "loki", "size": "20Gi"}],
    }
    result = run_module("doks_cost_estimate", args, check=True)
    assert not result.failed and not result.changed, result.result
    estimate = result.result["estimate"]
    # 3 x $24 (s-2vcpu-4gb) + $12 (load balancer) + 40 GiB x $0.10 = $88.00; 5 nodes: $136.00
    assert (estimate["monthly_min"], estimate["monthly_max"]) == (88.0, 136.0)
    assert [line["monthly_min"] for line in estimate["lines"]] == [72.0, 12.0, 4.0, 0.0]
    assert result.result["msg"].startswith("DOKS hackathon-todo: $88.00/month")


def test_a_taint_doks_cluster_refuses_is_refused_the_same_way():
    pools = [
        {
            "name": "workers",
            "size": "s-2vcpu-4gb",
            "count": 3,
            "taints": [{"key": "dedicated", "value": "web"}],  # no effect
        }
    ]
    cost = run_module("doks_cost_estimate", {"node_pools": pools}, check=True)
    # argument validation comes first: doks_cluster refuses the list before any API request
    cluster = run_module(
        "doks_cluster",
        {"name": "c", "region": "nyc1", "version": "1.36", "node_pools": pools, "token": "x"},
        check=True,
    )
    assert cluster.failed and "effect" in cluster.result["msg"], cluster.result
    assert cost.failed, cost.result
    assert cost.result["msg"] == cluster.result["msg"]


def test_both_modules_document_one_node_pools_list():
    names = ("doks_cluster", "doks_cost_estimate")
    shown = subprocess.run(
        ["ansible-doc", "--json", *(f"hackathon_todo.deploy.{name}" for name in names)],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    )
    docs = json.loads(shown.stdout)
    suboptions = [
        docs[f"hackathon_todo.deploy.{name}"]["doc"]["options"]["node_pools"]["suboptions"]
        for name in names
    ]
    assert suboptions[0] == suboptions[1]
    assert suboptions[1]["taints"]["suboptions"]["effect"]["choices"] == [
        "NoSchedule",
        "PreferNoSchedule",
        "NoExecute",
    ]
