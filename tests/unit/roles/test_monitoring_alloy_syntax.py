"""The Alloy configuration the monitoring role renders, through Alloy's own parser and printer.

Alloy cannot be built here (its binary depends on Loki, which is under the AGPL), but its
configuration language is a module of its own (github.com/grafana/alloy/syntax, Apache-2.0).
monitoring-config-check (testbed/tools) parses the configuration with it, reporting errors at
line:column, and prints it back as `alloy fmt` does: the file must equal that output. Which
components exist and which arguments they take is not checked (that is Alloy's component registry).
"""

from __future__ import annotations

import jinja2
import pytest
import yaml

from tests.monitoring_config_check import check
from tests.testbed import ROOT

TEMPLATE = ROOT / "roles/monitoring/templates/values/alloy.yml.j2"
DEFAULTS = yaml.safe_load((ROOT / "roles/monitoring/defaults/main.yml").read_text())


def _content() -> str:
    """`alloy.configMap.content` as the role renders it: Ansible's template lookup keeps the
    template's last newline and trims blocks (and escapes nothing: this is YAML, not HTML)."""
    env = jinja2.Environment(  # noqa: S701
        trim_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined
    )
    text = env.from_string(TEMPLATE.read_text()).render(
        monitoring_components=DEFAULTS["monitoring_components"],
        monitoring_namespace="monitoring",
    )
    return yaml.safe_load(text)["alloy"]["configMap"]["content"]


@pytest.fixture
def config() -> str:
    return _content()


def _position(config: str, text: str) -> tuple[int, int]:
    """Line and column (1-based; a tab is one column, as Alloy counts) of the character just
    after the first occurrence of text."""
    end = config.index(text) + len(text)
    line = config.count("\n", 0, end) + 1
    return line, end - (config.rfind("\n", 0, end) + 1) + 1


def test_the_rendered_config_parses_and_is_formatted_as_alloy_fmt_formats_it(config):
    verdict = check("alloy", config)
    assert verdict.returncode == 0, verdict.problems
    assert (
        "4 blocks (discovery.kubernetes.pods, discovery.relabel.pods, loki.source.kubernetes.pods, "
        "loki.write.default), formatted as alloy fmt formats it" in verdict.stdout
    )


def test_a_syntax_error_is_reported_at_its_line_and_column(config):
    anchor = "targets    = discovery.relabel.pods.output"
    line, column = _position(config, anchor)
    broken = config.replace(anchor, anchor + ",", 1)
    verdict = check("alloy", broken)
    assert verdict.returncode == 1
    assert verdict.problems == [f"{line}:{column}: expected TERMINATOR, got ,"]


def test_an_unterminated_string_is_reported_where_it_starts(config):
    anchor = 'target_label  = "namespace"'
    line, column = _position(config, anchor.removesuffix('"namespace"'))
    broken = config.replace(anchor, anchor.removesuffix('"'), 1)
    verdict = check("alloy", broken)
    assert verdict.returncode == 1
    assert f"{line}:{column}: string literal not terminated" in verdict.problems


def test_a_missing_closing_brace_is_reported_at_the_end(config):
    broken = config.rstrip("\n").removesuffix("}") + "\n"
    verdict = check("alloy", broken)
    assert verdict.returncode == 1
    last = broken.count("\n") + 1
    assert verdict.problems == [f"{last}:1: expected }}, got EOF"]


def test_a_config_laid_out_otherwise_than_alloy_fmt_is_refused_at_its_line(config):
    """Two-space indents instead of the printer's tabs, on the first indented line."""
    lines = config.split("\n")
    first = next(i for i, text in enumerate(lines) if text.startswith("\t"))
    lines[first] = "  " + lines[first][1:]
    verdict = check("alloy", "\n".join(lines))
    assert verdict.returncode == 1
    (problem,) = verdict.problems
    assert problem.startswith(f"{first + 1}:1: not formatted as 'alloy fmt' formats it")


def test_a_config_without_its_final_newline_is_not_formatted(config):
    verdict = check("alloy", config.rstrip("\n"))
    assert verdict.returncode == 1
    (problem,) = verdict.problems
    assert "not formatted as 'alloy fmt' formats it" in problem
