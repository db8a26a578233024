# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A release's report, and its record in the cluster.

The report (a dict: what the helm_release module returns as `report`) as Markdown, for job
summaries and the record; written as <report_path>.json and .md; kept in the release's namespace
as a ConfigMap per Helm revision, pruned with the revisions Helm prunes. Used by the helm_release
module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _analysis

RECORD_LABEL = "hackathon-todo.dev/release-record"


def render_markdown(r):
    """The report as Markdown (job summaries, the release record)."""
    lines = [
        "### %s of `%s` in %s: **%s**%s"
        % (
            r["operation"].capitalize(),
            r["release"],
            r["environment"],
            r["outcome"],
            " (check mode)" if r["check_mode"] else "",
        ),
        "",
        "| | |",
        "|---|---|",
        "| environment / namespace | %s / `%s` |" % (r["environment"], r["namespace"]),
        "| chart | %s |" % r["chart"],
        "| app version | %s → %s (live: %s) |"
        % (r["app_version_before"] or "—", r["app_version"] or "—", r["app_version_live"] or "—"),
        "| revision | %s |"
        % (
            "%s → %s" % (r["revision_before"], r["revision_after"])
            if r["revision_before"] is not None
            else "not read (refused before Helm's history was read)"
        ),
        "| images | %s |" % ("<br>".join("`%s`" % i for i in r["images"]) or "—"),
        "| certificate | %s%s |"
        % (
            r["certificate"]["status"],
            (": " + r["certificate"]["summary"]) if r["certificate"]["summary"] else "",
        ),
        "| smoke checks | %s%s |"
        % (r["smoke"]["status"], (": " + r["smoke"]["summary"]) if r["smoke"]["summary"] else ""),
        "| durations (s) | %s |" % ", ".join("%s %s" % kv for kv in r["durations_s"].items()),
    ]
    analysis = r.get("analysis") or {}
    if analysis.get("status") not in (None, "not run"):
        # the analysis summary usually starts with its status ("failed: error_rate ..."): once
        summary = analysis.get("summary") or ""
        if summary.startswith(analysis["status"] + ": "):
            summary = summary[len(analysis["status"]) + 2 :]
        lines.append(
            "| analysis | %s%s |"
            % (
                analysis["status"] + (" (dry run)" if analysis.get("dry_run") else ""),
                (": " + summary) if summary else "",
            )
        )
    if r["failed_deployments"]:
        lines.append("| failed Deployments | %s |" % ", ".join(r["failed_deployments"]))
    if r.get("pod_problems"):
        lines.append("| their pods | %s |" % "<br>".join(r["pod_problems"]).replace("|", "\\|"))
    if r["recovery"]:
        lines.append("| recovered | %s |" % r["recovery"])
    if r["lock"]["took_over_from"]:
        lines.append("| lock | taken over from stale holder %s |" % r["lock"]["took_over_from"])
    if r["error"]:
        lines += ["", "**Why:** %s" % r["error"]]
    if r["smoke"]["checks"]:
        lines += ["", "| smoke check | passed | status | error |", "|---|---|---|---|"]
        for c in r["smoke"]["checks"]:
            lines.append(
                "| %s | %s | %s | %s |"
                % (c.get("name"), c.get("passed"), c.get("status"), c.get("error") or "")
            )
    if analysis.get("queries"):
        lines += _analysis.render_markdown(analysis)
    return "\n".join(lines) + "\n"


def write_files(report, markdown, path, step_summary):
    """The report as <path>.json and <path>.md, and appended to a job summary (GitHub's
    $GITHUB_STEP_SUMMARY); no path, no file."""
    if path:
        d = os.path.dirname(path)
        if d and not os.path.isdir(d):
            os.makedirs(d)
        with open(path + ".json", "w") as f:
            f.write(json.dumps(report, indent=4, sort_keys=True) + "\n")
        with open(path + ".md", "w") as f:
            f.write(markdown)
    if step_summary:
        with open(step_summary, "a") as f:
            f.write(markdown + "\n")


class ReleaseRecord(object):
    """The release's record: a ConfigMap per revision in its namespace, labelled RECORD_LABEL."""

    def __init__(self, kube, namespace, release_name):
        self.kube, self.namespace, self.release_name = kube, namespace, release_name

    def name(self, revision):
        return "%s-record-%s" % (self.release_name, revision)

    def write(self, revision, outcome, report, markdown):
        """Create or update the record of one revision (server-side apply)."""
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.name(revision),
                "namespace": self.namespace,
                "labels": {
                    "app.kubernetes.io/managed-by": "hackathon_todo.deploy",
                    "app.kubernetes.io/instance": self.release_name,
                    RECORD_LABEL: "true",
                    "hackathon-todo.dev/outcome": outcome.replace(" ", "-"),
                },
            },
            "data": {
                "report.json": json.dumps(report, indent=4, sort_keys=True),
                "report.md": markdown,
            },
        }
        self.kube.apply(body, self.namespace, "hackathon_todo.deploy")

    def prune(self, kept):
        """Delete the records of the revisions not in `kept` (those Helm no longer keeps)."""
        ns = self.namespace
        prefix = "%s-record-" % self.release_name
        for cm in self.kube.list(
            "/api/v1/namespaces/%s/configmaps" % ns,
            "%s=true,app.kubernetes.io/instance=%s" % (RECORD_LABEL, self.release_name),
        ):
            tail = cm["metadata"]["name"][len(prefix) :]
            if tail.isdigit() and int(tail) not in kept:
                self.kube.delete(
                    "/api/v1/namespaces/%s/configmaps/%s" % (ns, cm["metadata"]["name"])
                )
