"""Run modules and playbooks through the real ansible-core, the way users do.

Tests call our modules through `ansible` / `ansible-playbook` (not by importing them), so argument
validation, check mode, diff, no_log and the callback output are exercised exactly as in a play.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".tools" / "collections"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_DEPRECATION_WARNINGS": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        }
    )
    env.update(extra or {})
    return env


@dataclasses.dataclass
class ModuleRun:
    result: dict  # the module's return value, as the json callback reports it
    stdout: str  # everything ansible printed (for no-secret-leak assertions)
    stderr: str
    rc: int

    @property
    def failed(self) -> bool:
        return bool(self.result.get("failed"))

    @property
    def changed(self) -> bool:
        return bool(self.result.get("changed"))


def run_module(
    name: str,
    args: dict,
    *,
    check: bool = False,
    diff: bool = False,
    verbosity: int = 0,
    env: dict | None = None,
    timeout: float = 300,
) -> ModuleRun:
    """Run one module on localhost with `ansible -m` and return its parsed result."""
    fqcn = name if "." in name else f"hackathon_todo.deploy.{name}"
    cmd = [
        "ansible",
        "localhost",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        "ansible_python_interpreter={{ ansible_playbook_python }}",
        "-m",
        fqcn,
        "-a",
        json.dumps(args),
    ]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=_env(
            {
                "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
                "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
                **(env or {}),
            }
        ),
    )
    try:
        doc = json.loads(proc.stdout[proc.stdout.index("{") :])
        result = doc["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError) as exc:
        raise AssertionError(
            f"could not parse ansible output ({exc}):\n"
            f"STDOUT:\n{proc.stdout}\nSTDERR:\n{proc.stderr}"
        ) from exc
    return ModuleRun(result=result, stdout=proc.stdout, stderr=proc.stderr, rc=proc.returncode)


def run_playbook(
    playbook: str | os.PathLike, *args: str, env: dict | None = None, timeout: float = 1800
) -> subprocess.CompletedProcess:
    """Run ansible-playbook from the repository root with the repository's ansible.cfg."""
    return subprocess.run(
        ["ansible-playbook", str(playbook), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=_env(env),
    )
