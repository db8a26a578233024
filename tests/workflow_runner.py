"""Run one job of a GitHub Actions workflow on this machine, step by step and in order, as a
runner would: every `run:` step in bash with the step's `env:` (its `${{ … }}` expressions
resolved from the contexts given), $GITHUB_OUTPUT read back into `steps.<id>.outputs`, and
$GITHUB_PATH added to PATH.

`uses:` steps are the runner's own work and have local equivalents here. actions/checkout is the
checkout the caller prepared. actions/setup-python is this machine's Python. The repository's
composite action ./.github/actions/toolchain runs its own `run:` steps, with the toolchain cache
restored (HTD_CACHE). Any other action is refused, so a new one cannot be skipped unnoticed.

Only dotted references (`secrets.X`, `steps.tag.outputs.tag`) and `a || b` are evaluated. Any
other expression raises instead of guessing.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import subprocess
import sys

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
REFERENCE = re.compile(r"^[A-Za-z_][\w-]*(\.[\w-]+)*$")


@dataclasses.dataclass
class StepRun:
    name: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _lookup(contexts: dict, ref: str):
    value = contexts
    for part in ref.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part, "")
    return value


def resolve(text, contexts: dict) -> str:
    """A string with its ${{ }} expressions evaluated (unset references are empty, as on GitHub)."""

    def one(match):
        alternatives = [a.strip() for a in match.group(1).split("||")]
        for alt in alternatives:
            if re.fullmatch(r"'[^']*'", alt):
                value = alt[1:-1]
            elif REFERENCE.match(alt):
                value = _lookup(contexts, alt)
            else:
                raise ValueError(f"expression not supported by the local runner: {match.group(0)}")
            if value not in ("", None, False):
                return str(value)
        return ""

    return EXPRESSION.sub(one, str(text))


def _parse_outputs(path: pathlib.Path) -> dict[str, str]:
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                out[key] = value
    return out


class LocalRunner:
    def __init__(self, workspace: pathlib.Path, scratch: pathlib.Path, contexts: dict, env: dict):
        self.workspace = workspace
        self.temp = scratch / "runner-temp"
        self.home = scratch / "home"
        for d in (self.temp, self.home):
            d.mkdir(parents=True, exist_ok=True)
        self.summary = scratch / "step-summary.md"
        self.path_file = scratch / "github-path"
        self.contexts = {"steps": {}, "runner": {"temp": str(self.temp)}, **contexts}
        self.base_env = {
            # a clean runner: nothing of this machine's user but the system PATH
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "RUNNER_TEMP": str(self.temp),
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_PATH": str(self.path_file),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            **env,
        }
        self.extra_path: list[str] = []

    def _run_script(self, name, script, step_env, step_id=None, timeout=1800) -> StepRun:
        output_file = self.temp / f"output-{len(self.contexts['steps'])}-{step_id or 'x'}"
        env = dict(self.base_env)
        env.update({k: resolve(v, self.contexts) for k, v in (step_env or {}).items()})
        env["GITHUB_OUTPUT"] = str(output_file)
        env["PATH"] = os.pathsep.join([*reversed(self.extra_path), env["PATH"]])
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if self.path_file.exists():
            for line in self.path_file.read_text().splitlines():
                if line and line not in self.extra_path:
                    self.extra_path.append(line)
        if step_id:
            self.contexts["steps"][step_id] = {
                "outputs": _parse_outputs(output_file),
                "outcome": "success" if proc.returncode == 0 else "failure",
            }
        return StepRun(name, proc.returncode, proc.stdout, proc.stderr)

    def _condition(self, text: str) -> bool:
        """`<reference> == '<literal>'`, the only form the composite action uses."""
        m = re.fullmatch(r"\s*([\w.-]+)\s*==\s*'([^']*)'\s*", text)
        if not m:
            raise ValueError(f"condition not supported by the local runner: {text}")
        return str(_lookup(self.contexts, m.group(1))) == m.group(2)

    def _composite(self, action_dir: pathlib.Path, inputs: dict) -> list[StepRun]:
        action = yaml.safe_load((action_dir / "action.yml").read_text())
        defaults = {k: str(v.get("default", "")) for k, v in action.get("inputs", {}).items()}
        saved = self.contexts.get("inputs")
        self.contexts["inputs"] = {
            **defaults,
            **{k: resolve(v, self.contexts) for k, v in inputs.items()},
        }
        runs = []
        try:
            for step in action["runs"]["steps"]:
                if "uses" in step:
                    continue  # setup-go and the cache: this machine's Go and HTD_CACHE
                if step.get("if") and not self._condition(step["if"]):
                    continue
                run = self._run_script(step.get("name", "run"), step["run"], step.get("env"),
                                       step.get("id"))  # fmt: skip
                runs.append(run)
                if run.returncode:
                    break
        finally:
            self.contexts["inputs"] = saved
        return runs

    def run_job(self, workflow: pathlib.Path, job: str) -> list[StepRun]:
        """Every step of the job in order; like a runner, steps after a failure run only when
        their `if:` starts with always()."""
        spec = yaml.safe_load(workflow.read_text())["jobs"][job]
        runs: list[StepRun] = []
        failed = False
        for step in spec["steps"]:
            condition = str(step.get("if", ""))
            if failed and not condition.startswith("always()"):
                continue
            if "run" in step:
                run = self._run_script(step.get("name", "run"), step["run"], step.get("env"),
                                       step.get("id"))  # fmt: skip
                runs.append(run)
            elif step["uses"].startswith("./"):
                runs.extend(self._composite(self.workspace / step["uses"], step.get("with", {})))
            elif step["uses"].startswith("actions/setup-python@"):
                self.extra_path.append(str(pathlib.Path(sys.base_prefix) / "bin"))
            elif step["uses"].startswith("actions/checkout@"):
                continue
            else:
                raise ValueError(f"{workflow.name}: no local equivalent for {step['uses']}")
            if runs and runs[-1].returncode:
                failed = True
        return runs
