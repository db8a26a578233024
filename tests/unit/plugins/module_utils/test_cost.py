"""The monthly cost estimate, from the one price table (plugins/module_utils/_do_prices.py)."""

from __future__ import annotations

import datetime
import re

import pytest
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _do_prices as prices
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._cost import (
    CostError,
    estimate,
    summary,
    volume_gib,
)

from tests.testbed import ROOT

# The seed's declaration (seed-tasks.md T005, T007, T010): DOKS with 3x s-2vcpu-4gb autoscaling
# 3..5, one load balancer for the ingress controller, a 20 Gi Prometheus PVC and a 20 Gi Loki PVC.
SEED_POOLS = [
    {"name": "workers", "size": "s-2vcpu-4gb", "auto_scale": True, "min_nodes": 3, "max_nodes": 5}
]
SEED_VOLUMES = [{"name": "prometheus", "size": "20Gi"}, {"name": "loki", "size": "20Gi"}]


def test_seed_declaration_costs_88_dollars_a_month_at_three_nodes():
    result = estimate(SEED_POOLS, load_balancers=1, volumes=SEED_VOLUMES, ha=False)
    lines = {line["item"].split(" (")[0]: line for line in result["lines"]}
    # 3 x $24 = $72 nodes + $12 load balancer + 40 GiB x $0.10 = $4 volumes + free control plane
    assert lines["node pool workers"]["monthly_min"] == 72.00
    assert lines["node pool workers"]["monthly_max"] == 120.00  # 5 x $24 when fully scaled out
    assert lines["load balancer"]["monthly_min"] == 12.00
    assert lines["volumes"]["quantity_min"] == 40
    assert lines["volumes"]["monthly_min"] == 4.00
    assert lines["control plane"]["monthly_min"] == 0.00
    assert result["monthly_min"] == 88.00
    assert result["monthly_max"] == 136.00


def test_the_seeds_88_50_needs_45_gib_of_volumes():
    """The seed quotes $88.50/month. With the published prices its listed volumes (2 x 20 Gi)
    give $88.00; the extra $0.50 is exactly 5 GiB more block storage (for example a 5 Gi
    Grafana or Alertmanager PVC, which the seed does not list). This pins that reading down."""
    volumes = [*SEED_VOLUMES, {"name": "unlisted", "size": "5Gi"}]
    result = estimate(SEED_POOLS, load_balancers=1, volumes=volumes)
    assert result["monthly_min"] == 88.50


def test_ha_control_plane_adds_40_dollars():
    without = estimate(SEED_POOLS, volumes=SEED_VOLUMES)
    with_ha = estimate(SEED_POOLS, volumes=SEED_VOLUMES, ha=True)
    assert with_ha["monthly_min"] - without["monthly_min"] == 40.00


def test_fixed_pool_and_several_load_balancer_nodes():
    pools = [{"name": "fixed", "size": "s-1vcpu-2gb", "count": 2}]
    result = estimate(pools, load_balancers=2, load_balancer_nodes=3)
    assert result["monthly_min"] == result["monthly_max"] == 2 * 12.00 + 6 * 12.00


def test_unknown_size_names_the_price_file():
    with pytest.raises(CostError) as err:
        estimate([{"name": "gpu", "size": "gpu-h100x1-80gb", "count": 1}])
    assert "_do_prices.py" in str(err.value)


@pytest.mark.parametrize(
    ("size", "gib"),
    [("20Gi", 20), ("1Ti", 1024), ("10G", 10), ("512Mi", 1), ("5", 5), (7, 7), ("1.5Gi", 2)],
)
def test_volume_sizes_round_up_to_whole_gib(size, gib):
    assert volume_gib(size) == gib


def test_volume_size_that_is_not_a_quantity_is_refused():
    with pytest.raises(CostError):
        volume_gib("twenty gigs")


def test_summary_shows_the_range_and_the_price_date():
    text = summary(estimate(SEED_POOLS, volumes=SEED_VOLUMES), "hackathon-todo")
    assert text.startswith("DOKS hackathon-todo: $88.00/month at the minimum node counts, up to")
    assert "$136.00/month" in text
    assert f"prices as of {prices.PRICES_AS_OF}" in text


def test_price_table_is_dated():
    datetime.date.fromisoformat(prices.PRICES_AS_OF)
    assert prices.NODE_MONTHLY["s-2vcpu-4gb"] == 24.00


def test_the_deploy_runbook_quotes_what_the_estimate_prints():
    runbook = ROOT / "docs/runbooks/deploy.md"
    found = re.search(
        r"comes to \$([\d.]+)/month at 3 nodes \(\$([\d.]+) at 5\)", runbook.read_text()
    )
    assert found, "docs/runbooks/deploy.md no longer quotes the seed layout's monthly cost"
    result = estimate(SEED_POOLS, load_balancers=1, volumes=SEED_VOLUMES, ha=False)
    assert (float(found[1]), float(found[2])) == (result["monthly_min"], result["monthly_max"])


# -- one node_pools list for doks_cluster and doks_cost_estimate ---------------------------------


class _Captured(Exception):
    pass


def argument_spec_of(module, monkeypatch) -> dict:
    """The argument spec a module's main() hands to AnsibleModule (nothing else runs)."""

    def capture(**kwargs):
        raise _Captured(kwargs["argument_spec"])

    monkeypatch.setattr(module, "AnsibleModule", capture)
    with pytest.raises(_Captured) as captured:
        module.main()
    return captured.value.args[0]


def test_cost_estimate_takes_the_node_pools_doks_cluster_takes(monkeypatch):
    """A role passes one node_pools variable to both modules: what one accepts (or refuses), the
    other must accept (or refuse) too, taints included."""
    from ansible_collections.hackathon_todo.deploy.plugins.modules import (
        doks_cluster,
        doks_cost_estimate,
    )

    cluster = argument_spec_of(doks_cluster, monkeypatch)["node_pools"]
    cost = argument_spec_of(doks_cost_estimate, monkeypatch)["node_pools"]
    assert cost["options"] == cluster["options"]
    assert cost["options"]["taints"]["options"]["effect"]["required"] is True
