# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Shared `attributes` documentation for every module of the collection.

    Use `hackathon_todo.deploy.attributes` for the descriptions and state each attribute's
    `support` (and `details`) in the module. A module that only reads can use
    `hackathon_todo.deploy.attributes.info_module` instead of stating the support itself.
    """

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description:
      - Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description:
      - Will return details on what has changed (or possibly needs changing in C(check_mode)),
        when in diff mode.
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change
        (unless something outside the module changed the target in between).
"""

    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
    details:
      - This action does not modify state.
"""
