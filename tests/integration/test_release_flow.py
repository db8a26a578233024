"""`release.yml` / `rollback.yml` on the local test bed, after `bootstrap.yml` (session fixture).

The tests run in file order and share the staging environment's release history, like an
operator's day: first release, no-op, --check, upgrade under watch, a tag that never gets ready,
a failing smoke check, two releases at once, a killed release, bad inputs, a rotated secret that
must never show up in output. Staging has one pod per service, so each run is short.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import yaml

from plugins.module_utils._conventions import SECRET_NAME, release_name
from tests import cert_manager_objects as cert_manager
from tests.ansible_run import ROOT, run_playbook
from tests.helm import admitted_namespaces
from tests.smoke_endpoints import EndpointServer, closed_port, make_ca, make_leaf

ENV = "staging"
RELEASE = release_name(ENV)
FAIL_LABEL = {"global": {"podLabels": {"testbed.hackathon-todo.dev/readiness": "fail"}}}
KINDS = "deployments,replicasets,secrets,configmaps,services,leases,networkpolicies"


def _recap(stdout: str) -> dict[str, dict[str, int]]:
    out = {}
    for host, fields in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", stdout, flags=re.M):
        out[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", fields)}
    return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def release(bootstrapped, kube_cluster, reports):
    """Run release.yml (or another playbook) against staging; returns (proc, report)."""
    subprocess.run(
        [
            "helm",
            "uninstall",
            RELEASE,
            "-n",
            ENV,
            "--wait",
            "--kubeconfig",
            kube_cluster.kubeconfig,
        ],
        capture_output=True,
        check=False,
    )
    # the Deployments' ReplicaSets and pods go by garbage collection, after `helm uninstall`
    kube_cluster.kubectl(
        "-n",
        ENV,
        "wait",
        "--for=delete",
        "replicasets,pods",
        "--timeout=120s",
        f"-l=app.kubernetes.io/instance={RELEASE}",
        check=False,
    )
    chart = os.environ.get("HTD_CHART_DIR")  # until chart/ is in this tree (see the README)

    def run(*args, playbook="release.yml", extra=None, env=None, verbose=0, timeout=900):
        cmd = [playbook, "-e", f"target={ENV}"]
        if chart:
            cmd += ["-e", f"app_release_chart_dir={chart}"]
        if extra:
            cmd += ["-e", json.dumps(extra)]
        cmd += list(args)
        if verbose:
            cmd.append("-" + "v" * verbose)
        # A directory per run: two runs at once (the lock tests) must not read each other's report.
        out = pathlib.Path(tempfile.mkdtemp(dir=reports))
        proc = run_playbook(*cmd, env={"HTD_REPORT_DIR": str(out), **(env or {})}, timeout=timeout)
        name = "rollback" if "rollback" in str(playbook) else "release"
        path = out / f"{name}-{ENV}.json"
        report = json.loads(path.read_text()) if path.exists() else {}
        if path.exists():
            path.unlink()
        return proc, report

    return run


def helm_history(kube_cluster):
    res = subprocess.run(
        [
            "helm",
            "history",
            RELEASE,
            "-n",
            ENV,
            "-o",
            "json",
            "--kubeconfig",
            kube_cluster.kubeconfig,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return json.loads(res.stdout) if res.returncode == 0 else []


def live(kube_cluster) -> dict:
    hist = helm_history(kube_cluster)
    return hist[-1] if hist else {}


def versions(kube_cluster) -> dict[str, str]:
    items = json.loads(kube_cluster.kubectl("-n", ENV, "get", KINDS, "-o", "json").stdout)["items"]
    return {f"{i['kind']}/{i['metadata']['name']}": i["metadata"]["resourceVersion"] for i in items}


def test_first_release_then_no_change(release, kube_cluster):
    proc, report = release("-e", "image_tag=v1.0.0")
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert report["outcome"] == "succeeded"
    assert report["revision_after"] == 1 and report["app_version"] == "v1.0.0"
    assert len(report["images"]) == 5 and all(i.endswith(":v1.0.0") for i in report["images"])
    assert set(report["durations_s"]) >= {"preflight", "helm", "verify", "total"}
    assert report["smoke"]["status"] == "skipped" and "no data plane" in report["smoke"]["summary"]
    assert live(kube_cluster)["app_version"] == "v1.0.0"  # appVersion = tag
    record = kube_cluster.kubectl(
        "-n", ENV, "get", "configmap", f"{RELEASE}-record-1", "-o", "json"
    )
    assert json.loads(json.loads(record.stdout)["data"]["report.json"])["outcome"] == "succeeded"

    again, report = release("-e", "image_tag=v1.0.0")
    assert again.returncode == 0, again.stdout[-5000:]
    assert _recap(again.stdout)[ENV]["changed"] == 0
    assert report["outcome"] == "unchanged" and report["revision_after"] == 1


def test_check_mode_changes_no_object(release, kube_cluster):
    before = versions(kube_cluster)
    proc, report = release("-e", "image_tag=v1.1.0", "--check")
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert f"Would upgrade {RELEASE}" in proc.stdout
    assert report["outcome"] == "checked"
    assert versions(kube_cluster) == before
    assert live(kube_cluster)["revision"] == 1


def test_upgrade_never_drops_available_below_desired(release, kube_cluster):
    low: list[str] = []
    stop = threading.Event()
    watch = subprocess.Popen(
        [
            "kubectl",
            "--kubeconfig",
            str(kube_cluster.kubeconfig),
            "-n",
            ENV,
            "get",
            "deployments",
            "--watch",
            "--output-watch-events",
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )

    def read():
        dec, buf = json.JSONDecoder(), ""
        for line in watch.stdout:
            buf += line
            try:
                event = dec.raw_decode(buf.strip())[0]
            except ValueError:
                continue
            buf = ""
            d = event["object"]
            want = d["spec"].get("replicas", 1)
            have = d.get("status", {}).get("availableReplicas", 0)
            if have < want:
                low.append(f"{d['metadata']['name']}: {have}/{want}")
            if stop.is_set():
                break

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(1)
    proc, report = release("-e", "image_tag=v1.1.0")
    stop.set()
    watch.terminate()
    reader.join(timeout=5)
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert report["outcome"] == "succeeded" and report["revision_after"] == 2
    assert low == [], f"available replicas fell below desired: {low}"


def test_tag_that_never_gets_ready_is_rolled_back(release, kube_cluster):
    proc, report = release(
        "-e",
        "image_tag=v1.2.0",
        extra={"app_release_extra_values": FAIL_LABEL, "app_release_helm_timeout": "40s"},
    )
    assert proc.returncode != 0
    assert report["outcome"] == "failed"
    assert report["failed_deployments"], report
    assert all(d.startswith(f"{ENV}/{RELEASE}-") for d in report["failed_deployments"])
    assert "--rollback-on-failure rolled" in report["error"]
    now = live(kube_cluster)
    assert now["status"] == "deployed" and now["app_version"] == "v1.1.0"


HELM_LOSES_THE_CLUSTER = """#!/usr/bin/env bash
# The real Helm, except that once an upgrade has failed the cluster stops answering `helm history`
# (an API server that went away right after Helm's rollback).
if [[ $1 == history && -e {marker} ]]; then
  echo 'Error: Kubernetes cluster unreachable: connection refused' >&2
  exit 1
fi
{helm} "$@"; rc=$?
if [[ $1 == upgrade && $rc -ne 0 ]]; then touch {marker}; fi
exit $rc
"""


def test_a_failed_upgrade_is_reported_even_when_the_history_cannot_be_read(
    release, kube_cluster, tmp_path
):
    """What went wrong is Helm's upgrade: a history read that fails after it must not take its
    place in the report (the pods' reasons, the Deployments, the rollback)."""
    helm = tmp_path / "helm"
    helm.write_text(
        HELM_LOSES_THE_CLUSTER.format(marker=tmp_path / "failed", helm=shutil.which("helm"))
    )
    helm.chmod(0o755)
    proc, report = release(
        "-e",
        "image_tag=v1.2.1",
        extra={
            "app_release_extra_values": FAIL_LABEL,
            "app_release_helm_timeout": "15s",
            "app_release_helm_binary": str(helm),
        },
    )
    assert proc.returncode != 0
    assert report["outcome"] == "failed", report
    assert report["failed_deployments"], report
    assert "--rollback-on-failure rolled" in report["error"], report["error"]
    assert "Deployments that never became ready" in report["error"], report["error"]
    assert "the live revision could not be read" in report["error"], report["error"]
    assert "Deployments that never became ready" in proc.stdout
    assert f"never ready: {ENV}/{RELEASE}-" in proc.stdout  # the summary says it too
    now = live(kube_cluster)
    assert now["status"] == "deployed" and now["app_version"] == "v1.1.0"


@pytest.fixture(scope="module")
def failing_endpoint(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = make_ca(d, "Hackathon Test CA", "Hackathon Test Root R1")
    cert = make_leaf(d, ca, "staging", dns=["localhost"], ips=["127.0.0.1"])[0]
    with EndpointServer(cert) as srv:
        yield {"ca": str(ca.pem_path), "url": srv.url("", host="localhost").rstrip("/")}


def test_failing_smoke_check_rolls_back(release, kube_cluster, failing_endpoint):
    extra = {
        "app_release_smoke": True,
        "app_release_smoke_base_url": failing_endpoint["url"],
        "app_release_smoke_health_path": "/status/500",
        "app_release_smoke_http_url": "",
        "app_release_smoke_ca_path": failing_endpoint["ca"],
        "app_release_smoke_issuer": "Hackathon Test",
        "app_release_smoke_deadline": 0,
    }
    proc, report = release("-e", "image_tag=v1.3.0", extra=extra)
    assert proc.returncode != 0
    assert report["outcome"] == "rolled back", report
    assert report["smoke"]["status"] == "failed" and "500" in report["smoke"]["summary"]
    now = live(kube_cluster)
    assert now["status"] == "deployed" and now["app_version"] == "v1.1.0"


@pytest.mark.parametrize(("path", "ok"), [("/health", True), ("/status/503", False)])
def test_smoke_playbook_alone(failing_endpoint, path, ok):
    """smoke.yml runs the release's smoke checks alone (a local HTTPS stand-in for the host)."""
    extra = {
        "app_release_smoke": True,
        "app_release_smoke_base_url": failing_endpoint["url"],
        "app_release_smoke_health_path": path,
        "app_release_smoke_http_url": "",
        "app_release_smoke_ca_path": failing_endpoint["ca"],
        "app_release_smoke_issuer": "Hackathon Test",
        "app_release_smoke_deadline": 0,
    }
    proc = run_playbook("smoke.yml", "-e", f"target={ENV}", "-e", json.dumps(extra))
    if ok:
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert "staging: smoke checks passed — 1 of 1 smoke check passed" in proc.stdout
    else:
        assert proc.returncode != 0
        assert "staging: smoke checks failed" in proc.stdout and "503" in proc.stdout


def test_two_releases_at_once(release, kube_cluster):
    results = {}

    def go(name):
        results[name] = release("-e", "image_tag=v1.4.0", extra={"app_release_lock_wait": 5})

    threads = [threading.Thread(target=go, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(p.returncode for p, _report in results.values())
    assert codes[0] == 0, [p.stdout[-3000:] for p, _report in results.values()]
    for proc, _report in results.values():
        if proc.returncode != 0:
            assert "release lock staging/hackathon-todo-release is held by" in proc.stdout
    assert not live(kube_cluster)["status"].startswith("pending")
    assert live(kube_cluster)["app_version"] == "v1.4.0"


def test_killed_release_is_recovered(release, kube_cluster, reports):
    chart = os.environ.get("HTD_CHART_DIR")
    cmd = [
        "ansible-playbook",
        "release.yml",
        "-e",
        f"target={ENV}",
        "-e",
        "image_tag=v1.5.0",
        "-e",
        json.dumps({"app_release_extra_values": FAIL_LABEL, "app_release_lock_ttl": 20}),
    ]
    if chart:
        cmd += ["-e", f"app_release_chart_dir={chart}"]
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "HTD_REPORT_DIR": str(reports),
    }
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and live(kube_cluster).get("status") != "pending-upgrade":
        time.sleep(1)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole run, Helm included
    proc.wait()
    assert live(kube_cluster)["status"] == "pending-upgrade"

    again, report = release("-e", "image_tag=v1.5.0", extra={"app_release_lock_ttl": 20})
    assert again.returncode == 0, again.stdout[-5000:]
    assert "pending-upgrade" in report["recovery"]
    assert report["lock"]["took_over_from"]
    now = live(kube_cluster)
    assert now["status"] == "deployed" and now["app_version"] == "v1.5.0"


def test_rollback_playbook(release, kube_cluster):
    proc, report = release(playbook="rollback.yml")
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert report["outcome"] == "succeeded"
    assert live(kube_cluster)["app_version"] == "v1.4.0"


# After the rollback test: the failed upgrade this adds would change what "previous" means there.
def test_a_release_that_waited_for_the_lock_reads_the_release_again(release, kube_cluster):
    """Run B reads the release while run A holds the lock mid-upgrade (pending-upgrade). When A is
    done and B gets the lock, what B read is stale: a real run showed B "recover" A's finished
    release as if a killed client had left it. B must look again under the lock."""
    results = {}

    def first():
        results["a"] = release(
            "-e",
            "image_tag=v1.6.0",
            extra={"app_release_extra_values": FAIL_LABEL, "app_release_helm_timeout": "20s"},
        )

    a = threading.Thread(target=first)
    a.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and live(kube_cluster).get("status") != "pending-upgrade":
        time.sleep(0.5)
    assert live(kube_cluster).get("status") == "pending-upgrade"
    b_proc, b_report = release("-e", "image_tag=v1.4.0", extra={"app_release_lock_wait": 300})
    a.join()
    a_proc, _a_report = results["a"]
    assert a_proc.returncode != 0  # never ready: rolled back to v1.4.0
    assert b_proc.returncode == 0, b_proc.stdout[-4000:]
    assert not b_report.get("recovery"), b_report
    assert b_report["outcome"] == "unchanged", b_report
    now = live(kube_cluster)
    assert now["status"] == "deployed" and now["app_version"] == "v1.4.0"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("malformed tag", 'malformed image tag "v1..0 bad"'),
        ("unknown environment", 'unknown environment "qa"'),
        ("missing secret key", "lacks the keys OPENAI_API_KEY"),
        ("unreachable cluster", "cannot reach the Kubernetes API server"),
        ("missing Dapr configuration", "the pods name the Dapr Configuration appconfig"),
        # valid for the chart's schema, refused by the API server's validation (the dry run)
        ("objects the API server refuses", "The API server rejects 5 of the release's "),
    ],
)
def test_bad_input_changes_nothing(release, kube_cluster, tmp_path, case, message):
    before = versions(kube_cluster)
    args, extra, saved = ["-e", "image_tag=v1.6.0"], None, {}
    if case == "malformed tag":
        args, extra = [], {"image_tag": "v1..0 bad"}
    elif case == "unknown environment":
        args += ["-e", "target=qa"]
    elif case == "unreachable cluster":
        cfg = yaml.safe_load(pathlib.Path(kube_cluster.kubeconfig).read_text())
        cfg["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
        bad = tmp_path / "kubeconfig"
        bad.write_text(yaml.safe_dump(cfg))
        extra = {"app_release_kubeconfig": str(bad)}
    elif case == "missing secret key":
        kube_cluster.kubectl(
            "-n",
            ENV,
            "patch",
            "secret",
            SECRET_NAME,
            "--type=json",
            "-p",
            '[{"op": "remove", "path": "/data/OPENAI_API_KEY"}]',
        )
        before = versions(kube_cluster)
    elif case == "objects the API server refuses":
        extra = {
            "app_release_extra_values": {
                "global": {"podLabels": {"testbed.hackathon-todo.dev/bad": "not a label value!"}}
            }
        }
    elif case == "missing Dapr configuration":
        saved = json.loads(
            kube_cluster.kubectl(
                "-n", ENV, "get", "configurations.dapr.io", "appconfig", "-o", "json"
            ).stdout
        )
        kube_cluster.kubectl("-n", ENV, "delete", "configurations.dapr.io", "appconfig")
        before = versions(kube_cluster)
    try:
        proc = release(*args, extra=extra)[0]
        after = versions(kube_cluster)
    finally:
        if saved:
            for key in ("resourceVersion", "uid", "creationTimestamp", "generation"):
                saved["metadata"].pop(key, None)
            kube_cluster.kubectl("apply", "-f", "-", input=json.dumps(saved))
        if case == "missing secret key":
            kube_cluster.kubectl(
                "-n",
                ENV,
                "patch",
                "secret",
                SECRET_NAME,
                "--type=merge",
                "-p",
                '{"stringData": {"OPENAI_API_KEY": "sk-fake-restored-by-the-test"}}',
            )
    assert proc.returncode != 0
    assert message in proc.stdout, proc.stdout[-3000:]
    assert case == "unknown environment" or "Nothing was changed" in proc.stdout
    assert after == before
    if case == "objects the API server refuses":  # every Deployment named, the reason once
        refused = proc.stdout.split(message, 1)[1].split("\n", 1)[0]
        names = [f"Deployment {RELEASE}-{s}" for s in ("backend", "frontend", "mcp")]
        assert all(name in refused for name in names), refused
        assert refused.count("Invalid value") == 1, refused
    if case == "unknown environment":  # names the inventory it looked in
        assert "this inventory (local) has staging, production" in proc.stdout, proc.stdout[-3000:]
    # a refusal before Helm's history was read names no live revision (there is one: never 0)
    assert "revision live: 0" not in proc.stdout


SECRETS_PLAY = """
- name: Environment secrets only
  hosts: staging
  gather_facts: false
  roles:
    - role: hackathon_todo.deploy.redpanda_secrets
"""


def test_wrong_broker_password_changes_nothing(bootstrapped, kube_cluster, tmp_path):
    play = tmp_path / "secrets.yml"
    play.write_text(SECRETS_PLAY)
    before = versions(kube_cluster)
    proc = run_playbook(str(play), "-e", "vault_redpanda_admin_password=wrong-password")
    assert proc.returncode != 0
    assert "authentication failed" in proc.stdout, proc.stdout[-3000:]
    assert versions(kube_cluster) == before


def test_rotated_secret_rolls_pods_and_never_shows(release, kube_cluster, tmp_path):
    canary = "canary-7f3a9c1e5d2b-never-print-me"
    vars_file = tmp_path / "canary.yml"
    vars_file.write_text(yaml.safe_dump({"vault_openai_api_key": canary}))
    subprocess.run(
        # ansible.cfg's vault_identity_list provides the throwaway `local` id
        ["ansible-vault", "encrypt", "--encrypt-vault-id", "local", str(vars_file)],
        cwd=ROOT,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
        check=True,
        capture_output=True,
    )
    play = tmp_path / "secrets.yml"
    play.write_text(SECRETS_PLAY)
    if not live(kube_cluster):
        assert release("-e", "image_tag=v1.4.0")[0].returncode == 0
    rev = live(kube_cluster)["revision"]
    secrets = run_playbook(str(play), "-e", f"@{vars_file}", "-vvvv")
    assert secrets.returncode == 0, secrets.stdout[-3000:]
    proc, report = release("-e", "image_tag=v1.4.0", "-e", f"@{vars_file}", verbose=4)
    assert proc.returncode == 0, proc.stdout[-3000:]
    for out in (secrets.stdout, secrets.stderr, proc.stdout, proc.stderr):
        assert canary not in out
    # the secret's digest changed, so the same tag rolled the pods
    assert report["outcome"] == "succeeded" and live(kube_cluster)["revision"] == rev + 1


SERVICES = ["frontend", "backend", "mcp", "notification", "sse-gateway"]


@pytest.mark.parametrize(
    ("pushed", "password", "message"),
    [
        (SERVICES, "token-ok", ""),
        (
            SERVICES[:4],
            "token-ok",
            "has no tag v2.0.0 for hackathon-todo/hackathon-todo/sse-gateway",
        ),
        (SERVICES, "wrong-token", "refused the credentials of ci-bot"),
    ],
)
def test_preflight_checks_images_in_the_registry(release, kube_cluster, pushed, password, message):
    """OCI distribution API with the bearer-token flow, against a local registry stand-in."""
    from tests.standins.registry import RegistryStandIn

    before = versions(kube_cluster)
    images = {(f"hackathon-todo/hackathon-todo/{s}", "v2.0.0") for s in pushed}
    with RegistryStandIn("ci-bot", "token-ok", images) as registry:
        extra = {
            "app_release_registry_url": registry.url,
            "app_release_registry_username": "ci-bot",
            "app_release_registry_password": password,
        }
        proc = release("-e", "image_tag=v2.0.0", "--check", extra=extra)[0]
        heads = registry.count("HEAD")
    assert password not in proc.stdout  # the token tasks are no_log
    assert versions(kube_cluster) == before
    if not message:
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert heads == 5
        return
    assert proc.returncode != 0
    assert message in proc.stdout, proc.stdout[-3000:]
    assert "Nothing was changed" in proc.stdout


def _all_versions(kube_cluster) -> dict[str, str]:
    items = json.loads(
        kube_cluster.kubectl("get", KINDS + ",resourcequotas,namespaces", "-A", "-o", "json").stdout
    )["items"]
    return {
        f"{i['kind']}/{i['metadata'].get('namespace', '')}/{i['metadata']['name']}": i["metadata"][
            "resourceVersion"
        ]
        for i in items
        # the control plane's own leases heartbeat; what drift.yml could touch lives in these
        if i["metadata"].get("namespace", "") in ("", "staging", "production")
    }


def test_drift_changes_nothing_and_reports_isolation(release, kube_cluster):
    before = _all_versions(kube_cluster)
    proc = run_playbook("drift.yml", timeout=900)
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert "isolation of staging, production: OK" in proc.stdout
    assert "app secrets differ between environments: True" in proc.stdout
    assert re.search(r"staging release drift: (none|not released yet)", proc.stdout), proc.stdout[
        -3000:
    ]
    assert _all_versions(kube_cluster) == before


def test_isolation_check_catches_a_shared_acl_and_bootstrap_removes_it(kafka_broker, tmp_path):
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        AdminClient,
        ResourcePatternType,
        ResourceType,
    )

    admin = AdminClient(kafka_broker.client_config())
    stray = AclBinding(
        ResourceType.TOPIC,
        "task-events",  # a production topic
        ResourcePatternType.LITERAL,
        "User:staging-todo-app",
        "*",
        AclOperation.READ,
        AclPermissionType.ALLOW,
    )
    for fut in admin.create_acls([stray]).values():
        fut.result(timeout=30)
    proc = run_playbook("playbooks/isolation.yml")
    assert proc.returncode != 0
    assert "isolation of staging, production: VIOLATED" in proc.stdout
    assert re.search(
        r"(staging and production|production and staging) both have ACLs on task-events:literal",
        proc.stdout,
    )

    # redpanda_secrets declares the account's ACLs with exclusive: true, so it removes the stray one
    play = tmp_path / "secrets.yml"
    play.write_text(SECRETS_PLAY)
    assert run_playbook(str(play)).returncode == 0
    assert run_playbook("playbooks/isolation.yml").returncode == 0


def _release_objects(kube_cluster, kind: str) -> list[dict]:
    """The release's objects of one kind in the environment's namespace."""
    res = kube_cluster.kubectl(
        "-n", ENV, "get", kind, f"-l=app.kubernetes.io/instance={RELEASE}", "-o", "json"
    )
    return json.loads(res.stdout)["items"]


def _ingress_shape(kube_cluster) -> dict:
    ingresses = _release_objects(kube_cluster, "ingress")
    policies = _release_objects(kube_cluster, "networkpolicy")
    return {
        "classes": {i["spec"]["ingressClassName"] for i in ingresses},
        "annotations": {k.split("/")[0] for i in ingresses for k in i["metadata"]["annotations"]},
        "sources": admitted_namespaces(policies),
    }


# -- issue 13 #8: cert-manager's Certificate for the host, Ready and not expiring --------------
# The kwok bed runs no cert-manager controller: the test writes the Certificate and its
# CertificateRequest as cert-manager would, status through the status subresource.
CERT = "staging-todo-tls"


def _host(kube_cluster) -> str:
    return _release_objects(kube_cluster, "ingress")[0]["spec"]["rules"][0]["host"]


@pytest.fixture
def certificate(kube_cluster):
    """certificate(ready, days) puts cert-manager's objects for the staging host: issued with
    `days` left, or the ACME order still pending. Removed after the test."""
    host = _host(kube_cluster)

    def put(ready: bool, days: float = 60):
        cert_manager.put(kube_cluster, CERT, ENV, host, ready, days)
        return host

    yield put
    cert_manager.remove(kube_cluster, CERT, ENV)


def _smoke_certificate_only(**extra):
    settings = {"app_release_certificate_check": True, "app_release_smoke": False, **extra}
    return run_playbook("smoke.yml", "-e", f"target={ENV}", "-e", json.dumps(settings))


def test_smoke_playbook_checks_the_certificate(certificate):
    """smoke.yml: Ready with time left passes; pending issuance and a near expiry fail, quoting
    cert-manager's conditions. Before issue 13 #8 nothing read the Certificate at all."""
    host = certificate(ready=True, days=60.5)
    proc = _smoke_certificate_only()
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert f"Certificate {ENV}/{CERT} for {host} is Ready and expires" in proc.stdout
    assert "(60 days)" in proc.stdout

    certificate(ready=False)
    proc = _smoke_certificate_only()
    assert proc.returncode != 0
    assert "staging: smoke checks failed" in proc.stdout
    assert f"not ready: Ready=False (DoesNotExist: {cert_manager.NOT_ISSUED})" in proc.stdout
    assert f"CertificateRequest {CERT}-1: Approved=True" in proc.stdout
    assert "Ready=False (Pending: Waiting on certificate issuance from order" in proc.stdout

    certificate(ready=True, days=5.5)
    proc = _smoke_certificate_only()
    assert proc.returncode != 0
    assert "in 5 days (under the 14-day threshold); renewal was due" in proc.stdout


def test_no_certificate_for_the_host_says_where_it_would_come_from(certificate):
    proc = _smoke_certificate_only()
    assert proc.returncode != 0
    assert "no cert-manager Certificate covers" in proc.stdout
    assert "cert-manager.io/cluster-issuer" in proc.stdout


def test_an_unreachable_cluster_is_reported_not_a_template_error(tmp_path):
    kubeconfig = tmp_path / "unreachable.kubeconfig"
    cluster = {"server": f"https://127.0.0.1:{closed_port()}", "insecure-skip-tls-verify": True}
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": cluster}],
                "users": [{"name": "u", "user": {"token": "none"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    proc = _smoke_certificate_only(app_release_kubeconfig=str(kubeconfig))
    assert proc.returncode != 0
    assert "staging: smoke checks failed" in proc.stdout, proc.stdout[-3000:]
    assert "the Kubernetes API server:" in proc.stdout


def test_a_release_whose_certificate_is_not_ready_is_rolled_back(
    release, kube_cluster, certificate
):
    before = live(kube_cluster)
    certificate(ready=False)
    extra = {"app_release_certificate_check": True, "app_release_certificate_deadline": 4}
    proc, report = release("-e", "image_tag=v1.7.0", extra=extra)
    assert proc.returncode != 0
    assert report["outcome"] == "rolled back", report
    assert report["certificate"]["status"] == "failed"
    assert "Waiting on certificate issuance from order" in report["certificate"]["summary"]
    assert "the certificate is not ready (Certificate staging/" in report["error"]
    assert "rolled back to revision" in proc.stdout
    assert live(kube_cluster)["app_version"] == before["app_version"]
    assert report["smoke"]["status"] == "not run"

    certificate(ready=True, days=80)
    proc, report = release("-e", "image_tag=v1.7.0", extra=extra)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report["certificate"]["status"] == "passed"
    assert f"{ENV}/{CERT} is Ready, expires" in report["certificate"]["summary"]
    assert live(kube_cluster)["app_version"] == "v1.7.0"


def test_no_value_sets_another_image_tag_than_the_release(release, kube_cluster):
    """The module sets global.imageTag from image_tag itself: the role no longer passes it, and
    extra values cannot make the images differ from the chart's appVersion."""
    other = {"app_release_extra_values": {"global": {"imageTag": "v0.0.1-other"}}}
    proc, report = release("-e", "image_tag=v1.7.1", extra=other)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report["images"] and all(i.endswith(":v1.7.1") for i in report["images"]), report
    assert live(kube_cluster)["app_version"] == "v1.7.1"


# Last in the file: it changes the Ingress and ends on the default controller again.
@pytest.mark.parametrize(
    ("controller", "ingress_class", "vendor", "namespace"),
    [
        ("ingress-nginx", "nginx", "nginx.ingress.kubernetes.io", "ingress-nginx"),
        ("traefik", "traefik", "traefik.ingress.kubernetes.io", "traefik"),
    ],
)
def test_the_apps_ingress_follows_the_platforms_controller(
    release, kube_cluster, controller, ingress_class, vendor, namespace
):
    """Issue 13 #7: with ingress-nginx the app's Ingress stayed className traefik."""
    proc, report = release("-e", "image_tag=v1.4.0", extra={"htd_ingress_controller": controller})
    assert proc.returncode == 0, proc.stdout[-3000:]
    shape = _ingress_shape(kube_cluster)
    # seen once next to the real-node tier: the release succeeded and the class stayed traefik
    why = (
        report.get("outcome"),
        report.get("revision_after"),
        report.get("messages"),
        live(kube_cluster),
    )
    assert shape["classes"] == {ingress_class}, why
    assert vendor in shape["annotations"], shape
    assert namespace in shape["sources"], shape
