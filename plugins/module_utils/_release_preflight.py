# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight of a release (or rollback): everything it reads and checks before it changes
anything. The inputs; the API server and its Kubernetes version; Helm 4; the namespace, the
app's secrets and the image pull secret; Helm's history; the values, compared with the live
release; the chart packaged and rendered, every object accepted by a server-side dry run, the
Dapr Configurations the pods name, the quota; the images in the registry; Prometheus for the
analysis; for a rollback, the revision to go back to.

Every failure raises `Refused`: its message starts with "Nothing was changed." Release
(_release) runs these, then the phases that change something.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import re
import tempfile

from ansible_collections.hackathon_todo.deploy.plugins.module_utils import (
    _analysis,
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
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._pods import images_of
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._quota import (
    quota_headroom,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._registry import (
    Registry,
    RegistryError,
)

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    HAS_YAML = False


class Refused(Exception):
    """A preflight check failed: nothing was changed."""

    def __init__(self, msg):
        super(Refused, self).__init__("Nothing was changed. " + msg)


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


def secret_values(values, p):
    """The chart values naming the app Secret and the image pull Secret the release checks: the
    app Secret replaces the chart's, the pull Secret joins the values' list if it is not in it."""
    pulls = list((values.get("global") or {}).get("imagePullSecrets") or [])
    if p["pull_secret_name"] not in pulls:
        pulls.append(p["pull_secret_name"])
    return {"secretName": p["secret_name"], "global": {"imagePullSecrets": pulls}}


def refusals(rejected):
    """The objects the API server refused, one entry per reason: "Deployment a, Deployment b:
    <reason>" (its answers name the object first, `Deployment.apps "a" is invalid: `; without
    that, objects refused for the same reason read as one)."""
    reasons = {}
    for obj, exc in rejected:
        meta = obj.get("metadata") or {}
        reason = re.sub(r'^\S+ "[^"]*" is (invalid|forbidden): ', "", exc.message)
        reasons.setdefault(reason, []).append("%s %s" % (obj.get("kind"), meta.get("name")))
    return "; ".join("%s: %s" % (", ".join(names), reason) for reason, names in reasons.items())


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


class Preflight(object):
    """The reads of one run, before it takes the lock (and again under it). `p` are the module's
    parameters; `run` runs a command (rc, out, err). Release extends it with what changes."""

    def __init__(self, p, run, check_mode=False, diff=False, warn=None):
        self.p = p
        self.check_mode = check_mode
        self.want_diff = diff
        self.warn = warn or (lambda msg: None)
        self.run_cmd = run
        self.messages = []
        # what the preflight learns (read again under the lock: read_again_under_lock)
        self.kube = None
        self.kube_version = None
        self.helm = None
        self.secret_checksum = ""
        self.dapr_sasl = ""
        self.history = []
        self.history_read = False  # until then the revisions are unknown, not 0
        self.last = {}
        self.revision_before = 0
        self.app_version_before = ""
        self.chart_meta = {}
        self.overrides = {}
        self.unchanged = False
        self.diff = None
        self.rollback_target = None  # a rollback's, once picked
        # what it prepares for the release
        self.tmp = None
        self.chart_tgz = None
        self.values_path = None
        self.images_after = []
        self.smoke_checks = []
        self.analyzer = None

    def _deployments(self):
        return self.kube.list(
            "/apis/apps/v1/namespaces/%s/deployments" % self.p["namespace"],
            "app.kubernetes.io/instance=%s" % self.p["release_name"],
        )

    def _renew_lock(self):
        """Called between analysis samples (prepare_analysis): Release renews its lock there."""

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
        # Likewise the Secrets the preflight checked are the ones the pods read and pull with.
        self.overrides = merge(self.overrides, secret_values(merge(base, self.overrides), p))
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
        applied = [
            obj
            for obj in rendered
            if "helm.sh/hook" not in ((obj.get("metadata") or {}).get("annotations") or {})
        ]
        rejected = self.kube.dry_run_all(applied, p["namespace"], "helm")
        if rejected:
            raise Refused(
                "The API server rejects %d of the release's %d objects: %s"
                % (len(rejected), len(applied), refusals(rejected)[:1500])
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
        """Every image of the release has its tag in the registry (see _registry.Registry)."""
        p = self.p
        registry = Registry(
            p["registry_url"],
            p["registry_username"],
            p["registry_password"],
            validate_certs=p["registry_validate_certs"],
            ca_path=p.get("registry_ca_path"),
        )
        try:
            registry.check_tag(p["image_repositories"], p["image_tag"])
        except RegistryError as exc:
            raise Refused(str(exc)) from None
        self.messages.append(
            "all %d images exist with tag %s" % (len(p["image_repositories"]), p["image_tag"])
        )

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
