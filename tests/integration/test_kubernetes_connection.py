"""The collection's Kubernetes modules take their connection the way kubernetes.core's do: from
K8S_AUTH_KUBECONFIG / K8S_AUTH_CONTEXT, or once per play through
module_defaults: group/hackathon_todo.deploy.kubernetes."""

from __future__ import annotations

from tests.ansible_run import run_module, run_playbook

PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/hackathon_todo.deploy.kubernetes:
      kubeconfig: {kubeconfig}
  tasks:
    - name: Read the lock of a namespace with the group's connection
      hackathon_todo.deploy.release_lock:
        namespace: default
        holder: connection-test
        state: released
"""


def test_environment_fallbacks(kube_cluster, cluster_crds, tmp_path):
    clean = {"HOME": str(tmp_path), "KUBECONFIG": ""}
    env = {**clean, "K8S_AUTH_KUBECONFIG": str(kube_cluster.kubeconfig)}
    args = {"namespace": "default", "host": "nothing.example", "fail_when_not_ready": False}
    ok = run_module("hackathon_todo.deploy.certificate_status", args, env=env)
    assert not ok.failed and ok.result["ready"] is False, ok.stdout
    assert "no cert-manager Certificate covers nothing.example" in ok.result["problem"]

    wrong = run_module(
        "hackathon_todo.deploy.certificate_status",
        args,
        env={**env, "K8S_AUTH_CONTEXT": "no-such-context"},
    )
    assert wrong.failed and "no-such-context" in wrong.stdout, wrong.stdout


def test_module_defaults_group(kube_cluster, tmp_path):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(kubeconfig=kube_cluster.kubeconfig))
    proc = run_playbook(play, env={"HOME": str(tmp_path), "KUBECONFIG": ""})
    assert proc.returncode == 0, proc.stdout[-3000:]
