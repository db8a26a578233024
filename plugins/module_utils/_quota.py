# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Room in a namespace's ResourceQuota for a rolling update's peak (used by the quota_headroom
filter and the helm_release module)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re


_SUFFIX = {
    "m": 1e-3,
    "": 1.0,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")


def quantity(value):
    """A Kubernetes quantity ("250m", "1.5", "192Mi") as a float in base units."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    m = _QUANTITY.match(str(value).strip())
    if not m or m.group(2) not in _SUFFIX:
        raise ValueError("not a Kubernetes quantity: %r" % (value,))
    return float(m.group(1)) * _SUFFIX[m.group(2)]


def _pod_requests(template, default_request):
    spec = template.get("spec") or {}
    cpu = mem = 0.0
    for c in spec.get("containers") or []:
        req = ((c.get("resources") or {}).get("requests")) or {}
        cpu += quantity(req.get("cpu", default_request.get("cpu")))
        mem += quantity(req.get("memory", default_request.get("memory")))
    ann = (template.get("metadata") or {}).get("annotations") or {}
    if str(ann.get("dapr.io/enabled", "")).lower() == "true":
        cpu += quantity(ann.get("dapr.io/sidecar-cpu-request", default_request.get("cpu")))
        mem += quantity(ann.get("dapr.io/sidecar-memory-request", default_request.get("memory")))
    return cpu, mem


def quota_headroom(
    docs, quota=None, release_pods=None, live_replicas=None, surge=1, default_request=None
):
    default_request = default_request or {"cpu": "100m", "memory": "128Mi"}
    live_replicas = live_replicas or {}
    docs = [d for d in (docs or []) if isinstance(d, dict)]
    hpa_min = {}
    for d in docs:
        if d.get("kind") == "HorizontalPodAutoscaler":
            target = ((d.get("spec") or {}).get("scaleTargetRef") or {}).get("name")
            hpa_min[target] = int((d.get("spec") or {}).get("minReplicas") or 1)
    need = {"cpu": 0.0, "memory": 0.0, "pods": 0}
    per = []
    for d in docs:
        if d.get("kind") != "Deployment":
            continue
        name = (d.get("metadata") or {}).get("name")
        spec = d.get("spec") or {}
        if spec.get("replicas") is not None:
            replicas = int(spec["replicas"])
        else:
            replicas = max(hpa_min.get(name, 1), int(live_replicas.get(name) or 0))
        cpu, mem = _pod_requests(spec.get("template") or {}, default_request)
        pods = replicas + (surge if replicas > 0 else 0)
        need["cpu"] += pods * cpu
        need["memory"] += pods * mem
        need["pods"] += pods
        per.append(
            {
                "name": name,
                "replicas": replicas,
                "peak_pods": pods,
                "cpu_per_pod_m": round(cpu * 1000),
                "memory_per_pod_mi": round(mem / 2**20),
            }
        )

    given_back = {"cpu": 0.0, "memory": 0.0, "pods": 0}
    for p in release_pods or []:
        if ((p.get("status") or {}).get("phase")) in ("Succeeded", "Failed"):
            continue
        cpu = mem = 0.0
        for c in (p.get("spec") or {}).get("containers") or []:
            req = ((c.get("resources") or {}).get("requests")) or {}
            cpu += quantity(req.get("cpu", 0))
            mem += quantity(req.get("memory", 0))
        given_back["cpu"] += cpu
        given_back["memory"] += mem
        given_back["pods"] += 1

    status = (quota or {}).get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    keys = {"cpu": "requests.cpu", "memory": "requests.memory", "pods": "pods"}
    available, short = {}, []
    for k, qk in keys.items():
        if qk not in hard:
            available[k] = None
            continue
        room = quantity(hard[qk]) - quantity(used.get(qk, 0)) + given_back[k]
        available[k] = room
        if need[k] > room + 1e-9:
            short.append(k)

    def show(k, v):
        if v is None:
            return "unlimited"
        return (
            "%dm" % round(v * 1000)
            if k == "cpu"
            else ("%dMi" % round(v / 2**20) if k == "memory" else "%d" % v)
        )

    parts = [
        "%s %s needed, %s available" % (k, show(k, need[k]), show(k, available[k])) for k in keys
    ]
    fits = not short
    msg = (
        "the namespace quota has room for the rollout's peak (%s)"
        if fits
        else "the namespace quota has no room for the rollout's surge pods (%s); short of: %s. Raise "
        "platform_env_quotas or lower replicas/requests in values-<env>.yaml"
    )
    msg = msg % ("; ".join(parts), ", ".join(short)) if not fits else msg % "; ".join(parts)
    return {
        "fits": fits,
        "msg": msg,
        "need": {
            "cpu": round(need["cpu"] * 1000),
            "memory": int(need["memory"]),
            "pods": need["pods"],
        },
        "available": {
            k: (None if v is None else (round(v * 1000) if k == "cpu" else int(v)))
            for k, v in available.items()
        },
        "deployments": per,
    }
