# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release lock: a coordination.k8s.io/v1 Lease per environment.

Every write is a compare-and-swap on the Lease's resourceVersion, so two callers racing for a
free lock cannot both win. A holder that stopped renewing for longer than the TTL (a killed run)
is stale and is taken over. Used by the `release_lock` and `helm_release` modules.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import time

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kube import (
    KubeError,
    KubeUnreachable,
)

PURPOSE = "hackathon-todo.dev/purpose"
MICROTIME = "%Y-%m-%dT%H:%M:%S.%fZ"


class LockError(Exception):
    """The lock could not be had (held by someone else past the wait, or the API failed)."""

    def __init__(self, msg, result=None):
        super(LockError, self).__init__(msg)
        self.msg = msg
        self.result = result or {}


class Conflict(Exception):
    """Someone else wrote the Lease between our read and our write."""


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def fmt(ts):
    return ts.strftime(MICROTIME)


def parse(value):
    if not value:
        return None
    value = value.rstrip("Z")
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.datetime.strptime(value, pattern).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            pass
    return None


def expires_at(lease):
    """When a lease stops being valid; None when nobody holds it."""
    spec = lease.get("spec") or {}
    if not spec.get("holderIdentity"):
        return None
    renewed = parse(spec.get("renewTime")) or parse(spec.get("acquireTime"))
    if renewed is None:
        return now()  # a holder without a time is treated as expired
    return renewed + datetime.timedelta(seconds=spec.get("leaseDurationSeconds") or 0)


def summary(lease):
    if not lease:
        return {}
    spec = lease.get("spec") or {}
    meta = lease.get("metadata") or {}
    return dict(
        name=meta.get("name"),
        namespace=meta.get("namespace"),
        holderIdentity=spec.get("holderIdentity") or "",
        leaseDurationSeconds=spec.get("leaseDurationSeconds"),
        acquireTime=spec.get("acquireTime"),
        renewTime=spec.get("renewTime"),
        purpose=(meta.get("annotations") or {}).get(PURPOSE, ""),
    )


def lease_body(name, namespace, holder, ttl, purpose, acquired, renewed, resource_version=None):
    meta = dict(
        name=name,
        namespace=namespace,
        labels={"app.kubernetes.io/managed-by": "hackathon_todo.deploy"},
        annotations={PURPOSE: purpose},
    )
    if resource_version:
        meta["resourceVersion"] = resource_version
    spec = dict(
        holderIdentity=holder or None,
        leaseDurationSeconds=ttl,
        acquireTime=fmt(acquired) if acquired else None,
        renewTime=fmt(renewed) if renewed else None,
    )
    return dict(apiVersion="coordination.k8s.io/v1", kind="Lease", metadata=meta, spec=spec)


class LeaseLock(object):
    """One environment's release lock, held by `holder`."""

    def __init__(self, kube, namespace, name, holder, ttl=900, purpose=""):
        if not (holder or "").strip():
            raise LockError("holder must not be empty")
        if ttl < 1:
            raise LockError("ttl must be at least 1 second")
        self.kube = kube
        self.ns = namespace
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self.purpose = purpose
        self.collection = "/apis/coordination.k8s.io/v1/namespaces/%s/leases" % namespace
        self.path = "%s/%s" % (self.collection, name)
        self.warnings = []

    def new_result(self):
        return dict(
            changed=False,
            held=False,
            holder=self.holder,
            current_holder="",
            previous_holder="",
            took_over=False,
            waited=0.0,
            lease={},
        )

    # API calls: a dict, None for "not there", Conflict for a lost compare-and-swap
    def _call(self, method, path, body=None):
        try:
            return self.kube.request(method, path, body=body)
        except KubeError as exc:
            if exc.status == 409:
                raise Conflict() from None
            if exc.status == 404:
                return None
            raise LockError(
                "Lease %s/%s: the API server answered %s %s: %s"
                % (self.ns, self.name, exc.status, exc.reason, exc.body[:500])
            ) from None
        except KubeUnreachable as exc:
            raise LockError(
                "Lease %s/%s: cannot reach the Kubernetes API server: %s"
                % (self.ns, self.name, exc)
            ) from None

    def get(self):
        return self._call("GET", self.path)

    def _create(self, body):
        out = self._call("POST", self.collection, body)
        if out is None:
            raise LockError(
                "namespace %s does not exist: cannot create the release lock there" % self.ns
            )
        return out

    def _replace(self, body):
        out = self._call("PUT", self.path, body)
        if out is None:
            raise Conflict()  # deleted meanwhile: start over
        return out

    def _look(self, result):
        """The Lease (or None) and its holder ("" when free); notes the holder in `result`."""
        lease = self.get()
        current = ((lease or {}).get("spec") or {}).get("holderIdentity") or ""
        result["previous_holder"] = current
        return lease, current

    def _write(self, body, result, held, current, check_mode, create=False):
        """Compare-and-swap `body`: the result, or None when another writer won (look again)."""
        result["changed"] = True
        if check_mode:
            result.update(held=held, current_holder=current, lease=summary(body))
            return result
        try:
            out = self._create(body) if create else self._replace(body)
        except Conflict:
            return None
        result.update(held=held, current_holder=current, lease=summary(out))
        return result

    def acquire(self, wait_timeout=300, poll_interval=2.0, check_mode=False, sleep=time.sleep):
        result = self.new_result()
        started = time.monotonic()
        while True:
            lease, current = self._look(result)
            expiry = expires_at(lease) if lease else None
            stamp = now()
            if lease is not None and current and current != self.holder and expiry > stamp:
                # held by someone else, and valid
                waited = time.monotonic() - started
                result["waited"] = round(waited, 1)
                if check_mode or waited >= wait_timeout:
                    info = summary(lease)
                    msg = (
                        "the release lock %s/%s is held by %s (%s) since %s; it expires at %s "
                        "unless renewed. "
                        % (
                            self.ns,
                            self.name,
                            current,
                            info["purpose"] or "no purpose given",
                            info["acquireTime"],
                            fmt(expiry),
                        )
                    )
                    if check_mode:
                        result.update(
                            held=False,
                            current_holder=current,
                            lease=info,
                            msg=msg + "Check mode does not wait for it.",
                        )
                        return result
                    raise LockError(
                        msg + "Waited %d s (wait_timeout). Another release of this environment is "
                        "running: wait for it to finish, or if it was killed, run again after its "
                        "lock expires." % waited,
                        result,
                    )
                sleep(min(poll_interval, max(0.1, wait_timeout - waited)))
                continue

            result["took_over"] = bool(current) and current != self.holder
            mine = current == self.holder
            spec = (lease or {}).get("spec") or {}
            acquired_at = parse(spec.get("acquireTime")) if mine else stamp
            body = lease_body(
                self.name,
                self.ns,
                self.holder,
                self.ttl,
                self.purpose,
                acquired_at or stamp,
                stamp,
                (lease or {}).get("metadata", {}).get("resourceVersion"),
            )
            done = self._write(body, result, True, self.holder, check_mode, create=lease is None)
            if done is None:
                continue  # lost a race: look again
            if not check_mode:
                done["waited"] = round(time.monotonic() - started, 1)
            return done

    def renew(self, check_mode=False):
        result = self.new_result()
        while True:
            lease, current = self._look(result)
            if current != self.holder:
                raise LockError(
                    "cannot renew the release lock %s/%s: it is held by %s, not by %s (it expired "
                    "and was taken over, or was never acquired)"
                    % (self.ns, self.name, current or "nobody", self.holder),
                    result,
                )
            spec = lease["spec"]
            body = lease_body(
                self.name,
                self.ns,
                self.holder,
                self.ttl,
                self.purpose or (lease["metadata"].get("annotations") or {}).get(PURPOSE, ""),
                parse(spec.get("acquireTime")) or now(),
                now(),
                lease["metadata"]["resourceVersion"],
            )
            done = self._write(body, result, True, current, check_mode)
            if done is not None:
                return done

    def release(self, check_mode=False):
        result = self.new_result()
        while True:
            lease, current = self._look(result)
            if current != self.holder:
                result.update(held=False, current_holder=current, lease=summary(lease))
                if current:
                    self.warnings.append(
                        "the release lock %s/%s is held by %s, not by %s: left alone"
                        % (self.ns, self.name, current, self.holder)
                    )
                return result
            # Keep the Lease (its purpose says what ran last); clear the holder so it is free.
            body = lease_body(
                self.name,
                self.ns,
                None,
                lease["spec"].get("leaseDurationSeconds") or self.ttl,
                (lease["metadata"].get("annotations") or {}).get(PURPOSE, ""),
                None,
                None,
                lease["metadata"]["resourceVersion"],
            )
            done = self._write(body, result, False, "", check_mode)
            if done is not None:
                return done
