"""A transport wrapper that timestamps server events on receipt (event-lag metric, slow browsers).

The runtime yields one ``raw_model_event`` per server event, first and in arrival order, so the
consumer pairs its N-th raw event with the N-th receipt time (:meth:`TimedTransport.take`):
lag = handled - received. Nothing in the runtime changes; the wrapper costs one clock read and
one ``deque.append`` per event. The oldest untaken receipt time also says how long the consumer
has been behind: past ``stall_after`` seconds the wrapper calls ``on_stall`` with that age (once
per arriving event), so a consumer stuck on a slow browser is noticed without a timer.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from ..transports.base import ClientEvent, Connection, ConnectRequest, ServerEvent, Transport

__all__ = ("TimedConnection", "TimedTransport")


class TimedConnection(Connection):
    """Delegates to ``inner``; appends ``time.monotonic()`` to the owner's receipts per server event."""

    def __init__(self, inner: Connection, owner: TimedTransport) -> None:
        self._inner = inner
        self._owner = owner

    async def send(self, event: ClientEvent) -> None:
        await self._inner.send(event)

    async def __aiter__(self) -> AsyncIterator[ServerEvent]:
        owner = self._owner
        received, clock, limit = owner.received, time.monotonic, owner.stall_after
        append = received.append
        async for event in self._inner:
            now = clock()
            if received and now - received[0] > limit and owner.on_stall is not None:
                owner.on_stall(now - received[0])
            append(now)
            yield event

    async def aclose(self) -> None:
        await self._inner.aclose()


class TimedTransport(Transport):
    """One per session: connections of ``inner`` whose receipt times land in :attr:`received`."""

    def __init__(self, inner: Transport, *, on_stall: Callable[[float], None] | None = None,
                 stall_after: float = 10.0) -> None:
        self._inner = inner
        self.received: deque[float] = deque()
        self.on_stall = on_stall
        self.stall_after = stall_after

    def connect(self, request: ConnectRequest) -> AbstractAsyncContextManager[Connection]:
        return self._connect(request)

    @asynccontextmanager
    async def _connect(self, request: ConnectRequest) -> AsyncIterator[Connection]:
        async with self._inner.connect(request) as connection:
            yield TimedConnection(connection, self)

    def take(self) -> float | None:
        """The receipt time of the oldest unmatched server event (call once per raw event)."""
        return self.received.popleft() if self.received else None

    def lag(self, now: float) -> float | None:
        """Seconds since the oldest unmatched server event arrived (call once per raw event)."""
        received = self.take()
        return None if received is None else now - received
