"""Build the images the real-node bed runs, and push the app stand-in's to the bed's registry.

  python testbed/images/build.py system
      pause, CoreDNS, metrics-server and kubectl layouts (the nodes import them)
  python testbed/images/build.py platform
      Traefik, cert-manager and Dapr (the real programs, built by testbed/toolchain.sh from
      their Go modules), named as upstream tags them
  python testbed/images/build.py app --tag v1.0.0 [--owner hackathon-todo] [--no-push]
      the five app stand-in images, pushed to the bed's registry as
      <owner>/hackathon-todo/<service>:<tag>

Everything is cached in $HTD_CACHE/images/ by the inputs' hashes (sources, versions, tag), so a
second run only checks files. Binaries are built with the pinned Go toolchain (static, no cgo):
the pause program and the stand-in are ours (testbed/images/pause, testbed/images/standin);
CoreDNS is the binary testbed/toolchain.sh built from its Go module.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import oci
from pins import pinned

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = (
    pathlib.Path(os.environ.get("HTD_CACHE", pathlib.Path.home() / ".cache/hackathon-todo-deploy"))
    / "images"
)
STATE = pathlib.Path(os.environ.get("HTD_STATE", ROOT / ".testbed"))
SERVICES = ("frontend", "backend", "mcp", "notification", "sse-gateway")
# Non-root, as the chart's securityContext demands (runAsUser 10001).
APP_USER = "10001:10001"
# A path inside the images (a mount point for the chart's emptyDir), not on this host.
IMAGE_TMP = "/tmp"  # noqa: S108
PAUSE_REF = "registry.k8s.io/pause:3.10"
COREDNS_REF = "registry.k8s.io/coredns/coredns:htd"
METRICS_SERVER_REF = "registry.k8s.io/metrics-server/metrics-server:htd"
# The upstream kubectl image's layout (kubernetes build/server-image/kubectl): /bin/kubectl on a
# distroless base, no shell. Named as upstream tags it, so the chart's default image resolves.
KUBECTL_REPO = "registry.k8s.io/kubectl"


def _hash(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
        h.update(b"\0")
    return h.hexdigest()[:12]


def _sources(d: pathlib.Path) -> bytes:
    return b"".join(f.read_bytes() for f in [*sorted(d.glob("*.go")), d / "go.mod"])


def go_binary(src: pathlib.Path, name: str) -> pathlib.Path:
    """A static binary of our own Go program in `src`, cached by its sources and the Go version."""
    gov = subprocess.run(
        ["go", "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout
    out = CACHE / "bin" / f"{name}-{_hash(_sources(src), gov)}"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
        subprocess.run(
            ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(out) + ".tmp", "."],
            cwd=src,
            env=env,
            check=True,
        )
        os.replace(str(out) + ".tmp", out)
    return out


def _layout(path: pathlib.Path, ref: str, build) -> pathlib.Path:
    if not path.exists():
        oci.write_layout(build(), ref, path)
    return path


def system() -> list[pathlib.Path]:
    pause = go_binary(HERE / "pause", "pause")
    coredns = ROOT / ".tools" / "coredns" / "bin" / "coredns"
    metrics_server = ROOT / ".tools" / "metrics-server" / "bin" / "metrics-server"
    kubectl = ROOT / ".tools" / "bin" / "kubectl"
    for tool in (coredns, metrics_server, kubectl):
        if not tool.exists():
            raise SystemExit(f"{tool} missing: run make toolchain")
    v = pinned()
    out = [
        _layout(
            CACHE / f"pause-{_hash(pause.read_bytes())}.tar",
            PAUSE_REF,
            lambda: oci.image(
                [(pause, "/pause", 0o755)], entrypoint=["/pause"], user="65535:65535"
            ),
        ),
        _layout(
            CACHE / f"coredns-{v['COREDNS_VERSION']}.tar",
            COREDNS_REF,
            lambda: oci.image(
                [(coredns, "/coredns", 0o755)], entrypoint=["/coredns"], user="65532:65532"
            ),
        ),
        _layout(
            CACHE / f"metrics-server-{v['METRICS_SERVER_VERSION']}.tar",
            METRICS_SERVER_REF,
            lambda: oci.image(
                [(metrics_server, "/metrics-server", 0o755)],
                [(IMAGE_TMP, 0o1777)],
                entrypoint=["/metrics-server"],
            ),
        ),
        _layout(
            CACHE / f"kubectl-{v['KUBERNETES_VERSION']}.tar",
            f"{KUBECTL_REPO}:{v['KUBERNETES_VERSION']}",
            lambda: oci.image(
                [(kubectl.resolve(), "/bin/kubectl", 0o755)],
                [(IMAGE_TMP, 0o1777)],
                entrypoint=["/bin/kubectl"],
            ),
        ),
    ]
    # Stable names for the nodes to import (nodes.sh reads these).
    links = ("pause.tar", "coredns.tar", "metrics-server.tar", "kubectl.tar")
    for link, target in zip(links, out, strict=True):
        tmp = CACHE / (link + ".tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target.name)
        os.replace(tmp, CACHE / link)
    return out


# The platform programs, each under the image name its upstream chart uses, so the bed's fixture
# charts and cert-manager's solver pods name them as on a real cluster: (link, ref, tool, path in
# the image, arguments of the entrypoint or None for none). Non-root, as upstream's images run.
PLATFORM = (
    (
        "traefik",
        "docker.io/library/traefik:{TRAEFIK_VERSION}",
        "traefik",
        "/usr/local/bin/traefik",
        [],
    ),
    (
        "cert-manager-controller",
        "quay.io/jetstack/cert-manager-controller:{CERT_MANAGER_VERSION}",
        "cert-manager",
        "/app/cmd/cert-manager",
        ["controller"],
    ),
    *(
        (
            f"cert-manager-{component}",
            f"quay.io/jetstack/cert-manager-{component}:{{CERT_MANAGER_VERSION}}",
            "cert-manager",
            "/app/cmd/cert-manager",
            [component],
        )
        for component in ("acmesolver", "webhook", "cainjector", "startupapicheck")
    ),
    # Dapr's images hold one program each at /<name> and no entrypoint: the chart names the command,
    # the injector starts sidecars as `/daprd ...`. Tagged without the "v", as upstream tags them
    # (the fixture chart's dapr.tag does the same).
    *(
        (
            f"dapr-{name}",
            f"ghcr.io/dapr/{name}:{{DAPR_TAG}}",
            "daprd" if name == "daprd" else f"dapr-{name}",
            f"/{name}",
            None,
        )
        for name in ("operator", "sentry", "placement", "scheduler", "injector", "daprd")
    ),
    # kube-prometheus-stack's programs, each at the path its upstream image has it (the operator
    # starts Prometheus, Alertmanager and the config reloader with arguments only).
    (
        "prometheus-operator",
        "quay.io/prometheus-operator/prometheus-operator:{PROMETHEUS_OPERATOR_VERSION}",
        "prometheus-operator",
        "/bin/operator",
        [],
    ),
    (
        "prometheus-config-reloader",
        "quay.io/prometheus-operator/prometheus-config-reloader:{PROMETHEUS_OPERATOR_VERSION}",
        "prometheus-config-reloader",
        "/bin/prometheus-config-reloader",
        [],
    ),
    (
        "prometheus",
        "quay.io/prometheus/prometheus:{PROMETHEUS_VERSION}",
        "prometheus",
        "/bin/prometheus",
        [],
    ),
    (
        "alertmanager",
        "quay.io/prometheus/alertmanager:{ALERTMANAGER_VERSION}",
        "alertmanager",
        "/bin/alertmanager",
        [],
    ),
    (
        "kube-state-metrics",
        "registry.k8s.io/kube-state-metrics/kube-state-metrics:{KUBE_STATE_METRICS_VERSION}",
        "kube-state-metrics",
        "/kube-state-metrics",
        [],
    ),
)
PLATFORM_USER = "65532:65532"


def platform() -> list[pathlib.Path]:
    v = pinned()
    v["DAPR_TAG"] = v["DAPR_VERSION"].removeprefix("v")
    (CACHE / "platform").mkdir(parents=True, exist_ok=True)
    out = []
    # The binary's cache slot is named by its version and recipe: the image follows it.
    for link, ref_template, tool, path, args in PLATFORM:
        binary = ROOT / ".tools" / "bin" / tool
        if not binary.exists():
            raise SystemExit(f"{binary} missing: run make toolchain")
        binary = binary.resolve()
        ref = ref_template.format(**v)
        target = _layout(
            CACHE / "platform" / f"{link}-{_hash(str(binary), ref)}.tar",
            ref,
            lambda binary=binary, path=path, args=args: oci.image(
                [(binary, path, 0o755)],
                [(IMAGE_TMP, 0o1777)],
                entrypoint=None if args is None else [path, *args],
                user=PLATFORM_USER,
            ),
        )
        out.append(target)
    return out


def app_image(service: str, tag: str, owner: str, binary: pathlib.Path) -> tuple[str, pathlib.Path]:
    repository = f"{owner}/hackathon-todo/{service}"
    ref = f"ghcr.io/{repository}:{tag}"
    path = CACHE / "app" / f"{service}-{_hash(binary.read_bytes(), ref)}.tar"
    _layout(
        path,
        ref,
        lambda: oci.image(
            [(binary, "/app/standin", 0o755)],
            [(IMAGE_TMP, 0o1777)],
            entrypoint=["/app/standin"],
            user=APP_USER,
            env=[f"STANDIN_VERSION={tag}"],
            labels={
                "org.opencontainers.image.title": f"hackathon-todo {service} (test bed stand-in)",
                "org.opencontainers.image.version": tag,
            },
            workdir="/app",
        ),
    )
    return repository, path


def bed_registry() -> oci.Registry:
    env_file = STATE / "nodes" / "env"
    if not env_file.exists():
        raise SystemExit(
            "the real-node test bed is not up (no .testbed/nodes/env): "
            "HTD_NODES_MODE=real make cluster-up"
        )
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    return oci.Registry(
        env["HTD_REGISTRY_URL"],
        pathlib.Path(env["HTD_REGISTRY_USER_FILE"]).read_text().strip(),
        pathlib.Path(env["HTD_REGISTRY_PASSWORD_FILE"]).read_text().strip(),
        env["HTD_REGISTRY_CA"],
    )


def app(tag: str, owner: str, push: bool) -> None:
    binary = go_binary(HERE / "standin", "standin")
    reg = bed_registry() if push else None
    for service in SERVICES:
        repository, path = app_image(service, tag, owner, binary)
        if reg:
            digest = reg.push(oci.read_layout(path), repository, tag)
            print(f"{reg.url}/{repository}:{tag} {digest}")
        else:
            print(path)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="action", required=True)
    sub.add_parser("system")
    sub.add_parser("platform")
    a = sub.add_parser("app")
    a.add_argument("--tag", required=True)
    a.add_argument("--owner", default="hackathon-todo")
    a.add_argument("--no-push", action="store_true")
    args = ap.parse_args(argv)
    if args.action in ("system", "platform"):
        for path in system() if args.action == "system" else platform():
            print(path)
    else:
        app(args.tag, args.owner, not args.no_push)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
