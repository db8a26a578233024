"""The rules behind doks_cluster, as pure functions: versions, drift, what is mutable, request
bodies, and when the kubeconfig file must be rewritten."""

from __future__ import annotations

import json
import os
import time

import pytest
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _doks as doks
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _doks_plan as planner
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kubeconfig import (
    write_reason as kubeconfig_write_reason,
)

OFFERED = ["1.36.1-do.0", "1.35.5-do.1", "1.35.4-do.0", "1.34.8-do.0"]
CID = "bd5f5959-5e1e-4205-a714-a914373942af"


def api_pool(**fields) -> dict:
    pool = {
        "id": "cdda885e-7663-40c8-bc74-3a036c66545d",
        "name": "workers",
        "size": "s-2vcpu-4gb",
        "count": 3,
        "tags": ["k8s", f"k8s:{CID}", "k8s:worker"],
        "labels": None,
        "taints": [],
        "auto_scale": True,
        "min_nodes": 3,
        "max_nodes": 5,
        "nodes": [],
    }
    pool.update(fields)
    return pool


def declared_pool(**fields) -> dict:
    pool = {
        "name": "workers",
        "size": "s-2vcpu-4gb",
        "count": None,
        "auto_scale": True,
        "min_nodes": 3,
        "max_nodes": 5,
        "tags": None,
        "labels": None,
        "taints": None,
    }
    pool.update(fields)
    return pool


# -- versions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "resolved"),
    [
        ("1.36.1-do.0", "1.36.1-do.0"),
        ("1.35", "1.35.5-do.1"),  # newest of the line
        ("1.35.4", "1.35.4-do.0"),
        ("1.36.2-do.0", None),  # a slug must be offered as is
        ("1.37", None),
        ("1.3", None),  # not a prefix of 1.36 / 1.35 by text accident
    ],
)
def test_resolve_version(declared, resolved):
    assert doks.resolve_version(declared, OFFERED) == resolved


def test_prefix_accepts_any_release_of_its_line_on_an_existing_cluster():
    assert doks.version_decision("1.35", "1.35.4-do.0", auto_upgrade=False)[0] == "ok"
    assert doks.version_decision("1.35.4-do.0", "1.35.4-do.0", auto_upgrade=False)[0] == "ok"


def test_newer_declared_version_is_an_upgrade():
    assert doks.version_decision("1.36", "1.35.5-do.1", auto_upgrade=False)[0] == "upgrade"
    assert doks.version_decision("1.35.5-do.1", "1.35.4-do.0", False)[0] == "upgrade"


def test_older_declared_version_is_a_downgrade_error_that_says_what_to_do():
    with pytest.raises(doks.DeclarationError) as err:
        doks.version_decision("1.35.5-do.1", "1.36.1-do.0", auto_upgrade=True)
    assert "cannot downgrade" in str(err.value)
    assert "Declare 1.36.1-do.0" in str(err.value)


def test_a_patch_auto_upgrade_is_not_drift_when_auto_upgrade_is_on():
    assert doks.version_decision("1.35.4-do.0", "1.35.5-do.1", True)[0] == "ok-auto-upgraded"
    with pytest.raises(doks.DeclarationError):
        doks.version_decision("1.35.4-do.0", "1.35.5-do.1", auto_upgrade=False)


# -- declaration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"version": "latest"}, "neither a DigitalOcean slug"),
        ({"node_pools": [declared_pool(), declared_pool()]}, "repeated: workers"),
        ({"node_pools": [declared_pool(min_nodes=None)]}, "needs min_nodes and max_nodes"),
        ({"node_pools": [declared_pool(min_nodes=6)]}, "not above max_nodes"),
        ({"node_pools": [declared_pool(count=9)]}, "outside min_nodes..max_nodes"),
        ({"node_pools": [declared_pool(auto_scale=False)]}, "needs count"),
        ({"maintenance_policy": {"start_time": "25:00", "day": None}}, "HH:MM in UTC"),
    ],
)
def test_validate_declaration_rejects_what_cannot_work(params, message):
    with pytest.raises(doks.DeclarationError) as err:
        doks.validate_declaration(params)
    assert message in str(err.value)


# -- node pools -------------------------------------------------------------------------------


def test_autoscaled_pool_ignores_the_count_the_autoscaler_chose():
    assert doks.pool_differences(declared_pool(count=3), api_pool(count=5), CID) == []


def test_console_edit_of_an_autoscaled_pool_is_drift():
    actual = api_pool(auto_scale=False, count=4, min_nodes=0, max_nodes=0)
    assert doks.pool_differences(declared_pool(), actual, CID) == [
        ("auto_scale", False, True),
        ("min_nodes", 0, 3),
        ("max_nodes", 0, 5),
    ]


def test_fixed_pool_count_drift():
    declared = declared_pool(auto_scale=False, count=3, min_nodes=None, max_nodes=None)
    actual = api_pool(auto_scale=False, count=2, min_nodes=0, max_nodes=0)
    assert doks.pool_differences(declared, actual, CID) == [("count", 2, 3)]


def test_tags_labels_taints_are_compared_only_when_declared_and_without_automatic_tags():
    actual = api_pool(
        tags=["k8s", f"k8s:{CID}", "k8s:worker", "team-a"],
        labels={"tier": "web"},
        taints=[{"key": "dedicated", "value": "web", "effect": "NoSchedule"}],
    )
    assert doks.pool_differences(declared_pool(), actual, CID) == []
    declared = declared_pool(
        tags=["team-a"],
        labels={"tier": "web"},
        taints=[{"key": "dedicated", "value": "web", "effect": "NoSchedule"}],
    )
    assert doks.pool_differences(declared, actual, CID) == []
    changed = declared_pool(tags=["team-b"], labels={}, taints=[])
    assert [d[0] for d in doks.pool_differences(changed, actual, CID)] == [
        "tags",
        "labels",
        "taints",
    ]


def test_size_change_is_refused_with_the_migration_path():
    message = doks.pool_immutable_error(declared_pool(size="s-4vcpu-8gb"), api_pool())
    assert "size cannot be changed in place" in message
    assert "add a new pool" in message and "drain" in message
    assert "prune_node_pools: true" in message
    assert doks.pool_immutable_error(declared_pool(), api_pool()) is None


def test_update_body_sends_back_what_the_task_does_not_manage():
    actual = api_pool(
        tags=["k8s", f"k8s:{CID}", "k8s:worker", "team-a"],
        labels={"tier": "web"},
        taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}],
        count=7,
    )
    body = doks.pool_update_body(declared_pool(max_nodes=6), actual, CID)
    assert body == {
        "name": "workers",
        "count": 6,  # clamped into the new min..max
        "auto_scale": True,
        "min_nodes": 3,
        "max_nodes": 6,
        "tags": ["team-a"],
        "labels": {"tier": "web"},
        "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}],
    }


def test_create_body_starts_an_autoscaled_pool_at_min_nodes():
    body = doks.pool_create_body(declared_pool(tags=["b", "a", "a"]))
    assert body == {
        "name": "workers",
        "size": "s-2vcpu-4gb",
        "count": 3,
        "auto_scale": True,
        "min_nodes": 3,
        "max_nodes": 5,
        "tags": ["a", "b"],
    }


# -- cluster settings -------------------------------------------------------------------------


def api_cluster(**fields) -> dict:
    cluster = {
        "id": CID,
        "name": "hackathon-todo",
        "region": "nyc1",
        "version": "1.36.1-do.0",
        "vpc_uuid": "c33931f2-a26a-4e61-b85c-4e95a2ec431b",
        "tags": ["k8s", f"k8s:{CID}"],
        "maintenance_policy": {"start_time": "04:00", "duration": "4h0m0s", "day": "sunday"},
        "auto_upgrade": True,
        "surge_upgrade": True,
        "ha": False,
        "node_pools": [api_pool()],
    }
    cluster.update(fields)
    return cluster


def test_settings_in_sync_need_no_update_and_times_are_normalised():
    params = {
        "region": "nyc1",
        "auto_upgrade": True,
        "surge_upgrade": True,
        "ha": False,
        "maintenance_policy": {"start_time": "4:00", "day": "sunday"},
        "tags": [],
    }
    assert doks.settings_differences(params, api_cluster()) == []


def test_settings_drift_becomes_one_put_with_the_required_name():
    params = {"auto_upgrade": True, "ha": True, "maintenance_policy": {"day": "monday"}}
    cluster = api_cluster(auto_upgrade=False)
    diffs = doks.settings_differences(params, cluster)
    assert [d[0] for d in diffs] == ["auto_upgrade", "ha", "maintenance_policy"]
    assert doks.cluster_update_body(cluster, diffs) == {
        "name": "hackathon-todo",
        "auto_upgrade": True,
        "ha": True,
        "maintenance_policy": {"start_time": "04:00", "day": "monday"},
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"region": "fra1"}, "a cluster cannot move"),
        ({"vpc_uuid": "other"}, "VPC of a cluster cannot change"),
        ({"ha": False}, "cannot turn it off"),
    ],
)
def test_settings_that_cannot_change_are_errors(params, message):
    with pytest.raises(doks.DeclarationError) as err:
        doks.settings_differences(params, api_cluster(ha=True))
    assert message in str(err.value)


# -- planners: params and API state in, plain data out -------------------------------------------

OPTIONS = {
    "regions": [{"slug": "nyc1"}, {"slug": "fra1"}],
    "versions": [{"slug": slug} for slug in OFFERED],
    "sizes": [{"slug": "s-1vcpu-2gb"}, {"slug": "s-2vcpu-4gb"}, {"slug": "s-4vcpu-8gb"}],
}
PATH = f"/kubernetes/clusters/{CID}"


def params(**fields) -> dict:
    """doks_cluster's module.params for the seed declaration (every option present)."""
    out = {
        "name": "hackathon-todo",
        "state": "present",
        "region": "nyc1",
        "version": "1.36.1-do.0",
        "node_pools": [declared_pool()],
        "auto_upgrade": None,
        "surge_upgrade": None,
        "maintenance_policy": None,
        "ha": None,
        "vpc_uuid": None,
        "tags": None,
        "prune_node_pools": False,
        "allow_upgrade": False,
        "allow_deletion": False,
    }
    out.update(fields)
    return out


def summary(plan) -> list:
    return [(c["action"], c["target"], c.get("field")) for c in plan["changes"].changes]


def requests(plan) -> list:
    return [(method, path) for method, path, _body in plan["changes"].requests]


def test_a_plan_is_plain_data_with_every_key():
    plan = planner.plan_present(params(), api_cluster(node_pools=[]), OPTIONS)
    assert set(plan) == {"changes", "warnings", "error", "diff"}
    assert plan["changes"].steps  # the create of the missing pool, with its POST
    # no closures, no clients: only data
    json.dumps(dict(plan, changes=plan["changes"].steps))


def test_cluster_in_sync_plans_nothing_and_needs_no_options():
    assert planner.needs_options(params(), api_cluster()) is False
    plan = planner.plan_present(params(), api_cluster())
    assert (plan["changes"].changes, plan["changes"].requests, plan["warnings"], plan["error"]) == (
        [],
        [],
        [],
        None,
    )
    assert plan["diff"]["before"] == plan["diff"]["after"]


def test_drift_is_planned_in_the_order_it_is_sent():
    workers = api_pool(auto_scale=False, count=4, min_nodes=0, max_nodes=0)
    adhoc = api_pool(id="p-adhoc", name="adhoc", size="s-1vcpu-2gb", count=1, auto_scale=False)
    cluster = api_cluster(version="1.35.5-do.1", auto_upgrade=False, node_pools=[workers, adhoc])
    batch = declared_pool(name="batch", size="s-4vcpu-8gb", auto_scale=False, count=1)
    declared = params(
        version="1.36", allow_upgrade=True, auto_upgrade=True, node_pools=[declared_pool(), batch]
    )
    assert planner.needs_options(declared, cluster) is True
    plan = planner.plan_present(declared, cluster, OPTIONS)
    assert plan["error"] is None
    assert summary(plan) == [
        ("update", "cluster", "auto_upgrade"),
        ("create", "node_pool/batch", None),
        ("update", "node_pool/workers", "auto_scale"),
        ("update", "node_pool/workers", "min_nodes"),
        ("update", "node_pool/workers", "max_nodes"),
        ("none", "node_pool/adhoc", None),
        ("upgrade", "cluster", "version"),
    ]
    (adhoc_change,) = plan["changes"].select("none").changes
    assert adhoc_change["reason"] == (
        "not declared; left running (prune_node_pools: true deletes it)"
    )
    assert requests(plan) == [
        ("PUT", PATH),
        ("POST", f"{PATH}/node_pools"),
        ("PUT", f"{PATH}/node_pools/{workers['id']}"),
        ("POST", f"{PATH}/upgrade"),
    ]
    assert plan["changes"].requests[0][2] == {"name": "hackathon-todo", "auto_upgrade": True}
    assert plan["changes"].requests[-1][2] == {"version": "1.36.1-do.0"}
    assert plan["warnings"] == [
        "Node pool adhoc of cluster hackathon-todo is not declared in node_pools and was left "
        "running."
    ]
    before, after = plan["diff"]["before"], plan["diff"]["after"]
    assert (before["version"], after["version"]) == ("1.35.5-do.1", "1.36.1-do.0")
    assert "batch" in after["node_pools"] and "batch" not in before["node_pools"]
    assert after["node_pools"]["workers"]["auto_scale"] is True


def test_prune_plans_a_delete_instead_of_a_finding():
    adhoc = api_pool(id="p-adhoc", name="adhoc", auto_scale=False, count=1)
    cluster = api_cluster(node_pools=[api_pool(), adhoc])
    plan = planner.plan_present(params(prune_node_pools=True), cluster)
    assert summary(plan) == [("delete", "node_pool/adhoc", None)]
    assert plan["changes"].requests == [("DELETE", f"{PATH}/node_pools/p-adhoc", None)]
    assert plan["warnings"] == []
    assert "adhoc" not in plan["diff"]["after"]["node_pools"]


def test_what_cannot_be_done_plans_no_request_and_keeps_only_the_findings():
    adhoc = api_pool(id="p-adhoc", name="adhoc", auto_scale=False, count=1)
    cluster = api_cluster(version="1.35.5-do.1", node_pools=[api_pool(), adhoc])
    bigger = declared_pool(size="s-4vcpu-8gb", max_nodes=6)
    plan = planner.plan_present(
        params(version="1.36", tags=["x"], node_pools=[bigger]), cluster, OPTIONS
    )
    assert plan["changes"].requests == [] and plan["diff"] is None
    assert summary(plan) == [("none", "node_pool/adhoc", None)]
    assert plan["changes"].changed is False
    assert "node pool workers: size cannot be changed in place" in plan["error"]
    assert "needs allow_upgrade: true" in plan["error"]
    assert plan["error"].endswith("Nothing was changed.")
    assert plan["error"].count("Nothing was changed.") == 1
    assert len(plan["warnings"]) == 1  # the finding still warns


def test_a_size_that_is_not_offered_stops_a_new_pool():
    declared = params(node_pools=[declared_pool(), declared_pool(name="gpu", size="gpu-h100")])
    plan = planner.plan_present(declared, api_cluster(), OPTIONS)
    assert plan["error"] == (
        "node pool gpu: size gpu-h100 is not offered for Kubernetes (offered: s-1vcpu-2gb, "
        "s-2vcpu-4gb, s-4vcpu-8gb). Nothing was changed."
    )


def test_an_auto_upgraded_patch_is_a_warning_not_a_change():
    cluster = api_cluster(version="1.36.2-do.0")
    assert planner.needs_options(params(), cluster) is False
    plan = planner.plan_present(params(), cluster)
    assert plan["changes"].steps == []
    assert plan["warnings"] == [
        "Cluster hackathon-todo runs 1.36.2-do.0, a newer patch than the declared 1.36.1-do.0: "
        "DigitalOcean auto-upgraded it. Declare 1.36.2-do.0 to pin it."
    ]


def test_a_downgrade_needs_no_options_and_is_an_error():
    cluster = api_cluster(version="1.36.1-do.0", auto_upgrade=False)
    declared = params(version="1.35")
    assert planner.needs_options(declared, cluster) is False
    assert "cannot downgrade" in planner.plan_present(declared, cluster)["error"]


def test_create_plans_one_post_with_the_resolved_version():
    assert planner.needs_options(params(), None) is True
    plan = planner.plan_create(params(version="1.35"), OPTIONS)
    assert summary(plan) == [("create", "cluster", None)]
    assert requests(plan) == [("POST", "/kubernetes/clusters")]
    assert plan["changes"].requests[0][2]["version"] == "1.35.5-do.1"
    assert plan["diff"] == {"before": {}, "after": plan["changes"].changes[0]["after"]}


def test_create_lists_every_problem_and_plans_nothing():
    declared = params(region="mars1", version="1.37", node_pools=[declared_pool(size="huge")])
    plan = planner.plan_create(declared, OPTIONS)
    assert plan["changes"].steps == []
    assert plan["error"].startswith("Cannot create cluster hackathon-todo: region mars1")
    assert "version 1.37 is not offered" in plan["error"] and "size huge" in plan["error"]
    assert plan["error"].endswith(" Nothing was changed.")


def test_absent_plans_a_delete_only_when_allowed():
    gone = planner.plan_absent(params(), None)
    assert (gone["changes"].steps, gone["diff"]) == ([], {"before": {}, "after": {}})
    refused = planner.plan_absent(params(), api_cluster())
    assert "Set allow_deletion: true" in refused["error"] and refused["changes"].requests == []
    plan = planner.plan_absent(params(allow_deletion=True), api_cluster())
    assert plan["changes"].changes == [
        {"action": "delete", "target": "cluster", "name": "hackathon-todo", "id": CID}
    ]
    assert plan["changes"].requests == [("DELETE", PATH, None)]
    assert plan["diff"]["after"] == {}


# -- kubeconfig -------------------------------------------------------------------------------

KUBECONFIG = """apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0E=
    server: https://{cid}.k8s.ondigitalocean.com
  name: do-nyc1-hackathon-todo
contexts:
- context:
    cluster: do-nyc1-hackathon-todo
    user: do-nyc1-hackathon-todo-admin
  name: do-nyc1-hackathon-todo
current-context: do-nyc1-hackathon-todo
kind: Config
preferences: {{}}
users:
- name: do-nyc1-hackathon-todo-admin
  user:
    token: {token}
"""


def test_kubeconfig_rewrite_rules(tmp_path):
    path = tmp_path / "config"
    first = KUBECONFIG.format(cid=CID, token="aaaa")
    assert kubeconfig_write_reason(str(path), first, 3600) == "missing"
    path.write_text(first)
    assert kubeconfig_write_reason(str(path), first, 3600) is None
    # DigitalOcean hands out a new token on every request: not a change while the file is fresh
    assert (
        kubeconfig_write_reason(str(path), KUBECONFIG.format(cid=CID, token="bbbb"), 3600) is None
    )
    # ... but it is once the credentials in the file are older than the refresh age
    old = time.time() - 7200
    os.utime(path, (old, old))
    reason = kubeconfig_write_reason(str(path), KUBECONFIG.format(cid=CID, token="bbbb"), 3600)
    assert reason.startswith("credentials are 7200 s old")
    # another cluster (or a new endpoint / CA) is always a change
    other = KUBECONFIG.format(cid="0" * 8 + CID[8:], token="aaaa")
    path.write_text(first)
    assert (
        kubeconfig_write_reason(str(path), other, 3600) == "cluster, context or user entries differ"
    )
