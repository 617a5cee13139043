"""``--record`` cassettes: timed from the moment the connection is open, and replayable by the
simulator (``Simulator(cassette=...)``) as the same conversation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

from realtime_graph.config import load
from realtime_graph.runtime import Runner
from realtime_graph.runtime import events as ev
from realtime_graph.transports import Simulator, SimulatorTransport
from realtime_graph.transports.base import Connection, ConnectRequest, Transport
from realtime_graph.transports.recording import RecordingTransport
from tests.support.cli import rtgraph

HANDSHAKE_S = 0.3
QUESTION = "What's the weather in Paris?"


class SlowHandshake(Transport):
    """The simulator behind a handshake that takes HANDSHAKE_S (a distant server)."""

    def __init__(self) -> None:
        self.inner = SimulatorTransport(Simulator())

    @asynccontextmanager
    async def connect(self, request: ConnectRequest) -> AsyncIterator[Connection]:
        await anyio.sleep(HANDSHAKE_S)
        async with self.inner.connect(request) as connection:
            yield connection


@pytest.mark.anyio
async def test_cassette_times_count_from_the_open_connection(agents: Path, tmp_path: Path) -> None:
    cassette = tmp_path / "call.jsonl"
    transport = RecordingTransport(SlowHandshake(), cassette)
    async with Runner(load(agents), transport=transport).run() as session:
        await session.wait_idle()
    _, first, *_ = [json.loads(line) for line in cassette.read_text(encoding="utf-8").splitlines()]
    assert first["event"]["type"] == "session.update"
    assert first["t"] < HANDSHAKE_S / 3  # the handshake is not part of the session's timeline


async def _replay(agents: Path, cassette: Path) -> list[ev.SessionEventBase]:
    seen: list[ev.SessionEventBase] = []
    transport = SimulatorTransport(Simulator(cassette=cassette))
    with anyio.fail_after(10):
        async with Runner(load(agents), transport=transport).run() as session:
            async with anyio.create_task_group() as tg:
                async def collect() -> None:
                    async for event in session:
                        seen.append(event)

                tg.start_soon(collect)
                await session.send_message(QUESTION)
                await session.wait_idle()
                tg.cancel_scope.cancel()
    return seen


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_recorded_call_replays_through_the_simulator(agents: Path, tmp_path: Path) -> None:
    cassette = tmp_path / "call.jsonl"
    recorded = await anyio.to_thread.run_sync(
        lambda: rtgraph(agents, "--no-reload", "--sim-speed", "0", "--record", cassette, "--say", QUESTION))
    assert recorded.returncode == 0, recorded.stderr
    seen = await _replay(agents, cassette)
    assert [e for e in seen if isinstance(e, ev.ErrorEvent)] == []  # no cassette_mismatch
    assert [(e.from_agent.name, e.to_agent.name) for e in seen if isinstance(e, ev.HandoffEvent)] == [
        ("concierge", "weather")]
    assert [e.output for e in seen if isinstance(e, ev.ToolEndEvent)] == ["The weather in Paris is sunny, 21 °C."]
    spoken = [e.data["transcript"] for e in seen if isinstance(e, ev.RawModelEvent)
              and e.data["type"] == "response.output_audio_transcript.done"]
    said = [line.removeprefix("weather: ") for line in recorded.stdout.splitlines() if line.startswith("weather: ")]
    assert len(said) == 2 and spoken == said
