"""Fixtures of the real-node tests: the stand-in images in the bed's registry, `release.yml` for an
environment with its JSON report (helpers in tests/real_nodes_support.py).

The files run in name order, like an operator's day: the autoscaler (production), the release
path (staging), and last `make testbed-down`, which must leave nothing behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.ansible_run import run_playbook
from tests.real_nodes_support import OWNER
from tests.testbed import TESTBED


@pytest.fixture(scope="session", autouse=True)
def real_nodes():
    if os.environ.get("HTD_NODES_MODE") != "real":
        pytest.fail(
            "these tests need real nodes: run them with `make integration-real`", pytrace=False
        )


@pytest.fixture(scope="session")
def push_images(kube_cluster):
    """push_images(tag) -> {service: digest}: the five stand-in images for `tag` in the bed's
    registry (built once per tag, cached by testbed/images/build.py)."""

    build = [sys.executable, str(TESTBED / "images" / "build.py"), "app", "--owner", OWNER]

    def push(tag):
        proc = subprocess.run(
            [*build, "--tag", tag],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return {
            line.split("/")[-1].split(":")[0]: line.split()[1] for line in proc.stdout.splitlines()
        }

    return push


@pytest.fixture(scope="session")
def pushed(push_images):
    """v1.0.0 and v2.0.0 of the five stand-in images in the bed registry: {tag: {service: sha}}"""
    return {tag: push_images(tag) for tag in ("v1.0.0", "v2.0.0")}


@pytest.fixture(scope="session")
def release_to(bootstrapped, pushed, tmp_path_factory):
    """release_to(env, tag, extra=None) -> (completed process, the release's JSON report)"""
    reports = tmp_path_factory.mktemp("reports")

    def run(env, tag, extra=None, timeout=900):
        cmd = ["release.yml", "-e", f"target={env}", "-e", f"image_tag={tag}"]
        if extra:
            cmd += ["-e", json.dumps(extra)]
        proc = run_playbook(*cmd, env={"HTD_REPORT_DIR": str(reports)}, timeout=timeout)
        path = reports / f"release-{env}.json"
        report = json.loads(path.read_text()) if path.exists() else {}
        path.unlink(missing_ok=True)
        return proc, report

    return run
