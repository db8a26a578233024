# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one way the collection's modules describe what a run changes, and the tracker that holds it.

A change is a dict with the key ``action``, one of ``ACTIONS``:

* ``create``, ``update``, ``delete``, ``upgrade``: the run changes something (a real run does,
  check mode would);
* ``none``: nothing changes. Either the item is as declared already, or it is a finding the run
  does not act on, which then says why in ``reason`` (``not declared; left running
  (prune_node_pools: true deletes it)``).

The other keys say what and how (``target``, ``name``, ``field``, ``before``, ``after``, ...); they
belong to each module and its RETURN documentation.

``ChangeSet`` collects a plan's changes in order, each with the request that makes it real (any
data the module's client understands, or None), in the spirit of community.docker's
DifferenceTracker: ``changed``, the ``diff`` and what check mode skips all come from the same
set, so they cannot disagree. Pure data: planners fill it without I/O, modules send its requests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

NONE = "none"
ACTIONS = ("create", "update", "delete", "upgrade", NONE)


class ChangeSet(object):
    """Planned changes in order, each with its request (or None).

    ``steps`` is the list of ``(change, request)``. A request may stand for several changes (one
    PUT for three fields): it goes with the first of them, the others have None.
    """

    def __init__(self):
        self.steps = []

    def add(self, action, target=None, request=None, **fields):
        """Record one change and return it: ``dict(action=action, target=target, **fields)``
        (no ``target`` key when it is None). Raises ValueError for an action not in ACTIONS, and
        for a ``none`` change with a request (nothing is sent for what does not change)."""
        if action not in ACTIONS:
            raise ValueError("unknown action %r: one of %s" % (action, ", ".join(ACTIONS)))
        if action == NONE and request is not None:
            raise ValueError("a change with action none sends no request")
        change = dict(action=action)
        if target is not None:
            change["target"] = target
        change.update(fields)
        self.steps.append((change, request))
        return change

    def extend(self, other):
        """Append another ChangeSet's steps (a module joining a planner's set to its own)."""
        self.steps.extend(other.steps)
        return self

    def select(self, *actions):
        """A new ChangeSet with the steps whose action is one of ``actions``, in order."""
        picked = ChangeSet()
        picked.steps = [(c, r) for c, r in self.steps if c["action"] in actions]
        return picked

    @property
    def changes(self):
        """The changes, in order: a module's RV(changes)."""
        return [change for change, _request in self.steps]

    @property
    def requests(self):
        """The requests, in the order they must be sent."""
        return [request for _change, request in self.steps if request is not None]

    @property
    def changed(self):
        """Whether anything changes: some change is not ``none``."""
        return any(change["action"] != NONE for change, _request in self.steps)

    def to_send(self, check_mode):
        """The ``(change, request)`` steps that carry a request, in order: what a run sends.
        Nothing in check mode."""
        if check_mode:
            return []
        return [(c, r) for c, r in self.steps if r is not None]

    def through(self, change):
        """The changes up to and including ``change`` (this very dict): what a run that stopped
        at it went through. All of them when ``change`` is not in the set."""
        out = []
        for planned, _request in self.steps:
            out.append(planned)
            if planned is change:
                break
        return out

    def result(self, diff_mode, diff=None, key="changes", **extra):
        """The module's result: ``changed``, the changes under ``key`` (left out with
        ``key=None``), ``extra``, and ``diff`` only when the module runs with --diff
        (``diff_mode``: AnsibleModule's ``_diff``). ``diff`` is the before/after dict, or a
        function that builds it (called only in diff mode); None leaves it out."""
        result = dict(changed=self.changed)
        if key is not None:
            result[key] = self.changes
        result.update(extra)
        if diff_mode:
            value = diff() if callable(diff) else diff
            if value is not None:
                result["diff"] = value
        return result
