"""Reconnect with conversation replay: the I/O shell around :mod:`.reconnect_policy`.

The session's reader task runs :meth:`Reconnector.run`: it reads the current connection and,
when the connection ends for a reason the policy calls recoverable (a close code, a
``session_expired`` error, a response timeout, ``run.reconnect.max_session_age`` reached at a
turn boundary), it:

1. holds every client event (:class:`~.link.Link`), fails the response in flight (``error``,
   ``agent_end``) and forgets the items it left unfinished;
2. waits (backoff with jitter) and opens a new connection through the same
   :class:`~realtime_graph.transports.base.Transport`, up to ``max_attempts`` times;
3. sends the *current* agent's ``session.update``, the replay, the unacknowledged item creates
   and the held events, in that order;
4. asks for a response when the conversation ends waiting for the model (the failed turn), and
   emits :class:`~.events.ReconnectedEvent`.

A ``call_id`` session reattaches the sideband only: the call kept its conversation server-side,
so nothing is replayed. A fatal server error (``invalid_api_key``, ...) or an HTTP 401/403 at
the handshake ends the session at once. Connections opened here are owned (entered and closed)
by this task; the first belongs to the session.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from typing import Any

import anyio

from ..errors import ConnectError, ConnectionLost, RealtimeGraphError, TransportError
from ..graph.model import ReconnectSettings
from ..transports import protocol
from ..transports.base import ClientEvent, Connection, ConnectRequest, ServerEvent, Transport
from . import events as ev
from .link import Link
from .reader import ServerEventReader, adopt_live
from .reconnect_policy import (
    Replay,
    backoff_delay,
    build_replay,
    classify_error,
    drop_reason,
    fatal_message,
    owes_answer,
    replay_summary,
)
from .seam import Seam
from .state import SessionState
from .turns import Turns

__all__ = ("Reconnector",)

STABLE_AFTER = 30.0
"""A connection that lived this long (or finished a response) was healthy: attempts count afresh."""

_WATCHED = frozenset({"error", "response.done", "conversation.item.added", "conversation.item.done"})


class _Watched(Connection):
    """The connection as the reader sees it: acknowledgements, ``session_expired`` and fatal
    errors are noted here, and the server's echoes of replayed items are not passed on (they
    are already in the history)."""

    def __init__(self, inner: Connection, link: Link, hidden: frozenset[str]) -> None:
        self._inner = inner
        self._link = link
        self._hidden = set(hidden)
        self.expired = False
        self.healthy = False

    async def send(self, event: ClientEvent) -> None:
        await self._inner.send(event)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aiter__(self) -> AsyncIterator[ServerEvent]:
        pending, hidden = self._link.pending, self._hidden
        async for event in self._inner:
            kind = event.get("type") if type(event) is dict else None
            if type(kind) is str and kind in _WATCHED:
                if kind == "error":
                    error = event.get("error")
                    verdict = classify_error(error) if isinstance(error, Mapping) else None
                    if verdict is not None:
                        yield event
                        if verdict == "fatal":
                            assert isinstance(error, Mapping)
                            raise TransportError(fatal_message(error))
                        self.expired = True
                        return
                elif kind == "response.done":
                    self.healthy = True
                else:
                    item = event.get("item")
                    if isinstance(item, Mapping):
                        if item.get("id") in hidden:
                            if kind == "conversation.item.done":
                                hidden.discard(item["id"])
                            continue
                        if kind == "conversation.item.added":
                            pending.acked(item)
            yield event


class Reconnector:
    """Reads the session's connection and replaces it when the policy says so."""

    def __init__(self, state: SessionState, seam: Seam, link: Link, *, transport: Transport,
                 request: ConnectRequest, reader: ServerEventReader, turns: Turns, raw: bool,
                 session_config: Callable[[], Awaitable[dict[str, Any]]], idle: Callable[[], bool],
                 tools_busy: Callable[[], bool], jitter: Callable[[], float] = random.random) -> None:
        self._state = state
        self._seam = seam
        self._link = link
        self._transport = transport
        self._request = request
        self._reader = reader
        self._turns = turns
        self._raw = raw
        self._session_config = session_config
        self._idle = idle
        self._tools_busy = tools_busy
        self._jitter = jitter
        self._hidden: frozenset[str] = frozenset()
        self._requested: str | None = None
        self.reconnects = 0

    @property
    def _settings(self) -> ReconnectSettings:
        return self._state.graph.run.reconnect  # hot reloads apply to the next drop

    @property
    def sideband_only(self) -> bool:
        return self._state.call_id is not None

    async def run(self) -> None:
        """Until the session ends: returns on a clean end, raises ``TransportError`` otherwise."""
        stack: AsyncExitStack | None = None  # the connection opened here last (not the first one)
        used = 0
        try:
            while True:
                reason, healthy = await self._read(self._link.current)
                if reason is None:
                    self._link.fail(ConnectionLost("the realtime server ended the session"))
                    return
                used = 0 if healthy else used
                recovered = await self._recover(reason, stack, used)
                if recovered is not None:
                    stack, used = recovered  # (closed below, should the call be over)
                if recovered is None or self._seam.closed_by_us:  # hung up meanwhile: nothing to go on with
                    self._link.fail(ConnectionLost("the session ended the call"))
                    return
        except TransportError as exc:
            self._link.fail(exc)
            raise
        finally:
            if stack is not None:
                with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                    await stack.aclose()

    @property
    def requested(self) -> str | None:
        """Why the session asked for a reconnect on the current connection, if it did."""
        return self._requested

    async def request(self, reason: str) -> None:
        """Reconnect now (a response timeout, the session's age): close the current connection;
        the reader then ends and :meth:`run` reconnects."""
        if self._requested is None and self._link.up:
            self._requested = reason
            self._link.down()
            await self._link.current.aclose()

    # -- reading ---------------------------------------------------------------------------------

    async def _read(self, connection: Connection) -> tuple[str | None, bool]:
        settings = self._settings
        watched = _Watched(connection, self._link, self._hidden)
        self._requested = None
        started = anyio.current_time()
        rollover = anyio.CancelScope()
        if settings.enabled and settings.max_session_age is not None and not self.sideband_only:
            self._seam.start_soon(self._rollover, settings.max_session_age, rollover)
        try:
            await self._reader.run(watched, raw=self._raw)
        except ConnectionLost as exc:
            if self._seam.closed_by_us:
                return None, True
            reason = drop_reason(exc.code, exc.reason) if settings.enabled else None
            if reason is None:
                raise
            return reason, watched.healthy or anyio.current_time() - started >= STABLE_AFTER
        finally:
            rollover.cancel()
        healthy = watched.healthy or anyio.current_time() - started >= STABLE_AFTER
        requested = self.requested
        if requested is not None:
            return requested, healthy
        if not settings.enabled or self._seam.closed_by_us:
            return None, healthy
        if watched.expired:
            return ("session_expired" if not self.sideband_only else None), healthy
        return drop_reason(connection.close_code), healthy

    async def _rollover(self, age: float, scope: anyio.CancelScope) -> None:
        with scope:
            await anyio.sleep(age)
            while not self._idle():
                await self._seam.wait_changed()
            await self.request("max_session_age")

    # -- recovering ------------------------------------------------------------------------------

    async def _recover(self, reason: str, stack: AsyncExitStack | None,
                       used: int) -> tuple[AsyncExitStack, int] | None:
        """Reconnect and replay; None when the session hung up the call meanwhile."""
        state, link, settings = self._state, self._link, self._settings
        link.down()
        why = None if reason in ("response_timeout", "max_session_age") else (
            f"{{what}} was interrupted: the realtime connection was lost ({reason}); reconnecting")
        await self._turns.fail_in_flight(why)
        link.drop_held("response.create")  # whether to ask again is decided once reconnected
        state.slot.reset()
        if not self.sideband_only and state.history.drop_unfinished():
            self._seam.emit(ev.HistoryUpdatedEvent(history=state.history.items))
        self._seam.notify()
        resend = link.pending.take()
        await self._close(stack, link.current)
        problem = reason
        first = used
        while True:
            used += 1
            if used > settings.max_attempts:
                raise ConnectionLost(f"realtime connection lost ({reason}); gave up after "
                                     f"{settings.max_attempts} reconnect attempt"
                                     f"{'s' if settings.max_attempts != 1 else ''} (last: {problem})")
            if not (reason == "max_session_age" and used == first + 1):
                await anyio.sleep(backoff_delay(used, initial=settings.backoff_initial,
                                                most=settings.backoff_max, jitter=self._jitter()))
            if self._seam.closed_by_us:
                return None
            attempt = AsyncExitStack()
            try:
                timeout = state.graph.run.connect_timeout
                with anyio.fail_after(timeout):
                    connection = await attempt.enter_async_context(self._transport.connect(self._request))
                replay, sent = await self._restore(connection, resend)
            except ConnectError as exc:
                await self._close(attempt, None)
                if exc.status in (401, 403):
                    raise
                problem = str(exc)
            except TimeoutError:
                await self._close(attempt, None)
                problem = f"timed out after {timeout:g}s connecting (run.timeouts.connect)"
            except ConnectionLost as exc:
                await self._close(attempt, None)
                problem = str(exc)
            except BaseException:
                await self._close(attempt, None)
                raise
            else:
                break
        self.reconnects += 1
        await self._announce(reason, used - first, replay, resend, sent)
        return attempt, used

    async def _restore(self, connection: Connection,
                       resend: list[ClientEvent]) -> tuple[Replay, list[ClientEvent]]:
        """Session config, replay, unacknowledged creates, then the held events."""
        state = self._state
        if self.sideband_only:
            replay = Replay((), {})
        else:
            try:
                config = await self._session_config()
            except RealtimeGraphError as exc:  # e.g. a template that no longer renders
                raise TransportError(f"cannot rebuild the session after a reconnect: {exc}") from None
            replay = build_replay(state.history.items, state.history.heard)
            await connection.send(protocol.session_update(config))
            adopt_live(state, config)
        self._hidden = replay.item_ids
        for event in (*replay.events, *resend):
            await connection.send(event)
        calls = frozenset(e["item"]["call_id"] for e in replay.events
                          if e["item"].get("type") == "function_call_output")
        sent = await self._link.bring_up(connection, replayed_calls=calls, replayed_items=replay.item_ids)
        for event in resend:
            self._link.pending.sent(event)
        return replay, sent

    async def _announce(self, reason: str, attempt: int, replay: Replay, resend: list[ClientEvent],
                        sent: list[ClientEvent]) -> None:
        state = self._state
        retry = (not self.sideband_only and owes_answer([*replay.events, *resend, *sent])
                 and not state.slot.busy and not self._tools_busy())
        resent = len(resend) + len(sent)
        what = "sideband reattached" if self.sideband_only else f"replayed {replay_summary(replay.counts, resent)}"
        message = (f"reconnected after {reason} (attempt {attempt}): {what}"
                   f"{'; asked for the interrupted response again' if retry else ''}")
        self._seam.emit(ev.ReconnectedEvent(attempt=attempt, reason=reason, replayed=dict(replay.counts),
                                            resent=resent, response_retried=retry,
                                            sideband_only=self.sideband_only, message=message))
        if retry:
            await self._seam.request_response()
        self._seam.notify()

    @staticmethod
    async def _close(stack: AsyncExitStack | None, connection: Connection | None) -> None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            if connection is not None:
                await connection.aclose()
            if stack is not None:
                await stack.aclose()
