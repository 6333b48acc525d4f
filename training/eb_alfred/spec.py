# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""EB-ALFRED's interface, read from the downloaded upstream files (never copied into code).

The action-name lists, the skill templates, the step caps, the feedback strings, the system
prompt, the in-context examples and the later-turn prompt pieces are parsed with :mod:`ast`
from ``source/*.py`` and ``evaluator/*`` of an EB data folder. Upstream code is never run.
A string is addressed by the function that holds it and its position there; the expected
placeholders are checked on load, so a changed upstream file fails loudly.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
import functools
import json
from pathlib import Path
import string
from typing import Any

from ego_reasoner_ros.core.errors import DataError

SOURCE = 'source'
_UTILS = 'envs__eb_alfred__utils.py'
_ENV = 'envs__eb_alfred__EBAlfEnv.py'
_CONNECTOR = 'envs__eb_alfred__thor_connector.py'
_PLANNER = 'planner__vlm_planner.py'
_PLANNER_UTILS = 'planner__planner_utils.py'
_PROMPTS = 'evaluator/system_prompts.py'
_EXAMPLES = 'evaluator/alfred_examples.json'
_LH_EXAMPLES = 'evaluator/alfred_long_horizon_examples.json'

#: (function, index) -> placeholders of the connector's message strings we use.
_MESSAGES = {
    'nav_obj.missing': ('nav_obj', 0, {'target_obj'}),
    'pick.missing': ('pick', 0, {'obj_name'}),
    'pick.hidden': ('pick', 1, {'obj_name', 'recep_name'}),
    'pick.empty_hand': ('pick', 2, set()),
    'pick.holding': ('pick', 3, {'holding_obj_type'}),
    'put.empty_hand': ('put', 0, set()),
    'put.no_receptacle': ('put', 1, {'receptacle_name'}),
    'put.failed': ('put', 2, {'receptacle_name'}),
    'drop.empty_hand': ('drop', 0, set()),
    'drop.failed': ('drop', 1, set()),
    'open.missing': ('open', 0, {'obj_name'}),
    'open.already': ('open', 1, {'obj_name'}),
    'open.failed': ('open', 2, set()),
    'close.missing': ('close', 0, {'obj_name'}),
    'close.failed': ('close', 1, set()),
    'close.already': ('close', 2, {'obj_name'}),
    'toggleon.missing': ('toggleon', 0, {'obj_name'}),
    'toggleon.failed': ('toggleon', 1, set()),
    'toggleoff.missing': ('toggleoff', 0, {'obj_name'}),
    'toggleoff.failed': ('toggleoff', 1, set()),
    'slice.missing': ('slice', 0, {'obj_name'}),
    'slice.failed': ('slice', 1, set()),
    'put.dropped': ('llm_skill_interact', 0, set()),
}


def _template(node: ast.AST) -> str:
    """A str constant or an f-string as a ``str.format`` template named by its expressions."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace('{', '{{').replace('}', '}}')
    if isinstance(node, ast.JoinedStr):
        out = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                out.append(str(part.value).replace('{', '{{').replace('}', '}}'))
            elif isinstance(part, ast.FormattedValue):
                out.append('{' + ast.unparse(part.value) + '}')
        return ''.join(out)
    raise DataError(f'not a string node: {ast.dump(node)[:80]}')


def fields_of(template: str) -> set[str]:
    """Placeholder names of a template."""
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def fill(template: str, **values: Any) -> str:
    """Fill a template's named placeholders (a dotted/complex name is passed whole)."""
    out = []
    for lit, name, _spec, _conv in string.Formatter().parse(template):
        out.append(lit)
        if name is not None:
            if name not in values:
                raise KeyError(name)
            out.append(str(values[name]))
    return ''.join(out)


def _functions(tree: ast.AST) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str))


def _strings_in(fn: ast.AST, *, skip_docstring: bool = True) -> list[ast.AST]:
    body = list(getattr(fn, 'body', []))
    doc = body[0].value if (skip_docstring and body and isinstance(body[0], ast.Expr)
                            and _is_str(body[0].value)) else None
    found = [n for n in ast.walk(fn) if _is_str(n) and n is not doc]
    inner = {id(v) for n in found if isinstance(n, ast.JoinedStr) for v in n.values}
    found = [n for n in found if id(n) not in inner]
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def _message_strings(fn: ast.FunctionDef, var: str) -> list[str]:
    """Strings assigned (or +=) to ``var`` in a function, in source order ('' skipped)."""
    out = []
    for n in ast.walk(fn):
        val = None
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == var
                                             for t in n.targets):
            val = n.value
        elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name) and \
                n.target.id == var:
            val = n.value
        if val is not None and _is_str(val):
            t = _template(val)
            if t:
                out.append((n.lineno, n.col_offset, t))
    return [t for *_, t in sorted(out)]


def _parse(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_text(encoding='utf-8'), filename=str(path))
    except (OSError, SyntaxError) as exc:
        raise DataError(f'cannot read the EB-ALFRED upstream file {path}: {exc}') from exc


@dataclass
class EBSpec:
    """Everything of EB-ALFRED's interface that comes from the upstream files."""

    root: Path
    lists: dict[str, list[str]]
    skill_templates: list[str]
    max_steps: int
    max_invalid: int
    messages: dict[str, str]
    feedback_ok: str
    feedback_invalid: str
    feedback_pieces: list[str]
    system_prompt: str
    examples: list[str]
    long_horizon_examples: list[str]
    planner_strings: list[str]
    output_template: str
    output_template_lang: str
    action_list_pieces: list[str]
    global_actions: list[str] = field(default_factory=list)

    def message(self, key: str, **values: Any) -> str:
        """One connector message filled in."""
        return fill(self.messages[key], **values)

    def planner_string(self, *must: str) -> str:
        """The planner's prompt string holding every fragment of ``must`` (unique)."""
        hits = [s for s in self.planner_strings if all(m in s for m in must)]
        if len(hits) < 1:
            raise DataError(f'no planner prompt string holds {must}')
        return hits[0]

    # ------------------------------------------------------------ action names
    def find_action(self, name: str) -> str:
        return fill(self.skill_templates[0], obj=name)

    def open_action(self, name: str) -> str:
        return fill(self.skill_templates[4], obj=name)

    def close_action(self, name: str) -> str:
        return fill(self.skill_templates[5], obj=name)


def _assign_value(tree: ast.AST, name: str) -> ast.AST:
    for n in ast.walk(tree):
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name
                                             for t in n.targets):
            return n.value
    raise DataError(f'upstream file lacks {name}')


def _attr_int(tree: ast.AST, attr: str) -> int:
    for n in ast.walk(tree):
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == attr
                                             for t in n.targets):
            return int(ast.literal_eval(n.value))
    raise DataError(f'upstream environment lacks self.{attr}')


@functools.lru_cache(maxsize=8)
def load_spec(root: str | Path) -> EBSpec:
    """Parse the EB-ALFRED interface from a data folder in the layout of the shared copy.

    Raises:
        DataError: a file is missing or does not have the expected shape.
    """
    root = Path(root)
    src = root / SOURCE
    utils = _parse(src / _UTILS)
    lists = {}
    for name in ('alfred_objs', 'alfred_pick_obj', 'alfred_open_obj', 'alfred_slice_obj',
                 'alfred_toggle_obj', 'alfred_recep'):
        lists[name] = [str(x) for x in ast.literal_eval(_assign_value(utils, name))]
    env = _parse(src / _ENV)
    fns = _functions(env)
    skill = [_template(n) for n in _strings_in(fns['get_global_action_space'])]
    shape = [len(fields_of(t)) for t in skill]
    if shape != [1, 1, 0, 0, 1, 1, 1, 1, 1]:
        raise DataError(f'unexpected skill templates in {_ENV}: {skill}')
    skill = [t.replace('{{', '{').replace('}}', '}') if not fields_of(t) else t for t in skill]
    fb = [_template(n) for n in _strings_in(fns['get_env_feedback'])]
    if len(fb) < 13 or fields_of(fb[-1]) != {'message'}:
        raise DataError(f'{_ENV}: get_env_feedback is not as expected: {fb}')
    ok = next(t for t in fb if not fields_of(t) and t.endswith('.') and t[:1].isupper())
    invalid = next(t for t in fb if fields_of(t) == {'message'})
    con = _parse(src / _CONNECTOR)
    cfns = _functions(con)
    messages = {}
    for key, (fn, idx, want) in _MESSAGES.items():
        var = 'ret' if fn == 'llm_skill_interact' else 'ret_msg'
        cands = _message_strings(cfns[fn], var)
        if fn == 'put':  # two 'failed' wordings: the lookup miss, then the PutObject failure
            cands = list(dict.fromkeys(cands))
        if idx >= len(cands) or fields_of(cands[idx]) != want:
            raise DataError(f'{_CONNECTOR}: {fn} message {idx} is not as expected '
                            f'(placeholders {want}): {cands}')
        messages[key] = cands[idx]
    prompts = _parse(root / _PROMPTS)
    system = ast.literal_eval(_assign_value(prompts, 'alfred_system_prompt'))
    if system.count('{}') != 3:
        raise DataError(f'{_PROMPTS}: alfred_system_prompt should have 3 placeholders')
    try:
        examples = json.loads((root / _EXAMPLES).read_text(encoding='utf-8'))
        lh = json.loads((root / _LH_EXAMPLES).read_text(encoding='utf-8'))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f'cannot read the EB-ALFRED examples: {exc}') from exc
    planner = _parse(src / _PLANNER)
    pfns = _functions(planner)
    pstrings = [_template(n) for n in _strings_in(pfns['process_prompt'])]
    putils = _parse(src / _PLANNER_UTILS)
    pieces = [ast.literal_eval(n) for n in _strings_in(pfns['get_availabel_action_prompt'])
              if isinstance(n, ast.Constant)]
    if len(pieces) != 4 or pieces[0] != '':
        raise DataError(f'{_PLANNER}: unexpected action-list strings {pieces}')
    spec = EBSpec(
        root=root, lists=lists, skill_templates=skill,
        max_steps=_attr_int(env, '_max_episode_steps'),
        max_invalid=_attr_int(env, '_max_invalid_actions'),
        messages=messages, feedback_ok=ok.replace('{{', '{').replace('}}', '}'),
        feedback_invalid=invalid, feedback_pieces=fb, system_prompt=system,
        examples=[str(x) for x in examples], long_horizon_examples=[str(x) for x in lh],
        planner_strings=pstrings,
        output_template=str(ast.literal_eval(_assign_value(putils, 'template'))),
        output_template_lang=str(ast.literal_eval(_assign_value(putils, 'template_lang'))),
        action_list_pieces=pieces[1:],
    )
    spec.global_actions = global_action_space(spec)
    return spec


def global_action_space(spec: EBSpec) -> list[str]:
    """EB's 162 global skills, in ``get_global_action_space``'s order."""
    t = spec.skill_templates
    lists = spec.lists
    out = [fill(t[0], obj=o) for o in lists['alfred_objs']]
    out += [fill(t[1], obj=o) for o in lists['alfred_pick_obj']]
    out += [t[2], t[3]]
    for o in lists['alfred_open_obj']:
        out += [fill(t[4], obj=o), fill(t[5], obj=o)]
    for o in lists['alfred_toggle_obj']:
        out += [fill(t[6], obj=o), fill(t[7], obj=o)]
    out += [fill(t[8], obj=o) for o in lists['alfred_slice_obj']]
    return out
