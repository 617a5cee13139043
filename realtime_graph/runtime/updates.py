"""Mid-session ``session.update``: agent switches, handoffs and hot-reloaded graphs.

Some settings cannot change once a call is live: the audio formats (a phone bridge keeps
sending G.711; switching to PCM is noise on the line), the voice after the model produced audio,
and the model. Every later update therefore keeps them as they were, and a hot reload reports
what it kept in :class:`~realtime_graph.runtime.events.GraphUpdatedEvent`.

A new graph is applied only at a safe point: no response active or requested and no tool
running, so a turn never runs half under one graph and half under another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import RealtimeGraphError
from ..graph.model import Agent, Graph
from ..transports import protocol
from . import events as ev
from .settings import build_session, connect_model, instruction_values

if TYPE_CHECKING:
    from .session import Session

__all__ = ("GraphUpdates",)

_FORMAT_KEYS = (("input", "audio.input.format"), ("output", "audio.output.format"))


class GraphUpdates:
    """Locked settings and the pending hot-reload graph of one session."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._formats: dict[str, Any] = {}
        self._voice: Any = None
        self.pending: Graph | None = None

    def lock(self, initial: Mapping[str, Any]) -> None:
        """Remember the formats and voice of the initial update."""
        audio = initial.get("audio") or {}
        for side, _ in _FORMAT_KEYS:
            self._formats[side] = (audio.get(side) or {}).get("format")
        self._voice = (audio.get("output") or {}).get("voice")

    def session_for(self, graph: Graph, agent: Agent, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The update for ``agent`` of ``graph`` with locked settings kept; also what was kept."""
        config = build_session(graph, agent, values, call_id=self._s.call_id)
        audio = config.setdefault("audio", {})
        kept: list[str] = []
        for side, label in _FORMAT_KEYS:
            part = audio.setdefault(side, {})
            locked = self._formats.get(side)
            if part.get("format") != locked:
                kept.append(label)
                if locked is None:
                    part.pop("format", None)
                else:
                    part["format"] = locked
        output = audio["output"]
        if self._s.audio_produced and output.get("voice") != self._voice:
            kept.append("audio.output.voice")
            output["voice"] = self._voice
        else:
            self._voice = output.get("voice")
        return config, kept

    def submit(self, graph: Graph) -> None:
        """Store ``graph``; apply it now if the session is at a safe point."""
        self.pending = graph
        if self._safe():
            self._s.start_soon(self.at_safe_point)

    def _safe(self) -> bool:
        return not self._s.slot.busy and self._s.calls.running == 0

    async def at_safe_point(self) -> None:
        """Apply the pending graph if there is one and nothing is in flight."""
        graph = self.pending
        if graph is None or not self._safe():
            return
        self.pending = None
        previous = self._s.graph
        current = self._s.current_agent
        agent = graph.agents.get(current.name)
        pinned = agent is None
        if agent is None:
            agent = current
        try:
            values = instruction_values(graph, self._s.context)
            config, kept = self.session_for(graph, agent, values)
        except RealtimeGraphError as exc:
            self._s.error(f"graph {graph.version} not applied: {exc}")
            return
        if connect_model(graph) != self._s.model:
            kept.append("model")
        self._s.set_graph(graph, agent, values)
        await self._s.send(protocol.session_update(config))
        message = f"graph {previous.version} -> {graph.version}"
        if pinned:
            message += f"; agent {current.name!r} is not in the new graph, staying on its previous definition"
        if kept:
            message += f"; kept {', '.join(kept)}"
        self._s.emit(ev.GraphUpdatedEvent(previous_version=previous.version, kept=kept, pinned=pinned,
                                          message=message))
