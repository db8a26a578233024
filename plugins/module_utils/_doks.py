# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure functions behind doks_cluster: versions, declared-vs-actual differences, request bodies.

No I/O here, so every rule (what is mutable, what is drift, what is an error) is unit-tested on
its own. One place computes each difference; ``changed``, the diff and check mode all use it.
Field names are those of the DigitalOcean API v2 (kubernetes clusters and node pools). The
argument spec of the node_pools list (doks_cluster, doks_cost_estimate) is defined here once;
what a run does with a cluster is planned in ``_doks_plan``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._digitalocean import (
    digitalocean_argument_spec,
)

VERSION_RE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:-do\.(\d+))?$")
SLUG_RE = re.compile(r"^\d+\.\d+\.\d+-do\.\d+$")
TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

# Tags DigitalOcean adds by itself; never declared, never compared, never sent back.
AUTO_TAGS = frozenset(["k8s", "k8s:worker", "k8s-worker"])

CLUSTER_SETTINGS = ("auto_upgrade", "surge_upgrade", "ha", "maintenance_policy", "tags")


class DeclarationError(ValueError):
    """The task asks for something that cannot be done; the message says what to do instead."""


# -- argument specs ---------------------------------------------------------------------------


def node_pools_argument_spec(**extra):
    """The node_pools option of doks_cluster and doks_cost_estimate: one list serves both.
    Documented once in doc_fragments/digitalocean.py (NODE_POOL)."""
    pool = dict(
        name=dict(type="str", required=True),
        size=dict(type="str", required=True),
        count=dict(type="int"),
        auto_scale=dict(type="bool", default=False),
        min_nodes=dict(type="int"),
        max_nodes=dict(type="int"),
        tags=dict(type="list", elements="str"),
        labels=dict(type="dict"),
        taints=dict(
            type="list",
            elements="dict",
            options=dict(
                key=dict(type="str", required=True, no_log=False),
                value=dict(type="str"),
                effect=dict(
                    type="str",
                    required=True,
                    choices=["NoSchedule", "PreferNoSchedule", "NoExecute"],
                ),
            ),
        ),
    )
    return dict(type="list", elements="dict", options=pool, **extra)


def doks_argument_spec(**options):
    """The options of a module that works on one DOKS cluster: the API connection, ``state``
    (present or absent) and the module's own ``options``."""
    spec = digitalocean_argument_spec()
    spec.update(state=dict(type="str", default="present", choices=["present", "absent"]))
    spec.update(options)
    return spec


def find_cluster(client, name):
    """The account's cluster with this name (clusters are found by name), or None. The only
    function here that calls the API: `client` is a DigitalOceanClient."""
    clusters = client.list_all("/kubernetes/clusters", "kubernetes_clusters")
    found = [c for c in clusters if c.get("name") == name]
    if len(found) > 1:
        raise DeclarationError(
            "%d clusters are named %s (ids %s): clusters are found by name; rename or delete the "
            "extra ones." % (len(found), name, ", ".join(c["id"] for c in found))
        )
    return found[0] if found else None


# -- versions ---------------------------------------------------------------------------------


def parse_version(text):
    """'1.36.1-do.0' -> (1, 36, 1, 0); '1.36' -> (1, 36). None if it is not a version."""
    match = VERSION_RE.match(text or "")
    if not match:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def is_slug(text):
    return bool(SLUG_RE.match(text or ""))


def upstream(slug):
    """'1.36.1-do.0' -> '1.36.1'."""
    return (slug or "").split("-", 1)[0]


def matches_prefix(prefix, slug):
    """A prefix such as '1.36' or '1.36.1' names every slug of that line."""
    up = upstream(slug)
    return up == prefix or up.startswith(prefix + ".")


def resolve_version(declared, available):
    """The slug to use for ``declared`` among the ``available`` slugs, or None.

    A full slug must be offered as is. A prefix (``1.36`` or ``1.36.1``) resolves to the newest
    offered slug of that line.
    """
    if is_slug(declared):
        return declared if declared in available else None
    candidates = [s for s in available if parse_version(s) and matches_prefix(declared, s)]
    if not candidates:
        return None
    return max(candidates, key=parse_version)


def version_decision(declared, actual, auto_upgrade):
    """What to do about the version of an existing cluster.

    Returns ('ok', None), ('ok-auto-upgraded', None) or ('upgrade', None) (the caller resolves
    the target slug), or raises DeclarationError for a downgrade or a change of minor line that
    is not an upgrade.
    """
    if declared == actual or (not is_slug(declared) and matches_prefix(declared, actual)):
        return "ok", None
    want = parse_version(declared)
    have = parse_version(actual)
    if want is None or have is None:
        raise DeclarationError("Cannot compare Kubernetes versions %r and %r." % (declared, actual))
    # Compare as many parts as the declaration has (a prefix names a whole line).
    have_cut = have[: len(want)]
    if want > have_cut:
        return "upgrade", None
    if auto_upgrade and have[:2] == want[:2]:
        # DigitalOcean moved the cluster to a newer patch of the declared minor in its
        # maintenance window: that is what auto_upgrade asks for, not drift.
        return "ok-auto-upgraded", None
    raise DeclarationError(
        "The cluster runs Kubernetes %s and the task declares %s: DigitalOcean cannot downgrade a "
        "cluster. Declare %s (or a newer version), or create a new cluster and move the "
        "workloads." % (actual, declared, actual)
    )


# -- normalisation ----------------------------------------------------------------------------


def user_tags(tags, cluster_id=None):
    """The tags someone chose, without the ones DigitalOcean adds (k8s, k8s:worker, k8s:<id>)."""
    auto = set(AUTO_TAGS)
    if cluster_id:
        auto.add("k8s:%s" % cluster_id)
    return sorted(set(t for t in (tags or []) if t not in auto))


def norm_taints(taints):
    return sorted(
        (t.get("key") or "", t.get("value") or "", t.get("effect") or "") for t in (taints or [])
    )


def taints_out(taints):
    return [dict(key=k, value=v, effect=e) for k, v, e in norm_taints(taints)]


def norm_time(text):
    match = TIME_RE.match(text or "")
    if not match:
        raise DeclarationError(
            "maintenance_policy.start_time must be HH:MM in UTC (for example 04:00), not %r."
            % (text,)
        )
    return "%02d:%02d" % (int(match.group(1)), int(match.group(2)))


def validate_declaration(params):
    """Checks that need no API call. Raises DeclarationError."""
    version = params.get("version")
    if version and parse_version(version) is None:
        raise DeclarationError(
            "version %r is neither a DigitalOcean slug (like 1.36.1-do.0) nor a prefix (like "
            "1.36); list the offered versions with GET /v2/kubernetes/options or "
            '"doctl kubernetes options versions".' % version
        )
    pools = params.get("node_pools") or []
    names = [p["name"] for p in pools]
    dupes = sorted(set(n for n in names if names.count(n) > 1))
    if dupes:
        raise DeclarationError("node_pools names must be unique; repeated: %s." % ", ".join(dupes))
    for pool in pools:
        name = pool["name"]
        if pool.get("auto_scale"):
            lo, hi = pool.get("min_nodes"), pool.get("max_nodes")
            if lo is None or hi is None:
                raise DeclarationError(
                    "node pool %s has auto_scale: true and needs min_nodes and max_nodes." % name
                )
            if lo < 0 or hi < 1 or lo > hi:
                raise DeclarationError(
                    "node pool %s: min_nodes (%s) must be 0 or more and not above max_nodes (%s), "
                    "and max_nodes at least 1." % (name, lo, hi)
                )
            count = pool.get("count")
            if count is not None and not lo <= count <= hi:
                raise DeclarationError(
                    "node pool %s: count %s is outside min_nodes..max_nodes (%s..%s)."
                    % (name, count, lo, hi)
                )
        else:
            if pool.get("count") is None or pool["count"] < 1:
                raise DeclarationError(
                    "node pool %s needs count (1 or more) unless auto_scale is true." % name
                )
    policy = params.get("maintenance_policy")
    if policy and policy.get("start_time") is not None:
        norm_time(policy["start_time"])


# -- node pools -------------------------------------------------------------------------------


def pool_view(pool, cluster_id=None):
    """The declared-field view of an API node pool (what diffs and results show)."""
    nodes = pool.get("nodes") or []
    return dict(
        id=pool.get("id"),
        name=pool.get("name"),
        size=pool.get("size"),
        count=pool.get("count"),
        auto_scale=bool(pool.get("auto_scale")),
        min_nodes=pool.get("min_nodes") or 0,
        max_nodes=pool.get("max_nodes") or 0,
        tags=user_tags(pool.get("tags"), cluster_id),
        labels=dict(pool.get("labels") or {}),
        taints=taints_out(pool.get("taints")),
        nodes_running=sum(1 for n in nodes if (n.get("status") or {}).get("state") == "running"),
    )


def pool_differences(declared, actual, cluster_id=None):
    """[(field, before, after)] for the mutable fields the task declares.

    With auto_scale the autoscaler owns ``count``, so count is not compared (it is only used when
    the pool is created); min_nodes and max_nodes are.
    """
    out = []
    view = pool_view(actual, cluster_id)
    want_auto = bool(declared.get("auto_scale"))
    if want_auto != view["auto_scale"]:
        out.append(("auto_scale", view["auto_scale"], want_auto))
    if want_auto:
        for field in ("min_nodes", "max_nodes"):
            if declared.get(field) != view[field]:
                out.append((field, view[field], declared.get(field)))
    elif declared.get("count") != view["count"]:
        out.append(("count", view["count"], declared.get("count")))
    if declared.get("tags") is not None and sorted(set(declared["tags"])) != view["tags"]:
        out.append(("tags", view["tags"], sorted(set(declared["tags"]))))
    if declared.get("labels") is not None and dict(declared["labels"]) != view["labels"]:
        out.append(("labels", view["labels"], dict(declared["labels"])))
    if declared.get("taints") is not None and norm_taints(declared["taints"]) != norm_taints(
        view["taints"]
    ):
        out.append(("taints", view["taints"], taints_out(declared["taints"])))
    return out


def pool_immutable_error(declared, actual):
    """Why the declaration asks for what DigitalOcean cannot change in place, or None."""
    if declared.get("size") and declared["size"] != actual.get("size"):
        name = declared["name"]
        return (
            "node pool %s: size cannot be changed in place (it runs %s, the task declares %s). "
            "To migrate: add a new pool with size %s under another name (for example %s-2) to "
            "node_pools and run again; drain the old nodes (kubectl cordon/drain, or let the "
            "autoscaler move pods); then remove %s from node_pools and run with "
            "prune_node_pools: true."
            % (name, actual.get("size"), declared["size"], declared["size"], name, name)
        )
    return None


def pool_create_body(declared):
    auto = bool(declared.get("auto_scale"))
    count = declared.get("count")
    if count is None and auto:
        count = declared.get("min_nodes") or 1
    body = dict(name=declared["name"], size=declared["size"], count=count, auto_scale=auto)
    if auto:
        body["min_nodes"] = declared.get("min_nodes")
        body["max_nodes"] = declared.get("max_nodes")
    if declared.get("tags") is not None:
        body["tags"] = sorted(set(declared["tags"]))
    if declared.get("labels") is not None:
        body["labels"] = dict(declared["labels"])
    if declared.get("taints") is not None:
        body["taints"] = taints_out(declared["taints"])
    return body


def pool_update_body(declared, actual, cluster_id=None):
    """PUT body for a node pool: the API replaces the pool's settings, so undeclared fields
    (tags, labels, taints) are sent back as they are."""
    view = pool_view(actual, cluster_id)
    auto = bool(declared.get("auto_scale"))
    if auto:
        lo, hi = declared.get("min_nodes"), declared.get("max_nodes")
        count = min(max(view["count"] or lo, lo), hi)
    else:
        count = declared.get("count")
    body = dict(
        name=view["name"],
        count=count,
        auto_scale=auto,
        min_nodes=declared.get("min_nodes") if auto else 0,
        max_nodes=declared.get("max_nodes") if auto else 0,
    )
    body["tags"] = (
        sorted(set(declared["tags"])) if declared.get("tags") is not None else view["tags"]
    )
    labels = declared.get("labels") if declared.get("labels") is not None else actual.get("labels")
    if labels is not None:
        body["labels"] = dict(labels)
    body["taints"] = taints_out(
        declared["taints"] if declared.get("taints") is not None else actual.get("taints")
    )
    return body


# -- cluster settings -------------------------------------------------------------------------


def settings_view(cluster):
    policy = cluster.get("maintenance_policy") or {}
    return dict(
        auto_upgrade=bool(cluster.get("auto_upgrade")),
        surge_upgrade=bool(cluster.get("surge_upgrade")),
        ha=bool(cluster.get("ha")),
        maintenance_policy=dict(start_time=policy.get("start_time"), day=policy.get("day")),
        tags=user_tags(cluster.get("tags"), cluster.get("id")),
    )


def settings_differences(params, cluster):
    """[(field, before, after)] for declared cluster-level settings; raises DeclarationError for
    changes DigitalOcean cannot make (region, VPC, turning HA off)."""
    if params.get("region") and params["region"] != cluster.get("region"):
        raise DeclarationError(
            "The cluster %s is in region %s and the task declares %s: a cluster cannot move. "
            "Declare region %s, or create a new cluster in %s and move the workloads."
            % (
                cluster.get("name"),
                cluster.get("region"),
                params["region"],
                cluster.get("region"),
                params["region"],
            )
        )
    if params.get("vpc_uuid") and params["vpc_uuid"] != cluster.get("vpc_uuid"):
        raise DeclarationError(
            "The cluster %s is in VPC %s and the task declares %s: the VPC of a cluster cannot "
            "change." % (cluster.get("name"), cluster.get("vpc_uuid"), params["vpc_uuid"])
        )
    view = settings_view(cluster)
    out = []
    for field in ("auto_upgrade", "surge_upgrade"):
        if params.get(field) is not None and params[field] != view[field]:
            out.append((field, view[field], params[field]))
    if params.get("ha") is not None and params["ha"] != view["ha"]:
        if not params["ha"]:
            raise DeclarationError(
                "The cluster %s has a high-availability control plane and DigitalOcean cannot "
                "turn it off: declare ha: true (or leave ha unset)." % cluster.get("name")
            )
        out.append(("ha", False, True))
    policy = params.get("maintenance_policy")
    if policy:
        before = view["maintenance_policy"]
        after = dict(before)
        if policy.get("start_time") is not None:
            after["start_time"] = norm_time(policy["start_time"])
        if policy.get("day") is not None:
            after["day"] = policy["day"]
        if after != before:
            out.append(("maintenance_policy", before, after))
    if params.get("tags") is not None and sorted(set(params["tags"])) != view["tags"]:
        out.append(("tags", view["tags"], sorted(set(params["tags"]))))
    return out


def cluster_update_body(cluster, differences):
    """PUT /v2/kubernetes/clusters/{id}: ``name`` is required, plus the fields that change."""
    body = dict(name=cluster["name"])
    for field, _before, after in differences:
        body[field] = after
    return body


def cluster_create_body(params, version_slug):
    body = dict(
        name=params["name"],
        region=params["region"],
        version=version_slug,
        node_pools=[pool_create_body(p) for p in params["node_pools"]],
    )
    for field in ("auto_upgrade", "surge_upgrade", "ha", "vpc_uuid"):
        if params.get(field) is not None:
            body[field] = params[field]
    if params.get("tags") is not None:
        body["tags"] = sorted(set(params["tags"]))
    policy = params.get("maintenance_policy")
    if policy:
        mp = {}
        if policy.get("start_time") is not None:
            mp["start_time"] = norm_time(policy["start_time"])
        if policy.get("day") is not None:
            mp["day"] = policy["day"]
        if mp:
            body["maintenance_policy"] = mp
    return body


def declared_view(params):
    """The after-side of the diff for a declaration (only what the task declares)."""
    out = dict(name=params["name"], region=params.get("region"), version=params.get("version"))
    for field in ("auto_upgrade", "surge_upgrade", "ha", "vpc_uuid"):
        if params.get(field) is not None:
            out[field] = params[field]
    if params.get("tags") is not None:
        out["tags"] = sorted(set(params["tags"]))
    if params.get("maintenance_policy"):
        mp = dict((k, v) for k, v in params["maintenance_policy"].items() if v is not None)
        if "start_time" in mp:
            mp["start_time"] = norm_time(mp["start_time"])
        out["maintenance_policy"] = mp
    out["node_pools"] = dict(
        (p["name"], declared_pool_fields(p)) for p in params.get("node_pools") or []
    )
    return out


def declared_pool_fields(pool):
    """The fields of a declared pool that are compared (count is the autoscaler's when
    auto_scale is on)."""
    out = dict((k, v) for k, v in pool.items() if v is not None)
    out["auto_scale"] = bool(pool.get("auto_scale"))
    if out["auto_scale"]:
        out.pop("count", None)
    if "tags" in out:
        out["tags"] = sorted(set(out["tags"]))
    if "taints" in out:
        out["taints"] = taints_out(out["taints"])
    return out


def actual_view(cluster, declared_params):
    """The before-side of the diff: the same fields as declared_view, read from the cluster."""
    settings = settings_view(cluster)
    out = dict(
        name=cluster.get("name"), region=cluster.get("region"), version=cluster.get("version")
    )
    for field in ("auto_upgrade", "surge_upgrade", "ha"):
        if declared_params.get(field) is not None:
            out[field] = settings[field]
    if declared_params.get("vpc_uuid") is not None:
        out["vpc_uuid"] = cluster.get("vpc_uuid")
    if declared_params.get("tags") is not None:
        out["tags"] = settings["tags"]
    if declared_params.get("maintenance_policy"):
        keys = [k for k, v in declared_params["maintenance_policy"].items() if v is not None]
        out["maintenance_policy"] = dict((k, settings["maintenance_policy"].get(k)) for k in keys)
    declared_pools = dict((p["name"], p) for p in declared_params.get("node_pools") or [])
    pools = {}
    for pool in cluster.get("node_pools") or []:
        view = pool_view(pool, cluster.get("id"))
        want = declared_pools.get(view["name"])
        if want is None:
            pools[view["name"]] = dict((k, view[k]) for k in ("size", "count", "auto_scale"))
            continue
        pools[view["name"]] = dict((k, view[k]) for k in declared_pool_fields(want) if k in view)
    out["node_pools"] = pools
    return out
