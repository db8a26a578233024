# -*- coding: utf-8 -*-
# Copyright: (c) 2025, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""SCRAM user operations of the Kafka protocol client (Apache Kafka's KIP-554): read and change
SCRAM credentials in batches, and check a password by logging in with it (``KafkaClient``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import time

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kafka_client import (
    KafkaClient,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_plan import (
    RedpandaError,
)

try:
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import (
        AdminClient,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialDeletion,
        UserScramCredentialUpsertion,
    )
except ImportError:
    pass  # _kafka_client.HAS_CONFLUENT_KAFKA: the module base fails first, saying what to install


class KafkaScram(KafkaClient):
    """SCRAM users: DescribeUserScramCredentials, AlterUserScramCredentials, a login check."""

    _MECH = None

    @classmethod
    def _mech(cls, name):
        if cls._MECH is None:
            cls._MECH = {
                "SCRAM-SHA-256": ScramMechanism.SCRAM_SHA_256,
                "SCRAM-SHA-512": ScramMechanism.SCRAM_SHA_512,
            }
        return cls._MECH[name]

    def describe_scram_users(self):
        """ONE DescribeUserScramCredentials request: name -> {mechanism: iterations}.

        Preceded by a DescribeCluster check: confluent-kafka 2.16 aborts the whole process
        (munmap_chunk(): invalid pointer) when DescribeUserScramCredentials is denied, so a user
        without DESCRIBE on the cluster must never send it.
        """
        self.require_cluster_operation("describe", "read SCRAM credentials", unknown_is_denied=True)
        result = self._single(
            "DescribeUserScramCredentials",
            "listing SCRAM users",
            lambda: self.client.describe_user_scram_credentials(
                request_timeout=self.request_timeout
            ),
        )
        out = {}
        for name, desc in (result or {}).items():
            mechs = {}
            for info in desc.scram_credential_infos:
                mechs[info.mechanism.name.replace("_", "-")] = info.iterations
            out[name] = mechs
        return out

    def alter_scram_users(self, upserts, deletions):
        """AlterUserScramCredentials for every user, batched.

        upserts: list of (name, mechanism, iterations, password); deletions: (name, mechanism).
        Apache Kafka refuses two alterations of the same user in one request
        (DUPLICATE_RESOURCE), so the alterations go out in rounds: round N carries the N-th
        alteration of every user. One request when each user has one change, two at most.
        """
        per_user = collections.OrderedDict()
        for name, mech, iterations, password in upserts:
            per_user.setdefault(name, []).append(
                UserScramCredentialUpsertion(
                    name,
                    ScramCredentialInfo(self._mech(mech), iterations),
                    password.encode("utf-8"),
                )
            )
        for name, mech in deletions:
            per_user.setdefault(name, []).append(
                UserScramCredentialDeletion(name, self._mech(mech))
            )
        rounds = max([len(v) for v in per_user.values()] or [0])
        for index in range(rounds):
            batch = dict(
                (name, alts[index]) for name, alts in per_user.items() if len(alts) > index
            )
            self._batch(
                "AlterUserScramCredentials",
                "changing SCRAM credentials",
                sorted(batch),
                lambda names, batch=batch: self.client.alter_user_scram_credentials(
                    [batch[n] for n in names], request_timeout=self.request_timeout
                ),
                describe_item=lambda n: "user %r" % n,
            )

    def scram_login_works(self, username, password, mechanism):
        """Log in as `username` over the Kafka protocol: the only way to check a password.

        True when the broker accepts it, False when it rejects it. The Metadata request that
        follows needs no ACL. Counted as a request of its own.
        """
        errors = []
        conf = self.config(username=username, password=password, mechanism=mechanism)
        conf["error_cb"] = errors.append
        conf["client.id"] = conf["client.id"] + "-password-check"
        client = AdminClient(conf)
        deadline = time.time() + self.connect_timeout + 5
        try:
            while time.time() < deadline:
                self.counter.add("Metadata (password check)")
                try:
                    client.list_topics(timeout=1)
                    return True
                except KafkaException:
                    client.poll(0)
                    if any(e.code() == KafkaError._AUTHENTICATION for e in errors):
                        return False
                    if any(e.code() == KafkaError._ALL_BROKERS_DOWN for e in errors):
                        raise RedpandaError(
                            "cannot reach %s to check the password of %r" % (self.servers, username)
                        ) from None
            raise RedpandaError(
                "no answer from %s while checking the password of %r" % (self.servers, username)
            )
        finally:
            del client
