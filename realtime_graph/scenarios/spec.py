"""The scenario vocabulary: what a ``kind: scenario`` document says, as frozen data (pure).

Every element keeps the :class:`~realtime_graph.graph.model.SourceLocation` of its YAML node, so
a failing expectation is reported at ``file:line:col``. Format reference: docs/testing.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..graph.model import SourceLocation

__all__ = (
    "ExpectKind",
    "Expectation",
    "ModelAction",
    "ScenarioSpec",
    "SendAfter",
    "ToolMock",
    "TurnSpec",
    "dtmf_message",
)

ExpectKind = Literal["tool_called", "handoff", "agent", "transcript", "guardrail_tripped",
                     "approval_requested", "interruption", "error"]

_EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True, slots=True)
class ToolMock:
    """Replaces a tool's entrypoint for one scenario: wait ``delay_ms``, then raise ``raises``
    (a message) or return ``returns``."""

    tool: str
    returns: Any = None
    raises: str | None = None
    delay_ms: int = 0
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True)
class SendAfter:
    """Send the turn ``delay_ms`` after the first ``event`` (a session event type) that followed
    the previous turn's input, instead of after the previous turn went idle."""

    event: str
    delay_ms: int = 0


@dataclass(frozen=True, slots=True)
class ModelAction:
    """One scripted model action for offline runs: ``say`` (text), ``call`` (tool + arguments),
    ``handoff`` (agent), ``fail`` (error code + message). Ignored live."""

    kind: Literal["say", "call", "handoff", "fail"]
    text: str = ""
    tool: str = ""
    arguments: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    agent: str = ""
    code: str = ""
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True)
class Expectation:
    """One ``expect`` entry. ``params`` holds its fields as written (validated by the schema);
    ``absent`` inverts it; ``within_ms`` bounds when it must happen after the turn's input."""

    kind: ExpectKind
    params: Mapping[str, Any]
    absent: bool = False
    within_ms: int | None = None
    location: SourceLocation | None = None

    def describe(self) -> str:
        """One line: what is expected, in the scenario's words."""
        from .matching import describe_expectation

        return describe_expectation(self)


@dataclass(frozen=True, slots=True)
class TurnSpec:
    """One user turn: an input (text, WAV audio or DTMF digits, or none), its timing, the
    scripted model behaviour and the expectations checked on the events it caused."""

    index: int
    text: str | None = None
    audio: str | None = None
    transcript: str | None = None
    dtmf: str | None = None
    interrupt: bool = False
    send_after: SendAfter | None = None
    model: tuple[ModelAction, ...] = ()
    expect: tuple[Expectation, ...] = ()
    in_order: bool = False
    approvals: Mapping[str, Literal["approve", "reject"]] = field(default_factory=lambda: _EMPTY)
    timeout_ms: int | None = None
    location: SourceLocation | None = None

    @property
    def user_text(self) -> str | None:
        """What the model reads as the user's words (text, the audio transcript, or the DTMF line)."""
        if self.text is not None:
            return self.text
        if self.dtmf is not None:
            return dtmf_message(self.dtmf)
        return self.transcript


def dtmf_message(digits: str) -> str:
    """DTMF digits as the user message a scenario sends (the WebSocket protocol has no client DTMF)."""
    return f"DTMF: {digits}"


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    """One ``kind: scenario`` document."""

    name: str
    file: str
    turns: tuple[TurnSpec, ...]
    description: str = ""
    agent: str | None = None
    context: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    mocks: Mapping[str, ToolMock] = field(default_factory=lambda: _EMPTY)
    approvals: Mapping[str, Literal["approve", "reject"]] = field(default_factory=lambda: _EMPTY)
    graph: str | None = None
    timeout_ms: int = 30_000
    location: SourceLocation | None = None

    @property
    def id(self) -> str:
        """``file::name``, the id used by ``-k``, reports and JUnit."""
        return f"{self.file}::{self.name}"
