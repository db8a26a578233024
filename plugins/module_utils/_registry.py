# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An OCI distribution API client: does a registry have a tag of each repository?

HEAD /v2/<repo>/manifests/<tag>, after the registry's answer to /v2/ said how to authenticate:
a Bearer challenge (GHCR: a pull token per repository from the realm) or a Basic one (CNCF
Distribution with htpasswd: the credentials on every request). Used by the helm_release module
(preflight, when it is given registry credentials). Reads only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import json
import re

from urllib.error import HTTPError
from urllib.parse import quote
from ansible.module_utils.urls import open_url

MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


class RegistryError(Exception):
    """The registry cannot be reached, refuses the credentials, or lacks a tag."""


class Registry(object):
    """One registry, with the credentials to read it (a username and a token or password)."""

    def __init__(self, url, username, password, validate_certs=True, ca_path=None, workers=5):
        self.url = url.rstrip("/")
        self.username = username
        self.creds = (username, password)
        self.tls = dict(validate_certs=validate_certs)
        if ca_path:
            self.tls["ca_path"] = ca_path
        self.workers = workers

    def call(self, target, method="GET", headers=None, auth=None):
        """(HTTP status, headers, body); an HTTP error is an answer, no answer is an error."""
        kw = dict(method=method, headers=headers or {}, timeout=30, **self.tls)
        if auth:
            kw.update(url_username=auth[0], url_password=auth[1], force_basic_auth=True)
        try:
            resp = open_url(target, **kw)
            return resp.getcode(), resp.headers, resp.read()
        except HTTPError as exc:
            return exc.code, exc.headers, b""
        except Exception as exc:  # refused, DNS, TLS
            raise RegistryError("cannot reach the registry %s: %s" % (self.url, exc)) from None

    def refused_credentials(self, codes):
        return RegistryError(
            "The registry %s refused the credentials of %s (HTTP %s): check "
            "vault_registry_username / vault_registry_password (a token with read:packages)."
            % (self.url, self.username, ", ".join(codes))
        )

    def authenticate(self, repos):
        """How to read each repository: (a Bearer token per repository or None, the Basic
        credentials or None), from the registry's answer to /v2/."""
        status, headers, _body = self.call(self.url + "/v2/")
        tokens = dict((r, None) for r in repos)
        basic = None
        if status == 401:
            challenge = (headers or {}).get("WWW-Authenticate", "")
            if challenge.split(" ", 1)[0].lower() == "basic":
                code = self.call(self.url + "/v2/", auth=self.creds)[0]
                if code != 200:
                    raise self.refused_credentials([str(code)])
                basic = self.creds
            else:
                tokens = self.bearer_tokens(challenge, repos)
        elif status != 200:
            raise RegistryError("the registry %s answered HTTP %s to /v2/" % (self.url, status))
        return tokens, basic

    def bearer_tokens(self, challenge, repos):
        """A pull token per repository from the Bearer challenge's realm."""
        realm = re.search(r'realm="([^"]+)"', challenge)
        service = re.search(r'service="([^"]+)"', challenge)
        if not realm:
            raise RegistryError(
                "the registry %s asks for authentication it does not name" % self.url
            )

        def token(repo):
            target = "%s?service=%s&scope=%s" % (
                realm.group(1),
                quote(service.group(1) if service else "", safe=""),
                quote("repository:%s:pull" % repo, safe=""),
            )
            code, _h, body = self.call(target, auth=self.creds)
            if code != 200:
                return code, None
            doc = json.loads(body or b"{}")
            return code, doc.get("token") or doc.get("access_token")

        with concurrent.futures.ThreadPoolExecutor(max_workers=self.workers) as pool:
            got = dict(zip(repos, pool.map(token, repos)))  # noqa: B905
        refused = sorted(set(str(code) for code, _tok in got.values() if code != 200))
        if refused:
            raise self.refused_credentials(refused)
        return dict((r, tok) for r, (_code, tok) in got.items())

    def manifest_status(self, repo, tag, token=None, basic=None):
        """The HTTP status of HEAD /v2/<repo>/manifests/<tag>: 200 there, 404 not."""
        hdrs = {"Accept": MANIFEST_ACCEPT}
        if token:
            hdrs["Authorization"] = "Bearer " + token
        return self.call(
            "%s/v2/%s/manifests/%s" % (self.url, repo, tag),
            method="HEAD",
            headers=hdrs,
            auth=basic,
        )[0]

    def check_tag(self, repos, tag):
        """Every repository has the tag, or RegistryError says which do not."""
        tokens, basic = self.authenticate(repos)

        def head(repo):
            return self.manifest_status(repo, tag, tokens[repo], basic)

        with concurrent.futures.ThreadPoolExecutor(max_workers=self.workers) as pool:
            codes = dict(zip(repos, pool.map(head, repos)))  # noqa: B905
        missing = [r for r in repos if codes[r] == 404]
        other = sorted("%s (HTTP %s)" % (r, c) for r, c in codes.items() if c not in (200, 404))
        if missing:
            raise RegistryError(
                "%s has no tag %s for %s: build and push them first, or check the tag."
                % (self.url, tag, ", ".join(missing))
            )
        if other:
            raise RegistryError("%s did not answer for %s" % (self.url, ", ".join(other)))
