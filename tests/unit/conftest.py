"""Unit tests import the collection's code as `ansible_collections.hackathon_todo.deploy...`,
the import path ansible itself uses.

testbed/toolchain.sh links .tools/collections/ansible_collections/hackathon_todo/deploy to this
checkout, and pyproject.toml puts .tools/collections on pytest's path. Without that link (plain
pytest before `make toolchain`), a temporary tree with the same link is built and used instead.
ansible-test units already runs inside an ansible_collections tree.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _collections_root() -> pathlib.Path:
    linked = ROOT / ".tools" / "collections"
    if (linked / "ansible_collections" / "hackathon_todo" / "deploy").exists():
        return linked
    tree = pathlib.Path(tempfile.mkdtemp(prefix="htd-collections-"))
    target = tree / "ansible_collections" / "hackathon_todo"
    target.mkdir(parents=True)
    (target / "deploy").symlink_to(ROOT)
    return tree


def _importable() -> bool:
    try:
        return importlib.util.find_spec("ansible_collections.hackathon_todo.deploy") is not None
    except ImportError:
        return False


if not _importable():
    sys.path.insert(0, str(_collections_root()))
