# -*- coding: utf-8 -*-
# Copyright: (c) 2025, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module base of the redpanda_* modules. The leading underscore means "may change".

* argument specs for the broker connection and for the user backends (one place, so the
  modules and the doc fragment cannot drift apart);
* ``RedpandaModule``: AnsibleModule with those options, a lazy ``KafkaAdmin``, the user backend
  the task chose, a request counter and result helpers.

The rest lives in files that import only downwards (plan <- clients <- this file):

* ``_redpanda_plan``: the vocabulary, ``RedpandaError`` and the pure planning functions for
  topics and ACLs; ``_redpanda_user_plan``: the same for SCRAM users;
* ``_kafka_client``: the Kafka protocol connection (``KafkaClient``: configuration, batching,
  retries, error messages; ``RequestCounter``), with its operations on topics
  (``_kafka_topics``), ACLs (``_kafka_acls``) and SCRAM users (``_kafka_scram``), joined in
  ``_kafka_admin`` (``KafkaAdmin``);
* ``_redpanda_users``: the user backends and the HTTP client of the Redpanda Admin API and
  Redpanda Cloud.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kafka_admin import (
    KafkaAdmin,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kafka_client import (
    HAS_CONFLUENT_KAFKA,
    KAFKA_IMPORT_ERROR,
    RequestCounter,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_plan import (
    SASL_MECHANISMS,
    SECURITY_PROTOCOLS,
    USER_BACKENDS,
    RedpandaError,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_users import (
    CLOUD_API_URL,
    CLOUD_AUDIENCE,
    CLOUD_AUTH_URL,
    AdminApiUsers,
    CloudUsers,
    KafkaUsers,
)


# --------------------------------------------------------------------------------------------
# Argument specs (documented by the doc fragment hackathon_todo.deploy.redpanda)
# --------------------------------------------------------------------------------------------


def connection_argument_spec():
    return dict(
        bootstrap_servers=dict(
            type="list", elements="str", fallback=(env_fallback, ["RPK_BROKERS"])
        ),
        security_protocol=dict(type="str", default="SASL_SSL", choices=SECURITY_PROTOCOLS),
        sasl_mechanism=dict(
            type="str",
            choices=SASL_MECHANISMS,
            default="SCRAM-SHA-256",
            fallback=(env_fallback, ["RPK_SASL_MECHANISM"]),
        ),
        sasl_username=dict(type="str", fallback=(env_fallback, ["RPK_USER"])),
        sasl_password=dict(type="str", no_log=True, fallback=(env_fallback, ["RPK_PASS"])),
        ca_file=dict(type="path"),
        tls_verify=dict(type="bool", default=True),
        client_id=dict(type="str", default="ansible-hackathon_todo.deploy"),
        connect_timeout=dict(type="int", default=10),
        request_timeout=dict(type="int", default=30),
    )


def user_backend_argument_spec():
    return dict(
        backend=dict(type="str", default="kafka", choices=USER_BACKENDS),
        admin_api_url=dict(type="str"),
        admin_api_username=dict(type="str"),
        admin_api_password=dict(type="str", no_log=True),
        cloud_client_id=dict(type="str", fallback=(env_fallback, ["REDPANDA_CLIENT_ID"])),
        cloud_client_secret=dict(
            type="str", no_log=True, fallback=(env_fallback, ["REDPANDA_CLIENT_SECRET"])
        ),
        cloud_cluster_id=dict(type="str"),
        cloud_dataplane_url=dict(type="str"),
        cloud_auth_url=dict(type="str", default=CLOUD_AUTH_URL),
        cloud_api_url=dict(type="str", default=CLOUD_API_URL),
        cloud_audience=dict(type="str", default=CLOUD_AUDIENCE),
    )


# --------------------------------------------------------------------------------------------
# The module base class
# --------------------------------------------------------------------------------------------


class RedpandaModule(AnsibleModule):
    """AnsibleModule with the shared connection options, a lazy Kafka client, a request counter
    and result helpers. Modules declare what they manage; this class and the helpers above do it.
    """

    def __init__(self, argument_spec=None, user_backends=False, **kwargs):
        spec = connection_argument_spec()
        if user_backends:
            spec.update(user_backend_argument_spec())
        spec.update(argument_spec or {})
        kwargs.setdefault("supports_check_mode", True)
        super(RedpandaModule, self).__init__(argument_spec=spec, **kwargs)
        self.counter = RequestCounter()
        self._kafka = None

    def require_kafka_lib(self):
        if not HAS_CONFLUENT_KAFKA:
            self.fail_json(
                msg=missing_required_lib("confluent-kafka"), exception=KAFKA_IMPORT_ERROR
            )

    @property
    def kafka(self):
        if self._kafka is None:
            self.require_kafka_lib()
            self._kafka = KafkaAdmin(self.params, self.counter)
        return self._kafka

    def user_backend(self):
        backend = self.params.get("backend") or "kafka"
        if backend == "kafka":
            return KafkaUsers(self.kafka)
        if backend == "admin_api":
            return AdminApiUsers(self.params, self.counter)
        return CloudUsers(self.params, self.counter)

    def can_check_passwords(self):
        """A password can be checked by logging in over the Kafka protocol with SCRAM."""
        p = self.params
        return (
            bool(p.get("bootstrap_servers"))
            and p["security_protocol"].startswith("SASL")
            and HAS_CONFLUENT_KAFKA
        )

    def exit_redpanda(self, **result):
        result["requests"] = self.counter.result()
        self.exit_json(**result)

    def fail_redpanda(self, error, **result):
        result["requests"] = self.counter.result()
        if getattr(error, "partial", None):
            result["partial"] = error.partial
            result["changed"] = True
        self.fail_json(msg=error.msg if isinstance(error, RedpandaError) else str(error), **result)
