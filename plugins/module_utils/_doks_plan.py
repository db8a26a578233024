# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What doks_cluster does to a cluster, planned as plain data before anything is sent.

Every planner takes the task's parameters and what the API said (the cluster, and the
``options`` of ``GET /v2/kubernetes/options`` where it needs them) and returns one plan::

    dict(
        changes=ChangeSet,                  # RV(changes) in order, each with its request
                                            # (method, path, body), sent unless check mode
        warnings=[str],                     # to show whether or not anything is sent
        error=None,                         # or why nothing may be done at all
        diff=dict(before=..., after=...),   # None with an error
    )

With an ``error`` the plan has no requests and its changes are only the ``none`` ones (findings
that change nothing, with a ``reason``). ``changed`` comes from the ChangeSet (``_changes``).
No I/O here: the module reads, calls the planner, then sends the requests and waits.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._changes import ChangeSet
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._doks import (
    DeclarationError,
    actual_view,
    cluster_create_body,
    cluster_update_body,
    declared_pool_fields,
    declared_view,
    parse_version,
    pool_create_body,
    pool_differences,
    pool_immutable_error,
    pool_update_body,
    pool_view,
    resolve_version,
    settings_differences,
    version_decision,
)

CLUSTERS = "/kubernetes/clusters"
NOTHING_CHANGED = "Nothing was changed."


def make_plan(changes=None, warnings=None, error=None, diff=None):
    """A plan with every key (see the module docstring)."""
    return dict(
        changes=changes if changes is not None else ChangeSet(),
        warnings=list(warnings or []),
        error=error,
        diff=diff,
    )


# -- what the API offers ----------------------------------------------------------------------


def offered_versions(options):
    return [v.get("slug") for v in (options or {}).get("versions") or []]


def size_problems(pools, options):
    """One message per pool whose size DOKS does not offer."""
    sizes = set(s.get("slug") for s in (options or {}).get("sizes") or [])
    return [
        "node pool %s: size %s is not offered for Kubernetes (offered: "
        "%s)." % (pool["name"], pool["size"], ", ".join(sorted(sizes)))
        for pool in pools
        if pool["size"] not in sizes
    ]


def version_problem(declared, options):
    return "version %s is not offered (offered: %s)." % (
        declared,
        ", ".join(offered_versions(options)),
    )


def _missing_pools(params, cluster):
    running = set(p.get("name") for p in cluster.get("node_pools") or [])
    return [p for p in params["node_pools"] if p["name"] not in running]


def _version_decision(params, cluster):
    """'ok', 'ok-auto-upgraded' or 'upgrade'; raises DeclarationError (see version_decision)."""
    auto_upgrade = params.get("auto_upgrade")
    if auto_upgrade is None:
        auto_upgrade = bool(cluster.get("auto_upgrade"))
    return version_decision(params["version"], cluster["version"], auto_upgrade)[0]


def needs_options(params, cluster):
    """Whether planning an existing cluster needs ``GET /v2/kubernetes/options``: only to add a
    node pool (its size) or to upgrade (the target version). A new cluster always needs it."""
    if cluster is None or _missing_pools(params, cluster):
        return True
    try:
        return _version_decision(params, cluster) == "upgrade"
    except DeclarationError:
        return False


# -- planners ---------------------------------------------------------------------------------


def plan_create(params, options):
    """Create the declared cluster (``cluster`` does not exist yet)."""
    problems = []
    regions = [r.get("slug") for r in (options or {}).get("regions") or []]
    if params["region"] not in regions:
        problems.append(
            "region %s does not offer Kubernetes (offered: %s)."
            % (params["region"], ", ".join(sorted(regions)))
        )
    slug = resolve_version(params["version"], offered_versions(options))
    if slug is None:
        problems.append(version_problem(params["version"], options))
    problems.extend(size_problems(params["node_pools"], options))
    if problems:
        return make_plan(
            error="Cannot create cluster %s: %s %s"
            % (params["name"], " ".join(problems), NOTHING_CHANGED)
        )
    after = declared_view(params)
    after["version"] = slug
    changes = ChangeSet()
    changes.add(
        "create",
        "cluster",
        request=("POST", CLUSTERS, cluster_create_body(params, slug)),
        name=params["name"],
        after=after,
    )
    return make_plan(changes=changes, diff=dict(before={}, after=after))


def plan_present(params, cluster, options=None):
    """Bring an existing cluster to the declaration: one PUT for the cluster settings, a POST per
    missing pool, a PUT per drifted pool, a DELETE per pruned pool, then the upgrade. Everything
    that cannot be done is found first, and then nothing is done."""
    problems, warnings = [], []
    changes = ChangeSet()
    path = "%s/%s" % (CLUSTERS, cluster["id"])

    try:
        settings = settings_differences(params, cluster)
    except DeclarationError as exc:
        problems.append(str(exc))
        settings = []
    if settings:
        _add_updates(
            changes, "cluster", settings, ("PUT", path, cluster_update_body(cluster, settings))
        )

    missing = _missing_pools(params, cluster)
    problems.extend(size_problems(missing, options))
    for pool in missing:
        changes.add(
            "create",
            "node_pool/%s" % pool["name"],
            request=("POST", path + "/node_pools", pool_create_body(pool)),
            after=declared_pool_fields(pool),
        )

    actual = dict((p["name"], p) for p in cluster.get("node_pools") or [])
    for pool in params["node_pools"]:
        have = actual.get(pool["name"])
        if have is None:
            continue
        error = pool_immutable_error(pool, have)
        if error:
            problems.append(error)
            continue
        diffs = pool_differences(pool, have, cluster["id"])
        if diffs:
            _add_updates(
                changes,
                "node_pool/%s" % pool["name"],
                diffs,
                (
                    "PUT",
                    "%s/node_pools/%s" % (path, have["id"]),
                    pool_update_body(pool, have, cluster["id"]),
                ),
            )

    _plan_undeclared(params, cluster, actual, changes, warnings)
    _plan_version(params, cluster, options, changes, warnings, problems)

    if problems:
        message = " ".join(problems)
        if not problems[-1].endswith(NOTHING_CHANGED):
            message += " " + NOTHING_CHANGED
        return make_plan(changes=changes.select("none"), warnings=warnings, error=message)
    before = actual_view(cluster, params)
    return make_plan(
        changes=changes,
        warnings=warnings,
        diff=dict(before=before, after=planned_after(before, changes.changes)),
    )


def _add_updates(changes, target, differences, request):
    """One ``update`` per field of ``differences`` ([(field, before, after)]), all made by one
    request (it goes with the first)."""
    for field, before, after in differences:
        changes.add("update", target, request=request, field=field, before=before, after=after)
        request = None


def _plan_undeclared(params, cluster, actual, changes, warnings):
    """Pools that run but are not declared: deleted with prune_node_pools, else reported."""
    declared = set(p["name"] for p in params["node_pools"])
    for name, have in sorted(actual.items()):
        if name in declared:
            continue
        view = pool_view(have, cluster["id"])
        before = dict(size=view["size"], count=view["count"])
        if params["prune_node_pools"]:
            changes.add(
                "delete",
                "node_pool/%s" % name,
                request=(
                    "DELETE",
                    "%s/%s/node_pools/%s" % (CLUSTERS, cluster["id"], have["id"]),
                    None,
                ),
                before=before,
            )
            continue
        changes.add(
            "none",
            "node_pool/%s" % name,
            reason="not declared; left running (prune_node_pools: true deletes it)",
            before=before,
        )
        warnings.append(
            "Node pool %s of cluster %s is not declared in node_pools and "
            "was left running." % (name, cluster["name"])
        )


def _plan_version(params, cluster, options, changes, warnings, problems):
    """The upgrade, last (after the node pool changes), when one is declared and allowed."""
    try:
        decision = _version_decision(params, cluster)
    except DeclarationError as exc:
        problems.append(str(exc))
        return
    running, declared = cluster["version"], params["version"]
    if decision == "ok-auto-upgraded":
        warnings.append(
            "Cluster %s runs %s, a newer patch than the declared %s: "
            "DigitalOcean auto-upgraded it. Declare %s to pin it."
            % (cluster["name"], running, declared, running)
        )
    if decision != "upgrade":
        return
    target = resolve_version(declared, offered_versions(options))
    if target is None:
        problems.append(version_problem(declared, options))
    elif parse_version(target) > parse_version(running):
        if not params["allow_upgrade"]:
            problems.append(
                "The cluster runs %s and the task declares %s (%s): upgrading replaces "
                "every node and cannot be undone, so it needs allow_upgrade: true. "
                "%s" % (running, declared, target, NOTHING_CHANGED)
            )
            return
        changes.add(
            "upgrade",
            "cluster",
            request=("POST", "%s/%s/upgrade" % (CLUSTERS, cluster["id"]), dict(version=target)),
            field="version",
            before=running,
            after=target,
        )


def plan_absent(params, cluster):
    """Delete the cluster (``cluster`` is None when there is none), only with allow_deletion."""
    if cluster is None:
        return make_plan(diff=dict(before={}, after={}))
    if not params["allow_deletion"]:
        return make_plan(
            error="Refusing to delete cluster %s (%s, %d node pools): deleting a cluster destroys "
            "its nodes and everything running on them. Set allow_deletion: true to delete "
            "it. %s"
            % (
                cluster["name"],
                cluster["id"],
                len(cluster.get("node_pools") or []),
                NOTHING_CHANGED,
            )
        )
    changes = ChangeSet()
    changes.add(
        "delete",
        "cluster",
        request=("DELETE", "%s/%s" % (CLUSTERS, cluster["id"]), None),
        name=cluster["name"],
        id=cluster["id"],
    )
    return make_plan(
        changes=changes, diff=dict(before=actual_view(cluster, dict(node_pools=[])), after={})
    )


def planned_after(before, changes):
    """The after-side of the diff: ``before`` (actual_view) with the planned changes made."""
    after = copy.deepcopy(before)
    for change in changes:
        target = change["target"]
        if target == "cluster" and change["action"] in ("update", "upgrade"):
            after[change["field"]] = change["after"]
        elif target.startswith("node_pool/"):
            name = target.split("/", 1)[1]
            if change["action"] == "create":
                after["node_pools"][name] = change["after"]
            elif change["action"] == "update":
                after["node_pools"][name][change["field"]] = change["after"]
            elif change["action"] == "delete":
                after["node_pools"].pop(name, None)
    return after
