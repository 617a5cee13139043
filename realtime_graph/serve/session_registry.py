"""Every live session of the process, whatever its channel: capacity, drain, graph fan-out.

A *channel* is one way in (today ``browser``; telephony adds ``twilio`` and ``sip``). Each channel
wraps a runtime session in an object satisfying :class:`LiveSession` and asks the registry to
admit it; the registry enforces ``max_sessions`` across channels, refuses while draining, hands
every newly loaded graph to every live session (each switches at its own safe point) and tells
them about rejected reloads. It never awaits: all state changes are atomic on the event loop.
"""

from __future__ import annotations

import time
from typing import Protocol

import anyio

from ..errors import SessionError
from ..graph.model import Graph
from ..runtime import Session
from .serve_metrics import ServeMetrics

__all__ = ("REFUSED_DRAINING", "REFUSED_FULL", "LiveSession", "SessionRegistry", "offer_graph_to")

REFUSED_FULL = "full"
REFUSED_DRAINING = "draining"


class LiveSession(Protocol):
    """What a channel's session offers the registry (all calls are synchronous and cheap)."""

    session_id: str
    channel: str

    def offer_graph(self, graph: Graph) -> None:
        """A new valid graph: switch to it at the session's next safe point."""

    def reload_rejected(self, message: str) -> None:
        """An edit was rejected (``message``: the located errors, rendered)."""

    def close(self, reason: str) -> None:
        """End the session now with ``reason`` (``draining``, ``shutdown``)."""



def offer_graph_to(session: Session | None, graph: Graph) -> None:
    """Hand a hot-reloaded graph to a channel's session (applied at its own safe point); a
    session that is not started or already closing is skipped: the next one starts on it anyway."""
    if session is not None:
        try:
            session.update_graph(graph)
        except SessionError:
            pass


class SessionRegistry:
    """The sessions of one server process."""

    def __init__(self, graph: Graph, *, max_sessions: int, metrics: ServeMetrics) -> None:
        self.graph = graph
        """The newest valid graph: new sessions start on it."""
        self.max_sessions = max_sessions
        self.draining = False
        self.last_rejection: str | None = None
        self._metrics = metrics
        self._live: dict[str, tuple[LiveSession, float]] = {}
        self._empty = anyio.Event()
        self._empty.set()
        metrics.max_sessions.set(max_sessions)

    def __len__(self) -> int:
        return len(self._live)

    @property
    def sessions(self) -> list[LiveSession]:
        return [live for live, _ in self._live.values()]

    def not_ready(self) -> str | None:
        """Why a new session would be refused now (None when it would be admitted)."""
        if self.draining:
            return REFUSED_DRAINING
        if len(self._live) >= self.max_sessions:
            return REFUSED_FULL
        return None

    def admit(self, live: LiveSession) -> str | None:
        """Register ``live`` and return None, or return why it is refused (and count the refusal)."""
        reason = self.not_ready()
        if reason is not None:
            self._metrics.sessions_refused.labels(live.channel, reason).inc()
            return reason
        self._live[live.session_id] = (live, time.monotonic())
        self._empty = anyio.Event() if self._empty.is_set() else self._empty
        self._metrics.sessions_started.labels(live.channel).inc()
        self._metrics.sessions_active.labels(live.channel).inc()
        return None

    def release(self, live: LiveSession, outcome: str) -> float:
        """Unregister ``live`` (idempotent); returns the session's duration in seconds."""
        entry = self._live.pop(live.session_id, None)
        if entry is None:
            return 0.0
        duration = time.monotonic() - entry[1]
        self._metrics.sessions_active.labels(live.channel).dec()
        self._metrics.sessions_ended.labels(live.channel, outcome).inc()
        self._metrics.session_duration.labels(live.channel).observe(duration)
        if not self._live:
            self._empty.set()
        return duration

    def publish_graph(self, graph: Graph) -> None:
        """A reload produced ``graph``: new sessions start on it, live ones switch when safe."""
        self.graph = graph
        self.last_rejection = None
        self._metrics.reloads.labels("applied").inc()
        for live in self.sessions:
            live.offer_graph(graph)

    def publish_rejection(self, message: str) -> None:
        """A reload failed validation: nothing changes; consoles are told why."""
        self.last_rejection = message
        self._metrics.reloads.labels("rejected").inc()
        for live in self.sessions:
            live.reload_rejected(message)

    def start_drain(self) -> None:
        """Refuse new sessions from now on (``/readyz`` turns 503); live ones go on."""
        self.draining = True
        self._metrics.draining.set(1)

    async def wait_empty(self) -> None:
        """Return once no session is live."""
        while self._live:
            await self._empty.wait()

    def close_all(self, reason: str) -> None:
        """Ask every live session to close with ``reason``."""
        for live in self.sessions:
            live.close(reason)
