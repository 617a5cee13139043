"""The session's shared, plain state: what every helper reads and some of them change.

No behaviour lives here. Each helper gets this object (and the :class:`~.seam.Seam` it acts
through) explicitly at construction; the attributes are documented with who writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..graph.model import Agent, Graph
from ..redaction import Redactor
from .history import History
from .playback import PlaybackTracker
from .response_slot import ResponseSlot

__all__ = ("SessionState",)


@dataclass(slots=True, eq=False)
class SessionState:
    """One session's state. Writers: graph/agent/values only by :class:`~.agent_switch.AgentSwitch`."""

    graph: Graph
    agent: Agent
    context: Mapping[str, Any]
    call_id: str | None
    model: str
    playback: PlaybackTracker
    values: dict[str, Any] = field(default_factory=dict)
    live: dict[str, Any] = field(default_factory=dict)
    """The effective session config: last one sent, replaced by the server's ``session.updated``."""
    slot: ResponseSlot = field(default_factory=ResponseSlot)
    history: History = field(default_factory=History)
    audio_produced: bool = False
    received: int = 0
    """Server events read so far (the reader counts; the response-timeout watchdog compares)."""
    response_agents: dict[str, Agent] = field(default_factory=dict)
    """The agent each open response started with (``response.created`` until it is finished)."""
    server_done: set[str] = field(default_factory=set)
    """Responses the server finished whose output guardrails are still judging (not done yet)."""
    buffer_playing: bool = False
    """A call's server-side output buffer is playing (``output_audio_buffer.started`` until
    ``stopped``/``cleared``; SIP and WebRTC calls only)."""
    suppressed: set[str] = field(default_factory=set)
    """Response ids whose further audio must not reach the app (cut or tripped)."""
    redactor: Redactor = field(default_factory=Redactor)
    """The secret values of ``values`` (kept current by the seam); events and cassettes redact with it."""

    def streaming(self) -> str | None:
        """The response the server is still producing, if any."""
        active = self.slot.active
        return active if active is not None and active not in self.server_done else None
