# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Chat prompts for the embodied-reasoning policy.

Messages use the block format that transformers processors and OpenAI-compatible servers
share::

    {"role": "user", "content": [{"type": "image", "image": <ndarray | PIL | path>},
                                 {"type": "text", "text": "..."}]}

The turns follow er-protocol.md section 1 (system persona; first turn with the instruction,
the nine-action menu and the ``<DecisionMaking>`` rule; image turns after a success; text-only
``<|feedback|>`` turns after a failure; a correction turn after an invalid reply). The wording
is this project's own. :class:`PromptBuilder` is deterministic, so an
:class:`~ego_reasoner_ros.core.episode.EpisodeRecord` rebuilds the exact conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
import json
import logging
import os
from pathlib import Path
from typing import Any

from ego_reasoner_ros.core import images as imgs
from ego_reasoner_ros.core.actions import Action, Verb

logger = logging.getLogger(__name__)

#: Bump whenever any prompt wording changes; stored in every episode record.
PROMPT_VERSION = 'ego-er-prompt-2'

FEEDBACK_TOKEN = '<|feedback|>'
IMAGE_PLACEHOLDER = '<image>'
THOUGHT_TAGS = ('Observation', 'Planning', 'Thinking', 'Reflection', 'Verification')
MENU_STYLES = ('local', 'api')

Message = dict[str, Any]

# Looked up by value so the code does not depend on the Enum member names.
_OBSERVE = Verb('observe')
_MOVE_FORWARD = Verb('move forward')

_SYSTEM_TEXT = (
    'You control a household robot through its head camera. You look at what the camera '
    'shows, reason step by step about the task, and choose one command at a time until the '
    'task is done.'
)


@dataclass
class PromptConfig:
    """How the prompts are worded.

    Attributes:
        menu_style: ``"local"`` lists ``put <object>`` (the fine-tuned models' menu);
            ``"api"`` lists ``put in <object>`` (the API models' menu).
        observe_as_composite: the environment answers ``observe`` with one panorama
            (left | back | right) instead of three separate pictures; only the menu gloss
            changes, the image count always follows what the environment returned.
        include_feedback_token: prefix failure turns with ``<|feedback|>``.
        task_last: put the task at the end of the first turn, right before the reply
            (``ego-er-prompt-2``); False keeps the ``ego-er-prompt-1`` layout, task first
            and the command menu after it. A small model learns to copy the task's object
            Types into its plan far sooner when nothing stands between the task and the
            reply (docs/training-log.md, session 3).
        restate_task: end every later user turn with the task line again, so the request
            stays a few tokens before each reply instead of the whole episode back (small
            models that cannot retrieve across turns; docs/training-log.md, session 6).
    """

    menu_style: str = 'local'
    observe_as_composite: bool = False
    include_feedback_token: bool = True
    task_last: bool = True
    restate_task: bool = False

    def __post_init__(self) -> None:
        if self.menu_style not in MENU_STYLES:
            raise ValueError(
                f'menu_style must be one of {MENU_STYLES}, got {self.menu_style!r}')
        for name in ('observe_as_composite', 'include_feedback_token', 'task_last',
                     'restate_task'):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f'{name} must be a bool, got {getattr(self, name)!r}')

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> PromptConfig:
        """Build from :meth:`to_dict` output, ignoring unknown keys.

        A stored config without ``task_last`` was written with ``ego-er-prompt-1``, whose
        first turn put the task first, so it reads as ``task_last=False``.
        """
        data = data or {}
        known = {k: data[k] for k in ('menu_style', 'observe_as_composite',
                                      'include_feedback_token', 'task_last', 'restate_task')
                 if k in data}
        if data and 'task_last' not in data:
            known['task_last'] = False
        return cls(**known)


def text_block(text: str) -> dict[str, Any]:
    """Return a text content block."""
    return {'type': 'text', 'text': text}


def image_block(image: imgs.ImageLike) -> dict[str, Any]:
    """Return an image content block."""
    return {'type': 'image', 'image': image}


class PromptBuilder:
    """Build the messages of one embodied-reasoning conversation."""

    def __init__(self, config: PromptConfig | None = None) -> None:
        self.config = config if config is not None else PromptConfig()
        if not isinstance(self.config, PromptConfig):
            raise TypeError(f'config must be a PromptConfig, got {type(config).__name__}')
        self._task_line: str | None = None  # of the conversation being built

    # ------------------------------------------------------------------ turns
    def system_message(self) -> Message:
        """The one-line robot persona."""
        return {'role': 'system', 'content': [text_block(_SYSTEM_TEXT)]}

    def first_turn(self, instruction: str, images: Sequence[imgs.ImageLike]) -> Message:
        """The initial view(s), the instruction, the action menu and the answer format."""
        if not instruction or not instruction.strip():
            raise ValueError('instruction must be a non-empty string')
        task = f'Task: {instruction.strip()}'
        self._task_line = task
        rules = (
            'Available commands (replace <object> with an object type from the room, '
            'e.g. CounterTop or Apple):\n'
            f'{self.menu_text()}\n\n'
            'Before deciding you may reason inside any of these sections: '
            + ', '.join(f'<{t}>...</{t}>' for t in THOUGHT_TAGS) + '. '
            'Then write exactly one command, and nothing else, inside '
            '<DecisionMaking>...</DecisionMaking>, for example '
            '<DecisionMaking>navigate to Fridge</DecisionMaking>. '
            'Use the lowercase command words exactly as listed.'
        )
        if self.config.task_last:
            text = f'This is what the robot sees right now.\n\n{rules}\n\n{task}'
        else:
            text = f'This is what the robot sees right now.\n{task}\n\n{rules}'
        return self._user(images, text)

    def after_success(self, action: Action, images: Sequence[imgs.ImageLike]) -> Message:
        """The new view(s) after ``action`` ran successfully."""
        verb = action.verb
        n = len(images)
        if verb == _OBSERVE:
            if n == 1:
                seen = ('The picture is a panorama of the surroundings: left view, back view '
                        'and right view, from left to right.')
            elif n == 3:
                seen = 'The three pictures show the left view, the back view and the right view.'
            else:
                seen = f'The {n} pictures show the surroundings.'
            text = f'Done: observe. {seen} What is your next command?'
        elif verb == _MOVE_FORWARD:
            text = ('Done: move forward. This is the new view. If what you need is now in '
                    'sight, you can go to it with navigate to. What is your next command?')
        else:
            what = 'This is the new view.' if n == 1 else f'These are the {n} new views.'
            if n == 0:
                what = 'No new picture was taken.'
            text = f'Done: {action}. {what} What is your next command?'
        return self._user(images, self._restated(text))

    def _restated(self, text: str) -> str:
        """``text``, then the task line when ``restate_task`` is on."""
        if not self.config.restate_task:
            return text
        if self._task_line is None:
            raise ValueError('restate_task needs first_turn() before the later turns')
        return f'{text}\n{self._task_line}'

    def after_failure(self, action: Action, feedback: str) -> Message:
        """A text-only turn reporting that ``action`` failed (no image)."""
        detail = (feedback or '').strip() or 'The command had no effect.'
        prefix = FEEDBACK_TOKEN if self.config.include_feedback_token else ''
        text = (f'{prefix}Command "{action}" failed: {detail}\n'
                'The view has not changed. Reconsider and give another command.')
        return self._user([], self._restated(text))

    def after_invalid(self, invalid: Any) -> Message:
        """A correction turn after a reply without a usable command.

        ``invalid`` is an ``InvalidOutput`` (its ``message`` is quoted) or a plain string.
        """
        reason = invalid if isinstance(invalid, str) else getattr(invalid, 'message', '')
        reason = (reason or '').strip()
        detail = f' ({reason})' if reason else ''
        text = ('The last reply could not be carried out' + detail + '. Give exactly one '
                'command from the list inside <DecisionMaking>...</DecisionMaking>.')
        return self._user([], self._restated(text))

    @staticmethod
    def assistant(text: str) -> Message:
        """The model's reply as an assistant message."""
        return {'role': 'assistant', 'content': [text_block(text)]}

    # ------------------------------------------------------------------- menu
    def menu_text(self) -> str:
        """The nine-command menu with a short gloss each."""
        put = 'put in <object>' if self.config.menu_style == 'api' else 'put <object>'
        observe = ('turn on the spot and receive one panorama (left, back, right)'
                   if self.config.observe_as_composite
                   else 'turn on the spot and receive three pictures: left, back and right')
        rows = [
            ('navigate to <object>', 'walk up to an object so that it is within reach'),
            ('pickup <object>', 'grasp an object within reach (one object at a time)'),
            (put, 'place the held object in or on the named receptacle'),
            ('toggle <object>', 'switch an appliance or device on or off'),
            ('open <object>', 'open a door, drawer, lid or similar'),
            ('close <object>', 'close something that is open'),
            ('observe', observe),
            ('move forward', 'take a short step ahead'),
            ('end', 'declare the task complete'),
        ]
        return '\n'.join(f'- {cmd}: {gloss}' for cmd, gloss in rows)

    # ------------------------------------------------------------- converters
    @staticmethod
    def to_openai_messages(messages: Sequence[Message],
                           cache: dict[int, tuple[Any, str]] | None = None) -> list[Message]:
        """Return a copy with image blocks as OpenAI ``image_url`` data URLs.

        Args:
            messages: block-format messages.
            cache: optional dict kept by the caller for one episode; it maps image objects
                (by identity, holding a reference so ids stay unique) to their URL, so the
                growing history is not re-encoded every turn. Images must not be modified in
                place while cached.
        """

        def url_of(image: Any) -> str:
            if cache is None:
                return imgs.data_url(image)
            hit = cache.get(id(image))
            if hit is not None and hit[0] is image:
                return hit[1]
            url = imgs.data_url(image)
            cache[id(image)] = (image, url)
            return url

        out = []
        for msg in messages:
            content = msg['content']
            if isinstance(content, str):
                out.append({'role': msg['role'], 'content': content})
                continue
            blocks = []
            for block in content:
                if block.get('type') == 'image':
                    blocks.append({'type': 'image_url',
                                   'image_url': {'url': url_of(block['image'])}})
                else:
                    blocks.append(dict(block))
            out.append({'role': msg['role'], 'content': blocks})
        return out

    @staticmethod
    def to_sharegpt(messages: Sequence[Message],
                    image_paths: Sequence[str] | None = None) -> dict[str, list]:
        """Return a LLaMA-Factory / TRL sharegpt row: ``{"messages", "images"}``.

        Each image block becomes an ``<image>`` placeholder; placeholders consume
        ``image_paths`` in order, so their count must match. Without ``image_paths`` the
        image blocks themselves must hold file paths.

        Raises:
            ValueError: if the number of image blocks differs from ``len(image_paths)``, or
                ``image_paths`` is omitted and an image block holds no path.
        """
        if image_paths is None:
            image_paths = []
            for msg in messages:
                if isinstance(msg['content'], str):
                    continue
                for block in msg['content']:
                    if block.get('type') != 'image':
                        continue
                    image = block.get('image')
                    if not isinstance(image, (str, os.PathLike)) or \
                            str(image).startswith('data:'):
                        raise ValueError('image blocks hold pixels, not file paths: '
                                         'pass image_paths (save the images first)')
                    image_paths.append(os.fspath(image))
        rows = []
        count = 0
        for msg in messages:
            content = msg['content']
            if isinstance(content, str):
                rows.append({'role': msg['role'], 'content': content})
                continue
            parts = []
            for block in content:
                kind = block.get('type')
                if kind in ('image', 'image_url'):
                    parts.append(IMAGE_PLACEHOLDER)
                    count += 1
                elif kind == 'text':
                    parts.append(block['text'])
                else:
                    raise ValueError(f'unsupported content block type {kind!r}')
            rows.append({'role': msg['role'], 'content': ''.join(parts)})
        if count != len(image_paths):
            raise ValueError(f'{count} image blocks but {len(image_paths)} image paths')
        return {'messages': rows, 'images': [str(p) for p in image_paths]}

    @staticmethod
    def messages_text_only(messages: Sequence[Message],
                           placeholder: str = '[image]') -> list[Message]:
        """Return a copy with every image block replaced by a text ``placeholder``."""
        out = []
        for msg in messages:
            content = msg['content']
            if isinstance(content, str):
                out.append({'role': msg['role'], 'content': content})
                continue
            blocks = [text_block(placeholder) if b.get('type') in ('image', 'image_url')
                      else dict(b) for b in content]
            out.append({'role': msg['role'], 'content': blocks})
        return out

    @staticmethod
    def count_images(messages: Sequence[Message]) -> int:
        """Number of image blocks in ``messages``."""
        return sum(1 for m in messages if not isinstance(m['content'], str)
                   for b in m['content'] if b.get('type') in ('image', 'image_url'))

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _user(images: Sequence[imgs.ImageLike], text: str) -> Message:
        if isinstance(images, (str, bytes)) or not isinstance(images, Sequence):
            raise TypeError('images must be a sequence of images (a list), '
                            f'got {type(images).__name__}')
        return {'role': 'user',
                'content': [image_block(im) for im in images] + [text_block(text)]}


#: File beside a model or a dataset that records the prompt wording it was made with.
PROMPT_CONFIG_FILE = 'prompt_config.json'


def save_prompt_config(folder: str | os.PathLike, config: PromptConfig) -> Path:
    """Write ``config`` to ``folder/prompt_config.json``; returns the path."""
    path = Path(folder) / PROMPT_CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config.to_dict(), indent=1) + '\n', encoding='utf-8')
    return path


def load_prompt_config(folder: str | os.PathLike) -> PromptConfig | None:
    """The prompt wording recorded in ``folder`` (None when it records none)."""
    path = Path(folder) / PROMPT_CONFIG_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f'cannot read {path}: {exc}') from None
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a JSON object')
    return PromptConfig.from_dict(data)
