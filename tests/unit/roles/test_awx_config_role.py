"""playbooks/awx.yml and the role awx_config, run for real with ansible-playbook — up to the
point where an AWX would be needed. Nothing here contacts an AWX: the role's plan-only mode stops
before the first awx.awx module, and bad data fails before it (CONTROLLER_HOST points at a closed
port, so an accidental call would fail loudly instead of reaching anything).

What only a live AWX can show (that AWX accepts these objects) is described in docs/awx.md.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.ansible_run import run_playbook
from tests.testbed import ROOT

ENTRY_POINTS = {"bootstrap.yml", "release.yml", "rollback.yml", "smoke.yml", "drift.yml"}
NO_AWX = {"CONTROLLER_HOST": "http://127.0.0.1:9", "CONTROLLER_OAUTH_TOKEN": "unused"}
CANARY = "canary-do-token-5b0e71"


def _awx(*args, env=None):
    return run_playbook(
        "playbooks/awx.yml", "-i", "inventories/awx", *args, env={**NO_AWX, **(env or {})}
    )


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    out = tmp_path_factory.mktemp("awx") / "plan.json"
    proc = _awx(
        "-e",
        "awx_config_plan_only=true",
        "-e",
        f"awx_config_plan_file={out}",
        env={"AWX_PROJECT_SCM_URL": "https://git.example.invalid/deploy.git"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    return {s["kind"]: {o["name"]: o for o in s["objects"]} for s in data["steps"]} | {
        "_missing": data["missing_inputs"]
    }


def test_syntax_check():
    proc = run_playbook("playbooks/awx.yml", "-i", "inventories/awx", "--syntax-check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_project_objects(plan):
    assert list(plan["organizations"]) == ["hackathon-todo"]
    types = plan["credential_types"]
    assert list(types) == ["DigitalOcean API token", "Redpanda", "Kubeconfig"]
    assert types["DigitalOcean API token"]["injectors"] == {
        "env": {"DIGITALOCEAN_ACCESS_TOKEN": "{{ token }}"}
    }
    assert set(types["Redpanda"]["injectors"]["env"]) >= {"RPK_BROKERS", "RPK_USER", "RPK_PASS"}
    kube = types["Kubeconfig"]["injectors"]
    assert kube["file"] == {"template.kubeconfig": "{{ kubeconfig }}"}
    assert kube["env"]["K8S_AUTH_KUBECONFIG"] == "{{ tower.filename.kubeconfig }}"
    assert kube["extra_vars"] == {"htd_kubeconfig": "{{ tower.filename.kubeconfig }}"}

    project = plan["projects"]["hackathon-todo-deploy"]
    assert project["scm_url"] == "https://git.example.invalid/deploy.git"  # from the environment
    assert project["default_environment"] in plan["execution_environments"]

    assert list(plan["inventories"]) == ["staging", "production"]
    for source in plan["inventory_sources"].values():
        env = source["inventory"]
        assert source["source"] == "scm"
        assert source["source_path"] == f"inventories/{env}/hosts.yml"
        assert (ROOT / source["source_path"]).exists()
        assert source["update_on_launch"] is True

    # Without secrets in the environment, the plan lists what applying would need.
    assert "credential 'DigitalOcean': token" in plan["_missing"]


def test_job_templates_run_the_entry_points(plan):
    jts = plan["job_templates"]
    assert list(jts) == [
        "Bootstrap",
        "Release staging",
        "Release production",
        "Rollback",
        "Smoke",
        "Drift",
    ]
    for jt in jts.values():
        assert jt["playbook"] in ENTRY_POINTS
        assert jt["project"] == "hackathon-todo-deploy"
        assert jt["execution_environment"] == "hackathon-todo-deploy"
        assert "DigitalOcean" in jt["credentials"]
    for env in ("staging", "production"):
        jt = jts[f"Release {env}"]
        assert jt["inventory"] == env and not jt.get("ask_inventory_on_launch")
        # least privilege: a release can decrypt its own environment's secrets only
        assert [c for c in jt["credentials"] if c.startswith("Vault")] == [f"Vault {env}"]
        assert jt["survey_enabled"] is True
        assert [q["variable"] for q in jt["survey_spec"]["spec"]] == ["image_tag"]
        assert jt["survey_spec"]["spec"][0]["required"] is True


def test_image_tag_patterns(plan):
    staging = plan["job_templates"]["Release staging"]["survey_patterns"]["image_tag"]
    production = plan["job_templates"]["Release production"]["survey_patterns"]["image_tag"]
    for tag, ok_staging, ok_production in [
        ("v1.2.3", True, True),
        ("v1.2.3-rc.1", True, True),
        ("sha-0123abc", True, False),
        ("main-latest", False, False),
        ("v1.2", False, False),
        ("v1.2.3; rm -rf /", False, False),
    ]:
        assert bool(re.search(staging, tag)) is ok_staging, tag
        assert bool(re.search(production, tag)) is ok_production, tag
    # GitHub Actions accepts exactly the release tags AWX production accepts
    workflow = yaml.safe_load((ROOT / ".github/workflows/deploy-production.yml").read_text())
    assert workflow["env"]["RELEASE_TAG_PATTERN"] == production


def test_promote_to_production_workflow(plan):
    wf = plan["workflow_job_templates"]["Promote to production"]
    nodes = {n["identifier"]: n for n in wf["workflow_nodes"]}
    chain, node = [], "release-staging"
    while node:
        ujt = nodes[node]["unified_job_template"]
        chain.append((ujt["type"], ujt["name"]))
        nxt = nodes[node]["related"]["success_nodes"]
        node = nxt[0]["identifier"] if nxt else None
    assert chain == [
        ("job_template", "Release staging"),
        ("job_template", "Smoke"),
        ("workflow_approval", "Release to production?"),
        ("job_template", "Release production"),
    ]
    assert nodes["smoke-staging"]["inventory"]["name"] == "staging"
    # one answer, the production pattern, reaches both releases
    assert wf["survey_patterns"] == plan["job_templates"]["Release production"]["survey_patterns"]


def _bad(tmp_path, data, *args, env=None):
    extra = tmp_path / "bad.yml"
    extra.write_text(yaml.safe_dump(data))
    proc = _awx("-e", f"@{extra}", *args, env=env)
    assert proc.returncode != 0
    return proc.stdout + proc.stderr


def test_a_misspelt_field_fails_the_argument_spec_before_awx(tmp_path):
    out = _bad(
        tmp_path,
        {"awx_config_projects": [{"name": "p", "scm_ulr": "https://x.invalid/p.git"}]},
    )
    assert "Validating arguments against arg spec" in out
    assert "scm_ulr" in out
    assert "Plan the AWX objects" not in out


def test_a_wrong_choice_fails_the_argument_spec(tmp_path):
    out = _bad(
        tmp_path,
        {"awx_config_job_templates": [{"name": "x", "playbook": "smoke.yml", "verbosity": 9}]},
    )
    assert "verbosity" in out and "one of" in out


def test_a_dangling_reference_fails_the_plan(tmp_path):
    out = _bad(
        tmp_path,
        {
            "awx_config_job_templates": [
                {"name": "x", "playbook": "smoke.yml", "project": "nope", "inventory": "staging"}
            ]
        },
        "-e",
        "awx_config_plan_only=true",
    )
    assert "job template 'x': project 'nope' is not defined in projects" in out


def test_a_playbook_that_is_not_an_entry_point_fails_the_plan(tmp_path):
    out = _bad(
        tmp_path,
        {
            "awx_config_job_templates": [
                {"name": "x", "playbook": "playbooks/release.yml", "inventory": "staging"}
            ]
        },
        "-e",
        "awx_config_plan_only=true",
    )
    assert "playbook 'playbooks/release.yml' is not one of bootstrap.yml" in out


def test_applying_without_secrets_stops_before_awx_and_prints_no_secret(tmp_path):
    proc = _awx("-vvv", env={"DIGITALOCEAN_ACCESS_TOKEN": CANARY})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "These credential inputs are empty" in out
    assert "credential 'Vault staging': vault_password" in out
    assert "credential 'DigitalOcean'" not in out.split("These credential inputs are empty")[1]
    assert CANARY not in out
    assert "awx.awx" not in out.split("Refuse to apply")[1].split("PLAY RECAP")[0]


class _VaultLoader(yaml.SafeLoader):
    """Reads inventory YAML, keeping which values are tagged `!vault`."""


class _Vaulted(str):
    """A value written `!vault |` (encrypted on its own)."""


_VaultLoader.add_constructor("!vault", lambda loader, node: _Vaulted(loader.construct_scalar(node)))
_VaultLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def _awx_synced_vault_files() -> list:
    """vault.yml (and vault.yml.example, what users copy) under the group_vars and host_vars of
    the inventories AWX syncs from the project: those its scm inventory sources point at."""
    data = ROOT / "inventories" / "awx" / "group_vars" / "all" / "objects.yml"
    objects = yaml.load(data.read_text(), Loader=_VaultLoader)  # noqa: S506 (a SafeLoader)
    sources = objects["awx_config_inventory_sources"]
    inventories = sorted(
        {(ROOT / s["source_path"]).parent for s in sources if s["source"] == "scm"}
    )
    assert [i.name for i in inventories] == ["production", "staging"], inventories
    return sorted(
        path
        for inventory in inventories
        for vars_dir in ("group_vars", "host_vars")
        for path in (inventory / vars_dir).glob("**/vault.y*ml*")
    )


def test_vault_values_are_encrypted_one_by_one():
    # An AWX inventory sync (ansible-inventory) cannot read a vault-encrypted *file*; values
    # encrypted with `ansible-vault encrypt_string` sync and are decrypted at job time. The local
    # inventory is not synced by AWX: its whole-file vaults (throwaway id) are not checked here.
    files = _awx_synced_vault_files()
    assert files, "no vault.yml or vault.yml.example in the inventories AWX syncs"
    for path in files:
        name = path.relative_to(ROOT)
        text = path.read_text()
        assert not text.lstrip().startswith("$ANSIBLE_VAULT"), (
            f"{name} is a vault-encrypted file; AWX cannot sync it "
            "(encrypt each value with ansible-vault encrypt_string instead)"
        )
        values = yaml.load(text, Loader=_VaultLoader)  # noqa: S506 (a SafeLoader)
        assert isinstance(values, dict) and values, f"{name} defines no variable"
        plain = [
            key
            for key, value in values.items()
            if not (isinstance(value, _Vaulted) and value.startswith("$ANSIBLE_VAULT;"))
        ]
        assert not plain, (
            f"{name}: {', '.join(plain)} not encrypted on its own (`!vault |`); "
            "encrypt each value with ansible-vault encrypt_string"
        )


def test_the_example_override_file_plans(tmp_path):
    out = tmp_path / "plan.json"
    proc = _awx(
        "-e",
        "@docs/examples/awx-vars.yml",
        "-e",
        "awx_config_plan_only=true",
        "-e",
        f"awx_config_plan_file={out}",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    steps = {s["kind"]: s for s in json.loads(out.read_text())["steps"]}
    project = steps["projects"]["objects"][0]
    assert project["credential"] == "GitHub (read)"
    assert steps["execution_environments"]["objects"][0]["credential"] == "GHCR (pull)"
