"""The Alertmanager configuration the monitoring role renders: every route names a receiver that is
defined, as a string. The real Alertmanager on the bed refused `receiver: null` (YAML's null, not
the receiver named "null") with "root route must specify a default receiver" and crash-looped."""

from __future__ import annotations

import json
import pathlib

import jinja2
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "roles/monitoring/templates/values/kube_prometheus_stack.yml.j2"
DEFAULTS = yaml.safe_load((ROOT / "roles/monitoring/defaults/main.yml").read_text())


def _values(webhook: str, storage: str = "20Gi") -> dict:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 (YAML)
    env.filters.update(
        to_json=json.dumps,
        bool=bool,
        combine=lambda a, b: {**a, **b},
    )
    text = env.from_string(TEMPLATE.read_text()).render(
        monitoring_storage_class="",
        monitoring_prometheus_retention="30d",
        monitoring_prometheus_storage=storage,
        monitoring_scrape_control_plane=True,
        monitoring_grafana_admin_secret="grafana-admin",
        monitoring_components=DEFAULTS["monitoring_components"],
        monitoring_namespace="monitoring",
        monitoring_grafana_dashboards={},
        monitoring_slack_webhook_url=webhook,
        monitoring_slack_channel="#todo-alerts",
    )
    return yaml.safe_load(text)


def _routes(route: dict):
    yield route
    for child in route.get("routes", []):
        yield from _routes(child)


@pytest.mark.parametrize("webhook", ["", "https://hooks.slack.test/x"], ids=["no-slack", "slack"])
def test_every_route_names_a_defined_receiver(webhook):
    config = _values(webhook)["alertmanager"]["config"]
    names = [r["name"] for r in config["receivers"]]
    assert all(isinstance(n, str) for n in names), names
    for route in _routes(config["route"]):
        assert isinstance(route["receiver"], str), route
        assert route["receiver"] in names, (route["receiver"], names)


def test_prometheus_gets_a_volume_of_the_size_given_and_none_without_one():
    claim = _values("")["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    # The local bed has no volume provisioner: an empty size keeps the data on an emptyDir.
    assert "storageSpec" not in _values("", storage="")["prometheus"]["prometheusSpec"]
