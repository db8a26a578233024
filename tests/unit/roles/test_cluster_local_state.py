"""The cluster role's local provider reads the bed it was pointed at: the kubeconfig it hands to
the later roles is the one the bed's scripts wrote into HTD_STATE (the local inventory's
htd_state_dir), not one at a fixed path. A second bed (another HTD_STATE and other ports, as
`make test` runs its kwok tier next to the real-node one) depends on it.

Run for real with ansible-playbook; no component is started (cluster_local_components: []).
"""

from __future__ import annotations

from tests.ansible_run import run_playbook

PLAY = """
- hosts: local-testbed
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: hackathon_todo.deploy.cluster
        tasks_from: local
"""


def test_the_kubeconfig_comes_from_the_beds_state_dir(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "kubeconfig").write_text("# the private bed's kubeconfig\n")
    written = tmp_path / "out" / "kubeconfig"
    written.parent.mkdir()
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    proc = run_playbook(
        str(play),
        "-e",
        '{"cluster_local_components": []}',
        "-e",
        f"htd_kubeconfig={written}",
        env={"HTD_STATE": str(state)},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert written.read_text() == "# the private bed's kubeconfig\n"
    assert oct(written.stat().st_mode & 0o777) == "0o600"
