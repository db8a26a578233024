#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: helm_release
short_description: Release the app chart to one environment, or leave it exactly as it was
version_added: 0.1.0
description:
  - One release (O(operation=release)) or rollback (O(operation=rollback)) of the hackathon-todo
    chart to one environment, in one process, in this order.
  - >-
      B(Preflight), reads only; any failure ends the run with a message that starts with
      C(Nothing was changed.) and says what to fix. The inputs (environment, tag); the cluster
      answers and runs a supported Kubernetes minor; the namespace, O(secret_name) with every key in
      O(secret_keys) (none empty) and the image pull secret exist; the release's history; for a
      release, whether chart, tag (appVersion) and values equal the live revision (then nothing else
      runs: a no-op); the chart packaged with appVersion = tag, rendered with the environment's
      values, every object accepted by a server-side apply dry run; the namespace's ResourceQuota has
      room for the rollout's surge pods; with O(registry_username), every image's manifest exists in
      the registry (OCI distribution API, bearer-token flow).
  - >-
      B(Lock), a C(coordination.k8s.io/v1) Lease in the namespace (see M(hackathon_todo.deploy.release_lock)):
      a second run waits up to O(lock_wait) seconds, then fails naming the holder; a lock whose
      holder stopped renewing it for O(lock_ttl) seconds is taken over.
  - B(Recovery), a release a killed Helm client left C(pending-install/upgrade/rollback) is rolled
    back to its last good revision (or uninstalled when it never deployed).
  - B(Helm) (Helm 4), C(helm upgrade --install --rollback-on-failure --wait=watcher --history-max)
    with the environment's values file and the release's values; or C(helm rollback --wait=watcher).
  - >-
      B(Verify), every Deployment's rollout complete (updated, ready and available replicas equal
      the desired count, no old pods left; Helm 4's C(--wait=watcher) waits for the same, this
      checks it again, for up to O(rollout_timeout)); with O(dapr_sidecar_check), every pod that
      asks for a Dapr sidecar (C(dapr.io/enabled)) runs one (Dapr's injector fails open: a pod
      created while it is down runs without Dapr); then, with O(certificate.enabled), the
      cert-manager Certificate covering O(certificate.host) is C(Ready=True) for its current
      generation and expires in no fewer than O(certificate.min_days) days (waiting up to
      O(certificate.deadline) seconds for issuance; see M(hackathon_todo.deploy.certificate_status));
      then the smoke checks (the checks of M(hackathon_todo.deploy.smoke_check)).
      A pod without its sidecar, a certificate that is not ready or failed smoke checks roll a
      release back to the previous revision and fail the run; the message quotes cert-manager's
      conditions.
  - B(Report), JSON and Markdown files at O(report_path), appended to O(github_step_summary), a
    ConfigMap C(<release>-record-<revision>) in the namespace per revision Helm keeps (older
    records are pruned with Helm's history), and the RV(report) return value.
  - The values it sets besides O(values) and O(extra_values) are C(secretChecksum) (a digest of
    the app secret, so a changed secret rolls the pods) and C(dapr.pubsub.saslMechanism) (from the
    secret's C(REDPANDA_SASL_MECHANISM)).
author:
  - hackathon-todo platform team (@hackathon-todo)
extends_documentation_fragment:
  - hackathon_todo.deploy.attributes
  - hackathon_todo.deploy.kubernetes
attributes:
  check_mode:
    support: full
    details:
      - Runs the whole preflight (the dry run included), looks at the lock without waiting and
        reports what would happen; changes no object. The report files are written.
  diff_mode:
    support: full
    details:
      - For a release, the live revision's chart, appVersion and values against the release's.
  idempotent:
    support: full
    details:
      - A release of the tag and values that are live changes nothing.
requirements:
  - kubernetes (the Python client)
  - helm (the binary, 4.x)
options:
  environment:
    description: The environment (for messages and the report).
    type: str
    required: true
  environments:
    description: The environments there are; O(environment) must be one of them (empty = any).
    type: list
    elements: str
    default: []
  namespace:
    description: The environment's namespace.
    type: str
    required: true
  release_name:
    description: The Helm release.
    type: str
    required: true
  operation:
    description: V(release) upgrades to O(image_tag); V(rollback) goes back to O(rollback_revision).
    type: str
    choices: [release, rollback]
    default: release
  image_tag:
    description: The tag of all five images, also the chart's appVersion. Required for V(release).
    type: str
    default: ""
  tag_pattern:
    description:
      - What a tag must look like (never C(latest)).
      - Defaults to the collection's convention C(tag_pattern) (lookup C(hackathon_todo.deploy.convention)).
    type: str
  require_immutable_tag:
    description: Accept only tags matching O(immutable_tag_pattern) (production).
    type: bool
    default: false
  immutable_tag_pattern:
    description:
      - Immutable tags (versions and commit SHAs).
      - Defaults to the collection's convention C(immutable_tag_pattern) (lookup C(hackathon_todo.deploy.convention)).
    type: str
  rollback_revision:
    description: The revision O(operation=rollback) goes back to; V(0) means the one before the live one.
    type: int
    default: 0
  chart_dir:
    description: The chart's directory.
    type: path
    required: true
  values_file:
    description: The environment's values file (C(values-<env>.yaml)).
    type: path
    required: true
  values:
    description:
      - The release's values (hosts, owner, ...), merged over O(values_file).
      - C(global.imageTag) is always O(image_tag), whatever these or O(extra_values) say, so
        the images and the chart's appVersion never differ.
    type: dict
    default: {}
  extra_values:
    description: More values, merged last.
    type: dict
    default: {}
  supported_minors:
    description: Kubernetes minors the chart supports (C(1.36)); empty accepts any.
    type: list
    elements: str
    default: []
  secret_name:
    description:
      - The Secret the chart reads; the release passes it to the chart as C(secretName).
      - Defaults to the collection's convention C(secret_name) (lookup C(hackathon_todo.deploy.convention)).
    type: str
  secret_keys:
    description: The keys it must have, none of them empty.
    type: list
    elements: str
    default: []
  pull_secret_name:
    description:
      - The image pull Secret (type C(kubernetes.io/dockerconfigjson)); the release adds it to the
        chart's C(global.imagePullSecrets) when the values do not name it.
      - Defaults to the collection's convention C(pull_secret_name) (lookup C(hackathon_todo.deploy.convention)).
    type: str
  quota_name:
    description: The namespace's ResourceQuota checked for the rollout's peak.
    type: str
    default: environment-quota
  surge:
    description: Surge pods per Deployment during a rollout (the chart's C(maxSurge)).
    type: int
    default: 1
  registry_url:
    description: The registry's base URL.
    type: str
    default: https://ghcr.io
  registry_username:
    description: With it, every image's manifest is looked up before anything changes.
    type: str
    default: ""
  registry_password:
    description: The registry token (read access to packages).
    type: str
    default: ""
  registry_validate_certs:
    description: Verify the registry's TLS certificate.
    type: bool
    default: true
  registry_ca_path:
    description:
      - A CA bundle (PEM file) to verify the registry's certificate with, instead of the system
        trust store; for a registry with a private CA.
    type: path
  image_repositories:
    description: The images' repositories in the registry (C(owner/hackathon-todo/frontend), ...).
    type: list
    elements: str
    default: []
  helm_binary:
    description: The Helm binary (Helm 4; an older one is refused before anything changes).
    type: str
    default: helm
  helm_timeout:
    description: Helm's C(--timeout) (a Go duration).
    type: str
    default: 5m
  history_max:
    description: Revisions Helm keeps (C(--history-max)); release records follow it.
    type: int
    default: 10
  rollout_timeout:
    description: Seconds to wait, after Helm, for every rollout to complete.
    type: int
    default: 120
  dapr_sidecar_check:
    description:
      - After the rollout, fail (and roll a release back) when a pod of the release annotated
        C(dapr.io/enabled=true) has no C(daprd) container.
      - Off for a cluster whose Dapr injector does not run (the kwok test bed).
    type: bool
    default: true
  lock_name:
    description: The Lease's name.
    type: str
    default: hackathon-todo-release
  lock_holder:
    description: This run's identity in the Lease (default C(user@host/<random>)).
    type: str
    default: ""
  lock_ttl:
    description: Seconds the lock stays valid without renewal; longer than O(helm_timeout).
    type: int
    default: 900
  lock_wait:
    description: Seconds to wait for another run's lock.
    type: int
    default: 600
  lock_poll_interval:
    description: Seconds between two looks at another run's lock.
    type: float
    default: 2.0
  smoke:
    description: The smoke checks after the rollout.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Run them.
        type: bool
        default: false
      skip_reason:
        description: What the report says when they do not run.
        type: str
        default: smoke checks are off
      checks:
        description: The checks (as O(hackathon_todo.deploy.smoke_check#module:checks)).
        type: list
        elements: dict
        default: []
      defaults:
        description: Their defaults (as O(hackathon_todo.deploy.smoke_check#module:defaults)).
        type: dict
        default: {}
      concurrency:
        description: Checks run at once.
        type: int
        default: 8
  certificate:
    description:
      - The TLS certificate check after the rollout, before the smoke checks. It reads
        cert-manager's objects in O(namespace), so it runs without reaching the host over the
        network.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Run it.
        type: bool
        default: false
      skip_reason:
        description: What the report says when it does not run.
        type: str
        default: the certificate check is off
      host:
        description: The host the Certificate must cover (its C(dnsNames) or C(commonName)).
        type: str
        default: ""
      secret_name:
        description:
          - When several Certificates cover the host, the one writing this TLS secret. When it is
            empty, the first of them by name.
        type: str
        default: ""
      min_days:
        description: Fail when the certificate expires in fewer whole days than this.
        type: int
        default: 14
      deadline:
        description:
          - Seconds to wait for the Certificate to become ready (ACME issuance after a first
            install); V(0) looks once.
        type: float
        default: 300
  analysis:
    description:
      - >-
          Release analysis, after the smoke checks: PromQL queries sampled every O(analysis.interval)
          seconds, O(analysis.count) times, each against its threshold. A release that passes
          readiness and smoke checks but serves errors a minute later is rolled back to the
          previous revision, like a failed smoke check, and the run fails.
      - Preflight runs every query once against Prometheus; a query Prometheus refuses, or a
        Prometheus that does not answer (unless O(analysis.dry_run)), refuses the release before
        anything changes.
      - Skipped, and the report says so, in check mode, for a no-op release and for
        O(operation=rollback). The release lock is renewed between samples and held until the
        analysis ends.
      - No data (no series, NaN, Prometheus not answering) makes a sample inconclusive, never a
        pass.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Run it.
        type: bool
        default: false
      skip_reason:
        description: What the report says when it does not run.
        type: str
        default: analysis is off
      url:
        description:
          - Prometheus's base URL (C(https://prometheus.example.com)), reached from where the
            module runs. Exactly one of O(analysis.url) and O(analysis.service) is needed.
        type: str
        default: ""
      service:
        description:
          - Prometheus's Service as C(namespace/name:port), reached through the Kubernetes API
            server's service proxy with the module's cluster credentials (no port-forward, no
            ingress); for kube-prometheus-stack released as C(monitoring),
            C(monitoring/monitoring-kube-prometheus-prometheus:9090).
        type: str
        default: ""
      headers:
        description: Headers sent with every query (for O(analysis.url)); their values are not logged.
        type: dict
        default: {}
      bearer_token:
        description: "Sent as C(Authorization: Bearer <token>) (for O(analysis.url))."
        type: str
        default: ""
      validate_certs:
        description: Verify Prometheus's TLS certificate (O(analysis.url)).
        type: bool
        default: true
      ca_path:
        description: A PEM CA bundle to verify Prometheus's certificate against.
        type: path
      timeout:
        description: Seconds one query may take.
        type: float
        default: 10
      queries:
        description:
          - The queries, each an instant query giving a vector or a scalar. With several series,
            the worst one decides the sample. C($namespace), C($release) and C($window) are
            replaced by the release's namespace, release name and O(analysis.window).
          - Empty means the defaults, over the services exporting C(http_requests_total) and
            C(http_request_duration_seconds) in O(namespace) (label C(status)) - C(error_rate),
            the share of 5xx answers, above V(0.05); and C(latency_p95), the 95th percentile of
            request duration in seconds, above V(0.5).
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: The query's name in the report.
            type: str
            required: true
          query:
            description: The PromQL.
            type: str
            required: true
          threshold:
            description: The value a sample must not pass.
            type: float
            required: true
          direction:
            description: A sample fails when its value is V(above) or V(below) the threshold.
            type: str
            choices: [above, below]
            default: above
      interval:
        description: Seconds between samples; the first is taken one interval after the smoke checks.
        type: float
        default: 60
      count:
        description: Samples per query. The analysis takes O(analysis.interval) times this.
        type: int
        default: 5
      window:
        description: What C($window) stands for (a Prometheus duration); empty means O(analysis.interval).
        type: str
        default: ""
      failure_limit:
        description:
          - A query fails when more than this many of its samples failed; the analysis stops at
            the first query that fails (not in a dry run).
        type: int
        default: 0
      inconclusive_limit:
        description: A query is inconclusive when more than this many of its samples had no value.
        type: int
        default: 0
      on_inconclusive:
        description:
          - What an inconclusive analysis does. V(rollback) treats it as a failure (no data is no
            proof). V(fail) leaves the new revision live and fails the run, for a person to decide.
        type: str
        choices: [rollback, fail]
        default: rollback
      dry_run:
        description: Measure and report the verdict, never roll back or fail because of it.
        type: bool
        default: false
  report_path:
    description: Where the report goes, without extension (C(.json) and C(.md) are written).
    type: path
  github_step_summary:
    description: A file the Markdown report is appended to (GitHub Actions' C($GITHUB_STEP_SUMMARY)).
    type: path
  record_in_cluster:
    description: Keep a ConfigMap per revision with the report.
    type: bool
    default: true
notes:
  - The module runs where the play's host runs; the report files are written there (the
    collection's inventories use a local connection for the environments).
seealso:
  - module: hackathon_todo.deploy.release_lock
  - module: hackathon_todo.deploy.smoke_check
  - name: The release runbook
    description: docs/runbooks/release.md in this collection.
    link: https://github.com/hackathon-todo/hackathon-todo-deploy/blob/main/docs/runbooks/release.md
"""

EXAMPLES = r"""
- name: Release v1.4.0 to staging
  hackathon_todo.deploy.helm_release:
    environment: staging
    namespace: staging
    release_name: todo-app-staging
    image_tag: v1.4.0
    chart_dir: "{{ playbook_dir }}/chart"
    values_file: "{{ playbook_dir }}/chart/values-staging.yaml"
    values:
      ingress: {host: staging.todo.example.com}
    secret_keys: [DATABASE_URL, BETTER_AUTH_SECRET]
    report_path: reports/release-staging
  register: release

- name: Roll production back to the revision before the live one
  hackathon_todo.deploy.helm_release:
    environment: production
    namespace: production
    release_name: todo-app
    operation: rollback
    chart_dir: "{{ playbook_dir }}/chart"
    values_file: "{{ playbook_dir }}/chart/values-production.yaml"
"""

RETURN = r"""
outcome:
  description: V(succeeded), V(unchanged), V(checked) (check mode), V(failed) or V(rolled back).
  returned: always
  type: str
  sample: succeeded
succeeded:
  description:
    - Whether O(operation) did what was asked - the outcome is V(succeeded), V(unchanged) or
      V(checked). The module fails when it is false; a play that registers the result with
      C(failed_when=false) reads this instead of listing outcomes.
  returned: always
  type: bool
  sample: true
report:
  description:
    - The release report, the same in the C(.json) file at O(report_path) and in the release's
      record ConfigMap.
    - A run refused before Helm's history was read knows nothing of the live release, so
      RV(report.revision_before) and RV(report.revision_after) are C(null), never V(0).
  returned: always
  type: dict
  contains:
    environment:
      description: O(environment).
      returned: always
      type: str
      sample: staging
    namespace:
      description: O(namespace).
      returned: always
      type: str
      sample: staging
    release:
      description: O(release_name).
      returned: always
      type: str
      sample: todo-app-staging
    operation:
      description: O(operation).
      returned: always
      type: str
      sample: release
    outcome:
      description:
        - RV(outcome) - V(succeeded), V(unchanged) (a release of what is live), V(checked)
          (check mode), V(failed) or V(rolled back) (a verification after Helm failed, and the
          release was rolled back to RV(report.revision_before)).
        - After V(failed), RV(report.error) says what is live - nothing changed after a refusal
          by the preflight or a lock held by another run; a failed C(helm upgrade) leaves the
          previous revision (C(--rollback-on-failure)); an inconclusive analysis with
          O(analysis.on_inconclusive=fail) leaves the new one.
      returned: always
      type: str
      sample: succeeded
    error:
      description:
        - Why the run failed; empty when it did not. A preflight refusal starts with
          C(Nothing was changed.).
      returned: always
      type: str
      sample: ""
    check_mode:
      description: Whether the run was in check mode.
      returned: always
      type: bool
      sample: false
    chart:
      description:
        - The chart as C(<name>-<version>) - O(chart_dir)'s once a release read it; else Helm's
          latest revision's (for a rollback, the target revision's); C(hackathon-todo-?) when
          neither is known (a run refused before Helm's history was read).
      returned: always
      type: str
      sample: hackathon-todo-1.4.0
    app_version_before:
      description:
        - The appVersion (the image tag) of the revision deployed before the run; empty when
          none was deployed or the history was not read.
      returned: always
      type: str
      sample: v1.3.0
    app_version:
      description:
        - The version the run goes to - O(image_tag) for a release; for a rollback the appVersion
          live after Helm (empty when Helm did not run).
      returned: always
      type: str
      sample: v1.4.0
    app_version_live:
      description:
        - The appVersion live after the run - Helm's latest revision's once Helm ran, else
          RV(report.app_version_before).
      returned: always
      type: str
      sample: v1.4.0
    revision_before:
      description:
        - The revision deployed before the run, V(0) when the release was never deployed;
          C(null) when the run was refused before Helm's history was read.
      returned: always
      type: int
      sample: 3
    revision_after:
      description:
        - Helm's latest revision after the run (after a failed upgrade, the one
          C(--rollback-on-failure) made) once Helm ran, else RV(report.revision_before); C(null)
          when the run was refused before Helm's history was read.
      returned: always
      type: int
      sample: 4
    images:
      description:
        - The images (C(repository:tag)) of the release's Deployments, sorted - as live when the
          rollout was checked; before that as rendered from the chart; empty when the run
          stopped before either.
      returned: always
      type: list
      elements: str
      sample: [ghcr.io/owner/hackathon-todo/backend:v1.4.0]
    failed_deployments:
      description:
        - When C(helm upgrade) failed, the Deployments (C(namespace/name)) Helm's watcher gave up
          on; empty otherwise.
      returned: always
      type: list
      elements: str
      sample: [staging/todo-app-backend]
    pod_problems:
      description:
        - When C(helm upgrade) failed, one line per container of the release that was in trouble
          during the upgrade (crashes first, at most five) - C(pod/container), the reason, the
          exit code and restarts, the last log line or the reason's message; empty otherwise.
      returned: always
      type: list
      elements: str
      sample:
        - "todo-app-backend-7d9f-x2x/backend: CrashLoopBackOff (exit 1, 2 restarts), last log:
          DATABASE_URL is not set"
    recovery:
      description:
        - What was done with a release a killed Helm client left C(pending-*) - C(<status>
          revision <n> → rollback to <m>) or C(<status> revision <n> → uninstall); empty when
          there was nothing to recover.
      returned: always
      type: str
      sample: pending-upgrade revision 7 → rollback to 6
    lock:
      description: The release lock (a C(coordination.k8s.io/v1) Lease, O(lock_name)).
      returned: always
      type: dict
      contains:
        holder:
          description:
            - This run's identity in the Lease (O(lock_holder) or C(user@host/<random>)); empty
              when the run did not get to the lock (refused by the preflight, or a release of
              what is live).
          returned: always
          type: str
          sample: ci@runner-1/5f3a9c01
        took_over_from:
          description:
            - The holder of a lock that was not renewed within O(lock_ttl), which this run took
              over; empty otherwise.
          returned: always
          type: str
          sample: ""
        waited_s:
          description: Seconds this run waited for another run's lock.
          returned: always
          type: float
          sample: 0.0
    certificate:
      description: The TLS certificate check (O(certificate)).
      returned: always
      type: dict
      contains:
        status:
          description:
            - V(passed), V(failed), V(skipped) (O(certificate.enabled=false), or check mode) or
              V(not run) (the run ended before the verification).
          returned: always
          type: str
          sample: passed
        summary:
          description:
            - Passed, the Certificate, its expiry and the days left; failed, what cert-manager's
              objects say; skipped, O(certificate.skip_reason) or C(check mode); empty when not
              run.
          returned: always
          type: str
          sample: staging/todo-tls is Ready, expires 2027-02-20T12:00:00Z (75 days)
    smoke:
      description: The smoke checks (O(smoke)).
      returned: always
      type: dict
      contains:
        status:
          description:
            - V(passed), V(failed), V(skipped) (O(smoke.enabled=false), or check mode) or
              V(not run) (the run ended before them).
          returned: always
          type: str
          sample: passed
        summary:
          description:
            - How many passed (and which failed) in how long; when some failed, why each did;
              skipped, O(smoke.skip_reason) or C(check mode); empty when not run.
          returned: always
          type: str
          sample: 2 of 2 smoke checks passed in 0.3 s
        checks:
          description: One entry per check, in the order of O(smoke.checks); empty unless they ran.
          returned: always
          type: list
          elements: dict
          contains:
            name:
              description: The check's name (its URL when it has none).
              returned: always
              type: str
              sample: https://staging.todo.example.com/api/health
            url:
              description: The URL checked.
              returned: always
              type: str
              sample: https://staging.todo.example.com/api/health
            passed:
              description: Whether the check passed.
              returned: always
              type: bool
              sample: true
            status:
              description: The HTTP status of the last answer; C(null) when nothing answered.
              returned: always
              type: int
              sample: 200
            error:
              description: Why the check failed; C(null) when it passed.
              returned: always
              type: str
              sample: got HTTP 503 Service Unavailable, expected 200
    analysis:
      description:
        - The release analysis (O(analysis)). Everything but RV(report.analysis.status) and
          RV(report.analysis.summary) only when it ran (O(analysis.enabled), a release that
          changed something, not in check mode, the verification before it passed).
      returned: always
      type: dict
      contains:
        status:
          description:
            - V(passed), V(failed), V(inconclusive), V(skipped) (off, check mode, a release of
              what is live or a rollback) or V(not run) (the run ended before it).
          returned: always
          type: str
          sample: passed
        summary:
          description:
            - Ran, the verdict and each query's verdict with its worst value against its
              threshold; skipped, why (O(analysis.skip_reason) when off); empty when not run.
          returned: always
          type: str
          sample: >-
            passed: error_rate passed (worst 0.002, threshold above 0.05); latency_p95 passed
            (worst 0.12, threshold above 0.5)
        prometheus:
          description:
            - Where Prometheus was asked - O(analysis.url) without credentials, or
              C(service <namespace/name:port> (API server proxy)).
          returned: when it ran
          type: str
          sample: service monitoring/monitoring-kube-prometheus-prometheus:9090 (API server proxy)
        interval_s:
          description: O(analysis.interval).
          returned: when it ran
          type: float
          sample: 60.0
        count:
          description: O(analysis.count), the samples asked for per query.
          returned: when it ran
          type: int
          sample: 5
        failure_limit:
          description: O(analysis.failure_limit).
          returned: when it ran
          type: int
          sample: 0
        inconclusive_limit:
          description: O(analysis.inconclusive_limit).
          returned: when it ran
          type: int
          sample: 0
        dry_run:
          description: O(analysis.dry_run) - the verdict was reported, never acted on.
          returned: when it ran
          type: bool
          sample: false
        queries_sent:
          description: Queries sent to Prometheus, the preflight's included.
          returned: when it ran
          type: int
          sample: 12
        seconds:
          description: How long the sampling took.
          returned: when it ran
          type: float
          sample: 300.4
        queries:
          description:
            - One entry per query (O(analysis.queries), or the defaults C(error_rate) and
              C(latency_p95)).
          returned: when it ran
          type: list
          elements: dict
          contains:
            name:
              description: The query's name.
              returned: always
              type: str
              sample: error_rate
            query:
              description: The PromQL as sent, C($namespace), C($release) and C($window) replaced.
              returned: always
              type: str
              sample: >-
                (sum(rate(http_requests_total{namespace="staging", status=~"5.."}[60s]))
                or vector(0)) / sum(rate(http_requests_total{namespace="staging"}[60s]))
            threshold:
              description: The value a sample must not pass.
              returned: always
              type: float
              sample: 0.05
            direction:
              description: V(above) or V(below) - a sample fails past the threshold that way.
              returned: always
              type: str
              sample: above
            verdict:
              description:
                - V(passed), V(failed) (more than O(analysis.failure_limit) samples failed) or
                  V(inconclusive) (more than O(analysis.inconclusive_limit) had no value).
              returned: always
              type: str
              sample: passed
            samples:
              description:
                - The samples taken, oldest first; fewer than O(analysis.count) when a failed
                  query ended the analysis early.
              returned: always
              type: list
              elements: dict
              contains:
                time:
                  description: When it was taken (UTC, C(YYYY-MM-DDTHH:MM:SSZ)).
                  returned: always
                  type: str
                  sample: "2026-12-06T12:01:00Z"
                value:
                  description:
                    - The worst series' value; C(null) when there was none (no series, NaN,
                      Prometheus did not answer), which makes the sample inconclusive.
                  returned: always
                  type: float
                  sample: 0.002
                threshold:
                  description: The query's threshold.
                  returned: always
                  type: float
                  sample: 0.05
                verdict:
                  description: V(passed), V(failed) or V(inconclusive).
                  returned: always
                  type: str
                  sample: passed
                error:
                  description: Why there was no value; empty when there was one.
                  returned: always
                  type: str
                  sample: ""
                labels:
                  description: The labels of the series that decided the sample.
                  returned: when that series has labels
                  type: dict
                  sample: {service: backend}
    messages:
      description: What the run said, one entry per step worth saying (RV(msg)'s lines).
      returned: always
      type: list
      elements: str
      sample: [5 Deployments rolled out completely]
    durations_s:
      description: Seconds per phase, rounded to a tenth.
      returned: always
      type: dict
      contains:
        preflight:
          description: The preflight.
          returned: when it passed
          type: float
          sample: 6.2
        helm:
          description:
            - Lock, recovery and Helm (also for a release of what is live, and in check mode).
          returned: when Helm's phase ended
          type: float
          sample: 48.1
        verify:
          description: The rollout, sidecar, certificate and smoke checks and the analysis.
          returned: when they passed
          type: float
          sample: 3.4
        total:
          description: The whole run.
          returned: always
          type: float
          sample: 57.7
    finished_at:
      description: When the run ended (UTC, C(YYYY-MM-DDTHH:MM:SSZ)).
      returned: always
      type: str
      sample: "2026-12-06T12:06:00Z"
report_markdown:
  description: The report as Markdown.
  returned: always
  type: str
msg:
  description: What happened, in one line per step worth saying.
  returned: always
  type: str
"""

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _smoke
from ansible_collections.hackathon_todo.deploy.plugins.module_utils import (
    _conventions as conventions,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kube_options import (
    kube_argument_spec,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kube import (
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._release import (
    SUCCESS,
    Release,
)


def argument_spec():
    return dict(
        environment=dict(type="str", required=True),
        environments=dict(type="list", elements="str", default=[]),
        namespace=dict(type="str", required=True),
        release_name=dict(type="str", required=True),
        operation=dict(type="str", choices=["release", "rollback"], default="release"),
        image_tag=dict(type="str", default=""),
        tag_pattern=dict(type="str"),
        require_immutable_tag=dict(type="bool", default=False),
        immutable_tag_pattern=dict(type="str"),
        rollback_revision=dict(type="int", default=0),
        chart_dir=dict(type="path", required=True),
        values_file=dict(type="path", required=True),
        values=dict(type="dict", default={}),
        extra_values=dict(type="dict", default={}),
        **kube_argument_spec(),
        supported_minors=dict(type="list", elements="str", default=[]),
        secret_name=dict(type="str", no_log=False),
        secret_keys=dict(type="list", elements="str", default=[], no_log=False),
        pull_secret_name=dict(type="str", no_log=False),
        quota_name=dict(type="str", default="environment-quota"),
        surge=dict(type="int", default=1),
        registry_url=dict(type="str", default="https://ghcr.io"),
        registry_username=dict(type="str", default=""),
        registry_password=dict(type="str", default="", no_log=True),
        registry_validate_certs=dict(type="bool", default=True),
        registry_ca_path=dict(type="path"),
        image_repositories=dict(type="list", elements="str", default=[]),
        helm_binary=dict(type="str", default="helm"),
        helm_timeout=dict(type="str", default="5m"),
        history_max=dict(type="int", default=10),
        rollout_timeout=dict(type="int", default=120),
        dapr_sidecar_check=dict(type="bool", default=True),
        lock_name=dict(type="str", default="hackathon-todo-release"),
        lock_holder=dict(type="str", default=""),
        lock_ttl=dict(type="int", default=900),
        lock_wait=dict(type="int", default=600),
        lock_poll_interval=dict(type="float", default=2.0),
        smoke=dict(
            type="dict",
            default={},
            options=dict(
                enabled=dict(type="bool", default=False),
                skip_reason=dict(type="str", default="smoke checks are off"),
                checks=dict(type="list", elements="dict", default=[]),
                defaults=dict(type="dict", default={}),
                concurrency=dict(type="int", default=8),
            ),
        ),
        certificate=dict(
            type="dict",
            default={},
            options=dict(
                enabled=dict(type="bool", default=False),
                skip_reason=dict(type="str", default="the certificate check is off"),
                host=dict(type="str", default=""),
                secret_name=dict(type="str", default="", no_log=False),
                min_days=dict(type="int", default=14),
                deadline=dict(type="float", default=300),
            ),
        ),
        analysis=dict(
            type="dict",
            default={},
            options=dict(
                enabled=dict(type="bool", default=False),
                skip_reason=dict(type="str", default="analysis is off"),
                url=dict(type="str", default=""),
                service=dict(type="str", default=""),
                headers=dict(type="dict", default={}, no_log=True),
                bearer_token=dict(type="str", default="", no_log=True),
                validate_certs=dict(type="bool", default=True),
                ca_path=dict(type="path"),
                timeout=dict(type="float", default=10),
                queries=dict(
                    type="list",
                    elements="dict",
                    default=[],
                    options=dict(
                        name=dict(type="str", required=True),
                        query=dict(type="str", required=True),
                        threshold=dict(type="float", required=True),
                        direction=dict(type="str", choices=["above", "below"], default="above"),
                    ),
                ),
                interval=dict(type="float", default=60),
                count=dict(type="int", default=5),
                window=dict(type="str", default=""),
                failure_limit=dict(type="int", default=0),
                inconclusive_limit=dict(type="int", default=0),
                on_inconclusive=dict(type="str", choices=["rollback", "fail"], default="rollback"),
                dry_run=dict(type="bool", default=False),
            ),
        ),
        report_path=dict(type="path"),
        github_step_summary=dict(type="path"),
        record_in_cluster=dict(type="bool", default=True),
    )


# Options whose default is one of the collection's conventions. They are documented by name, not
# by value, so renaming one (module_utils/_conventions.py) is a one-line change.
CONVENTION_DEFAULTS = dict(
    tag_pattern=conventions.TAG_PATTERN,
    immutable_tag_pattern=conventions.IMMUTABLE_TAG_PATTERN,
    secret_name=conventions.SECRET_NAME,
    pull_secret_name=conventions.PULL_SECRET_NAME,
)


def resolved_params(params):
    """The module's parameters with the conventions filled in where the task gave none."""
    out = dict(params)
    for key, value in CONVENTION_DEFAULTS.items():
        if out.get(key) in (None, ""):
            out[key] = value
    return out


class HelmReleaseModule(_smoke.SecretHeadersModule):
    """helm_release's smoke checks (and their secret headers) are under its `smoke` option."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("smoke_option", "smoke")
        super(HelmReleaseModule, self).__init__(*args, **kwargs)


def result_of(report):
    """What the module returns besides the report's files; `succeeded` is the one verdict the
    release role reads (it keeps no list of outcomes of its own)."""
    return dict(outcome=report["outcome"], succeeded=report["outcome"] in SUCCESS)


def main():
    module = HelmReleaseModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    secrets = module.secret_headers()

    run = Release(
        resolved_params(module.params),
        module.run_command,
        check_mode=module.check_mode,
        diff=module._diff,
        warn=module.warn,
    )
    report = _smoke.redact(run.execute(), secrets)
    result = dict(
        result_of(report),
        changed=run.changed,
        report=report,
        report_markdown=_smoke.redact(run.markdown, secrets),
    )
    if run.diff and run.changed:
        result["diff"] = run.diff
    lines = list(report["messages"])
    if result["succeeded"]:
        module.exit_json(msg="\n".join(lines) or report["outcome"], **result)
    live = report["revision_after"] or report["revision_before"]
    module.fail_json(
        msg="%s: %s %s: %s%s"
        % (
            report["environment"],
            report["operation"],
            report["outcome"],
            report["error"],
            # only a revision that was read from Helm's history; a refusal before that names none
            " (revision live: %s)" % live if live else "",
        ),
        **result,
    )


if __name__ == "__main__":
    main()
