"""The ingress controller choice, answered once for the platform role, the release role and the
chart: every preset the filter names is one the chart renders, with the class it names."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from plugins.filter.ingress_controller import CONTROLLERS, ingress_controller
from tests.helm import admitted_namespaces, by_kind, render_env


@pytest.mark.parametrize("name", sorted(CONTROLLERS))
def test_each_controller_renders_an_ingress_of_its_class_and_preset(name):
    answer = ingress_controller(name)
    objs = render_env(
        "production",
        "--set",
        f"ingress.controller={answer['chart_preset']}",
        "--set",
        f"ingress.className={answer['ingress_class']}",
        "--set",
        f"networkPolicy.ingressControllerNamespace={answer['namespace']}",
    )
    ingresses = by_kind(objs, "Ingress").values()
    assert ingresses and {i["spec"]["ingressClassName"] for i in ingresses} == {
        answer["ingress_class"]
    }
    annotations = {k for i in ingresses for k in i["metadata"].get("annotations", {})}
    vendor = (
        "traefik.ingress.kubernetes.io/" if name == "traefik" else "nginx.ingress.kubernetes.io/"
    )
    assert any(a.startswith(vendor) for a in annotations), annotations
    sources = admitted_namespaces(by_kind(objs, "NetworkPolicy").values())
    assert answer["namespace"] in sources, sources


def test_an_unknown_controller_says_what_to_set():
    with pytest.raises(
        AnsibleFilterError, match="htd_ingress_controller to one of ingress-nginx, traefik"
    ):
        ingress_controller("haproxy")


def test_the_answer_is_a_copy():
    ingress_controller("traefik")["ingress_class"] = "changed"
    assert ingress_controller("traefik")["ingress_class"] == "traefik"
