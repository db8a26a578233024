"""Dapr for real on the real-node bed (issue 15): the real control plane (operator, sentry,
placement, scheduler, sidecar injector) from the dapr fixture chart, a daprd sidecar injected into
every app pod with a workload certificate from sentry, and the app stand-in's events through
Dapr's Kafka pub/sub to the bed's Apache Kafka broker (SASL_SSL, SCRAM, ACLs), which lives in the
bed's network namespace.

The stand-in backend publishes a task event (POST /api/tasks); the stand-in notification service
subscribes (GET /dapr/subscribe) and keeps what Dapr delivers; both with the environment's SCRAM
account from app-secrets, as the chart's Component names it. The staging account may not write a
production topic: the broker refuses and the test sees Dapr report the refusal.
"""

from __future__ import annotations

import base64
import json
import pathlib
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient
from cryptography import x509

from plugins.module_utils._conventions import SECRET_NAME
from tests.real_nodes_support import RELEASES, bed_env, release_pods, service_url

SIDECAR = "daprd"
PORTS = {"backend": 8000, "notification": 8002}


@pytest.fixture(scope="module")
def released(release_to):
    """Both environments released (v1.0.0), each with its own SCRAM account and topics."""
    for env in ("production", "staging"):
        proc, report = release_to(env, "v1.0.0")
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert report["outcome"] in ("succeeded", "unchanged"), report
    return True


def _call(url, method="GET", body=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (a bed address)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _url(kube_cluster, env, service, path):
    return service_url(kube_cluster, env, service, port=PORTS[service], path=path)


def _sentry_root(kube_cluster) -> x509.Certificate:
    out = kube_cluster.kubectl(
        "-n", "dapr-system", "get", "configmap", "dapr-trust-bundle", "-o", "json"
    )  # fmt: skip
    return x509.load_pem_x509_certificate(json.loads(out.stdout)["data"]["ca.crt"].encode())


def _served_chain(pod_ip: str, port: int) -> list[x509.Certificate]:
    """The certificates daprd serves on its internal gRPC port (leaf first), read from inside the
    bed's network namespace (pod addresses are not routed to the host)."""
    out = subprocess.run(
        ["ip", "netns", "exec", bed_env()["HTD_NETNS"], "openssl", "s_client", "-showcerts",
         "-connect", f"{pod_ip}:{port}"],
        input="", capture_output=True, text=True, check=False, timeout=20,
    )  # fmt: skip
    chain = x509.load_pem_x509_certificates(out.stdout.encode()) if "BEGIN" in out.stdout else []
    assert chain, out.stdout[-2000:] + out.stderr[-2000:]
    return chain


def _issued_under(leaf: x509.Certificate, chain, root: x509.Certificate) -> bool:
    """leaf chains to root through the intermediates daprd sent (sentry's issuer)."""
    cert = leaf
    for _hop in range(len(chain) + 1):
        if cert.issuer == root.subject:
            cert.verify_directly_issued_by(root)
            return True
        parent = next((c for c in chain if c.subject == cert.issuer and c != cert), None)
        if parent is None:
            return False
        cert.verify_directly_issued_by(parent)
        cert = parent
    return False


def test_every_app_pod_runs_an_injected_daprd_with_a_sentry_certificate(released, kube_cluster):
    root = _sentry_root(kube_cluster)
    for env in ("production", "staging"):
        pods = release_pods(kube_cluster, env)
        assert pods, f"no pods of {RELEASES[env]} in {env}"
        for pod in pods:
            name = pod["metadata"]["name"]
            containers = {c["name"]: c for c in pod["spec"]["containers"]}
            assert SIDECAR in containers, f"{env}/{name}: no {SIDECAR} sidecar: {list(containers)}"
            assert "--enable-mtls" in containers[SIDECAR]["args"], containers[SIDECAR]["args"]
            statuses = {s["name"]: s for s in pod["status"]["containerStatuses"]}
            assert statuses[SIDECAR]["ready"], statuses[SIDECAR]
            # The sidecar's identity: a workload certificate issued under sentry's root (through
            # its issuer), naming the app by its SPIFFE ID in the environment's namespace.
            leaf, *rest = _served_chain(pod["status"]["podIP"], 50002)
            assert _issued_under(leaf, rest, root), (name, leaf.issuer.rfc4514_string())
            uris = leaf.extensions.get_extension_for_class(
                x509.SubjectAlternativeName
            ).value.get_values_for_type(x509.UniformResourceIdentifier)
            app_id = pod["metadata"]["annotations"]["dapr.io/app-id"]
            assert f"spiffe://public/ns/{env}/{app_id}" in uris, (name, uris)


def test_the_backend_publishes_and_the_notification_service_receives(released, kube_cluster):
    env = "production"
    title = "task " + uuid.uuid4().hex[:8]
    status, answer = _call(
        _url(kube_cluster, env, "backend", "/api/tasks"), "POST", {"title": title}
    )
    assert status == 201, answer
    assert answer["published"] and answer["topic"] == "task-events", answer
    event_id = answer["event"]["id"]
    deadline, delivered = time.time() + 60, []
    while time.time() < deadline:
        got = _call(_url(kube_cluster, env, "notification", "/_standin/received"))[1]
        delivered = [e for e in got["events"] if (e.get("data") or {}).get("id") == event_id]
        if delivered:
            break
        time.sleep(1)
    assert delivered, f"the notification service got no event {event_id} in 60 s"
    cloud_event = delivered[0]
    assert cloud_event["topic"] == "task-events" and cloud_event["pubsubname"] == "pubsub"
    assert cloud_event["data"]["title"] == title
    assert cloud_event["source"] == "backend", cloud_event  # the publisher's Dapr app id


def test_the_event_is_on_the_broker_and_the_group_is_the_environments(
    released, kube_cluster, kafka_broker
):
    """What Dapr did, seen from the broker: the event is in task-events, and the notification
    service reads it as the consumer group the production account's ACLs allow."""
    env = "production"
    status, answer = _call(_url(kube_cluster, env, "backend", "/api/tasks"), "POST", {"title": "x"})
    assert status == 201, answer
    event_id = answer["event"]["id"]
    consumer = Consumer(
        kafka_broker.client_config(
            **{"group.id": "admin-probe-" + uuid.uuid4().hex[:6], "enable.auto.commit": False}
        )
    )
    try:
        parts = consumer.list_topics("task-events", timeout=20).topics["task-events"].partitions
        consumer.assign([TopicPartition("task-events", p, 0) for p in parts])
        found, deadline = None, time.time() + 30
        while found is None and time.time() < deadline:
            msg = consumer.poll(1)
            if msg is not None and msg.error() is None and event_id.encode() in msg.value():
                found = json.loads(msg.value())
    finally:
        consumer.close()
    assert found, f"event {event_id} is not in task-events"
    assert found["data"]["id"] == event_id and found["specversion"] == "1.0"
    group = f"{env}-notification"  # the chart's consumerID, <environment>-{appID}
    admin = AdminClient(kafka_broker.client_config())
    deadline, offsets = time.time() + 30, {}
    while time.time() < deadline and not offsets:
        fut = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group]
        offsets = {
            (tp.topic, tp.partition): tp.offset for tp in fut.result().topic_partitions
            if tp.offset >= 0
        }  # fmt: skip
        time.sleep(0.5)
    assert offsets and {t for t, _p in offsets} == {"task-events"}, (group, offsets)


def test_staging_may_not_publish_to_a_production_topic(released, kube_cluster):
    url = _url(kube_cluster, "staging", "backend", "/_standin/publish?topic=")
    own, answer = _call(url + "staging-task-events", "POST", {})
    assert own == 201, answer  # its own topic: allowed
    status, answer = _call(url + "task-events", "POST", {})
    assert status == 502 and answer["published"] is False, answer
    assert answer["dapr_status"] == 500, answer
    assert "not authorized" in answer["dapr"].lower(), answer["dapr"]


def test_app_secrets_carry_the_broker_ca_and_the_component_uses_tls(released, kube_cluster):
    env = "staging"
    secret = json.loads(
        kube_cluster.kubectl("-n", env, "get", "secret", SECRET_NAME, "-o", "json").stdout
    )
    ca = base64.b64decode(secret["data"]["REDPANDA_CA_CERT"]).decode()
    # The bed's CA, which signed the broker's certificate.
    assert ca == pathlib.Path(bed_env()["HTD_REGISTRY_CA"]).read_text()
    component = json.loads(
        kube_cluster.kubectl("-n", env, "get", "component", "pubsub", "-o", "json").stdout
    )
    meta = {m["name"]: m for m in component["spec"]["metadata"]}
    assert meta["disableTls"]["value"] == "false"
    assert meta["caCert"]["secretKeyRef"] == {"name": SECRET_NAME, "key": "REDPANDA_CA_CERT"}
    assert meta["saslUsername"]["secretKeyRef"]["key"] == "REDPANDA_USERNAME"
