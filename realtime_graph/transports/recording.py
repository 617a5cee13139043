"""Cassette recording: a :class:`Transport` wrapper that writes every event of a session to disk.

The cassette is JSON lines (the format ``Simulator(cassette=FILE)`` replays)::

    {"cassette": 1, "graph_version": "…", "started_at": 1700000000.0}
    {"t": 0.0123, "dir": "server", "event": {"type": "session.created", …}}
    {"t": 0.0150, "dir": "client", "event": {"type": "session.update", …}}

``t`` is seconds since the connection opened. Events are written as they crossed the seam (audio
appends keep their base64 payload), one line each, flushed per line so a session that dies still
leaves a readable cassette. The one change: secret variable values (the session's
:class:`~realtime_graph.redaction.Redactor`, passed in the ``ConnectRequest``) are written as
``[redacted:<variable>]`` wherever they occur, e.g. in the instructions of ``session.update``. A
replay is unaffected: the simulator does not read instructions back.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import IO, Any, Literal

from ..redaction import Redactor
from .base import ClientEvent, Connection, ConnectRequest, ServerEvent, Transport
from .protocol import redact_secrets

__all__ = ("CassetteWriter", "RecordingConnection", "RecordingTransport")


class CassetteWriter:
    """Writes the cassette header and one line per event to an open text stream."""

    __slots__ = ("_dumps", "_redactor", "_stream", "_t0")

    def __init__(self, stream: IO[str], *, graph_version: str = "", redactor: Redactor | None = None,
                 continues: float | None = None) -> None:
        self._stream = stream
        self._redactor = redactor
        self._dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        if continues is not None:  # a reconnect of the same session: same clock, no second header
            self._t0 = continues
            return
        self._t0 = time.monotonic()
        header = {"cassette": 1, "graph_version": graph_version, "started_at": time.time()}
        stream.write(self._dumps(header) + "\n")

    @property
    def t0(self) -> float:
        """When ``t`` is 0 (monotonic clock)."""
        return self._t0

    def record(self, direction: Literal["client", "server"], event: ClientEvent | ServerEvent) -> None:
        # hosted tools' credentials (resolved ${ENV} values) never reach the file
        data: Mapping[str, Any] = redact_secrets(event) if "session" in event else event
        if self._redactor:
            data = self._redactor.data(data)
        line = self._dumps({"t": round(time.monotonic() - self._t0, 6), "dir": direction, "event": data})
        self._stream.write(line + "\n")


class RecordingConnection(Connection):
    """A connection that records what passes through it in both directions."""

    def __init__(self, inner: Connection, writer: CassetteWriter) -> None:
        self._inner = inner
        self._writer = writer

    async def send(self, event: ClientEvent) -> None:
        # Recorded before sending: the timing is when the session decided to send it.
        self._writer.record("client", event)
        await self._inner.send(event)

    async def __aiter__(self) -> AsyncIterator[ServerEvent]:
        record = self._writer.record
        async for event in self._inner:
            record("server", event)
            yield event

    async def aclose(self) -> None:
        await self._inner.aclose()


class RecordingTransport(Transport):
    """Wraps ``inner`` and writes each session's events to the cassette at ``path``.

    ``graph_version`` goes in the header (the version the session started with). Each session
    truncates and rewrites the file; a reconnect of the same session (the same
    :class:`ConnectRequest` again) appends to it on the same clock, so the cassette keeps the
    whole conversation (the replay the new connection sends is recorded as client events).
    """

    def __init__(self, inner: Transport, path: str | os.PathLike[str], *, graph_version: str = "") -> None:
        self.inner = inner
        self.path = os.fspath(path)
        self.graph_version = graph_version
        self._last: tuple[ConnectRequest, float] | None = None

    def connect(self, request: ConnectRequest) -> AbstractAsyncContextManager[Connection]:
        return self._connect(request)

    @asynccontextmanager
    async def _connect(self, request: ConnectRequest) -> AsyncIterator[Connection]:
        continues = self._last[1] if self._last is not None and self._last[0] is request else None
        # Opened before connecting so an unwritable path fails fast, before any network work.
        with open(self.path, "a" if continues is not None else "w", encoding="utf-8", buffering=1) as stream:
            async with self.inner.connect(request) as connection:
                # The clock starts once the handshake is done: ``t`` is "since connect".
                writer = CassetteWriter(stream, graph_version=self.graph_version, redactor=request.redactor,
                                        continues=continues)
                self._last = (request, writer.t0)
                yield RecordingConnection(connection, writer)
