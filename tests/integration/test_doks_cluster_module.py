"""doks_cluster through real ansible against the DigitalOcean API stand-in.

What a user relies on: the first create writes the kubeconfig (0600); a second run changes
nothing and sends only GETs; drift made in the control panel is reported by check mode and
reconciled by a real run; a change DigitalOcean cannot make fails clearly and changes nothing; a
bad token fails clearly without ever being printed; rate limits and server errors are retried,
validation errors are not.
"""

from __future__ import annotations

import os
import stat

import pytest

from tests.ansible_run import run_module

POOL = {
    "name": "workers",
    "size": "s-2vcpu-4gb",
    "count": 3,
    "auto_scale": True,
    "min_nodes": 3,
    "max_nodes": 5,
}


def declaration(do_api, **extra) -> dict:
    args = {
        "api_url": do_api.api_url,
        "token": do_api.token,
        "name": "hackathon-todo",
        "region": "nyc1",
        "version": "1.36.1-do.0",
        "node_pools": [dict(POOL)],
        "surge_upgrade": True,
        "auto_upgrade": True,
        "maintenance_policy": {"start_time": "04:00", "day": "sunday"},
        "ha": False,
    }
    args.update(extra)
    return args


def seed(do_api, **fields) -> dict:
    """A running cluster matching declaration(), as if created by an earlier run."""
    defaults = {
        "surge_upgrade": True,
        "auto_upgrade": True,
        "maintenance_policy": {"start_time": "04:00", "day": "sunday"},
        "ha": False,
    }
    defaults.update(fields)
    pools = defaults.pop("node_pools", [dict(POOL)])
    return do_api.add_cluster("hackathon-todo", pools, **defaults)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_create_writes_kubeconfig_on_first_create_and_second_run_is_unchanged(do_api, tmp_path):
    kubeconfig = tmp_path / "kube" / "config"
    args = declaration(do_api, kubeconfig_path=str(kubeconfig))

    planned = run_module("doks_cluster", args, check=True)
    assert planned.changed and not planned.failed, planned.result
    assert [(c["action"], c["target"]) for c in planned.result["changes"]] == [
        ("create", "cluster"),
        ("create", "kubeconfig"),
    ]
    assert do_api.writes() == [] and do_api.clusters == {}
    assert not kubeconfig.exists()

    created = run_module("doks_cluster", args, diff=True)
    assert created.changed and not created.failed, created.result
    cluster = do_api.cluster("hackathon-todo")
    assert cluster["status"]["state"] == "running"
    assert created.result["cluster"]["id"] == cluster["id"]
    assert created.result["cluster"]["status"] == "running"
    assert created.result["cluster"]["node_pools"][0]["nodes_running"] == 3
    assert created.result["diff"]["before"] == {}
    assert created.result["diff"]["after"]["version"] == "1.36.1-do.0"
    pool = cluster["node_pools"][0]
    assert (pool["auto_scale"], pool["min_nodes"], pool["max_nodes"]) == (True, 3, 5)
    assert (cluster["surge_upgrade"], cluster["auto_upgrade"], cluster["ha"]) == (True, True, False)
    assert cluster["maintenance_policy"]["day"] == "sunday"
    # the kubeconfig of the FIRST create, private, and nothing of it in the result
    assert kubeconfig.exists() and mode(kubeconfig) == 0o600
    assert mode(kubeconfig.parent) == 0o700
    content = kubeconfig.read_text()
    assert cluster["endpoint"] in content
    token_line = next(line for line in content.splitlines() if "token:" in line)
    assert token_line.split()[-1] not in created.stdout
    assert created.result["kubeconfig_path"] == str(kubeconfig)

    # second run, through a rate limit and a server error on the first read
    do_api.clear_log()
    do_api.fail_next(429, retry_after=1, method="GET", path=r"/clusters$")
    do_api.fail_next(500, method="GET", path=r"/clusters$")
    again = run_module("doks_cluster", args)
    assert not again.changed and not again.failed, again.result
    assert again.result["changes"] == []
    assert do_api.writes() == []
    assert [(r.method, r.path, r.status) for r in do_api.requests] == [
        ("GET", "/v2/kubernetes/clusters", 429),
        ("GET", "/v2/kubernetes/clusters", 500),
        ("GET", "/v2/kubernetes/clusters", 200),
        ("GET", f"/v2/kubernetes/clusters/{cluster['id']}/kubeconfig", 200),
    ]
    # the stand-in issued a new token (as DigitalOcean does); the fresh file is kept as it is
    assert kubeconfig.read_text() == content


def test_drift_and_upgrade_are_reported_in_check_mode_then_reconciled(do_api, tmp_path):
    cluster = seed(do_api, version="1.35.5-do.1")
    # someone edits the cluster in the control panel
    do_api.edit_node_pool("hackathon-todo", "workers", auto_scale=False, count=4)
    do_api.set_cluster("hackathon-todo", auto_upgrade=False)
    do_api.add_node_pool("hackathon-todo", {"name": "adhoc", "size": "s-1vcpu-2gb", "count": 1})
    # the kubeconfig exists and is current, but someone made it world-readable
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(do_api.kubeconfig_text("hackathon-todo"))
    kubeconfig.chmod(0o644)
    batch = {"name": "batch", "size": "s-4vcpu-8gb", "count": 1, "labels": {"role": "batch"}}
    args = declaration(
        do_api,
        node_pools=[dict(POOL), batch],
        kubeconfig_path=str(kubeconfig),
        version="1.36",
        allow_upgrade=True,
    )
    do_api.clear_log()

    planned = run_module("doks_cluster", args, check=True, diff=True)
    assert planned.changed and not planned.failed, planned.result
    changes = {(c["action"], c["target"], c.get("field")) for c in planned.result["changes"]}
    assert changes == {
        ("update", "cluster", "auto_upgrade"),
        ("create", "node_pool/batch", None),
        ("update", "node_pool/workers", "auto_scale"),
        ("update", "node_pool/workers", "min_nodes"),
        ("update", "node_pool/workers", "max_nodes"),
        ("none", "node_pool/adhoc", None),
        ("update", "kubeconfig", "mode"),
        ("upgrade", "cluster", "version"),
    }
    (left,) = [c for c in planned.result["changes"] if c["action"] == "none"]
    assert left["reason"] == "not declared; left running (prune_node_pools: true deletes it)"
    diff = planned.result["diff"]
    assert diff["before"]["node_pools"]["workers"]["auto_scale"] is False
    assert diff["after"]["node_pools"]["workers"]["auto_scale"] is True
    assert "batch" in diff["after"]["node_pools"] and "batch" not in diff["before"]["node_pools"]
    assert (diff["before"]["version"], diff["after"]["version"]) == ("1.35.5-do.1", "1.36.1-do.0")
    assert do_api.writes() == []  # check mode: GETs only
    assert do_api.cluster("hackathon-todo")["node_pools"][0]["auto_scale"] is False
    assert mode(kubeconfig) == 0o644

    do_api.clear_log()
    applied = run_module("doks_cluster", args)
    assert applied.changed and not applied.failed, applied.result
    workers_id = cluster["node_pools"][0]["id"]
    assert sorted(do_api.writes()) == sorted(
        [
            ("PUT", f"/v2/kubernetes/clusters/{cluster['id']}"),
            ("POST", f"/v2/kubernetes/clusters/{cluster['id']}/node_pools"),
            ("PUT", f"/v2/kubernetes/clusters/{cluster['id']}/node_pools/{workers_id}"),
            ("POST", f"/v2/kubernetes/clusters/{cluster['id']}/upgrade"),
        ]
    )
    assert do_api.writes()[-1][1].endswith("/upgrade")  # after the node pool changes
    now = do_api.cluster("hackathon-todo")
    pools = {p["name"]: p for p in now["node_pools"]}
    assert (pools["workers"]["auto_scale"], pools["workers"]["min_nodes"]) == (True, 3)
    assert pools["workers"]["max_nodes"] == 5
    assert pools["batch"]["labels"] == {"role": "batch"}
    assert "adhoc" in pools  # undeclared, reported, not pruned
    assert now["auto_upgrade"] is True
    assert now["version"] == "1.36.1-do.0"
    assert applied.result["cluster"]["status"] == "running"  # waited for the upgrade
    assert mode(kubeconfig) == 0o600
    assert any("adhoc" in w for w in applied.result.get("warnings", []))

    # only prune_node_pools deletes the undeclared pool
    do_api.clear_log()
    pruned = run_module("doks_cluster", dict(args, prune_node_pools=True))
    assert pruned.changed and not pruned.failed, pruned.result
    adhoc_id = pools["adhoc"]["id"]
    assert [(c["action"], c["target"]) for c in pruned.result["changes"]] == [
        ("delete", "node_pool/adhoc")
    ]
    assert do_api.writes() == [
        ("DELETE", f"/v2/kubernetes/clusters/{cluster['id']}/node_pools/{adhoc_id}")
    ]
    assert sorted(p["name"] for p in do_api.cluster("hackathon-todo")["node_pools"]) == [
        "batch",
        "workers",
    ]


def test_size_change_and_unallowed_upgrade_fail_clearly_and_change_nothing(do_api):
    seed(do_api, version="1.35.5-do.1")
    do_api.clear_log()
    bigger = dict(POOL, size="s-4vcpu-8gb", max_nodes=6)
    result = run_module(
        "doks_cluster", declaration(do_api, node_pools=[bigger], version="1.36", tags=["x"])
    )
    assert result.failed and not result.changed
    msg = result.result["msg"]
    assert "node pool workers: size cannot be changed in place" in msg
    assert "add a new pool with size s-4vcpu-8gb" in msg and "drain" in msg
    assert "needs allow_upgrade: true" in msg
    assert msg.endswith("Nothing was changed.")
    assert do_api.writes() == []
    cluster = do_api.cluster("hackathon-todo")
    assert cluster["node_pools"][0]["max_nodes"] == 5  # the mutable change was not made either
    assert cluster["version"] == "1.35.5-do.1"


def test_bad_token_fails_with_the_fix_and_is_never_printed(do_api):
    seed(do_api)
    bad = "dop_v1_" + "0badc0ffee" * 6
    result = run_module("doks_cluster", declaration(do_api, token=bad), verbosity=4)
    assert result.failed and not result.changed
    assert result.result["msg"].startswith("DigitalOcean rejected the API token (401 Unauthorized)")
    assert "DIGITALOCEAN_ACCESS_TOKEN / do_token" in result.result["msg"]
    assert bad not in result.stdout and bad not in result.stderr
    assert do_api.writes() == []
    assert [r.status for r in do_api.requests] == [401]  # not retried


def test_validation_error_is_not_retried_and_carries_the_api_message(do_api):
    result = run_module("doks_cluster", declaration(do_api, tags=["hackathon todo"]))
    assert result.failed and not result.changed
    assert "422 Unprocessable Entity" in result.result["msg"]
    assert (
        "tags may contain letters, numbers, colons, dashes and underscores" in result.result["msg"]
    )
    assert do_api.writes() == [("POST", "/v2/kubernetes/clusters")]
    assert do_api.clusters == {}


@pytest.mark.parametrize("allow", [False, True])
def test_deletion_needs_allow_deletion(do_api, allow):
    seed(do_api)
    args = {
        "api_url": do_api.api_url,
        "token": do_api.token,
        "name": "hackathon-todo",
        "state": "absent",
        "allow_deletion": allow,
    }
    result = run_module("doks_cluster", args)
    if allow:
        assert result.changed and not result.failed, result.result
        assert do_api.clusters == {}
    else:
        assert result.failed and "Set allow_deletion: true" in result.result["msg"]
        assert do_api.writes() == [] and len(do_api.clusters) == 1
