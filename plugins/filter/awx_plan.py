# -*- coding: utf-8 -*-
# Copyright: hackathon-todo platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: awx_plan
short_description: Turn AWX objects described as data into ordered, checked awx.awx module calls
version_added: 0.1.0
author:
  - hackathon-todo platform team (@hackathon-todo)
description:
  - Takes the objects of the role C(hackathon_todo.deploy.awx_config) (organizations, credential
    types, credentials, execution environments, projects, inventories, inventory sources, job
    templates, workflow job templates) and returns the steps that apply them, in dependency order.
  - Objects with C(state=absent) are removed after everything else, in reverse order, so
    nothing is deleted while something still uses it.
  - Checks the data as a whole and reports every problem at once, before anything reaches AWX.
    It finds names that refer to nothing, duplicate names, credential inputs the credential
    type does not declare, injector templates that use undeclared fields, survey questions that
    contradict themselves or whose default does not match their pattern, workflow links to
    unknown nodes, cycles, and launch-time values (inventory, variables) a job template would
    silently ignore.
  - Expands the compact survey and workflow forms into what the AWX API takes (C(survey_spec),
    C(workflow_nodes)). A survey question may carry a C(pattern); AWX surveys cannot check one
    (only length, range and choices), so the pattern is added to the question's description and
    the playbook must check it too.
positional: _input, default_organization, existing, playbooks
options:
  _input:
    description:
      - Dict of object kind to list of objects. Kinds are C(organizations), C(credential_types),
        C(credentials), C(execution_environments), C(projects), C(inventories),
        C(inventory_sources), C(job_templates), C(workflow_job_templates).
    type: dict
    required: true
  default_organization:
    description: Organization of objects that name none.
    type: str
    default: Default
  existing:
    description:
      - Objects that exist in AWX but are not managed by this data, by kind, so references to them
        are valid (for example AWX's built-in credential types, or the C(Default) organization).
    type: dict
    default: {}
  playbooks:
    description: Playbooks job templates may run; empty to accept any C(.yml) name.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Plan the AWX objects
  ansible.builtin.set_fact:
    awx_plan: >-
      {{ {'job_templates': awx_config_job_templates, 'projects': awx_config_projects}
         | hackathon_todo.deploy.awx_plan('Default', {'credential_types': ['Vault']}) }}

- name: Apply each step in order
  ansible.builtin.include_tasks: "{{ step.kind }}.yml"
  loop: "{{ awx_plan.steps }}"
  loop_control:
    loop_var: step
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    steps:
      description:
        - One entry per kind and state that has objects, in the order to apply them. Each has
          C(kind), C(state) and C(objects) (the module arguments of each object).
        - Credentials carry no C(inputs), only C(input_fields), the names of the inputs to send.
          Secret values never enter the plan.
      type: list
      elements: dict
    missing_inputs:
      description:
        - One line naming the credential and the field, for each empty credential input that
          must have a value (required by its type, or of a type not defined in the data).
      type: list
      elements: str
    summary:
      description: One line per step, the kind, the state and the object names.
      type: list
      elements: str
"""

import re

from ansible.errors import AnsibleFilterError

# The order in which AWX objects can be created: each kind only refers to kinds before it.
ORDER = (
    "organizations",
    "credential_types",
    "credentials",
    "execution_environments",
    "projects",
    "inventories",
    "inventory_sources",
    "job_templates",
    "workflow_job_templates",
)

# (field, kind it names, is a list)
REFERENCES = {
    "credentials": [
        ("organization", "organizations", False),
        ("credential_type", "credential_types", False),
    ],
    "execution_environments": [
        ("organization", "organizations", False),
        ("credential", "credentials", False),
    ],
    "projects": [
        ("organization", "organizations", False),
        ("credential", "credentials", False),
        ("default_environment", "execution_environments", False),
    ],
    "inventories": [("organization", "organizations", False)],
    "inventory_sources": [
        ("inventory", "inventories", False),
        ("source_project", "projects", False),
        ("credential", "credentials", False),
        ("execution_environment", "execution_environments", False),
    ],
    "job_templates": [
        ("organization", "organizations", False),
        ("project", "projects", False),
        ("inventory", "inventories", False),
        ("execution_environment", "execution_environments", False),
        ("credentials", "credentials", True),
    ],
    "workflow_job_templates": [
        ("organization", "organizations", False),
        ("inventory", "inventories", False),
    ],
}

# Kinds that belong to an organization and get the default one when they name none.
ORGANIZATION_KINDS = (
    "credentials",
    "projects",
    "inventories",
    "job_templates",
    "workflow_job_templates",
)

SURVEY_TYPES = ("text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect")
# Keys of the compact node form that are not passed to AWX as they are.
NODE_KEYS = (
    "identifier",
    "job_template",
    "approval",
    "inventory",
    "extra_data",
    "success",
    "failure",
    "always",
)
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TEMPLATE_FIELD = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)")


class _Problems(object):
    def __init__(self):
        self.items = []

    def add(self, where, message):
        self.items.append("%s: %s" % (where, message))


def _where(kind, obj):
    singular = "inventory" if kind == "inventories" else kind[:-1]
    return "%s %r" % (singular.replace("_", " "), obj.get("name", "?"))


def _state(obj):
    return obj.get("state", "present")


def _check_names(data, problems):
    names = {}
    for kind in ORDER:
        seen = set()
        for obj in data.get(kind) or []:
            if not isinstance(obj, dict) or not obj.get("name"):
                # keys only: a credential's values are secrets
                keys = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
                problems.add(kind, "every object needs a name (got one with %s)" % (keys,))
                continue
            if obj["name"] in seen:
                problems.add(_where(kind, obj), "defined twice")
            seen.add(obj["name"])
        names[kind] = seen
    return names


def _check_references(data, names, existing, problems):
    absent = dict(
        (kind, set(o["name"] for o in data.get(kind) or [] if _state(o) == "absent"))
        for kind in ORDER
    )
    for kind, refs in REFERENCES.items():
        for obj in data.get(kind) or []:
            if _state(obj) == "absent":
                continue
            for field, target, many in refs:
                value = obj.get(field)
                if value in (None, "", []):
                    continue
                for ref in value if many else [value]:
                    if ref in absent[target]:
                        problems.add(
                            _where(kind, obj),
                            "%s %r is being removed (state: absent)" % (field, ref),
                        )
                    elif ref not in names[target] and ref not in existing.get(target, ()):
                        problems.add(
                            _where(kind, obj),
                            "%s %r is not defined in %s (nor listed as existing)"
                            % (field, ref, target),
                        )


def _check_credential_types(data, problems):
    fields_by_type = {}
    for ctype in data.get("credential_types") or []:
        where = _where("credential_types", ctype)
        fields = (ctype.get("inputs") or {}).get("fields") or []
        ids = [f.get("id") for f in fields]
        if len(set(ids)) != len(ids) or None in ids:
            problems.add(where, "input fields need unique ids")
        required = set((ctype.get("inputs") or {}).get("required") or [])
        if required - set(ids):
            problems.add(where, "required inputs %s are not fields" % sorted(required - set(ids)))
        used = set()
        for section in (ctype.get("injectors") or {}).values():
            for template in (section or {}).values():
                used.update(TEMPLATE_FIELD.findall(str(template)))
        used.discard("tower")
        if used - set(ids):
            problems.add(where, "injectors use undeclared fields %s" % sorted(used - set(ids)))
        fields_by_type[ctype["name"]] = (set(ids), required)
    return fields_by_type


def _check_credentials(data, fields_by_type, problems):
    """Structure problems are errors; empty values are reported, not raised.

    An empty value of a field its type requires (or of any field of a type this data does not
    define, such as AWX's built-in Vault) is a missing secret: the plan lists it, and applying
    refuses to run while any is missing. An empty optional field is left out of the inputs.
    """
    missing, send = [], {}
    for cred in data.get("credentials") or []:
        if not isinstance(cred, dict) or not cred.get("name") or _state(cred) == "absent":
            continue
        where = _where("credentials", cred)
        inputs = cred.get("inputs") or {}
        known = fields_by_type.get(cred.get("credential_type"))
        if known is not None:
            ids, required = known
            if set(inputs) - ids:
                problems.add(
                    where, "inputs %s are not fields of its type" % sorted(set(inputs) - ids)
                )
            for field in sorted(required - set(inputs)):
                problems.add(where, "required input %r is not given" % field)
        fields = []
        for field in sorted(inputs):
            if inputs[field] not in (None, ""):
                fields.append(field)
            elif known is None or field in known[1]:
                missing.append("credential %r: %s" % (cred["name"], field))
        send[cred["name"]] = fields
    return missing, send


def _survey(owner, questions, problems):
    spec, patterns, variables = [], {}, set()
    for q in questions or []:
        where = "%s, survey question %r" % (owner, q.get("variable"))
        variable = q.get("variable")
        if not variable or not IDENTIFIER.match(str(variable)):
            problems.add(where, "variable must be an identifier")
        if variable in variables:
            problems.add(where, "asked twice")
        variables.add(variable)
        qtype = q.get("type", "text")
        if qtype not in SURVEY_TYPES:
            problems.add(where, "type %r is not one of %s" % (qtype, ", ".join(SURVEY_TYPES)))
        item = {
            "question_name": q.get("question") or variable,
            "question_description": q.get("description", ""),
            "variable": variable,
            "type": qtype,
            "required": bool(q.get("required", False)),
        }
        choices = q.get("choices")
        if qtype in ("multiplechoice", "multiselect"):
            if not choices:
                problems.add(where, "%s needs choices" % qtype)
            item["choices"] = list(choices or [])
        elif choices:
            problems.add(where, "choices only apply to multiplechoice and multiselect")
        for bound in ("min", "max"):
            if q.get(bound) is not None:
                item[bound] = q[bound]
        if (
            item.get("min") is not None
            and item.get("max") is not None
            and item["min"] > item["max"]
        ):
            problems.add(where, "min %s is greater than max %s" % (item["min"], item["max"]))
        pattern = q.get("pattern")
        if pattern:
            if qtype not in ("text", "password"):
                problems.add(where, "a pattern only applies to text and password questions")
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.add(where, "pattern %r does not compile: %s" % (pattern, exc))
                pattern = None
        default = q.get("default")
        if default not in (None, ""):
            item["default"] = default
            _check_answer(where, item, pattern, default, problems)
        if pattern:
            patterns[variable] = pattern
            note = "Must match %s (the playbook checks it; AWX surveys cannot)." % pattern
            item["question_description"] = (item["question_description"] + " " + note).strip()
        spec.append(item)
    return spec, patterns, variables


def _check_answer(where, item, pattern, value, problems):
    """Would AWX, and the playbook, accept this answer?"""
    qtype = item["type"]
    if qtype in ("text", "textarea", "password"):
        text = str(value)
        if item.get("min") is not None and len(text) < item["min"]:
            problems.add(where, "%r is shorter than min %s" % (text, item["min"]))
        if item.get("max") is not None and len(text) > item["max"]:
            problems.add(where, "%r is longer than max %s" % (text, item["max"]))
        if pattern and not re.search(pattern, text):
            problems.add(where, "%r does not match %s" % (text, pattern))
    elif qtype in ("integer", "float"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.add(where, "%r is not a number" % (value,))
        else:
            if item.get("min") is not None and value < item["min"]:
                problems.add(where, "%r is below min %s" % (value, item["min"]))
            if item.get("max") is not None and value > item["max"]:
                problems.add(where, "%r is above max %s" % (value, item["max"]))
    elif qtype == "multiplechoice" and value not in item.get("choices", []):
        problems.add(where, "%r is not one of the choices" % (value,))


def _expand_template(kind, obj, org, problems, playbooks):
    where = _where(kind, obj)
    out = dict((k, v) for k, v in obj.items() if k not in ("survey", "nodes"))
    if kind in ORGANIZATION_KINDS and not out.get("organization"):
        out["organization"] = org
    if kind == "job_templates" and _state(obj) == "present":
        playbook = obj.get("playbook") or ""
        if not playbook.endswith((".yml", ".yaml")):
            problems.add(where, "playbook %r is not a playbook file" % playbook)
        elif playbooks and playbook not in playbooks:
            problems.add(where, "playbook %r is not one of %s" % (playbook, ", ".join(playbooks)))
    spec, patterns, variables = _survey(where, obj.get("survey"), problems)
    if obj.get("survey") is not None:
        out["survey_enabled"] = bool(spec)
        out["survey_spec"] = {"name": obj["name"], "description": "", "spec": spec} if spec else {}
        out["survey_patterns"] = patterns
    return out, variables


def _expand_nodes(wf, out, templates, problems):
    where = _where("workflow_job_templates", wf)
    nodes = wf.get("nodes") or []
    ids = [n.get("identifier") for n in nodes]
    if len(set(ids)) != len(ids) or None in ids:
        problems.add(where, "nodes need unique identifiers")
    graph = {}
    expanded = []
    for node in nodes:
        nwhere = "%s, node %r" % (where, node.get("identifier"))
        unknown = set(node) - set(NODE_KEYS)
        if unknown:
            problems.add(nwhere, "unknown keys %s" % sorted(unknown))
        kinds = [k for k in ("job_template", "approval") if node.get(k)]
        if len(kinds) != 1:
            problems.add(nwhere, "needs exactly one of job_template, approval")
            continue
        item = {"identifier": node["identifier"]}
        if kinds == ["job_template"]:
            name = node["job_template"]
            jt, asks_vars = templates.get(name, (None, set()))
            if jt is None:
                problems.add(nwhere, "job template %r is not defined in job_templates" % name)
            item["unified_job_template"] = {
                "name": name,
                "type": "job_template",
                "organization": {"name": (jt or {}).get("organization", out["organization"])},
            }
            if node.get("inventory"):
                if jt is not None and not jt.get("ask_inventory_on_launch"):
                    problems.add(
                        nwhere,
                        "job template %r does not prompt for an inventory (ask_inventory_on_launch)"
                        % name,
                    )
                item["inventory"] = {
                    "name": node["inventory"],
                    "organization": {"name": out["organization"]},
                }
            extra = node.get("extra_data") or {}
            if extra and jt is not None and not jt.get("ask_variables_on_launch"):
                ignored = sorted(set(extra) - asks_vars)
                if ignored:
                    problems.add(
                        nwhere,
                        "job template %r would ignore extra_data %s (neither in its survey nor "
                        "ask_variables_on_launch)" % (name, ignored),
                    )
            if extra:
                item["extra_data"] = extra
        else:
            approval = node["approval"]
            if not isinstance(approval, dict) or not approval.get("name"):
                problems.add(nwhere, "approval needs a name")
                approval = {"name": "?"}
            item["unified_job_template"] = {
                "name": approval["name"],
                "type": "workflow_approval",
                "description": approval.get("description", ""),
                "timeout": int(approval.get("timeout", 0)),
            }
        related = {}
        graph[node["identifier"]] = []
        for link in ("success", "failure", "always"):
            targets = node.get(link) or []
            for target in targets:
                if target not in ids:
                    problems.add(nwhere, "%s link to unknown node %r" % (link, target))
                graph[node["identifier"]].append(target)
            related["%s_nodes" % link] = [{"identifier": t} for t in targets]
        item["related"] = related
        expanded.append(item)
    cycle = _find_cycle(graph)
    if cycle:
        problems.add(where, "nodes form a cycle: %s" % " -> ".join(cycle))
    return expanded


def _find_cycle(graph):
    """Node identifiers that form a cycle (first one repeated at the end), or None."""
    done, stack = set(), []

    def visit(node):
        if node in stack:
            return [*stack[stack.index(node) :], node]
        if node in done or node not in graph:
            return None
        stack.append(node)
        for nxt in graph[node]:
            found = visit(nxt)
            if found:
                return found
        stack.pop()
        done.add(node)
        return None

    for node in graph:
        found = visit(node)
        if found:
            return found
    return None


def awx_plan(data, default_organization="Default", existing=None, playbooks=None):
    if not isinstance(data, dict):
        raise AnsibleFilterError(
            "awx_plan expects a dict of object lists, got %s" % type(data).__name__
        )
    existing = existing or {}
    playbooks = list(playbooks or [])
    unknown = set(data) - set(ORDER)
    problems = _Problems()
    if unknown:
        problems.add("data", "unknown kinds %s (known: %s)" % (sorted(unknown), ", ".join(ORDER)))
    for kind in ORDER:
        if not isinstance(data.get(kind) or [], list):
            problems.add(kind, "must be a list")
            data = dict(data, **{kind: []})
    names = _check_names(data, problems)
    ref_existing = dict((k, list(v)) for k, v in existing.items())
    ref_existing.setdefault("organizations", [])
    if default_organization not in names["organizations"]:
        ref_existing["organizations"].append(default_organization)
    _check_references(data, names, ref_existing, problems)
    fields_by_type = _check_credential_types(data, problems)
    missing, input_fields = _check_credentials(data, fields_by_type, problems)

    expanded = dict((kind, []) for kind in ORDER)
    templates = {}
    for kind in ORDER:
        for obj in data.get(kind) or []:
            if not isinstance(obj, dict) or not obj.get("name"):
                continue
            if kind in ("job_templates", "workflow_job_templates"):
                out, variables = _expand_template(
                    kind, obj, default_organization, problems, playbooks
                )
                if kind == "job_templates":
                    templates[obj["name"]] = (out, variables)
                else:
                    out["workflow_nodes"] = _expand_nodes(obj, out, templates, problems)
            else:
                out = dict(obj)
                if kind in ORGANIZATION_KINDS and not out.get("organization"):
                    out["organization"] = default_organization
                if kind == "credentials":
                    # Secrets stay out of the plan; the role reads them from the data it was given.
                    out.pop("inputs", None)
                    out["input_fields"] = input_fields.get(obj["name"], [])
            expanded[kind].append(out)

    if problems.items:
        raise AnsibleFilterError(
            "the AWX data has %d problem(s):\n- %s"
            % (len(problems.items), "\n- ".join(problems.items))
        )

    steps = []
    for state, kinds in (("present", ORDER), ("absent", tuple(reversed(ORDER)))):
        for kind in kinds:
            objects = [o for o in expanded[kind] if _state(o) == state]
            if objects:
                steps.append({"kind": kind, "state": state, "objects": objects})
    summary = [
        "%s (%s): %s" % (s["kind"], s["state"], ", ".join(o["name"] for o in s["objects"]))
        for s in steps
    ]
    return {"steps": steps, "missing_inputs": missing, "summary": summary}


class FilterModule(object):
    def filters(self):
        return {"awx_plan": awx_plan}
