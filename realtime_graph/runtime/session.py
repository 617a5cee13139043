"""A live session: one Realtime connection executing a graph.

``async with session`` connects, opens one anyio task group that owns the reader (server events →
session events) and every tool/guardrail/hook task, and sends the initial ``session.update``.
``async for event in session`` drains the session events. Leaving the ``async with`` (normally,
on error or on cancellation) cancels the tasks and closes the connection.

Inside, the helpers share one plain :class:`~.state.SessionState` and act through one
:class:`~.seam.Seam`; each gets its collaborators here, explicitly, in construction order.
:class:`Session` itself is the documented API only (docs/architecture.md, "Runtime").
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack
from types import MappingProxyType
from typing import Any

import anyio
import anyio.abc

from ..errors import ConnectError, SessionError, TransportError
from ..graph.model import Agent, Graph
from ..transports import protocol
from ..transports.base import Connection, ConnectRequest, Transport
from . import events as ev
from .agent_switch import AgentSwitch
from .call_control import CallControl
from .calls import ToolCalls
from .delivery import Delivery, is_idle
from .dtmf import DtmfRouter
from .event_queue import EventQueue
from .graph_updates import GraphUpdates
from .history import HistoryItem
from .interruption import Interruptions
from .link import Link
from .output_guardrails import OutputGuardrails
from .playback import PlaybackTracker
from .reader import ServerEventReader, adopt_live
from .reconnection import Reconnector
from .seam import Seam
from .session_config import attach_call_id, connect_model, greeting_instructions
from .state import SessionState
from .turns import Turns

__all__ = ("Session",)


class Session:
    """One live conversation; create it with :meth:`Runner.run`, use it as an async context manager."""

    def __init__(self, graph: Graph, *, transport: Transport, context: Mapping[str, Any] | None = None,
                 agent: str | None = None, call_id: str | None = None, raw_events: bool = True,
                 playback_tracker: PlaybackTracker | None = None, call_control: CallControl | None = None) -> None:
        name = agent or graph.start
        if name not in graph.agents:
            raise SessionError(f"no agent named {name!r} in the graph; agents: {', '.join(graph.agents)}")
        self._transport = transport
        self._raw = raw_events
        state = self._state = SessionState(
            graph=graph, agent=graph.agents[name], context=MappingProxyType(dict(context or {})),
            call_id=call_id if call_id is not None else attach_call_id(graph),
            model=connect_model(graph), playback=playback_tracker or PlaybackTracker())
        delivery = self._delivery = Delivery()
        seam = self._seam = Seam(state, delivery)
        guardrails = self._guardrails = OutputGuardrails(graph)
        cuts = self._cuts = Interruptions(state, seam)
        switch = self._switch = AgentSwitch(state, seam, guardrails)
        self._calls = ToolCalls(state, seam, switch, self._settle, call_control)
        self._updates = GraphUpdates(state, seam, switch,
                                     lambda: (self._calls.running, guardrails.pending))
        turns = self._turns = Turns(state, seam, guardrails, cuts, self._settle)
        dtmf = self._dtmf = DtmfRouter(state, seam, switch, cuts)
        self._reader = ServerEventReader(state, seam, turns=turns, calls=self._calls, cuts=cuts,
                                         settle=self._settle, dtmf=dtmf)
        self._connection: Connection | None = None
        self._link: Link | None = None
        self._reconnector: Reconnector | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._stack: AsyncExitStack | None = None
        self._events: EventQueue[ev.SessionEvent] | None = None
        self._failure: TransportError | None = None
        self._reader_done = False
        self._closed = False
        self._iterating = False
        self._drained: anyio.Event | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Session:
        if self._stack is not None:
            raise SessionError("a session can be entered only once; call runner.run() again")
        state = self._state
        initial = await self._switch.initial()
        call_id = state.call_id
        request = (ConnectRequest(call_id=call_id, redactor=state.redactor) if call_id
                   else ConnectRequest(model=state.model, redactor=state.redactor))
        stack = AsyncExitStack()
        await stack.__aenter__()
        self._stack = stack
        events = self._events = EventQueue[ev.SessionEvent]()
        try:
            run = state.graph.run
            try:
                with anyio.fail_after(run.connect_timeout):
                    self._connection = await stack.enter_async_context(self._transport.connect(request))
            except TimeoutError:
                raise ConnectError(f"timed out after {run.connect_timeout:g}s connecting to the realtime "
                                   f"server (run.timeouts.connect)") from None
            # The task group is exited by hand in __aexit__ so that an exception raised in the
            # caller's ``async with`` body propagates as itself, not wrapped in an ExceptionGroup.
            self._tg = anyio.create_task_group()
            await self._tg.__aenter__()
            stack.push_async_callback(self._close_tasks)
            link = self._link = Link(self._connection, reconnects=run.reconnect.enabled)
            self._reconnector = Reconnector(
                state, self._seam, link, transport=self._transport, request=request, reader=self._reader,
                turns=self._turns, raw=self._raw, session_config=self._switch.reconnecting, idle=lambda: self.is_idle,
                tools_busy=lambda: self._calls.busy)
            self._seam.attach(link, events, self._tg)
            self._seam.emit(ev.HistoryUpdatedEvent(history=[]))
            adopt_live(state, initial)
            self._seam.start_soon(self._read)  # a seam task: user code it runs is watched
            await self._seam.send(protocol.session_update(initial))
            with anyio.move_on_after(run.first_event_timeout):
                await self._reader.first_event.wait()
            if not self._reader.first_event.is_set():
                raise ConnectError(f"the realtime server sent no session.created within "
                                   f"{run.first_event_timeout:g}s of connecting (run.timeouts.first_event)")
            self._tg.start_soon(self._watch_responses)
            greeting = greeting_instructions(state.graph, state.agent, state.values)
            if greeting is not None:  # the first response, spoken without waiting for the user
                await self._seam.request_response(protocol.response_create(response={"instructions": greeting}))
        except BaseException as exc:
            self._closed = True
            self._close_streams()
            if not await stack.__aexit__(type(exc), exc, exc.__traceback__):
                raise
        return self

    def _close_streams(self) -> None:
        if self._events is not None:
            self._events.close()

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
            self._close_streams()

    async def __aiter__(self) -> AsyncIterator[ev.SessionEvent]:
        if self._events is None:
            raise SessionError("iterate the session inside 'async with runner.run() as session'")
        self._iterating = True
        events = self._events
        # Buffered events are popped without a checkpoint each: a yield to the loop per event
        # would cost a loop iteration per audio delta. Only an empty queue is waited on.
        items = events.items
        popleft = items.popleft
        delivery = self._delivery
        try:
            while True:
                if not items and not await events.wait():
                    break
                event = popleft()
                delivery.delivered += 1
                if self._drained is not None and delivery.reached():
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
        assert self._reconnector is not None
        try:
            await self._reconnector.run()
        except TransportError as exc:
            self._failure = exc
        finally:
            self._reader_done = True
            if self._events is not None:
                self._events.end()
            self._seam.notify()

    async def _watch_responses(self) -> None:
        """Fail the response in flight once the server made no progress on it (no session event
        at all) for ``run.timeouts.response``; checked a few times per timeout, off the hot path."""
        state = self._state
        seen, since = -1, anyio.current_time()
        while True:
            timeout = state.graph.run.response_timeout
            await anyio.sleep(min(timeout / 4, 1.0))
            waiting = state.slot.pending is not None or state.streaming() is not None
            now = anyio.current_time()
            if not waiting or state.received != seen:
                seen, since = state.received, now
            elif now - since >= timeout:
                await self._on_response_timeout(timeout)
                seen, since = state.received, now

    async def _on_response_timeout(self, timeout: float) -> None:
        """Reconnect (the server stopped answering; the turn is asked for again), or without
        ``run.reconnect`` end the turn here and go on."""
        state, link = self._state, self._link
        if not state.graph.run.reconnect.enabled or link is None or self._reconnector is None:
            await self._turns.abandon(timeout)
            return
        if not link.up:
            return  # already reconnecting
        active = state.streaming()
        what = f"response {active!r}" if active else "the requested response (no response.created)"
        self._seam.error(f"no progress on {what} from the realtime server within {timeout:g}s "
                         f"(run.timeouts.response); reconnecting", kind="response_timeout")
        await self._reconnector.request("response_timeout")

    async def _settle(self) -> None:
        """Something in flight finished: apply a pending hot reload if now safe, wake waiters."""
        await self._updates.at_safe_point()
        self._seam.notify()

    # -- public API -----------------------------------------------------------------------------

    def _require_open(self) -> None:
        if self._connection is None or self._closed:
            raise SessionError("the session is not open: use it inside 'async with runner.run() as session'")
        if self._link is not None and self._link.failure is not None:
            raise SessionError(f"the session has ended: {self._link.failure}")

    async def send_message(self, message: str | Mapping[str, Any]) -> None:
        """Send a user message (text, or ``{"role": "user", "content": [input_text/input_image...]}``)
        and ask for a response."""
        self._require_open()
        try:
            event = protocol.user_message(message)
        except ValueError as exc:
            raise SessionError(f"invalid message: {exc}") from None
        await self._seam.send(event)
        await self._seam.request_response()

    async def send_audio(self, audio: bytes, *, commit: bool = False) -> None:
        """Append user audio (in the session's input format); ``commit=True`` ends the user turn."""
        self._require_open()
        await self._seam.send(protocol.audio_append(audio))
        if commit:
            await self._seam.send(protocol.audio_commit())

    async def send_dtmf(self, digit: str) -> None:
        """The caller pressed ``digit`` on a channel that carries keypad presses itself (Twilio):
        a ``dtmf`` event, then the active agent's ``dtmf:`` route for it (docs/telephony.md)."""
        self._require_open()
        await self._dtmf.on_digit(digit, "twilio")

    async def interrupt(self) -> None:
        """Stop the assistant now: ``audio_interrupted``, truncate what was not heard, cancel."""
        self._require_open()
        await self._cuts.interrupt(force_cancel=True)

    async def approve_tool_call(self, call_id: str, *, always: bool = False) -> None:
        """Run a parked tool call; ``always`` approves every later call of the same tool."""
        self._require_open()
        await self._calls.approve(call_id, always)

    async def reject_tool_call(self, call_id: str, *, always: bool = False, message: str | None = None) -> None:
        """Refuse a parked tool call; the model is told why (``message`` or the default text)."""
        self._require_open()
        await self._calls.reject(call_id, always, message)

    async def update_agent(self, name: str) -> None:
        """Switch the active agent (one ``session.update``; no handoff event, like the SDK)."""
        self._require_open()
        agent = self._state.graph.agents.get(name)
        if agent is None:
            raise SessionError(f"no agent named {name!r} in the graph; "
                               f"agents: {', '.join(self._state.graph.agents)}")
        await self._switch.commit(await self._switch.prepare(agent))

    async def send_raw(self, event: Mapping[str, Any]) -> None:
        """Send a raw client event; a raw ``response.create`` is sequenced like the session's own."""
        self._require_open()
        if event.get("type") not in protocol.CLIENT_EVENT_TYPES:
            raise SessionError(f"unknown client event type {event.get('type')!r}; "
                               f"expected one of: {', '.join(sorted(protocol.CLIENT_EVENT_TYPES))}")
        if event["type"] == "response.create":
            await self._seam.request_response(event)
        else:
            await self._seam.send(dict(event))

    def update_graph(self, graph: Graph) -> None:
        """Hot reload: adopt ``graph`` at the next safe point (no response, no tool running)."""
        self._require_open()
        self._updates.submit(graph)

    async def wait_idle(self) -> None:
        """Return once :attr:`is_idle` holds and, while someone iterates the session, every event
        emitted up to that moment has been handed to the iterator (the reader runs ahead of the
        consumer, so server-side idleness alone would cut the last response short).

        A response counts as in progress until every output guardrail judged its complete text.

        :raises SessionError: if the connection ended first.
        """
        while not self.is_idle:
            if self._reader_done:
                raise SessionError("the connection closed before the session became idle")
            await self._seam.wait_changed()
        if self._delivery.wait_for(self._iterating):
            # Every waiter shares one event, released once the furthest target is delivered.
            if self._drained is None:
                self._drained = anyio.Event()
            await self._drained.wait()

    @property
    def is_idle(self) -> bool:
        """No response in progress, requested or awaiting its guardrails' verdicts; no tool
        running or waiting for approval; no reconnect under way."""
        reconnecting = self._link is not None and not self._link.up
        return is_idle(response_busy=self._state.slot.busy or reconnecting, tools_busy=self._calls.busy,
                       checks_pending=self._guardrails.pending)

    @property
    def connection(self) -> Connection | None:
        """The current transport connection (for raw access; a new one after a reconnect); None
        before connect."""
        return self._link.current if self._link is not None else self._connection

    @property
    def history(self) -> list[HistoryItem]:
        """The local conversation history (a copy)."""
        return self._state.history.items

    @property
    def current_agent(self) -> Agent:
        """The active agent (changed by handoffs, ``update_agent`` and hot reloads)."""
        return self._state.agent

    @property
    def graph(self) -> Graph:
        """The graph the session runs (the hot-reloaded one once applied)."""
        return self._state.graph

    @property
    def values(self) -> Mapping[str, Any]:
        """Template variables the instructions render with (graph defaults + session context)."""
        return self._state.values

    @property
    def context(self) -> Mapping[str, Any]:
        """The per-session context (read-only) given to ``runner.run``."""
        return self._state.context

    @property
    def playback_tracker(self) -> PlaybackTracker:
        """Report real playback here (phone bridges); the session reads it on interruptions."""
        return self._state.playback
