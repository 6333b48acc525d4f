# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""EB-ALFRED's prompt (``VLMPlanner.process_prompt``) and its JSON plan parser.

The text comes from the upstream files (:mod:`.spec`); this module only assembles it the way
the planner does: the system prompt with the action list and ``n_shots`` examples, then the
instruction; later turns (no chat history, EB's default) repeat the system prompt and add
``Step i, action id k, <name>, env feedback: <msg>`` lines. ``parse_plan`` is EB's
``json_to_action`` (strict); the lenient mode also accepts code fences, Python-style quotes,
surrounding text and names without ids.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
import json
import re
import string
from typing import Any

from ego_reasoner_ros.training.eb_alfred.spec import EBSpec, fill

EMPTY_PLAN = -2
INVALID_PLAN = -1
PARSER_MODES = ('strict', 'lenient')


def _unbrace(s: str) -> str:
    return s.replace('{{', '{').replace('}}', '}')


@dataclass
class PromptSettings:
    """Prompt settings.

    ``n_shots`` (EB: 10), language-only, env feedback in the history (EB: on) and whether to
    append EB's text output template (EB does for models without a JSON schema).
    """

    n_shots: int = 10
    language_only: bool = False
    use_feedback: bool = True
    output_template: bool = True

    def __post_init__(self) -> None:
        if self.n_shots < 0:
            raise ValueError(f'n_shots must be >= 0, got {self.n_shots}')


class EBPromptBuilder:
    """Builds EB-ALFRED's prompt for one episode."""

    def __init__(self, spec: EBSpec, actions: Sequence[str], *, long_horizon: bool = False,
                 settings: PromptSettings | None = None) -> None:
        self.spec = spec
        self.actions = list(actions)
        self.settings = settings or PromptSettings()
        self.examples = spec.long_horizon_examples if long_horizon else spec.examples
        head, sep, tail = spec.action_list_pieces
        text = ''
        for i, a in enumerate(self.actions):
            text += head + str(i) + sep + str(a)
            if i < len(self.actions) - 1:
                text += tail
        self.available = text

    def _values(self, instruction: str) -> dict[str, Any]:
        return {'user_instruction': instruction, 'len(self.actions) - 1': len(self.actions) - 1}

    def _fill(self, template: str, vals: dict[str, Any]) -> str:
        out = []
        for lit, name, _spec, _conv in string.Formatter().parse(template):
            out.append(lit)
            if name is None:
                continue
            if name in vals:
                out.append(str(vals[name]))
                continue
            node = ast.parse(name, mode='eval').body
            if isinstance(node, ast.IfExp):
                branch = node.body if self.settings.use_feedback else node.orelse
                out.append(str(ast.literal_eval(branch)))
                continue
            raise KeyError(name)
        return ''.join(out)

    def _system(self, later: bool) -> str:
        spec = self.spec
        heads = [s for s in spec.planner_strings if 'Task Execution Example' in s]
        head = heads[1] if later and len(heads) > 1 else heads[0]
        joiner = _unbrace(spec.planner_strings[spec.planner_strings.index(head) - 1])
        n = self.settings.n_shots
        shots = joiner.join(fill(head, i=i, x=x) for i, x in enumerate(self.examples[:n]))
        return spec.system_prompt.format(len(self.actions) - 1, self.available,
                                         shots if n >= 1 else '')

    def build(self, instruction: str, history: Sequence[tuple[int, str]] = ()) -> str:
        """The prompt for the next planner call; ``history`` is (action id, feedback)."""
        spec = self.spec
        user = instruction.rstrip('.')
        vals = self._values(user)
        lang = self.settings.language_only
        human = spec.planner_string('Now the human instruction')
        prompt = self._system(later=bool(history)) + self._fill(human, vals)
        if not history:
            cands = [s for s in spec.planner_strings if 'supposed to output in json' in s
                     and 'Considering' not in s]
            pick = [s for s in cands if ('visual' in s) != lang]
            prompt += self._fill(pick[0], vals)
        else:
            prompt += _unbrace(spec.planner_string('action history'))
            step_fb = _unbrace(spec.planner_string('env feedback'))
            step_plain = _unbrace(next(s for s in spec.planner_strings
                                       if s.startswith('\nStep') and 'env feedback' not in s))
            for i, (aid, fb) in enumerate(history):
                name = self.actions[aid] if isinstance(aid, int) and 0 <= aid < len(
                    self.actions) else str(aid)
                if self.settings.use_feedback:
                    prompt += step_fb.format(i, aid, name, fb)
                else:
                    prompt += step_plain.format(i, aid, name)
            cands = [s for s in spec.planner_strings if s.startswith('\n\n Considering')]
            pick = [s for s in cands if ('image state' in s) != lang]
            prompt += self._fill(pick[0], vals)
        if self.settings.output_template:
            prompt += spec.output_template_lang if lang else spec.output_template
        return prompt


def parse_plan(text: str, n_actions: int, *, mode: str = 'strict',
               actions: Sequence[str] | None = None,
               action_key: str = 'action_id') -> tuple[list[int] | int, bool]:
    """EB's ``json_to_action``: (plan ids | -1 invalid | -2 empty, output-format error).

    Strict: ``json.loads`` of the whole reply; an id out of range truncates the plan there
    (first id bad: invalid). Lenient: also strips fences and surrounding text, accepts
    Python literals and string ids, and maps ``action_name`` to its id when the id is bad.
    """
    if mode not in PARSER_MODES:
        raise ValueError(f'unknown parser mode {mode!r}; expected one of {PARSER_MODES}')
    obj: Any = None
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        if mode == 'strict':
            return INVALID_PLAN, True
        obj = _lenient_load(text)
        if obj is None:
            return INVALID_PLAN, True
    try:
        items = obj['executable_plan']
        if mode == 'lenient':
            ids = [_lenient_id(x, action_key, actions) for x in items]
        else:
            ids = [x[action_key] for x in items]
        if not ids:
            return EMPTY_PLAN, False
        for i, a in enumerate(ids):
            if not isinstance(a, int) or a >= n_actions or a < 0:
                if not isinstance(a, (int, float)) and mode == 'strict':
                    raise TypeError(a)
                return (INVALID_PLAN, False) if i == 0 else (ids[:i], False)
        return ids, False
    except Exception:  # noqa: BLE001 - EB counts any other error as an output error
        return INVALID_PLAN, True


def _lenient_load(text: str) -> Any:
    s = re.sub(r'^```(?:json)?\s*|\s*```$', '', (text or '').strip())
    start, end = s.find('{'), s.rfind('}')
    if start < 0 or end <= start:
        return None
    s = s[start:end + 1]
    for loader in (json.loads, ast.literal_eval):
        try:
            return loader(s)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    fixed = re.sub(r'}\s*\n\s*{', '},\n{', s)  # the examples' missing commas
    for loader in (json.loads, ast.literal_eval):
        try:
            return loader(fixed)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return None


def _lenient_id(x: Any, key: str, actions: Sequence[str] | None) -> Any:
    a = x.get(key) if isinstance(x, dict) else x
    if isinstance(a, str) and a.strip().lstrip('-').isdigit():
        a = int(a.strip())
    n = len(actions) if actions is not None else None
    if actions is not None and isinstance(x, dict) and (
            not isinstance(a, int) or n is None or not 0 <= a < n):
        name = str(x.get('action_name', '')).strip()
        if name in actions:
            return list(actions).index(name)
    return a


def plan_json(ids: Sequence[int], actions: Sequence[str], **extra: Any) -> str:
    """A reply in EB's JSON format for a list of action ids."""
    body = dict(extra)
    body['executable_plan'] = [{'action_id': int(i), 'action_name': actions[i]} for i in ids]
    return json.dumps(body)
