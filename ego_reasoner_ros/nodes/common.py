# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Start-up and shutdown shared by the node executables (Jazzy idioms)."""

from __future__ import annotations

from collections.abc import Callable
import logging
import sys
import time
from typing import Any, TypeVar

from ego_reasoner_ros.nodes.dds import DDSConfigError, ensure_localhost_dds
from ego_reasoner_ros.nodes.params import NodeParams, ParamError

LOG = logging.getLogger(__name__)

P = TypeVar('P', bound=NodeParams)


def now_ns() -> int:
    """Wall-clock nanoseconds (the stamps the nodes put on frames)."""
    return time.time_ns()


class StampSource:
    """Strictly increasing wall-clock stamps, so every frame has a distinct stamp."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        """Return a stamp greater than every stamp returned before."""
        t = max(now_ns(), self._last + 1)
        self._last = t
        return t


def declare(node: Any, params_cls: type[P]) -> P:
    """Declare one ROS parameter per field of ``params_cls`` and return the validated values.

    The parameters are dynamically typed, so a value of the wrong type reaches the
    dataclass, whose :class:`~ego_reasoner_ros.nodes.params.ParamError` names it (the node
    then exits 2) instead of failing in rclpy (an int for a float is taken as the float).
    """
    from rcl_interfaces.msg import ParameterDescriptor

    values = {}
    for name, default in params_cls.ros_defaults().items():
        value = node.declare_parameter(
            name, default, ParameterDescriptor(dynamic_typing=True)).value
        values[name] = default if value is None else value
    return params_cls.from_mapping(values)


def run_node(factory: Callable[[], Any], args: list[str] | None = None, *,
             threads: int = 4) -> int:
    """Guard DDS, init rclpy, spin ``factory()`` on a multi-threaded executor, shut down.

    Returns the process exit code: 2 when the DDS guard refuses to start or a parameter is
    bad (:class:`ParamError`), else the node's ``exit_code`` attribute when it has one (the
    reasoner's failed ``exit_after_task``), else 0.
    """
    logging.basicConfig(level=logging.INFO, format='[%(levelname)s] [%(name)s]: %(message)s')
    try:
        ensure_localhost_dds()
    except DDSConfigError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    import rclpy
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor

    rclpy.init(args=args)
    node = None
    code = 0
    try:
        node = factory()
        executor = MultiThreadedExecutor(num_threads=threads)
        executor.add_node(node)
        try:
            executor.spin()
        finally:
            executor.shutdown(timeout_sec=1.0)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except ParamError as exc:
        print(f'error: {getattr(factory, "__name__", "node")}: {exc}', file=sys.stderr)
        code = 2
    finally:
        if node is not None:
            close = getattr(node, 'close', None)
            if callable(close):
                try:
                    close()
                except Exception:  # noqa: BLE001 - best effort at shutdown
                    LOG.exception('error while closing %s', type(node).__name__)
            code = int(getattr(node, 'exit_code', 0) or 0)  # e.g. a failed exit_after_task
            node.destroy_node()
        rclpy.try_shutdown()
    return code
