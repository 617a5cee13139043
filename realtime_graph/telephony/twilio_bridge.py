"""One Twilio Media Streams call run as one session: the I/O shell around the codec and the pacer.

The WebSocket is given as a :class:`MediaChannel` (``send_text`` / ``receive_text``), so
``rtgraph serve`` can mount the bridge on a Starlette WebSocket and tests on any loopback server.
The session's audio formats are µ-law 8 kHz both ways (``audio/pcmu``): Twilio's audio passes
through without transcoding. Outbound audio goes out as 160-byte frames each followed by a mark
(:class:`~realtime_graph.telephony.pacer.OutboundPacer`); echoed marks feed the session's
``PlaybackTracker``, so a barge-in truncates at what the caller heard; ``audio_interrupted``
sends ``clear``. DTMF digits are delivered to ``on_event`` as :class:`TwilioDtmf` and to the session
(``send_dtmf``: the ``dtmf`` event and the active agent's ``dtmf:`` route).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import anyio

from ..audio import PCMU
from ..graph.model import Graph, freeze, thaw
from ..runtime import AudioEndEvent, AudioEvent, AudioInterruptedEvent, PlaybackTracker, Runner, Session
from ..transports.base import Transport
from .call_errors import PayloadError
from .media_codec import Connected, Dtmf, MarkEcho, Media, StreamStart, StreamStop, parse_message
from .pacer import OutboundPacer
from .routing import CallRouting, RouteDecision, route_call

__all__ = ("MediaChannel", "TwilioBridge", "TwilioDtmf", "TwilioStreamStarted", "mulaw_graph")


class MediaChannel(Protocol):
    """The media-stream WebSocket as the bridge needs it."""

    async def send_text(self, text: str) -> None: ...

    async def receive_text(self) -> str | None:
        """The next text message, or None once the socket closed."""
        ...


@dataclass(frozen=True, slots=True)
class TwilioStreamStarted:
    """The stream started and was routed."""

    start: StreamStart
    decision: RouteDecision


@dataclass(frozen=True, slots=True)
class TwilioDtmf:
    """The caller pressed a key."""

    digit: str
    stream_sid: str


def mulaw_graph(graph: Graph) -> Graph:
    """``graph`` with ``audio/pcmu`` input and output formats (Twilio's codec) at graph level."""
    settings = thaw(graph.model_settings)
    audio = settings.setdefault("audio", {})
    for side in ("input", "output"):
        audio.setdefault(side, {})["format"] = PCMU.to_wire()
    return dataclasses.replace(graph, model_settings=freeze(settings))


EventSink = Callable[[object], Awaitable[None] | None]


class TwilioBridge:
    """Runs calls of ``graph`` over Twilio media streams; one :meth:`run` per call."""

    def __init__(self, graph: Graph, *, transport: Transport, routing: CallRouting | None = None,
                 on_event: EventSink | None = None) -> None:
        self.graph = mulaw_graph(graph)
        self.transport = transport
        self.routing = routing or CallRouting()
        self._on_event = on_event

    async def _emit(self, event: object) -> None:
        if self._on_event is not None:
            result = self._on_event(event)
            if inspect.isawaitable(result):
                await result

    async def _await_start(self, channel: MediaChannel) -> StreamStart | None:
        while True:
            text = await channel.receive_text()
            if text is None:
                return None
            message = parse_message(text)
            if isinstance(message, StreamStart):
                return message
            if isinstance(message, StreamStop):
                return None
            if message is not None and not isinstance(message, Connected):
                raise PayloadError(f"media stream sent {type(message).__name__} before `start`")

    async def run(self, channel: MediaChannel) -> OutboundPacer | None:
        """Serve one call until Twilio sends ``stop`` or closes; returns the pacer (for its counters).

        :raises PayloadError: a malformed message (the caller should close the socket).
        """
        start = await self._await_start(channel)
        if start is None:
            return None
        decision = route_call(self.routing, default_agent=self.graph.start, parameters=start.custom_parameters)
        await self._emit(TwilioStreamStarted(start, decision))
        tracker = PlaybackTracker(reported=True)
        runner = Runner(self.graph, transport=self.transport, raw_events=False, playback_tracker=tracker)
        pacer = OutboundPacer(start.stream_sid)
        async with runner.run(agent=decision.agent, context=dict(decision.context)) as session:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._outbound, session, channel, pacer)
                await self._inbound(session, channel, pacer, tracker, start.stream_sid)
                tg.cancel_scope.cancel()
        return pacer

    async def _inbound(self, session: Session, channel: MediaChannel, pacer: OutboundPacer,
                       tracker: PlaybackTracker, stream_sid: str) -> None:
        while True:
            text = await channel.receive_text()
            if text is None:
                return
            message = parse_message(text)
            if isinstance(message, Media):
                await session.send_audio(message.audio)
            elif isinstance(message, MarkEcho):
                played = pacer.on_mark(message.name)
                if played is not None:
                    tracker.on_play_bytes(played.item_id, played.content_index, played.nbytes)
            elif isinstance(message, Dtmf):
                await self._emit(TwilioDtmf(message.digit, stream_sid))
                await session.send_dtmf(message.digit)  # the `dtmf` event and the agent's route
            elif isinstance(message, StreamStop):
                return

    async def _outbound(self, session: Session, channel: MediaChannel, pacer: OutboundPacer) -> None:
        async for event in session:
            if isinstance(event, AudioEvent):
                for out in pacer.push(event.audio, event.item_id, event.content_index):
                    await channel.send_text(out)
            elif isinstance(event, AudioEndEvent):
                for out in pacer.finish(event.item_id, event.content_index):
                    await channel.send_text(out)
            elif isinstance(event, AudioInterruptedEvent):
                await channel.send_text(pacer.interrupt())
            await self._emit(event)
