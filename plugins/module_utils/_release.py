# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One release (or rollback) of the app chart to one environment, in one process.

preflight (reads only) -> lock -> recover a pending release -> helm upgrade --rollback-on-failure
--wait=watcher (Helm 4) -> rollout complete -> the host's cert-manager Certificate Ready -> smoke
checks -> analysis of what Prometheus sees (a failure of any rolls back) -> give up the lock ->
report.

Every preflight failure raises `Refused`: its message starts with "Nothing was changed." and
nothing has been written. Later failures leave the previous revision live (Helm's
--rollback-on-failure, or our rollback after a failed verification) and the report says which.

The preflight is _release_preflight's (Preflight, which Release extends); the registry client
_registry's, what the pods say _pods', the report and the release record _release_report's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import datetime
import getpass
import os
import shutil
import socket
import time

from ansible_collections.hackathon_todo.deploy.plugins.module_utils import (
    _certificate,
    _probe,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._helm import HelmError
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kube import (
    KubeError,
    KubeUnreachable,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._lease import (
    LeaseLock,
    LockError,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._pods import (
    PodWatch,
    images_of,
    pods_without_sidecar,
    rollout_incomplete,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._release_preflight import (
    Preflight,
    Refused,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._release_report import (
    ReleaseRecord,
    render_markdown,
    write_files,
)

SUCCESS = ("succeeded", "unchanged", "checked")


class Failed(Exception):
    """The release failed after preflight; the message says what is live now."""


def default_holder():
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = "ansible"
    run = binascii.hexlify(os.urandom(4)).decode()
    return "%s@%s/%s" % (user, socket.gethostname(), run)


class Release(Preflight):
    """One run. `p` are the module's parameters; `run` runs a command (rc, out, err). After the
    preflight (Preflight): the lock, Helm, the verification, the report."""

    def __init__(self, p, run, check_mode=False, diff=False, warn=None):
        super(Release, self).__init__(p, run, check_mode=check_mode, diff=diff, warn=warn)
        self.started = time.monotonic()
        self.t = self.started
        self.phases = {}
        self.lock = None
        self.lock_info = {}
        self.lock_held = False
        self.changed = False
        self.helm_ran = False
        self.outcome = "running"
        self.error = ""
        self.failed_deployments = []
        self.pod_problems = []
        self.recovery = ""
        self.smoke = {"status": "not run", "summary": "", "checks": []}
        self.certificate = {"status": "not run", "summary": ""}
        self.analysis = {"status": "not run", "summary": ""}
        self.revision_after = 0
        self.app_version_after = ""
        self.images_live = None
        self.report = None
        self.markdown = ""

    # -- helpers -----------------------------------------------------------------------------
    def phase(self, name):
        now = time.monotonic()
        self.phases[name] = round(now - self.t, 1)
        self.t = now

    def _note_live(self):
        hist = self.helm.history(1)
        st = hist[-1] if hist else {}
        self.revision_after = int(st.get("revision") or 0)
        self.app_version_after = st.get("app_version") or ""
        return st.get("status") or "not installed"

    # -- the run -----------------------------------------------------------------------------
    def execute(self):
        try:
            self.preflight()
            self.phase("preflight")
            if not self.unchanged:
                self.take_lock()
                self.read_again_under_lock()
            self.recover()
            if self.p["operation"] == "release":
                self.upgrade()
            else:
                self.roll_back()
            self.phase("helm")
            self.verify()
            self.phase("verify")
            if self.outcome == "running":
                self.outcome = "succeeded"
        except (Refused, Failed, LockError) as exc:
            self.outcome = "rolled back" if self.outcome == "rolling back" else "failed"
            self.error = self.error or getattr(exc, "msg", None) or str(exc)
        except HelmError as exc:
            self.outcome = "failed"
            self.error = str(exc)
        except (KubeError, KubeUnreachable) as exc:
            self.outcome = "failed"
            self.error = "the Kubernetes API server: %s" % exc
        finally:
            self.give_up_lock()
            if self.tmp:
                shutil.rmtree(self.tmp, ignore_errors=True)
        self.write_report()
        return self.report

    # -- 2. lock and recovery ----------------------------------------------------------------
    def take_lock(self):
        p = self.p
        purpose = "%s %s of %s" % (
            p["operation"],
            p["image_tag"]
            if p["operation"] == "release"
            else (p["rollback_revision"] or "previous"),
            p["release_name"],
        )
        self.lock = LeaseLock(
            self.kube,
            p["namespace"],
            p["lock_name"],
            p["lock_holder"] or default_holder(),
            ttl=p["lock_ttl"],
            purpose=purpose,
        )
        self.lock_info = self.lock.acquire(p["lock_wait"], p["lock_poll_interval"], self.check_mode)
        self.lock_held = self.lock_info["held"] and not self.check_mode
        if self.lock_info.get("took_over"):
            self.messages.append(
                "Took over the release lock from %s: it was not renewed within its TTL (%s s), so "
                "that run is gone." % (self.lock_info["previous_holder"], p["lock_ttl"])
            )
        if self.check_mode and self.lock_info.get("msg"):
            self.messages.append(self.lock_info["msg"])

    def read_again_under_lock(self):
        """What preflight read before the lock may be stale: another run may have held the lock
        (and changed the release, or been mid-upgrade: pending-*) while this one waited. Read the
        history again, and decide again what to do."""
        if self.check_mode:
            return
        self.read_history()
        if self.p["operation"] == "release":
            self.compare()
        else:
            self.pick_rollback_target()

    def give_up_lock(self):
        if not self.lock_held:
            return
        try:
            self.lock.release()
            self.lock_held = False
        except LockError as exc:
            self.warn("could not give up the release lock (it expires after its TTL): %s" % exc.msg)
        for w in self.lock.warnings:
            self.warn(w)

    def _renew_lock(self):
        """Between analysis samples: the lock outlives the analysis, however long it is."""
        if self.lock_held:
            self.lock.renew()

    def recover(self):
        """A Helm client killed mid-operation leaves pending-*: roll back, or uninstall."""
        status = self.last.get("status") or ""
        if not status.startswith("pending-"):
            return
        p = self.p
        last_rev = int(self.last.get("revision") or 0)
        to = max(
            [
                int(h["revision"])
                for h in self.history
                if h.get("status") in ("deployed", "superseded") and int(h["revision"]) != last_rev
            ]
            + [0]
        )
        self.recovery = "%s revision %s → %s" % (
            status,
            last_rev,
            ("rollback to %s" % to) if to else "uninstall",
        )
        self.messages.append(
            "%s was left %s at revision %s (a killed Helm client); %s%s."
            % (
                p["release_name"],
                status,
                last_rev,
                ("rolled back to revision %s" % to)
                if to
                else "it had never been deployed, so it was uninstalled",
                " (check mode: would be)" if self.check_mode else "",
            )
        )
        if self.check_mode:
            return
        self.changed = True
        if to:
            self.helm.rollback(to, p["helm_timeout"], p["history_max"])
        else:
            self.helm.uninstall(p["helm_timeout"])

    # -- 3. Helm -----------------------------------------------------------------------------
    def upgrade(self):
        p = self.p
        if self.unchanged:
            self.outcome = "unchanged"
            self.messages.append(
                "Nothing to do: %s already runs %s with these values."
                % (p["release_name"], p["image_tag"])
            )
            return
        if self.check_mode:
            self.outcome = "checked"
            self.changed = True
            self.messages.append(
                "Would upgrade %s in %s from %s to %s (the API server accepted every object in a "
                "dry run)."
                % (
                    p["release_name"],
                    p["namespace"],
                    self.app_version_before or "nothing",
                    p["image_tag"],
                )
            )
            return
        self.changed = self.helm_ran = True
        watch = PodWatch(
            self.kube, p["namespace"], "app.kubernetes.io/instance=%s" % p["release_name"]
        )
        try:
            with watch:
                self.helm.upgrade(
                    self.chart_tgz,
                    [p["values_file"], self.values_path],
                    p["helm_timeout"],
                    p["history_max"],
                )
        except HelmError as exc:
            self.failed_deployments = exc.not_ready()
            self.pod_problems = watch.summary()
            try:
                status = self._note_live()
                live = "now revision %s, status %s" % (self.revision_after, status)
            except HelmError as unread:  # what failed is the upgrade: say that, and this too
                live = "the live revision could not be read: %s" % unread
            raise Failed(
                "helm upgrade failed and --rollback-on-failure rolled %s back to the previous revision "
                "(%s). %s%sHelm said: %s"
                % (
                    p["release_name"],
                    live,
                    (
                        "Deployments that never became ready: %s. "
                        % ", ".join(self.failed_deployments)
                    )
                    if self.failed_deployments
                    else "",
                    ("Their pods: %s. " % "; ".join(self.pod_problems))
                    if self.pod_problems
                    else "",
                    exc.errors() or exc.err.strip()[-800:],
                )
            ) from None
        self._note_live()

    def roll_back(self):
        p = self.p
        if self.check_mode:
            self.outcome = "checked"
            self.changed = True
            self.messages.append(
                "Would roll %s in %s back from revision %s to revision %s."
                % (p["release_name"], p["namespace"], self.revision_before, self.rollback_target)
            )
            return
        self.changed = self.helm_ran = True
        self.helm.rollback(self.rollback_target, p["helm_timeout"], p["history_max"])
        self._note_live()

    # -- 4. verify and smoke -----------------------------------------------------------------
    def verify(self):
        p = self.p
        # After Helm, and on a no-op too (an HPA may be scaling): wait up to rollout_timeout.
        # Check mode looks once.
        deadline = time.monotonic() + (0 if self.check_mode else p["rollout_timeout"])
        while True:
            deployments = self._deployments()
            incomplete = rollout_incomplete(deployments)
            if not incomplete or time.monotonic() >= deadline:
                break
            time.sleep(1)
        self.images_live = images_of(deployments)
        if incomplete and not (self.check_mode and self.revision_before == 0):
            raise Failed(
                "The rollout of %s in %s is not complete (updated, ready and available replicas "
                "must all equal the desired count, with no old pods left)."
                % (", ".join(incomplete), p["namespace"])
            )
        if deployments:
            self.messages.append("%d Deployments rolled out completely" % len(deployments))
        self.sidecar_check()
        self.certificate_check()
        self.smoke_test()
        self.analyze()

    def sidecar_check(self):
        """Every pod that asks for Dapr runs its sidecar (see pods_without_sidecar)."""
        p = self.p
        if not p.get("dapr_sidecar_check", True) or self.check_mode:
            return
        pods = self.kube.list(
            "/api/v1/namespaces/%s/pods" % p["namespace"],
            "app.kubernetes.io/instance=%s" % p["release_name"],
        )
        missing = pods_without_sidecar(pods)
        if not missing:
            return
        self._verification_failed(
            "%d pods run without the Dapr sidecar they ask for (dapr.io/enabled): %s. Dapr's "
            "sidecar injector did not answer when they were created (its webhook fails open); "
            "check dapr-system/dapr-sidecar-injector, then recreate them with `kubectl -n %s "
            "rollout restart deployment -l app.kubernetes.io/instance=%s`"
            % (len(missing), ", ".join(missing), p["namespace"], p["release_name"])
        )

    def certificate_check(self):
        """cert-manager's Certificate for the host: Ready=True and not expiring soon."""
        c = self.p["certificate"]
        if not c["enabled"]:
            self.certificate = {"status": "skipped", "summary": c["skip_reason"]}
            return
        if self.check_mode:
            self.certificate = {"status": "skipped", "summary": "check mode"}
            return
        try:
            verdict = _certificate.wait_ready(
                self.kube,
                self.p["namespace"],
                c["host"],
                c["min_days"],
                c["deadline"],
                secret_name=c.get("secret_name") or None,
            )
        except _certificate.CertificateAPIMissing as exc:
            verdict = {"ready": False, "problem": str(exc)}
        if verdict["ready"]:
            self.certificate = {
                "status": "passed",
                "summary": "%s/%s is Ready, expires %s (%d days)"
                % (
                    self.p["namespace"],
                    verdict["name"],
                    verdict["not_after"],
                    verdict["days_left"],
                ),
            }
            return
        self.certificate = {"status": "failed", "summary": verdict["problem"]}
        self._verification_failed("the certificate is not ready (%s)" % verdict["problem"])

    def _verification_failed(self, why):
        """After Helm: roll a release back to the revision before it (the runbook's contract: a
        release that fails its verification leaves the previous one live) and fail."""
        p = self.p
        rolled = ""
        if p["operation"] == "release" and self.helm_ran and self.revision_before > 0:
            self.outcome = "rolling back"
            self.helm.rollback(self.revision_before, p["helm_timeout"], p["history_max"])
            self._note_live()
            rolled = "; rolled back to revision %s (now revision %s)" % (
                self.revision_before,
                self.revision_after,
            )
        raise Failed(why + rolled)

    def smoke_test(self):
        p = self.p
        if not p["smoke"]["enabled"]:
            self.smoke = {"status": "skipped", "summary": p["smoke"]["skip_reason"], "checks": []}
            return
        if self.check_mode:
            self.smoke = {"status": "skipped", "summary": "check mode", "checks": []}
            return
        results, seconds = _probe.run_checks(self.smoke_checks, p["smoke"].get("concurrency") or 8)
        summary, failure = _probe.summarize(results, seconds)
        keep = ("name", "url", "passed", "status", "error")
        self.smoke = {
            "status": "failed" if failure else "passed",
            "summary": failure or summary,
            "checks": [dict((k, r.get(k)) for k in keep) for r in results],
        }
        if failure:
            self._verification_failed("the smoke checks failed (%s)" % failure)

    def analyze(self):
        """Sample the analysis queries; a breach (or, with on_inconclusive=rollback, no verdict)
        rolls the release back like a failed smoke check. A dry run only reports."""
        a = self.p.get("analysis") or {}
        skip = None
        if not a.get("enabled"):
            skip = a.get("skip_reason") or "analysis is off"
        elif self.p["operation"] != "release":
            skip = "a rollback is not analysed (it restores a revision that ran before)"
        elif self.check_mode:
            skip = "check mode"
        elif self.unchanged:
            skip = "no-op release: nothing new to analyse"
        if skip:
            self.analysis = {"status": "skipped", "summary": skip}
            return
        self.analysis = self.analyzer.run()
        status = self.analysis["status"]
        if status == "passed":
            return
        if a["dry_run"]:
            self.messages.append(
                "Analysis (dry run) %s; a release would have %s: %s"
                % (
                    status,
                    "been rolled back"
                    if status == "failed" or a["on_inconclusive"] == "rollback"
                    else "failed",
                    self.analysis["summary"],
                )
            )
            return
        if status == "failed" or a["on_inconclusive"] == "rollback":
            self._verification_failed(
                "the release analysis %s (%s)" % (status, self.analysis["summary"])
            )
        raise Failed(
            "the release analysis was inconclusive (%s); revision %s stays live "
            "(on_inconclusive=fail): look at it, then run rollback.yml if it is not healthy"
            % (self.analysis["summary"], self.revision_after)
        )

    # -- 5. report ---------------------------------------------------------------------------
    def write_report(self):
        p = self.p
        self.phases["total"] = round(time.monotonic() - self.started, 1)
        release = p["operation"] == "release"
        chart = self.chart_meta and "%s-%s" % (
            self.chart_meta.get("name"),
            self.chart_meta.get("version"),
        )
        if not chart:
            live = (
                self.last
                if release
                else next(
                    (h for h in self.history if int(h["revision"]) == self.rollback_target),
                    self.last,
                )
            )
            chart = live.get("chart") or "hackathon-todo-?"
        after = self.revision_after or self.revision_before
        r = {
            "environment": p["environment"],
            "namespace": p["namespace"],
            "release": p["release_name"],
            "operation": p["operation"],
            "outcome": self.outcome,
            "error": (self.error or "").strip(),
            "check_mode": self.check_mode,
            "chart": chart,
            "app_version_before": self.app_version_before,
            "app_version": p["image_tag"] if release else self.app_version_after,
            "app_version_live": self.app_version_after or self.app_version_before,
            # None: refused before Helm's history was read (nothing is known of the live one)
            "revision_before": self.revision_before if self.history_read else None,
            "revision_after": after if self.history_read or self.revision_after else None,
            "images": self.images_live if self.images_live is not None else self.images_after,
            "failed_deployments": self.failed_deployments,
            "pod_problems": self.pod_problems,
            "recovery": self.recovery,
            "lock": {
                "holder": self.lock.holder if self.lock else "",
                "took_over_from": self.lock_info.get("previous_holder", "")
                if self.lock_info.get("took_over")
                else "",
                "waited_s": self.lock_info.get("waited", 0),
            },
            "certificate": self.certificate,
            "smoke": self.smoke,
            "analysis": self.analysis,
            "messages": self.messages,
            "durations_s": self.phases,
            "finished_at": datetime.datetime.now(datetime.timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
        }
        self.report = r
        self.markdown = render_markdown(r)
        # A report is output, not state: written in check mode too.
        write_files(r, self.markdown, p["report_path"], p["github_step_summary"])
        if p["record_in_cluster"] and self.helm_ran and after > 0 and self.kube:
            self.keep_record(after)

    def keep_record(self, revision):
        """A ConfigMap per revision; records of revisions Helm no longer keeps are pruned."""
        p = self.p
        record = ReleaseRecord(self.kube, p["namespace"], p["release_name"])
        try:
            record.write(revision, self.outcome, self.report, self.markdown)
            record.prune(set(int(h["revision"]) for h in self.helm.history(p["history_max"] + 5)))
        except (KubeError, KubeUnreachable, HelmError) as exc:
            self.warn(
                "could not keep the release record %s/%s: %s"
                % (p["namespace"], record.name(revision), exc)
            )
