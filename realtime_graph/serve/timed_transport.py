"""A transport wrapper that timestamps every server event on receipt (for the event-lag metric).

The runtime yields one ``raw_model_event`` per server event, first and in arrival order, so the
consumer pairs its N-th raw event with the N-th receipt time: lag = handled - received. Nothing in
the runtime changes; the wrapper adds one ``deque.append`` per event.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from ..transports.base import ClientEvent, Connection, ConnectRequest, ServerEvent, Transport

__all__ = ("TimedConnection", "TimedTransport")


class TimedConnection(Connection):
    """Delegates to ``inner``; appends ``time.monotonic()`` to :attr:`received` per server event."""

    def __init__(self, inner: Connection, received: deque[float]) -> None:
        self._inner = inner
        self.received = received

    async def send(self, event: ClientEvent) -> None:
        await self._inner.send(event)

    async def __aiter__(self) -> AsyncIterator[ServerEvent]:
        append, clock = self.received.append, time.monotonic
        async for event in self._inner:
            append(clock())
            yield event

    async def aclose(self) -> None:
        await self._inner.aclose()


class TimedTransport(Transport):
    """One per session: connections of ``inner`` whose receipt times land in :attr:`received`."""

    def __init__(self, inner: Transport) -> None:
        self._inner = inner
        self.received: deque[float] = deque()

    def connect(self, request: ConnectRequest) -> AbstractAsyncContextManager[Connection]:
        return self._connect(request)

    @asynccontextmanager
    async def _connect(self, request: ConnectRequest) -> AsyncIterator[Connection]:
        async with self._inner.connect(request) as connection:
            yield TimedConnection(connection, self.received)

    def lag(self, now: float) -> float | None:
        """Seconds since the oldest unmatched server event arrived (call once per raw event)."""
        return now - self.received.popleft() if self.received else None
