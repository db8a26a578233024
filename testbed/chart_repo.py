"""The local Helm chart repository of the test bed (air-gapped mode of the platform roles).

The upstream charts of the platform (Traefik, cert-manager, Dapr, metrics-server,
kube-prometheus-stack, Loki, Alloy, ingress-nginx) cannot be downloaded on this machine. The
platform and monitoring roles install charts from "a repo URL, a local path or an OCI reference";
on the test bed they use this repository, served over real HTTP by `helm repo index` layout.

Its charts are TEST FIXTURES standing in for the upstream charts, one per component, generated
from the roles' own defaults so names and versions always match what the roles pin:
  * the real program where the bed builds it (testbed/platform/charts/<chart>: Traefik,
    cert-manager, Dapr, kube-prometheus-stack's operator, Prometheus, Alertmanager and
    kube-state-metrics), with the RBAC, Services and arguments upstream's chart renders from
    the same values keys, so the objects the roles create are acted on by the real controllers; the
    image's version is the program's (appVersion, from testbed/versions.env);
  * elsewhere a placeholder Deployment per controller (an idle pause container on real nodes;
    kwok runs none) and, for the ingress controller, its LoadBalancer Service, so
    `helm --wait`, rollouts and the LB wait behave;
  * no CRDs: the test bed holds the real ones already (testbed/crds.sh applies them, generated
    from upstream Go API types), so the objects the roles create (ClusterIssuer, Configuration,
    ...) are validated by the API server. Carrying them in the chart is not an option for all:
    prometheus-operator's CRDs make a Helm release record larger than a Secret may be (1 MiB);
  * no values schema: values keys are checked against the real charts separately (docs/testbed.md).

  python testbed/chart_repo.py up       build (if the roles' pins changed) and serve; prints the URL
  python testbed/chart_repo.py down     stop serving; removes the repository
  python testbed/chart_repo.py status   exit 0 when serving
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from pins import pinned

ROOT = pathlib.Path(__file__).resolve().parent.parent
STATE = pathlib.Path(os.environ.get("HTD_STATE", ROOT / ".testbed")) / "charts"
PORT = int(os.environ.get("HTD_CHART_REPO_PORT", "38879"))
HELM = ROOT / ".tools" / "bin" / "helm"
# Charts that run the real program: their templates and values, and the version pin of the program.
REAL = ROOT / "testbed" / "platform" / "charts"
APP_VERSION_OF = {
    "traefik": "TRAEFIK_VERSION",
    "cert-manager": "CERT_MANAGER_VERSION",
    "dapr": "DAPR_VERSION",
    "kube-prometheus-stack": "PROMETHEUS_OPERATOR_VERSION",
}
# Image tags of charts that run several programs: each program at the version the bed pins and
# builds (testbed/versions.env), as upstream's values name them.
PINNED_VALUES = {
    "kube-prometheus-stack": lambda v: {
        "prometheusOperator": {
            "image": {"tag": v["PROMETHEUS_OPERATOR_VERSION"]},
            "prometheusConfigReloader": {"image": {"tag": v["PROMETHEUS_OPERATOR_VERSION"]}},
        },
        "prometheus": {"prometheusSpec": {"image": {"tag": v["PROMETHEUS_VERSION"]}}},
        "alertmanager": {"alertmanagerSpec": {"image": {"tag": v["ALERTMANAGER_VERSION"]}}},
        "kube-state-metrics": {"image": {"tag": v["KUBE_STATE_METRICS_VERSION"]}},
    },
}
# Parts that need a container to answer, off on kwok nodes (nothing serves there): an admission
# webhook nobody answers would refuse every object it covers.
KWOK_VALUES = {
    "cert-manager": {
        "webhook": {"enabled": False},
        "cainjector": {"enabled": False},
        "startupapicheck": {"enabled": False},
    },
    "dapr": {"dapr_sidecar_injector": {"enabled": False}},
}


def real_nodes() -> bool:
    """The bed runs real nodes (testbed/nodes.sh wrote its env at cluster-up)."""
    return (STATE.parent / "nodes" / "env").exists()


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merge(out[key], value) if both else value
    return out


# The ingress controllers' load-balanced Service, named as upstream names it.
LOAD_BALANCER_OF = {
    "traefik": "{{ .Release.Name }}",
    "ingress-nginx": "{{ .Release.Name }}-controller",
}


def components() -> list[dict]:
    """Every chart the roles pin: (chart, version) from their defaults."""
    out = []
    for role, key in (("platform", "platform_components"), ("monitoring", "monitoring_components")):
        path = ROOT / "roles" / role / "defaults" / "main.yml"
        if path.exists():
            for comp in (yaml.safe_load(path.read_text()) or {}).get(key, {}).values():
                out.append({"chart": comp["chart"], "version": str(comp["version"])})
    return out


def _chart_file(path: pathlib.Path) -> bool:
    return path.is_file() and path.suffix in (".yaml", ".tpl")


def _real_chart_files(chart: str) -> dict[str, str]:
    src = REAL / chart
    if not src.is_dir():
        return {}
    files = {
        str(f.relative_to(src)): f.read_text() for f in sorted(src.rglob("*")) if _chart_file(f)
    }
    values = yaml.safe_load(files["values.yaml"])
    if chart in PINNED_VALUES:
        values = _merge(values, PINNED_VALUES[chart](pinned()))
    if chart in KWOK_VALUES and not real_nodes():
        values = _merge(values, KWOK_VALUES[chart])
    if chart in PINNED_VALUES or chart in KWOK_VALUES:
        files["values.yaml"] = "---\n" + yaml.safe_dump(values, sort_keys=False)
    return files


def _chart_files(chart: str, version: str) -> dict[str, str]:
    meta = {
        "apiVersion": "v2",
        "name": chart,
        "version": version,
        "appVersion": pinned()[APP_VERSION_OF[chart]] if chart in APP_VERSION_OF else version,
        "description": f"TEST FIXTURE standing in for the upstream {chart} chart on the test bed",
        "annotations": {"hackathon-todo.dev/test-fixture": "true"},
    }
    deployment = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
  labels: {app.kubernetes.io/name: @CHART@, app.kubernetes.io/instance: {{ .Release.Name }}}
spec:
  replicas: {{ .Values.replicas | default 1 }}
  selector:
    matchLabels: {app.kubernetes.io/instance: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: @CHART@, app.kubernetes.io/instance: {{ .Release.Name }}}
      annotations: {checksum/values: {{ toJson .Values | sha256sum | quote }}}
    spec:
      containers:
        # An idle process (the bed's pause image, on every real node) where the controller goes.
        - name: controller
          image: registry.k8s.io/pause:3.10
          imagePullPolicy: IfNotPresent
""".replace("@CHART@", chart).replace("@VERSION@", version)
    real = _real_chart_files(chart)
    if real:
        return {"Chart.yaml": yaml.safe_dump(meta, sort_keys=False), **real}
    files = {
        "Chart.yaml": yaml.safe_dump(meta, sort_keys=False),
        "values.yaml": "replicas: 1\n",
        "templates/deployment.yaml": deployment,
    }
    if chart in LOAD_BALANCER_OF:
        files["templates/service.yaml"] = """apiVersion: v1
kind: Service
metadata:
  name: @NAME@
  namespace: {{ .Release.Namespace }}
spec:
  type: LoadBalancer
  selector: {app.kubernetes.io/instance: {{ .Release.Name }}}
  ports:
    - {name: web, port: 80, targetPort: 8000}
    - {name: websecure, port: 443, targetPort: 8443}
""".replace("@NAME@", LOAD_BALANCER_OF[chart])
    return files


def _fingerprint(comps: list[dict]) -> str:
    h = hashlib.sha256(json.dumps(comps, sort_keys=True).encode())
    h.update(pathlib.Path(__file__).read_bytes())
    h.update((ROOT / "testbed" / "versions.env").read_bytes())
    h.update(b"real nodes" if real_nodes() else b"kwok nodes")
    for f in sorted(p for p in REAL.rglob("*") if _chart_file(p)):
        h.update(str(f.relative_to(REAL)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def build() -> pathlib.Path:
    comps = components()
    repo = STATE / "repo"
    stamp = STATE / "fingerprint"
    fingerprint = _fingerprint(comps)
    if stamp.exists() and stamp.read_text() == fingerprint and (repo / "index.yaml").exists():
        return repo
    shutil.rmtree(STATE / "src", ignore_errors=True)
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    for comp in comps:
        src = STATE / "src" / comp["chart"]
        for rel, text in _chart_files(comp["chart"], comp["version"]).items():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_text(text)
        subprocess.run(
            [str(HELM), "package", str(src), "-d", str(repo)], check=True, stdout=subprocess.DEVNULL
        )
    subprocess.run([str(HELM), "repo", "index", str(repo), "--url", url()], check=True)
    stamp.write_text(fingerprint)
    return repo


def url() -> str:
    return f"http://127.0.0.1:{PORT}"


def _serving() -> bool:
    pid_file = STATE / "pid"
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (OSError, ValueError):
        return False
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", PORT)) == 0


def up() -> int:
    repo = build()
    if _serving():
        print(f"chart repo: already up at {url()}")
        return 0
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", PORT)) == 0:
            print(f"chart repo: port {PORT} is in use; set HTD_CHART_REPO_PORT", file=sys.stderr)
            return 1
    log = open(STATE / "server.log", "ab")  # noqa: SIM115 - handed to the server process
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(PORT), "--bind", "127.0.0.1", "-d", str(repo)],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    (STATE / "pid").write_text(str(proc.pid))
    for _attempt in range(100):
        if _serving():
            print(f"chart repo: up at {url()} ({len(components())} charts)")
            return 0
        time.sleep(0.05)
    print("chart repo: server did not start; see " + str(STATE / "server.log"), file=sys.stderr)
    return 1


def down() -> int:
    pid_file = STATE / "pid"
    if pid_file.exists():
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
    shutil.rmtree(STATE, ignore_errors=True)
    print("chart repo: down")
    return 0


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else ""
    actions = {"up": up, "down": down, "status": lambda: 0 if _serving() else 1}
    if action not in actions:
        print("usage: chart_repo.py up|down|status", file=sys.stderr)
        sys.exit(2)
    sys.exit(actions[action]())
