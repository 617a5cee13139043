"""The session's event stream: an unbounded queue that costs nothing per event but an append.

``Seam.emit`` puts, ``Session.__aiter__`` takes. anyio's memory object stream did the same job,
but every ``receive()`` that found it empty took a checkpoint (one more event-loop pass) and
allocated a receiver, an event and a task record: on the serve path, about one wait per audio
delta. Here a reader pops ``items`` directly and only waits, on one shared :class:`anyio.Event`
created when someone actually waits, when the queue is empty.

Closing mirrors the memory object streams it replaces: after :meth:`EventQueue.end` readers get
what is buffered, then the end; :meth:`EventQueue.close` drops what is buffered, wakes waiting
readers with the end, and a later :meth:`EventQueue.wait` raises ``anyio.ClosedResourceError``.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

import anyio

__all__ = ("EventQueue",)

T = TypeVar("T")


class EventQueue(Generic[T]):
    """Unbounded, never-blocking puts; readers pop :attr:`items` and :meth:`wait` when it is empty."""

    __slots__ = ("_closed", "_ended", "_wakeup", "items")

    def __init__(self) -> None:
        self.items: deque[T] = deque()
        """Buffered items, oldest first: readers ``popleft()`` while it is non-empty."""
        self._wakeup: anyio.Event | None = None
        self._ended = False
        self._closed = False

    def put(self, item: T) -> bool:
        """Append ``item`` and wake a waiting reader; ``False`` (dropped) after :meth:`end`."""
        if self._ended:
            return False
        self.items.append(item)
        wakeup = self._wakeup
        if wakeup is not None:
            self._wakeup = None
            wakeup.set()
        return True

    def end(self) -> None:
        """No more puts; readers still get what is buffered, then the end."""
        self._ended = True
        self._wake()

    def close(self) -> None:
        """End and drop what is buffered; a later :meth:`wait` raises ``ClosedResourceError``."""
        self._ended = self._closed = True
        self.items.clear()
        self._wake()

    async def wait(self) -> bool:
        """Until an item is buffered (``True``) or the queue ended with none left (``False``).

        No checkpoint when an item is already there. Raises ``anyio.ClosedResourceError`` if the
        queue was closed before the call.
        """
        if self._closed:
            raise anyio.ClosedResourceError
        items = self.items
        while not items:
            if self._ended:
                return False
            wakeup = self._wakeup
            if wakeup is None:
                wakeup = self._wakeup = anyio.Event()
            await wakeup.wait()
        return True

    def _wake(self) -> None:
        wakeup, self._wakeup = self._wakeup, None
        if wakeup is not None:
            wakeup.set()
