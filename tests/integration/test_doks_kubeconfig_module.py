"""doks_kubeconfig through real ansible against the DigitalOcean API stand-in.

A run that starts with no kubeconfig takes short-lived credentials for the existing cluster:
mode 0600, asked for with expiry_seconds. A second run inside half their lifetime changes
nothing. Check mode writes nothing. state=absent removes the file without a token. A missing
cluster, a cluster still provisioning or a bad token fail clearly and write nothing, and the
token never shows.
"""

from __future__ import annotations

import os
import stat

from tests.ansible_run import run_module

POOL = {"name": "workers", "size": "s-2vcpu-4gb", "count": 3}


def args(do_api, path, **extra) -> dict:
    return {
        "api_url": do_api.api_url,
        "token": do_api.token,
        "cluster_name": "hackathon-todo",
        "path": str(path),
        **extra,
    }


def test_writes_private_short_lived_credentials_once(do_api, tmp_path):
    cluster = do_api.add_cluster("hackathon-todo", [dict(POOL)])
    path = tmp_path / "run" / "hackathon-todo.kubeconfig"

    check = run_module("hackathon_todo.deploy.doks_kubeconfig", args(do_api, path), check=True)
    assert check.changed and check.result["reason"] == "missing", check.stdout
    assert not path.exists()

    first = run_module("hackathon_todo.deploy.doks_kubeconfig", args(do_api, path))
    assert first.changed and not first.failed, first.stdout
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert f"server: {cluster['endpoint']}" in path.read_text()
    assert first.result["cluster_id"] == cluster["id"] and first.result["expires_at"]
    kubeconfig_calls = [r for r in do_api.requests if r.path.endswith("/kubeconfig")]
    assert kubeconfig_calls  # check mode read it too, to say whether the file would change
    assert {r.query.get("expiry_seconds") for r in kubeconfig_calls} == {"3600"}
    assert all(r.method == "GET" for r in do_api.requests)  # it never writes to DigitalOcean

    again = run_module("hackathon_todo.deploy.doks_kubeconfig", args(do_api, path))
    assert not again.changed, again.stdout

    os.chmod(path, 0o644)
    widened = run_module("hackathon_todo.deploy.doks_kubeconfig", args(do_api, path))
    assert widened.changed and widened.result["reason"] == "mode 0644, not 0600"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    gone = run_module(
        "hackathon_todo.deploy.doks_kubeconfig",
        {"cluster_name": "hackathon-todo", "path": str(path), "state": "absent"},
    )
    assert gone.changed and not path.exists(), gone.stdout
    assert not run_module(
        "hackathon_todo.deploy.doks_kubeconfig",
        {"cluster_name": "hackathon-todo", "path": str(path), "state": "absent"},
    ).changed


def test_no_cluster_or_one_not_running_writes_nothing(do_api, tmp_path):
    path = tmp_path / "k"
    missing = run_module("hackathon_todo.deploy.doks_kubeconfig", args(do_api, path))
    assert missing.failed
    assert (
        "No DOKS cluster named hackathon-todo in this DigitalOcean account"
        in (missing.result["msg"])
    )
    do_api.provisioning_delay = 3600
    do_api.add_cluster("hackathon-todo", [dict(POOL)], running=False)
    busy = run_module("hackathon_todo.deploy.doks_kubeconfig", args(do_api, path))
    assert busy.failed and "is provisioning, not running" in busy.result["msg"], busy.stdout
    assert not path.exists()


def test_a_bad_token_fails_clearly_and_never_shows(do_api, tmp_path):
    do_api.add_cluster("hackathon-todo", [dict(POOL)])
    secret = "dop_v1_" + "9" * 64
    bad = run_module(
        "hackathon_todo.deploy.doks_kubeconfig",
        args(do_api, tmp_path / "k", token=secret),
        verbosity=4,
    )
    assert bad.failed and "401" in bad.result["msg"], bad.stdout
    assert secret not in bad.stdout + bad.stderr
    assert not (tmp_path / "k").exists()

    none = run_module(
        "hackathon_todo.deploy.doks_kubeconfig",
        {"api_url": do_api.api_url, "cluster_name": "hackathon-todo", "path": str(tmp_path / "k")},
        env={"DIGITALOCEAN_ACCESS_TOKEN": ""},
    )
    assert none.failed and "No DigitalOcean API token" in none.result["msg"]
