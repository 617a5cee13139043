"""The browser channel: one WebSocket at ``/browser/session`` = one runtime session.

::

    BrowserChannel.__call__            Host/Origin/token checks (HTTP 403), capacity (accept + 1013)
    └── BrowserSession.run             async with runner.run() as session
        └── task group                 the session's three tasks; the first to finish decides the outcome
            ├── _pump_events           session events → translator → outbox.send (+ sampled metrics)
            ├── _pump_browser          WebSocket frames → session (text turns, audio, approvals, played)
            └── _write                 outbox.run: frames queued by others → WebSocket, then the close frame

Every outgoing frame goes through one :class:`~.browser_outbox.BrowserOutbox` so that events,
errors, reload notices and the closing notice never interleave and leave in order; the events
pump sends its frames itself (no task hop per audio delta). A browser that stops reading is
closed (outcome ``slow_client``, close code 1008) once the frames it has not taken pass the
outbox's bound, or a send has waited :data:`STALL_SECONDS` while server events pile up
(docs/serve.md, "Slow browsers"). Secrets never reach the page: the ``session`` message carries
names and versions only.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import anyio
import anyio.abc
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..audio import AudioFormat, format_from_wire
from ..errors import ConnectError, ConnectionLost, RealtimeGraphError, SessionError
from ..graph.model import Graph, thaw
from ..runtime import PlaybackTracker, Runner, Session
from ..runtime import events as ev
from ..transports.base import Transport
from . import browser_protocol as bp
from .access import PROTOCOL_SUBPROTOCOL, host_allowed, offered_token, origin_allowed, token_matches
from .browser_outbox import BrowserOutbox, Close
from .serve_metrics import ServeMetrics
from .serve_options import ServeOptions
from .session_log import ServeLog
from .session_registry import REFUSED_DRAINING, SessionRegistry, offer_graph_to
from .timed_transport import TimedTransport

__all__ = ("CHANNEL", "LAG_SAMPLE_EVERY", "STALL_SECONDS", "BrowserChannel", "BrowserSession")

CHANNEL = "browser"
_TRY_AGAIN = 1013
_GOING_AWAY = 1001
_POLICY = 1008
_SENDING_ERRORS = (WebSocketDisconnect, RuntimeError, OSError)
"""What a send raises once the browser went away (uvicorn raises on send after close)."""

STALL_SECONDS = 10.0
"""A send the browser has not taken for this long, with server events waiting, closes the session."""
LAG_SAMPLE_EVERY = 8
"""The event-lag histogram observes one server event in this many (each costs a lock and a bisect)."""


def _pcm_rate(graph: Graph, direction: str) -> int:
    wire = ((thaw(graph.model_settings).get("audio") or {}).get(direction) or {}).get("format")
    fmt: AudioFormat = format_from_wire(wire)
    if fmt.type != "audio/pcm":
        raise ValueError(f"the browser channel speaks PCM16; audio.{direction}.format is {fmt.type}")
    return fmt.rate


class BrowserChannel:
    """The ASGI WebSocket endpoint of the browser console."""

    def __init__(self, *, registry: SessionRegistry, transport: Transport, options: ServeOptions,
                 metrics: ServeMetrics, log: ServeLog) -> None:
        self.registry = registry
        self.transport = transport
        self.options = options
        self.metrics = metrics
        self.log = log

    def _refuse(self, reason: str, **fields: Any) -> None:
        self.metrics.sessions_refused.labels(CHANNEL, reason).inc()
        self.log.write("session refused", channel=CHANNEL, reason=reason, **fields)

    async def __call__(self, websocket: WebSocket) -> None:
        headers = websocket.headers
        host, origin = headers.get("host"), headers.get("origin")
        if not host_allowed(host, loopback_bind=self.options.loopback):
            self._refuse("host")
            await websocket.close(code=_POLICY)  # before accept: the client sees HTTP 403
            return
        if not origin_allowed(origin, host, secure=websocket.url.scheme == "wss",
                              allowed=self.options.allowed_origins):
            self._refuse("origin", origin=origin)
            await websocket.close(code=_POLICY)
            return
        offers: list[str] = list(websocket.scope.get("subprotocols") or ())
        if not token_matches(offered_token(offers), self.options.token):
            self._refuse("auth")
            await websocket.close(code=_POLICY)
            return
        if PROTOCOL_SUBPROTOCOL not in offers:
            self._refuse("protocol")
            await websocket.accept()
            await websocket.send_json(bp.BadMessage(f"offer the WebSocket subprotocol {PROTOCOL_SUBPROTOCOL!r} "
                                                    f"(browser protocol v1, see docs/serve.md)").frame())
            await websocket.close(code=_POLICY, reason=f"subprotocol {PROTOCOL_SUBPROTOCOL} required")
            return
        live = BrowserSession(self, websocket, secrets.token_hex(6))
        refused = self.registry.admit(live)
        if refused is not None:
            live.discard()
            self.log.write("session refused", channel=CHANNEL, reason=refused)
            await websocket.accept(subprotocol=PROTOCOL_SUBPROTOCOL)
            detail = "server is draining" if refused == REFUSED_DRAINING else "server is at capacity"
            await websocket.close(code=_TRY_AGAIN, reason=f"try again later ({detail})")
            return
        outcome = "error"
        try:
            outcome = await live.run()
        finally:
            live.discard()
            duration = self.registry.release(live, outcome)
            self.log.write("session ended", id=live.session_id, channel=CHANNEL, agent=live.agent,
                           outcome=outcome, duration=f"{duration:.1f}s")


class BrowserSession:
    """One browser session (a :class:`~.session_registry.LiveSession`)."""

    channel = CHANNEL

    def __init__(self, owner: BrowserChannel, websocket: WebSocket, session_id: str) -> None:
        self.session_id = session_id
        self.agent: str | None = None
        self._owner = owner
        self._ws = websocket
        self._session: Session | None = None
        self._outcome: str | None = None
        self._turn_end: float | None = None
        self._tool_started: dict[str, float] = {}
        self._tg: anyio.abc.TaskGroup | None = None
        self._outbox = BrowserOutbox(send_bytes=websocket.send_bytes, send_text=websocket.send_text,
                                     close=self._send_close, on_overflow=self._overflowed)

    # -- LiveSession ----------------------------------------------------------------------

    def offer_graph(self, graph: Graph) -> None:
        offer_graph_to(self._session, graph)

    def reload_rejected(self, message: str) -> None:
        self._put({"type": "reload_rejected", "message": message})

    def close(self, reason: str) -> None:
        self._finish("drained" if reason == "draining" else reason, {"type": "closing", "reason": reason},
                     Close(_GOING_AWAY, reason))

    # -- plumbing -------------------------------------------------------------------------

    def discard(self) -> None:
        """Release the outbox (the session is over or was never admitted)."""
        self._outbox.end()

    def _put(self, frame: bp.Frame | Close) -> None:
        self._outbox.put(frame)

    def _finish(self, outcome: str, *frames: bp.Frame | Close) -> None:
        """End with ``outcome`` (the first reason wins) after the writer sent ``frames``."""
        if self._outcome is not None:
            return
        self._outcome = outcome
        for frame in frames:
            self._put(frame)
        self._outbox.end()  # the writer sends what is queued, then ends the session

    async def _send_close(self, code: int, reason: str) -> None:
        await self._ws.close(code=code, reason=reason)

    def _slow_client(self, detail: str) -> None:
        """The browser stopped reading: drop what it has not taken and end the session."""
        if self._outcome is None:
            self._outcome = "slow_client"
            self._owner.log.write("slow browser", id=self.session_id, channel=CHANNEL, detail=detail)
        if self._tg is not None:
            self._tg.cancel_scope.cancel()  # the pending send waits on the browser: stop waiting

    def _overflowed(self, dropped: int) -> None:
        self._slow_client(f"{dropped} bytes of frames not taken")

    def _stalled(self, age: float) -> None:
        since = self._outbox.sending_since
        if since is not None and time.monotonic() - since >= STALL_SECONDS:
            self._slow_client(f"a send waited {STALL_SECONDS:g}s; server events {age:.1f}s behind")

    async def run(self) -> str:
        """Serve the session until the browser leaves, the server closes it, or it fails."""
        owner, ws = self._owner, self._ws
        graph = owner.registry.graph
        agent = ws.query_params.get("agent") or graph.start
        await ws.accept(subprotocol=PROTOCOL_SUBPROTOCOL)
        if agent not in graph.agents:
            await ws.send_json({"type": "error", "code": "unknown_agent",
                                "message": f"no agent named {agent!r}; agents: {', '.join(graph.agents)}"})
            await ws.close(code=_POLICY, reason="unknown agent")
            return "bad_request"
        try:
            rates = _pcm_rate(graph, "input"), _pcm_rate(graph, "output")
        except ValueError as exc:
            await ws.send_json({"type": "error", "code": "unsupported_audio", "message": str(exc)})
            await ws.close(code=_POLICY, reason="unsupported audio format")
            return "bad_request"
        self.agent = agent
        transport = TimedTransport(owner.transport, on_stall=self._stalled, stall_after=STALL_SECONDS)
        runner = Runner(graph, transport=transport, raw_events=True,
                        playback_tracker=PlaybackTracker(reported=True))
        try:
            async with runner.run(agent=agent) as session, anyio.create_task_group() as tg:
                self._session, self._tg = session, tg
                owner.log.write("session started", id=self.session_id, channel=CHANNEL, agent=agent,
                                graph=graph.version)
                self._put(bp.session_message(self.session_id, graph, agent, input_rate=rates[0],
                                             output_rate=rates[1]))
                if owner.registry.graph is not graph:  # a reload landed while we connected
                    self.offer_graph(owner.registry.graph)
                if owner.registry.last_rejection is not None:  # the files on disk are still broken
                    self.reload_rejected(owner.registry.last_rejection)
                tg.start_soon(self._pump_events, session, transport)
                tg.start_soon(self._pump_browser, session)
                await self._write()
                tg.cancel_scope.cancel()
        except ConnectError as exc:
            owner.metrics.transport_errors.labels("connect_failed").inc()
            await self._fail("connect_failed", f"could not reach the Realtime server: {exc}")
            return "transport_error"
        finally:
            self._session = self._tg = None
        if self._outcome == "slow_client":
            with anyio.move_on_after(1.0):  # the browser may not even take the close frame
                try:
                    await ws.close(code=_POLICY, reason="browser too slow: frames not taken")
                except _SENDING_ERRORS:
                    pass
        return self._outcome or "ended"

    async def _fail(self, code: str, message: str) -> None:
        try:
            await self._ws.send_json({"type": "error", "code": code, "message": message})
            await self._ws.close(code=1011, reason=code)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass

    async def _write(self) -> None:
        try:
            await self._outbox.run()
        except _SENDING_ERRORS:
            self._finish("client_closed")  # the browser went away mid-send

    # -- session → browser ----------------------------------------------------------------

    async def _pump_events(self, session: Session, transport: TimedTransport) -> None:
        try:
            await self._translate_events(session, transport)
        except _SENDING_ERRORS:
            self._finish("client_closed")  # the browser went away mid-send

    async def _translate_events(self, session: Session, transport: TimedTransport) -> None:
        translator = bp.EventTranslator(session.current_agent.name)
        metrics = self._owner.metrics
        lag = metrics.event_lag.labels(CHANNEL)
        send = self._outbox.send
        take, clock = transport.take, time.monotonic
        sample = 1  # the first server event is observed, then one in LAG_SAMPLE_EVERY
        try:
            async for event in session:
                if type(event) is ev.RawModelEvent:
                    received = take()
                    sample -= 1
                    if not sample:
                        sample = LAG_SAMPLE_EVERY
                        if received is not None:
                            lag.observe(clock() - received)
                    kind = event.data.get("type")
                    if kind in ("input_audio_buffer.speech_stopped", "input_audio_buffer.committed"):
                        self._turn_end = self._turn_end or clock()
                    elif kind == "error":
                        error = event.data.get("error") or {}
                        metrics.transport_errors.labels(str(error.get("code") or error.get("type") or "error")).inc()
                elif type(event) is ev.AudioEvent:
                    if self._turn_end is not None:
                        metrics.first_audio.labels(CHANNEL).observe(time.monotonic() - self._turn_end)
                        self._turn_end = None
                else:
                    self._observe(event)
                for frame in translator.translate(event):
                    await send(frame)
                self.agent = translator.agent
        except ConnectionLost as exc:
            metrics.transport_errors.labels("connection_lost").inc()
            self._finish("transport_error", {"type": "error", "code": "connection_lost",
                                             "message": f"the Realtime connection was lost: {exc}"},
                         Close(1011, "connection lost"))
            return
        self._finish("ended", {"type": "closing", "reason": "ended"}, Close(1000, "session ended"))

    def _observe(self, event: ev.SessionEventBase) -> None:
        metrics = self._owner.metrics
        if type(event) is ev.ToolStartEvent:
            self._tool_started[event.call_id] = time.monotonic()
        elif type(event) is ev.ToolEndEvent:
            started = self._tool_started.pop(event.call_id, None)
            if started is not None:
                metrics.tool_latency.labels(event.tool).observe(time.monotonic() - started)
        elif type(event) is ev.ErrorEvent:
            tool = event.error.get("tool")
            if tool and event.error.get("kind") not in ("approval_rejected", "unknown_tool"):
                metrics.tool_failures.labels(str(tool)).inc()
        elif type(event) is ev.AudioInterruptedEvent:
            metrics.barge_ins.labels(CHANNEL).inc()
        elif type(event) is ev.GuardrailTrippedEvent:
            for result in event.guardrail_results:
                if result.tripwire_triggered:
                    metrics.guardrail_trips.labels(result.guardrail or "guardrail").inc()

    # -- browser → session ----------------------------------------------------------------

    async def _pump_browser(self, session: Session) -> None:
        ws = self._ws
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                self._finish("client_closed")
                return
            data = message.get("bytes")
            if data is not None:
                problem = bp.check_audio_frame(data)
                if problem is not None:
                    self._put(problem.frame())
                else:
                    await session.send_audio(data)
                continue
            command = bp.parse_client_message(message.get("text") or "")
            if isinstance(command, bp.BadMessage):
                self._put(command.frame())
                continue
            try:
                await self._apply(session, command)
            except SessionError as exc:
                self._put({"type": "error", "code": "rejected", "message": str(exc)})
            except RealtimeGraphError as exc:
                self._put({"type": "error", "code": "session_error", "message": str(exc)})

    async def _apply(self, session: Session, command: bp.ClientCommand) -> None:
        if isinstance(command, bp.TextTurn):
            self._turn_end = time.monotonic()
            await session.send_message(command.text)
        elif isinstance(command, bp.Played):
            session.playback_tracker.on_play_bytes(command.item_id, command.content_index, command.bytes)
        elif isinstance(command, bp.Approve):
            await session.approve_tool_call(command.call_id, always=command.always)
        elif isinstance(command, bp.Reject):
            await session.reject_tool_call(command.call_id, always=command.always, message=command.message)
        elif isinstance(command, bp.Interrupt):
            await session.interrupt()
