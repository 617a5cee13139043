"""The one way the active agent (and graph) changes: handoffs, ``update_agent`` and hot reloads.

Some settings cannot change once a call is live: the audio formats (a phone bridge keeps
sending G.711; switching to PCM is noise on the line), the voice after the model produced audio,
and the model. Every later ``session.update`` therefore keeps them as they were and says what
it kept (a hot reload reports that in :class:`~realtime_graph.runtime.events.GraphUpdatedEvent`).

A switch is two steps: :meth:`AgentSwitch.prepare` builds the update (pure; raises for a broken
template or duplicate tool names, and then nothing changed) and :meth:`AgentSwitch.commit`
adopts it (state, guardrail settings, ``session.update``), so the session's idea of the agent
and the server's never diverge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..graph.model import Agent, Graph
from ..transports import protocol
from .output_guardrails import OutputGuardrails
from .seam import Seam
from .session_config import build_session, connect_model
from .state import SessionState

__all__ = ("AgentSwitch", "Switch")

_FORMAT_KEYS = (("input", "audio.input.format"), ("output", "audio.output.format"))


@dataclass(frozen=True, slots=True)
class Switch:
    """A prepared switch: the ``session.update`` body and the locked settings it kept."""

    graph: Graph
    agent: Agent
    values: dict[str, Any]
    config: dict[str, Any]
    kept: tuple[str, ...]
    voice: Any


class AgentSwitch:
    """Locked settings of one session and the switch that respects them."""

    __slots__ = ("_formats", "_guardrails", "_seam", "_state", "_voice")

    def __init__(self, state: SessionState, seam: Seam, guardrails: OutputGuardrails) -> None:
        self._state = state
        self._seam = seam
        self._guardrails = guardrails
        self._formats: dict[str, Any] = {}
        self._voice: Any = None

    def lock(self, initial: Mapping[str, Any]) -> None:
        """Remember the formats and voice of the initial update."""
        audio = initial.get("audio") or {}
        for side, _ in _FORMAT_KEYS:
            self._formats[side] = (audio.get(side) or {}).get("format")
        self._voice = (audio.get("output") or {}).get("voice")

    def prepare(self, agent: Agent, graph: Graph | None = None,
                values: dict[str, Any] | None = None) -> Switch:
        """The update for ``agent`` (of ``graph``, default the current one) with locked settings kept.

        :raises RealtimeGraphError: when the agent's session cannot be built.
        """
        state = self._state
        graph = graph or state.graph
        values = state.values if values is None else values
        config = build_session(graph, agent, values, call_id=state.call_id)
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
        voice = output.get("voice")
        if state.audio_produced and voice != self._voice:
            kept.append("audio.output.voice")
            output["voice"] = voice = self._voice
        if connect_model(graph) != state.model:
            kept.append("model")
        return Switch(graph, agent, values, config, tuple(kept), voice)

    async def commit(self, switch: Switch) -> None:
        """Adopt ``switch``: the session state first, then the server (one ``session.update``)."""
        state = self._state
        if switch.graph is not state.graph:
            self._guardrails.adopt(switch.graph)
        state.graph, state.agent, state.values = switch.graph, switch.agent, switch.values
        self._voice = switch.voice
        await self._seam.send(protocol.session_update(switch.config))
