"""The transport seam: the only thing a session knows about the network.

A :class:`Transport` opens :class:`Connection` objects. A connection carries GA Realtime wire
events as plain JSON-shaped ``dict`` objects in both directions (``{"type": "session.update",
...}``), exactly as they appear on the WebSocket. Keeping the wire vocabulary at the seam makes
every transport interchangeable (the OpenAI WebSocket, the simulator, the in-process scripted
double) and keeps the per-event path cheap: one ``json.loads`` and a dict lookup.

Iteration over a connection ends normally when the server closes cleanly (code 1000/1001 or
end of stream) and raises :class:`~realtime_graph.errors.ConnectionLost` when it closes
abnormally. Transports never raise third-party exceptions.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from ..redaction import Redactor

__all__ = ("ClientEvent", "ConnectRequest", "Connection", "ServerEvent", "Transport")

ServerEvent = dict[str, Any]
"""A decoded server event: ``{"type": "response.output_audio.delta", ...}``."""

ClientEvent = dict[str, Any]
"""A client event as it will be JSON-encoded onto the wire."""


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    """What a session asks of a transport when it connects.

    ``model`` and ``call_id`` are mutually exclusive: ``call_id`` attaches to an existing SIP or
    WebRTC call (the model was fixed when the call was accepted).
    """

    model: str | None = None
    call_id: str | None = None
    redactor: Redactor | None = field(default=None, compare=False, repr=False)
    """The session's secret values; a transport that stores or shows events (the cassette
    recorder) redacts with it. It is the session's live redactor: values may change later."""


class Connection(abc.ABC):
    """One live Realtime connection."""

    @abc.abstractmethod
    async def send(self, event: ClientEvent) -> None:
        """Send one client event.

        :raises ~realtime_graph.errors.ConnectionLost: if the connection is gone.
        """

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[ServerEvent]:
        """Server events in arrival order; ends on a clean close."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close the connection (idempotent). Pending iteration ends."""

    @property
    def close_code(self) -> int | None:
        """The WebSocket close code once the connection ended (e.g. 1001 after a clean
        "going away", which ends iteration normally); None while open or when unknown."""
        return None


class Transport(abc.ABC):
    """Opens connections. Implementations: OpenAI WebSocket, simulator, scripted double."""

    @abc.abstractmethod
    def connect(self, request: ConnectRequest) -> AbstractAsyncContextManager[Connection]:
        """An async context manager yielding an open connection and closing it on exit.

        :raises ~realtime_graph.errors.ConnectError: if the connection cannot be opened.
        """
