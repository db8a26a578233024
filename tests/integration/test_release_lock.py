"""release_lock against the real API server: one holder at a time, waiting with a clear failure,
stale takeover after the TTL, renew and release by the holder only, check mode writes nothing."""

from __future__ import annotations

import json
import time

import pytest

from tests.ansible_run import run_module

NS = "release-lock-test"


@pytest.fixture(scope="module")
def lock(kube_cluster):
    kube_cluster.kubectl("create", "namespace", NS, check=False)
    kube_cluster.kubectl("-n", NS, "delete", "lease", "--all", check=False)

    def call(holder, state="acquired", check=False, **extra):
        args = {
            "namespace": NS,
            "holder": holder,
            "state": state,
            "kubeconfig": str(kube_cluster.kubeconfig),
            **extra,
        }
        return run_module("release_lock", args, check=check)

    yield call
    kube_cluster.kubectl("delete", "namespace", NS, "--wait=false", check=False)


def lease(kube_cluster):
    out = kube_cluster.kubectl(
        "-n", NS, "get", "lease", "hackathon-todo-release", "-o", "json", check=False
    )
    return json.loads(out.stdout) if out.returncode == 0 else None


def test_check_mode_writes_nothing(lock, kube_cluster):
    run = lock("alice", check=True)
    assert not run.failed and run.changed and run.result["held"]
    assert lease(kube_cluster) is None


def test_one_holder_the_other_waits_then_fails_clearly(lock, kube_cluster):
    first = lock("alice", purpose="release v1.0.0", ttl=600)
    assert not first.failed and first.result["held"]
    assert lease(kube_cluster)["spec"]["holderIdentity"] == "alice"
    started = time.monotonic()
    second = lock("bob", wait_timeout=3, poll_interval=0.5)
    assert second.failed
    assert time.monotonic() - started >= 3
    assert "held by alice (release v1.0.0)" in second.result["msg"]
    assert lease(kube_cluster)["spec"]["holderIdentity"] == "alice"
    # the holder renews; someone else cannot
    assert not lock("alice", state="renewed").failed
    assert "held by alice" in lock("bob", state="renewed").result["msg"]
    # release by another is refused quietly; by the holder frees it
    assert not lock("bob", state="released").changed
    assert lease(kube_cluster)["spec"]["holderIdentity"] == "alice"
    freed = lock("alice", state="released")
    assert freed.changed and not lease(kube_cluster)["spec"].get("holderIdentity")
    taken = lock("bob", ttl=600)
    assert taken.result["held"] and not taken.result["took_over"]
    assert lock("bob", state="released").changed


def test_stale_lock_is_taken_over_after_its_ttl(lock, kube_cluster):
    assert lock("killed-run", ttl=2).result["held"]
    time.sleep(3)
    run = lock("next-run", wait_timeout=30)
    assert run.result["held"] and run.result["took_over"]
    assert run.result["previous_holder"] == "killed-run"
    assert lease(kube_cluster)["spec"]["holderIdentity"] == "next-run"
