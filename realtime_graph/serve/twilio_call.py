"""One Twilio call: the ``LiveSession`` behind ``WS /twilio/media`` once its ``start`` was authenticated.

::

    TwilioCall.run           async with runner.run() as session (µ-law both ways, no transcoding)
    └── task group
        ├── _pump_twilio     media → send_audio (60 ms chunks), mark → PlaybackTracker, dtmf → send_dtmf
        ├── _pump_events     session events → 160-byte frames + marks, `clear` on audio_interrupted
        └── _write           outbox → WebSocket (the only sender), then the close frame
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..errors import ConnectError, SessionError, TransportError
from ..graph.model import Graph
from ..runtime import PlaybackTracker, Runner, Session
from ..runtime import events as ev
from ..telephony import OutboundPacer, PayloadError, mulaw_graph, route_call
from ..telephony.media_codec import Dtmf, MarkEcho, Media, StreamStart, StreamStop, parse_message
from .session_registry import offer_graph_to
from .timed_transport import TimedTransport

if TYPE_CHECKING:
    from .twilio_channel import TwilioChannel

__all__ = ("CHANNEL", "INBOUND_CHUNK", "TwilioCall", "TwilioCallControl", "close_quietly")

CHANNEL = "twilio"
INBOUND_CHUNK = 480
"""Caller audio is appended in 60 ms chunks (three Twilio frames; the SDK's Twilio example uses 50 ms):
a third of the client events of frame-by-frame, and Twilio streams continuously, so it never waits long."""
_GOING_AWAY = 1001
_POLICY = 1008


@dataclass(frozen=True, slots=True)
class _Close:
    code: int
    reason: str


async def close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    """Close ``websocket`` with ``code``; a socket already gone is fine."""
    try:
        await websocket.close(code=code, reason=reason)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass



class TwilioCallControl:
    """The built-in call tools on a Twilio call (``runtime.CallControl``).

    ``hangup`` closes the media stream: the ``<Connect>`` ends and, with no TwiML after it, Twilio
    ends the call. ``transfer`` would need the Twilio REST API (the account SID and a TwiML
    ``<Dial>``), which this channel does not hold: it fails, and the model is told.
    """

    def __init__(self, call: TwilioCall) -> None:
        self._call = call

    async def hangup(self) -> None:
        self._call.hang_up()

    async def transfer(self, target: str) -> None:
        raise NotImplementedError("transfers on Twilio calls need the Twilio REST API, which rtgraph does not use")


class TwilioCall:
    """One Twilio call (a :class:`~.session_registry.LiveSession`)."""

    channel = CHANNEL

    def __init__(self, owner: TwilioChannel, websocket: WebSocket, start: StreamStart, session_id: str) -> None:
        self.session_id = session_id
        self.agent: str | None = None
        self.start = start
        self.pacer = OutboundPacer(start.stream_sid)
        self._owner = owner
        self._ws = websocket
        self._session: Session | None = None
        self._outcome: str | None = None
        self._turn_end: float | None = None
        send, receive = anyio.create_memory_object_stream[str | _Close](math.inf)
        self._outbox: MemoryObjectSendStream[str | _Close] = send
        self._inbox: MemoryObjectReceiveStream[str | _Close] = receive

    # -- LiveSession ----------------------------------------------------------------------

    def offer_graph(self, graph: Graph) -> None:
        offer_graph_to(self._session, mulaw_graph(graph))

    def reload_rejected(self, message: str) -> None:
        """Nothing to tell a caller; the server log already has the located errors."""

    def close(self, reason: str) -> None:
        self._finish("drained" if reason == "draining" else reason, _Close(_GOING_AWAY, reason))

    def hang_up(self) -> None:
        """The agent ended the call (``hangup`` tool): close the stream after what is queued."""
        self._finish("hung_up", _Close(1000, "call ended"))

    # -- plumbing -------------------------------------------------------------------------

    def discard(self) -> None:
        self._outbox.close()
        self._inbox.close()

    def _put(self, item: str | _Close) -> None:
        try:
            self._outbox.send_nowait(item)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass

    def _finish(self, outcome: str, *items: str | _Close) -> None:
        if self._outcome is not None:
            return
        self._outcome = outcome
        for item in items:
            self._put(item)
        self._outbox.close()

    async def run(self) -> str:
        """Serve the call until Twilio stops the stream, the server closes it, or it fails."""
        owner = self._owner
        graph = owner.registry.graph
        decision = route_call(owner.routing(graph), default_agent=graph.start,
                              parameters=self.start.custom_parameters)
        if decision.agent not in graph.agents:  # a reload removed it between routing rules and agents
            await close_quietly(self._ws, 1011, "routed agent missing")
            return "bad_request"
        self.agent = decision.agent
        transport = TimedTransport(owner.transport)
        runner = Runner(mulaw_graph(graph), transport=transport, raw_events=True,
                        playback_tracker=PlaybackTracker(reported=True))
        try:
            async with runner.run(agent=decision.agent, context=dict(decision.context),
                                  call_control=TwilioCallControl(self)) as session, \
                    anyio.create_task_group() as tg:
                self._session = session
                owner.log.write("session started", id=self.session_id, channel=CHANNEL, agent=decision.agent,
                                call=self.start.call_sid, rule=decision.rule, graph=graph.version)
                if owner.registry.graph is not graph:  # a reload landed while we connected
                    self.offer_graph(owner.registry.graph)
                tg.start_soon(self._pump_events, session, transport)
                tg.start_soon(self._pump_twilio, session)
                await self._write()
                tg.cancel_scope.cancel()
        except ConnectError:
            owner.metrics.transport_errors.labels("connect_failed").inc()
            await close_quietly(self._ws, 1011, "realtime server unreachable")
            return "transport_error"
        finally:
            self._session = None
        return self._outcome or "ended"

    async def _write(self) -> None:
        ws, inbox = self._ws, self._inbox
        receive_nowait = inbox.receive_nowait
        try:
            while True:
                # Drain what is queued without a loop checkpoint per message: anyio's receive()
                # yields on every call, and each 100 ms of reply is ten messages (5 media + 5 marks).
                try:
                    item = receive_nowait()
                except anyio.WouldBlock:
                    try:
                        item = await inbox.receive()
                    except anyio.EndOfStream:
                        return
                except anyio.EndOfStream:
                    return
                if type(item) is str:
                    await ws.send_text(item)
                else:
                    assert isinstance(item, _Close)
                    await ws.close(code=item.code, reason=item.reason)
                    return
        except (WebSocketDisconnect, RuntimeError, OSError):
            self._finish("client_closed")

    # -- session → Twilio -----------------------------------------------------------------

    async def _pump_events(self, session: Session, transport: TimedTransport) -> None:
        metrics = self._owner.metrics
        lag = metrics.event_lag.labels(CHANNEL)
        pacer, put = self.pacer, self._put
        try:
            async for event in session:
                if type(event) is ev.RawModelEvent:
                    now = time.monotonic()
                    seconds = transport.lag(now)
                    if seconds is not None:
                        lag.observe(seconds)
                    if event.data.get("type") == "input_audio_buffer.speech_stopped":
                        self._turn_end = self._turn_end or now
                elif type(event) is ev.AudioEvent:
                    if self._turn_end is not None:
                        metrics.first_audio.labels(CHANNEL).observe(time.monotonic() - self._turn_end)
                        self._turn_end = None
                    for message in pacer.push(event.audio, event.item_id, event.content_index):
                        put(message)
                elif type(event) is ev.AudioEndEvent:
                    for message in pacer.finish(event.item_id, event.content_index):
                        put(message)
                elif type(event) is ev.AudioInterruptedEvent:
                    metrics.barge_ins.labels(CHANNEL).inc()
                    put(pacer.interrupt())
                elif type(event) is ev.HandoffEvent:
                    self.agent = event.to_agent.name
        except TransportError:  # ConnectionLost, or a failure while reading
            metrics.transport_errors.labels("connection_lost").inc()
            self._finish("transport_error", _Close(1011, "connection lost"))
            return
        self._finish("ended", _Close(1000, "session ended"))

    # -- Twilio → session -----------------------------------------------------------------

    async def _pump_twilio(self, session: Session) -> None:
        try:
            await self._read_twilio(session)
        except (TransportError, SessionError) as exc:  # the Realtime connection failed under a send
            self._owner.metrics.transport_errors.labels("connection_lost").inc()
            self._owner.log.write("transport error", str(exc), id=self.session_id, channel=CHANNEL)
            self._finish("transport_error", _Close(1011, "connection lost"))

    async def _read_twilio(self, session: Session) -> None:
        ws, pacer = self._ws, self.pacer
        tracker = session.playback_tracker
        pending = bytearray()
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                self._finish("client_closed")
                return
            try:
                parsed = parse_message(message.get("text") or message.get("bytes") or b"")
            except PayloadError as exc:
                self._owner.log.write("bad message", str(exc), id=self.session_id, channel=CHANNEL)
                self._finish("bad_request", _Close(_POLICY, "bad message"))
                return
            if type(parsed) is Media:
                pending += parsed.audio
                if len(pending) >= INBOUND_CHUNK:
                    await session.send_audio(bytes(pending))
                    pending.clear()
            elif type(parsed) is MarkEcho:
                played = pacer.on_mark(parsed.name)
                if played is not None:
                    tracker.on_play_bytes(played.item_id, played.content_index, played.nbytes)
            elif type(parsed) is Dtmf:
                await session.send_dtmf(parsed.digit)
            elif type(parsed) is StreamStop:
                if pending:
                    await session.send_audio(bytes(pending))
                self._finish("ended", _Close(1000, "stream stopped"))
                return
