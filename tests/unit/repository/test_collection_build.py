"""`ansible-galaxy collection build` gives a tarball that installs into a fresh path, and every
plugin and role of the collection resolves by its FQCN from there (not from this checkout)."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.testbed import ROOT

VENV_BIN = ROOT / ".tools" / "venv" / "bin"


def _fqcns(kind_dir: str) -> list[str]:
    directory = ROOT / "plugins" / kind_dir
    return sorted(
        f"hackathon_todo.deploy.{p.stem}"
        for p in directory.glob("*.py")
        if p.stem != "__init__" and not p.stem.startswith("_")
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("collection")
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}:{env['PATH']}"
    # Nothing from the checkout: an empty config, no collections path but the fresh one.
    (tmp / "ansible.cfg").write_text("[defaults]\n")
    env.update(
        ANSIBLE_CONFIG=str(tmp / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(tmp / "collections"),
        ANSIBLE_NOCOLOR="1",
    )

    def run(*cmd):
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"{cmd}:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    run("ansible-galaxy", "collection", "build", str(ROOT), "--output-path", str(tmp / "dist"))
    (tarball,) = (tmp / "dist").glob("hackathon_todo-deploy-*.tar.gz")
    # --no-deps: the dependencies come from Galaxy, which the test machine cannot reach; they
    # are bundled in the `ansible` package this venv has.
    run(
        "ansible-galaxy",
        "collection",
        "install",
        "--no-deps",
        "-p",
        str(tmp / "collections"),
        str(tarball),
    )
    return tmp, run


def test_installed_tree_is_the_collection(installed):
    tmp, _run = installed
    root = tmp / "collections" / "ansible_collections" / "hackathon_todo" / "deploy"
    assert (root / "MANIFEST.json").exists()
    assert (root / "meta" / "runtime.yml").exists()
    assert not (root / ".tools").exists() and not (root / "build").exists()


# ansible-doc type for each plugin directory of the collection
DOC_TYPES = {"modules": "module", "filter": "filter", "lookup": "lookup", "test": "test"}
PLUGINS = [(DOC_TYPES[d], fqcn) for d in DOC_TYPES for fqcn in _fqcns(d)]


def test_the_collection_has_plugins():
    assert PLUGINS


@pytest.mark.parametrize(("doc_type", "fqcn"), PLUGINS, ids=[f for _t, f in PLUGINS])
def test_every_plugin_resolves_from_the_installed_collection(installed, doc_type, fqcn):
    tmp, run = installed
    out = run("ansible-doc", "-t", doc_type, fqcn)
    assert str(tmp / "collections") in out, f"{fqcn} did not resolve from the install"


def test_every_role_resolves_with_its_argument_spec(installed):
    tmp, run = installed
    roles = sorted(p.parent.parent.name for p in (ROOT / "roles").glob("*/meta/argument_specs.yml"))
    assert roles
    for role in roles:
        out = run("ansible-doc", "-t", "role", f"hackathon_todo.deploy.{role}")
        assert str(tmp / "collections") in out
        assert re.search(r"ENTRY POINT: \W*main\b", out), out[:300]


def test_the_filter_runs_from_the_installed_collection(installed):
    _tmp, run = installed
    out = run(
        "ansible",
        "localhost",
        "-m",
        "ansible.builtin.debug",
        "-a",
        "msg={{ {'inventories': [{'name': 'x'}]} | hackathon_todo.deploy.awx_plan }}",
    )
    assert "inventories (present): x" in out
