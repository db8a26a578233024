"""The Grafana dashboard the chart ships, against Grafana's dashboard schema.

Grafana is under the AGPL and does not run here. monitoring-config-check (testbed/tools) decodes
the dashboard with the Grafana Foundation SDK's strict decoder, which refuses unknown fields, values
of the wrong type and missing required fields, and checks each panel's plugin type, data source,
queries (by their data source's query schema) and field config. The JSON is what the Grafana
sidecar would load: the data of the rendered ConfigMap labelled grafana_dashboard.
"""

from __future__ import annotations

import copy
import json

import pytest

from tests.helm import render_env
from tests.monitoring_config_check import check

UNKNOWN = "unknown field: the dashboard schema has no such field here"

# Grafana's schema requires `annotations`; the chart ships Grafana's built-in entry.
MISSING_ANNOTATIONS = "annotations: required field is missing from input"


def _shipped() -> str:
    (cm,) = (
        o
        for o in render_env("production")
        if o["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
    )
    (text,) = cm["data"].values()
    return text


@pytest.fixture
def dashboard() -> dict:
    """The shipped dashboard, as Grafana's sidecar would load it."""
    return json.loads(_shipped())


def _problems(d: dict) -> list[str]:
    verdict = check("dashboard", json.dumps(d))
    assert (verdict.returncode == 0) == (not verdict.problems), verdict
    return verdict.problems


def test_the_rendered_dashboard_passes_grafana_s_dashboard_schema():
    verdict = check("dashboard", _shipped())
    assert verdict.returncode == 0, verdict.problems
    assert "3 panels, 5 queries, 3 variables decoded strictly" in verdict.stdout


def test_every_other_part_of_the_rendered_dashboard_passes(dashboard):
    """Panels, queries, field configs and variables, decoded strictly by the schema."""
    verdict = check("dashboard", json.dumps(dashboard))
    assert verdict.returncode == 0, verdict.problems
    assert "3 panels, 5 queries, 3 variables decoded strictly" in verdict.stdout
    assert "grafana-foundation-sdk/go v" in verdict.stdout


def _rename(obj: dict, old: str, new: str) -> None:
    obj[new] = obj.pop(old)


MISSPELT = {
    # where: (change, the problem the tool names)
    "dashboard": (lambda d: _rename(d, "refresh", "refesh"), f"refesh: {UNKNOWN}"),
    "panel": (lambda d: _rename(d["panels"][0], "title", "titel"), f"panels[0].titel: {UNKNOWN}"),
    "query": (
        lambda d: _rename(d["panels"][2]["targets"][1], "legendFormat", "legendFromat"),
        f"panels[2].targets[1].legendFromat: {UNKNOWN}",
    ),
    "field config": (
        lambda d: _rename(d["panels"][1]["fieldConfig"]["defaults"], "unit", "unti"),
        f"panels[1].fieldConfig.defaults.unti: {UNKNOWN}",
    ),
    "timeseries field config": (
        lambda d: d["panels"][0]["fieldConfig"]["defaults"].update(custom={"lineWidht": 2}),
        f"panels[0].fieldConfig.defaults.custom.lineWidht: {UNKNOWN}",
    ),
    "data source": (
        lambda d: _rename(d["panels"][0]["datasource"], "uid", "uidd"),
        f"panels[0].datasource.uidd: {UNKNOWN}",
    ),
    "variable": (
        lambda d: _rename(d["templating"]["list"][2], "includeAll", "inculdeAll"),
        f"templating.list[2].inculdeAll: {UNKNOWN}",
    ),
}


@pytest.mark.parametrize("where", MISSPELT)
def test_a_misspelt_field_is_refused_by_its_path(dashboard, where):
    change, problem = MISSPELT[where]
    bad = copy.deepcopy(dashboard)
    change(bad)
    assert _problems(bad) == [problem]


WRONG_TYPE = {
    "schemaVersion": (
        lambda d: d.update(schemaVersion="39"),
        "schemaVersion: a JSON string where the schema wants a whole number of 0 or more (uint16)",
    ),
    "panels": (
        lambda d: d.update(panels={}),
        "panels: a JSON object where the schema wants a list",
    ),
    "gridPos.w": (
        lambda d: d["panels"][0]["gridPos"].update(w="8"),
        "panels[0].gridPos.w: a JSON string where the schema wants a whole number of 0 or more "
        "(uint32)",
    ),
    "fieldConfig min": (
        lambda d: d["panels"][1]["fieldConfig"]["defaults"].update(min="0"),
        "panels[1].fieldConfig.defaults.min: a JSON string where the schema wants a number",
    ),
    "query expr": (
        lambda d: d["panels"][2]["targets"][0].update(expr=5),
        "panels[2].targets[0].expr: a JSON number where the schema wants a string",
    ),
    "gridPos.w too wide": (
        lambda d: d["panels"][0]["gridPos"].update(w=30),
        "panels[0].gridPos.w: must be <= 24",
    ),
}


@pytest.mark.parametrize("field", WRONG_TYPE)
def test_a_value_of_the_wrong_type_or_range_is_refused_by_its_path(dashboard, field):
    change, problem = WRONG_TYPE[field]
    bad = copy.deepcopy(dashboard)
    change(bad)
    assert _problems(bad) == [problem]


def test_a_panel_type_grafana_does_not_know_is_refused(dashboard):
    dashboard["panels"][0]["type"] = "timeserie"
    (problem,) = _problems(dashboard)
    assert problem.startswith('panels[0].type: "timeserie" is not a panel plugin the dashboard')
    assert '"timeseries"' in problem  # the message lists the ones it knows


def test_a_misspelt_data_source_type_is_refused(dashboard):
    panel = dashboard["panels"][0]
    for ref in (panel["datasource"], panel["targets"][0]["datasource"]):
        ref["type"] = "promethues"
    problems = _problems(dashboard)
    assert [p.split(": ")[0] for p in problems] == [
        "panels[0].datasource.type",
        "panels[0].targets[0].datasource.type",
    ]
    assert all('"promethues" is not a data source the dashboard schema' in p for p in problems)


def test_a_query_is_checked_with_the_schema_of_its_panel_s_data_source(dashboard):
    """A query without a data source of its own runs on the panel's: its fields are still checked
    with Prometheus's query schema."""
    query = dashboard["panels"][0]["targets"][0]
    del query["datasource"]
    assert _problems(dashboard) == []
    query["legendFromat"] = query.pop("legendFormat")
    assert _problems(dashboard) == [f"panels[0].targets[0].legendFromat: {UNKNOWN}"]


def test_a_query_without_any_data_source_type_is_refused(dashboard):
    """Else nothing would check its fields (the SDK keeps such a query as an untyped map)."""
    panel = dashboard["panels"][0]
    del panel["datasource"], panel["targets"][0]["datasource"]
    (problem,) = _problems(dashboard)
    assert problem.startswith("panels[0].targets[0]: no data source type on the query or its panel")


def test_a_query_of_another_type_than_its_panel_s_data_source_is_refused(dashboard):
    dashboard["panels"][0]["targets"][0]["datasource"]["type"] = "loki"
    assert _problems(dashboard) == [
        'panels[0].targets[0].datasource.type: "loki", but the panel\'s data source is '
        '"prometheus" (use the Mixed data source to combine types)'
    ]


def test_duplicate_panel_ids_and_ref_ids_are_refused(dashboard):
    dashboard["panels"][1]["id"] = dashboard["panels"][0]["id"]
    dashboard["panels"][2]["targets"][1]["refId"] = "A"
    assert _problems(dashboard) == [
        "panels[1].id: 1 is also the id of panels[0] (panel ids must be unique in a dashboard)",
        'panels[2].targets[1].refId: "A" is also the refId of targets[0] of the same panel',
    ]


def test_a_query_using_an_undefined_variable_is_refused(dashboard):
    """Grafana would send the query with the literal `$namspace` in it, and draw nothing."""
    query = dashboard["panels"][0]["targets"][0]
    query["expr"] = query["expr"].replace("$namespace", "$namspace")
    assert _problems(dashboard) == [
        "panels[0].targets[0].expr: uses $namspace, which is not a template variable of this "
        "dashboard (it defines $datasource, $namespace, $service)"
    ]


def test_a_variable_query_using_an_undefined_variable_is_refused(dashboard):
    (service,) = (v for v in dashboard["templating"]["list"] if v["name"] == "service")
    service["query"] = service["query"].replace("$namespace", "$ns")
    index = dashboard["templating"]["list"].index(service)
    assert _problems(dashboard) == [
        f"templating.list[{index}].query: uses $ns, which is not a template variable of this "
        "dashboard (it defines $datasource, $namespace, $service)"
    ]


def test_json_that_does_not_parse_is_refused_with_line_and_column():
    verdict = check("dashboard", '{\n  "title": "x",\n  "panels": [,]\n}\n')
    assert verdict.returncode == 1
    assert verdict.problems == [
        "3:14: not JSON: invalid character ',' looking for beginning of value"
    ]


def test_a_dashboard_without_annotations_is_refused(dashboard):
    del dashboard["annotations"]
    assert _problems(dashboard) == [MISSING_ANNOTATIONS]
