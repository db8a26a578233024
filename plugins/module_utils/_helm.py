# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Helm 4 CLI, for one release in one namespace (the real binary; no Go library bindings)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    yaml = None

# Helm 4's kstatus watcher: a resource is ready when its status is Current, for a Deployment a
# complete rollout (updated, ready and available replicas at the desired count, no old pod left).
# Helm 3's `--wait` counted Ready pods only. Named explicitly: a bare `--wait` means `watcher` too.
WAIT = "--wait=watcher"

# What the watcher gave up on, one line per resource in Helm's error (and in its WARN log line):
#   resource Deployment/staging/todo-app-staging-mcp not ready. status: InProgress, message: ...
_NOT_READY = re.compile(r"resource Deployment/([^/\s]+/[^/\s]+) not ready\b")

# A revision in one of these states means a Helm client is working on the release, or was killed
# while it did: Helm refuses every other operation on it ("another operation is in progress").
PENDING = ("pending-install", "pending-upgrade", "pending-rollback", "uninstalling")

# What went wrong, from Helm's stderr, and what to fix: first match wins (the cluster before the
# chart repository: both say "dial tcp").
_DIAGNOSES = (
    (
        r"Kubernetes cluster unreachable",
        "the Kubernetes API server cannot be reached: check kubeconfig and context",
    ),
    (
        r"another operation \(install/upgrade/rollback\) is in progress",
        "another Helm operation on this release is in progress (or was killed): wait for it, or "
        "roll the release back to its last deployed revision",
    ),
    (
        r"is not a valid chart repository or cannot be reached|dial tcp|no such host|"
        r"connection refused|i/o timeout|TLS handshake|x509:|Client\.Timeout",
        "the chart repository (or registry) cannot be reached: check chart_repo_url / chart_ref "
        "and the network (proxy, DNS) from this host",
    ),
    (
        r"not found in .* repository|chart \S+ version \S+ not found|no chart (name|version) "
        r"found|repo .* not found|path \S+ not found|: not found\s*$|manifest unknown|"
        r"failed to download",
        "the chart was not found: check chart_ref and chart_version (the repository's "
        "index.yaml or `helm search repo` lists what it serves) or that the local path exists",
    ),
    (
        r"values don't meet the specifications of the schema|execution error at|"
        r"YAML parse error|error converting YAML|template: |parse error",
        "the chart rejected the values: fix release_values (Helm names the key below)",
    ),
    (
        r"invalid ownership metadata|exists and cannot be imported|"
        r"cannot re-use a name that is still in use",
        "objects the chart creates already exist and belong to something else: remove them or "
        "let this release adopt them (Helm's meta.helm.sh annotations)",
    ),
    (
        r"context deadline exceeded|not ready\. status|timed out waiting",
        "the release's objects did not become ready within wait_timeout: look at the objects "
        "Helm names below (kubectl describe), or raise wait_timeout",
    ),
    (r"forbidden", "the kubeconfig's user may not do this: check its RBAC"),
)


def diagnose(err):
    """What to fix, in words, for Helm's stderr (empty when the error is not one we know)."""
    for pattern, hint in _DIAGNOSES:
        if re.search(pattern, err or "", flags=re.M | re.I):
            return hint
    return ""


def merge(base, override):
    """Helm's (and Ansible's recursive combine's) merge: maps merge, everything else replaces."""
    out = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def release_diff(before_header, before, after_header, after):
    """Ansible's diff of a release: `before`/`after` are dicts (chart, values, ...) or None when
    there is no release on that side. Shared by helm_release and helm_chart."""

    def text(doc):
        return "" if doc is None else json.dumps(doc, indent=2, sort_keys=True) + "\n"

    return {
        "before_header": before_header,
        "after_header": after_header,
        "before": text(before),
        "after": text(after),
    }


def source_args(repo_url=None, version=None):
    """Where a chart comes from, as Helm flags: a repository URL and a version (constraint)."""
    args = []
    if repo_url:
        args += ["--repo", repo_url]
    if version:
        args += ["--version", str(version)]
    return args


class HelmError(Exception):
    def __init__(self, action, rc, out, err):
        self.action = action
        self.rc = rc
        self.out = out or ""
        self.err = err or ""
        super(HelmError, self).__init__(
            "helm %s failed (exit %s): %s" % (action, rc, self.errors() or self.err.strip()[-800:])
        )

    def errors(self):
        """Helm's error: the `Error: ...` line and the lines after it (Helm 4 joins the errors of
        several resources with newlines), on one line."""
        m = re.search(r"^Error: .*", self.err, flags=re.M | re.S)
        return " ".join(m.group(0).split())[:800] if m else ""

    def not_ready(self):
        """The Deployments the watcher gave up on (namespace/name), in order, once each."""
        seen = []
        for name in _NOT_READY.findall(self.err + "\n" + self.out):
            if name not in seen:
                seen.append(name)
        return seen


class Helm(object):
    def __init__(self, run, release, namespace, kubeconfig=None, context=None, binary="helm"):
        """`run(argv)` returns (rc, stdout, stderr), e.g. AnsibleModule.run_command."""
        self._run = run
        self.release = release
        self.namespace = namespace
        self.binary = binary
        self.conn = ["-n", namespace]
        if kubeconfig:
            self.conn += ["--kubeconfig", kubeconfig]
        if context:
            self.conn += ["--kube-context", context]

    def run(self, action, args, ok_rc=(0,)):
        rc, out, err = self._run([self.binary, *args])
        if rc not in ok_rc:
            raise HelmError(action, rc, out, err)
        return rc, out, err

    def version(self):
        """The client's version (v4.3.1), and its major number (4; 0 when it says none)."""
        out = self.run("version", ["version", "--template", "{{.Version}}"])[1].strip()
        m = re.match(r"v?(\d+)\.", out)
        return out, int(m.group(1)) if m else 0

    def history(self, limit=20):
        """Revisions, oldest first; [] when the release does not exist."""
        rc, out, err = self._run(
            [self.binary, "history", self.release, "-o", "json", "--max", str(limit), *self.conn]
        )
        if rc != 0:
            if "not found" in err:
                return []
            raise HelmError("history", rc, out, err)
        return json.loads(out or "[]")

    def show_chart(self, chart, repo_url=None, version=None):
        """The chart's Chart.yaml as a dict (downloads it from a repository or registry)."""
        out = self.run("show chart", ["show", "chart", chart, *source_args(repo_url, version)])[1]
        return yaml.safe_load(out) or {}

    def get_values(self, revision=None):
        args = ["get", "values", self.release, "-o", "json", *self.conn]
        if revision:
            args += ["--revision", str(revision)]
        return json.loads(self.run("get values", args)[1] or "null") or {}

    def package(self, chart_dir, app_version, dest):
        out = self.run(
            "package",
            ["package", chart_dir, "--app-version", app_version, "--destination", dest],
        )[1]
        m = re.search(r"saved it to: (.*)$", out, flags=re.M)
        if not m:
            raise HelmError("package", 0, out, "no package path in helm's output")
        return m.group(1).strip()

    def template(self, chart, values_files, kube_version=None, repo_url=None, version=None):
        """Render locally (no cluster): fetches the chart and checks the values against it."""
        args = ["template", self.release, chart, "-n", self.namespace]
        args += source_args(repo_url, version)
        for f in values_files:
            args += ["-f", f]
        if kube_version:
            args += ["--kube-version", kube_version]
        return self.run("template", args)[1]

    def upgrade_argv(
        self,
        chart,
        values_files,
        timeout,
        history_max=None,
        repo_url=None,
        version=None,
        create_namespace=False,
        rollback_on_failure=True,
        wait=True,
        reset_values=False,
    ):
        """The `helm upgrade --install` command line (without the binary)."""
        args = ["upgrade", "--install", self.release, chart, *source_args(repo_url, version)]
        for f in values_files:
            args += ["-f", f]
        if reset_values:
            # The release's values are exactly the files given, never the previous revision's.
            args.append("--reset-values")
        if create_namespace:
            args.append("--create-namespace")
        if rollback_on_failure:
            args.append("--rollback-on-failure")
        if wait or rollback_on_failure:
            # --rollback-on-failure waits anyway; name the watcher so the behaviour is explicit.
            args.append(WAIT)
        args += ["--timeout", timeout]
        if history_max is not None:
            args += ["--history-max", str(history_max)]
        return args + self.conn

    def upgrade(self, chart, values_files, timeout, history_max=None, **kw):
        return self.run(
            "upgrade", self.upgrade_argv(chart, values_files, timeout, history_max, **kw)
        )

    def rollback(self, revision, timeout, history_max):
        args = ["rollback", self.release, str(revision), WAIT, "--timeout", timeout]
        args += ["--history-max", str(history_max)]
        return self.run("rollback", args + self.conn)

    def uninstall_argv(self, timeout, wait=True):
        args = ["uninstall", self.release, *([WAIT] if wait else []), "--timeout", timeout]
        return args + self.conn

    def uninstall(self, timeout, wait=True):
        return self.run("uninstall", self.uninstall_argv(timeout, wait))
