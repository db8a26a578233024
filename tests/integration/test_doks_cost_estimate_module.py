"""doks_cost_estimate through real ansible: the seed's declaration, priced from the one table."""

from __future__ import annotations

from tests.ansible_run import run_module


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
