# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a release's Deployments and pods say: whether the rollout is complete, which images
they run, why pods are not ready (the waiting reason, the last exit, the log line that says why),
which pods run without the Dapr sidecar they ask for. Used by the helm_release module. Reads only;
all but PodWatch are pure (objects as the API returns them).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import threading

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kube import (
    KubeError,
    KubeUnreachable,
)


def rollout_incomplete(deployments):
    """Names of Deployments whose rollout is not complete (what `kubectl rollout status` waits for)."""
    bad = []
    for d in deployments:
        s = d.get("status") or {}
        want = int((d.get("spec") or {}).get("replicas", 1))
        if (
            int(s.get("observedGeneration") or 0) < int(d["metadata"].get("generation") or 0)
            or int(s.get("updatedReplicas") or 0) < want
            or int(s.get("readyReplicas") or 0) < want
            or int(s.get("availableReplicas") or 0) < want
            or int(s.get("replicas") or 0) > want
        ):
            bad.append(d["metadata"]["name"])
    return bad


def images_of(deployments):
    """The images of Deployments (rendered manifests: other kinds are skipped)."""
    imgs = set()
    for d in deployments:
        if d.get("kind", "Deployment") == "Deployment":
            for c in ((d.get("spec") or {}).get("template") or {}).get("spec", {}).get(
                "containers"
            ) or []:
                imgs.add(c.get("image"))
    return sorted(i for i in imgs if i)


def pod_problems(pods):
    """Why the release's pods are not ready, one entry per container in trouble: the waiting
    reason (CrashLoopBackOff, ImagePullBackOff, ...) or the readiness failure, the last exit,
    restarts. Pure: pods as the API returns them."""
    found = []
    for pod in pods:
        meta, status = pod.get("metadata", {}), pod.get("status", {})
        if meta.get("deletionTimestamp"):
            continue
        for cs in status.get("containerStatuses") or []:
            if cs.get("ready"):
                continue
            state, last = cs.get("state") or {}, cs.get("lastState") or {}
            waiting, running = state.get("waiting") or {}, "running" in state
            terminated = state.get("terminated") or last.get("terminated") or {}
            if waiting:
                reason, message = waiting.get("reason", "Waiting"), waiting.get("message", "")
            elif running:
                reason, message = "NotReady", "running, but its readiness probe fails"
            else:
                reason, message = (
                    terminated.get("reason", "Terminated"),
                    terminated.get("message", ""),
                )
            entry = {
                "pod": meta.get("name", ""),
                "container": cs.get("name", ""),
                "reason": reason,
                "message": (message or "").strip()[:300],
                "restarts": cs.get("restartCount", 0),
            }
            if terminated:
                entry["exit_code"] = terminated.get("exitCode")
            found.append(entry)
    return found


# The container Dapr's sidecar injector adds to a pod annotated dapr.io/enabled: "true".
DAPR_SIDECAR = "daprd"


def pods_without_sidecar(pods):
    """Names of the pods that ask for a Dapr sidecar (dapr.io/enabled) and run without one. The
    injector's webhook fails open (failurePolicy Ignore), so a pod created while it was down is
    admitted as it is: it runs, and passes its probes, with no Dapr. Pure: pods as the API returns
    them; terminating pods are left out."""
    missing = []
    for pod in pods:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        if meta.get("deletionTimestamp"):
            continue
        if str((meta.get("annotations") or {}).get("dapr.io/enabled", "")).lower() != "true":
            continue
        names = {c.get("name") for c in (spec.get("containers") or [])}
        names |= {c.get("name") for c in (spec.get("initContainers") or [])}  # native sidecars
        if DAPR_SIDECAR not in names:
            missing.append(meta.get("name", ""))
    return sorted(missing)


# How a Go program's crash begins: the message, above its stack trace.
_GO_CRASH = ("panic: ", "fatal error: ")


def telling_line(lines):
    """The log line that says why a container stopped: a Go crash's message (its last lines are
    stack frames), otherwise the last non-empty line. Pure."""
    for line in lines:
        if line.startswith(_GO_CRASH):
            return line
    kept = [line for line in lines if line.strip()]
    return kept[-1] if kept else ""


class PodWatch(object):
    """While Helm waits: what is wrong with the release's pods, remembered after Helm's rollback
    removed them, with the last log line of each container that exited."""

    def __init__(self, kube, namespace, selector, period=2.0):
        self.kube, self.namespace, self.selector, self.period = kube, namespace, selector, period
        self.problems = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pod-watch", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self):
        while not self._stop.wait(self.period):
            # a lost look is no reason to fail the release
            with contextlib.suppress(KubeError, KubeUnreachable):
                self.look()

    def look(self):
        pods = self.kube.list("/api/v1/namespaces/%s/pods" % self.namespace, self.selector)
        for entry in pod_problems(pods):
            key = (entry["pod"], entry["container"])
            known = self.problems.get(key, {})
            if "exit_code" in entry and known.get("restarts") != entry["restarts"]:
                # a log the kubelet already removed keeps the line seen before
                entry["last_log"] = self._last_log(entry) or known.get("last_log", "")
            elif known.get("last_log"):
                entry["last_log"] = known["last_log"]
            self.problems[key] = entry

    def _last_log(self, entry):
        path = "/api/v1/namespaces/%s/pods/%s/log" % (self.namespace, entry["pod"])
        query = {"container": entry["container"], "tailLines": "40"}
        if entry["restarts"]:
            query["previous"] = "true"
        try:
            lines = (
                (self.kube.request("GET", path, query=query, raw=True) or "").strip().splitlines()
            )
        except (KubeError, KubeUnreachable):  # the log may be gone already
            return ""
        if not lines or lines[-1].startswith("unable to retrieve container logs"):
            return ""
        return telling_line(lines)[:300]

    def summary(self, limit=5):
        """One line per troubled container, worst first (crashes before readiness)."""
        order = {"CrashLoopBackOff": 0, "Error": 1, "ImagePullBackOff": 2, "ErrImagePull": 2}
        items = sorted(self.problems.values(), key=lambda e: (order.get(e["reason"], 5), e["pod"]))
        out = []
        for e in items[:limit]:
            line = "%s/%s: %s" % (e["pod"], e["container"], e["reason"])
            if e.get("exit_code") is not None:
                line += " (exit %s, %d restarts)" % (e["exit_code"], e["restarts"])
            if e.get("last_log"):
                line += ", last log: %s" % e["last_log"]
            elif e["message"]:
                line += ": %s" % e["message"]
            out.append(line)
        return out
