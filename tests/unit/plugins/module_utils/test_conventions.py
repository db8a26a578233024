"""The collection's conventions (module_utils/_conventions.py): their values, the lookup that
hands them to roles and playbooks, and the rule that nothing else spells them out."""

from __future__ import annotations

import re
import textwrap

import pytest

from plugins.module_utils import _conventions as conv
from tests.ansible_run import run_playbook
from tests.testbed import ROOT

# The rules, stated over the names: a test here must not be a second place that spells a name
# out (renaming one in _conventions.py is a one-line change that keeps these passing).
BASE, LABEL = conv.RELEASE_BASE_NAME, conv.HOST_LABEL


def test_release_names_per_environment():
    assert conv.release_name("production") == BASE  # the primary environment: the bare name
    assert conv.release_name("staging") == f"{BASE}-staging"


def test_hosts_and_dns_records_agree():
    assert conv.host("production", "example.com") == f"{LABEL}.example.com"
    assert conv.host("staging", "example.com") == f"staging.{LABEL}.example.com"
    for env in conv.ENVIRONMENTS:
        assert conv.host(env, "example.com") == conv.dns_record(env) + ".example.com"
    assert conv.dns_records() == [LABEL, f"staging.{LABEL}"]


def test_broker_names_per_environment():
    assert conv.topic_prefix("production") == ""
    assert conv.topic_prefix("staging") == "staging-"
    assert conv.group_prefix("production") == "production-"
    assert conv.service_account("staging") == f"staging-{BASE}"


def test_newest_minor_compares_numbers_not_text():
    assert conv.newest_minor() == conv.SUPPORTED_MINORS[-1]
    assert max(("1.9", "1.10"), key=lambda m: tuple(int(x) for x in m.split("."))) == "1.10"


def test_tag_rules():
    assert re.match(conv.TAG_PATTERN, "pr-42")
    assert re.match(conv.IMMUTABLE_TAG_PATTERN, "v1.2.3")
    assert re.match(conv.IMMUTABLE_TAG_PATTERN, "sha-1a2b3c4")
    assert not re.match(conv.IMMUTABLE_TAG_PATTERN, "latest")


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("release_nam", {"environment": "staging"}, "no convention named 'release_nam'; known: "),
        ("release_name", {}, "an environment name is required"),
        ("host", {"environment": "staging"}, "needs a domain"),
    ],
)
def test_bad_lookups_say_what_to_fix(name, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        conv.convention(name, **kwargs)


def _playbook(tmp_path, body):
    play = tmp_path / "play.yml"
    play.write_text(
        textwrap.dedent(
            """\
            - hosts: localhost
              gather_facts: false
              tasks:
            """
        )
        + textwrap.indent(textwrap.dedent(body), "    ")
    )
    return run_playbook(play, timeout=120)


def test_lookup_answers_roles_and_playbooks(tmp_path):
    proc = _playbook(
        tmp_path,
        """\
        - ansible.builtin.assert:
            that:
              - lookup(c, 'release_name', environment='staging') == staging_release
              - lookup(c, 'host', environment='production', domain='x.dev') == production_host
              - query(c, 'supported_minors') == minors
              - lookup(c, 'secret_name') == secret
          vars:
            c: hackathon_todo.deploy.convention
            staging_release: "{release}"
            production_host: "{host}"
            minors: {minors}
            secret: "{secret}"
        """.format(
            release=conv.release_name("staging"),
            host=conv.host("production", "x.dev"),
            minors=list(conv.SUPPORTED_MINORS),
            secret=conv.SECRET_NAME,
        ),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_lookup_refuses_an_unknown_name_clearly(tmp_path):
    proc = _playbook(
        tmp_path,
        """\
        - ansible.builtin.debug:
            msg: "{{ lookup('hackathon_todo.deploy.convention', 'secret') }}"
        """,
    )
    assert proc.returncode != 0
    assert "convention lookup: no convention named 'secret'" in proc.stdout


# Where a convention's value may still be written out: its definition, the chart (usable with
# bare Helm, so it keeps its own defaults), the docs and the tests that prove it.
_VALUES = {
    "release name": r"['\"]todo-app(-['\"]|['\"])",
    "secret name": r"(?<![\w-])app-secrets(?![\w-])",
    "pull secret name": r"(?<![\w-])ghcr-pull-secret(?![\w-])",
    "service account": r"-todo-app\b",
    "supported minors": r"['\"]1\.3[0-9]['\"]\s*,\s*['\"]1\.3[0-9]['\"]",
    "tag pattern": re.escape("{0,127}"),
}
_CODE = ["roles/*/defaults/*.yml", "roles/*/tasks/*.yml", "roles/*/vars/*.yml", "playbooks/*.yml"]
_CODE += ["*.yml", "inventories/*/group_vars/*/*.yml", "inventories/shared/*.yml"]
_CODE += ["plugins/modules/*.py", "plugins/module_utils/*.py", "plugins/filter/*.py"]


def _code_lines():
    for pattern in _CODE:
        for path in sorted(ROOT.glob(pattern)):
            if path.name == "_conventions.py":
                continue
            text = path.read_text()
            if path.suffix == ".py":
                # Module documentation is checked against the argument spec by ansible-test
                # (validate-modules); only code counts here.
                text = re.sub(r'(DOCUMENTATION|EXAMPLES|RETURN) = r?"""(.|\n)*?"""', "", text)
            for number, line in enumerate(text.splitlines(), 1):
                if not line.lstrip().startswith("#"):
                    yield path.relative_to(ROOT), number, line


def test_every_convention_is_defined_once():
    found = [
        f"{path}:{number}: {line.strip()} ({what})"
        for path, number, line in _code_lines()
        for what, pattern in _VALUES.items()
        if re.search(pattern, line)
    ]
    assert not found, "spelled out outside _conventions.py:\n" + "\n".join(found)
