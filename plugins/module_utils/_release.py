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
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import concurrent.futures
import contextlib
import datetime
import getpass
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time

from urllib.error import HTTPError
from urllib.parse import quote
from ansible.module_utils.urls import open_url
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import (
    _analysis,
    _certificate,
    _smoke,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._helm import (
    Helm,
    HelmError,
    merge,
    release_diff,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kube import (
    Kube,
    KubeError,
    KubeUnreachable,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._lease import (
    LeaseLock,
    LockError,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._quota import (
    quota_headroom,
)

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    HAS_YAML = False

SUCCESS = ("succeeded", "unchanged", "checked")
RECORD_LABEL = "hackathon-todo.dev/release-record"
MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


class Refused(Exception):
    """A preflight check failed: nothing was changed."""

    def __init__(self, msg):
        super(Refused, self).__init__("Nothing was changed. " + msg)


class Failed(Exception):
    """The release failed after preflight; the message says what is live now."""


def secret_digest(data):
    """Digest of a Secret's data: a changed secret changes the pod template, so pods roll."""
    return hashlib.sha256(json.dumps(data or {}, sort_keys=True).encode()).hexdigest()


def check_inputs(p):
    """The inputs a release needs, before anything is read: (error message or None)."""
    env = p["environment"]
    if p["environments"] and env not in p["environments"]:
        return "unknown environment %s: expected one of %s" % (
            json.dumps(env),
            ", ".join(p["environments"]),
        )
    analysis = p.get("analysis") or {}
    if analysis.get("enabled"):
        problem = _analysis.check_options(analysis)
        if problem:
            return problem
    cert = p.get("certificate") or {}
    if cert.get("enabled"):
        if not (cert.get("host") or "").strip():
            return (
                "certificate.enabled needs certificate.host, the host whose cert-manager "
                "Certificate must be Ready (the app's ingress host)"
            )
        for key in ("min_days", "deadline"):
            if (cert.get(key) or 0) < 0:
                return "certificate.%s must be 0 or more, not %s" % (key, cert[key])
    if p["operation"] == "rollback":
        if p["rollback_revision"] < 0:
            return "revision must be a number >= 0, got %s" % p["rollback_revision"]
        return None
    tag = p["image_tag"] or ""
    if not tag:
        return "no image tag: run with -e image_tag=<tag> (for example v1.2.0 or sha-1a2b3c4)"
    if p["require_immutable_tag"] and not re.match(p["immutable_tag_pattern"], tag):
        return (
            "malformed image tag %s: production takes only immutable tags (vX.Y.Z[-pre] or "
            "sha-<commit>)" % json.dumps(tag)
        )
    if not re.match(p["tag_pattern"], tag) or tag == "latest":
        return (
            'malformed image tag %s: a tag is 1-128 characters of letters, digits, _ . - and not "latest"'
            % json.dumps(tag)
        )
    return None


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


def dapr_configs_to_find(rendered):
    """Dapr Configurations the rendered pods name (dapr.io/config) that the release itself does
    not bring: they must already be in the namespace, or every sidecar fails to start."""
    brought = set(o["metadata"]["name"] for o in rendered if o.get("kind") == "Configuration")
    named = set()
    for obj in rendered:
        if obj.get("kind") not in ("Deployment", "StatefulSet", "DaemonSet"):
            continue
        meta = ((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}
        notes = meta.get("annotations") or {}
        if str(notes.get("dapr.io/enabled", "")).lower() == "true" and notes.get("dapr.io/config"):
            named.add(notes["dapr.io/config"])
    return sorted(named - brought)


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


def default_holder():
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = "ansible"
    run = binascii.hexlify(os.urandom(4)).decode()
    return "%s@%s/%s" % (user, socket.gethostname(), run)


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
        lines.append(
            "| analysis | %s%s |"
            % (
                analysis["status"] + (" (dry run)" if analysis.get("dry_run") else ""),
                (": " + analysis["summary"]) if analysis.get("summary") else "",
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


class Release(object):
    """One run. `p` are the module's parameters; `run` runs a command (rc, out, err)."""

    def __init__(self, p, run, check_mode=False, diff=False, warn=None):
        self.p = p
        self.check_mode = check_mode
        self.want_diff = diff
        self.warn = warn or (lambda msg: None)
        self.run_cmd = run
        self.started = time.monotonic()
        self.t = self.started
        self.phases = {}
        self.kube = None
        self.helm = None
        self.lock = None
        self.lock_info = {}
        self.lock_held = False
        self.tmp = None
        self.changed = False
        self.helm_ran = False
        self.outcome = "running"
        self.error = ""
        self.failed_deployments = []
        self.pod_problems = []
        self.recovery = ""
        self.smoke = {"status": "not run", "summary": "", "checks": []}
        self.smoke_checks = []
        self.certificate = {"status": "not run", "summary": ""}
        self.analysis = {"status": "not run", "summary": ""}
        self.analyzer = None
        self.history = []
        self.history_read = False  # until then the revisions are unknown, not 0
        self.last = {}
        self.revision_before = 0
        self.revision_after = 0
        self.app_version_before = ""
        self.app_version_after = ""
        self.chart_meta = {}
        self.images_after = []
        self.images_live = None
        self.unchanged = False
        self.diff = None
        self.messages = []
        self.report = None

    # -- helpers -----------------------------------------------------------------------------
    def phase(self, name):
        now = time.monotonic()
        self.phases[name] = round(now - self.t, 1)
        self.t = now

    def _deployments(self):
        return self.kube.list(
            "/apis/apps/v1/namespaces/%s/deployments" % self.p["namespace"],
            "app.kubernetes.io/instance=%s" % self.p["release_name"],
        )

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

    # -- 1. preflight ------------------------------------------------------------------------
    def preflight(self):
        p = self.p
        problem = check_inputs(p)
        if problem:
            raise Refused(problem)
        if p["smoke"]["enabled"]:
            try:
                self.smoke_checks = _smoke.resolve_checks(
                    p["smoke"]["checks"], p["smoke"].get("defaults") or {}
                )
            except _smoke.SmokeConfigError as exc:
                raise Refused("the smoke checks are misconfigured: %s" % exc) from None

        try:
            self.kube = Kube(p["kubeconfig"], p["context"])
            version = self.kube.version()
        except (KubeUnreachable, KubeError) as exc:
            raise Refused(
                "cannot reach the Kubernetes API server with %s: %s"
                % (p["kubeconfig"] or "the default kubeconfig", str(exc)[:300])
            ) from None
        minor = "%s.%s" % (version.get("major"), re.sub(r"\D", "", version.get("minor") or ""))
        if p["supported_minors"] and minor not in p["supported_minors"]:
            raise Refused(
                "the cluster runs Kubernetes %s; supported: %s"
                % (version.get("gitVersion"), ", ".join(p["supported_minors"]))
            )
        self.kube_version = version.get("gitVersion")
        self.helm = Helm(
            self.run_cmd,
            p["release_name"],
            p["namespace"],
            p["kubeconfig"],
            p["context"],
            p["helm_binary"],
        )
        helm_version, major = self.helm.version()
        if major < 4:
            raise Refused(
                "%s is Helm %s; this module runs Helm 4 (--rollback-on-failure, --wait=watcher): "
                "install Helm 4 (testbed/versions.env HELM_VERSION) or point helm_binary at it"
                % (p["helm_binary"], helm_version or "of an unknown version")
            )
        self.check_namespace_and_secrets()
        self.read_history()
        if p["operation"] == "release":
            self.compare()
            if not self.unchanged:
                self.render_and_dry_run()
                if p["registry_username"]:
                    self.check_images()
                self.prepare_analysis()
        else:
            self.pick_rollback_target()

    def check_namespace_and_secrets(self):
        p, ns = self.p, self.p["namespace"]
        if self.kube.get("/api/v1/namespaces/%s" % ns) is None:
            raise Refused(
                "namespace %s does not exist: run bootstrap.yml for this environment first" % ns
            )
        secret = self.kube.get("/api/v1/namespaces/%s/secrets/%s" % (ns, p["secret_name"]))
        if secret is None:
            raise Refused(
                "secret %s is missing in %s: run bootstrap.yml (role redpanda_secrets)"
                % (p["secret_name"], ns)
            )
        data = secret.get("data") or {}
        missing = [k for k in p["secret_keys"] if k not in data]
        if missing:
            raise Refused(
                "secret %s/%s lacks the keys %s the chart reads; set them in the vault vars and run "
                "bootstrap.yml" % (ns, p["secret_name"], ", ".join(missing))
            )
        empty = sorted(k for k, v in data.items() if v == "")
        if empty:
            raise Refused(
                "secret %s/%s has empty values for %s" % (ns, p["secret_name"], ", ".join(empty))
            )
        pull = self.kube.get("/api/v1/namespaces/%s/secrets/%s" % (ns, p["pull_secret_name"]))
        if (
            not pull
            or pull.get("type") != "kubernetes.io/dockerconfigjson"
            or ".dockerconfigjson" not in (pull.get("data") or {})
        ):
            raise Refused(
                "image pull secret %s/%s is missing or not of type kubernetes.io/dockerconfigjson"
                % (ns, p["pull_secret_name"])
            )
        self.secret_checksum = secret_digest(data)
        mech = base64.b64decode(data.get("REDPANDA_SASL_MECHANISM") or "").decode()
        # Dapr spells the SCRAM hash SHA-256 / SHA-512 (anything else means PLAIN to it).
        self.dapr_sasl = re.sub(r"^SCRAM-", "", mech)

    def read_history(self):
        self.history = self.helm.history(20)
        self.history_read = True
        deployed = [h for h in self.history if h.get("status") == "deployed"]
        self.revision_before = max([int(h["revision"]) for h in deployed] + [0])
        self.app_version_before = deployed[-1].get("app_version", "") if deployed else ""
        self.last = self.history[-1] if self.history else {}

    def compare(self):
        p = self.p
        with open(os.path.join(p["chart_dir"], "Chart.yaml")) as f:
            self.chart_meta = yaml.safe_load(f) or {}
        try:
            with open(p["values_file"]) as f:
                base = yaml.safe_load(f) or {}
        except (IOError, OSError) as exc:
            raise Refused("cannot read the values file %s: %s" % (p["values_file"], exc)) from None
        self.overrides = merge(
            p["values"],
            {
                "secretChecksum": self.secret_checksum,
                "dapr": {"pubsub": {"saslMechanism": self.dapr_sasl}},
            },
        )
        self.overrides = merge(self.overrides, p["extra_values"])
        # The one way the tag reaches the images: the chart's appVersion is the tag too (packaged
        # with --app-version), so no value may set another one.
        self.overrides = merge(self.overrides, {"global": {"imageTag": p["image_tag"]}})
        desired = merge(base, self.overrides)
        chart = "%s-%s" % (self.chart_meta.get("name"), self.chart_meta.get("version"))
        live_values = {}
        if self.last.get("status") == "deployed":
            live_values = self.helm.get_values()
            self.unchanged = (
                self.last.get("chart") == chart
                and self.last.get("app_version") == p["image_tag"]
                and live_values == desired
            )
        if self.want_diff:
            self.diff = release_diff(
                "%s revision %s" % (p["release_name"], self.revision_before),
                {
                    "chart": self.last.get("chart", ""),
                    "app_version": self.last.get("app_version", ""),
                    "values": live_values,
                },
                "%s %s" % (p["release_name"], p["image_tag"]),
                {"chart": chart, "app_version": p["image_tag"], "values": desired},
            )

    def render_and_dry_run(self):
        """Package (appVersion = tag), render, server-side dry run, quota."""
        p = self.p
        self.tmp = tempfile.mkdtemp(prefix="app-release-")
        self.chart_tgz = self.helm.package(p["chart_dir"], p["image_tag"], self.tmp)
        self.values_path = os.path.join(self.tmp, "release-values.yaml")
        fd = os.open(self.values_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(self.overrides, f, default_flow_style=False)
        try:
            out = self.helm.template(
                self.chart_tgz, [p["values_file"], self.values_path], self.kube_version
            )
        except HelmError as exc:
            raise Refused(
                "The chart does not render with %s: %s"
                % (os.path.basename(p["values_file"]), exc.err.strip()[-1500:])
            ) from None
        rendered = [d for d in yaml.safe_load_all(out) if isinstance(d, dict)]
        rejected = []
        for obj in rendered:
            if "helm.sh/hook" in ((obj.get("metadata") or {}).get("annotations") or {}):
                continue
            try:
                self.kube.apply(obj, p["namespace"], "helm", dry_run=True)
            except KubeError as exc:
                rejected.append(
                    "%s %s: %s" % (obj.get("kind"), obj["metadata"].get("name"), exc.message)
                )
        if rejected:
            raise Refused(
                "The API server rejects the release's objects: %s" % "; ".join(rejected)[:1500]
            )
        ns = p["namespace"]
        for name in dapr_configs_to_find(rendered):
            path = "/apis/dapr.io/v1alpha1/namespaces/%s/configurations/%s" % (ns, name)
            if self.kube.get(path) is None:
                raise Refused(
                    "the pods name the Dapr Configuration %s (dapr.io/config), which %s lacks: "
                    "run bootstrap.yml for this environment (platform role) or set "
                    "dapr.configuration in the values" % (name, ns)
                )
        pods = self.kube.list(
            "/api/v1/namespaces/%s/pods" % ns, "app.kubernetes.io/instance=%s" % p["release_name"]
        )
        live = dict(
            (d["metadata"]["name"], (d.get("spec") or {}).get("replicas"))
            for d in self._deployments()
        )
        quotas = self.kube.list("/api/v1/namespaces/%s/resourcequotas" % ns)
        quota = next((q for q in quotas if q["metadata"]["name"] == p["quota_name"]), {})
        room = quota_headroom(rendered, quota, pods, live_replicas=live, surge=p["surge"])
        if not room["fits"]:
            raise Refused(room["msg"])
        self.messages.append(room["msg"])
        self.images_after = images_of(rendered)

    def check_images(self):
        """OCI distribution API: HEAD /v2/<repo>/manifests/<tag>. Registries answer /v2/ with a
        Bearer challenge (GHCR: a token per repository from the realm) or a Basic one (CNCF
        Distribution with htpasswd: the credentials on every request)."""
        p = self.p
        url = p["registry_url"].rstrip("/")
        repos = p["image_repositories"]
        creds = (p["registry_username"], p["registry_password"])
        tls = dict(validate_certs=p["registry_validate_certs"])
        if p.get("registry_ca_path"):
            tls["ca_path"] = p["registry_ca_path"]

        def call(target, method="GET", headers=None, auth=None):
            kw = dict(method=method, headers=headers or {}, timeout=30, **tls)
            if auth:
                kw.update(url_username=auth[0], url_password=auth[1], force_basic_auth=True)
            try:
                resp = open_url(target, **kw)
                return resp.getcode(), resp.headers, resp.read()
            except HTTPError as exc:
                return exc.code, exc.headers, b""
            except Exception as exc:  # refused, DNS, TLS
                raise Refused("cannot reach the registry %s: %s" % (url, exc)) from None

        def refused_credentials(codes):
            return Refused(
                "The registry %s refused the credentials of %s (HTTP %s): check "
                "vault_registry_username / vault_registry_password (a token with read:packages)."
                % (url, p["registry_username"], ", ".join(codes))
            )

        status, headers, _body = call(url + "/v2/")
        tokens = dict((r, None) for r in repos)
        basic = None
        if status == 401:
            challenge = (headers or {}).get("WWW-Authenticate", "")
            if challenge.split(" ", 1)[0].lower() == "basic":
                code = call(url + "/v2/", auth=creds)[0]
                if code != 200:
                    raise refused_credentials([str(code)])
                basic = creds
            else:
                tokens = self._registry_tokens(
                    call, url, challenge, repos, creds, refused_credentials
                )
        elif status != 200:
            raise Refused("the registry %s answered HTTP %s to /v2/" % (url, status))

        def head(repo):
            hdrs = {"Accept": MANIFEST_ACCEPT}
            if tokens[repo]:
                hdrs["Authorization"] = "Bearer " + tokens[repo]
            code = call(
                "%s/v2/%s/manifests/%s" % (url, repo, p["image_tag"]),
                method="HEAD",
                headers=hdrs,
                auth=basic,
            )[0]
            return code

        with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
            codes = dict((r, res) for r, res in zip(repos, list(pool.map(head, repos))))  # noqa: B905
        missing = [r for r in repos if codes[r] == 404]
        other = sorted("%s (HTTP %s)" % (r, c) for r, c in codes.items() if c not in (200, 404))
        if missing:
            raise Refused(
                "%s has no tag %s for %s: build and push them first, or check the tag."
                % (url, p["image_tag"], ", ".join(missing))
            )
        if other:
            raise Refused("%s did not answer for %s" % (url, ", ".join(other)))
        self.messages.append("all %d images exist with tag %s" % (len(repos), p["image_tag"]))

    @staticmethod
    def _registry_tokens(call, url, challenge, repos, creds, refused_credentials):
        """A pull token per repository from the Bearer challenge's realm."""
        realm = re.search(r'realm="([^"]+)"', challenge)
        service = re.search(r'service="([^"]+)"', challenge)
        if not realm:
            raise Refused("the registry %s asks for authentication it does not name" % url)

        def token(repo):
            target = "%s?service=%s&scope=%s" % (
                realm.group(1),
                quote(service.group(1) if service else "", safe=""),
                quote("repository:%s:pull" % repo, safe=""),
            )
            code, _h, body = call(target, auth=creds)
            if code != 200:
                return code, None
            doc = json.loads(body or b"{}")
            return code, doc.get("token") or doc.get("access_token")

        with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
            got = dict((r, res) for r, res in zip(repos, list(pool.map(token, repos))))  # noqa: B905
        refused = sorted(set(str(code) for code, _tok in got.values() if code != 200))
        if refused:
            raise refused_credentials(refused)
        return dict((r, tok) for r, (_code, tok) in got.items())

    def prepare_analysis(self):
        """With analysis on: Prometheus answers and accepts every query, before anything changes.
        A dry run only warns when Prometheus cannot be reached (it measures what it can)."""
        a = self.p.get("analysis") or {}
        if not a.get("enabled"):
            return
        if a.get("service"):
            get = _analysis.service_transport(self.kube, a["service"])
        else:
            headers = dict(a.get("headers") or {})
            if a.get("bearer_token"):
                headers["Authorization"] = "Bearer %s" % a["bearer_token"]
            get = _analysis.url_transport(
                a["url"], headers, a["validate_certs"], a.get("ca_path"), a["timeout"]
            )
        variables = {"namespace": self.p["namespace"], "release": self.p["release_name"]}
        self.analyzer = _analysis.Analysis(a, get, variables, between=self._renew_lock)
        try:
            self.analyzer.validate()
        except _analysis.PrometheusError as exc:
            if exc.kind == "query":
                raise Refused("%s: fix analysis.queries" % exc) from None
            if not a["dry_run"]:
                raise Refused(
                    "the release analysis cannot reach Prometheus at %s (%s): fix analysis.url or "
                    "analysis.service, or release without analysis" % (get.where, exc)
                ) from None
            self.warn("analysis (dry run): Prometheus does not answer yet: %s" % exc)

    def _renew_lock(self):
        """Between analysis samples: the lock outlives the analysis, however long it is."""
        if self.lock_held:
            self.lock.renew()

    def pick_rollback_target(self):
        p = self.p
        kept = [int(h["revision"]) for h in self.history]
        target = p["rollback_revision"] or max(
            [
                int(h["revision"])
                for h in self.history
                if h.get("status") in ("superseded", "deployed")
                and int(h["revision"]) < self.revision_before
            ]
            + [0]
        )
        if self.revision_before == 0:
            raise Refused(
                "%s in %s has no deployed revision." % (p["release_name"], p["namespace"])
            )
        if target <= 0 or target not in kept or target == self.revision_before:
            raise Refused(
                "%s in %s has no revision %s to roll back to; kept revisions: %s (live: %s)."
                % (
                    p["release_name"],
                    p["namespace"],
                    target,
                    ", ".join(str(k) for k in kept),
                    self.revision_before,
                )
            )
        self.rollback_target = target
        for h in self.history:
            if int(h["revision"]) == target:
                self.chart_name = h.get("chart", "")

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
            status = self._note_live()
            raise Failed(
                "helm upgrade failed and --rollback-on-failure rolled %s back to the previous revision "
                "(now revision %s, status %s). %s%sHelm said: %s"
                % (
                    p["release_name"],
                    self.revision_after,
                    status,
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
        results, seconds = _smoke.run_checks(self.smoke_checks, p["smoke"].get("concurrency") or 8)
        summary, failure = _smoke.summarize(results, seconds)
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
                    (
                        h
                        for h in self.history
                        if int(h["revision"]) == getattr(self, "rollback_target", -1)
                    ),
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
        if p["report_path"]:
            # A report is output, not state: written in check mode too.
            d = os.path.dirname(p["report_path"])
            if d and not os.path.isdir(d):
                os.makedirs(d)
            with open(p["report_path"] + ".json", "w") as f:
                f.write(json.dumps(r, indent=4, sort_keys=True) + "\n")
            with open(p["report_path"] + ".md", "w") as f:
                f.write(self.markdown)
        if p["github_step_summary"]:
            with open(p["github_step_summary"], "a") as f:
                f.write(self.markdown + "\n")
        if p["record_in_cluster"] and self.helm_ran and after > 0 and self.kube:
            self.keep_record(after)

    def keep_record(self, revision):
        """A ConfigMap per revision; records of revisions Helm no longer keeps are pruned."""
        p, ns = self.p, self.p["namespace"]
        name = "%s-record-%s" % (p["release_name"], revision)
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": {
                    "app.kubernetes.io/managed-by": "hackathon_todo.deploy",
                    "app.kubernetes.io/instance": p["release_name"],
                    RECORD_LABEL: "true",
                    "hackathon-todo.dev/outcome": self.outcome.replace(" ", "-"),
                },
            },
            "data": {
                "report.json": json.dumps(self.report, indent=4, sort_keys=True),
                "report.md": self.markdown,
            },
        }
        try:
            self.kube.apply(body, ns, "hackathon_todo.deploy")
            kept = set(int(h["revision"]) for h in self.helm.history(p["history_max"] + 5))
            prefix = "%s-record-" % p["release_name"]
            for cm in self.kube.list(
                "/api/v1/namespaces/%s/configmaps" % ns,
                "%s=true,app.kubernetes.io/instance=%s" % (RECORD_LABEL, p["release_name"]),
            ):
                tail = cm["metadata"]["name"][len(prefix) :]
                if tail.isdigit() and int(tail) not in kept:
                    self.kube.delete(
                        "/api/v1/namespaces/%s/configmaps/%s" % (ns, cm["metadata"]["name"])
                    )
        except (KubeError, KubeUnreachable, HelmError) as exc:
            self.warn("could not keep the release record %s/%s: %s" % (ns, name, exc))
