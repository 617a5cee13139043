"""Frames to one browser: in order, one sender at a time, sent without a task hop, bounded.

The session-events pump sends its frames itself (:meth:`BrowserOutbox.send`): when nobody else
is sending and nothing is queued, the frame goes to the socket at once. Handing every frame to a
writer task instead cost a wake-up and an anyio checkpoint per frame, about a quarter of the
server's instructions per audio delta (docs/deploy.md). Frames from elsewhere (errors for bad
client messages, reload notices, the closing notice and the close frame) are queued with
:meth:`BrowserOutbox.put` and sent by :meth:`BrowserOutbox.run`, the writer task, or by the
pump's next send, whichever comes first. Only one of them is ever inside a send, so frames never
interleave and leave in the order they were queued.

Backpressure (docs/serve.md, "Slow browsers"): a send waits while the browser does not read
(uvicorn's write buffer is full). Frames queued meanwhile are counted in bytes; past
:data:`MAX_QUEUED_BYTES` the outbox drops them and calls ``on_overflow`` once, and the channel
closes the session. :attr:`BrowserOutbox.sending_since` tells the transport wrapper how long the
current send has waited, for the case where the pump itself is the one waiting.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio

__all__ = ("MAX_QUEUED_BYTES", "BrowserOutbox", "Close")

MAX_QUEUED_BYTES = 1 << 20
"""Bytes of frames waiting behind a send the browser does not take before the session is closed
(about 20 s of 24 kHz PCM16)."""

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
"""Exactly the text Starlette's ``send_json`` produces, with one encoder for the process."""


@dataclass(frozen=True, slots=True)
class Close:
    """The last frame: a WebSocket close with ``code`` and ``reason``."""

    code: int
    reason: str


_Queued = str | bytes | Close


class BrowserOutbox:
    """The only way frames reach one browser socket."""

    __slots__ = ("_close", "_ended", "_on_overflow", "_overflowed", "_queue", "_queued_bytes", "_send_bytes",
                 "_send_text", "_wake", "max_bytes", "sending_since")

    def __init__(self, *, send_bytes: Callable[[bytes], Awaitable[None]], send_text: Callable[[str], Awaitable[None]],
                 close: Callable[[int, str], Awaitable[None]], on_overflow: Callable[[int], None],
                 max_bytes: int = MAX_QUEUED_BYTES) -> None:
        self._send_bytes = send_bytes
        self._send_text = send_text
        self._close = close
        self._on_overflow = on_overflow
        self.max_bytes = max_bytes
        self._queue: deque[_Queued] = deque()
        self._queued_bytes = 0
        self._ended = False
        self._overflowed = False
        self._wake = anyio.Event()
        self.sending_since: float | None = None
        """``time.monotonic()`` when the send in progress started; ``None`` between sends."""

    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes

    def put(self, frame: dict[str, Any] | bytes | Close) -> None:
        """Queue ``frame`` (any task, never blocks); ignored after :meth:`end` or an overflow."""
        if self._done():
            return
        self._enqueue(frame)
        self._wake.set()

    def end(self) -> None:
        """No frames after those already queued; :meth:`run` returns once they are sent."""
        self._ended = True
        self._wake.set()

    async def send(self, frame: dict[str, Any] | bytes) -> None:
        """Send ``frame`` now if the socket is free, else queue it behind the send in progress.

        The session-events pump calls this; it returns without waiting when another task is
        inside a send, so that pump keeps draining the session while a slow browser is waited on.
        """
        if self._done():
            return
        if self.sending_since is not None or self._queue:
            self._enqueue(frame)
            if self.sending_since is None:
                await self._drain()
            return
        self.sending_since = time.monotonic()
        try:
            if type(frame) is bytes:
                await self._send_bytes(frame)
            else:
                await self._send_text(_encode(frame))
        finally:
            self.sending_since = None
        if self._queue:
            await self._drain()
        elif self._ended:
            self._wake.set()  # end() came during the send: the writer may return now

    async def run(self) -> None:
        """The writer: sends queued frames until :meth:`end` (or a :class:`Close` frame is sent)."""
        while not self._overflowed:  # after an overflow the channel tears the session down
            if self._queue and self.sending_since is None:
                if await self._drain():
                    return
                continue
            if self._ended and not self._queue and self.sending_since is None:
                return
            await self._wake.wait()
            self._wake = anyio.Event()

    def _done(self) -> bool:
        return self._ended or self._overflowed

    def _enqueue(self, frame: dict[str, Any] | bytes | Close) -> None:
        item: _Queued = frame if type(frame) is bytes or type(frame) is Close else _encode(frame)
        size = len(item) if type(item) is not Close else 0  # type: ignore[arg-type]
        if self._queued_bytes + size > self.max_bytes and self.sending_since is not None:
            self._overflow()
            return
        self._queue.append(item)
        self._queued_bytes += size

    def _overflow(self) -> None:
        if self._overflowed:
            return
        self._overflowed = self._ended = True
        dropped = self._queued_bytes
        self._queue.clear()
        self._queued_bytes = 0
        self._wake.set()
        self._on_overflow(dropped)

    async def _drain(self) -> bool:
        """Send queued frames (the caller checked nobody else is sending); True after a close."""
        queue = self._queue
        self.sending_since = time.monotonic()
        try:
            while queue:
                item = queue.popleft()
                if type(item) is bytes:
                    self._queued_bytes -= len(item)
                    await self._send_bytes(item)
                elif type(item) is Close:
                    queue.clear()
                    self._queued_bytes = 0
                    self._ended = True
                    await self._close(item.code, item.reason)
                    return True
                else:
                    self._queued_bytes -= len(item)  # type: ignore[arg-type]
                    await self._send_text(item)  # type: ignore[arg-type]
                self.sending_since = time.monotonic()
        finally:
            self.sending_since = None
            self._wake.set()  # the writer re-checks: the queue may have grown, or end() came
        return False
