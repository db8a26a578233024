"""The execution environment definition: valid for ansible-builder v3, pinned in step with the
rest of the repository, and its build context renders offline (`make ee-context`).

Building the image needs a container engine and the internet, so that part is not run here;
docs/awx.md says how to build it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile

import pytest
import yaml

from tests.testbed import ROOT, versions

EE_FILE = ROOT / "execution-environment.yml"
VENV_BIN = ROOT / ".tools" / "venv" / "bin"


def _ee() -> dict:
    return yaml.safe_load(EE_FILE.read_text())


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        spec = line.split("#", 1)[0].strip()
        if "==" in spec:
            pkg, version = spec.split("==", 1)
            pins[pkg.lower()] = version
    return pins


def _build_args(ee: dict) -> dict[str, str]:
    args = {}
    for step in ee["additional_build_steps"]["append_final"]:
        if m := re.fullmatch(r"ARG (\w+)=(\S+)", step.strip()):
            args[m[1]] = m[2]
    return args


def test_definition_is_valid_ansible_builder_v3():
    ee_schema = pytest.importorskip("ansible_builder.ee_schema")
    ee = _ee()
    assert ee["version"] == 3
    ee_schema.validate_schema(ee)  # raises DefinitionError on a schema violation


def test_ansible_core_and_runner_are_the_dev_pins():
    dev = _pins("requirements-dev.txt")
    deps = _ee()["dependencies"]
    assert deps["ansible_core"]["package_pip"] == f"ansible-core=={dev['ansible-core']}"
    assert deps["ansible_runner"]["package_pip"] == f"ansible-runner=={dev['ansible-runner']}"
    assert deps["python_interpreter"]["python_path"].endswith(f"python{versions()['PYTHON_MIN']}")


def test_helm_and_kubectl_are_the_test_bed_versions():
    pinned = versions()
    args = _build_args(_ee())
    assert args["HELM_VERSION"] == pinned["HELM_VERSION"]
    assert args["KUBECTL_VERSION"] == pinned["KUBERNETES_VERSION"]
    # `make ee` passes them from versions.env, so the defaults above are only a fallback
    script = (ROOT / "ee" / "build.sh").read_text()
    assert '--build-arg HELM_VERSION="$HELM_VERSION"' in script
    assert '--build-arg KUBECTL_VERSION="$KUBERNETES_VERSION"' in script
    install = " ".join(_ee()["additional_build_steps"]["append_final"])
    assert "${HELM_VERSION}" in install and "${KUBECTL_VERSION}" in install
    assert install.count("sha256sum -c -") == 2, "both downloads are checksum-verified"


def test_galaxy_dependencies_are_requirements_yml():
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())["dependencies"]
    reqs = yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]
    assert galaxy == {c["name"]: c["version"] for c in reqs}


def test_collection_metadata_gives_builder_our_python_requirements():
    # The function ansible-builder's introspection runs on every installed collection.
    scripts = pytest.importorskip("ansible_builder._target_scripts")
    sys.path.insert(0, os.path.dirname(scripts.__file__))
    try:
        import introspect  # builder ships it as a script, not as a module
    finally:
        sys.path.pop(0)
    python, system = introspect.process_collection(str(ROOT))
    names = {re.split(r"[=<>~ ]", line, maxsplit=1)[0].lower() for line in python}
    assert names == set(_pins("requirements.txt")), python
    assert system == []


def test_build_context_renders_offline(tmp_path):
    if not (VENV_BIN / "ansible-builder").exists():
        pytest.skip("ansible-builder is not installed: run `make toolchain`")
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}:{env['PATH']}"
    # Any network access would go through a proxy that does not exist, and fail.
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env[var] = "http://127.0.0.1:9"
    env["no_proxy"] = env["NO_PROXY"] = ""
    proc = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "ee-context"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = ROOT / "build" / "ee"
    containerfile = (out / "context" / "Containerfile").read_text()
    pinned = versions()
    assert f"ARG HELM_VERSION={pinned['HELM_VERSION']}" in containerfile
    assert f"ARG KUBECTL_VERSION={pinned['KUBERNETES_VERSION']}" in containerfile
    assert "FROM quay.io/centos/centos:stream9" in containerfile.replace(
        "$EE_BASE_IMAGE", _ee()["images"]["base_image"]["name"]
    )
    reqs = yaml.safe_load((out / "context" / "_build" / "requirements.yml").read_text())
    assert reqs["collections"] == [
        {"name": "collections/hackathon_todo-deploy.tar.gz", "type": "file"}
    ]
    tarball = out / "context" / "_build" / "collections" / "hackathon_todo-deploy.tar.gz"
    with tarfile.open(tarball) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        names = set(tar.getnames())
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"]) == ("hackathon_todo", "deploy")
    assert "meta/execution-environment.yml" in names and "requirements.txt" in names
    assert not any(n.startswith(("build/", ".tools", ".testbed", "tests/output")) for n in names)
