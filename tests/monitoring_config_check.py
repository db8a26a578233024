"""Run testbed/tools/monitoring-config-check, the validator of what Grafana and Alloy read.

Grafana and Loki are under the AGPL and Alloy's binary depends on Loki, so none of them runs here.
The tool decodes dashboard JSON with the Grafana Foundation SDK's strict decoder and parses and
prints Alloy configuration with Alloy's own syntax module. `make toolchain` builds it into
.tools/bin; a test that needs it fails (it never skips) when it is not there.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess

import pytest

from tests.testbed import ROOT

CHECK = ROOT / ".tools" / "bin" / "monitoring-config-check"


@dataclasses.dataclass
class Verdict:
    returncode: int
    stdout: str
    problems: list[str]  # one per line: "WHERE: WHAT", without the file name


def check(mode: str, text: str) -> Verdict:
    """Check `text` (a dashboard's JSON or an Alloy configuration) with the real tool."""
    if not os.access(CHECK, os.X_OK):
        pytest.fail(
            f"{CHECK.relative_to(ROOT)} is missing: run `make toolchain` (it builds it)",
            pytrace=False,
        )
    res = subprocess.run(
        [str(CHECK), mode, "-"], input=text, capture_output=True, text=True, check=False, timeout=60
    )
    problems = [line.removeprefix("-: ") for line in res.stderr.splitlines() if line]
    return Verdict(res.returncode, res.stdout, problems)
