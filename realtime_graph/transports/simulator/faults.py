"""Fault injection for the simulator: a hostile or broken server, selectable per test.

:class:`FaultySimulator` is a :class:`~realtime_graph.transports.simulator.Simulator` whose
engine is wrapped in a :class:`FaultyEngine` that applies the given faults to what the real
engine says, on the real WebSocket:

- :class:`SendFrames`: extra frames, raw text (not JSON, a JSON string/``null``/array, a deeply
  nested document) or malformed events (a list ``type``, a string ``item``, an audio delta
  without ``delta``, invalid base64), on connect or when a ``response.create`` arrives;
- :class:`NoSessionCreated`: never send ``session.created`` (nor anything else on connect);
- :class:`IgnoreResponseCreate`: never answer the first ``times`` ``response.create`` events;
- :class:`StallMidAudio`: stop a response after ``after_audio_deltas`` audio deltas and send
  nothing more of it (no ``response.done``);
- :class:`DoneForAnotherId`: send the response's ``response.done`` with another response id;
- :class:`CloseWith`: close the socket with a code when a ``response.create`` arrives.

Every fault with ``times`` applies that many times, then the server behaves again (so a test can
show the session recovers). See docs/simulator.md, "Fault injection".
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import Simulator
from .server import EngineLike
from .vocabulary import Batch

__all__ = ("CloseWith", "DoneForAnotherId", "Fault", "FaultyEngine", "FaultySimulator", "IgnoreResponseCreate",
           "NoSessionCreated", "SendFrames", "StallMidAudio", "deep_json")

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


Fault = SendFrames | NoSessionCreated | IgnoreResponseCreate | StallMidAudio | DoneForAnotherId | CloseWith
"""One selectable fault."""


class FaultyEngine:
    """Wraps an engine (``EngineLike``) and applies ``faults`` to its output. Pure, no I/O."""

    def __init__(self, inner: EngineLike, faults: Sequence[Fault]) -> None:
        self._inner = inner
        self._faults = tuple(faults)
        self._left = {i: getattr(f, "times", 1) for i, f in enumerate(self._faults)}
        self._close: tuple[int, str] | None = None
        self._stalled = False
        self._deltas = 0

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
        return out

    def receive(self, event: Any) -> list[Any]:
        if not (isinstance(event, dict) and event.get("type") == "response.create"):
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

    def engine(self, model: str | None, call_id: str | None) -> EngineLike:
        return FaultyEngine(super().engine(model, call_id), self.faults)
