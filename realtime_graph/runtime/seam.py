"""The one narrow interface the session's helpers act through: emit, send, start tasks, ask for
a response, report errors, run hooks, wake ``wait_idle``.

:class:`Seam` is built before the connection exists and :meth:`Seam.attach` ed once the session
is connected (connection, event stream, task group), so helpers never hold the
:class:`~.session.Session` or each other implicitly.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import anyio
import anyio.abc

from ..errors import SessionError
from ..graph.model import Agent, CallContext, Graph, Secret
from ..transports.base import ClientEvent, Connection
from . import events as ev
from .delivery import Delivery
from .event_queue import EventQueue
from .loop_watchdog import CURRENT, LoopWatchdog
from .state import SessionState
from .tools import call_entrypoint, describe

__all__ = ("Seam", "secret_values")


def secret_values(graph: Graph, values: Mapping[str, Any]) -> dict[str, str]:
    """The values of ``graph``'s secret variables (``Variable.secret``), by name, and of the
    environment variables its hosted (MCP) tools' headers and ``authorization`` reference (by
    variable name: a server error may quote a header back)."""
    out: dict[str, str] = {}
    for settings in (graph.model_settings, *(a.model_settings for a in graph.agents.values())):
        _referenced(settings.get("tools", ()), out)
    out.update({name: str(values[name]) for name, var in graph.variables.items()
                if var.secret and values.get(name) is not None})
    return out


def _referenced(value: Any, out: dict[str, str]) -> None:
    if isinstance(value, Secret):
        out.update(value.values())
    elif isinstance(value, Mapping):
        for item in value.values():
            _referenced(item, out)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _referenced(item, out)


class Seam:
    """What helpers may do to the outside world on behalf of one session."""

    __slots__ = ("_connection", "_delivery", "_events", "_idle", "_redacting", "_state", "_tg", "_watchdog",
                 "closed_by_us")

    def __init__(self, state: SessionState, delivery: Delivery) -> None:
        self._state = state
        self._delivery = delivery
        self._connection: Connection | None = None
        self._events: EventQueue[ev.SessionEvent] | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._idle = anyio.Event()
        self._redacting: Mapping[str, Any] | None = None
        self._watchdog = LoopWatchdog(lambda: state.graph.run.tool_loop_lag_threshold,
                                      lambda message, extra: self.error(message, **extra))
        self.closed_by_us = False
        """The session ended the connection itself (a hung-up call): never reconnect."""

    def attach(self, connection: Connection, events: EventQueue[ev.SessionEvent],
               tg: anyio.abc.TaskGroup) -> None:
        self._connection, self._events, self._tg = connection, events, tg

    def emit(self, event: ev.SessionEventBase) -> None:
        """Queue a session event stamped with the current graph version and the session's
        redactor (``to_dict`` redacts with it; an ``error`` event is redacted right here, since
        its message is shown as is by consoles and the browser channel)."""
        event.graph_version = self._state.graph.version
        self._sync_secrets()
        redactor = event.redactor = self._state.redactor
        if redactor and type(event) is ev.ErrorEvent:
            event.error = redactor.data(event.error)
        self._delivery.emitted += 1
        # once the session is closing, late events are dropped (put returns False), like the SDK
        self._events.put(event)  # type: ignore[union-attr, arg-type]

    async def send(self, event: ClientEvent) -> None:
        """Send a client event."""
        if self._connection is None:
            raise SessionError("the session is not connected")
        self._sync_secrets()  # before it reaches a recording connection
        await self._connection.send(event)

    async def close_connection(self) -> None:
        """Close the connection (a hung-up call): the reader ends and so does the event stream,
        whatever close code the socket reports (nothing is left to reconnect to)."""
        self.closed_by_us = True
        if self._connection is not None:
            await self._connection.aclose()

    def _sync_secrets(self) -> None:
        """Point the redactor at the secret values of the current ``values`` (a new dict whenever
        the graph or the agent's values change, so an identity check is enough)."""
        values = self._state.values
        if values is not self._redacting:
            self._redacting = values
            self._state.redactor.update(secret_values(self._state.graph, values))

    def start_soon(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        """Run ``fn(*args)`` as a task owned by the session's task group (with the session's
        loop watchdog current, so user coroutines it calls are timed)."""
        assert self._tg is not None
        self._tg.start_soon(self._owned, fn, *args, name=getattr(fn, "__qualname__", None))

    async def _owned(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        CURRENT.set(self._watchdog)  # the task's own context copy: nothing outside sees it
        await fn(*args)

    async def request_response(self, event: Mapping[str, Any] | None = None) -> None:
        """Ask for a ``response.create``, sequenced so only one is ever in flight."""
        create = self._state.slot.request(event)
        if create is not None:
            await self.send(create)

    def error(self, message: str, **extra: Any) -> None:
        """Report a recoverable problem as an ``error`` event; the session goes on."""
        self.emit(ev.ErrorEvent(error={"message": message, **extra}))

    def notify(self) -> None:
        """Wake :meth:`wait_changed` callers (state that idleness depends on changed)."""
        self._idle.set()
        self._idle = anyio.Event()

    async def wait_changed(self) -> None:
        """Until the next :meth:`notify`."""
        await self._idle.wait()

    def call_context(self, agent: Agent, tool_name: str | None = None, call_id: str | None = None) -> CallContext:
        """What an entrypoint called for ``agent`` may know about the call."""
        return CallContext(agent=agent.name, graph_version=self._state.graph.version,
                           context=self._state.context, tool_name=tool_name, call_id=call_id)

    def hooks_defined(self, hook: str, agent: Agent) -> bool:
        return getattr(self._state.graph.hooks, hook) is not None or getattr(agent.hooks, hook) is not None

    async def run_hooks(self, hook: str, agent: Agent, event: ev.SessionEventBase) -> None:
        """Call the graph's and the agent's ``hook`` with ``event``; failures become error events."""
        for hooks in (self._state.graph.hooks, agent.hooks):
            entrypoint = getattr(hooks, hook)
            if entrypoint is None:
                continue
            try:
                if entrypoint.takes_context:  # an SDK-shaped hook: (context, agent, ...) after adaptation
                    await call_entrypoint(entrypoint, event, self.call_context(agent))
                else:
                    await call_entrypoint(entrypoint, event)
            except Exception as exc:  # user code must never crash the session
                self.error(f"hook {hook} ({entrypoint.ref}) failed: {describe(exc)}")
