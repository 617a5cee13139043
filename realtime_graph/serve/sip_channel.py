"""The SIP channel: ``POST /openai/webhook`` answers OpenAI Realtime calls (docs/telephony.md).

::

    SipChannel.webhook                 verify signature (400), parse (400), dedupe, hand off, 200 at once
    SipChannel.run                     owns the channel's task group and the Calls API client
    └── SipChannel._answer             per call: route, admit (else reject 486), accept, run
        └── SipCall.run                Runner.run(call_id=..., call_control=...) on the sideband

The accept body is ``Runner.initial_session`` — the very code path that builds the session's own
first ``session.update`` — so the call starts exactly as the sideband session expects.
A 404 on accept means the caller hung up first: logged (``caller gone``), not an error. Each call
is a :class:`~.session_registry.LiveSession` (channel ``sip``): capacity, drain, metrics and
reload fan-out apply. ``telephony.max_calls`` caps phone calls (SIP and Twilio) on top of
``max_sessions``.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Mapping
from typing import Any

import anyio
import anyio.abc
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..errors import ConnectError, ConnectionLost, RealtimeGraphError
from ..graph.model import Graph, Secret
from ..runtime import Runner, Session
from ..runtime import events as ev
from ..runtime.session_config import connect_model
from ..telephony import (
    AcceptResult,
    CallsApiError,
    CallsClient,
    IncomingCall,
    RedeliveryGuard,
    RouteDecision,
    SignatureError,
    TelephonyError,
    accept_body,
    parse_call_incoming,
    parse_webhook_event,
    route_call,
    routing_from_mapping,
    verify_webhook,
)
from ..telephony.incoming import CALL_INCOMING
from ..transports.base import Transport
from .serve_metrics import ServeMetrics
from .session_log import ServeLog
from .session_registry import SessionRegistry, offer_graph_to
from .timed_transport import TimedTransport

__all__ = ("BUSY_HERE", "CHANNEL", "PHONE_CHANNELS", "WEBHOOK_PATH", "CallsControl", "SipCall", "SipChannel",
           "sideband_url", "webhook_secret")

CHANNEL = "sip"
WEBHOOK_PATH = "/openai/webhook"
BUSY_HERE = 486
PHONE_CHANNELS = frozenset({"sip", "twilio"})
"""The channels ``telephony.max_calls`` counts (``max_sessions`` counts every channel)."""
SERVER_ERROR = 500
MAX_WEBHOOK_BYTES = 1 << 20
_HANGUP_GRACE = 5.0


def sideband_url(base: str) -> str:
    """The Realtime WebSocket URL under a Calls API ``base``: ``https://h/v1`` → ``wss://h/v1/realtime``."""
    scheme, sep, rest = base.rstrip("/").partition("://")
    ws = {"https": "wss", "http": "ws"}.get(scheme.lower(), scheme)
    return f"{ws}{sep}{rest}/realtime"


def webhook_secret(graph: Graph, environ: Mapping[str, str]) -> str | None:
    """``telephony.webhook_secret`` (an ``${ENV}`` reference) revealed, else ``$OPENAI_WEBHOOK_SECRET``."""
    declared = graph.telephony.get("webhook_secret")
    if isinstance(declared, str):
        try:
            return Secret(declared).reveal(environ) or None
        except KeyError:
            return None
    return environ.get("OPENAI_WEBHOOK_SECRET") or None


class CallsControl:
    """The runtime's :class:`~realtime_graph.runtime.call_control.CallControl` for one SIP call."""

    def __init__(self, client: CallsClient, call_id: str) -> None:
        self._client = client
        self.call_id = call_id
        self.hung_up = False

    async def hangup(self) -> None:
        await self._client.hangup(self.call_id)
        self.hung_up = True

    async def transfer(self, target: str) -> None:
        await self._client.refer(self.call_id, target)


class SipChannel:
    """The webhook endpoint and the calls it started."""

    def __init__(self, *, registry: SessionRegistry, transport: Transport, metrics: ServeMetrics, log: ServeLog,
                 environ: Mapping[str, str] | None = None) -> None:
        self.registry = registry
        self.transport = transport
        self.metrics = metrics
        self.log = log
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.guard = RedeliveryGuard()
        self.client: CallsClient | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._client_problem: str | None = None

    # -- the owner of every call task -------------------------------------------------------

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Own the Calls API client and the call tasks until cancelled (by the server)."""
        graph = self.registry.graph
        api_key = graph.transport.api_key
        try:
            headers = {name: value if isinstance(value, str) else value.reveal(self.environ)
                       for name, value in graph.transport.headers.items()} or None
            client = CallsClient(api_key=api_key.reveal(self.environ) if api_key is not None else None,
                                 headers=headers, environ=self.environ)
        except (CallsApiError, KeyError) as exc:  # KeyError: an unset ${ENV} of transport.headers/api_key
            why = str(exc) if isinstance(exc, CallsApiError) else f"environment variable {exc} is not set"
            self._client_problem = f"no Calls API credentials ({why})"
            client = None
        async with anyio.create_task_group() as tg:
            if client is not None:
                await client.__aenter__()
            self.client, self._tg = client, tg
            try:
                task_status.started()
                await anyio.sleep_forever()
            finally:
                self._tg = None
                if client is not None:
                    with anyio.CancelScope(shield=True):
                        await client.aclose()

    # -- POST /openai/webhook ---------------------------------------------------------------

    def _refuse(self, status: int, reason: str, message: str) -> Response:
        self.metrics.sessions_refused.labels(CHANNEL, reason).inc()
        self.log.write("webhook refused", channel=CHANNEL, reason=reason, detail=message)
        return JSONResponse({"error": message}, status_code=status)

    async def webhook(self, request: Request) -> Response:
        """Verify, parse and dedupe; start the call's task; answer 200 without waiting for it."""
        collected = bytearray()
        async for chunk in request.stream():
            collected += chunk
            if len(collected) > MAX_WEBHOOK_BYTES:
                return self._refuse(413, "payload", f"webhook body over {MAX_WEBHOOK_BYTES} bytes")
        body = bytes(collected)
        secret = webhook_secret(self.registry.graph, self.environ)
        if secret is None:
            return self._refuse(400, "signature", "no webhook secret configured: set OPENAI_WEBHOOK_SECRET "
                                "or telephony.webhook_secret")
        try:
            webhook_id = verify_webhook(body, request.headers, secret=secret)
            event = parse_webhook_event(body)
            if event["type"] != CALL_INCOMING:
                return JSONResponse({"status": "ignored", "type": event["type"][:64]})
            call = parse_call_incoming(event)
        except TelephonyError as exc:
            return self._refuse(400, "signature" if isinstance(exc, SignatureError) else "payload", str(exc))
        if not self.guard.first_time(webhook_id, call.call_id):
            self.log.write("webhook redelivered", channel=CHANNEL, call=call.call_id, webhook=webhook_id)
            return JSONResponse({"status": "duplicate"})
        if self._tg is None or self.client is None:
            self.guard.forget(webhook_id, call.call_id)  # let the sender's retry through later
            problem = self._client_problem or "the server is not running"
            return self._refuse(503, "unavailable", f"cannot answer calls: {problem}")
        self._tg.start_soon(self._guarded, call, self.client, time.monotonic())
        return JSONResponse({"status": "received"})

    # -- one call -----------------------------------------------------------------------------

    def _over_call_limit(self) -> bool:
        """``telephony.max_calls`` phone calls (SIP and Twilio together) are live."""
        limit = self.registry.graph.telephony.get("max_calls")
        return isinstance(limit, int) and sum(s.channel in PHONE_CHANNELS for s in self.registry.sessions) >= limit

    async def _guarded(self, call: IncomingCall, client: CallsClient, received: float) -> None:
        """One call's task: nothing it raises may reach the channel's task group (the server)."""
        try:
            await self._answer(call, client, received)
        except Exception as exc:
            self.metrics.transport_errors.labels("call_failed").inc()
            self.log.write("call failed", channel=CHANNEL, call=call.call_id, detail=f"{type(exc).__name__}: {exc}")

    async def _answer(self, call: IncomingCall, client: CallsClient, received: float) -> None:
        graph = self.registry.graph
        decision = route_call(routing_from_mapping(graph.telephony), default_agent=graph.start,
                              headers=call.sip_headers)
        live = SipCall(self, call, decision, graph, received)
        if self._over_call_limit():
            refused: str | None = "max_calls"
            self.metrics.sessions_refused.labels(CHANNEL, refused).inc()
        else:
            refused = self.registry.admit(live)  # counts its own refusals
        if refused is not None:
            self.log.write("call rejected", channel=CHANNEL, call=call.call_id, status=BUSY_HERE, reason=refused)
            try:
                await client.reject(call.call_id, BUSY_HERE)
            except CallsApiError as exc:
                self.log.write("reject failed", channel=CHANNEL, call=call.call_id, detail=str(exc))
            return
        outcome = "error"
        try:
            outcome = await live.run(client)
        finally:
            duration = self.registry.release(live, outcome)
            self.log.write("session ended", id=live.session_id, channel=CHANNEL, call=call.call_id,
                           agent=live.agent, outcome=outcome, duration=f"{duration:.1f}s")


class SipCall:
    """One answered SIP call (a :class:`~.session_registry.LiveSession`)."""

    channel = CHANNEL

    def __init__(self, owner: SipChannel, call: IncomingCall, decision: RouteDecision, graph: Graph,
                 received: float) -> None:
        self.session_id = secrets.token_hex(6)
        self.call = call
        self.decision = decision
        self.agent = decision.agent
        self.graph = graph
        self.received = received
        self.accept_sent: float | None = None
        self._owner = owner
        self._session: Session | None = None
        self._scope = anyio.CancelScope()
        self._closed: str | None = None
        self._control: CallsControl | None = None

    # -- LiveSession ----------------------------------------------------------------------

    def offer_graph(self, graph: Graph) -> None:
        offer_graph_to(self._session, graph)

    def reload_rejected(self, message: str) -> None:
        """Nothing to tell a caller; the server log already has it."""

    def close(self, reason: str) -> None:
        self._closed = self._closed or reason
        self._scope.cancel()

    # -- the call ---------------------------------------------------------------------------

    async def accept_request(self, runner: Runner) -> dict[str, Any]:
        """The accept body: the session object the runtime sends first for the routed agent and context."""
        session = await runner.initial_session(agent=self.decision.agent, context=self.decision.context,
                                               call_id=self.call.call_id)
        return accept_body(session, model=connect_model(self.graph))

    async def run(self, client: CallsClient) -> str:
        owner, call_id = self._owner, self.call.call_id
        transport = TimedTransport(owner.transport)
        runner = Runner(self.graph, transport=transport, raw_events=True)
        try:
            body = await self.accept_request(runner)
        except RealtimeGraphError as exc:  # a required variable the routing did not fill, ...
            owner.log.write("call rejected", channel=CHANNEL, call=call_id, status=SERVER_ERROR, reason="config",
                            detail=str(exc))
            await client.reject(call_id, SERVER_ERROR)
            return "bad_request"
        self.accept_sent = time.monotonic()
        try:
            result = await client.accept(call_id, body)
        except CallsApiError as exc:
            owner.metrics.transport_errors.labels("accept_failed").inc()
            owner.log.write("accept failed", channel=CHANNEL, call=call_id, detail=str(exc))
            return "accept_failed"
        if result is AcceptResult.CALLER_GONE:
            owner.log.write("caller gone", channel=CHANNEL, call=call_id,
                            detail="the call ended before it was accepted (404)")
            return "caller_gone"
        owner.log.write("call accepted", channel=CHANNEL, call=call_id, agent=self.agent,
                        rule=self.decision.rule if self.decision.rule is not None else "default",
                        graph=self.graph.version, setup=f"{(time.monotonic() - self.received) * 1000:.0f}ms")
        self._control = CallsControl(client, call_id)
        with self._scope:
            outcome = await self._converse(runner, transport, self._control)
        if self._control.hung_up:
            return "hung_up"
        if self._closed is not None:  # drained or shut down mid-call: end it rather than leave it unattended
            with anyio.move_on_after(_HANGUP_GRACE, shield=True):
                try:
                    await client.hangup(call_id)
                except CallsApiError:
                    pass  # already gone
            return "drained" if self._closed == "draining" else self._closed
        return outcome

    async def _converse(self, runner: Runner, transport: TimedTransport, control: CallsControl) -> str:
        owner, call_id = self._owner, self.call.call_id
        try:
            async with runner.run(agent=self.decision.agent, context=self.decision.context, call_id=call_id,
                                  call_control=control) as session:
                self._session = session
                if owner.registry.graph is not self.graph:  # a reload landed while we accepted
                    self.offer_graph(owner.registry.graph)
                await self._pump(session, transport)
        except ConnectError as exc:
            owner.metrics.transport_errors.labels("connect_failed").inc()
            owner.log.write("sideband failed", channel=CHANNEL, call=call_id, detail=str(exc))
            return "transport_error"
        except ConnectionLost as exc:
            owner.metrics.transport_errors.labels("connection_lost").inc()
            owner.log.write("sideband lost", channel=CHANNEL, call=call_id, detail=str(exc))
            return "transport_error"
        finally:
            self._session = None
        return "hung_up" if control.hung_up else "ended"

    async def _pump(self, session: Session, transport: TimedTransport) -> None:
        metrics = self._owner.metrics
        lag = metrics.event_lag.labels(CHANNEL)
        started: dict[str, float] = {}
        async for event in session:
            if isinstance(event, ev.RawModelEvent):
                seconds = transport.lag(time.monotonic())
                if seconds is not None:
                    lag.observe(seconds)
            elif isinstance(event, ev.AgentStartEvent):
                self.agent = event.agent.name
            elif isinstance(event, ev.ToolStartEvent):
                started[event.call_id] = time.monotonic()
            elif isinstance(event, ev.ToolEndEvent):
                begun = started.pop(event.call_id, None)
                if begun is not None:
                    metrics.tool_latency.labels(event.tool).observe(time.monotonic() - begun)
            elif isinstance(event, ev.AudioInterruptedEvent):
                metrics.barge_ins.labels(CHANNEL).inc()
            elif isinstance(event, ev.ErrorEvent):
                self._owner.log.write("session error", channel=CHANNEL, call=self.call.call_id,
                                      detail=json.dumps(event.error, default=str)[:300])
