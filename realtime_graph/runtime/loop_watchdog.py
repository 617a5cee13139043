"""The loop watchdog: names user ``async`` code that blocks the event loop.

An ``async def`` tool that calls something blocking (``time.sleep``, a sync HTTP client, a long
computation) holds the one event loop every session of the process runs on: audio stops, no
timeout can fire. Nothing can interrupt it; what can be done is to say who did it, at once.

Every step of a user coroutine (the stretch between two of its awaits, the only time it holds the
loop) is timed. A step that held the loop for ``threshold`` seconds or more is reported right
after it ends, through the owning session's ``report`` callback, naming the tool. This is exact
where a sleeping task that measures its oversleep is not: by the time such a task wakes the
stall is over and the blocking coroutine may have finished, so it cannot tell who stalled.
It costs two clock reads per step and nothing while no user coroutine runs.

The session's watchdog is found through a context variable (:data:`CURRENT`) that the session
sets in every task it owns, so :func:`~.tools.call_entrypoint` needs no extra argument.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

__all__ = ("CURRENT", "LoopWatchdog", "blocked_message")

T = TypeVar("T")

CURRENT: ContextVar[LoopWatchdog | None] = ContextVar("rtgraph_loop_watchdog", default=None)
"""The watchdog of the session whose task is running (None outside sessions)."""


def blocked_message(label: str, seconds: float, threshold: float) -> str:
    """The ``error`` event text for a step of ``label`` that held the loop ``seconds`` (pure)."""
    return (f"{label} blocked the event loop for {seconds:.1f}s (run.tools.loop_lag_threshold is "
            f"{threshold:g}s); every session in this process stalled meanwhile. Await instead of "
            f"blocking, or make it a plain def: sync code runs in a worker thread.")


class LoopWatchdog:
    """Times the steps of user coroutines and reports those that held the loop too long.

    ``threshold()`` is read per step (hot reload may change it); 0 turns reporting off.
    ``report(message, extra)`` is called synchronously, on the loop, right after the step.
    """

    __slots__ = ("_clock", "_report", "_threshold")

    def __init__(self, threshold: Callable[[], float], report: Callable[[str, Mapping[str, Any]], None],
                 *, clock: Callable[[], float] = time.perf_counter) -> None:
        self._threshold = threshold
        self._report = report
        self._clock = clock

    def _stepped(self, seconds: float, label: str, extra: Mapping[str, Any]) -> None:
        threshold = self._threshold()
        if 0 < threshold <= seconds:
            self._report(blocked_message(label, seconds, threshold),
                         {"kind": "loop_blocked", **extra, "blocked_seconds": round(seconds, 3)})

    async def watch(self, coro: Awaitable[T], label: str, extra: Mapping[str, Any]) -> T:
        """Await ``coro`` (a coroutine or any awaitable), timing each of its steps."""
        result: T = await _Timed(self, coro, label, extra)
        return result


class _Timed:
    """An awaitable that drives a coroutine step by step (what a Task does), timing each step."""

    __slots__ = ("_coro", "_extra", "_label", "_watchdog")

    def __init__(self, watchdog: LoopWatchdog, coro: Awaitable[Any], label: str,
                 extra: Mapping[str, Any]) -> None:
        self._watchdog, self._coro, self._label, self._extra = watchdog, coro, label, extra

    def __await__(self) -> Generator[Any, Any, Any]:
        watchdog, label, extra = self._watchdog, self._label, self._extra
        clock = watchdog._clock
        inner = self._coro.__await__()
        value: Any = None
        error: BaseException | None = None
        while True:
            start = clock()
            try:
                yielded = inner.send(value) if error is None else inner.throw(error)
            except StopIteration as stop:
                watchdog._stepped(clock() - start, label, extra)
                return stop.value
            except BaseException:
                watchdog._stepped(clock() - start, label, extra)
                raise
            watchdog._stepped(clock() - start, label, extra)
            try:
                value, error = (yield yielded), None
            except GeneratorExit:
                close = getattr(self._coro, "close", None)
                if close is not None:
                    close()
                raise
            except BaseException as exc:  # cancellation and anything else thrown in: pass it down
                value, error = None, exc
