"""One rule for the Kafka consumer groups of an environment, read three ways: the prefix the
ACLs allow (redpanda_secrets), the prefix the release passes (app_release), and the group the
chart names when nobody passes one (a hand-run `helm upgrade` with the seed's values files)."""

from __future__ import annotations

import pathlib

import jinja2
import pytest
import yaml

from plugins.module_utils._conventions import convention
from tests.helm import by_kind, render_env

ROOT = pathlib.Path(__file__).resolve().parents[3]


def _lookup(plugin: str, name: str, **options):
    # The one lookup these defaults use: the collection's conventions.
    assert plugin == "hackathon_todo.deploy.convention", plugin
    return convention(name, **options)


def _default(role: str, name: str, **variables) -> str:
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults/main.yml").read_text())
    template = jinja2.Template(defaults[name], undefined=jinja2.StrictUndefined)
    return template.render(lookup=_lookup, **variables).strip()


def _chart_group(env: str, *extra: str) -> str:
    (component,) = by_kind(render_env(env, *extra), "Component").values()
    return {m["name"]: m.get("value") for m in component["spec"]["metadata"]}["consumerID"]


@pytest.mark.parametrize("env", ["staging", "production"])
def test_chart_role_and_acls_name_the_same_consumer_groups(env):
    acl_prefix = _default(
        "redpanda_secrets", "redpanda_secrets_group_prefix", redpanda_secrets_environment=env
    )
    release_prefix = _default(
        "app_release", "app_release_consumer_group_prefix", app_release_environment=env
    )
    assert acl_prefix == release_prefix == f"{env}-"
    assert _chart_group(env) == f"{acl_prefix}{{appID}}"


def test_a_consumer_group_given_to_the_chart_wins():
    assert _chart_group("production", "--set", "dapr.pubsub.consumerID=production-x-{appID}") == (
        "production-x-{appID}"
    )
