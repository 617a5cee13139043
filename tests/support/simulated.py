"""End-to-end plumbing: a session → the real ``OpenAITransport`` → a real loopback WebSocket → the simulator.

Client events are recorded where they arrive, on the simulator's side of the socket (what the
server parsed off the wire, in arrival order), and every one of them is validated at teardown with
the strict check of tests/transports (official ``RealtimeClientEvent`` union, no unknown keys,
exact round trip). Graphs are loaded from YAML with the real loader; user code lives in a
throw-away module written to ``tmp_path``.
"""

from __future__ import annotations

import functools
import textwrap
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from realtime_graph.runtime import events as ev
from realtime_graph.transports.simulator import Simulator, SimulatorTransport, parse_script
from realtime_graph.transports.simulator.faults import FaultySimulator
from realtime_graph.transports.simulator.server import EngineLike
from realtime_graph.transports.simulator.vocabulary import Batch
from tests.support.builders import events_until
from tests.support.wire import strict

__all__ = ("LIVE", "NOISE", "FaultyRecorder", "RecordingSimulator", "check_client_events", "concurrent_turn",
           "events_until", "faulty", "interleaves", "kinds", "one_agent", "simulator", "until_ends", "until_seen",
           "wire_types")

NOISE = frozenset({"raw_model_event", "history_added", "history_updated", "audio"})
"""Session events most assertions leave out (each test asserts audio where it matters)."""

LIVE: list[RecordingSimulator] = []


class _RecordingEngine:
    """Delegates to the real engine and keeps what crossed the socket, with monotonic times."""

    def __init__(self, inner: EngineLike, owner: RecordingSimulator) -> None:
        self._inner, self._owner = inner, owner

    def open(self) -> list[dict[str, Any]]:
        return self._emitted(self._inner.open())

    def receive(self, event: Any) -> list[dict[str, Any]]:
        self._owner.received.append(event)
        return self._emitted(self._inner.receive(event))

    def next_batch(self) -> Batch | None:
        batch = self._inner.next_batch()
        if batch is not None:
            self._emitted(batch.events)
        return batch

    def _emitted(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        now = time.monotonic()
        self._owner.emitted.extend((now, e) for e in events)
        return events


class RecordingSimulator(Simulator):
    """A :class:`Simulator` that records the client events it received and the events it sent."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.received: list[dict[str, Any]] = []
        self.emitted: list[tuple[float, dict[str, Any]]] = []
        LIVE.append(self)

    def engine(self, model: str | None, call_id: str | None) -> EngineLike:
        return _RecordingEngine(super().engine(model, call_id), self)

    def received_of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.received if e.get("type") == kind]

    def emitted_of(self, kind: str) -> list[dict[str, Any]]:
        return [e for _, e in self.emitted if e["type"] == kind]


def simulator(script: str | None = None, *,
              realtime_factor: float = 0.0) -> tuple[SimulatorTransport, RecordingSimulator]:
    """A transport that serves a recording simulator (script given as YAML text) on loopback."""
    sim = RecordingSimulator(script=parse_script(textwrap.dedent(script)) if script else None,
                             realtime_factor=realtime_factor)
    return SimulatorTransport(sim), sim


class FaultyRecorder(RecordingSimulator, FaultySimulator):
    """Records what crossed the socket (outside the faults), per connection; misbehaves as told."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.marks: list[int] = []

    def engine(self, model: str | None, call_id: str | None) -> EngineLike:
        self.marks.append(len(self.received))
        return super().engine(model, call_id)

    def on_connection(self, n: int) -> list[dict[str, Any]]:
        """Client events received on connection ``n`` (1-based)."""
        end = self.marks[n] if n < len(self.marks) else len(self.received)
        return self.received[self.marks[n - 1]:end]


def faulty(*faults: Any, script: str | None = None,
           realtime_factor: float = 0.0) -> tuple[SimulatorTransport, FaultyRecorder]:
    """A transport that serves a recording simulator with ``faults`` (script given as YAML text)."""
    sim = FaultyRecorder(faults=faults, script=parse_script(textwrap.dedent(script)) if script else None,
                         realtime_factor=realtime_factor)
    return SimulatorTransport(sim), sim


def wire_types(sim: RecordingSimulator, *, audio: bool = False) -> list[str]:
    """Client event types the simulator received, in order (``input_audio_buffer.append`` dropped
    unless ``audio``)."""
    return [e["type"] for e in sim.received if audio or e["type"] != "input_audio_buffer.append"]


async def until_ends(session: Any, count: int = 1, *, timeout: float = 5.0,
                     raw: bool = False) -> list[ev.SessionEventBase]:
    """Session events up to and including the ``count``-th ``agent_end``."""
    seen = 0

    def stop(event: ev.SessionEventBase) -> bool:
        nonlocal seen
        seen += event.type == "agent_end"
        return seen == count

    return await events_until(session, stop, timeout=timeout, raw=raw)


async def until_seen(session: Any, *wanted: str, timeout: float = 5.0) -> list[ev.SessionEventBase]:
    """Session events until every type in ``wanted`` was seen (as often as it is listed)."""
    missing = Counter(wanted)

    def stop(event: ev.SessionEventBase) -> bool:
        if missing[event.type] > 0:
            missing[event.type] -= 1
        return not +missing

    return await events_until(session, stop, timeout=timeout)


def interleaves(actual: Sequence[str], *parts: Sequence[str]) -> bool:
    """True when ``actual`` is exactly the ``parts`` merged, each keeping its own order (the
    reader and a tool task run concurrently: each side is ordered, their merge is not)."""

    @functools.cache
    def fits(i: int, positions: tuple[int, ...]) -> bool:
        if i == len(actual):
            return all(p == len(part) for p, part in zip(positions, parts, strict=True))
        return any(p < len(part) and part[p] == actual[i]
                   and fits(i + 1, (*positions[:k], p + 1, *positions[k + 1:]))
                   for k, (p, part) in enumerate(zip(positions, parts, strict=True)))

    return fits(0, (0,) * len(parts))


def concurrent_turn(actual: Sequence[str], reader: Sequence[str], task: Sequence[str],
                    then: Sequence[str] = ()) -> bool:
    """``actual`` is the reader's events merged with a tool task's, followed by ``then`` (what the
    reader saw after the task sent its output and asked for the next response)."""
    cut = len(reader) + len(task)
    return interleaves(actual[:cut], reader, task) and list(actual[cut:]) == list(then)


def kinds(events: Iterable[ev.SessionEventBase], drop: frozenset[str] = NOISE) -> list[str]:
    return [e.type for e in events if e.type not in drop]



def one_agent(graph_settings: str = "", agent_extra: str = "") -> str:
    """YAML for a graph whose only agent is ``assistant`` (the shape most e2e tests need)."""
    return (f"kind: graph\nstart: assistant\n{graph_settings}\n---\n"
            f"kind: agent\nname: assistant\ninstructions: You are helpful.\n{agent_extra}")


def check_client_events(sims: Iterable[RecordingSimulator]) -> int:
    """Strictly validate every client event the simulators received; returns how many."""
    count = 0
    for sim in sims:
        for event in sim.received:
            strict(event)
            count += 1
    return count
