# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Monthly cost estimate of a declared DOKS cluster, from the price table in _do_prices.py.

Pure functions; amounts are computed in whole cents so totals add up exactly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from ansible_collections.hackathon_todo.deploy.plugins.module_utils import _do_prices as prices

QUANTITY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|k|M|G|T)?\s*$")
UNIT_BYTES = {
    None: 2**30,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
}


class CostError(ValueError):
    pass


def cents(amount):
    return int(round(amount * 100))  # noqa: RUF046 (Python 2 round returns a float)


def dollars(amount_cents):
    return round(amount_cents / 100.0, 2)


def volume_gib(size):
    """Billable GiB of a volume: a Kubernetes quantity ('20Gi', '10G') or a number of GiB,
    rounded up to whole GiB as DigitalOcean sizes volumes."""
    match = QUANTITY_RE.match(str(size))
    if not match:
        raise CostError(
            "Volume size %r is not a Kubernetes quantity such as 20Gi (or a number "
            "of GiB)." % (size,)
        )
    number, unit = float(match.group(1)), match.group(2)
    gib = math.ceil(number * UNIT_BYTES[unit] / float(2**30))
    return int(gib)


def pool_node_counts(pool):
    """(fewest, most) nodes a declared pool bills for."""
    if pool.get("auto_scale"):
        low, high = pool.get("min_nodes"), pool.get("max_nodes")
        if low is None or high is None:
            raise CostError(
                "Node pool %s auto-scales and needs min_nodes and max_nodes." % pool.get("name")
            )
        return low, high
    count = pool.get("count")
    if count is None:
        raise CostError(
            "Node pool %s needs count (or auto_scale with min_nodes/max_nodes)." % pool.get("name")
        )
    return count, count


def estimate(node_pools, load_balancers=1, load_balancer_nodes=1, volumes=None, ha=False):
    """A dict with lines (item, quantities, unit price, monthly min/max) and totals."""
    lines = []
    for pool in node_pools or []:
        size = pool.get("size")
        if size not in prices.NODE_MONTHLY:
            raise CostError(
                "No price for node size %s (pool %s). Known sizes: %s. Add it to "
                "plugins/module_utils/_do_prices.py with its source and date."
                % (size, pool.get("name"), ", ".join(sorted(prices.NODE_MONTHLY)))
            )
        low, high = pool_node_counts(pool)
        unit = cents(prices.NODE_MONTHLY[size])
        lines.append(
            dict(
                item="node pool %s (%s)" % (pool.get("name"), size),
                quantity_min=low,
                quantity_max=high,
                unit="node",
                unit_price=dollars(unit),
                min_cents=low * unit,
                max_cents=high * unit,
            )
        )
    if load_balancers:
        quantity = load_balancers * load_balancer_nodes
        unit = cents(prices.LOAD_BALANCER_NODE_MONTHLY)
        lines.append(
            dict(
                item="load balancer" + ("s" if load_balancers > 1 else ""),
                quantity_min=quantity,
                quantity_max=quantity,
                unit="load balancer node",
                unit_price=dollars(unit),
                min_cents=quantity * unit,
                max_cents=quantity * unit,
            )
        )
    gib = sum(volume_gib(v.get("size")) for v in volumes or [])
    if gib:
        cost = cents(gib * prices.VOLUME_GIB_MONTHLY)
        names = ", ".join("%s %s" % (v.get("name") or "volume", v.get("size")) for v in volumes)
        lines.append(
            dict(
                item="volumes (%s)" % names,
                quantity_min=gib,
                quantity_max=gib,
                unit="GiB",
                unit_price=prices.VOLUME_GIB_MONTHLY,
                min_cents=cost,
                max_cents=cost,
            )
        )
    control = cents(prices.HA_CONTROL_PLANE_MONTHLY if ha else prices.CONTROL_PLANE_MONTHLY)
    lines.append(
        dict(
            item="control plane (%s)" % ("high availability" if ha else "standard"),
            quantity_min=1,
            quantity_max=1,
            unit="cluster",
            unit_price=dollars(control),
            min_cents=control,
            max_cents=control,
        )
    )
    total_min = sum(line["min_cents"] for line in lines)
    total_max = sum(line["max_cents"] for line in lines)
    for line in lines:
        line["monthly_min"] = dollars(line.pop("min_cents"))
        line["monthly_max"] = dollars(line.pop("max_cents"))
    return dict(
        currency=prices.CURRENCY,
        prices_as_of=prices.PRICES_AS_OF,
        source=prices.SOURCE,
        monthly_min=dollars(total_min),
        monthly_max=dollars(total_max),
        lines=lines,
    )


def summary(result, name=None):
    """One line for humans: the total, and the range when autoscaling makes one."""
    label = "DOKS %s" % name if name else "DOKS cluster"
    parts = ", ".join(
        "%s $%.2f%s"
        % (
            line["item"],
            line["monthly_min"],
            "" if line["monthly_min"] == line["monthly_max"] else "-$%.2f" % line["monthly_max"],
        )
        for line in result["lines"]
    )
    if result["monthly_min"] == result["monthly_max"]:
        total = "$%.2f/month" % result["monthly_min"]
    else:
        total = "$%.2f/month at the minimum node counts, up to $%.2f/month at the maximum" % (
            result["monthly_min"],
            result["monthly_max"],
        )
    return "%s: %s (%s; %s prices as of %s)" % (
        label,
        total,
        parts,
        result["currency"],
        result["prices_as_of"],
    )
