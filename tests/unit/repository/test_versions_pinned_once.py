"""Every external version lives in testbed/versions.env, and only there."""

from __future__ import annotations

import re

from tests.testbed import ROOT, TESTBED, versions

SCRIPTS = [TESTBED / n for n in ("toolchain.sh", "cluster.sh", "nodes.sh", "kafka.sh", "crds.sh")]


def test_every_version_variable_used_by_scripts_is_pinned():
    pinned = versions()
    used = set()
    for script in SCRIPTS:
        used |= set(re.findall(r"\$\{?([A-Z0-9_]*_VERSION)\b", script.read_text()))
    missing = sorted(used - pinned.keys())
    assert not missing, f"used but not pinned in versions.env: {missing}"


def test_every_pin_is_used():
    text = "".join(s.read_text() for s in SCRIPTS)
    unused = sorted(k for k in versions() if k != "PYTHON_MIN" and k not in text)
    assert not unused, f"pinned in versions.env but used by no script: {unused}"


def test_no_version_literal_in_scripts():
    # A literal such as v1.36.3 or 4.4.0 in a script would be a second place to pin it.
    for script in [*SCRIPTS, TESTBED / "kafka" / "pom.xml"]:
        # IPv4 addresses and prefixes (the bed's ranges), URLs, the CNI spec version and the POM
        # model version are not versions of a tool.
        text = re.sub(
            r"\b\d+\.\d+\.\d+\.\d+\b|HTD_BED_NET:-[\d.]+|\"cniVersion\": \"[^\"]*\""
            r"|https?://\S+|<modelVersion>[^<]*<",
            "",
            script.read_text(),
        )
        hits = re.findall(r"\bv?\d+\.\d+\.\d+\b", text)
        assert not hits, f"{script.relative_to(ROOT)} hard-codes versions {hits}"


def test_python_requirements_are_exact_pins():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            spec = line.split("#", 1)[0].strip()
            if not spec or spec.startswith("-r "):
                continue
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", spec), (
                f"{name}: not pinned: {spec}"
            )
