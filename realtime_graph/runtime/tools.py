"""Calling user code: entrypoints (sync in a worker thread, async awaited) and function tools.

Everything a tool can do wrong (bad JSON arguments, an exception, a timeout) becomes a
:class:`ToolOutcome` whose ``text`` is what the model sees, produced by ``run.tool_error_formatter``
when the graph has one. Nothing raised by user code escapes from here.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
from dataclasses import dataclass
from typing import Any

import anyio

from ..graph.model import CallContext, Entrypoint, Tool, ToolErrorInfo

__all__ = ("ToolOutcome", "call_entrypoint", "describe", "format_tool_error", "parse_arguments", "run_tool",
           "serialise_output")


async def call_entrypoint(entrypoint: Entrypoint, *args: Any, **kwargs: Any) -> Any:
    """Call user code: async functions are awaited, sync ones run in a worker thread.

    The thread is abandoned on cancellation (a timeout or session exit must not hang on a
    blocking tool); its result is then discarded.
    """
    fn = entrypoint.resolve()
    if entrypoint.is_async or inspect.iscoroutinefunction(fn):
        return await fn(*args, **kwargs)
    result = await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs),
                                            abandon_on_cancel=True)
    if inspect.isawaitable(result):
        result = await result
    return result


def serialise_output(value: Any) -> str:
    """A tool's return value as the model-visible string (str as is, dataclass → JSON, else JSON)."""
    if isinstance(value, str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.dumps(value, ensure_ascii=False, default=str)


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What running a tool produced: ``value`` (raw return value, or the error text) and ``text``
    (sent to the model). ``error`` is set when the call failed."""

    value: Any
    text: str
    error: ToolErrorInfo | None = None


def describe(exc: BaseException) -> str:
    """One line for an exception from user code: ``TypeName: message``."""
    return f"{type(exc).__name__}: {exc}"


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


async def run_tool(tool: Tool, arguments: str, context: CallContext,
                   formatter: Entrypoint | None) -> tuple[ToolOutcome, str | None]:
    """Run ``tool`` with the model's JSON ``arguments`` under its timeout.

    Returns the outcome and, if the error formatter misbehaved, a description of that problem.
    """
    parsed = parse_arguments(tool, arguments)
    if isinstance(parsed, str):
        info = ToolErrorInfo("invalid_arguments", tool.name, context.call_id or "", parsed)
    else:
        if tool.takes_context:
            parsed["context"] = context
        try:
            with anyio.fail_after(tool.timeout):
                value = await call_entrypoint(tool.entrypoint, **parsed)
            return ToolOutcome(value, serialise_output(value)), None
        except TimeoutError as exc:
            info = ToolErrorInfo("timeout", tool.name, context.call_id or "",
                                 f"Tool '{tool.name}' timed out after {tool.timeout:g} seconds.", exc)
        except Exception as exc:  # user code: becomes model-visible output
            info = ToolErrorInfo("exception", tool.name, context.call_id or "",
                                 f"An error occurred while running the tool '{tool.name}': "
                                 f"{describe(exc)}", exc)
    text, problem = await format_tool_error(formatter, info)
    return ToolOutcome(text, text, info), problem
