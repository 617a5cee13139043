"""Session events: what ``async for event in session`` yields.

Names and meanings follow the OpenAI Agents SDK's ``agents.realtime`` session events, so its
users feel at home. Differences: agents are our immutable :class:`~realtime_graph.graph.model.Agent`
objects, and every event carries ``graph_version``, the content hash of the graph the session
ran under when the event was produced (hot reload can change it mid-session).

Events are plain slotted dataclasses (not frozen: construction is on the per-event hot path);
treat them as read-only. :meth:`SessionEventBase.to_dict` gives the JSON form used by
``rtgraph run --events json``.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ..graph.model import Agent, GuardrailResult
    from ..redaction import Redactor

__all__ = (
    "AgentEndEvent",
    "AgentStartEvent",
    "AudioEndEvent",
    "AudioEvent",
    "AudioInterruptedEvent",
    "DtmfEvent",
    "ErrorEvent",
    "GraphUpdatedEvent",
    "GuardrailTrippedEvent",
    "HandoffEvent",
    "HistoryAddedEvent",
    "HistoryUpdatedEvent",
    "InputAudioTimeoutTriggeredEvent",
    "RawModelEvent",
    "ReconnectedEvent",
    "SessionEvent",
    "SessionEventBase",
    "ToolApprovalRequiredEvent",
    "ToolEndEvent",
    "ToolStartEvent",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):  # strict JSON: NaN and the infinities are not JSON (null, as in tool outputs)
        return value if math.isfinite(value) else None
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if hasattr(value, "name") and hasattr(value, "instructions"):  # an Agent: its name is enough
        return value.name
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


@dataclass(slots=True, kw_only=True)
class SessionEventBase:
    type: ClassVar[str]
    graph_version: str = ""
    redactor: Redactor | None = field(default=None, repr=False, compare=False)
    """Set by the session that emits the event: :meth:`to_dict` replaces secret values with it."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``rtgraph run --events json``), secret variable values redacted."""
        out: dict[str, Any] = {"type": self.type}
        for f in fields(self):
            if f.name != "redactor":
                out[f.name] = _jsonable(getattr(self, f.name))
        redactor = self.redactor
        return redactor.data(out) if redactor else out


@dataclass(slots=True, kw_only=True)
class AgentStartEvent(SessionEventBase):
    """A response started (server ``response.created``) with ``agent`` active."""

    type: ClassVar[str] = "agent_start"
    agent: Agent


@dataclass(slots=True, kw_only=True)
class AgentEndEvent(SessionEventBase):
    """A response ended (server ``response.done``); ``agent`` is the one that produced it."""

    type: ClassVar[str] = "agent_end"
    agent: Agent


@dataclass(slots=True, kw_only=True)
class HandoffEvent(SessionEventBase):
    """The model called a handoff tool; the new agent's settings are about to be sent."""

    type: ClassVar[str] = "handoff"
    from_agent: Agent
    to_agent: Agent


@dataclass(slots=True, kw_only=True)
class ToolStartEvent(SessionEventBase):
    """A function tool is about to run. ``arguments`` is the model's JSON string."""

    type: ClassVar[str] = "tool_start"
    agent: Agent
    tool: str
    call_id: str
    arguments: str


@dataclass(slots=True, kw_only=True)
class ToolEndEvent(SessionEventBase):
    """A tool's output was sent to the model. ``output`` is the raw return value (or error text)."""

    type: ClassVar[str] = "tool_end"
    agent: Agent
    tool: str
    call_id: str
    arguments: str
    output: Any


@dataclass(slots=True, kw_only=True)
class ToolApprovalRequiredEvent(SessionEventBase):
    """A tool call is parked until ``approve_tool_call`` or ``reject_tool_call``."""

    type: ClassVar[str] = "tool_approval_required"
    agent: Agent
    tool: str
    call_id: str
    arguments: str


@dataclass(slots=True, kw_only=True)
class AudioEvent(SessionEventBase):
    """A chunk of assistant audio, decoded, in the session's output format."""

    type: ClassVar[str] = "audio"
    audio: bytes
    item_id: str
    content_index: int
    response_id: str


@dataclass(slots=True, kw_only=True)
class AudioEndEvent(SessionEventBase):
    """The model finished producing audio for this item."""

    type: ClassVar[str] = "audio_end"
    item_id: str
    content_index: int


@dataclass(slots=True, kw_only=True)
class AudioInterruptedEvent(SessionEventBase):
    """Playback must stop now: flush any buffered audio of this item."""

    type: ClassVar[str] = "audio_interrupted"
    item_id: str
    content_index: int


@dataclass(slots=True, kw_only=True)
class ErrorEvent(SessionEventBase):
    """A recoverable error: a server ``error`` event, a tool failure, an unknown tool. The session goes on."""

    type: ClassVar[str] = "error"
    error: dict[str, Any]


@dataclass(slots=True, kw_only=True)
class HistoryAddedEvent(SessionEventBase):
    """A new item joined the local history."""

    type: ClassVar[str] = "history_added"
    item: Any


@dataclass(slots=True, kw_only=True)
class HistoryUpdatedEvent(SessionEventBase):
    """The local history changed; ``history`` is the full list."""

    type: ClassVar[str] = "history_updated"
    history: list[Any]


@dataclass(slots=True, kw_only=True)
class GuardrailTrippedEvent(SessionEventBase):
    """An output guardrail tripped on the response it judged (``message``: the judged text): that
    response is cancelled if still streaming and its unplayed audio cut; never a later one."""

    type: ClassVar[str] = "guardrail_tripped"
    guardrail_results: list[GuardrailResult]
    message: str


@dataclass(slots=True, kw_only=True)
class InputAudioTimeoutTriggeredEvent(SessionEventBase):
    """Server VAD's ``idle_timeout_ms`` elapsed without user speech."""

    type: ClassVar[str] = "input_audio_timeout_triggered"


@dataclass(slots=True, kw_only=True)
class DtmfEvent(SessionEventBase):
    """(rtgraph extension) The caller pressed a keypad key (``0-9 * # A-D``).

    ``source`` is ``sip`` (the server's ``input_audio_buffer.dtmf_event_received``) or the channel
    that reported it (``twilio``). ``action`` is what the active ``agent``'s ``dtmf:`` route did
    (``handoff``, ``say``, ``send``), or None when the digit has no route.
    """

    type: ClassVar[str] = "dtmf"
    digit: str
    source: str
    agent: Agent
    action: str | None = None


@dataclass(slots=True, kw_only=True)
class RawModelEvent(SessionEventBase):
    """A server event as received, before any derived event (when raw events are enabled)."""

    type: ClassVar[str] = "raw_model_event"
    data: dict[str, Any]


@dataclass(slots=True, kw_only=True)
class GraphUpdatedEvent(SessionEventBase):
    """(rtgraph extension) A hot-reloaded graph was applied at a safe point.

    ``graph_version`` is the new version. ``kept`` names settings the Realtime API cannot change
    mid-session (voice after audio, model, audio formats) that stayed as they were; ``pinned`` is
    True when the active agent no longer exists in the new graph and the session stays on its
    previous definition; ``message`` is a one-line human summary.
    """

    type: ClassVar[str] = "graph_updated"
    previous_version: str
    kept: list[str]
    pinned: bool
    message: str


@dataclass(slots=True, kw_only=True)
class ReconnectedEvent(SessionEventBase):
    """(rtgraph extension) The connection was re-established and the conversation restored.

    ``reason`` says why (``close 1011 (...)``, ``session_expired``, ``response_timeout``,
    ``max_session_age``); ``attempt`` is the connection attempt that succeeded (1 = the first);
    ``replayed`` counts the replayed items by kind (``user``, ``assistant``, ``system``,
    ``function_call``, ``function_call_output``, ``truncated``, ``skipped``); ``resent`` counts
    client events sent again (never acknowledged, or held while reconnecting);
    ``response_retried`` is True when the interrupted turn was asked for again; ``sideband_only``
    is True for a ``call_id`` session (the call kept its conversation: nothing replayed);
    ``message`` is a one-line summary.
    """

    type: ClassVar[str] = "reconnected"
    attempt: int
    reason: str
    replayed: dict[str, int]
    resent: int
    response_retried: bool
    sideband_only: bool
    message: str


SessionEvent = (
    AgentStartEvent
    | AgentEndEvent
    | HandoffEvent
    | ToolStartEvent
    | ToolEndEvent
    | ToolApprovalRequiredEvent
    | AudioEvent
    | AudioEndEvent
    | AudioInterruptedEvent
    | ErrorEvent
    | HistoryAddedEvent
    | HistoryUpdatedEvent
    | GuardrailTrippedEvent
    | InputAudioTimeoutTriggeredEvent
    | DtmfEvent
    | RawModelEvent
    | GraphUpdatedEvent
    | ReconnectedEvent
)
