"""A live session: one Realtime connection executing a graph.

``async with session`` connects, opens one anyio task group that owns the reader (server events →
session events) and every tool/guardrail/hook task, and sends the initial ``session.update``.
``async for event in session`` drains the session events. Leaving the ``async with`` (normally,
on error or on cancellation) cancels the tasks and closes the connection.

Server events are handled by :mod:`.reader` (the per-event hot path); tool calls, approvals and
handoffs by :mod:`.calls`; barge-in and guardrail cut-offs by :mod:`.interrupts`.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack
from types import MappingProxyType
from typing import Any

import anyio

from ..errors import ConnectionLost, SessionError
from ..graph.model import Agent, CallContext, Graph
from ..transports import protocol
from ..transports.base import ClientEvent, Connection, ConnectRequest, Transport
from . import events as ev
from .calls import ToolCalls
from .history import History, HistoryItem
from .interrupts import Interrupts
from .playback import PlaybackTracker
from .reader import ServerEventReader
from .responses import ResponseSlot
from .settings import build_session, connect_model, instruction_values, output_format
from .tools import call_entrypoint, describe
from .updates import GraphUpdates

__all__ = ("Session",)


class Session:
    """One live conversation; create it with :meth:`Runner.run`, use it as an async context manager."""

    def __init__(self, graph: Graph, *, transport: Transport, context: Mapping[str, Any] | None = None,
                 agent: str | None = None, call_id: str | None = None, raw_events: bool = True,
                 playback_tracker: PlaybackTracker | None = None) -> None:
        self._graph = graph
        self._transport = transport
        self.context: Mapping[str, Any] = MappingProxyType(dict(context or {}))
        """The per-session context (read-only) given to ``runner.run``."""
        name = agent or graph.start
        if name not in graph.agents:
            raise SessionError(f"no agent named {name!r} in the graph; agents: {', '.join(graph.agents)}")
        self._agent: Agent = graph.agents[name]
        self.call_id = call_id if call_id is not None else graph.transport.call_id
        self.model = connect_model(graph)
        self._raw = raw_events
        self.playback_tracker = playback_tracker or PlaybackTracker()
        """Report real playback here (phone bridges); the session reads it on interruptions."""
        self._history = History()
        self.slot = ResponseSlot()
        self.calls = ToolCalls(self)
        self.interrupts = Interrupts(self)
        self.updates = GraphUpdates(self)
        self._values: dict[str, Any] = {}
        self.live: dict[str, Any] = {}
        """The effective session config: last one sent, replaced by the server's ``session.updated``."""
        self.audio_produced = False
        self.response_agents: dict[str, Agent] = {}
        self._connection: Connection | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._stack: AsyncExitStack | None = None
        self._send_events: Any = None
        self._receive_events: Any = None
        self._failure: ConnectionLost | None = None
        self._reader_done = False
        self._closed = False
        self._idle = anyio.Event()
        # Events emitted vs handed to the iterator: the reader runs ahead of the consumer, so
        # "idle" for a caller also means "every event up to idleness was delivered".
        self._emitted = 0
        self._delivered = 0
        self._iterating = False
        self._drained: anyio.Event | None = None
        self._drain_target = 0
        self.reader = ServerEventReader(self)

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Session:
        if self._stack is not None:
            raise SessionError("a session can be entered only once; call runner.run() again")
        self._values = instruction_values(self._graph, self.context)
        initial = build_session(self._graph, self._agent, self._values, call_id=self.call_id,
                                include_tracing=True)
        self.updates.lock(initial)
        request = ConnectRequest(call_id=self.call_id) if self.call_id else ConnectRequest(model=self.model)
        stack = AsyncExitStack()
        await stack.__aenter__()
        self._stack = stack
        self._send_events, self._receive_events = anyio.create_memory_object_stream[ev.SessionEvent](math.inf)
        try:
            self._connection = await stack.enter_async_context(self._transport.connect(request))
            # The task group is exited by hand in __aexit__ so that an exception raised in the
            # caller's ``async with`` body propagates as itself, not wrapped in an ExceptionGroup.
            self._tg = anyio.create_task_group()
            await self._tg.__aenter__()
            stack.push_async_callback(self._close_tasks)
            self.emit(ev.HistoryUpdatedEvent(history=[]))
            self.set_live(initial)
            self._tg.start_soon(self._read)
            await self.send(protocol.session_update(initial))
        except BaseException as exc:
            self._closed = True
            self._send_events.close()
            self._receive_events.close()
            if not await stack.__aexit__(type(exc), exc, exc.__traceback__):
                raise
        return self

    async def _close_tasks(self) -> None:
        assert self._tg is not None
        self._tg.cancel_scope.cancel()
        await self._tg.__aexit__(None, None, None)

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool | None:
        self._closed = True
        try:
            assert self._stack is not None
            return await self._stack.__aexit__(exc_type, exc, tb)
        finally:
            self._send_events.close()
            self._receive_events.close()

    async def __aiter__(self) -> AsyncIterator[ev.SessionEvent]:
        if self._receive_events is None:
            raise SessionError("iterate the session inside 'async with runner.run() as session'")
        self._iterating = True
        stream = self._receive_events
        receive_nowait = stream.receive_nowait
        try:
            while True:
                # Drain what is buffered without a checkpoint per event: anyio's receive() yields
                # to the loop on every call, which would cost a loop iteration per audio delta.
                try:
                    event = receive_nowait()
                except anyio.WouldBlock:
                    try:
                        event = await stream.receive()
                    except anyio.EndOfStream:
                        break
                except anyio.EndOfStream:
                    break
                self._delivered += 1
                if self._drained is not None and self._delivered >= self._drain_target:
                    self._drained.set()
                    self._drained = None
                yield event
        except anyio.ClosedResourceError:
            return  # iterated after the session was exited
        finally:
            self._iterating = False
            if self._drained is not None:
                self._drained.set()
                self._drained = None
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    async def _read(self) -> None:
        assert self._connection is not None
        try:
            await self.reader.run(self._connection, raw=self._raw)
        except ConnectionLost as exc:
            self._failure = exc
        finally:
            self._reader_done = True
            self._send_events.close()
            self.notify()

    # -- shared plumbing (used by calls / interrupts / updates) -------------------------------

    def emit(self, event: ev.SessionEventBase) -> None:
        """Queue a session event stamped with the current graph version."""
        event.graph_version = self._graph.version
        self._emitted += 1
        try:
            self._send_events.send_nowait(event)  # type: ignore[arg-type]
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass  # the session is closing: late events are dropped, like the SDK

    async def send(self, event: ClientEvent) -> None:
        if self._connection is None:
            raise SessionError("the session is not connected")
        await self._connection.send(event)

    def start_soon(self, fn: Any, *args: Any) -> None:
        assert self._tg is not None
        self._tg.start_soon(fn, *args)

    async def request_response(self, event: Mapping[str, Any] | None = None) -> None:
        """Ask for a ``response.create``, sequenced so only one is ever in flight."""
        create = self.slot.request(event)
        if create is not None:
            await self.send(create)

    def error(self, message: str, **extra: Any) -> None:
        """Report a recoverable problem as an ``error`` event; the session goes on."""
        self.emit(ev.ErrorEvent(error={"message": message, **extra}))

    async def settle(self) -> None:
        """Something in flight finished: apply a pending hot reload if now safe, wake waiters."""
        await self.updates.at_safe_point()
        self.notify()

    def notify(self) -> None:
        """Wake :meth:`wait_idle` callers (state that ``is_idle`` depends on changed)."""
        self._idle.set()
        self._idle = anyio.Event()

    def call_context(self, agent: Agent, tool_name: str | None = None, call_id: str | None = None) -> CallContext:
        return CallContext(agent=agent.name, graph_version=self._graph.version, context=self.context,
                           tool_name=tool_name, call_id=call_id)

    def history_apply(self, item: Mapping[str, Any], previous_item_id: str | None = None) -> None:
        result = self._history.apply(item, previous_item_id)
        if result is not None:
            self._history_changed(*result)

    def _history_changed(self, item: HistoryItem, added: bool) -> None:
        if added:
            self.emit(ev.HistoryAddedEvent(item=item))
        else:
            self.emit(ev.HistoryUpdatedEvent(history=self._history.items))

    def add_transcript_delta(self, item_id: str, content_index: int, delta: str, key: str) -> None:
        self._history.add_transcript_delta(item_id, content_index, delta, key)

    def set_tool_output(self, call_id: str, output: str) -> None:
        item = self._history.set_tool_output(call_id, output)
        if item is not None:
            self._history_changed(item, False)

    def history_delete(self, item_id: str) -> None:
        if self._history.delete(item_id):
            self.emit(ev.HistoryUpdatedEvent(history=self._history.items))

    def set_input_transcript(self, item_id: str, transcript: str) -> None:
        self._history_changed(*self._history.set_input_transcript(item_id, transcript))

    def set_live(self, config: Mapping[str, Any]) -> None:
        """Adopt ``config`` (sent or confirmed by ``session.updated``) as the effective session."""
        self.live = dict(config)
        try:
            self.playback_tracker.set_format(output_format(config))
        except ValueError:
            pass  # an attached call without a known format: keep the previous byte rate

    def set_graph(self, graph: Graph, agent: Agent, values: dict[str, Any]) -> None:
        self._graph, self._agent, self._values = graph, agent, values
        self.interrupts.adopt(graph)

    def set_agent(self, agent: Agent) -> None:
        self._agent = agent

    async def run_hooks(self, hook: str, agent: Agent, event: ev.SessionEventBase) -> None:
        """Call the graph's and the agent's ``hook`` with ``event``; failures become error events."""
        for hooks in (self._graph.hooks, agent.hooks):
            entrypoint = getattr(hooks, hook)
            if entrypoint is None:
                continue
            try:
                await call_entrypoint(entrypoint, event)
            except Exception as exc:  # user code must never crash the session
                self.error(f"hook {hook} ({entrypoint.ref}) failed: {describe(exc)}")

    # -- public API -----------------------------------------------------------------------------

    def _require_open(self) -> None:
        if self._connection is None or self._closed:
            raise SessionError("the session is not open: use it inside 'async with runner.run() as session'")

    async def send_message(self, message: str | Mapping[str, Any]) -> None:
        """Send a user message (text, or ``{"role": "user", "content": [input_text/input_image...]}``)
        and ask for a response."""
        self._require_open()
        try:
            event = protocol.user_message(message)
        except ValueError as exc:
            raise SessionError(f"invalid message: {exc}") from None
        await self.send(event)
        await self.request_response()

    async def send_audio(self, audio: bytes, *, commit: bool = False) -> None:
        """Append user audio (in the session's input format); ``commit=True`` ends the user turn."""
        self._require_open()
        await self.send(protocol.audio_append(audio))
        if commit:
            await self.send(protocol.audio_commit())

    async def interrupt(self) -> None:
        """Stop the assistant now: ``audio_interrupted``, truncate what was not heard, cancel."""
        self._require_open()
        await self.interrupts.interrupt_audio(force_cancel=True)

    async def approve_tool_call(self, call_id: str, *, always: bool = False) -> None:
        """Run a parked tool call; ``always`` approves every later call of the same tool."""
        self._require_open()
        await self.calls.approve(call_id, always)

    async def reject_tool_call(self, call_id: str, *, always: bool = False, message: str | None = None) -> None:
        """Refuse a parked tool call; the model is told why (``message`` or the default text)."""
        self._require_open()
        await self.calls.reject(call_id, always, message)

    async def update_agent(self, name: str) -> None:
        """Switch the active agent (one ``session.update``; no handoff event, like the SDK)."""
        self._require_open()
        agent = self._graph.agents.get(name)
        if agent is None:
            raise SessionError(f"no agent named {name!r} in the graph; agents: {', '.join(self._graph.agents)}")
        config, _ = self.updates.session_for(self._graph, agent, self._values)
        self._agent = agent
        await self.send(protocol.session_update(config))

    async def send_raw(self, event: Mapping[str, Any]) -> None:
        """Send a raw client event; a raw ``response.create`` is sequenced like the session's own."""
        self._require_open()
        if event.get("type") not in protocol.CLIENT_EVENT_TYPES:
            raise SessionError(f"unknown client event type {event.get('type')!r}; "
                               f"expected one of: {', '.join(sorted(protocol.CLIENT_EVENT_TYPES))}")
        if event["type"] == "response.create":
            await self.request_response(event)
        else:
            await self.send(dict(event))

    def update_graph(self, graph: Graph) -> None:
        """Hot reload: adopt ``graph`` at the next safe point (no response, no tool running)."""
        self._require_open()
        self.updates.submit(graph)

    async def wait_idle(self) -> None:
        """Return once :attr:`is_idle` holds and, while someone iterates the session, every event
        emitted up to that moment has been handed to the iterator (the reader runs ahead of the
        consumer, so server-side idleness alone would cut the last response short).

        :raises SessionError: if the connection ended first.
        """
        while not self.is_idle:
            if self._reader_done:
                raise SessionError("the connection closed before the session became idle")
            await self._idle.wait()
        if self._iterating and self._delivered < self._emitted:
            # Every waiter shares one event, released once the furthest target is delivered.
            self._drain_target = max(self._drain_target, self._emitted)
            if self._drained is None:
                self._drained = anyio.Event()
            await self._drained.wait()

    @property
    def is_idle(self) -> bool:
        """No response in progress or requested, no tool running or waiting for approval."""
        return not self.slot.busy and not self.calls.busy

    @property
    def connection(self) -> Connection | None:
        """The transport connection (for raw access); None before connect."""
        return self._connection

    @property
    def history(self) -> list[HistoryItem]:
        """The local conversation history (a copy)."""
        return self._history.items

    @property
    def current_agent(self) -> Agent:
        return self._agent

    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def values(self) -> Mapping[str, Any]:
        """Template variables the instructions render with (graph defaults + session context)."""
        return self._values
