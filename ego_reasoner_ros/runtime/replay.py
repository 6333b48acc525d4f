# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Episode replays: frames with the thought and action beside each, as HTML and GIF.

ROS-free. Takes an :class:`~ego_reasoner_ros.core.episode.EpisodeRecord` or a plain list of
:class:`ReplayStep`. The HTML page is self-contained (frames inlined as base64 PNG)::

    from ego_reasoner_ros.runtime.replay import write_replay
    paths = write_replay(record, 'runs/2026-01-01_120000')
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
import html
import io
import logging
from pathlib import Path

import numpy as np

from ego_reasoner_ros.core.images import to_numpy

LOG = logging.getLogger(__name__)


@dataclass
class ReplayStep:
    """One row of a replay: the frame(s) the agent saw after acting, and why it acted."""

    images: list = field(default_factory=list)
    thought: str = ''
    action: str = ''
    result: str = ''
    success: bool | None = None
    number: int | None = None  # the episode loop's step number (None: the row index)


@dataclass(frozen=True)
class ReplayPaths:
    """Files written by :func:`write_replay`."""

    html: Path
    gif: Path | None


def steps_from_record(record: object) -> list[ReplayStep]:
    """Turn an ``EpisodeRecord`` into replay rows (the ``init`` frame first)."""
    from ego_reasoner_ros.core.loop import step_numbers

    rows = [ReplayStep(images=list(getattr(record, 'initial_images', [])), action='init',
                       result='initial view', success=True, number=0)]
    steps = list(getattr(record, 'steps', []))
    numbers = step_numbers(record) if steps else []
    for step, number in zip(steps, numbers):
        action = str(step.action) if step.action is not None else '(invalid reply)'
        rows.append(ReplayStep(images=list(step.images), thought=step.thought or '',
                               action=action, result=step.feedback or '',
                               success=step.success, number=number))
    return rows


def _png_b64(image: object) -> str:
    from PIL import Image as PILImage
    arr = to_numpy(image)
    buf = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(arr)).save(buf, format='PNG')
    return base64.b64encode(buf.getvalue()).decode('ascii')


def render_html(steps: Sequence[ReplayStep], *, title: str = 'Episode replay') -> str:
    """Return a self-contained HTML page for ``steps``."""
    rows = []
    for i, st in enumerate(steps):
        i = i if st.number is None else st.number
        imgs = ''.join(f'<img src="data:image/png;base64,{_png_b64(im)}" alt="step {i}">'
                       for im in st.images) or '<div class="noimg">no new frame</div>'
        mark = '' if st.success is None else ('ok' if st.success else 'fail')
        rows.append(
            f'<tr><td class="idx">{i}</td><td class="frames">{imgs}</td>'
            f'<td><div class="thought">{html.escape(st.thought)}</div>'
            f'<div class="action {mark}"><b>{html.escape(st.action)}</b> '
            f'<span>{html.escape(st.result)}</span></div></td></tr>')
    style = ('body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}'
             'td{border-top:1px solid #ccc;padding:6px;vertical-align:top}'
             'img{max-width:320px;margin-right:4px}.thought{white-space:pre-wrap;'
             'max-width:640px;color:#333}.action{margin-top:6px}.ok b{color:#070}'
             '.fail b{color:#b00}.idx{color:#888}')
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}'
            f'</title><style>{style}</style></head><body><h1>{html.escape(title)}</h1>'
            f'<table>{"".join(rows)}</table></body></html>')


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap of ``text`` (tags on their own lines) at ``width`` characters."""
    import textwrap
    lines: list[str] = []
    for para in text.replace('><', '>\n<').splitlines():
        lines.extend(textwrap.wrap(para, width) or [''])
    return lines


def write_gif(steps: Sequence[ReplayStep], path: str | Path, *,
              frame_ms: int = 1500, panel_width: int = 360) -> Path | None:
    """Write an animated GIF: each step's first frame with its thought and action beside it.

    Returns None when no step has a frame.
    """
    from PIL import Image as PILImage
    from PIL import ImageDraw
    frames = []
    for i, st in enumerate(steps):
        if not st.images:
            continue
        shot = PILImage.fromarray(np.ascontiguousarray(to_numpy(st.images[0]))).convert('RGB')
        canvas = PILImage.new('RGB', (shot.width + panel_width, shot.height), (250, 250, 250))
        canvas.paste(shot, (0, 0))
        draw = ImageDraw.Draw(canvas)
        x, y, line_h = shot.width + 8, 6, 12
        colour = (0, 110, 0) if st.success else (170, 0, 0) if st.success is False else (0, 0, 0)
        draw.text((x, y), f'step {i if st.number is None else st.number}: {st.action}'[:60],
                  fill=colour)
        y += line_h + 2
        for line in _wrap(st.result, 56)[:3]:
            draw.text((x, y), line, fill=(90, 90, 90))
            y += line_h
        y += 6
        for line in _wrap(st.thought, 56):
            if y > canvas.height - line_h:
                draw.text((x, y), '...', fill=(60, 60, 60))
                break
            draw.text((x, y), line, fill=(30, 30, 30))
            y += line_h
        frames.append(canvas)
    if not frames:
        return None
    path = Path(path)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
    return path


def write_replay(episode: object | Iterable[ReplayStep], out_dir: str | Path, *,
                 title: str | None = None, gif: bool = True) -> ReplayPaths:
    """Write ``replay.html`` (and ``replay.gif``) into ``out_dir``.

    Args:
        episode: an ``EpisodeRecord`` or an iterable of :class:`ReplayStep`.
        out_dir: folder to write into (created).
        title: page title; defaults to the record's instruction.
        gif: also write an animated GIF.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if hasattr(episode, 'steps') and hasattr(episode, 'instruction'):
        steps = steps_from_record(episode)
        title = title or f'{episode.instruction}'
    else:
        steps = list(episode)  # type: ignore[arg-type]
        bad = [i for i, s in enumerate(steps) if not isinstance(s, ReplayStep)]
        if bad:
            raise TypeError(f'replay items {bad} are not ReplayStep')
    html_path = out / 'replay.html'
    html_path.write_text(render_html(steps, title=title or 'Episode replay'), encoding='utf-8')
    gif_path = write_gif(steps, out / 'replay.gif') if gif else None
    LOG.info('replay written to %s', html_path)
    return ReplayPaths(html=html_path, gif=gif_path)
