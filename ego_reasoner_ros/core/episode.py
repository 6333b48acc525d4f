# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Episode records: what happened in one embodied-reasoning episode, step by step.

An :class:`EpisodeRecord` holds the initial view and one :class:`StepRecord` per model reply
(executed, failed or invalid) plus the closing ``end`` entry. From it one can

* rebuild the exact conversation the policy saw (:meth:`EpisodeRecord.to_messages`,
  :meth:`EpisodeRecord.prompt_messages`), given the same
  :class:`~ego_reasoner_ros.core.prompts.PromptBuilder`;
* export a LLaMA-Factory / TRL sharegpt row (:meth:`EpisodeRecord.to_sharegpt`);
* produce the reference trajectory entries the ER metric reads
  (:meth:`EpisodeRecord.trajectory_entries`);
* save and load it as ``episode.json`` + ``images/*.png`` (:meth:`EpisodeRecord.save` writes a
  temporary sibling folder and renames it, so a record on disk is never half written).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, is_dataclass
import enum
import json
import logging
import os
from pathlib import Path
import posixpath
import shutil
import tempfile
from typing import Any
import uuid

import numpy as np

from ego_reasoner_ros.core import images as imgs
from ego_reasoner_ros.core.actions import Action, Verb
from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.core.parser import InvalidOutput, InvalidReason
from ego_reasoner_ros.core.prompts import PROMPT_VERSION, Message, PromptBuilder, PromptConfig

logger = logging.getLogger(__name__)

EPISODE_FORMAT = 'ego_reasoner_ros/episode'
EPISODE_FORMAT_VERSION = 1
EPISODE_JSON = 'episode.json'
IMAGES_DIR = 'images'
#: Ways an episode ends.
TERMINATIONS = ('end', 'max_steps', 'invalid', 'repeat', 'error', 'running')

_END = Verb('end')


@dataclass
class StepRecord:
    """One model reply and what came of it.

    Attributes:
        index: position in :attr:`EpisodeRecord.steps` (invalid replies included).
        raw_output: the model's text (empty for automatic end entries).
        thought: the text before ``<DecisionMaking>``.
        action: the parsed action (``None`` for an invalid reply). A reply whose object could
            not be resolved in strict mode carries the target ``"No Suitable Object"``.
        invalid: the parser's ``InvalidOutput`` when the reply was not executed as an action.
        executed: whether the step consumed a step of the budget (sent to the environment,
            or failed as an unresolvable object).
        success: whether the action succeeded (for the closing end entry: its metric credit).
        feedback: the environment's message (the parser's message for invalid replies).
        images: frames returned by the environment (arrays, or paths after a lazy load).
        legal_objects: object types that could be interacted with after the step.
        wall_seconds: time spent in the policy and the environment for this step.
        info: extra details (environment info, parser match kind, cut-off reply...).
        from_model: False for the automatic end entries the loop appends.
    """

    index: int
    raw_output: str
    thought: str
    action: Action | None
    invalid: InvalidOutput | None
    executed: bool
    success: bool
    feedback: str
    images: list = field(default_factory=list)
    legal_objects: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    info: dict = field(default_factory=dict)
    from_model: bool = True

    @property
    def is_end(self) -> bool:
        """Whether this is the closing ``end`` entry."""
        return self.action is not None and self.action.verb == _END

    def follow_up(self, builder: PromptBuilder) -> Message | None:
        """The user turn the policy received after this reply (``None`` for end entries)."""
        if self.is_end:
            return None
        if self.executed and self.action is not None:
            if self.success:
                return builder.after_success(self.action, list(self.images))
            return builder.after_failure(self.action, self.feedback)
        if self.invalid is not None:
            return builder.after_invalid(self.invalid)
        return builder.after_invalid(self.feedback)

    def to_json(self, image_names: list[str]) -> dict[str, Any]:
        """JSON-ready dict; ``image_names`` replace the in-memory images."""
        return {
            'index': self.index,
            'raw_output': self.raw_output,
            'thought': self.thought,
            'action': None if self.action is None else self.action.to_dict(),
            'invalid': None if self.invalid is None else _invalid_to_json(self.invalid),
            'executed': self.executed,
            'success': self.success,
            'feedback': self.feedback,
            'images': image_names,
            'legal_objects': list(self.legal_objects),
            'wall_seconds': self.wall_seconds,
            'info': self.info,
            'from_model': self.from_model,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], images: list) -> StepRecord:
        """Inverse of :meth:`to_json`, with images already resolved."""
        return cls(
            index=int(data['index']),
            raw_output=data.get('raw_output', ''),
            thought=data.get('thought', ''),
            action=None if data.get('action') is None else Action.from_dict(data['action']),
            invalid=None if data.get('invalid') is None else _invalid_from_json(data['invalid']),
            executed=bool(data['executed']),
            success=bool(data['success']),
            feedback=data.get('feedback', ''),
            images=images,
            legal_objects=list(data.get('legal_objects', [])),
            wall_seconds=float(data.get('wall_seconds', 0.0)),
            info=dict(data.get('info', {})),
            from_model=bool(data.get('from_model', True)),
        )


@dataclass
class EpisodeRecord:
    """A whole episode.

    Attributes:
        episode_id: unique id (also a good folder name).
        instruction: the instruction shown to the policy.
        task_type: ER task type (``single_pickup``...), or ``""`` for free-form tasks.
        scene: scene name, if known.
        initial_images: the frames of the ``init`` step.
        steps: one entry per model reply, then the closing end entry.
        terminated_by: ``end``, ``max_steps``, ``invalid``, ``repeat`` or ``error``.
        metadata: loop settings, policy name, counters, error text...
        prompt_config: the prompt wording the policy saw.
        initial_legal_objects: interactable types after ``init``.
    """

    episode_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    instruction: str = ''
    task_type: str = ''
    scene: str | None = None
    initial_images: list = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    terminated_by: str = 'running'
    metadata: dict = field(default_factory=dict)
    prompt_config: PromptConfig = field(default_factory=PromptConfig)
    initial_legal_objects: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.terminated_by not in TERMINATIONS:
            raise ValueError(f'terminated_by must be one of {TERMINATIONS}, '
                             f'got {self.terminated_by!r}')
        if isinstance(self.prompt_config, dict):
            self.prompt_config = PromptConfig.from_dict(self.prompt_config)

    # -------------------------------------------------------------- counters
    @property
    def step_count(self) -> int:
        """Executed steps, ``init`` included (the reference's ``step_count``)."""
        return 1 + sum(1 for s in self.steps if s.executed)

    @property
    def num_invalid(self) -> int:
        """Replies that were not executed (invalid outputs)."""
        return sum(1 for s in self.steps if s.invalid is not None and not s.executed)

    @property
    def model_steps(self) -> list[StepRecord]:
        """Steps that hold a model reply (automatic end entries excluded)."""
        return [s for s in self.steps if s.from_model]

    @property
    def end_success(self) -> bool | None:
        """Credit of the closing end entry (``None`` while there is none)."""
        last = self.steps[-1] if self.steps else None
        return last.success if last is not None and last.is_end else None

    # ---------------------------------------------------------- conversation
    def _check_builder(self, builder: PromptBuilder) -> None:
        if builder.config != self.prompt_config:
            logger.warning('rebuilding episode %s with prompt config %s, but it ran with %s',
                           self.episode_id, builder.config, self.prompt_config)

    def _head(self, builder: PromptBuilder) -> list[Message]:
        return [builder.system_message(),
                builder.first_turn(self.instruction, list(self.initial_images))]

    def to_messages(self, builder: PromptBuilder | None = None) -> list[Message]:
        """The conversation, ending with the last model reply.

        System, first turn, then for each model reply the assistant message followed by the
        user turn the policy got next (images after a success, feedback after a failure, a
        correction after an invalid reply). A trailing user turn is left out: it carries no
        reply to learn from.
        """
        builder = builder or PromptBuilder(self.prompt_config)
        self._check_builder(builder)
        msgs = self._head(builder)
        model_steps = self.model_steps
        for i, step in enumerate(model_steps):
            msgs.append(builder.assistant(step.raw_output))
            if i + 1 < len(model_steps):
                follow = step.follow_up(builder)
                if follow is not None:
                    msgs.append(follow)
        return msgs

    def prompt_messages(self, builder: PromptBuilder | None, index: int) -> list[Message]:
        """The messages the policy received when it produced ``steps[index]``.

        Raises:
            IndexError: if ``index`` is out of range.
            ValueError: if that step holds no model reply.
        """
        step = self.steps[index]
        if not step.from_model:
            raise ValueError(f'step {index} is an automatic entry, not a model reply')
        builder = builder or PromptBuilder(self.prompt_config)
        msgs = self._head(builder)
        for prev in self.model_steps:
            if prev is step:
                return msgs
            msgs.append(builder.assistant(prev.raw_output))
            follow = prev.follow_up(builder)
            if follow is not None:
                msgs.append(follow)
        raise AssertionError('unreachable: step not found among model steps')

    def last_prompt(self, builder: PromptBuilder | None = None) -> list[Message]:
        """The messages of the policy's last call.

        When the loop fetched a reply it then discarded (the one after the third invalid
        reply in a row, or a repeat cut off), that call saw every reply and its follow-up.
        """
        builder = builder or PromptBuilder(self.prompt_config)
        model_steps = self.model_steps
        calls = int(self.metadata.get('policy_calls', len(model_steps)))
        if calls > len(model_steps) or not model_steps:
            msgs = self._head(builder)
            for step in model_steps:
                msgs.append(builder.assistant(step.raw_output))
                follow = step.follow_up(builder)
                if follow is not None:
                    msgs.append(follow)
            return msgs
        return self.prompt_messages(builder, model_steps[-1].index)

    def message_image_names(self) -> list[str]:
        """Relative image paths in the order their blocks occur in :meth:`to_messages`."""
        names = [_init_name(k) for k in range(len(self.initial_images))]
        model_steps = self.model_steps
        for step in model_steps[:-1]:
            if step.executed and step.success and not step.is_end:
                names.extend(_step_name(step.index, k) for k in range(len(step.images)))
        return names

    def to_sharegpt(self, builder: PromptBuilder | None = None,
                    image_prefix: str = '') -> dict[str, list]:
        """A sharegpt row ``{"messages", "images"}`` for LLaMA-Factory or TRL.

        ``images`` are the files :meth:`save` writes, joined to ``image_prefix`` (for example
        the saved episode folder, relative to the dataset file). ``<image>`` placeholders in
        the messages consume them in order.
        """
        builder = builder or PromptBuilder(self.prompt_config)
        names = [posixpath.join(image_prefix, n) if image_prefix else n
                 for n in self.message_image_names()]
        return builder.to_sharegpt(self.to_messages(builder), names)

    # --------------------------------------------------------------- metric
    def trajectory_entries(self) -> list[dict[str, Any]]:
        """The reference evaluator's trajectory: ``init``, each reply, the closing ``end``.

        Entry fields: response, action (``"error"`` for invalid replies), object,
        legal_locations, legal_objects, success (0/1), errorInfo, images.
        """
        entries = [{
            'response': '',
            'action': 'init',
            'object': None,
            'legal_locations': list(self.metadata.get('initial_navigable_objects', [])),
            'legal_objects': list(self.initial_legal_objects),
            'success': 1,
            'errorInfo': '',
            'images': [_init_name(k) for k in range(len(self.initial_images))],
        }]
        for step in self.steps:
            executed_or_end = step.action is not None and (step.executed or step.is_end)
            entries.append({
                'response': step.raw_output,
                'action': step.action.verb.value if executed_or_end else 'error',
                'object': step.action.target if executed_or_end else None,
                'legal_locations': list(step.info.get('navigable_objects', [])),
                'legal_objects': list(step.legal_objects),
                'success': int(bool(step.success)),
                'errorInfo': '' if step.success else step.feedback,
                'images': [_step_name(step.index, k) for k in range(len(step.images))],
            })
        return entries

    # ------------------------------------------------------------ save/load
    def to_json(self) -> dict[str, Any]:
        """The ``episode.json`` content (images as relative file names)."""
        return {
            'format': EPISODE_FORMAT,
            'version': EPISODE_FORMAT_VERSION,
            'episode_id': self.episode_id,
            'instruction': self.instruction,
            'task_type': self.task_type,
            'scene': self.scene,
            'terminated_by': self.terminated_by,
            'prompt_version': self.metadata.get('prompt_version', PROMPT_VERSION),
            'prompt_config': self.prompt_config.to_dict(),
            'metadata': self.metadata,
            'initial_images': [_init_name(k) for k in range(len(self.initial_images))],
            'initial_legal_objects': list(self.initial_legal_objects),
            'steps': [s.to_json([_step_name(s.index, k) for k in range(len(s.images))])
                      for s in self.steps],
        }

    def save(self, directory: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write ``directory/episode.json`` and ``directory/images/*.png`` atomically.

        Everything is written to a hidden sibling folder first and renamed into place, so
        ``directory`` either holds a complete record or does not exist.

        Raises:
            FileExistsError: if ``directory`` exists and ``overwrite`` is False.
        """
        dest = Path(directory)
        parent = dest.parent
        parent.mkdir(parents=True, exist_ok=True)
        if dest.exists() and not overwrite:
            raise FileExistsError(f'episode folder already exists: {dest}')
        tmp = Path(tempfile.mkdtemp(prefix=f'.{dest.name}.', suffix='.partial', dir=parent))
        try:
            (tmp / IMAGES_DIR).mkdir()
            for k, image in enumerate(self.initial_images):
                _write_image(image, tmp / _init_name(k))
            for step in self.steps:
                for k, image in enumerate(step.images):
                    _write_image(image, tmp / _step_name(step.index, k))
            text = json.dumps(self.to_json(), indent=1, default=_json_default)
            (tmp / EPISODE_JSON).write_text(text, encoding='utf-8')
            if dest.exists():
                old = Path(tempfile.mkdtemp(prefix=f'.{dest.name}.', suffix='.old', dir=parent))
                os.replace(dest, old / dest.name)
                os.replace(tmp, dest)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        logger.debug('saved episode %s to %s', self.episode_id, dest)
        return dest

    @classmethod
    def load(cls, directory: str | os.PathLike, *, lazy_images: bool = False) -> EpisodeRecord:
        """Read a folder written by :meth:`save`.

        Args:
            directory: the episode folder.
            lazy_images: keep images as absolute file paths instead of decoding them.

        Raises:
            DataError: if the folder holds no valid episode record.
        """
        root = Path(directory)
        path = root / EPISODE_JSON
        try:
            data = json.loads(path.read_text(encoding='utf-8'))
        except FileNotFoundError as exc:
            raise DataError(f'no {EPISODE_JSON} in {root}') from exc
        except json.JSONDecodeError as exc:
            raise DataError(f'{path} is not valid JSON: {exc}') from exc
        if data.get('format') != EPISODE_FORMAT:
            raise DataError(f'{path} is not an episode record (format={data.get("format")!r})')
        if int(data.get('version', 0)) > EPISODE_FORMAT_VERSION:
            raise DataError(f'{path} has format version {data["version"]}; this code reads '
                            f'up to {EPISODE_FORMAT_VERSION}')

        def resolve(names: list[str]) -> list:
            out = []
            for name in names:
                file = root / name
                if not file.is_file():
                    raise DataError(f'{path} names a missing image {name}')
                out.append(str(file.resolve()) if lazy_images else imgs.load_png(file))
            return out

        try:
            steps = [StepRecord.from_json(s, resolve(s.get('images', [])))
                     for s in data.get('steps', [])]
            return cls(
                episode_id=data['episode_id'],
                instruction=data['instruction'],
                task_type=data.get('task_type', ''),
                scene=data.get('scene'),
                initial_images=resolve(data.get('initial_images', [])),
                steps=steps,
                terminated_by=data.get('terminated_by', 'end'),
                metadata=dict(data.get('metadata', {})),
                prompt_config=PromptConfig.from_dict(data.get('prompt_config')),
                initial_legal_objects=list(data.get('initial_legal_objects', [])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, DataError):
                raise
            raise DataError(f'{path} is malformed: {exc}') from exc


# ---------------------------------------------------------------- helpers
def _init_name(k: int) -> str:
    return f'{IMAGES_DIR}/init_{k}.png'


def _step_name(index: int, k: int) -> str:
    return f'{IMAGES_DIR}/step_{index:03d}_{k}.png'


def _write_image(image: imgs.ImageLike, path: Path) -> None:
    if isinstance(image, (str, os.PathLike)) and not str(image).startswith('data:') \
            and str(image).lower().endswith('.png') and Path(image).is_file():
        shutil.copyfile(image, path)
    else:
        imgs.save_png(image, path)


def _invalid_to_json(invalid: InvalidOutput) -> dict[str, Any]:
    reason = getattr(invalid, 'reason', None)
    verb = getattr(invalid, 'verb', None)
    return {
        'reason': reason.value if isinstance(reason, enum.Enum) else reason,
        'message': getattr(invalid, 'message', ''),
        'decision_text': getattr(invalid, 'decision_text', None),
        'verb': verb.value if isinstance(verb, enum.Enum) else verb,
    }


def _invalid_from_json(data: dict[str, Any]) -> InvalidOutput:
    verb = data.get('verb')
    return InvalidOutput(
        reason=InvalidReason(data['reason']),
        message=data.get('message') or str(data.get('reason', 'invalid output')),
        decision_text=data.get('decision_text'),
        verb=None if verb is None else Verb(verb),
    )


def _json_default(obj: Any) -> Any:
    """Make numpy values, enums, paths, sets and dataclasses JSON-ready."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, Action):
        return str(obj)
    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    logger.debug('storing %s as its string form in episode.json', type(obj).__name__)
    return str(obj)
