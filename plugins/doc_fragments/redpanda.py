# -*- coding: utf-8 -*-
# Copyright: (c) 2025, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection to the Kafka API of a Redpanda (or Apache Kafka) cluster. Mirrors
    # connection_argument_spec() in plugins/module_utils/_redpanda.py.
    DOCUMENTATION = r"""
options:
  bootstrap_servers:
    description:
      - Kafka API addresses of the cluster, C(host:port). Redpanda Cloud shows them as the
        bootstrap server URL of the cluster.
      - Falls back to the E(RPK_BROKERS) environment variable (comma separated), the variable
        C(rpk) uses.
      - Required by every module except M(hackathon_todo.deploy.redpanda_user) with
        O(hackathon_todo.deploy.redpanda_user#module:backend=admin_api) or
        O(hackathon_todo.deploy.redpanda_user#module:backend=cloud).
    type: list
    elements: str
  security_protocol:
    description:
      - How the client talks to the brokers. Redpanda Cloud uses C(SASL_SSL).
      - C(SASL_PLAINTEXT) and C(PLAINTEXT) send credentials and data unencrypted; use them only on
        a trusted network such as a local test bed.
    type: str
    default: SASL_SSL
    choices: [SASL_SSL, SASL_PLAINTEXT, SSL, PLAINTEXT]
  sasl_mechanism:
    description:
      - SASL mechanism of O(sasl_username). Falls back to E(RPK_SASL_MECHANISM).
    type: str
    default: SCRAM-SHA-256
    choices: [SCRAM-SHA-256, SCRAM-SHA-512, PLAIN]
  sasl_username:
    description:
      - User the module authenticates as. It needs administrative rights for what the module
        changes (a super user, or ACLs such as C(ALTER) on the cluster for ACL changes).
      - Falls back to E(RPK_USER).
    type: str
  sasl_password:
    description:
      - Password of O(sasl_username). Never logged or returned. Falls back to E(RPK_PASS).
    type: str
  ca_file:
    description:
      - PEM file with the certificate authorities that sign the broker (and HTTP API)
        certificates. Without it the system trust store is used.
    type: path
  tls_verify:
    description:
      - Verify the broker (and HTTP API) certificates and host names. Turn off only for a test
        bed with self-signed certificates.
    type: bool
    default: true
  client_id:
    description:
      - Kafka C(client.id) the module sends; it appears in broker request logs and quotas.
    type: str
    default: ansible-hackathon_todo.deploy
  connect_timeout:
    description:
      - Seconds to wait for a broker connection to be set up.
    type: int
    default: 10
  request_timeout:
    description:
      - Seconds to wait for one request (or one HTTP call) to be answered.
    type: int
    default: 30
requirements:
  - confluent-kafka >= 2.3 (the Python client of librdkafka) on the host that runs the module
notes:
  - The modules fail fast, with the cause, on authentication failures and unreachable brokers;
    they retry only errors the broker marks as retryable (for example C(NOT_CONTROLLER) or
    C(REQUEST_TIMED_OUT)), with jittered exponential backoff.
  - HTTP calls (Admin API, Redpanda Cloud) are retried on C(429), C(502), C(503), C(504),
    timeouts and reset connections when the request is idempotent, honouring C(Retry-After) up to
    60 seconds; a request that creates a user is sent again only on C(429), C(503) or a refused
    connection, which mean it was not applied.
  - Every module returns C(requests), the number of requests it sent by API, so batching can be
    verified.
  - Set the connection once for a play with
    C(module_defaults) and the action group C(group/hackathon_todo.deploy.redpanda).
"""

    # The three user backends shared by redpanda_user and redpanda_info. Mirrors
    # user_backend_argument_spec() in plugins/module_utils/_redpanda.py.
    USER_BACKENDS = r"""
options:
  backend:
    description:
      - Where SCRAM users are kept.
      - C(kafka) uses the Kafka protocol (KIP-554 C(DescribeUserScramCredentials) and
        C(AlterUserScramCredentials)). Apache Kafka implements it; Redpanda does not.
      - C(admin_api) uses the Redpanda Admin API C(/v1/security/users) of a self-hosted cluster.
      - C(cloud) uses the Redpanda Cloud Data Plane API C(/v1/users) with an OAuth2
        client-credentials token.
    type: str
    default: kafka
    choices: [kafka, admin_api, cloud]
  admin_api_url:
    description:
      - Base URL of the Redpanda Admin API, for example C(http://redpanda-0.redpanda:9644).
      - Required with O(backend=admin_api).
    type: str
  admin_api_username:
    description:
      - HTTP Basic user for the Admin API (a super user). Defaults to O(sasl_username).
    type: str
  admin_api_password:
    description:
      - Password of O(admin_api_username). Defaults to O(sasl_password) when
        O(admin_api_username) is not set.
    type: str
  cloud_client_id:
    description:
      - Client ID of a Redpanda Cloud service account (Organization IAM, Service accounts).
      - Falls back to E(REDPANDA_CLIENT_ID). Required with O(backend=cloud).
    type: str
  cloud_client_secret:
    description:
      - Client secret of that service account. Falls back to E(REDPANDA_CLIENT_SECRET).
    type: str
  cloud_cluster_id:
    description:
      - ID of the Redpanda Cloud cluster. The Data Plane API URL is looked up from it through the
        Control Plane API (C(GET /v1/serverless/clusters/{id}), then C(GET /v1/clusters/{id})).
      - Required with O(backend=cloud) unless O(cloud_dataplane_url) is given.
    type: str
  cloud_dataplane_url:
    description:
      - Data Plane API URL of the cluster (skips the lookup by O(cloud_cluster_id)).
    type: str
  cloud_auth_url:
    description:
      - OAuth2 token endpoint of Redpanda Cloud.
    type: str
    default: https://auth.prd.cloud.redpanda.com/oauth/token
  cloud_api_url:
    description:
      - Redpanda Cloud Control Plane API.
    type: str
    default: https://api.redpanda.com
  cloud_audience:
    description:
      - OAuth2 audience of the token.
    type: str
    default: cloudv2-production.redpanda.cloud
"""
