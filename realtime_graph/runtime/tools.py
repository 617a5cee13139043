"""Calling user code: entrypoints (sync in a worker thread, async awaited) and function tools.

Everything a tool can do wrong (bad JSON arguments, an exception, a ``BaseException`` such as
``SystemExit`` or ``KeyboardInterrupt``, a timeout, an odd return value) becomes a
:class:`ToolOutcome` whose ``text`` is what the model sees, produced by ``run.tool_error_formatter``
when the graph has one. Nothing raised by user code escapes from here except cancellation.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel

from ..graph.model import CallContext, Entrypoint, Tool, ToolErrorInfo
from .loop_watchdog import CURRENT
from .tool_output import DEFAULT_MAX_CHARS, model_text, serialise_output

__all__ = ("ContainedBaseException", "ToolOutcome", "call_entrypoint", "describe", "format_tool_error",
           "parse_arguments", "run_in_daemon_thread", "run_tool", "serialise_output")

T = TypeVar("T")


class ContainedBaseException(Exception):
    """A ``BaseException`` (``SystemExit``, ``KeyboardInterrupt``, ``GeneratorExit``, ...) raised by
    user code, wrapped so every ``except Exception`` around user code contains it; ``original``."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(describe(original))
        self.original = original


def _really_cancelled(exc: BaseException) -> bool:
    """True when ``exc`` is (or holds) a cancellation of the calling task, not user code that
    raised a ``CancelledError`` of its own while nobody cancelled it."""
    cancelled = anyio.get_cancelled_exc_class()
    if isinstance(exc, BaseExceptionGroup):
        if exc.split(cancelled)[0] is None:
            return False
    elif not isinstance(exc, cancelled):
        return False
    try:
        task = asyncio.current_task()
    except RuntimeError:  # not asyncio (trio): its Cancelled cannot be raised by user code
        return True
    return task is None or task.cancelling() > 0


async def run_in_daemon_thread(fn: Callable[[], T], *, name: str = "rtgraph user code") -> T:
    """``fn()`` in a new daemon thread; abandoned (left running, result dropped) on cancellation.

    Not ``anyio.to_thread.run_sync``: its worker threads are not daemons, so a tool still
    blocking after its timeout would hold the process open at exit (the interpreter joins them).
    A daemon thread never does; the context variables of the caller are copied in.
    """
    token = anyio.lowlevel.current_token()
    done = anyio.Event()
    outcome: list[tuple[bool, Any]] = []
    context = contextvars.copy_context()

    def work() -> None:
        try:
            outcome.append((True, context.run(fn)))
        except BaseException as exc:  # handed to the awaiting task, which decides
            outcome.append((False, exc))
        try:
            anyio.from_thread.run_sync(done.set, token=token)
        except RuntimeError:
            pass  # the event loop is gone: nobody is waiting any more

    threading.Thread(target=work, name=name, daemon=True).start()
    await done.wait()
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[no-any-return]
    raise value


async def _call(entrypoint: Entrypoint, args: tuple[Any, ...], kwargs: dict[str, Any], label: str,
                extra: dict[str, Any]) -> Any:
    try:
        fn = entrypoint.resolve()
        if entrypoint.is_async or inspect.iscoroutinefunction(fn):
            result = fn(*args, **kwargs)
        else:
            result = await run_in_daemon_thread(functools.partial(fn, *args, **kwargs), name=label)
            if not inspect.isawaitable(result):
                return result
        watchdog = CURRENT.get()  # an awaitable runs on the event loop: time its steps
        return await (result if watchdog is None else watchdog.watch(result, label, extra))
    except Exception:
        raise
    except BaseException as exc:
        if _really_cancelled(exc):
            raise
        raise ContainedBaseException(exc) from exc


async def call_entrypoint(entrypoint: Entrypoint, *args: Any, **kwargs: Any) -> Any:
    """Call user code: async functions are awaited, sync ones run in a daemon worker thread.

    The thread is abandoned on cancellation (a timeout or session exit must not hang on a
    blocking function); its result is then discarded. A ``BaseException`` other than
    cancellation becomes :class:`ContainedBaseException`. An ``async`` function that blocks the
    event loop is reported by the session's loop watchdog.
    """
    return await _call(entrypoint, args, kwargs, f"entrypoint {entrypoint.ref}", {})


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What running a tool produced: ``value`` (raw return value, or the error text) and ``text``
    (sent to the model). ``error`` is set when the call failed."""

    value: Any
    text: str
    error: ToolErrorInfo | None = None


def describe(exc: BaseException) -> str:
    """One line for an exception from user code: ``TypeName: message`` (``TypeName`` alone when
    the message is empty, as for ``sys.exit()``); a contained ``BaseException`` as itself."""
    if isinstance(exc, ContainedBaseException):
        exc = exc.original
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


async def format_tool_error(formatter: Entrypoint | None, info: ToolErrorInfo) -> tuple[str, str | None]:
    """The model-visible message for a failure: the formatter's string, else the default.

    Returns ``(message, formatter_problem)``; the problem text is set when the formatter itself
    failed or returned a non-string, so the caller can report it.
    """
    if formatter is None:
        return info.default_message, None
    try:
        custom = await call_entrypoint(formatter, info)
    except Exception as exc:  # user code: reported, never fatal
        return info.default_message, f"tool_error_formatter failed: {describe(exc)}"
    if custom is None:
        return info.default_message, None
    if not isinstance(custom, str):
        return info.default_message, f"tool_error_formatter returned {type(custom).__name__}, not str"
    return custom, None


def parse_arguments(tool: Tool, arguments: str) -> dict[str, Any] | str:
    """The model's JSON arguments as a dict, or the model-visible reason they are unusable."""
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError as exc:
        return f"Invalid JSON arguments for tool '{tool.name}': {exc.msg} at position {exc.pos}."
    if not isinstance(parsed, dict):
        return f"Invalid arguments for tool '{tool.name}': expected a JSON object."
    return parsed


async def run_tool(tool: Tool, arguments: str, context: CallContext, formatter: Entrypoint | None,
                   *, max_output_chars: int = DEFAULT_MAX_CHARS) -> tuple[ToolOutcome, str | None]:
    """Run ``tool`` with the model's JSON ``arguments`` under its timeout.

    Returns the outcome and, if the error formatter misbehaved, a description of that problem.
    The outcome's ``text`` is strict JSON (or the string returned) cut to ``max_output_chars``.
    A result that arrives after the timeout (an ``async`` tool that blocked the event loop, so
    the timeout could not interrupt it) is dropped: the model gets the timeout, as always.
    """
    call_id = context.call_id or ""
    parsed = parse_arguments(tool, arguments)
    if isinstance(parsed, str):
        info = ToolErrorInfo("invalid_arguments", tool.name, call_id, parsed)
    else:
        if tool.takes_context:
            parsed["context"] = context
        timeout = tool.timeout if tool.timeout is not None else float("inf")
        try:
            started = time.monotonic()
            value: Any = None
            with anyio.move_on_after(timeout) as scope:
                value = await _call(tool.entrypoint, (), parsed, f"tool '{tool.name}'",
                                    {"tool": tool.name, "call_id": call_id})
            if scope.cancelled_caught or time.monotonic() - started > timeout:
                info = ToolErrorInfo("timeout", tool.name, call_id,
                                     f"Tool '{tool.name}' timed out after {timeout:g} seconds.", TimeoutError())
            else:
                return ToolOutcome(value, model_text(serialise_output(value), max_output_chars)), None
        except Exception as exc:  # user code or its odd return value: becomes model-visible output
            original = exc.original if isinstance(exc, ContainedBaseException) else exc
            info = ToolErrorInfo("exception", tool.name, call_id,
                                 f"An error occurred while running the tool '{tool.name}': "
                                 f"{describe(original)}", original)
    text, problem = await format_tool_error(formatter, info)
    text = model_text(text, max_output_chars)
    return ToolOutcome(text, text, info), problem
