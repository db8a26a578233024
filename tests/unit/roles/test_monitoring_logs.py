"""The log pipeline the monitoring role renders for Alloy, and the runbook's queries against it:
every label a LogQL example uses is one the relabel rules attach, and each Alloy instance of the
DaemonSet discovers only the pods of its own node (no duplicate streams, one per node)."""

from __future__ import annotations

import pathlib
import re

import jinja2
import yaml

from tests.helm import SERVICES

ROOT = pathlib.Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "roles/monitoring/templates/values/alloy.yml.j2"
RUNBOOK = ROOT / "docs/runbooks/monitoring.md"
DEFAULTS = yaml.safe_load((ROOT / "roles/monitoring/defaults/main.yml").read_text())


def _values() -> dict:
    text = jinja2.Template(TEMPLATE.read_text(), undefined=jinja2.StrictUndefined).render(
        monitoring_components=DEFAULTS["monitoring_components"],
        monitoring_namespace="monitoring",
    )
    return yaml.safe_load(text)


def _stream_labels(config: str) -> set[str]:
    return set(re.findall(r'target_label\s*=\s*"([^"]+)"', config))


def _runbook_queries() -> list[str]:
    blocks = re.findall(r"```logql\n(.*?)```", RUNBOOK.read_text(), flags=re.S)
    assert blocks, "the runbook has no ```logql block"
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def _labels_used(query: str) -> set[str]:
    used = set()
    for selector in re.findall(r"{([^}]*)}", query):
        used |= set(re.findall(r'(\w+)\s*(?:=~|!~|!=|=)\s*"', selector))
    for grouping in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", query):
        used |= {label.strip() for label in grouping.split(",") if label.strip()}
    return used


def test_every_label_in_the_runbook_queries_is_attached_by_alloy():
    labels = _stream_labels(_values()["alloy"]["configMap"]["content"])
    for query in _runbook_queries():
        used = _labels_used(query)
        assert used, f"no label found in {query!r}"
        assert used <= labels, (
            f"{query!r} uses {sorted(used - labels)}; Alloy sets {sorted(labels)}"
        )


def test_the_runbook_queries_match_values_the_app_s_pods_carry():
    """app is app.kubernetes.io/name (the chart's name, the same on every pod of the app); service
    is app.kubernetes.io/component (one of the five services). A query for app="backend" would
    match nothing."""
    chart_name = yaml.safe_load((ROOT / "chart/Chart.yaml").read_text())["name"]
    carried = {"app": {chart_name}, "service": set(SERVICES.values())}
    for query in _runbook_queries():
        for label, value in re.findall(
            r'(\w+)\s*=\s*"([^"]*)"', " ".join(re.findall(r"{([^}]*)}", query))
        ):
            if label in carried:
                assert value in carried[label], f"{query!r}: no pod has {label}={value!r}"


def test_the_service_label_comes_from_the_component_label_the_chart_sets():
    config = _values()["alloy"]["configMap"]["content"]
    rule = re.search(
        r'source_labels\s*=\s*\["__meta_kubernetes_pod_label_app_kubernetes_io_component"\]\s*'
        r'target_label\s*=\s*"service"',
        config,
    )
    assert rule, config
    helpers = (ROOT / "chart/templates/_helpers.tpl").read_text()
    assert "app.kubernetes.io/component:" in helpers


def test_each_daemonset_instance_discovers_only_its_own_node():
    values = _values()
    assert values["controller"]["type"] == "daemonset"
    config = values["alloy"]["configMap"]["content"]
    discovery = re.search(r'discovery\.kubernetes "pods" {(.*?)\n}', config, flags=re.S).group(1)
    assert re.search(
        r'selectors\s*{\s*role\s*=\s*"pod"\s*field\s*=\s*"spec\.nodeName="\s*\+\s*'
        r'sys\.env\("NODE_NAME"\)\s*}',
        discovery,
    ), discovery
    (env,) = [e for e in values["alloy"]["extraEnv"] if e["name"] == "NODE_NAME"]
    assert env["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
