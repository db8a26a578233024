"""Each role's molecule scenario (molecule/<role>/) against the test bed: converge, idempotence
(a second converge changes nothing), verify."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.testbed import ROOT


@pytest.mark.parametrize("scenario", ["cluster", "platform", "monitoring"])
def test_molecule_scenario(kube_cluster, kafka_broker, scenario):
    res = subprocess.run(
        ["molecule", "test", "-s", scenario],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ANSI_COLORS_DISABLED": "1", "NO_COLOR": "1", "PY_COLORS": "0"},
        timeout=1200,
    )
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-3000:]
    assert "idempotence: Executed: Successful" in res.stdout + res.stderr
