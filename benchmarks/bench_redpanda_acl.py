"""Benchmark: reconcile 1,000 ACLs on the real test bed broker, batched vs one request per ACL.

    python benchmarks/bench_redpanda_acl.py [--loop-items N] [--write FILE.md]

(a)  ONE redpanda_acl task with all 1,000 ACLs (500 entries x 2 operations), run through
     ansible like a user would; then the same task again, which must change nothing.
(b)  the same 1,000 ACLs as an Ansible `loop:` with one ACL per item, which is what a per-ACL
     module (such as ansible-kafka-admin's) makes users write. --loop-items N runs N items and
     says so (the result is then extrapolated, and marked as such).
(b') the same 1,000 ACLs through our own module_utils client, one DescribeAcls + one CreateAcls
     per ACL, in one process and over one connection: the wire cost of per-ACL reconciliation
     without Ansible's per-item cost, i.e. the most favourable case for (b).

Requests are counted twice, independently:
  * by the module itself: module_utils counts every request it sends (the `requests` result);
  * by the broker: the benchmark switches the broker's request log (kafka.request.logger) to
    DEBUG for the run (IncrementalAlterConfigs on BROKER_LOGGER, via benchmarks/BrokerLogger.java
    and Kafka's Java client) and counts "Completed request" lines per client.id. The broker logs
    every request it processes after authentication (ApiVersions and the SASL handshake are not
    in this log), including the Metadata requests librdkafka sends on its own.
Each phase uses its own client.id, so the counts cannot mix.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import platform
import re
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / ".tools" / "collections"))

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kafka_admin import (  # noqa: E402
    KafkaAdmin,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kafka_client import (  # noqa: E402
    RequestCounter,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_plan import (  # noqa: E402
    AclKey,
    plan_acls,
)
from confluent_kafka.admin import (  # noqa: E402
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from tests.ansible_run import run_module, run_playbook  # noqa: E402
from tests.redpanda_support import delete_acls_of  # noqa: E402

STATE = pathlib.Path(os.environ.get("HTD_STATE", ROOT / ".testbed")) / "kafka"
PRINCIPALS, TOPICS, OPERATIONS = 100, 5, ("read", "write")


def broker_up() -> tuple[dict, bool]:
    started = (
        subprocess.run(["bash", str(ROOT / "testbed/kafka.sh"), "status"], check=False).returncode
        != 0
    )
    subprocess.run(["bash", str(ROOT / "testbed/kafka.sh"), "up"], check=True)
    env = dict(line.split("=", 1) for line in (STATE / "env").read_text().splitlines() if line)
    return env, started


def set_request_log(env: dict, level: str) -> None:
    subprocess.run(
        [
            "java",
            "-cp",
            str(ROOT / ".tools/kafka/libs/*"),
            str(ROOT / "benchmarks/BrokerLogger.java"),
            env["HTD_KAFKA_BOOTSTRAP"],
            env["HTD_KAFKA_ADMIN_USER"],
            env["HTD_KAFKA_ADMIN_PASSWORD_FILE"],
            "1",
            "kafka.request.logger",
            level,
        ],
        check=True,
        capture_output=True,
        text=True,
    )


LINE = re.compile(
    r'Completed request:\{"isForwarded":(true|false),"requestHeader":\{[^}]*'
    r'"clientId":"([^"]*)","requestApiKeyName":"([A-Z_]+)"'
)


def broker_counts(log: pathlib.Path, offset: int) -> dict[str, collections.Counter]:
    """client.id -> Counter(API name) of the requests the broker completed after `offset`."""
    out: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    with log.open("rb") as fh:
        fh.seek(offset)
        for raw in fh:
            match = LINE.search(raw.decode("utf-8", "replace"))
            if match and match.group(1) == "false":
                out[match.group(2)][match.group(3)] += 1
    return out


def acl_set(tag: str, principals: int = PRINCIPALS) -> tuple[list[dict], list[AclKey]]:
    entries, keys = [], []
    for p in range(principals):
        principal = f"User:bench-{tag}-p{p:03d}"
        for t in range(TOPICS):
            topic = f"bench-{tag}-t{t}"
            entries.append(
                {
                    "principal": principal,
                    "resource_type": "topic",
                    "resource_name": topic,
                    "operations": list(OPERATIONS),
                }
            )
            keys.extend(
                AclKey(principal, "*", "topic", topic, "literal", op, "allow") for op in OPERATIONS
            )
    return entries, keys


def cleanup(admin: AdminClient, tag: str) -> None:
    found = admin.describe_acls(
        AclBindingFilter(
            ResourceType.ANY,
            None,
            ResourcePatternType.ANY,
            None,
            None,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
    ).result(timeout=60)
    principals = sorted({b.principal for b in found if f"bench-{tag}-" in b.principal})
    delete_acls_of(admin, *principals, timeout=60)


def connection(env: dict, client_id: str) -> dict:
    return {
        "bootstrap_servers": [env["HTD_KAFKA_BOOTSTRAP"]],
        "security_protocol": env["HTD_KAFKA_SECURITY_PROTOCOL"],
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_username": env["HTD_KAFKA_ADMIN_USER"],
        "sasl_password": pathlib.Path(env["HTD_KAFKA_ADMIN_PASSWORD_FILE"]).read_text(),
        "client_id": client_id,
        "request_timeout": 60,
    }


def phase_a(env, tag, entries):
    args = dict(connection(env, f"bench-a-{tag}"), acls=entries)
    t0 = time.perf_counter()
    run = run_module("redpanda_acl", args, timeout=900)
    wall = time.perf_counter() - t0
    assert not run.failed and len(run.result["created"]) == len(entries) * 2, run.result.get("msg")
    args["client_id"] = f"bench-a2-{tag}"
    t0 = time.perf_counter()
    again = run_module("redpanda_acl", args, timeout=900)
    wall2 = time.perf_counter() - t0
    assert not again.failed and not again.changed, again.result.get("msg")
    return {
        "wall": wall,
        "module_requests": run.result["requests"]["by_api"],
        "wall_nochange": wall2,
        "module_requests_nochange": again.result["requests"]["by_api"],
    }


def phase_a_wire(env, tag, keys):
    """(a') the module's batched reconciliation through module_utils, one process, no Ansible."""
    counter = RequestCounter()
    kafka = KafkaAdmin(connection(env, f"bench-aw-{tag}"), counter)
    t0 = time.perf_counter()
    plan = plan_acls(keys, [], kafka.describe_acls())
    kafka.create_acls(plan.select("create").requests)
    wall = time.perf_counter() - t0
    assert len(plan.select("create").requests) == len(keys)
    again = RequestCounter()
    kafka = KafkaAdmin(connection(env, f"bench-aw2-{tag}"), again)
    t0 = time.perf_counter()
    plan = plan_acls(keys, [], kafka.describe_acls())
    kafka.create_acls(plan.select("create").requests)
    wall2 = time.perf_counter() - t0
    assert plan.select("create").requests == []
    return {
        "wall": wall,
        "module_requests": dict(counter.by_api),
        "wall_nochange": wall2,
        "module_requests_nochange": dict(again.by_api),
    }


def phase_b_ansible_loop(env, tag, keys):
    """An Ansible loop with one ACL per item (a per-ACL module's usage)."""
    with tempfile.TemporaryDirectory() as tmp:
        items = [k._asdict() for k in keys]
        (pathlib.Path(tmp) / "items.json").write_text(
            json.dumps({"bench_items": items, "bench_conn": connection(env, f"bench-b-{tag}")})
        )
        playbook = pathlib.Path(tmp) / "loop.yml"
        playbook.write_text(
            "- hosts: localhost\n  connection: local\n  gather_facts: false\n"
            "  vars:\n    ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
            "  tasks:\n    - name: one ACL per item\n"
            "      hackathon_todo.deploy.redpanda_acl:\n"
            "        bootstrap_servers: '{{ bench_conn.bootstrap_servers }}'\n"
            "        security_protocol: '{{ bench_conn.security_protocol }}'\n"
            "        sasl_mechanism: '{{ bench_conn.sasl_mechanism }}'\n"
            "        sasl_username: '{{ bench_conn.sasl_username }}'\n"
            "        sasl_password: '{{ bench_conn.sasl_password }}'\n"
            "        client_id: '{{ bench_conn.client_id }}'\n"
            "        acls:\n"
            "          - principal: '{{ item.principal }}'\n"
            "            resource_type: '{{ item.resource_type }}'\n"
            "            resource_name: '{{ item.resource_name }}'\n"
            "            operations: ['{{ item.operation }}']\n"
            "      loop: '{{ bench_items }}'\n"
            "      loop_control: {label: '{{ item.principal }} {{ item.operation }}'}\n"
        )
        t0 = time.perf_counter()
        run = run_playbook(
            playbook,
            "-i",
            "localhost,",
            "-e",
            f"@{tmp}/items.json",
            env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.null"},
            timeout=7200,
        )
        wall = time.perf_counter() - t0
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return {"wall": wall, "items": len(keys)}


def phase_b_wire_loop(env, tag, keys):
    """One DescribeAcls + one CreateAcls per ACL through our own client, one process."""
    counter = RequestCounter()
    params = connection(env, f"bench-w-{tag}")
    kafka = KafkaAdmin(params, counter)
    t0 = time.perf_counter()
    for key in keys:
        have = kafka.describe_acls(
            principal=key.principal,
            host=key.host,
            resource_type=key.resource_type,
            resource_name=key.resource_name,
            pattern_type=key.pattern_type,
            operation=key.operation,
            permission=key.permission,
        )
        if key not in have:
            kafka.create_acls([key])
    wall = time.perf_counter() - t0
    again = RequestCounter()
    kafka = KafkaAdmin(connection(env, f"bench-w2-{tag}"), again)
    t0 = time.perf_counter()
    for key in keys:
        kafka.describe_acls(
            principal=key.principal,
            host=key.host,
            resource_type=key.resource_type,
            resource_name=key.resource_name,
            pattern_type=key.pattern_type,
            operation=key.operation,
            permission=key.permission,
        )
    wall2 = time.perf_counter() - t0
    return {
        "wall": wall,
        "module_requests": dict(counter.by_api),
        "wall_nochange": wall2,
        "module_requests_nochange": dict(again.by_api),
    }


def fmt(counter) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "none"


def total(counter) -> int:
    return sum(counter.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--loop-items",
        type=int,
        default=1000,
        help="items of the Ansible loop (b); fewer than 1000 is extrapolated",
    )
    parser.add_argument("--write", type=pathlib.Path, help="write the results as Markdown here")
    args = parser.parse_args()

    env, started = broker_up()
    admin = AdminClient(
        {
            "bootstrap.servers": env["HTD_KAFKA_BOOTSTRAP"],
            "security.protocol": env["HTD_KAFKA_SECURITY_PROTOCOL"],
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": env["HTD_KAFKA_ADMIN_USER"],
            "sasl.password": pathlib.Path(env["HTD_KAFKA_ADMIN_PASSWORD_FILE"]).read_text(),
            "log_level": 0,
        }
    )
    tag = uuid.uuid4().hex[:6]
    tags = {"a": tag + "a", "aw": tag + "c", "b": tag + "b", "w": tag + "w"}
    log = STATE / "broker.log"
    set_request_log(env, "DEBUG")
    offset = log.stat().st_size
    try:
        entries, _keys = acl_set(tags["a"])
        print(
            f"(a) one redpanda_acl task, {len(entries)} entries = {len(entries) * 2} ACLs ...",
            flush=True,
        )
        a = phase_a(env, tags["a"], entries)
        _e, keys_aw = acl_set(tags["aw"])
        print(
            f"(a') the same batched reconciliation in one process, {len(keys_aw)} ACLs ...",
            flush=True,
        )
        aw = phase_a_wire(env, tags["aw"], keys_aw)
        _e, keys_b = acl_set(tags["b"])
        keys_b = keys_b[: args.loop_items]
        print(f"(b) Ansible loop, {len(keys_b)} items, one ACL each ...", flush=True)
        b = phase_b_ansible_loop(env, tags["b"], keys_b)
        _e, keys_w = acl_set(tags["w"])
        print(f"(b') per-ACL requests in one process, {len(keys_w)} ACLs ...", flush=True)
        w = phase_b_wire_loop(env, tags["w"], keys_w)
        time.sleep(1)  # let the broker flush its log
    finally:
        set_request_log(env, "INFO")
        for t in tags.values():
            cleanup(admin, t)
        if started and not os.environ.get("HTD_KEEP_TESTBED"):
            subprocess.run(["bash", str(ROOT / "testbed/kafka.sh"), "down"], check=False)

    counts = broker_counts(log, offset)
    acl_apis = {"DESCRIBE_ACLS", "CREATE_ACLS", "DELETE_ACLS"}
    b_per_item = b["wall"] / b["items"]
    b_full = b_per_item * 1000
    rows = {
        "a": counts[f"bench-a-{tags['a']}"],
        "a2": counts[f"bench-a2-{tags['a']}"],
        "aw": counts[f"bench-aw-{tags['aw']}"],
        "aw2": counts[f"bench-aw2-{tags['aw']}"],
        "b": counts[f"bench-b-{tags['b']}"],
        "w": counts[f"bench-w-{tags['w']}"],
        "w2": counts[f"bench-w2-{tags['w']}"],
    }
    results = {
        "a": {"wall": a["wall"], "broker": rows["a"], "module": a["module_requests"]},
        "a2": {
            "wall": a["wall_nochange"],
            "broker": rows["a2"],
            "module": a["module_requests_nochange"],
        },
        "aw": {"wall": aw["wall"], "broker": rows["aw"], "module": aw["module_requests"]},
        "aw2": {
            "wall": aw["wall_nochange"],
            "broker": rows["aw2"],
            "module": aw["module_requests_nochange"],
        },
        "b": {"wall": b["wall"], "broker": rows["b"], "items": b["items"], "wall_1000": b_full},
        "w": {"wall": w["wall"], "broker": rows["w"], "module": w["module_requests"]},
        "w2": {
            "wall": w["wall_nochange"],
            "broker": rows["w2"],
            "module": w["module_requests_nochange"],
        },
    }
    acl_only = {
        k: sum(v for api, v in r["broker"].items() if api in acl_apis) for k, r in results.items()
    }
    lines = [
        "| run | wall time | broker requests (request log, by API) | ACL API requests | "
        "requests the module counted |",
        "|---|---|---|---|---|",
        f"| (a) one `redpanda_acl` task, 1,000 ACLs, all new | {a['wall']:.2f} s | "
        f"{fmt(rows['a'])} | **{acl_only['a']}** | {fmt(a['module_requests'])} |",
        f"| (a) the same task again, nothing to change | {a['wall_nochange']:.2f} s | "
        f"{fmt(rows['a2'])} | **{acl_only['a2']}** | {fmt(a['module_requests_nochange'])} |",
        f"| (a') the same batched reconciliation in one process (no Ansible) | {aw['wall']:.2f} s"
        f" | {fmt(rows['aw'])} | {acl_only['aw']} | {fmt(aw['module_requests'])} |",
        f"| (a') the same again, nothing to change | {aw['wall_nochange']:.2f} s | "
        f"{fmt(rows['aw2'])} | {acl_only['aw2']} | {fmt(aw['module_requests_nochange'])} |",
        f"| (b) Ansible `loop:`, one ACL per item ({b['items']} items"
        f"{'' if b['items'] == 1000 else ', extrapolated to 1,000'}) | "
        f"{b['wall']:.1f} s{'' if b['items'] == 1000 else f' ({b_full:.0f} s for 1,000)'} | "
        f"{fmt(rows['b'])} | {acl_only['b']} | (one run per item) |",
        f"| (b') one DescribeAcls + one CreateAcls per ACL, one process | {w['wall']:.2f} s | "
        f"{fmt(rows['w'])} | {acl_only['w']} | {fmt(w['module_requests'])} |",
        f"| (b') the same again, nothing to change | {w['wall_nochange']:.2f} s | "
        f"{fmt(rows['w2'])} | {acl_only['w2']} | {fmt(w['module_requests_nochange'])} |",
    ]
    ratio_b = b_full / a["wall"]
    ratio_wire = w["wall"] / aw["wall"]
    ratio_mixed = w["wall"] / a["wall"]
    extrapolated = "" if b["items"] == 1000 else ", (b) extrapolated"
    summary = [
        f"through Ansible, (a) vs (b): {ratio_b:.0f}x faster "
        f"({b_full:.1f} s / {a['wall']:.2f} s{extrapolated})",
        f"on the wire, in one process each, (a') vs (b'): {ratio_wire:.0f}x faster "
        f"({w['wall']:.2f} s / {aw['wall']:.2f} s)",
        f"mixed, (a) with Ansible's start-up vs (b') without any Ansible cost: "
        f"{ratio_mixed:.1f}x faster ({w['wall']:.2f} s / {a['wall']:.2f} s)",
        f"(a) sent {acl_only['a']} ACL API requests (goal <= 3); with nothing to change "
        f"{acl_only['a2']} (goal 1)",
    ]
    print("\n".join([*lines, "", *summary]))
    if args.write:
        write_markdown(args.write, lines, summary, results)
    return 0


def write_markdown(path: pathlib.Path, lines, summary, results) -> None:
    load = os.getloadavg()
    cpus = os.cpu_count()
    kafka = next((ROOT / ".tools/kafka/libs").glob("kafka-clients-*.jar")).stem.split("-")[-1]
    import confluent_kafka

    text = f"""# Benchmark: reconciling 1,000 ACLs (redpanda_acl)

Measured with `python benchmarks/bench_redpanda_acl.py --write {path}` on the local test bed:
Apache Kafka {kafka} (KRaft, one node, SASL/SCRAM, StandardAuthorizer) on loopback,
confluent-kafka {confluent_kafka.version()} (librdkafka {confluent_kafka.libversion()[0]}),
Python {platform.python_version()}, {cpus} CPUs, load average {load[0]:.1f} / {load[1]:.1f} /
{load[2]:.1f} at the end of the run (the machine was shared with other work).

The 1,000 ACLs: 100 principals x 5 topics x 2 operations (READ, WRITE), all new at the start.
Each run uses its own principals and its own `client.id`.

## What is compared

* **(a)** one `redpanda_acl` task with all 1,000 ACLs (500 entries), run with `ansible` exactly as
  a user runs it, so its time includes starting Ansible and the module; then the same task again.
* **(a')** the same batched reconciliation (`describe_acls` and `create_acls` from
  `plugins/module_utils/_kafka_acls.py`, `plan_acls` from `_redpanda_plan.py`) in one Python
  process, without Ansible.
* **(b)** the per-ACL way: an Ansible `loop:` with one ACL per item, which is how a module that
  handles one ACL per call (ansible-kafka-admin) is used. Each item is a full module run.
* **(b')** per-ACL on the wire only: one `DescribeAcls` and one `CreateAcls` per ACL through the
  same client, in one process over one connection; the cheapest a per-ACL approach can be.

(a) vs (b) is the comparison a user sees; (a') vs (b') isolates the requests. (a) vs (b') mixes
both (Ansible start-up on one side only) and is the most conservative ratio.

## How requests are counted

* **broker requests**: the benchmark turns the broker's request log (`kafka.request.logger`) to
  DEBUG for the run and counts the `Completed request` lines of each client id, by API. This is
  the broker's own record; it includes the `METADATA` requests librdkafka sends on its own when it
  connects, and excludes the pre-authentication `ApiVersions` / SASL exchange, which is not in this
  log.
* **ACL API requests**: the `DESCRIBE_ACLS`, `CREATE_ACLS` and `DELETE_ACLS` among them: the
  requests the reconciliation itself needs.
* **requests the module counted**: the `requests` result of `redpanda_acl`, from the counter in
  `plugins/module_utils/_kafka_client.py`, which counts every request the module sends.

## Results

{chr(10).join(lines)}

{chr(10).join("* " + s for s in summary)}

When `DescribeAcls` comes back empty (a fresh cluster, or a principal with no ACLs yet, as for
the first item of each of the 100 principals in (b)), `redpanda_acl` sends one more request before
trusting it: librdkafka's DescribeCluster, which is a `METADATA` request for the account's
authorized operations, because an unauthorised `DescribeAcls` also comes back empty. That is 100 of
the 2,100 `METADATA` requests of (b). The other `METADATA` requests are librdkafka's own, sent
when it connects (two to five per connection here).

## Raw numbers

```json
{
        json.dumps(
            {
                k: {
                    kk: (dict(vv) if isinstance(vv, collections.Counter) else vv)
                    for kk, vv in v.items()
                }
                for k, v in results.items()
            },
            indent=2,
            sort_keys=True,
        )
    }
```
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
