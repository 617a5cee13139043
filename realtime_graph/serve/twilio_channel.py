"""The Twilio channel: ``POST /twilio/voice`` answers with TwiML, ``WS /twilio/media`` runs the call.

::

    TwilioChannel.voice          X-Twilio-Signature (403), capacity (TwiML <Reject reason="busy"/>),
                                 TwiML <Connect><Stream url=wss://…/twilio/media> + <Parameter>s
                                 (the routing inputs and a one-time stream token)
    TwilioChannel.media          `start` within 10 s, its stream token (else close 1008), admit (else 1013)
    └── TwilioCall.run           the call as a session (serve/twilio_call.py)

Secrets never reach logs or answers: the auth token is read from ``${TWILIO_AUTH_TOKEN}`` (or the
graph's ``telephony.twilio_auth_token`` reference) per request; logs carry ids and outcomes.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from urllib.parse import parse_qsl

import anyio
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.websockets import WebSocket

from ..errors import redact_url
from ..graph.model import Graph, Secret
from ..telephony import (
    CallRouting,
    PayloadError,
    SignatureError,
    connect_stream_twiml,
    routing_from_mapping,
    verify_twilio_signature,
    voice_parameters,
)
from ..telephony.media_codec import StreamStart, StreamStop, parse_message
from ..telephony.media_token import TOKEN_PARAMETER, TokenLedger, check_media_token, issue_media_token, media_token_key
from ..transports.base import Transport
from .public_address import public_base, public_request_url, websocket_url
from .serve_metrics import ServeMetrics
from .serve_options import ServeOptions
from .session_log import ServeLog
from .session_registry import SessionRegistry
from .twilio_call import CHANNEL, TwilioCall, close_quietly

__all__ = ("BUSY_TWIML", "CHANNEL", "MEDIA_PATH", "VOICE_PATH", "TwilioChannel")

VOICE_PATH = "/twilio/voice"
MEDIA_PATH = "/twilio/media"
DEFAULT_AUTH_TOKEN = "${TWILIO_AUTH_TOKEN}"
PHONE_CHANNELS = frozenset({"twilio", "sip"})
"""The channels ``telephony.max_calls`` counts (the server-wide ``max_sessions`` counts every channel)."""
BUSY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Reject reason="busy"/></Response>'
"""The answer at capacity or while draining: the caller hears a busy signal (and Twilio bills nothing)."""

START_TIMEOUT = 10.0
_MAX_FORM = 64 * 1024
_TRY_AGAIN = 1013
_POLICY = 1008


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
        """Check Twilio's signature, then answer with the stream TwiML (or busy).

        ``POST`` (Twilio's default) signs the URL and the form; ``GET`` signs the URL with its query,
        and the call's fields are the query parameters.
        """
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
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
        fields = dict(form) if request.method == "POST" else dict(parse_qsl(request.url.query))
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
            await close_quietly(websocket, _POLICY, "forbidden" if isinstance(exc, SignatureError) else "bad message")
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
            await close_quietly(websocket, _TRY_AGAIN, f"try again later ({refused})")
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
        await close_quietly(websocket, _POLICY, "no start")
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
        if (start.encoding, start.sample_rate) != ("audio/x-mulaw", 8000):  # µ-law passes through untouched
            raise PayloadError(f"media format {start.encoding} at {start.sample_rate} Hz is not supported: "
                               f"the session speaks audio/x-mulaw at 8000 Hz")
        return StreamStart(stream_sid=start.stream_sid, call_sid=start.call_sid, account_sid=start.account_sid,
                           tracks=start.tracks, custom_parameters=params, encoding=start.encoding,
                           sample_rate=start.sample_rate)
