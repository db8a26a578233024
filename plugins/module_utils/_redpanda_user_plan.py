# -*- coding: utf-8 -*-
# Copyright: (c) 2025, hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure planning function for the SCRAM users of redpanda_user: ``plan_users`` compares
declared users with what a user backend reports and returns the list of changes, from which
``changed``, ``--diff`` and check mode are derived (a ChangeSet, ``_changes``). No I/O here:
the backends that make the changes real are in ``_redpanda_users``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hackathon_todo.deploy.plugins.module_utils._changes import ChangeSet


# --------------------------------------------------------------------------------------------
# Users: the difference
# --------------------------------------------------------------------------------------------


def plan_users(
    desired,
    current,
    update_password="on_create",  # noqa: S107 - a mode, not a password
    password_ok=None,
    single_mechanism=False,
):
    """Compare declared SCRAM users with the backend's.

    desired: list of dicts name, state, mechanisms (list), iterations (int).
    current: dict name -> dict(mechanisms=dict mechanism -> iterations (or None when the
             backend does not report iterations), or mechanisms=None when the backend cannot
             report mechanisms at all (Redpanda Admin API)).
    password_ok: dict name -> True (the declared password works), False, or None (unknown).
    Passwords cannot be read back: with update_password=on_create an existing user's password is
    left alone; with always it is set unless it is known to work already.
    Returns (changes, errors). ``changes`` is a ChangeSet; a change: action ('create', 'update',
    'delete', 'none'), name, before/after mechanisms, set_mechanisms (credentials to write),
    delete_mechanisms, password_set (bool), reasons (list of str).
    """
    password_ok = password_ok or {}
    changes, errors, seen = ChangeSet(), [], set()
    for spec in desired:
        name = spec["name"]
        if not name:
            errors.append("a user name must not be empty")
            continue
        if name in seen:
            errors.append("user %r is declared more than once" % name)
            continue
        seen.add(name)
        have = current.get(name)
        have_mechs = None if have is None else have.get("mechanisms")
        before = None if have is None else sorted(have_mechs) if have_mechs is not None else None
        if spec.get("state", "present") == "absent":
            if have is None:
                changes.add(
                    "none",
                    name=name,
                    before=None,
                    after=None,
                    set_mechanisms=[],
                    delete_mechanisms=[],
                    password_set=False,
                    reasons=[],
                )
            else:
                changes.add(
                    "delete",
                    name=name,
                    before=before,
                    after=None,
                    set_mechanisms=[],
                    delete_mechanisms=before or [],
                    password_set=False,
                    reasons=["state=absent"],
                )
            continue
        want = list(dict.fromkeys(spec.get("mechanisms") or ["SCRAM-SHA-256"]))
        if single_mechanism and len(want) > 1:
            errors.append(
                "user %r asks for %s; Redpanda keeps one SCRAM credential per user, "
                "so choose one mechanism (the kafka backend, on Apache Kafka, allows "
                "several)" % (name, " and ".join(want))
            )
            continue
        if not spec.get("has_password"):
            errors.append("user %r: password is required when state=present" % name)
            continue
        if have is None:
            changes.add(
                "create",
                name=name,
                before=None,
                after=sorted(want),
                set_mechanisms=want,
                delete_mechanisms=[],
                password_set=True,
                reasons=["user does not exist"],
            )
            continue
        reasons, set_mechs, delete_mechs = [], [], []
        reset = update_password == "always" and password_ok.get(name) is not True  # noqa: S105
        if have_mechs is not None:
            missing = [m for m in want if m not in have_mechs]
            extra = [m for m in sorted(have_mechs) if m not in want]
            if single_mechanism and (missing or extra):
                reasons.append(
                    "mechanism %s -> %s (sets the password too)"
                    % (", ".join(sorted(have_mechs)) or "none", ", ".join(want))
                )
                set_mechs = want
                delete_mechs = []
            else:
                if missing:
                    reasons.append("add %s credential" % ", ".join(missing))
                    set_mechs.extend(missing)
                if extra:
                    reasons.append("remove %s credential" % ", ".join(extra))
                    delete_mechs.extend(extra)
                if reset and spec.get("iterations"):
                    stale = [
                        m
                        for m in want
                        if m in have_mechs and have_mechs[m] and have_mechs[m] != spec["iterations"]
                    ]
                    if stale:
                        reasons.append(
                            "iterations %s -> %d"
                            % (
                                ", ".join("%s=%s" % (m, have_mechs[m]) for m in stale),
                                spec["iterations"],
                            )
                        )
        if reset:
            reasons.append(
                "update_password=always and the password %s"
                % (
                    "does not work"
                    if password_ok.get(name) is False
                    else "cannot be read back, so it is set again"
                )
            )
            for m in want:
                if m not in set_mechs:
                    set_mechs.append(m)
        if set_mechs or delete_mechs:
            after = sorted(want) if have_mechs is not None or set_mechs else before
            changes.add(
                "update",
                name=name,
                before=before,
                after=after,
                set_mechanisms=set_mechs,
                delete_mechanisms=delete_mechs,
                password_set=bool(set_mechs),
                reasons=reasons,
            )
        else:
            changes.add(
                "none",
                name=name,
                before=before,
                after=before,
                set_mechanisms=[],
                delete_mechanisms=[],
                password_set=False,
                reasons=[],
            )
    return changes, errors


def user_diff(changes):
    before, after = {}, {}
    for change in changes:
        if change["action"] == "none":
            continue
        name = change["name"]
        if change["action"] != "create":
            before[name] = dict(
                mechanisms=change["before"]
                if change["before"] is not None
                else "(not reported by this backend)"
            )
        if change["action"] != "delete":
            after[name] = dict(
                mechanisms=change["after"]
                if change["after"] is not None
                else "(not reported by this backend)",
                password="(set by this task)" if change["password_set"] else "(unchanged)",
            )
    return dict(before=dict(users=before), after=dict(users=after))
