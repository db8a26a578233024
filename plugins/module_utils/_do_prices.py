# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""DigitalOcean list prices (USD per month) used by doks_cost_estimate: the one place they live.

Update all of it together, with the date, when DigitalOcean changes prices. A month is
DigitalOcean's billing month: worker nodes, load balancers and volumes are capped at 672 hours
(28 days), so these monthly figures are also the most a resource costs in a calendar month.

Sources (PRICES_AS_OF is the day they were collected; re-check each on the linked page when
updating, and keep the date honest):

* Worker nodes are billed as Droplets of the same size, and the high-availability control plane
  costs $40 per month (the standard one is free):
  https://docs.digitalocean.com/products/kubernetes/details/pricing/
* Basic (Regular) Droplet prices are those of DigitalOcean's 2022-07-01 price change (for example
  s-2vcpu-4gb went from $20 to $24), as tabulated in
  https://gist.github.com/colinwilson/cd31bde012f6727b24b2fc4ebee749c0 ; the live table is
  https://www.digitalocean.com/pricing/droplets
* Regional load balancer: $12 per node per month (https://www.digitalocean.com/pricing/load-balancer).
  Old copies of DigitalOcean's documentation say $10, the price before 2022-07-01.
* Volumes (block storage; the do-block-storage storage class of DOKS): $0.10 per GiB per month
  (https://www.digitalocean.com/pricing/volumes).

These were collected from stored copies of public pages, not from a live price API. The node and
HA figures come from DigitalOcean's own pages; the load balancer and volume figures were only
confirmed in third-party pages from 2026 that quote them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

PRICES_AS_OF = "2026-11-27"
CURRENCY = "USD"
SOURCE = "https://www.digitalocean.com/pricing"

# Droplet size slug -> USD per month. Only sizes offered for DOKS node pools that we looked up;
# an unknown size makes the estimate fail with a message naming this file.
NODE_MONTHLY = {
    "s-1vcpu-2gb": 12.00,
    "s-2vcpu-2gb": 18.00,
    "s-2vcpu-4gb": 24.00,
    "s-4vcpu-8gb": 48.00,
    "s-8vcpu-16gb": 96.00,
}

LOAD_BALANCER_NODE_MONTHLY = 12.00
VOLUME_GIB_MONTHLY = 0.10
HA_CONTROL_PLANE_MONTHLY = 40.00
CONTROL_PLANE_MONTHLY = 0.00
