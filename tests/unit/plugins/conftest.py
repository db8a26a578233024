"""Make `ansible_collections.hackathon_todo.deploy` importable for plain pytest runs.

ansible-test units already runs inside an ansible_collections tree. Plain pytest from the
repository root uses the link the toolchain creates (.tools/collections), or builds one.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[3]


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
