"""The one way the active agent (and graph) changes: handoffs, ``update_agent`` and hot reloads.

Some settings cannot change once a call is live: the audio formats (a phone bridge keeps
sending G.711; switching to PCM is noise on the line), the voice after the model produced audio,
and the model. Every later ``session.update`` therefore keeps them as they were and says what
it kept (a hot reload reports that in :class:`~realtime_graph.runtime.events.GraphUpdatedEvent`).

A switch is two steps: :meth:`AgentSwitch.prepare` builds the update (it calls the agent's
dynamic instructions and handoff ``enabled`` entrypoints, then builds purely; raises for a
failing entrypoint, a broken template or duplicate tool names, and then nothing changed) and
:meth:`AgentSwitch.commit` adopts it (state, guardrail settings, ``session.update``), so the
session's idea of the agent and the server's never diverge. :meth:`AgentSwitch.initial` builds
the first update the same way, and :meth:`AgentSwitch.reconnecting` the update of a new
connection. Tools and handoffs left out of the last update are not callable
(:meth:`AgentSwitch.offers`), like the SDK's re-check at dispatch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..graph.model import Agent, CallContext, Graph, Handoff, Tool
from ..transports import protocol
from .dynamic_settings import DynamicParts, evaluate
from .output_guardrails import OutputGuardrails
from .seam import Seam
from .session_config import build_session, connect_model, instruction_values, tracing_setting
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
    hidden: frozenset[str] = frozenset()
    """Handoff tool names the agent's ``enabled`` entrypoints left out of this update."""


class AgentSwitch:
    """Locked settings of one session and the switch that respects them."""

    __slots__ = ("_formats", "_guardrails", "_hidden", "_seam", "_state", "_voice")

    def __init__(self, state: SessionState, seam: Seam, guardrails: OutputGuardrails) -> None:
        self._state = state
        self._seam = seam
        self._guardrails = guardrails
        self._formats: dict[str, Any] = {}
        self._voice: Any = None
        self._hidden: tuple[str, frozenset[str]] = ("", frozenset())

    async def _dynamic(self, graph: Graph, agent: Agent) -> DynamicParts:
        context = CallContext(agent=agent.name, graph_version=graph.version, context=self._state.context)
        return await evaluate(agent, context, graph.run.instructions_timeout)

    async def initial(self) -> dict[str, Any]:
        """The first ``session.update`` body (tracing included); locks formats and voice.

        :raises RealtimeGraphError: a required variable is missing, or the start agent's session
            cannot be built (a failing entrypoint, a broken template, duplicate tool names).
        """
        state = self._state
        state.values = instruction_values(state.graph, state.context)
        parts = await self._dynamic(state.graph, state.agent)
        config = build_session(state.graph, state.agent, state.values, call_id=state.call_id,
                               include_tracing=True, instructions=parts.instructions, hidden=parts.hidden)
        self.lock(config)
        self._hidden = (state.agent.name, parts.hidden)
        return config

    def offers(self, agent: Agent, item: Tool | Handoff) -> bool:
        """Whether the model was offered the tool or handoff ``item`` in ``agent``'s last ``session.update``."""
        last, hidden = self._hidden
        name = item.tool_name if isinstance(item, Handoff) else item.name
        return item.enabled and not (agent.name == last and name in hidden)

    def lock(self, initial: Mapping[str, Any]) -> None:
        """Remember the formats and voice of the initial update."""
        audio = initial.get("audio") or {}
        for side, _ in _FORMAT_KEYS:
            self._formats[side] = (audio.get(side) or {}).get("format")
        self._voice = (audio.get("output") or {}).get("voice")

    async def prepare(self, agent: Agent, graph: Graph | None = None,
                      values: dict[str, Any] | None = None) -> Switch:
        """The update for ``agent`` (of ``graph``, default the current one) with locked settings kept.

        :raises RealtimeGraphError: when the agent's session cannot be built.
        """
        state = self._state
        graph = graph or state.graph
        values = state.values if values is None else values
        parts = await self._dynamic(graph, agent)
        config = build_session(graph, agent, values, call_id=state.call_id, instructions=parts.instructions,
                               hidden=parts.hidden)
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
        return Switch(graph, agent, values, config, tuple(kept), voice, parts.hidden)

    async def reconnecting(self) -> dict[str, Any]:
        """The current agent's full ``session.update`` body for a new connection (locked settings
        kept, user code asked again); what it offers is what :meth:`offers` allows from now on."""
        switch = await self.prepare(self._state.agent)
        self._hidden = (switch.agent.name, switch.hidden)
        switch.config["tracing"] = tracing_setting(switch.graph)
        return switch.config

    async def commit(self, switch: Switch) -> None:
        """Adopt ``switch``: the session state first, then the server (one ``session.update``)."""
        state = self._state
        if switch.graph is not state.graph:
            self._guardrails.adopt(switch.graph)
        state.graph, state.agent, state.values = switch.graph, switch.agent, switch.values
        self._voice = switch.voice
        self._hidden = (switch.agent.name, switch.hidden)
        await self._seam.send(protocol.session_update(switch.config))
