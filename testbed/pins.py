"""testbed/versions.env as KEY -> VALUE: the one place every external version is pinned (the shell
scripts source it; the bed's Python scripts read it here)."""

from __future__ import annotations

import pathlib

VERSIONS = pathlib.Path(__file__).resolve().parent / "versions.env"


def pinned() -> dict[str, str]:
    out = {}
    for line in VERSIONS.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out
