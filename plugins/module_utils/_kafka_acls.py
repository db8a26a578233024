# -*- coding: utf-8 -*-
# Copyright: (c) 2025, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ACL operations of the Kafka protocol client: ONE DescribeAcls, ONE CreateAcls and ONE
DeleteAcls for any number of ACLs (``KafkaClient``), as the planners' ``AclKey``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._kafka_client import (
    KafkaClient,
)
from ansible_collections.hackathon_todo.deploy.plugins.module_utils._redpanda_plan import (
    AclKey,
    acl_text,
)

try:  # noqa: SIM105 - the guard every optional import of the collection has
    from confluent_kafka.admin import (
        AclBinding,
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )
except ImportError:
    pass  # _kafka_client.HAS_CONFLUENT_KAFKA: the module base fails first, saying what to install


class KafkaAcls(KafkaClient):
    """ACLs: DescribeAcls, CreateAcls, DeleteAcls."""

    _RESTYPE = None

    @classmethod
    def _maps(cls):
        if cls._RESTYPE is None:
            cls._RESTYPE = {
                "topic": ResourceType.TOPIC,
                "group": ResourceType.GROUP,
                "cluster": ResourceType.BROKER,
                "transactional_id": ResourceType.TRANSACTIONAL_ID,
            }
        return cls._RESTYPE

    @staticmethod
    def _binding_args(key):
        restype = KafkaAcls._maps()[key.resource_type]
        return (
            restype,
            key.resource_name,
            ResourcePatternType[key.pattern_type.upper()],
            key.principal,
            key.host,
            AclOperation[key.operation.upper()],
            AclPermissionType[key.permission.upper()],
        )

    @staticmethod
    def _key_from_binding(b):
        reverse = dict((v, k) for k, v in KafkaAcls._maps().items())
        if b.restype not in reverse or b.resource_pattern_type not in (
            ResourcePatternType.LITERAL,
            ResourcePatternType.PREFIXED,
        ):
            return None
        return AclKey(
            b.principal,
            b.host,
            reverse[b.restype],
            b.name,
            b.resource_pattern_type.name.lower(),
            b.operation.name.lower(),
            b.permission_type.name.lower(),
        )

    def describe_acls(
        self,
        principal=None,
        resource_type=None,
        resource_name=None,
        pattern_type=None,
        host=None,
        operation=None,
        permission=None,
    ):
        """ONE DescribeAcls request; returns a sorted list of AclKey."""
        restype = (
            ResourceType.ANY
            if not resource_type or resource_type == "any"
            else self._maps()[resource_type]
        )
        ptype = (
            ResourcePatternType.ANY
            if not pattern_type or pattern_type == "any"
            else ResourcePatternType[pattern_type.upper()]
        )
        op = (
            AclOperation.ANY
            if not operation or operation == "any"
            else AclOperation[operation.upper()]
        )
        perm = (
            AclPermissionType.ANY
            if not permission or permission == "any"
            else AclPermissionType[permission.upper()]
        )
        flt = AclBindingFilter(restype, resource_name, ptype, principal, host, op, perm)
        bindings = self._single(
            "DescribeAcls",
            "listing ACLs",
            lambda: self.client.describe_acls(flt, request_timeout=self.request_timeout),
        )
        keys = [self._key_from_binding(b) for b in bindings]
        return sorted(k for k in keys if k is not None)

    def create_acls(self, keys):
        """ONE CreateAcls request for every key."""
        if not keys:
            return
        bindings = dict((AclBinding(*self._binding_args(k)), k) for k in keys)
        self._batch(
            "CreateAcls",
            "creating ACLs",
            list(bindings),
            lambda items: self.client.create_acls(items, request_timeout=self.request_timeout),
            describe_item=lambda b: acl_text(bindings[b]) + " for " + bindings[b].principal,
        )

    def delete_acls(self, keys):
        """ONE DeleteAcls request with one exact filter per key."""
        if not keys:
            return
        filters = dict((AclBindingFilter(*self._binding_args(k)), k) for k in keys)
        self._batch(
            "DeleteAcls",
            "deleting ACLs",
            list(filters),
            lambda items: self.client.delete_acls(items, request_timeout=self.request_timeout),
            describe_item=lambda f: acl_text(filters[f]) + " for " + filters[f].principal,
        )
