"""Where each platform component's chart comes from: upstream, air-gapped repository, path, OCI."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from plugins.filter.chart_source import chart_source

CERT_MANAGER = {"chart": "cert-manager", "repo": "https://charts.jetstack.io", "version": "v1.21.1"}
LOKI = {
    "chart": "loki",
    "repo": "oci://ghcr.io/grafana-community/helm-charts/",
    "version": "18.11.0",
}


def test_upstream_repository():
    assert chart_source(CERT_MANAGER) == {
        "chart_ref": "cert-manager",
        "chart_repo_url": "https://charts.jetstack.io",
        "chart_version": "v1.21.1",
    }


def test_air_gapped_repository_replaces_every_repo_including_oci():
    local = "http://127.0.0.1:8879"
    assert chart_source(CERT_MANAGER, local)["chart_repo_url"] == local
    assert chart_source(LOKI, local) == {
        "chart_ref": "loki",
        "chart_repo_url": local,
        "chart_version": "18.11.0",
    }


def test_oci_registry_path_holds_chart_by_name():
    assert chart_source(LOKI) == {
        "chart_ref": "oci://ghcr.io/grafana-community/helm-charts/loki",
        "chart_version": "18.11.0",
    }


def test_explicit_sources_win():
    assert chart_source({**CERT_MANAGER, "source": "/srv/charts/cert-manager-v1.21.1.tgz"}) == {
        "chart_ref": "/srv/charts/cert-manager-v1.21.1.tgz"
    }
    ref = "oci://registry.local/charts/cert-manager"
    oci = chart_source({**CERT_MANAGER, "source": ref}, "x")
    assert oci == {"chart_ref": ref, "chart_version": "v1.21.1"}


@pytest.mark.parametrize(
    ("component", "message"),
    [
        ({"chart": "x", "repo": "https://r"}, "needs 'chart' and 'version'"),
        ({"chart": "x", "version": "1"}, "has no 'repo'"),
        ("cert-manager", "expects a component dict"),
    ],
)
def test_bad_components_say_what_is_missing(component, message):
    with pytest.raises(AnsibleFilterError, match=message):
        chart_source(component)
