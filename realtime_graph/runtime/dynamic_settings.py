"""User code evaluated for every ``session.update``: dynamic instructions, handoff ``enabled``
and ``FunctionTool.is_enabled``.

The OpenAI Agents SDK calls ``instructions(context, agent)`` and each tool's and handoff's
``is_enabled(context, agent)`` whenever it sends an agent's settings (connect, handoff,
``update_agent``); so does the session, through :func:`evaluate` (also on a hot reload).
``context`` is the :class:`~realtime_graph.graph.model.CallContext` (``context.context`` is the
session context, as ``RunContextWrapper.context`` in the SDK) and ``agent`` the graph's
:class:`~realtime_graph.graph.model.Agent` whose settings are being sent.

Each call runs under ``run.timeouts.instructions``; a failure, a timeout or a result of the wrong
type raises :class:`~realtime_graph.errors.SessionError` naming the entrypoint and where it was
declared, so the update is not sent and the agent does not change (the caller reports it).
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from ..errors import SessionError
from ..graph.model import Agent, CallContext, Entrypoint
from .tools import call_entrypoint, describe

__all__ = ("DynamicParts", "evaluate")


@dataclass(frozen=True, slots=True)
class DynamicParts:
    """What user code decided for one ``session.update`` of ``agent``."""

    instructions: str | None = None
    """The text from ``instructions: {entrypoint: ...}``; None for template instructions."""
    hidden: frozenset[str] = frozenset()
    """Tool names of handoffs whose ``enabled`` entrypoint (and of ``FunctionTool`` objects whose
    ``is_enabled``) said False: left out of ``tools``."""


def _where(what: str, entrypoint: Entrypoint) -> str:
    at = f" at {entrypoint.location}" if entrypoint.location is not None else ""
    return f"{what} ({entrypoint.ref}{at})"


async def _call(what: str, entrypoint: Entrypoint, context: CallContext, agent: Agent, timeout: float,
                wanted: type) -> object:
    try:
        with anyio.fail_after(timeout):
            result = await call_entrypoint(entrypoint, context, agent)
    except TimeoutError:
        raise SessionError(f"{_where(what, entrypoint)} took longer than {timeout:g}s "
                           "(run.timeouts.instructions)") from None
    except Exception as exc:  # user code: translated here, never a traceback in the session
        raise SessionError(f"{_where(what, entrypoint)} failed: {describe(exc)}") from exc
    if type(result) is not wanted and not (wanted is str and isinstance(result, str)):
        raise SessionError(f"{_where(what, entrypoint)} returned {type(result).__name__}, "
                           f"not {wanted.__name__}")
    return result


async def evaluate(agent: Agent, context: CallContext, timeout: float) -> DynamicParts:
    """Call ``agent``'s instructions entrypoint, its tools' ``is_enabled`` and its handoffs'
    ``enabled`` entrypoints.

    :raises SessionError: an entrypoint raised, ran past ``timeout`` or returned the wrong type.
    """
    instructions = None
    entrypoint = agent.instructions.entrypoint
    if entrypoint is not None:
        text = await _call(f"instructions of agent {agent.name!r}", entrypoint, context, agent, timeout, str)
        instructions = str(text)
    hidden = set()
    for tool in agent.tools:
        if tool.enabled and tool.enabled_when is not None:
            what = f"is_enabled of tool {tool.name!r} of agent {agent.name!r}"
            if not await _call(what, tool.enabled_when, context, agent, timeout, bool):
                hidden.add(tool.name)
    for handoff in agent.handoffs:
        if handoff.enabled and handoff.enabled_when is not None:
            what = f"enabled of handoff {handoff.tool_name!r} of agent {agent.name!r}"
            if not await _call(what, handoff.enabled_when, context, agent, timeout, bool):
                hidden.add(handoff.tool_name)
    return DynamicParts(instructions=instructions, hidden=frozenset(hidden))
