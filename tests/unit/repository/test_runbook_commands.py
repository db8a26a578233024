"""The commands the README and the runbooks tell the person on call to type name playbooks and
inventories that exist in the repository (a renamed playbook breaks the runbook, not just CI)."""

from __future__ import annotations

import re
import shlex

import pytest

from tests.testbed import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs/runbooks").glob("*.md"))]
COMMAND = re.compile(r"ansible-playbook ([^`|#\n]+)")


def _commands():
    for doc in DOCS:
        for line in doc.read_text().splitlines():
            for match in COMMAND.finditer(line):
                words = shlex.split(re.sub(r"<[^>]+>|\[[^\]]*\]", "X", match.group(1)))
                if words and words[0].endswith(".yml"):
                    yield pytest.param(words, id=f"{doc.name}: {' '.join(words)}")


@pytest.mark.parametrize("words", list(_commands()))
def test_the_command_names_a_playbook_and_inventories_that_exist(words):
    playbook = ROOT / words[0]
    assert playbook.is_file(), f"{words[0]} is not a playbook of the repository"
    inventories = [words[i + 1] for i, w in enumerate(words) if w == "-i"]
    for inventory in inventories:
        if inventory != "X":  # a placeholder such as <env>
            assert (ROOT / inventory).exists(), f"-i {inventory}: no such inventory"


def test_the_deploy_runbook_ends_with_the_isolation_check():
    """T044: the step-by-step procedure verifies isolation after the release, across both
    inventories (with one there is nothing to compare)."""
    text = (ROOT / "docs/runbooks/deploy.md").read_text()
    steps = text.split("## Step by step", 1)[1].split("\n## ", 1)[0]
    assert steps.index("release.yml -i staging") < steps.index("release.yml -i production")
    assert re.search(r"drift\.yml -i production -i staging", steps)
    assert steps.index("release.yml -i production") < steps.index("drift.yml")
    playbook = (ROOT / "playbooks/isolation.yml").read_text()
    assert "isolation of " in playbook and "hosts: environments" in playbook
