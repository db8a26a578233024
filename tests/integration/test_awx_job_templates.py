"""Every AWX job template's playbook runs for real under ansible-runner — the engine AWX runs jobs
with — against the local test bed, with what the template gives a job: its playbook, its extra
vars and its survey's answers (defaults, or a valid answer where the question has none).

What AWX adds around ansible-runner is not exercised (no AWX here; a stand-in for one is not
allowed): credential injection, the inventory sync from the project, and the EE container. The
template's inventory (staging or production, on DigitalOcean) is replaced by the test bed's
inventory, which holds both environments, limited to the cluster and the template's
environment. docs/awx.md lists what a user verifies on a live AWX.
"""

from __future__ import annotations

import json
import os
import re

import pytest
import yaml

from tests.ansible_run import run_playbook
from tests.testbed import ROOT

ansible_runner = pytest.importorskip("ansible_runner")

# Answers for required survey questions that have no default.
ANSWERS = {"image_tag": "v1.0.0"}


def _plan(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("awx-plan") / "plan.json"
    proc = run_playbook(
        "playbooks/awx.yml",
        "-i",
        "inventories/awx",
        "-e",
        "awx_config_plan_only=true",
        "-e",
        f"awx_config_plan_file={out}",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    steps = json.loads(out.read_text())["steps"]
    return next(s for s in steps if s["kind"] == "job_templates")["objects"]


class _DataLoader(yaml.SafeLoader):
    """Reads the AWX data file as written (AWX injector templates are tagged !unsafe)."""


_DataLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def _templates() -> list:
    # Parametrise by the data file, so each template is a test of its own.
    path = ROOT / "inventories" / "awx" / "group_vars" / "all" / "objects.yml"
    data = yaml.load(path.read_text(), Loader=_DataLoader)  # noqa: S506 (a SafeLoader)
    return [jt["name"] for jt in data["awx_config_job_templates"]]


@pytest.fixture(scope="module")
def job_templates(tmp_path_factory):
    return {jt["name"]: jt for jt in _plan(tmp_path_factory)}


def _extra_vars(jt: dict) -> dict:
    extra = dict(jt.get("extra_vars") or {})
    patterns = jt.get("survey_patterns") or {}
    for q in (jt.get("survey_spec") or {}).get("spec", []):
        if "default" in q:
            extra[q["variable"]] = q["default"]
        elif q["required"]:
            answer = ANSWERS[q["variable"]]
            pattern = patterns.get(q["variable"])
            assert not pattern or re.search(pattern, answer), (answer, pattern)
            assert q.get("min", 0) <= len(answer) <= q.get("max", 1024)
            extra[q["variable"]] = answer
    return extra


def _run(tmp_path, playbook: str, environment: str, extra: dict):
    """ansible-runner with the project checked out at the repository root, as AWX does."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    runner = ansible_runner.run(
        private_data_dir=str(tmp_path),
        project_dir=str(ROOT),
        playbook=playbook,
        inventory=str(ROOT / "inventories" / "local"),
        limit=f"cluster,{environment}",
        extravars=extra,
        envvars={
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".tools" / "collections"),
            "PATH": f"{ROOT / '.tools' / 'venv' / 'bin'}:{ROOT / '.tools' / 'bin'}:"
            + os.environ["PATH"],
        },
        quiet=True,
        timeout=1500,
    )
    stdout = (tmp_path / "artifacts" / runner.config.ident / "stdout").read_text()
    assert runner.status == "successful" and runner.rc == 0, stdout[-4000:]
    return runner


@pytest.mark.slow
@pytest.mark.parametrize("name", _templates())
def test_job_template_runs_under_ansible_runner(name, job_templates, bootstrapped, tmp_path):
    # `bootstrapped`: a release, rollback, smoke or drift job presupposes that the Bootstrap job
    # has run for its environment, as in AWX; the Bootstrap template itself must then change
    # nothing it does not own.
    jt = job_templates[name]
    playbook, environment, extra = jt["playbook"], jt["inventory"], _extra_vars(jt)
    assert (ROOT / playbook).is_file(), (
        f"job template {name!r} runs {playbook}, which is not in the project "
        "(AWX would fail the job)"
    )
    if playbook == "rollback.yml":
        # Something to roll back to: two releases of the environment.
        for n, tag in enumerate(("v1.0.0", "v1.0.1")):
            _run(tmp_path / f"release-{n}", "release.yml", environment, {"image_tag": tag})
    runner = _run(tmp_path / "job", playbook, environment, extra)
    assert runner.stats["failures"] == {} and runner.stats["dark"] == {}
    ran = set(runner.stats["processed"])
    assert ran <= {"local-testbed", environment}, ran

    stats = [e for e in runner.events if e.get("event") == "playbook_on_stats"]
    artifacts = stats[-1]["event_data"].get("artifact_data") or {}
    if playbook in ("release.yml", "rollback.yml"):
        # What AWX shows as the job's artifacts and passes on to the next workflow node.
        assert artifacts, "no set_stats data (the release report) in the runner artifacts"
        assert extra.get("image_tag", "") in json.dumps(artifacts)
