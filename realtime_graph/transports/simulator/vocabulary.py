"""The simulator's vocabulary: what a response does (actions), scripts, and timed output batches.

Plain frozen data shared by the default rules, the YAML script loader and the pure engine.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = (
    "Action",
    "BargeIn",
    "Batch",
    "Call",
    "Delay",
    "Disconnect",
    "Dtmf",
    "Fail",
    "Handoff",
    "IdFactory",
    "Say",
    "SimulatorScript",
    "Turn",
)


@dataclass(frozen=True, slots=True)
class Say:
    """Speak (or write) ``text``. ``audio_ms`` overrides the default length (60 ms per character,
    capped at 20 s); ``modality`` (``"audio"``/``"text"``) overrides the session's."""

    text: str
    audio_ms: int | None = None
    modality: str | None = None


@dataclass(frozen=True, slots=True)
class Call:
    """Call function tool ``tool`` with ``arguments`` (a JSON object string)."""

    tool: str
    arguments: str = "{}"


@dataclass(frozen=True, slots=True)
class Handoff:
    """Call the handoff tool for ``agent`` (``transfer_to_<agent>``) or the named ``tool``."""

    agent: str | None = None
    tool: str | None = None


@dataclass(frozen=True, slots=True)
class BargeIn:
    """The user starts speaking ``at_ms`` into the preceding ``say``'s audio."""

    at_ms: int


@dataclass(frozen=True, slots=True)
class Fail:
    """Emit a server ``error`` event."""

    code: str
    message: str
    type: str = "invalid_request_error"


@dataclass(frozen=True, slots=True)
class Disconnect:
    """Close the WebSocket with ``code`` and ``reason``."""

    code: int = 1011
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Delay:
    """Pause for ``ms`` wall-clock milliseconds (not scaled by ``realtime_factor``)."""

    ms: int


@dataclass(frozen=True, slots=True)
class Dtmf:
    """The caller presses ``digits`` on a SIP call: one ``input_audio_buffer.dtmf_event_received`` each."""

    digits: str


Action = Say | Call | Handoff | BargeIn | Fail | Disconnect | Delay | Dtmf


@dataclass(frozen=True, slots=True)
class Turn:
    """One scripted model turn.

    ``match`` (substring, case-insensitive, or compiled regex) must match the user's latest text
    for the turn to be used; ``None`` matches anything. ``transcript`` is what the simulated
    speech recogniser hears for the user audio committed before this turn.
    """

    actions: tuple[Action, ...]
    match: str | re.Pattern[str] | None = None
    transcript: str | None = None

    def matches(self, text: str) -> bool:
        if self.match is None:
            return True
        if isinstance(self.match, re.Pattern):
            return self.match.search(text) is not None
        return self.match.casefold() in text.casefold()


@dataclass(frozen=True, slots=True)
class SimulatorScript:
    """An ordered list of turns; see ``docs/simulator.md`` and :func:`load_script`."""

    turns: tuple[Turn, ...] = ()


@dataclass(slots=True)
class Batch:
    """Server events to send together, then how long to wait.

    ``pace_ms`` is simulated audio time (scaled by ``realtime_factor``); ``wait_ms`` is wall
    time (script ``delay_ms``); ``close`` closes the socket after the events.
    """

    events: list[dict[str, Any]] = field(default_factory=list)
    pace_ms: float = 0.0
    wait_ms: float = 0.0
    close: tuple[int, str] | None = None


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class IdFactory:
    """Deterministic ids shaped like the live API's (``prefix`` + base62)."""

    __slots__ = ("_random",)

    def __init__(self, seed: int = 0) -> None:
        self._random = random.Random(seed)

    def new(self, prefix: str, length: int = 21) -> str:
        return prefix + "".join(self._random.choices(_BASE62, k=length))

    def event(self) -> str:
        return self.new("event_")

    def server_event(self, kind: str, **fields: Any) -> dict[str, Any]:
        """A server event with a fresh ``event_id``."""
        return {"type": kind, "event_id": self.event(), **fields}

    def error_event(self, code: str | None, message: str, *, param: str | None = None,
                    client: Any = None, kind: str = "invalid_request_error") -> dict[str, Any]:
        """An ``error`` event; ``error.event_id`` echoes the offending client event's id."""
        event_id = client.get("event_id") if isinstance(client, dict) else None
        return self.server_event("error", error={"type": kind, "code": code, "message": message,
                                                 "param": param, "event_id": event_id})
