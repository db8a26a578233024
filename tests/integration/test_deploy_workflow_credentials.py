"""Issue 13 #1: a GitHub Actions deploy starts on a fresh runner with no kubeconfig.

The staging deploy job's steps run in order (tests/workflow_runner.py) in a clean HOME, from a
checkout of this tree, against the DigitalOcean API STAND-IN. The stand-in knows the cluster
`hackathon-todo`, and the kubeconfig it serves points at the test bed's real API server.
release.yml must take short-lived credentials from the API with the job's token, release, and
leave no credentials behind. Without the token the job fails at once and names the secret.
Before the fix the release failed on the missing $HOME/.kube/hackathon-todo.kubeconfig.
"""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import shutil
import subprocess

import pytest

from plugins.module_utils._conventions import release_name
from tests import cert_manager_objects as cert_manager
from tests.ansible_run import ROOT, run_playbook
from tests.workflow_runner import LocalRunner

WORKFLOW = ROOT / ".github/workflows/deploy-staging.yml"
DOMAIN = "todo.test"  # the local bed's htd_domain: the bed's staging Ingress has this host
HOST = f"staging.todo.{DOMAIN}"
# a tag of its own per run, so the release really upgrades (not a no-op of an earlier run)
TAG = f"sha-{secrets.token_hex(4)[:7]}"
VAULT_PASSWORD = "workflow-test-vault-password"
# This checkout's staging is the kwok bed: no data plane, so no HTTP smoke checks and no Dapr
# injector (the real-node tier runs both). The certificate check runs, on a Certificate the test
# writes.
CHECKOUT_SETTINGS = """\
# Added by tests/integration/test_deploy_workflow_credentials.py to its own checkout.
app_release_smoke: false
app_release_dapr_sidecar_check: false
app_release_certificate_deadline: 5
"""


@pytest.fixture
def checkout(tmp_path):
    """What actions/checkout leaves: this tree's files (tracked and new, not ignored)."""
    dest = tmp_path / "checkout"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file() or src.is_symlink():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if src.is_symlink():
                target.symlink_to(src.readlink())
            else:
                shutil.copy2(src, target)
    (dest / "inventories/staging/group_vars/all/testbed.yml").write_text(CHECKOUT_SETTINGS)
    return dest


@pytest.fixture
def doks(do_api, kube_cluster):
    do_api.kubeconfig = kube_cluster.kubeconfig.read_text()
    do_api.add_cluster(
        "hackathon-todo", [{"name": "worker-pool", "size": "s-2vcpu-4gb", "count": 3}]
    )
    return do_api


@pytest.fixture
def certificate(kube_cluster):
    cert_manager.put(
        kube_cluster, "staging-workflow-tls", "staging", HOST, ready=True, days_left=70
    )
    yield
    cert_manager.remove(kube_cluster, "staging-workflow-tls", "staging")


def _runner(checkout, tmp_path, do_api, token):
    contexts = {
        "inputs": {"image-tag": TAG},
        "vars": {"DOMAIN": DOMAIN},
        "secrets": {"DIGITALOCEAN_ACCESS_TOKEN": token, "ANSIBLE_VAULT_PASSWORD": VAULT_PASSWORD},
        "github": {"event_name": "workflow_dispatch", "server_url": "https://github.invalid",
                   "repository": "hackathon-todo/deploy", "run_id": "1"},
    }  # fmt: skip
    env = {
        # the stand-in in place of api.digitalocean.com (the DigitalOcean modules' own setting)
        "DIGITALOCEAN_API_URL": do_api.api_url,
        # actions/cache restoring the toolchain
        "HTD_CACHE": os.environ.get("HTD_CACHE")
        or str(pathlib.Path.home() / ".cache/hackathon-todo-deploy"),
    }
    return LocalRunner(checkout, tmp_path / "runner", contexts, env)


def test_the_staging_deploy_job_releases_from_a_fresh_runner(
    bootstrapped, kube_cluster, doks, certificate, checkout, tmp_path
):
    runner = _runner(checkout, tmp_path, doks, doks.token)
    runs = runner.run_job(WORKFLOW, "release")
    output = "\n".join(r.output for r in runs)
    assert [r.returncode for r in runs] == [0] * len(runs), output[-6000:]
    assert "ansible-playbook release.yml -i staging" in [r.name for r in runs]

    report = json.loads((checkout / "reports/release-staging.json").read_text())
    assert report["outcome"] == "succeeded" and report["app_version"] == TAG, report
    assert report["certificate"]["status"] == "passed", report["certificate"]
    assert f"Staging release of `{TAG}`" in runner.summary.read_text()

    # short-lived credentials from the API, in a private file, gone at the end
    asked = [r for r in doks.requests if r.path.endswith("/kubeconfig")]
    assert asked and {r.query.get("expiry_seconds") for r in asked} == {"3600"}
    assert not list(runner.temp.glob("*.kubeconfig")), list(runner.temp.iterdir())
    kube = runner.home / ".kube"  # only clients' discovery caches may be there
    assert [p for p in kube.rglob("*") if p.is_file() and "cache" not in p.parts] == []
    assert doks.token not in output and VAULT_PASSWORD not in output


def test_without_the_token_the_job_fails_at_once_naming_the_secret(doks, checkout, tmp_path):
    runner = _runner(checkout, tmp_path, doks, "")
    runs = runner.run_job(WORKFLOW, "release")
    release = next(r for r in runs if r.name == "ansible-playbook release.yml -i staging")
    assert release.returncode != 0
    assert "::error::secret DIGITALOCEAN_ACCESS_TOKEN not set" in release.output
    assert "PLAY" not in release.output  # ansible never started
    assert doks.requests == []


def _history(kube_cluster) -> str:
    return subprocess.run(
        ["helm", "history", release_name("staging"), "-n", "staging", "-o", "json",
         "--kubeconfig", str(kube_cluster.kubeconfig)],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip


def test_the_playbook_alone_without_token_or_kubeconfig_names_what_to_set(
    bootstrapped, kube_cluster, tmp_path
):
    """An AWX job without the DigitalOcean credential: release.yml fails before anything runs."""
    home = tmp_path / "home"
    home.mkdir()
    before = _history(kube_cluster)
    proc = run_playbook(
        "release.yml", "-i", "staging", "-e", f"image_tag={TAG}", "-e", f"htd_domain={DOMAIN}",
        env={"HOME": str(home), "DIGITALOCEAN_ACCESS_TOKEN": "", "K8S_AUTH_KUBECONFIG": "",
             "KUBECONFIG": ""},
    )  # fmt: skip
    assert proc.returncode != 0
    assert "No DigitalOcean API token, and no kubeconfig at" in proc.stdout, proc.stdout[-3000:]
    assert "add the secret DIGITALOCEAN_ACCESS_TOKEN" in proc.stdout
    assert "attach the DigitalOcean credential" in proc.stdout
    after = _history(kube_cluster)
    assert after == before
