"""The Twilio channel: ``POST /twilio/voice`` answers with TwiML, ``WS /twilio/media`` runs the call.

::

    TwilioChannel.voice          X-Twilio-Signature (403), capacity (TwiML <Reject reason="busy"/>),
                                 TwiML <Connect><Stream url=wss://…/twilio/media> + <Parameter>s
                                 (the routing inputs and a one-time stream token)
    TwilioChannel.media          `start` within 10 s, its stream token (else close 1008), admit (else 1013)
    └── TwilioCall.run           async with runner.run() as session (µ-law both ways, no transcoding)
        └── task group
            ├── _pump_twilio     media → send_audio (60 ms chunks), mark → PlaybackTracker, dtmf → send_dtmf
            ├── _pump_events     session events → 160-byte frames + marks, `clear` on audio_interrupted
            └── _write           outbox → WebSocket (the only sender), then the close frame

Secrets never reach logs or answers: the auth token is read from ``${TWILIO_AUTH_TOKEN}`` (or the
graph's ``telephony.twilio_auth_token`` reference) per request; logs carry ids and outcomes.
"""

from __future__ import annotations

import math
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..errors import ConnectError, ConnectionLost, SessionError, redact_url
from ..graph.model import Graph, Secret
from ..runtime import PlaybackTracker, Runner, Session
from ..runtime import events as ev
from ..telephony import (
    CallRouting,
    OutboundPacer,
    PayloadError,
    SignatureError,
    connect_stream_twiml,
    mulaw_graph,
    route_call,
    routing_from_mapping,
    verify_twilio_signature,
    voice_parameters,
)
from ..telephony.media_codec import Dtmf, MarkEcho, Media, StreamStart, StreamStop, parse_message
from ..telephony.media_token import TOKEN_PARAMETER, TokenLedger, check_media_token, issue_media_token, media_token_key
from ..transports.base import Transport
from .public_address import public_base, public_request_url, websocket_url
from .serve_metrics import ServeMetrics
from .serve_options import ServeOptions
from .session_log import ServeLog
from .session_registry import SessionRegistry
from .timed_transport import TimedTransport

__all__ = ("BUSY_TWIML", "CHANNEL", "MEDIA_PATH", "VOICE_PATH", "TwilioCall", "TwilioChannel")

CHANNEL = "twilio"
VOICE_PATH = "/twilio/voice"
MEDIA_PATH = "/twilio/media"
DEFAULT_AUTH_TOKEN = "${TWILIO_AUTH_TOKEN}"
PHONE_CHANNELS = frozenset({"twilio", "sip"})
"""The channels ``telephony.max_calls`` counts (the server-wide ``max_sessions`` counts every channel)."""
BUSY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Reject reason="busy"/></Response>'
"""The answer at capacity or while draining: the caller hears a busy signal (and Twilio bills nothing)."""

START_TIMEOUT = 10.0
INBOUND_CHUNK = 480
"""Caller audio is appended in 60 ms chunks (three Twilio frames; the SDK's Twilio example uses 50 ms):
a third of the client events of frame-by-frame, and Twilio streams continuously, so it never waits long."""
_MAX_FORM = 64 * 1024
_TRY_AGAIN = 1013
_GOING_AWAY = 1001
_POLICY = 1008


@dataclass(frozen=True, slots=True)
class _Close:
    code: int
    reason: str


class TwilioChannel:
    """The two Twilio endpoints of one server."""

    def __init__(self, *, registry: SessionRegistry, transport: Transport, options: ServeOptions,
                 metrics: ServeMetrics, log: ServeLog, environ: Mapping[str, str] | None = None) -> None:
        self.registry = registry
        self.transport = transport
        self.options = options
        self.metrics = metrics
        self.log = log
        self._environ = os.environ if environ is None else environ
        self._ledger = TokenLedger()
        self._routing: tuple[Graph, CallRouting] | None = None

    def auth_token(self) -> str | None:
        """The Twilio auth token of the current graph's reference, or None when unset."""
        secret = Secret(str(self.registry.graph.telephony.get("twilio_auth_token") or DEFAULT_AUTH_TOKEN))
        if secret.missing(self._environ):
            return None
        return secret.reveal(self._environ) or None

    def calls_full(self) -> str | None:
        """``"max_calls"`` when ``telephony.max_calls`` phone calls (Twilio and SIP together) are live."""
        limit = self.registry.graph.telephony.get("max_calls")
        if not isinstance(limit, int):
            return None
        live = sum(1 for session in self.registry.sessions if session.channel in PHONE_CHANNELS)
        return "max_calls" if live >= limit else None

    def routing(self, graph: Graph) -> CallRouting:
        cached = self._routing
        if cached is None or cached[0] is not graph:
            cached = self._routing = (graph, routing_from_mapping(graph.telephony))
        return cached[1]

    def _refuse(self, reason: str, message: str = "", **fields: object) -> None:
        self.metrics.sessions_refused.labels(CHANNEL, reason).inc()
        self.log.write("session refused", message, channel=CHANNEL, reason=reason, **fields)

    # -- POST /twilio/voice ---------------------------------------------------------------

    async def voice(self, request: Request) -> Response:
        """Check Twilio's signature, then answer with the stream TwiML (or busy)."""
        body = await request.body()
        if len(body) > _MAX_FORM:
            return PlainTextResponse("form too large", status_code=413)
        form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        base = public_base(scheme=request.url.scheme, host=request.url.netloc, headers=request.headers,
                           public_url=self.options.public_url)
        url = public_request_url(base, request.url.path, request.url.query)
        token = self.auth_token()
        try:
            verify_twilio_signature(url, form, request.headers.get("x-twilio-signature"), token or "")
        except SignatureError as exc:
            self._refuse("signature", str(exc), url=redact_url(url))
            return PlainTextResponse(f"forbidden: {exc}", status_code=403)
        assert token is not None
        fields = dict(form)
        call_sid = fields.get("CallSid", "")
        refused = self.registry.not_ready() or self.calls_full()
        if refused is not None:
            self._refuse(refused, call=call_sid)
            return Response(BUSY_TWIML, media_type="application/xml")
        parameters = self._parameters(fields)
        parameters[TOKEN_PARAMETER] = issue_media_token(media_token_key(token), call_sid, parameters)
        twiml = connect_stream_twiml(websocket_url(base, MEDIA_PATH), parameters)
        return Response(twiml, media_type="application/xml")

    def _parameters(self, fields: Mapping[str, str]) -> dict[str, str]:
        """The routing inputs passed on as ``<Parameter>``s: From, To, CallSid and every form field a
        routing rule of the current graph looks at."""
        wanted: set[str] = set()
        for rule in self.routing(self.registry.graph).rules:
            wanted.update(c.name for c in rule.when if c.source == "parameter")
            wanted.update(f.value for f in rule.set.values() if f.source == "parameter")
        out = voice_parameters(fields)
        out.update({name: fields[name] for name in sorted(wanted) if name in fields and name != TOKEN_PARAMETER})
        return out

    # -- WS /twilio/media -----------------------------------------------------------------

    async def media(self, websocket: WebSocket) -> None:
        """One media stream: authenticate its ``start``, admit it, run the call."""
        await websocket.accept()
        try:
            start = await self._await_start(websocket)
        except (PayloadError, SignatureError) as exc:
            self._refuse("auth" if isinstance(exc, SignatureError) else "bad_request", str(exc))
            await _close(websocket, _POLICY, "forbidden" if isinstance(exc, SignatureError) else "bad message")
            return
        if start is None:
            return
        live = TwilioCall(self, websocket, start, secrets.token_hex(6))
        refused = self.calls_full()
        if refused is not None:
            self.metrics.sessions_refused.labels(CHANNEL, refused).inc()
        else:
            refused = self.registry.admit(live)
        if refused is not None:
            live.discard()
            self.log.write("session refused", channel=CHANNEL, reason=refused, call=start.call_sid)
            await _close(websocket, _TRY_AGAIN, f"try again later ({refused})")
            return
        outcome = "error"
        try:
            outcome = await live.run()
        finally:
            live.discard()
            duration = self.registry.release(live, outcome)
            self.log.write("session ended", id=live.session_id, channel=CHANNEL, agent=live.agent,
                           call=start.call_sid, outcome=outcome, duration=f"{duration:.1f}s",
                           stale_marks=live.pacer.stale_marks)

    async def _await_start(self, websocket: WebSocket) -> StreamStart | None:
        """The authenticated ``start`` (None: the socket closed first or stayed silent)."""
        with anyio.move_on_after(START_TIMEOUT):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return None
                parsed = parse_message(message.get("text") or message.get("bytes") or b"")
                if isinstance(parsed, StreamStop):
                    return None
                if isinstance(parsed, StreamStart):
                    return self._authenticate(parsed)
        self._refuse("timeout", f"no `start` within {START_TIMEOUT:g}s")
        await _close(websocket, _POLICY, "no start")
        return None

    def _authenticate(self, start: StreamStart) -> StreamStart:
        token = self.auth_token()
        if token is None:
            raise SignatureError("no Twilio auth token configured: set TWILIO_AUTH_TOKEN")
        params = dict(start.custom_parameters)
        nonce, expiry = check_media_token(media_token_key(token), params.pop(TOKEN_PARAMETER, None),
                                          start.call_sid, params)
        if not self._ledger.first_use(nonce, expiry):
            raise SignatureError("media stream token was already used (a replayed stream)")
        return StreamStart(stream_sid=start.stream_sid, call_sid=start.call_sid, account_sid=start.account_sid,
                           tracks=start.tracks, custom_parameters=params, encoding=start.encoding,
                           sample_rate=start.sample_rate)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        await websocket.close(code=code, reason=reason)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass


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
        if self._session is not None:
            try:
                self._session.update_graph(mulaw_graph(graph))
            except SessionError:
                pass  # closing; the next call starts on the new graph anyway

    def reload_rejected(self, message: str) -> None:
        """Nothing to tell a caller; the server log already has the located errors."""

    def close(self, reason: str) -> None:
        self._finish("drained" if reason == "draining" else reason, _Close(_GOING_AWAY, reason))

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
            await _close(self._ws, 1011, "routed agent missing")
            return "bad_request"
        self.agent = decision.agent
        transport = TimedTransport(owner.transport)
        runner = Runner(mulaw_graph(graph), transport=transport, raw_events=True,
                        playback_tracker=PlaybackTracker(reported=True))
        try:
            async with runner.run(agent=decision.agent, context=dict(decision.context)) as session, \
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
            await _close(self._ws, 1011, "realtime server unreachable")
            return "transport_error"
        finally:
            self._session = None
        return self._outcome or "ended"

    async def _write(self) -> None:
        ws = self._ws
        try:
            async for item in self._inbox:
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
                kind = type(event)
                if kind is ev.RawModelEvent:
                    now = time.monotonic()
                    seconds = transport.lag(now)
                    if seconds is not None:
                        lag.observe(seconds)
                    raw_type = event.data.get("type")  # type: ignore[union-attr]
                    if raw_type == "input_audio_buffer.speech_stopped":
                        self._turn_end = self._turn_end or now
                elif kind is ev.AudioEvent:
                    assert isinstance(event, ev.AudioEvent)
                    if self._turn_end is not None:
                        metrics.first_audio.labels(CHANNEL).observe(time.monotonic() - self._turn_end)
                        self._turn_end = None
                    for message in pacer.push(event.audio, event.item_id, event.content_index):
                        put(message)
                elif kind is ev.AudioEndEvent:
                    assert isinstance(event, ev.AudioEndEvent)
                    for message in pacer.finish(event.item_id, event.content_index):
                        put(message)
                elif kind is ev.AudioInterruptedEvent:
                    metrics.barge_ins.labels(CHANNEL).inc()
                    put(pacer.interrupt())
                elif kind is ev.HandoffEvent:
                    assert isinstance(event, ev.HandoffEvent)
                    self.agent = event.to_agent.name
        except ConnectionLost:
            metrics.transport_errors.labels("connection_lost").inc()
            self._finish("transport_error", _Close(1011, "connection lost"))
            return
        self._finish("ended", _Close(1000, "session ended"))

    # -- Twilio → session -----------------------------------------------------------------

    async def _pump_twilio(self, session: Session) -> None:
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
