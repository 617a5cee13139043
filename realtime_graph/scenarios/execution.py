"""Running one scenario through a real session: the I/O shell around the pure parts.

Offline, the transport is a :class:`SimulatorTransport` playing the scenario's generated script
(so the real session, the real OpenAI transport and a real loopback WebSocket all run); live,
the caller's transport is used and the scripted behaviour is ignored. One task consumes the
session's events (answering approval requests as the scenario says); the driver sends each turn
when it is due and closes its window when the session is idle (or the next turn is sent).
"""

from __future__ import annotations

import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from ..audio import PCM24K, bytes_per_ms, resample_pcm16, silence
from ..errors import RealtimeGraphError
from ..graph.model import Graph
from ..runtime import Runner, Session, ToolApprovalRequiredEvent
from ..transports.base import Transport
from .matching import Mismatch, TurnRecord, check_turn
from .mocks import mocked_graph
from .spec import ScenarioSpec, TurnSpec, dtmf_message

__all__ = ("Exercised", "ScenarioResult", "TurnFailure", "read_wav", "run_scenario")

_CHUNK_MS = 100
_TRAILING_SILENCE_MS = 1200  # longer than any VAD's end-of-speech silence, so turn detection ends the turn
_DROP = frozenset({"history_updated", "history_added", "audio"})


@dataclass(slots=True)
class Exercised:
    """What a run touched, for graph coverage."""

    agents: set[str] = field(default_factory=set)
    tools: set[tuple[str, str]] = field(default_factory=set)  # (agent, tool)
    handoffs: set[tuple[str, str]] = field(default_factory=set)
    guardrails: set[str] = field(default_factory=set)

    def add(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "agent_start":
            self.agents.add(event["agent"])
        elif kind in ("tool_start", "tool_approval_required"):
            self.tools.add((event["agent"], event["tool"]))
        elif kind == "handoff":
            self.handoffs.add((event["from_agent"], event["to_agent"]))
        elif kind == "guardrail_tripped":
            self.guardrails.update(r.get("guardrail", "") for r in event["guardrail_results"])


@dataclass(frozen=True, slots=True)
class TurnFailure:
    """A failed expectation of turn ``turn`` (0-based)."""

    turn: int
    mismatch: Mismatch


@dataclass(slots=True)
class ScenarioResult:
    """The outcome of one run of one scenario."""

    spec: ScenarioSpec
    failures: list[TurnFailure] = field(default_factory=list)
    error: str | None = None
    duration_s: float = 0.0
    exercised: Exercised = field(default_factory=Exercised)
    run: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None


def read_wav(path: str) -> bytes:
    """A 16-bit PCM mono WAV file as 24 kHz PCM16. :raises ValueError: another format."""
    try:
        with wave.open(path, "rb") as reader:
            if reader.getsampwidth() != 2 or reader.getnchannels() != 1:
                raise ValueError(f"{path}: audio must be 16-bit mono PCM WAV")
            frames = reader.readframes(reader.getnframes())
            rate = reader.getframerate()
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path}: not a PCM WAV file ({exc})") from None
    return resample_pcm16(frames, rate, PCM24K.rate) if rate != PCM24K.rate else frames


class _Log:
    """Every session event of the run with its arrival time; waiters wake on each new event."""

    def __init__(self) -> None:
        self.events: list[tuple[float, dict[str, Any]]] = []
        self._changed = anyio.Event()

    def append(self, event: dict[str, Any]) -> None:
        self.events.append((time.monotonic(), event))
        self._changed.set()
        self._changed = anyio.Event()

    async def first(self, kind: str, since: int) -> tuple[float, dict[str, Any]]:
        while True:
            for t, event in self.events[since:]:
                if event["type"] == kind:
                    return t, event
            await self._changed.wait()


def _compact(event: Any) -> dict[str, Any]:
    """The event's dict form, without payloads nobody asserts on (audio bytes, full histories)."""
    if event.type in _DROP:
        out = {"type": event.type}
        if event.type == "audio":
            out["item_id"] = event.item_id
        return out
    data: dict[str, Any] = event.to_dict()
    return data


async def _consume(session: Session, log: _Log, spec: ScenarioSpec, current: list[TurnSpec]) -> None:
    async for event in session:
        log.append(_compact(event))
        if isinstance(event, ToolApprovalRequiredEvent):
            turn = current[0] if current else None
            decision = (turn.approvals if turn else {}).get(event.tool) or spec.approvals.get(event.tool, "reject")
            if decision == "approve":
                await session.approve_tool_call(event.call_id)
            else:
                await session.reject_tool_call(event.call_id)


async def _send_input(session: Session, turn: TurnSpec) -> None:
    if turn.interrupt:
        await session.interrupt()
    if turn.text is not None:
        await session.send_message(turn.text)
    elif turn.dtmf is not None:
        await session.send_message(dtmf_message(turn.dtmf))
    elif turn.audio is not None:
        pcm = read_wav(turn.audio) + silence(PCM24K, _TRAILING_SILENCE_MS)
        chunk = _CHUNK_MS * bytes_per_ms(PCM24K)
        for start in range(0, len(pcm), chunk):
            await session.send_audio(pcm[start:start + chunk])


async def _settle(session: Session, log: _Log, turn: TurnSpec, since: int, timeout_s: float) -> bool:
    """Wait until the turn is idle; False when it timed out."""
    with anyio.move_on_after(timeout_s) as scope:
        if turn.audio is not None:
            await log.first("agent_start", since)  # turn detection answers by itself, a little later
        await session.wait_idle()
    return not scope.cancelled_caught


async def _drive(session: Session, spec: ScenarioSpec, log: _Log, current: list[TurnSpec],
                 result: ScenarioResult) -> None:
    records: list[tuple[TurnSpec, TurnRecord, int, float]] = []

    def close(upto: int) -> None:
        _, record, start, t0 = records[-1]
        record.events = [(round((t - t0) * 1000, 1), e) for t, e in log.events[start:upto]]
        record.agent = session.current_agent.name

    with anyio.move_on_after(spec.timeout_ms / 1000):
        await session.wait_idle()  # a greeting (the session speaks first) is no turn's answer
    for turn in spec.turns:
        timeout_s = (turn.timeout_ms or spec.timeout_ms) / 1000
        if records:
            previous_start = records[-1][2]
            if turn.send_after is not None:
                with anyio.move_on_after(timeout_s) as scope:
                    t, _ = await log.first(turn.send_after.event, previous_start)
                if scope.cancelled_caught:
                    records[-1][1].timed_out = True
                    close(len(log.events))
                    result.error = (f"turn {turn.index + 1}: no {turn.send_after.event!r} event to send after "
                                    f"within {timeout_s:g} s")
                    break
                await anyio.sleep(max(0.0, t + turn.send_after.delay_ms / 1000 - time.monotonic()))
            else:
                records[-1][1].timed_out = not await _settle(session, log, records[-1][0], records[-1][2], timeout_s)
            close(len(log.events))
            if records[-1][1].timed_out:
                break
        current[:] = [turn]
        records.append((turn, TurnRecord(), len(log.events), time.monotonic()))
        await _send_input(session, turn)
    else:
        last_turn, record, start, _ = records[-1]
        record.timed_out = not await _settle(session, log, last_turn, start,
                                             (last_turn.timeout_ms or spec.timeout_ms) / 1000)
        close(len(log.events))
    for turn, record, _, _ in records:
        for mismatch in check_turn(turn.expect, record, in_order=turn.in_order):
            result.failures.append(TurnFailure(turn.index, mismatch))


async def run_scenario(spec: ScenarioSpec, graph: Graph, *, transport: Transport | None = None,
                       transport_factory: Callable[[ScenarioSpec, Graph], Transport] | None = None,
                       run: int = 0) -> ScenarioResult:
    """Run ``spec`` once against ``graph`` (mocks applied) and check its expectations.

    ``transport``: live (scripted behaviour ignored). Default: the simulator playing the
    scenario's script over loopback. Never raises for a failing scenario: connection and session
    errors become :attr:`ScenarioResult.error`.
    """
    from ..transports.simulator import Simulator, SimulatorTransport
    from .scriptgen import script_for

    result = ScenarioResult(spec=spec, run=run)
    if transport is None:
        transport = (transport_factory(spec, graph) if transport_factory is not None
                     else SimulatorTransport(Simulator(script=script_for(spec, graph))))
    log = _Log()
    current: list[TurnSpec] = []
    started = time.monotonic()
    try:
        runner = Runner(mocked_graph(graph, spec.mocks), transport=transport)
        async with runner.run(context=dict(spec.context), agent=spec.agent) as session:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_consume, session, log, spec, current)
                await _drive(session, spec, log, current, result)
                tg.cancel_scope.cancel()
    except* (RealtimeGraphError, OSError, ValueError) as group:
        first = group.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        result.error = f"{type(first).__name__}: {first}" if not isinstance(first, RealtimeGraphError) else str(first)
    result.duration_s = time.monotonic() - started
    for _, event in log.events:
        result.exercised.add(event)
    return result
