"""Task names are read before a loop starts: Ansible templates them once, with no `item` defined,
so a name that uses a loop variable warns ("'item' is undefined") and prints the raw template.
What changes per iteration belongs in loop_control.label."""

from __future__ import annotations

import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
TASK_FILES = sorted(
    [
        *ROOT.glob("roles/*/tasks/*.yml"),
        *ROOT.glob("roles/*/handlers/*.yml"),
        *ROOT.glob("playbooks/*.yml"),
    ]
)
LOOP_VAR = re.compile(r"{{[^}]*\bitem\b")


def _tasks(node):
    """Every task dict in a task list or playbook, blocks and plays included."""
    if isinstance(node, list):
        for entry in node:
            yield from _tasks(entry)
    elif isinstance(node, dict):
        if "name" in node:
            yield node
        for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always"):
            yield from _tasks(node.get(key))


def test_the_task_files_are_found():
    assert any("roles/platform/tasks" in str(p) for p in TASK_FILES)


def test_no_task_name_uses_the_loop_variable():
    offenders = []
    for path in TASK_FILES:
        doc = yaml.safe_load(path.read_text())
        for task in _tasks(doc):
            name = task.get("name")
            if isinstance(name, str) and LOOP_VAR.search(name):
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert not offenders, "loop variables in task names (use loop_control.label):\n" + "\n".join(
        offenders
    )
