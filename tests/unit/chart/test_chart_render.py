"""The rendered staging and production manifests have every property the chart promises."""

from __future__ import annotations

import json

import pytest

from tests.helm import (
    ENVIRONMENTS,
    PRODUCTION_TAG,
    SERVICES,
    STAGING_TAG,
    by_kind,
    render,
    render_env,
    template_error,
)

ENVS = list(ENVIRONMENTS)
TAGS = {"staging": STAGING_TAG, "production": PRODUCTION_TAG}
HOSTS = {"staging": "staging.todo.example.com", "production": "todo.example.com"}


def _name(env: str, service: str) -> str:
    return f"{ENVIRONMENTS[env][0]}-{service}"


def _deployments(env: str, *extra: str) -> dict[str, dict]:
    return by_kind(render_env(env, *extra), "Deployment")


def _pod(dep: dict) -> dict:
    return dep["spec"]["template"]


def _container(dep: dict) -> dict:
    (container,) = _pod(dep)["spec"]["containers"]
    return container


# --- Deployments -------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_every_service_is_deployed_with_its_image_and_tag(env):
    deps = _deployments(env)
    assert set(deps) == {_name(env, s) for s in SERVICES.values()}
    for service in SERVICES.values():
        dep = deps[_name(env, service)]
        assert _container(dep)["image"] == (
            f"ghcr.io/example-owner/hackathon-todo/{service}:{TAGS[env]}"
        )
        assert _pod(dep)["spec"]["imagePullSecrets"] == [{"name": "ghcr-pull-secret"}]
    policy = {"staging": "Always", "production": "IfNotPresent"}[env]
    assert {_container(d)["imagePullPolicy"] for d in deps.values()} == {policy}


def test_image_owner_and_a_service_tag_override_apply():
    deps = _deployments(
        "staging", "--set", "global.imageOwner=acme", "--set", "mcp.image.tag=sha-fffffff"
    )
    assert _container(deps["todo-app-staging-backend"])["image"] == (
        f"ghcr.io/acme/hackathon-todo/backend:{STAGING_TAG}"
    )
    assert _container(deps["todo-app-staging-mcp"])["image"].endswith("/mcp:sha-fffffff")


@pytest.mark.parametrize("env", ENVS)
def test_rolling_update_never_removes_a_pod_before_its_replacement_is_ready(env):
    for dep in _deployments(env).values():
        assert dep["spec"]["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        }, dep["metadata"]["name"]
        # A pod counts as available only after staying Ready a while.
        assert dep["spec"]["minReadySeconds"] >= 5
        container = _container(dep)
        assert container["readinessProbe"] and container["livenessProbe"]
        # The app container keeps serving while its endpoints are withdrawn.
        assert container["lifecycle"]["preStop"]["sleep"]["seconds"] >= 1
        grace = _pod(dep)["spec"]["terminationGracePeriodSeconds"]
        assert grace > container["lifecycle"]["preStop"]["sleep"]["seconds"]


@pytest.mark.parametrize("env", ENVS)
def test_probes_use_the_health_and_metrics_endpoints(env):
    deps = _deployments(env)
    expected = {
        "frontend": ("httpGet", "/"),
        "backend": ("httpGet", "/api/health"),
        "notification": ("httpGet", "/metrics"),
        "sse-gateway": ("httpGet", "/metrics"),
        "mcp": ("tcpSocket", None),
    }
    for service, (kind, path) in expected.items():
        container = _container(deps[_name(env, service)])
        for probe in ("readinessProbe", "livenessProbe"):
            handler = container[probe][kind]
            assert handler["port"] == "http"
            if path:
                assert handler["path"] == path
        assert container["ports"] == [
            {
                "name": "http",
                "containerPort": container["ports"][0]["containerPort"],
                "protocol": "TCP",
            }
        ]


def test_production_replicas_and_autoscalers():
    objs = render_env("production")
    deps, hpas = by_kind(objs, "Deployment"), by_kind(objs, "HorizontalPodAutoscaler")
    expected = {  # service: (min, max, cpu %)
        "backend": (2, 6, 70),
        "frontend": (2, 4, 80),
        "sse-gateway": (2, 4, 70),
        "notification": (1, 3, 70),
        "mcp": (1, 2, 80),
    }
    assert set(hpas) == {_name("production", s) for s in expected}
    for service, (low, high, cpu) in expected.items():
        name = _name("production", service)
        spec = hpas[name]["spec"]
        assert spec["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert (spec["minReplicas"], spec["maxReplicas"]) == (low, high)
        (metric,) = spec["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": cpu}
        assert spec["behavior"] == {
            "scaleUp": {
                "stabilizationWindowSeconds": 60,
                "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}],
            },
            "scaleDown": {
                "stabilizationWindowSeconds": 300,
                "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}],
            },
        }
        # The HPA owns the replica count: a pinned one would reset it on every upgrade.
        assert "replicas" not in deps[name]["spec"]


def test_production_without_autoscaling_runs_two_user_facing_replicas():
    deps = _deployments("production", "--set", "hpa.enabled=false")
    replicas = {n.removeprefix("todo-app-"): d["spec"]["replicas"] for n, d in deps.items()}
    assert replicas == {
        "frontend": 2,
        "backend": 2,
        "sse-gateway": 2,
        "mcp": 1,
        "notification": 1,
    }
    assert not by_kind(
        render_env("production", "--set", "hpa.enabled=false"), "HorizontalPodAutoscaler"
    )


def test_staging_has_one_replica_each_and_no_autoscaler():
    objs = render_env("staging")
    assert not by_kind(objs, "HorizontalPodAutoscaler")
    assert {d["spec"]["replicas"] for d in by_kind(objs, "Deployment").values()} == {1}


def test_a_service_without_hpa_block_keeps_its_replicas_when_hpa_is_on():
    objs = render_env("production", "--set-json", "mcp.hpa={}", "--set", "mcp.replicas=3")
    assert _name("production", "mcp") not in by_kind(objs, "HorizontalPodAutoscaler")
    assert by_kind(objs, "Deployment")[_name("production", "mcp")]["spec"]["replicas"] == 3


# --- availability -------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_disruption_budgets_for_services_with_two_or_more_pods(env):
    objs = render_env(env)
    pdbs, deps = by_kind(objs, "PodDisruptionBudget"), by_kind(objs, "Deployment")
    expected = {"staging": set(), "production": {"frontend", "backend", "sse-gateway"}}[env]
    assert set(pdbs) == {_name(env, s) for s in expected}
    for name, pdb in pdbs.items():
        assert pdb["spec"]["maxUnavailable"] == 1
        labels = _pod(deps[name])["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("env", ENVS)
def test_pods_spread_across_nodes(env):
    for dep in _deployments(env).values():
        (tsc,) = _pod(dep)["spec"]["topologySpreadConstraints"]
        assert tsc["topologyKey"] == "kubernetes.io/hostname"
        assert tsc["maxSkew"] == 1
        assert tsc["labelSelector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]
        assert tsc["matchLabelKeys"] == ["pod-template-hash"]


# --- security -------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_pods_run_restricted(env):
    objs = render_env(env)
    accounts = by_kind(objs, "ServiceAccount")
    seen_accounts = set()
    for name, dep in by_kind(objs, "Deployment").items():
        spec = _pod(dep)["spec"]
        assert spec["automountServiceAccountToken"] is False
        assert spec["serviceAccountName"] == name
        seen_accounts.add(spec["serviceAccountName"])
        assert accounts[name]["automountServiceAccountToken"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] > 0
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        ctx = _container(dep)["securityContext"]
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"] == {"drop": ["ALL"]}
    for cron in by_kind(objs, "CronJob").values():  # staging's scale-to-zero: it calls the API
        spec = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert spec["automountServiceAccountToken"] is True
        assert accounts[spec["serviceAccountName"]]["automountServiceAccountToken"] is False
        seen_accounts.add(spec["serviceAccountName"])
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for c in spec["containers"]:
            assert c["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }
    assert seen_accounts == set(accounts), "one ServiceAccount per workload, each used"


@pytest.mark.parametrize("env", ENVS)
def test_writable_paths_are_empty_dirs(env):
    deps = _deployments(env)
    frontend = deps[_name(env, "frontend")]
    mounts = {m["mountPath"]: m["name"] for m in _container(frontend)["volumeMounts"]}
    assert set(mounts) == {"/tmp", "/app/.next/cache"}  # noqa: S108 (an emptyDir)
    volumes = {v["name"]: v for v in _pod(frontend)["spec"]["volumes"]}
    for volume in mounts.values():
        assert "emptyDir" in volumes[volume]
    for dep in deps.values():
        assert "/tmp" in {m["mountPath"] for m in _container(dep)["volumeMounts"]}  # noqa: S108


def test_a_service_can_relax_its_security_context():
    deps = _deployments("staging", "--set", "frontend.securityContext.readOnlyRootFilesystem=false")
    assert _container(deps["todo-app-staging-frontend"])["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": False,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert _container(deps["todo-app-staging-backend"])["securityContext"]["readOnlyRootFilesystem"]


@pytest.mark.parametrize("env", ENVS)
def test_secrets_come_from_app_secrets_by_reference(env):
    wanted = {
        "backend": {"DATABASE_URL", "BETTER_AUTH_SECRET", "OPENAI_API_KEY"},
        "frontend": {"DATABASE_URL", "BETTER_AUTH_SECRET"},
    }
    deps = _deployments(env)
    for service, names in wanted.items():
        env_vars = {e["name"]: e for e in _container(deps[_name(env, service)])["env"]}
        for var in names:
            ref = env_vars[var]["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "app-secrets"
    frontend_db = {e["name"]: e for e in _container(deps[_name(env, "frontend")])["env"]}
    assert (
        frontend_db["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "FRONTEND_DATABASE_URL"
    )
    # No secret value is ever rendered into a manifest.
    for obj in render_env(env):
        assert obj["kind"] != "Secret"


# --- network ------------------------------------------------------------------------------


def _policies(env: str, *extra: str) -> dict[str, dict]:
    return by_kind(render_env(env, *extra), "NetworkPolicy")


def _namespaces_in(rules: list[dict]) -> list[str | None]:
    """Namespace names a list of ingress/egress rules admits (None: an unrestricted selector)."""
    out = []
    for rule in rules:
        for peer in rule.get("from", []) + rule.get("to", []):
            if "namespaceSelector" in peer:
                labels = peer["namespaceSelector"].get("matchLabels", {})
                out.append(labels.get("kubernetes.io/metadata.name"))
    return out


@pytest.mark.parametrize("env", ENVS)
def test_default_deny_and_dns(env):
    pols = _policies(env)
    deny = pols[f"{ENVIRONMENTS[env][0]}-default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = pols[f"{ENVIRONMENTS[env][0]}-dns"]["spec"]
    (rule,) = dns["egress"]
    assert _namespaces_in([rule]) == ["kube-system"]
    assert {(p["protocol"], p["port"]) for p in rule["ports"]} == {("UDP", 53), ("TCP", 53)}


@pytest.mark.parametrize("env", ENVS)
def test_ingress_controller_reaches_only_the_exposed_services(env):
    pols = _policies(env)
    exposed = set()
    for service in SERVICES.values():
        ingress = pols[_name(env, service)]["spec"]["ingress"]
        if "traefik" in _namespaces_in(ingress):
            exposed.add(service)
    assert exposed == {"frontend", "backend", "sse-gateway"}
    nginx = _policies(env, "--set", "ingress.controller=nginx", "--set", "ingress.className=nginx")
    assert "ingress-nginx" in _namespaces_in(nginx[_name(env, "backend")]["spec"]["ingress"])


@pytest.mark.parametrize("env", ENVS)
def test_cert_manager_http01_solver_is_reachable(env):
    # The solver pod cert-manager starts in this namespace must get Let's Encrypt's request
    # through the ingress controller despite the default deny.
    pol = _policies(env)[f"{ENVIRONMENTS[env][0]}-acme-http01-solver"]["spec"]
    assert pol["podSelector"] == {"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}}
    (rule,) = pol["ingress"]
    assert _namespaces_in([rule]) == ["traefik"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8089}]


@pytest.mark.parametrize("env", ENVS)
def test_nothing_enters_from_other_app_namespaces(env):
    allowed = {"traefik", "monitoring"}
    for name, pol in _policies(env).items():
        spec = pol["spec"]
        sources = _namespaces_in(spec.get("ingress", []))
        assert None not in sources, f"{name}: a namespaceSelector that admits every namespace"
        assert set(sources) <= allowed, f"{name}: admits {set(sources) - allowed}"
        for rule in spec.get("ingress", []):
            for peer in rule["from"]:
                assert "ipBlock" not in peer, f"{name}: admits addresses"
                # A bare podSelector means "this namespace" only.
                assert peer.keys() <= {"podSelector", "namespaceSelector"}


@pytest.mark.parametrize("env", ENVS)
def test_dapr_and_prometheus_traffic_is_allowed(env):
    pols = _policies(env)
    for service in SERVICES.values():
        spec = pols[_name(env, service)]["spec"]
        assert "dapr-system" in _namespaces_in(spec["egress"]), service
        scrape = [r for r in spec["ingress"] if _namespaces_in([r]) == ["monitoring"]]
        (rule,) = scrape
        ports = {p["port"] for p in rule["ports"]}
        assert 9090 in ports, f"{service}: Dapr sidecar metrics"
        if service in {"backend", "notification", "sse-gateway"}:
            assert "http" in ports, f"{service}: app metrics"
        sidecars = [
            r for r in spec["ingress"] if r["ports"] == [{"protocol": "TCP", "port": 50002}]
        ]
        assert sidecars, f"{service}: Dapr service invocation"


def test_only_the_frontend_reaches_the_backend_and_only_the_backend_reaches_mcp():
    pols = _policies("production")

    def peers(service):
        out = set()
        for rule in pols[_name("production", service)]["spec"]["ingress"]:
            for peer in rule["from"]:
                if "podSelector" in peer and "namespaceSelector" not in peer:
                    component = peer["podSelector"]["matchLabels"].get(
                        "app.kubernetes.io/component"
                    )
                    if rule["ports"] == [{"protocol": "TCP", "port": "http"}]:
                        out.add(component)
        return out

    assert peers("backend") == {"frontend", "helm-test"}
    assert peers("mcp") == {"backend"}
    assert peers("notification") == set()


# --- Dapr -----------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_dapr_annotations(env):
    objs = render_env(env)
    for service in SERVICES.values():
        dep = by_kind(objs, "Deployment")[_name(env, service)]
        ann = _pod(dep)["metadata"]["annotations"]
        assert ann["dapr.io/enabled"] == "true"
        assert ann["dapr.io/app-id"] == service
        assert ann["dapr.io/app-port"] == str(_container(dep)["ports"][0]["containerPort"])
        assert ann["dapr.io/config"] == "appconfig"  # the environment's (platform role)
        assert ann["dapr.io/sidecar-seccomp-profile-type"] == "RuntimeDefault"
        # The pods carry no API token (automountServiceAccountToken: false); daprd's built-in
        # Kubernetes secret store would need one and exits without it (a real run showed it).
        # The pub/sub's secret references are resolved by Dapr's operator instead.
        assert _pod(dep)["spec"]["automountServiceAccountToken"] is False
        assert ann["dapr.io/disable-builtin-k8s-secret-store"] == "true"


@pytest.mark.parametrize("env", ENVS)
def test_dapr_pubsub_uses_scram_over_tls_with_secret_references(env):
    (comp,) = by_kind(render_env(env), "Component").values()
    assert comp["spec"]["type"] == "pubsub.kafka"
    meta = {m["name"]: m for m in comp["spec"]["metadata"]}
    for field, key in [
        ("brokers", "REDPANDA_BROKERS"),
        ("saslUsername", "REDPANDA_USERNAME"),
        ("saslPassword", "REDPANDA_PASSWORD"),
    ]:
        assert meta[field] == {"name": field, "secretKeyRef": {"name": "app-secrets", "key": key}}
    assert meta["authType"]["value"] == "password"
    # Dapr's spelling: "SCRAM-SHA-512" would silently fall back to PLAIN.
    assert meta["saslMechanism"]["value"] in {"SHA-256", "SHA-512"}
    assert meta["disableTls"]["value"] == "false"
    assert comp["auth"] == {"secretStore": "kubernetes"}
    assert sorted(comp["scopes"]) == sorted(SERVICES.values())


@pytest.mark.parametrize(
    ("env", "prefix", "consumer"),
    [
        ("staging", "staging-", "staging-{appID}"),
        # production topics are unprefixed, its consumer groups are not: the ACLs allow
        # production-* groups only (issue 13 #5: "{appID}" was refused by the broker)
        ("production", "", "production-{appID}"),
    ],
)
def test_topics_and_consumer_groups_per_environment(env, prefix, consumer):
    objs = render_env(env)
    (cm,) = (
        o for o in by_kind(objs, "ConfigMap").values() if o["metadata"]["name"].endswith("-config")
    )
    assert {k: v for k, v in cm["data"].items() if k.startswith("TOPIC_")} == {
        "TOPIC_TASK_EVENTS": f"{prefix}task-events",
        "TOPIC_NOTIFICATIONS": f"{prefix}notifications",
        "TOPIC_PROCESSED_EVENTS": f"{prefix}processed-events",
    }
    assert cm["data"]["CORS_ORIGINS"] == f"https://{HOSTS[env]}"
    (comp,) = by_kind(objs, "Component").values()
    assert {m["name"]: m.get("value") for m in comp["spec"]["metadata"]}["consumerID"] == consumer


@pytest.mark.parametrize("env", ["staging", "production"])
def test_environments_use_the_dapr_configuration_bootstrap_created(env):
    """Issue 13 #6: one Configuration per environment, the platform role's `appconfig` (T015),
    not a second one of the release's own that left appconfig unused."""
    objs = render_env(env)
    assert not by_kind(objs, "Configuration")
    for dep in by_kind(objs, "Deployment").values():
        assert _pod(dep)["metadata"]["annotations"]["dapr.io/config"] == "appconfig"


def test_without_an_environment_the_chart_brings_its_own_dapr_configuration():
    objs = render("t", "default")
    (config,) = by_kind(objs, "Configuration").values()
    for dep in by_kind(objs, "Deployment").values():
        assert _pod(dep)["metadata"]["annotations"]["dapr.io/config"] == config["metadata"]["name"]


def test_an_existing_dapr_configuration_can_be_referenced():
    objs = render_env(
        "production",
        "--set",
        "dapr.configuration.create=false",
        "--set",
        "dapr.configuration.name=appconfig",
    )
    assert not by_kind(objs, "Configuration")
    for dep in by_kind(objs, "Deployment").values():
        assert _pod(dep)["metadata"]["annotations"]["dapr.io/config"] == "appconfig"


# --- rolling on change ----------------------------------------------------------------------


def _annotations(env: str, *extra: str) -> dict[str, dict]:
    return {n: _pod(d)["metadata"]["annotations"] for n, d in _deployments(env, *extra).items()}


def test_changed_config_rolls_every_pod():
    base = _annotations("production")
    changed = _annotations("production", "--set-json", 'corsOrigins=["https://other.example.com"]')
    for name in base:
        assert base[name]["checksum/config"] != changed[name]["checksum/config"], name
        assert base[name]["checksum/dapr"] == changed[name]["checksum/dapr"], name


def test_changed_dapr_component_rolls_every_pod():
    base = _annotations("production")
    changed = _annotations("production", "--set", "dapr.pubsub.saslMechanism=SHA-256")
    for name in base:
        assert base[name]["checksum/dapr"] != changed[name]["checksum/dapr"], name


def test_unrelated_change_does_not_roll_pods():
    base = _annotations("production")
    changed = _annotations("production", "--set", "backend.hpa.maxReplicas=5")
    assert base == changed


def test_secret_checksum_from_the_release_rolls_pods():
    assert all("checksum/secret" not in a for a in _annotations("production").values())
    one = _annotations("production", "--set", "secretChecksum=aaaa")
    two = _annotations("production", "--set", "secretChecksum=bbbb")
    for name in one:
        assert (one[name]["checksum/secret"], two[name]["checksum/secret"]) == ("aaaa", "bbbb")


def test_pod_labels_reach_every_pod_template():
    deps = _deployments("staging", "--set", "global.podLabels.extra=yes")
    for dep in deps.values():
        assert _pod(dep)["metadata"]["labels"]["extra"] == "yes"
        assert "extra" not in dep["spec"]["selector"]["matchLabels"]


# --- ingress and routes ------------------------------------------------------------------


def _service_ports(objs: list[dict]) -> dict[str, int]:
    return {n: s["spec"]["ports"][0]["port"] for n, s in by_kind(objs, "Service").items()}


@pytest.mark.parametrize("env", ENVS)
def test_traefik_ingress_tls_and_redirect(env):
    objs = render_env(env)
    release, namespace = ENVIRONMENTS[env][:2]
    host = HOSTS[env]
    ingresses = by_kind(objs, "Ingress")
    assert set(ingresses) == {release, f"{release}-http-redirect"}
    https, http = ingresses[release], ingresses[f"{release}-http-redirect"]
    for ing in (https, http):
        assert ing["spec"]["ingressClassName"] == "traefik"
        (rule,) = ing["spec"]["rules"]
        assert rule["host"] == host
    assert https["spec"]["tls"] == [{"hosts": [host], "secretName": f"{host}-tls"}]
    ann = https["metadata"]["annotations"]
    assert ann["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    assert ann["traefik.ingress.kubernetes.io/router.tls"] == "true"
    assert ann["traefik.ingress.kubernetes.io/router.entrypoints"] == "websecure"
    # Plain HTTP: its own router on `web`, through the redirect middleware.
    (middleware,) = by_kind(objs, "Middleware").values()
    assert middleware["spec"] == {"redirectScheme": {"scheme": "https", "permanent": True}}
    ref = f"{namespace}-{middleware['metadata']['name']}@kubernetescrd"
    assert http["metadata"]["annotations"] == {
        "traefik.ingress.kubernetes.io/router.entrypoints": "web",
        "traefik.ingress.kubernetes.io/router.middlewares": ref,
    }
    assert "tls" not in http["spec"]


@pytest.mark.parametrize("env", ENVS)
def test_nginx_preset(env):
    objs = render_env(env, "--set", "ingress.controller=nginx", "--set", "ingress.className=nginx")
    (ing,) = by_kind(objs, "Ingress").values()
    ann = ing["metadata"]["annotations"]
    assert ann["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    assert ann["nginx.ingress.kubernetes.io/ssl-redirect"] == "true"
    assert ann["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    assert not [k for k in ann if k.startswith("traefik.")]
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["tls"] == [{"hosts": [HOSTS[env]], "secretName": f"{HOSTS[env]}-tls"}]
    assert not by_kind(objs, "Middleware")


@pytest.mark.parametrize("env", ENVS)
def test_ingress_paths_reach_existing_services(env):
    objs = render_env(env)
    ports = _service_ports(objs)
    (rule,) = by_kind(objs, "Ingress")[ENVIRONMENTS[env][0]]["spec"]["rules"]
    routes = {p["path"]: p["backend"]["service"] for p in rule["http"]["paths"]}
    release = ENVIRONMENTS[env][0]
    assert routes["/api"]["name"] == f"{release}-backend"
    assert routes["/api/auth"]["name"] == f"{release}-frontend"
    assert routes["/"]["name"] == f"{release}-frontend"
    assert routes["/events"]["name"] == f"{release}-sse-gateway"
    for backend in routes.values():
        assert backend["name"] in ports and backend["port"] == {"name": "http"}


def test_gateway_api_routes_with_redirect():
    objs = render_env(
        "production",
        "--set",
        "gateway.enabled=true",
        "--set",
        "gateway.parentRef.name=public",
        "--set",
        "gateway.parentRef.namespace=traefik",
    )
    ports = _service_ports(objs)
    routes = by_kind(objs, "HTTPRoute")
    https, http = routes["todo-app"]["spec"], routes["todo-app-http-redirect"]["spec"]
    assert https["parentRefs"] == [
        {"name": "public", "namespace": "traefik", "sectionName": "websecure"}
    ]
    assert http["parentRefs"] == [{"name": "public", "namespace": "traefik", "sectionName": "web"}]
    assert https["hostnames"] == http["hostnames"] == ["todo.example.com"]
    for rule in https["rules"]:
        (ref,) = rule["backendRefs"]
        assert ports[ref["name"]] == ref["port"]
    (rule,) = http["rules"]
    assert rule["filters"] == [
        {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
    ]
    assert "matches" not in rule and "backendRefs" not in rule


# --- monitoring -----------------------------------------------------------------------------


def test_staging_has_no_monitoring_objects():
    objs = render_env("staging")
    for kind in ("ServiceMonitor", "PrometheusRule"):
        assert not by_kind(objs, kind)
    assert not [o for o in objs if "grafana_dashboard" in o["metadata"].get("labels", {})]


def test_service_monitors_for_the_services_with_metrics():
    objs = render_env("production")
    monitors = by_kind(objs, "ServiceMonitor")
    services = by_kind(objs, "Service")
    assert set(monitors) == {
        _name("production", s) for s in ("backend", "notification", "sse-gateway")
    }
    for name, mon in monitors.items():
        assert mon["metadata"]["labels"]["release"] == "monitoring"
        assert mon["spec"]["namespaceSelector"] == {"matchNames": ["production"]}
        (endpoint,) = mon["spec"]["endpoints"]
        assert endpoint["path"] == "/metrics"
        assert endpoint["interval"] == "30s"
        svc = services[name]
        assert mon["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
        assert endpoint["port"] in {p["name"] for p in svc["spec"]["ports"]}


@pytest.mark.parametrize("interval", ["5s", "30s", "2m"])
def test_a_scrape_never_outlasts_its_interval(interval):
    """prometheus-operator drops a ServiceMonitor whose scrapeTimeout exceeds its interval
    ("scrapeTimeout greater than scrapeInterval", seen on the real-node bed with interval 5s):
    the chart leaves the timeout to Prometheus (the smaller of its default and the interval)
    unless one is given, and refuses one longer than the interval."""
    objs = render_env("production", "--set", f"monitoring.interval={interval}")
    for mon in by_kind(objs, "ServiceMonitor").values():
        (endpoint,) = mon["spec"]["endpoints"]
        assert endpoint["interval"] == interval
        assert "scrapeTimeout" not in endpoint
    given = render_env(
        "production", "--set", "monitoring.interval=30s", "--set", "monitoring.scrapeTimeout=20s"
    )
    for mon in by_kind(given, "ServiceMonitor").values():
        assert mon["spec"]["endpoints"][0]["scrapeTimeout"] == "20s"
    _release, namespace, args = ENVIRONMENTS["production"]
    error = template_error(
        "-n", namespace, *args, "--set", "monitoring.interval=5s",
        "--set", "monitoring.scrapeTimeout=20s",
    )  # fmt: skip
    assert "monitoring.scrapeTimeout 20s is longer than monitoring.interval 5s" in error


def test_prometheus_rule_group():
    (rule,) = by_kind(render_env("production"), "PrometheusRule").values()
    assert rule["metadata"]["labels"]["release"] == "monitoring"
    (group,) = rule["spec"]["groups"]
    assert group["name"] == "todo-app.availability"
    alerts = {r["alert"]: r for r in group["rules"]}
    assert {a: (r["for"], r["labels"]["severity"]) for a, r in alerts.items()} == {
        "HighErrorRate": ("5m", "warning"),
        "CriticalErrorRate": ("2m", "critical"),
        "PodCrashLooping": ("5m", "critical"),
    }
    assert alerts["HighErrorRate"]["expr"].rstrip().endswith("> 0.05")
    assert alerts["CriticalErrorRate"]["expr"].rstrip().endswith("> 0.15")
    assert alerts["PodCrashLooping"]["expr"].rstrip().endswith("> 0.2")
    for r in alerts.values():
        assert 'namespace="production"' in r["expr"]


def test_grafana_dashboard_config_map():
    objs = render_env("production")
    (cm,) = (o for o in objs if o["metadata"].get("labels", {}).get("grafana_dashboard") == "1")
    (text,) = cm["data"].values()
    dashboard = json.loads(text)
    titles = [p["title"] for p in dashboard["panels"]]
    assert [t.split(":")[0] for t in titles] == ["Rate", "Errors", "Duration"]
    assert dashboard["uid"] == "todo-red-production"
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert any("http_request_duration_seconds_bucket" in e for e in exprs)


# --- helm test ----------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_helm_test_hook_calls_the_backend_health_endpoint(env):
    objs = render_env(env)
    (pod,) = by_kind(objs, "Pod").values()
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (container,) = pod["spec"]["containers"]
    port = _service_ports(objs)[_name(env, "backend")]
    assert container["args"][-1] == f"http://{_name(env, 'backend')}:{port}/api/health"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True


# --- defaults --------------------------------------------------------------------------------


def test_default_values_render_a_development_install():
    objs = render("dev", "dev")
    assert not by_kind(objs, "Ingress")
    deps = by_kind(objs, "Deployment")
    assert {_container(d)["image"].rsplit(":", 1)[1] for d in deps.values()} == {"latest"}


def test_a_plain_env_value_replaces_the_secret_entry_of_the_same_name():
    # Two entries of one name are refused by server-side apply ("duplicate entries for key"):
    # an override in <service>.env must replace the secretEnv entry, not sit beside it.
    deps = _deployments("staging", "--set", "backend.env.DATABASE_URL=postgres://override")
    env = _container(deps[_name("staging", "backend")])["env"]
    names = [e["name"] for e in env]
    assert len(names) == len(set(names)), names
    (db,) = [e for e in env if e["name"] == "DATABASE_URL"]
    assert db == {"name": "DATABASE_URL", "value": "postgres://override"}
