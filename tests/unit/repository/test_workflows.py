"""The GitHub Actions workflows: pinned, least privilege, and running what exists.

actionlint (make lint) checks syntax, expressions and shell; these tests check the rules of this
repository that actionlint does not know.
"""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from tests.testbed import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted((ROOT / ".github" / "actions").glob("*/action.yml"))
SERVICES = ["frontend", "backend", "mcp", "notification", "sse-gateway"]

# The entry points at the repository root that workflows and AWX templates may run.
ENTRY_POINTS = {"bootstrap.yml", "release.yml", "rollback.yml", "smoke.yml", "drift.yml"}

# Every third-party action, one pin each. Each SHA was read from the action's own repository
# (`git rev-parse <tag>^{commit}` in a mirror of it) and seen with the same tag in public
# workflows of other projects; docs/ci-cd.md says how to update them.
PINS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-go": ("b7ad1dad31e06c5925ef5d2fc7ad053ef454303e", "v7.0.0"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/setup-node": ("820762786026740c76f36085b0efc47a31fe5020", "v7.0.0"),
    "actions/cache": ("27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
    "docker/setup-buildx-action": ("37fe631027851001ddb9b187196cc803df7f5f0e", "v4.3.0"),
    "docker/login-action": ("4907a6ddec9925e35a0a9e82d7399ccc52663121", "v4.1.0"),
    "docker/metadata-action": ("dc802804100637a589fabce1cb79ff13a1411302", "v6.2.0"),
    "docker/build-push-action": ("53b7df96c91f9c12dcc8a07bcb9ccacbed38856a", "v7.3.0"),
}

USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+)(?:/[\w./-]+)?@(?P<sha>[0-9a-f]{40})$")
VERSION_COMMENT = re.compile(r"^\s+#\s+(?P<version>v\d+\.\d+\.\d+)\s*$")


def _load(path):
    doc = yaml.safe_load(path.read_text())
    # `on:` is a YAML 1.1 boolean to PyYAML; give it back its name.
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def _steps(doc):
    if "runs" in doc:  # composite action
        yield "action", doc["runs"].get("steps", [])
        return
    for name, job in doc["jobs"].items():
        yield name, job.get("steps", [])


def _run_scripts():
    for path in WORKFLOWS + ACTIONS:
        for job, steps in _steps(_load(path)):
            for step in steps:
                if "run" in step:
                    yield path, job, step


def test_there_are_workflows():
    names = {p.name for p in WORKFLOWS}
    assert {
        "ci.yml",
        "build-images.yml",
        "deploy-staging.yml",
        "deploy-production.yml",
    } <= names


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_full_sha_with_its_version(path):
    lines = path.read_text().splitlines()
    found = [USES_LINE.match(line) for line in lines]
    found = [m for m in found if m]
    # Every `uses:` the YAML contains is on a line we checked.
    parsed = [
        step["uses"] for _job, steps in _steps(_load(path)) for step in steps if "uses" in step
    ] + [job["uses"] for job in _load(path).get("jobs", {}).values() if "uses" in job]
    assert sorted(m["ref"] for m in found) == sorted(parsed)
    for m in found:
        ref = m["ref"]
        if ref.startswith("./"):
            assert (ROOT / ref / "action.yml").exists() or (ROOT / ref).is_file(), ref
            continue
        pinned = PINNED.match(ref)
        assert pinned, f"{path.name}: `{ref}` is not pinned to a 40-hex commit SHA"
        comment = VERSION_COMMENT.match(m["rest"])
        assert comment, f"{path.name}: `{ref}` lacks a `# vX.Y.Z` comment"
        action = pinned["action"]
        assert action in PINS, f"{path.name}: {action} is not a reviewed action (PINS)"
        assert (pinned["sha"], comment["version"]) == PINS[action], (
            f"{path.name}: {action}@{pinned['sha']} # {comment['version']} differs from the "
            f"reviewed pin {PINS[action]}"
        )


def test_the_pin_checker_rejects_tags_and_short_shas():
    for bad in ["actions/checkout@v4", "actions/checkout@11bd719", "actions/checkout@main"]:
        assert not PINNED.match(bad)
    assert PINNED.match("actions/checkout@" + "a" * 40)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege(path):
    doc = _load(path)
    assert doc.get("permissions") == {}, f"{path.name}: top-level permissions must be {{}}"
    for name, job in doc["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} does not declare permissions"
        perms = job["permissions"]
        assert perms.get("contents") in (None, "read"), f"{path.name}: {name} writes contents"
        allowed = {"contents", "packages"}
        assert set(perms) <= allowed, f"{path.name}: {name} asks for {set(perms) - allowed}"
        if perms.get("packages") == "write":
            assert name in {"build", "promote"}, f"{path.name}: {name} writes packages"


def test_no_expression_inside_run_scripts():
    # Values reach scripts through `env:`, never by textual substitution into the script.
    for path, job, step in _run_scripts():
        assert "${{" not in step["run"], f"{path.name}: {job}: `${{{{` in run: {step['run']!r}"


def test_secrets_reach_only_the_steps_that_use_them():
    for path in WORKFLOWS:
        doc = _load(path)
        assert "secrets." not in str(doc.get("env", {})), f"{path.name}: secret in workflow env"
        for name, job in doc["jobs"].items():
            assert "secrets." not in str(job.get("env", {})), f"{path.name}: {name} job env"


def _playbook_calls():
    for path, job, step in _run_scripts():
        for line in step["run"].splitlines():
            if re.match(r"^\s*ansible-playbook\s", line):
                yield path, job, line.strip()


def test_every_playbook_run_names_an_entry_point_and_an_inventory_that_exist():
    calls = list(_playbook_calls())
    assert calls, "no workflow runs a playbook"
    for path, job, line in calls:
        words = line.split()
        playbook = words[1]
        assert playbook in ENTRY_POINTS, f"{path.name}: {job}: unknown playbook {playbook}"
        assert "-i" in words, f"{path.name}: {job}: no explicit inventory: {line}"
        inventory = words[words.index("-i") + 1]
        assert (ROOT / inventory / "hosts.yml").exists(), f"{path.name}: no inventory {inventory}"
        assert (ROOT / playbook).exists(), f"{path.name}: {job}: {playbook} does not exist"


def test_deploys_queue_per_environment_behind_their_environment():
    seen = {}
    for name in ("deploy-staging.yml", "deploy-production.yml"):
        doc = _load(ROOT / ".github" / "workflows" / name)
        for job in doc["jobs"].values():
            runs = "\n".join(s.get("run", "") for s in job.get("steps", []))
            if "ansible-playbook release.yml" not in runs:
                continue
            env = job["environment"]["name"]
            assert f"-i {env} " in runs, f"{name}: environment {env} runs another inventory"
            assert job["concurrency"] == {"group": f"deploy-{env}", "cancel-in-progress": False}
            seen[name] = env
    assert seen == {"deploy-staging.yml": "staging", "deploy-production.yml": "production"}


def test_triggers():
    on = _load(ROOT / ".github" / "workflows" / "deploy-staging.yml")["on"]
    assert on["workflow_run"] == {
        "workflows": ["Build images"],
        "types": ["completed"],
        "branches": ["main"],
    }
    build = _load(ROOT / ".github" / "workflows" / "build-images.yml")
    assert build["name"] == "Build images" and "workflow_call" in build["on"]
    on = _load(ROOT / ".github" / "workflows" / "deploy-production.yml")["on"]
    assert on["release"] == {"types": ["published"]}


def test_build_images_matrix_and_tags():
    doc = _load(ROOT / ".github" / "workflows" / "build-images.yml")
    build = doc["jobs"]["build"]
    assert build["needs"] == "test"
    assert build["strategy"]["matrix"]["service"] == SERVICES
    meta = next(s for s in build["steps"] if s.get("id") == "meta")
    assert meta["with"]["images"].endswith("/${{ matrix.service }}")
    tags = meta["with"]["tags"]
    assert "type=sha,prefix=sha-,format=short" in tags
    assert "type=raw,value=main-latest,enable={{is_default_branch}}" in tags
    assert doc["env"]["DOCKER_METADATA_SHORT_SHA_LENGTH"] == 7
    names = next(s for s in doc["jobs"]["test"]["steps"] if s.get("id") == "names")
    assert "ghcr.io/${NAMESPACE,,}/hackathon-todo" in names["run"]
    # deploy-staging derives the same tag from the triggering commit
    staging = (ROOT / ".github" / "workflows" / "deploy-staging.yml").read_text()
    assert "sha-${HEAD_SHA:0:7}" in staging


def test_ci_scans_secrets_before_anything_else_and_calls_make_targets():
    doc = _load(ROOT / ".github" / "workflows" / "ci.yml")
    jobs = doc["jobs"]
    first = [n for n, j in jobs.items() if "needs" not in j]
    assert first == ["secrets"], first

    def ancestors(name):
        needs = jobs[name].get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        return set(needs).union(*(ancestors(n) for n in needs)) if needs else set()

    for name in jobs:
        if name != "secrets":
            assert "secrets" in ancestors(name), f"{name} can run before the secret scan"
    makefile = (ROOT / "Makefile").read_text()
    targets = []
    for _path, _job, step in _run_scripts():
        targets += re.findall(r"^\s*make ([a-z-]+)", step["run"], re.M)
    assert targets
    for target in targets:
        assert re.search(rf"^{target}:", makefile, re.M), f"make {target}: no such target"
    for want in ("secrets-scan", "lint", "chart-lint", "sanity", "unit", "integration"):
        assert want in targets, f"CI does not run make {want}"


def test_toolchain_cache_key_is_the_toolchain_inputs():
    action = (ROOT / ".github" / "actions" / "toolchain" / "action.yml").read_text()
    assert "hashFiles('testbed/versions.env', 'testbed/toolchain.sh', 'requirements*.txt')" in (
        " ".join(action.split())
    )


def _step(workflow: str, job: str, step_id: str) -> tuple[dict, dict]:
    doc = _load(ROOT / ".github" / "workflows" / workflow)
    return next(s for s in doc["jobs"][job]["steps"] if s.get("id") == step_id), doc


def _run_step(tmp_path, workflow, job, step_id, env):
    """Run a step's script with bash, as the runner does (`bash -e {0}`), with its outputs file."""
    step, doc = _step(workflow, job, step_id)
    outputs = tmp_path / "outputs"
    outputs.write_text("")
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env={
            "PATH": "/usr/bin:/bin",
            "GITHUB_OUTPUT": str(outputs),
            **{k: str(v) for k, v in (doc.get("env") or {}).items()},
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)
    return proc, values


SHA = "0123abc4567def890123abc4567def890123abcd"


def test_staging_tag_is_the_build_tag_of_the_triggering_commit(tmp_path):
    proc, out = _run_step(
        tmp_path, "deploy-staging.yml", "release", "tag", {"HEAD_SHA": SHA, "INPUT_TAG": ""}
    )
    assert proc.returncode == 0, proc.stderr
    build, built = _run_step(
        tmp_path,
        "build-images.yml",
        "test",
        "names",
        {"GITHUB_SHA": SHA, "NAMESPACE": "Hackathon-Todo"},
    )
    assert build.returncode == 0, build.stderr
    assert out["tag"] == built["image-tag"] == "sha-0123abc"
    assert built["image-prefix"] == "ghcr.io/hackathon-todo/hackathon-todo"


@pytest.mark.parametrize(
    ("workflow", "job", "variable", "tag", "ok"),
    [
        ("deploy-staging.yml", "release", "INPUT_TAG", "v1.2.3", True),
        ("deploy-staging.yml", "release", "INPUT_TAG", "sha-0123abc", True),
        ("deploy-staging.yml", "release", "INPUT_TAG", "x; touch /tmp/pwned", False),
        ("deploy-staging.yml", "release", "INPUT_TAG", "$(id)", False),
        ("deploy-production.yml", "release", "TAG", "v1.2.3", True),
        ("deploy-production.yml", "release", "TAG", "v1.2.3-rc.1", True),
        ("deploy-production.yml", "release", "TAG", "sha-0123abc", False),
        ("deploy-production.yml", "release", "TAG", "v1.2.3\nid", False),
    ],
)
def test_tags_are_checked_before_use(tmp_path, workflow, job, variable, tag, ok):
    proc, out = _run_step(tmp_path, workflow, job, "tag", {variable: tag, "HEAD_SHA": SHA})
    assert (proc.returncode == 0) is ok, proc.stdout + proc.stderr
    assert (out.get("tag") == tag) is ok
