"""Each connection (Kubernetes, DigitalOcean, Redpanda) is declared once: one argument spec in
module_utils, one doc fragment, one action group in meta/runtime.yml. A module that talks to
Kubernetes or to DigitalOcean takes all three, and declares none of the options itself."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.testbed import ROOT

MODULES = sorted((ROOT / "plugins/modules").glob("*.py"))
RUNTIME = yaml.safe_load((ROOT / "meta/runtime.yml").read_text())
# group: (the shared spec, an option only it declares, the doc fragment)
CONNECTIONS = {
    "kubernetes": ("kube_argument_spec()", "kubeconfig", "hackathon_todo.deploy.kubernetes"),
    "digitalocean": (
        "digitalocean_argument_spec()",
        "api_url",
        "hackathon_todo.deploy.digitalocean",
    ),
}
# Specs built on a connection's spec (module_utils/_doks.py's starts from the DigitalOcean one).
BUILT_ON = {"digitalocean": ("doks_argument_spec(",)}


def _fragments(source: str) -> list[str]:
    doc = yaml.safe_load(re.search(r'DOCUMENTATION = r"""(.*?)"""', source, re.S).group(1))
    return doc.get("extends_documentation_fragment") or []


@pytest.mark.parametrize("group", list(CONNECTIONS))
@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_a_connection_is_declared_once(path, group):
    spec, option, fragment = CONNECTIONS[group]
    source = path.read_text()
    uses = spec in source or any(b in source for b in BUILT_ON.get(group, ()))
    assert f"{option}=dict(" not in source, f"{path.name} declares {option} itself; use {spec}"
    assert (fragment in _fragments(source)) == uses, (
        f"{path.name}: {spec} and {fragment} go together"
    )
    assert (path.stem in RUNTIME["action_groups"][group]) == uses, (
        f"{path.name}: a module using {spec} belongs to group/hackathon_todo.deploy.{group}"
    )
