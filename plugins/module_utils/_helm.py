# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Helm 4 CLI, for one release in one namespace (the real binary; no Go library bindings)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

# Helm 4's kstatus watcher: a resource is ready when its status is Current, for a Deployment a
# complete rollout (updated, ready and available replicas at the desired count, no old pod left).
# Helm 3's `--wait` counted Ready pods only. Named explicitly: a bare `--wait` means `watcher` too.
WAIT = "--wait=watcher"

# What the watcher gave up on, one line per resource in Helm's error (and in its WARN log line):
#   resource Deployment/staging/todo-app-staging-mcp not ready. status: InProgress, message: ...
_NOT_READY = re.compile(r"resource Deployment/([^/\s]+/[^/\s]+) not ready\b")


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

    def template(self, chart, values_files, kube_version):
        args = ["template", self.release, chart, "-n", self.namespace]
        for f in values_files:
            args += ["-f", f]
        args += ["--kube-version", kube_version]
        return self.run("template", args)[1]

    def upgrade(self, chart, values_files, timeout, history_max):
        args = ["upgrade", "--install", self.release, chart]
        for f in values_files:
            args += ["-f", f]
        args += [
            "--rollback-on-failure",
            WAIT,
            "--timeout",
            timeout,
            "--history-max",
            str(history_max),
        ]
        return self.run("upgrade", args + self.conn)

    def rollback(self, revision, timeout, history_max):
        args = ["rollback", self.release, str(revision), WAIT, "--timeout", timeout]
        args += ["--history-max", str(history_max)]
        return self.run("rollback", args + self.conn)

    def uninstall(self, timeout):
        return self.run(
            "uninstall", ["uninstall", self.release, WAIT, "--timeout", timeout, *self.conn]
        )
