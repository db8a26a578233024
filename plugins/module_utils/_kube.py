# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small Kubernetes REST client on top of the official client's configuration.

Our modules need a handful of calls (read objects, server-side apply dry runs, Leases). The
official client's typed APIs cost discovery round trips and mangle some types (MicroTime); its
configuration loading (kubeconfig, exec plugins, in-cluster) is what we want to keep. This
wrapper keeps the configuration and speaks plain JSON: every answer is a dict.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import contextlib
import json
import os
import traceback

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.rest import ApiException
    from urllib3.exceptions import HTTPError as Urllib3Error

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()


def _text(body):
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return body or ""


class KubeError(Exception):
    """The API server answered with an error status."""

    def __init__(self, status, reason, body):
        self.status = status
        self.reason = reason
        self.body = body or ""
        try:
            self.message = json.loads(self.body).get("message") or self.body
        except ValueError:
            self.message = self.body
        super(KubeError, self).__init__("%s %s: %s" % (status, reason, self.message[:500]))


class KubeUnreachable(Exception):
    """No answer: refused connection, TLS, DNS, timeout, or a kubeconfig that cannot be used."""


def load_client(kubeconfig=None, context=None):
    """An ApiClient from a kubeconfig file (or $K8S_AUTH_KUBECONFIG, $KUBECONFIG, in-cluster)."""
    kubeconfig = kubeconfig or os.environ.get("K8S_AUTH_KUBECONFIG")
    try:
        if kubeconfig:
            return k8s_config.new_client_from_config(config_file=kubeconfig, context=context)
        try:
            k8s_config.load_incluster_config()
            return k8s_client.ApiClient()
        except k8s_config.ConfigException:
            return k8s_config.new_client_from_config(context=context)
    except Exception as exc:  # the client raises many kinds for a bad kubeconfig
        raise KubeUnreachable(
            "cannot load the kubeconfig %s: %s" % (kubeconfig or "(default)", exc)
        ) from None


class Kube(object):
    """Plain-JSON calls to one API server."""

    def __init__(self, kubeconfig=None, context=None, timeout=30):
        self.kubeconfig = kubeconfig or os.environ.get("K8S_AUTH_KUBECONFIG") or "(default)"
        self.api = load_client(kubeconfig, context)
        self.timeout = timeout
        self._resources = {}

    def request(self, method, path, body=None, query=None, content_type=None, raw=False):
        """The decoded JSON answer (raw: the body as text, e.g. a container's log)."""
        headers = {"Accept": "*/*" if raw else "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        query = list((query or {}).items())
        try:
            if hasattr(self.api, "param_serialize"):  # kubernetes >= 31 (openapi-generator 7)
                method, url, hdrs, body, _post = self.api.param_serialize(
                    method,
                    path,
                    query_params=query,
                    header_params=headers,
                    body=body,
                    auth_settings=["BearerToken"],
                )
                resp = self.api.call_api(
                    method, url, header_params=hdrs, body=body, _request_timeout=self.timeout
                )
                data = resp.read()
                if not 200 <= resp.status < 300:
                    raise ApiException(status=resp.status, reason=resp.reason, body=data)
            else:
                resp = self.api.call_api(
                    path,
                    method,
                    query_params=query,
                    header_params=headers,
                    body=body,
                    auth_settings=["BearerToken"],
                    _preload_content=False,
                    _request_timeout=self.timeout,
                )
                data = resp.data
        except ApiException as exc:
            if exc.status in (None, 0):
                raise KubeUnreachable(str(exc.reason)) from None
            raise KubeError(exc.status, exc.reason, _text(exc.body)) from None
        except (OSError, ValueError, Urllib3Error) as exc:  # refused, TLS, DNS, timeout
            raise KubeUnreachable(str(exc)) from None
        if raw:
            return _text(data)
        return json.loads(data) if data else {}

    def get(self, path, query=None):
        """The object at `path`, or None when it does not exist."""
        try:
            return self.request("GET", path, query=query)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, path, label_selector=None):
        query = {"labelSelector": label_selector} if label_selector else None
        return (self.request("GET", path, query=query) or {}).get("items") or []

    def version(self):
        return self.request("GET", "/version")

    def resource_path(self, api_version, kind, namespace=None, name=None):
        """The REST path of a kind (one discovery call per group/version, cached)."""
        if api_version not in self._resources:
            base = "/api/v1" if api_version == "v1" else "/apis/" + api_version
            found = self.get(base)
            self._resources[api_version] = dict(
                (r["kind"], (r["name"], r.get("namespaced", False), base))
                for r in (found or {}).get("resources") or []
                if "/" not in r["name"]
            )
        try:
            plural, namespaced, base = self._resources[api_version][kind]
        except KeyError:
            raise KubeError(
                404,
                "Not Found",
                json.dumps(
                    {
                        "message": "the server does not serve %s %s (is its CRD installed?)"
                        % (api_version, kind)
                    }
                ),
            ) from None
        path = base
        if namespaced:
            path += "/namespaces/%s" % namespace
        path += "/" + plural
        if name:
            path += "/" + name
        return path

    def apply(self, obj, namespace, field_manager, dry_run=False, force=True):
        """Server-side apply of one object (dry run: the API server admits and validates only)."""
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace") or namespace
        path = self.resource_path(obj["apiVersion"], obj["kind"], ns, meta["name"])
        query = {"fieldManager": field_manager, "force": "true" if force else "false"}
        if dry_run:
            query["dryRun"] = "All"
        return self.request(
            "PATCH", path, body=obj, query=query, content_type="application/apply-patch+yaml"
        )

    def dry_run_all(self, objs, namespace, field_manager, workers=8):
        """Server-side apply dry runs of many objects, `workers` at a time (the API server admits
        each on its own, so their order does not matter). Returns (object, KubeError) for each
        object the API server refused, in the order given; empty when it admitted them all."""
        for obj in objs:  # discovery first, one call per group/version (its cache is not shared)
            with contextlib.suppress(KubeError):  # the dry run meets the same error, reports it
                self.resource_path(obj["apiVersion"], obj["kind"], namespace)

        def one(obj):
            try:
                self.apply(obj, namespace, field_manager, dry_run=True)
            except KubeError as exc:
                return (obj, exc)
            return None

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            return [refused for refused in pool.map(one, objs) if refused is not None]

    def delete(self, path):
        try:
            return self.request("DELETE", path)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise
