"""Pytest fixtures for the local test bed: the real Kubernetes control plane and Kafka broker.

Each fixture starts its component through the same script a person uses (``make cluster-up`` /
``make kafka-up``). A component that was already running when the session began is reused and
left running; one the session started is stopped at the end, so no stray processes remain.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
TESTBED = ROOT / "testbed"
STATE = pathlib.Path(os.environ.get("HTD_STATE", ROOT / ".testbed"))


def versions() -> dict[str, str]:
    """The pinned versions from testbed/versions.env (KEY=VALUE lines)."""
    out = {}
    for line in (TESTBED / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def _script(name: str, action: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(TESTBED / name), action],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


class _Component:
    """Start-or-reuse a test bed component for the session; stop it only if we started it."""

    def __init__(self, script: str):
        self.script = script
        self.started_here = False

    def up(self) -> None:
        self.started_here = _script(self.script, "status").returncode != 0
        res = _script(self.script, "up")
        if res.returncode != 0:
            pytest.fail(f"{self.script} up failed:\n{res.stdout}\n{res.stderr}", pytrace=False)

    def down(self) -> None:
        if self.started_here and not os.environ.get("HTD_KEEP_TESTBED"):
            _script(self.script, "down")


@dataclasses.dataclass(frozen=True)
class KafkaBroker:
    bootstrap_servers: str
    security_protocol: str
    admin_user: str
    admin_password: str
    ca_file: str = ""  # the CA of a SASL_SSL listener (the real-node bed's broker)

    def client_config(
        self,
        user: str | None = None,
        password: str | None = None,
        mechanism: str = "SCRAM-SHA-512",
        **extra,
    ) -> dict:
        """confluent-kafka config for the admin (default) or another SCRAM user."""
        conf = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            "sasl.mechanism": mechanism,
            "sasl.username": user or self.admin_user,
            "sasl.password": password if user else self.admin_password,
        }
        if self.ca_file:
            conf["ssl.ca.location"] = self.ca_file
        conf.update(extra)
        return conf


@dataclasses.dataclass(frozen=True)
class KubeCluster:
    kubeconfig: pathlib.Path
    context: str

    def kubectl(self, *args: str, check: bool = True, input: str | None = None):
        return subprocess.run(
            ["kubectl", "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True,
            text=True,
            check=check,
            input=input,
        )


def _broker_from_state(state: pathlib.Path) -> KafkaBroker:
    """Connection facts that kafka.sh wrote for the broker whose state is in `state`."""
    env = dict(
        line.split("=", 1) for line in (state / "kafka" / "env").read_text().splitlines() if line
    )
    return KafkaBroker(
        bootstrap_servers=env["HTD_KAFKA_BOOTSTRAP"],
        security_protocol=env["HTD_KAFKA_SECURITY_PROTOCOL"],
        admin_user=env["HTD_KAFKA_ADMIN_USER"],
        admin_password=pathlib.Path(env["HTD_KAFKA_ADMIN_PASSWORD_FILE"]).read_text(),
        ca_file=env.get("HTD_KAFKA_CA", ""),
    )


@pytest.fixture(scope="session")
def kafka_broker(request):
    if os.environ.get("HTD_NODES_MODE") == "real":
        # On real nodes the broker lives in the bed's network namespace (nodes.sh starts it).
        request.getfixturevalue("kube_cluster")
    comp = _Component("kafka.sh")
    comp.up()
    yield _broker_from_state(STATE)
    comp.down()


@contextlib.contextmanager
def private_kafka_broker(state: pathlib.Path, port: int):
    """A second, throw-away broker (own state, ports `port` and `port + 1`), for tests that must
    own names the shared broker's other users also declare (the seed's topics and accounts)."""
    env = {
        "HTD_STATE": str(state),
        "HTD_KAFKA_PORT": str(port),
        "HTD_KAFKA_CONTROLLER_PORT": str(port + 1),
    }
    res = _script("kafka.sh", "up", env)
    if res.returncode != 0:
        pytest.fail(f"private kafka.sh up failed:\n{res.stdout}\n{res.stderr}", pytrace=False)
    try:
        yield _broker_from_state(state)
    finally:
        _script("kafka.sh", "down", env)


@pytest.fixture(scope="session")
def kube_cluster():
    comp = _Component("cluster.sh")
    comp.up()
    yield KubeCluster(kubeconfig=STATE / "kubeconfig", context="kwok-htd")
    comp.down()


@pytest.fixture(scope="session")
def cluster_crds(kube_cluster) -> list[str]:
    """The real CRDs of cert-manager, Dapr, prometheus-operator, Traefik and Gateway API, applied
    server-side to the test bed and Established (testbed/crds.sh; a no-op when already there).
    Returns the CRD names. They stay for the cluster's lifetime: CRDs are cluster-scoped and
    other tests may rely on them."""
    res = _script("crds.sh", "apply")
    if res.returncode != 0:
        pytest.fail(f"crds.sh apply failed:\n{res.stdout}\n{res.stderr}", pytrace=False)
    return _script("crds.sh", "list").stdout.split()
