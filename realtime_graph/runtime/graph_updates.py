"""Hot reload inside a session: a submitted graph waits for the next safe point.

A new graph is applied only at a safe point (:func:`~.delivery.is_safe_point`: no response
active, requested or awaiting its guardrails' verdicts, and no tool running), so a turn never
runs half under one graph and half under another. It is applied through the one agent switch.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import RealtimeGraphError
from ..graph.model import Graph
from . import events as ev
from .agent_switch import AgentSwitch
from .delivery import is_safe_point
from .seam import Seam
from .session_config import instruction_values
from .state import SessionState

__all__ = ("GraphUpdates",)


class GraphUpdates:
    """The pending hot-reload graph of one session."""

    __slots__ = ("_busy", "_seam", "_state", "_switch", "pending")

    def __init__(self, state: SessionState, seam: Seam, switch: AgentSwitch,
                 busy: Callable[[], tuple[int, bool]]) -> None:
        """``busy()`` gives (tools running, guardrail checks pending)."""
        self._state = state
        self._seam = seam
        self._switch = switch
        self._busy = busy
        self.pending: Graph | None = None

    def submit(self, graph: Graph) -> None:
        """Store ``graph``; apply it now if the session is at a safe point."""
        self.pending = graph
        if self._safe():
            self._seam.start_soon(self.at_safe_point)

    def _safe(self) -> bool:
        running, checks = self._busy()
        return is_safe_point(response_busy=self._state.slot.busy, tools_running=running, checks_pending=checks)

    async def at_safe_point(self) -> None:
        """Apply the pending graph if there is one and nothing is in flight."""
        graph = self.pending
        if graph is None or not self._safe():
            return
        self.pending = None
        state = self._state
        previous, current = state.graph, state.agent
        agent = graph.agents.get(current.name)
        pinned = agent is None
        try:
            values = instruction_values(graph, state.context)
            switch = await self._switch.prepare(agent or current, graph, values)
        except RealtimeGraphError as exc:
            self._seam.error(f"graph {graph.version} not applied: {exc}")
            return
        await self._switch.commit(switch)
        kept = list(switch.kept)
        message = f"graph {previous.version} -> {graph.version}"
        if pinned:
            message += f"; agent {current.name!r} is not in the new graph, staying on its previous definition"
        if kept:
            message += f"; kept {', '.join(kept)}"
        self._seam.emit(ev.GraphUpdatedEvent(previous_version=previous.version, kept=kept, pinned=pinned,
                                             message=message))
