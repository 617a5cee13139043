"""Fault injection for the simulator: a hostile or broken server, selectable per test.

:class:`FaultySimulator` is a :class:`~realtime_graph.transports.simulator.Simulator` whose
engine is wrapped in a :class:`FaultyEngine` that applies the given faults to what the real
engine says, on the real WebSocket:

- :class:`SendFrames`: extra frames, raw text (not JSON, a JSON string/``null``/array, a deeply
  nested document) or malformed events (a list ``type``, a string ``item``, an audio delta
  without ``delta``, invalid base64), on connect or when a ``response.create`` arrives;
- :class:`NoSessionCreated`: never send ``session.created`` (nor anything else on connect);
- :class:`IgnoreResponseCreate`: never answer the first ``times`` ``response.create`` events;
- :class:`IgnoreItemCreate`: never acknowledge (nor add) the first ``times`` ``conversation.item.create``;
- :class:`StallMidAudio`: stop a response after ``after_audio_deltas`` audio deltas and send
  nothing more of it (no ``response.done``);
- :class:`DoneForAnotherId`: send the response's ``response.done`` with another response id;
- :class:`CloseWith`: close the socket with a code when a ``response.create`` arrives;
- :class:`Drop`: close the socket with a code right after the ``count``-th server event (of type
  ``after``, or of any type) on a connection, optionally sending an ``error`` first (e.g.
  ``session_expired``): a drop mid-conversation, mid-audio or mid tool call.

A :class:`FaultySimulator` models one conversation that survives reconnects: script turns used
on one connection are not played again on the next. Every fault with ``times`` applies that many
times, counted over every connection to the same
:class:`FaultySimulator` (a reconnecting client meets a healthy server once the faults are used
up), then the server behaves again. See docs/simulator.md, "Fault injection".
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import Simulator
from .engine import SimulatorEngine
from .server import EngineLike
from .vocabulary import Batch

__all__ = ("CloseWith", "DoneForAnotherId", "Drop", "Fault", "FaultyEngine", "FaultySimulator", "IgnoreItemCreate",
           "IgnoreResponseCreate", "NoSessionCreated", "SendFrames", "StallMidAudio", "deep_json", "fault_budget")

_AUDIO_DELTA = "response.output_audio.delta"


def deep_json(depth: int = 100_000) -> str:
    """A valid JSON text nested ``depth`` arrays deep (decoders recurse once per level)."""
    return "[" * depth + "]" * depth


@dataclass(frozen=True, slots=True)
class SendFrames:
    """Send ``frames`` (``str``: the exact text frame; anything else: JSON-encoded) on connect
    (``on="open"``, after ``session.created``) or before the answer to a ``response.create``."""

    frames: tuple[object, ...]
    on: str = "response"
    times: int = 1


@dataclass(frozen=True, slots=True)
class NoSessionCreated:
    """Send nothing on connect."""


@dataclass(frozen=True, slots=True)
class IgnoreResponseCreate:
    """Swallow the first ``times`` ``response.create`` events (no ack, no error, no response)."""

    times: int = 1


@dataclass(frozen=True, slots=True)
class IgnoreItemCreate:
    """Swallow the first ``times`` ``conversation.item.create`` events (lost before the server
    took them: no ``conversation.item.added``, the item is not in the conversation)."""

    times: int = 1


@dataclass(frozen=True, slots=True)
class StallMidAudio:
    """After ``after_audio_deltas`` audio deltas of a response, send nothing more of it."""

    after_audio_deltas: int = 2
    times: int = 1


@dataclass(frozen=True, slots=True)
class DoneForAnotherId:
    """Replace the id in the response's ``response.done`` with ``other_id``."""

    other_id: str = "resp_someone_else"
    times: int = 1


@dataclass(frozen=True, slots=True)
class CloseWith:
    """Close the WebSocket with ``code``/``reason`` when a ``response.create`` arrives."""

    code: int = 1011
    reason: str = "internal server error"


@dataclass(frozen=True, slots=True)
class Drop:
    """Close with ``code``/``reason`` right after the ``count``-th server event of type ``after``
    (``None``: of any type) on one connection; ``error`` (an ``error`` object, e.g. code
    ``session_expired``) is sent just before the close. Nothing more is sent on that connection."""

    after: str | None = None
    count: int = 1
    code: int = 1011
    reason: str = "internal server error"
    error: Mapping[str, Any] | None = None
    times: int = 1


Fault = (SendFrames | NoSessionCreated | IgnoreResponseCreate | IgnoreItemCreate | StallMidAudio | DoneForAnotherId
         | CloseWith | Drop)
"""One selectable fault."""


class FaultyEngine:
    """Wraps an engine (``EngineLike``) and applies ``faults`` to its output. Pure, no I/O."""

    def __init__(self, inner: EngineLike, faults: Sequence[Fault], budget: dict[int, int] | None = None,
                 progress: list[int] | None = None) -> None:
        self._inner = inner
        self._progress = progress
        if progress is not None and isinstance(inner, SimulatorEngine):
            inner.script_position = progress[0]
        self._faults = tuple(faults)
        self._left = budget if budget is not None else fault_budget(self._faults)
        self._close: tuple[int, str] | None = None
        self._stalled = False
        self._deltas = 0
        self._seen: Counter[str | None] = Counter()
        self._dropped = False

    def _watch(self, events: list[Any]) -> list[Any]:
        """Count the events about to be sent; cut them after the one a :class:`Drop` waits for."""
        if self._progress is not None and isinstance(self._inner, SimulatorEngine):
            self._progress[0] = self._inner.script_position
        if self._dropped:
            return []
        drops = [(i, f) for i, f in enumerate(self._faults) if isinstance(f, Drop) and self._left[i] > 0]
        if not drops:
            return events
        for index, event in enumerate(events):
            kind = event.get("type") if isinstance(event, dict) else None
            self._seen[kind] += 1
            self._seen[None] += 1
            for i, drop in drops:
                if (drop.after is None or drop.after == kind) and self._seen[drop.after] >= drop.count:
                    self._left[i] -= 1
                    self._dropped = True
                    self._close = (drop.code, drop.reason)
                    tail = [{"type": "error", "event_id": "event_fault_drop", "error": dict(drop.error)}] \
                        if drop.error is not None else []
                    return [*events[:index + 1], *tail]
        return events

    def _take(self, kind: type) -> Any:
        """The first fault of ``kind`` with uses left (one use consumed), or None."""
        for i, fault in enumerate(self._faults):
            if isinstance(fault, kind) and self._left[i] > 0:
                self._left[i] -= 1
                return fault
        return None

    def _peek(self, kind: type) -> Any:
        for i, fault in enumerate(self._faults):
            if isinstance(fault, kind) and self._left[i] > 0:
                return fault
        return None

    def open(self) -> list[Any]:
        if any(isinstance(f, NoSessionCreated) for f in self._faults):
            self._inner.open()
            return []
        out: list[Any] = list(self._inner.open())
        for i, fault in enumerate(self._faults):
            if isinstance(fault, SendFrames) and fault.on == "open" and self._left[i] > 0:
                self._left[i] -= 1
                out.extend(fault.frames)
        return self._watch(out)

    def receive(self, event: Any) -> list[Any]:
        if self._dropped:
            return []
        return self._watch(self._receive(event))

    def _receive(self, event: Any) -> list[Any]:
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "conversation.item.create" and self._take(IgnoreItemCreate) is not None:
            return []
        if kind != "response.create":
            return self._inner.receive(event)
        if self._take(IgnoreResponseCreate) is not None:
            return []
        close = self._take(CloseWith)
        if close is not None:
            self._close = (close.code, close.reason)
            return []
        out: list[Any] = []
        for i, fault in enumerate(self._faults):
            if isinstance(fault, SendFrames) and fault.on == "response" and self._left[i] > 0:
                self._left[i] -= 1
                out.extend(fault.frames)
        self._deltas = 0
        return out + self._inner.receive(event)

    def next_batch(self) -> Batch | None:
        if self._close is not None:
            close, self._close = self._close, None
            return Batch(close=close)
        if self._dropped:
            return None
        batch = self._next_batch()
        if batch is None or not batch.events:
            return batch
        events = self._watch(batch.events)
        return Batch(events=events, pace_ms=batch.pace_ms, wait_ms=batch.wait_ms, close=batch.close) \
            if events is not batch.events else batch

    def _next_batch(self) -> Batch | None:
        batch = self._inner.next_batch()
        if batch is None:
            if self._stalled:
                self._stalled = False
            return None
        if self._stalled:
            return Batch()  # the rest of the stalled response is never sent
        stall = self._peek(StallMidAudio)
        events: list[Any] = []
        for event in batch.events:
            kind = event.get("type")
            if stall is not None and kind == _AUDIO_DELTA:
                self._deltas += 1
                if self._deltas > stall.after_audio_deltas:
                    self._take(StallMidAudio)
                    self._stalled = True
                    return Batch(events=events)
            if kind == "response.done" and self._peek(DoneForAnotherId) is not None:
                fault = self._take(DoneForAnotherId)
                event = copy.deepcopy(event)
                event["response"]["id"] = fault.other_id
            events.append(event)
        return Batch(events=events, pace_ms=batch.pace_ms, wait_ms=batch.wait_ms, close=batch.close)


class FaultySimulator(Simulator):
    """A :class:`Simulator` that misbehaves as ``faults`` say (same other arguments)."""

    def __init__(self, *, faults: Sequence[Fault] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.faults = tuple(faults)
        self.budget = fault_budget(self.faults)
        """Uses left per fault (by index), shared by every connection."""
        self.connections = 0
        self._progress = [0]  # script turns used: one conversation, whatever the connection

    def engine(self, model: str | None, call_id: str | None) -> EngineLike:
        self.connections += 1
        return FaultyEngine(super().engine(model, call_id), self.faults, self.budget, self._progress)


def fault_budget(faults: Sequence[Fault]) -> dict[int, int]:
    """Uses per fault (by index): its ``times``, else 1."""
    return {i: getattr(f, "times", 1) for i, f in enumerate(faults)}
