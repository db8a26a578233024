"""The secret scan CI runs first (`make secrets-scan`, .gitleaks.toml) passes on this repository
and catches a token committed to a repository.

Tokens are generated here at run time, so no token-shaped literal sits in this file (the scan of
this repository would rightly flag it).
"""

from __future__ import annotations

import json
import secrets
import shutil
import string
import subprocess

import pytest

from tests.testbed import ROOT

GITLEAKS = ROOT / ".tools" / "bin" / "gitleaks"

pytestmark = pytest.mark.skipif(
    not GITLEAKS.exists(), reason="gitleaks is not installed: run `make toolchain`"
)


def _scan(repo) -> tuple[int, list[dict], str]:
    """`make secrets-scan SCAN=repo`: the same target, flags and config CI uses."""
    report = repo / ".." / f"{repo.name}-report.json"
    proc = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "secrets-scan", f"SCAN={repo}"],
        capture_output=True,
        text=True,
        check=False,
    )
    # Again for the machine-readable findings: same config, the report written to a file.
    subprocess.run(
        [
            str(GITLEAKS),
            "git",
            "--config",
            str(ROOT / ".gitleaks.toml"),
            "--redact",
            "--no-banner",
            "--exit-code",
            "0",
            "--report-format",
            "json",
            "--report-path",
            str(report),
            str(repo),
        ],
        capture_output=True,
        check=True,
    )
    return proc.returncode, json.loads(report.read_text()), proc.stdout + proc.stderr


def _repo(tmp_path, files: dict[str, str]):
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "test@example.invalid")
    git("config", "user.name", "test")
    for path, text in files.items():
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git("add", "-A")
    git("commit", "-q", "-m", "planted")
    return repo


def _do_token() -> str:
    return "dop_v1_" + secrets.token_hex(32)


def _github_pat() -> str:
    alphabet = string.ascii_letters + string.digits
    return "ghp_" + "".join(secrets.choice(alphabet) for _position in range(36))


def test_scan_passes_on_this_repository():
    proc = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "secrets-scan"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_planted_tokens_are_caught_and_not_printed(tmp_path):
    do_token, pat = _do_token(), _github_pat()
    repo = _repo(
        tmp_path,
        {
            "inventories/staging/group_vars/all/main.yml": f"---\ndo_token: {do_token}\n",
            ".github/workflows/deploy.yml": f"env:\n  GHCR_TOKEN: {pat}\n",
        },
    )
    rc, findings, output = _scan(repo)
    assert rc != 0, "the scan passed a repository with a DigitalOcean token and a GitHub PAT"
    rules = {f["RuleID"] for f in findings}
    assert {"digitalocean-pat", "github-pat"} <= rules, rules
    assert do_token not in output and pat not in output, "the scan printed a secret"


def test_plaintext_vault_file_is_caught_and_encrypted_ones_are_not(tmp_path):
    vault_pw = tmp_path / "vault-pass"
    vault_pw.write_text(secrets.token_hex(16))
    encrypted = tmp_path / "encrypted.yml"
    encrypted.write_text("---\nvault_better_auth_secret: " + secrets.token_hex(24) + "\n")
    ansible_vault = shutil.which("ansible-vault", path=str(ROOT / ".tools" / "venv" / "bin"))
    assert ansible_vault, "ansible-vault is not installed: run `make toolchain`"
    subprocess.run(
        # ansible.cfg also offers the local bed's throwaway id, so name the one to encrypt with
        [
            ansible_vault,
            "encrypt",
            "--vault-password-file",
            str(vault_pw),
            "--encrypt-vault-id",
            "default",
            str(encrypted),
        ],
        check=True,
        capture_output=True,
    )
    inline = subprocess.run(
        [
            ansible_vault,
            "encrypt_string",
            "--vault-password-file",
            str(vault_pw),
            "--encrypt-vault-id",
            "default",
            "--name",
            "vault_database_url",
            secrets.token_hex(24),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    repo = _repo(
        tmp_path,
        {
            "inventories/production/host_vars/production/vault.yml": "---\nvault_openai_api_key: "
            + secrets.token_urlsafe(24)
            + "\n",
            "inventories/staging/host_vars/staging/vault.yml": encrypted.read_text(),
            "inventories/local/host_vars/staging/vault.yml": "---\n" + inline,
        },
    )
    rc, findings, _output = _scan(repo)
    assert rc != 0
    flagged = {(f["RuleID"], f["File"]) for f in findings}
    assert flagged == {
        ("ansible-vault-plaintext", "inventories/production/host_vars/production/vault.yml")
    }, flagged


def test_test_allowlist_needs_a_marker_and_the_tests_directory(tmp_path):
    marked = "dop_v1_standin_" + secrets.token_hex(16)
    unmarked = _do_token()
    repo = _repo(
        tmp_path,
        {
            "tests/standins/api.py": f'TOKEN = "{marked}"\n',
            "tests/unit/test_x.py": f'TOKEN = "{unmarked}"\n',
            "roles/x/defaults/main.yml": f"---\ntoken: {marked}\n",
        },
    )
    rc, findings, _output = _scan(repo)
    assert rc != 0
    files = {f["File"] for f in findings}
    assert files == {"tests/unit/test_x.py", "roles/x/defaults/main.yml"}, files
