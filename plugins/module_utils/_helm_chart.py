# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One release of a third-party chart (the platform's Traefik, cert-manager, ...), Helm 4 CLI.

read the release's history -> refuse a pending-* release -> compare chart name+version and the
user-supplied values with the deployed revision -> nothing, or (check mode) say what would
change, or `helm upgrade --install` / `helm uninstall` -> read the release back.

The comparison is done once; `changed`, check mode and the diff all come from it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import tempfile

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._helm import (
    PENDING,
    Helm,
    HelmError,
    diagnose,
    release_diff,
)

# A version Helm can only resolve to itself (no range, no wildcard): compared without asking the
# repository. Anything else ("^1.2", "~1.2.0", "1.2", "") is resolved with `helm show chart`.
_EXACT = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


class ChartError(Exception):
    """The run failed; `msg` says what to fix, `release` what is live now."""

    def __init__(self, msg, release=None, command=None, changed=False):
        super(ChartError, self).__init__(msg)
        self.msg = msg
        self.release = release or {}
        self.command = command or []
        self.changed = changed


def is_local(chart_ref):
    """A chart directory or a packaged .tgz on this host (not a repository or registry name)."""
    return os.path.isdir(chart_ref) or (
        os.path.isfile(chart_ref) and chart_ref.endswith((".tgz", ".tar.gz"))
    )


def chart_name_of(chart_ref):
    """The chart's name as the reference gives it: `traefik`, `repo/traefik`,
    `oci://ghcr.io/org/charts/loki[:tag]` -> the last path segment without tag or digest."""
    last = chart_ref.rstrip("/").split("/")[-1]
    return re.split(r"[@:]", last)[0]


def same_version(a, b):
    """Helm reads `v1.2.3` and `1.2.3` as the same version (Masterminds semver)."""
    return bool(a) and bool(b) and str(a).lstrip("v") == str(b).lstrip("v")


def live_version(chart_field, name):
    """The version in a history entry's `chart` (`<name>-<version>`; both may contain dashes),
    or None when the release runs another chart."""
    prefix = name + "-"
    if not chart_field or not chart_field.startswith(prefix):
        return None
    return chart_field[len(prefix) :]


def pending_message(release, namespace, history):
    """What to do about a release a Helm client left (or is leaving) in a pending-* state."""
    last = history[-1]
    good = [
        int(h["revision"])
        for h in history
        if h.get("status") in ("deployed", "superseded")
        and int(h["revision"]) != int(last["revision"])
    ]
    if good:
        fix = "helm rollback %s %s -n %s --wait=watcher" % (release, max(good), namespace)
    else:
        fix = "helm uninstall %s -n %s (it never deployed)" % (release, namespace)
    return (
        "Nothing was changed. Release %s in %s is %s at revision %s: a Helm client is working on "
        "it, or was killed while it did (Helm refuses any other operation until it is resolved). "
        "If no other deployment is running, run `%s`, then run this again."
        % (release, namespace, last.get("status"), last.get("revision"), fix)
    )


def helm_failure(action, exc, release, namespace, live=None):
    """A message a human can act on: what failed, what to fix, what is live, Helm's own words."""
    hint = diagnose(exc.err + "\n" + exc.out)
    parts = ["helm %s of %s in %s failed" % (action, release, namespace)]
    if hint:
        parts[0] += ": " + hint
    not_ready = exc.not_ready()
    if not_ready:
        parts.append("Deployments that never became ready: %s" % ", ".join(not_ready))
    if live is not None:
        parts.append(
            "Live now: %s"
            % (
                "revision %s (%s, %s)"
                % (live.get("revision"), live.get("chart"), live.get("status"))
                if live
                else "nothing (not installed)"
            )
        )
    parts.append("Helm said: %s" % (exc.errors() or exc.err.strip()[-800:] or "(nothing)"))
    return ". ".join(parts)


class ChartRelease(object):
    """One run of the helm_chart module. `p` are its parameters; `run(argv)` -> (rc, out, err)."""

    def __init__(self, p, run, check_mode=False, diff=False):
        self.p = p
        self.check_mode = check_mode
        self.want_diff = diff
        self.helm = Helm(
            run, p["name"], p["release_namespace"], p["kubeconfig"], p["context"], p["binary_path"]
        )
        self.history = []
        self.last = {}
        self.command = []
        self.diff = None
        self.msg = ""

    # -- reads -------------------------------------------------------------------------------
    def _release(self, entry):
        if not entry:
            return {
                "name": self.p["name"],
                "namespace": self.p["release_namespace"],
                "status": "absent",
                "revision": 0,
                "chart": "",
                "app_version": "",
            }
        return {
            "name": self.p["name"],
            "namespace": self.p["release_namespace"],
            "status": entry.get("status", ""),
            "revision": int(entry.get("revision") or 0),
            "chart": entry.get("chart", ""),
            "app_version": entry.get("app_version", ""),
        }

    def _read_live(self):
        try:
            hist = self.helm.history(1)
        except HelmError:
            return None  # the failure being reported matters more than this read's
        return hist[-1] if hist else {}

    def _check_helm(self):
        try:
            version, major = self.helm.version()
        except (HelmError, OSError) as exc:
            raise ChartError(
                "cannot run %s: %s. Install Helm 4 (testbed/versions.env HELM_VERSION) or point "
                "binary_path at it." % (self.p["binary_path"], exc)
            ) from None
        if major < 4:
            raise ChartError(
                "%s is Helm %s; this module drives Helm 4 (--rollback-on-failure, "
                "--wait=watcher): install Helm 4 or point binary_path at it."
                % (self.p["binary_path"], version or "of an unknown version")
            )

    def _read_history(self):
        try:
            self.history = self.helm.history(20)
        except HelmError as exc:
            raise ChartError(
                helm_failure("history", exc, self.p["name"], self.p["release_namespace"])
            ) from None
        self.last = self.history[-1] if self.history else {}

    def desired_chart(self):
        """(name, version) of the chart to install; version None when only Helm can resolve it
        (a range, no version, a local chart)."""
        p = self.p
        ref = p["chart_ref"]
        if is_local(ref):
            return None, None
        version = p["chart_version"]
        return chart_name_of(ref), (version if version and _EXACT.match(version) else None)

    def resolve_chart(self):
        """(name, version) from the chart itself: `helm show chart` (fetches it)."""
        p = self.p
        try:
            meta = self.helm.show_chart(p["chart_ref"], p["chart_repo_url"], p["chart_version"])
        except HelmError as exc:
            raise ChartError(
                "Nothing was changed. "
                + helm_failure("show chart", exc, p["name"], p["release_namespace"])
            ) from None
        return meta.get("name"), str(meta.get("version") or "")

    # -- the run -----------------------------------------------------------------------------
    def execute(self):
        """The result dict (changed, release, msg, command, diff); raises ChartError."""
        self._check_helm()
        self._read_history()
        if self.p["state"] == "absent":
            changed = self.uninstall()
        else:
            if self.last.get("status") in PENDING:
                raise ChartError(
                    pending_message(self.p["name"], self.p["release_namespace"], self.history),
                    release=self._release(self.last),
                )
            changed = self.install_or_upgrade()
        result = {
            "changed": changed,
            "msg": self.msg,
            "release": self._release(self.last),
            "command": self.command,
        }
        if self.diff is not None and changed:
            result["diff"] = self.diff
        return result

    def _deployed_values(self):
        if self.last.get("status") != "deployed":
            return {}
        try:
            return self.helm.get_values()
        except HelmError as exc:
            raise ChartError(
                helm_failure("get values", exc, self.p["name"], self.p["release_namespace"])
            ) from None

    def install_or_upgrade(self):
        p = self.p
        want_values = p["release_values"] or {}
        live_values = self._deployed_values()
        deployed = self.last.get("status") == "deployed"
        name, version = self.desired_chart()
        if version is None:
            name, version = self.resolve_chart()
        live = live_version(self.last.get("chart"), name)
        unchanged = deployed and same_version(live, version) and live_values == want_values
        before = {"chart": self.last.get("chart", ""), "values": live_values} if self.last else None
        after = {"chart": "%s-%s" % (name, version), "values": want_values}
        if self.want_diff:
            self.diff = release_diff(
                "%s revision %s" % (p["name"], self.last.get("revision", 0))
                if self.last
                else "%s (not installed)" % p["name"],
                before,
                "%s %s" % (p["name"], after["chart"]),
                after,
            )
        what = "install" if not self.last else "upgrade"
        target = "%s in %s" % (p["name"], p["release_namespace"])
        if unchanged:
            self.msg = "%s already runs %s with these values (revision %s)." % (
                target,
                self.last.get("chart"),
                self.last.get("revision"),
            )
            return False
        reason = self._reason(live, version, live_values, want_values)
        tmp = tempfile.mkdtemp(prefix="helm-chart-")
        try:
            values_path = os.path.join(tmp, "values.json")
            fd = os.open(values_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(want_values, f)
            if self.check_mode:
                self._render(values_path)
                self.msg = "Would %s %s (%s); the chart renders with these values." % (
                    what,
                    target,
                    reason,
                )
                return True
            self._upgrade(values_path, what)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.msg = "%sed %s (%s): revision %s, %s." % (
            "Install" if what == "install" else "Upgrad",
            target,
            reason,
            self.last.get("revision"),
            self.last.get("status"),
        )
        return True

    def _reason(self, live, version, live_values, want_values):
        if not self.last:
            return "not installed"
        status = self.last.get("status")
        if status != "deployed":
            return "last revision %s is %s" % (self.last.get("revision"), status)
        reasons = []
        if not same_version(live, version):
            reasons.append("chart %s -> %s" % (self.last.get("chart"), version))
        if live_values != want_values:
            keys = sorted(
                k
                for k in set(live_values) | set(want_values)
                if live_values.get(k) != want_values.get(k)
            )
            reasons.append("values differ under %s" % ", ".join(keys))
        return "; ".join(reasons)

    def _render(self, values_path):
        """Check mode: fetch the chart and render it with the values (no cluster object is
        touched), so an unknown chart, an unreachable repository and rejected values fail here."""
        p = self.p
        try:
            self.helm.template(
                p["chart_ref"],
                [values_path],
                repo_url=p["chart_repo_url"],
                version=p["chart_version"],
            )
        except HelmError as exc:
            raise ChartError(
                "Nothing was changed (check mode). "
                + helm_failure("template", exc, p["name"], p["release_namespace"]),
                release=self._release(self.last),
            ) from None

    def _upgrade(self, values_path, what):
        p = self.p
        argv = self.helm.upgrade_argv(
            p["chart_ref"],
            [values_path],
            p["wait_timeout"],
            repo_url=p["chart_repo_url"],
            version=p["chart_version"],
            create_namespace=p["create_namespace"],
            rollback_on_failure=p["rollback_on_failure"],
            wait=p["wait"],
            reset_values=True,
        )
        self.command = [p["binary_path"], *argv]
        try:
            self.helm.run("upgrade", argv)
        except HelmError as exc:
            live = self._read_live()
            # Helm refuses a missing chart or rejected values before it writes a revision.
            wrote = live is None or int(live.get("revision") or 0) != int(
                self.last.get("revision") or 0
            )
            raise ChartError(
                ("" if wrote else "Nothing was changed. ")
                + helm_failure(what, exc, p["name"], p["release_namespace"], live),
                release=self._release(live),
                command=self.command,
                changed=wrote,
            ) from None
        self.last = self._read_live() or {}

    def uninstall(self):
        p = self.p
        target = "%s in %s" % (p["name"], p["release_namespace"])
        if not self.last:
            self.msg = "%s is not installed." % target
            return False
        if self.want_diff:
            self.diff = release_diff(
                "%s revision %s" % (p["name"], self.last.get("revision")),
                {"chart": self.last.get("chart", ""), "values": self._deployed_values()},
                "%s (uninstalled)" % p["name"],
                None,
            )
        if self.check_mode:
            self.msg = "Would uninstall %s (%s, revision %s)." % (
                target,
                self.last.get("chart"),
                self.last.get("revision"),
            )
            return True
        argv = self.helm.uninstall_argv(p["wait_timeout"], wait=p["wait"])
        self.command = [p["binary_path"], *argv]
        try:
            self.helm.run("uninstall", argv)
        except HelmError as exc:
            live = self._read_live()
            raise ChartError(
                helm_failure("uninstall", exc, p["name"], p["release_namespace"], live),
                release=self._release(live),
                command=self.command,
                changed=live != self.last,
            ) from None
        self.msg = "Uninstalled %s (was %s, revision %s)." % (
            target,
            self.last.get("chart"),
            self.last.get("revision"),
        )
        self.last = {}
        return True
