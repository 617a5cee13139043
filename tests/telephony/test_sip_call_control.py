"""The runtime's built-in call-control tools and the greeting, through a real Runner on the simulator.

``hangup``/transfers act through the injected ``CallControl``; without one the model is told there
is no call. A hangup waits for the goodbye audio to have played, sends no new response, and ends
the session cleanly. Client events are recorded on the simulator's side of the real socket.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from realtime_graph.config import load, validate_string
from realtime_graph.runtime import Runner
from realtime_graph.runtime import events as ev
from realtime_graph.transports.base import Connection, ConnectRequest, Transport
from realtime_graph.transports.simulator.faults import Drop
from tests.support.simulated import RecordingSimulator, faulty, kinds, simulator

pytestmark = pytest.mark.anyio

FOLDER = Path(__file__).parents[1] / "serve" / "sip_phone"
NO_CALL = ("hangup is not available: this session is not a phone call, so there is no call to hang up. "
           "Tell the user you cannot do that here.")


class RecordingControl:
    """A CallControl that records what the runtime asked of it (and when)."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, str | None, float]] = []
        self.fail = fail

    async def hangup(self) -> None:
        self.calls.append(("hangup", None, time.monotonic()))

    async def transfer(self, target: str) -> None:
        self.calls.append(("transfer", target, time.monotonic()))
        if self.fail:
            raise RuntimeError("503 from the SIP trunk")


async def run(script: str, control: Any, *, stop: str | None = "audio_end", after_tool: bool = True,
              call_id: str | None = None) -> tuple[list[ev.SessionEventBase], list[float], RecordingSimulator]:
    """Run the fixture graph until the event ``stop`` (after a ``tool_end`` when ``after_tool``),
    or with ``stop=None`` until the session's event stream ends by itself."""
    graph = load(FOLDER, environ={"SIP_TEST_WEBHOOK_SECRET": "x"})
    transport, sim = simulator(script)
    events: list[ev.SessionEventBase] = []
    times: list[float] = []
    with anyio.fail_after(5):
        async with Runner(graph, transport=transport).run(call_control=control, call_id=call_id) as session:
            async for event in session:
                events.append(event)
                times.append(time.monotonic())
                if event.type == stop and (not after_tool or any(e.type == "tool_end" for e in events)):
                    break
    return events, times, sim


def outputs(sim: RecordingSimulator) -> list[str]:
    return [e["item"]["output"] for e in sim.received_of("conversation.item.create")]


async def test_greeting_is_the_first_response_with_its_own_instructions() -> None:
    events, _, sim = await run("- actions: [{say: Hello!}]\n", None, after_tool=False)
    creates = sim.received_of("response.create")
    assert [e["type"] for e in sim.received] == ["session.update", "response.create"]
    assert creates[0]["response"] == {"instructions": "Greet the caller and offer to look up their order."}
    assert kinds(events) == ["agent_start", "audio_end"]  # spoken without any user turn


async def test_without_a_call_the_model_is_told_so() -> None:
    events, _, sim = await run("""
- actions: [{call: {tool: hangup}}]
- actions: [{say: "Sorry, I cannot hang up here."}]
""", None)
    end = next(e for e in events if isinstance(e, ev.ToolEndEvent))
    assert (end.tool, end.output) == ("hangup", NO_CALL)
    assert outputs(sim) == [NO_CALL]
    # then response.create as usual: the model answers
    assert len(sim.received_of("response.create")) == 2  # the greeting, then after the tool


async def test_transfer_calls_the_control_with_the_declared_target() -> None:
    control = RecordingControl()
    events, _, sim = await run("""
- actions: [{say: {text: One moment., audio_ms: 200}}, {call: {tool: transfer_to_sales}}]
- actions: [{say: You are being transferred.}]
""", control)
    assert [(a, t) for a, t, _ in control.calls] == [("transfer", "tel:+14155550123")]
    assert outputs(sim) == ["The call is being transferred (tel:+14155550123)."]
    assert len(sim.received_of("response.create")) == 2
    assert "error" not in kinds(events)


async def test_failed_transfer_is_an_error_event_and_the_model_hears_it() -> None:
    events, _, sim = await run("""
- actions: [{call: {tool: transfer_to_sales}}]
- actions: [{say: Sorry.}]
""", RecordingControl(fail=True))
    error = next(e for e in events if isinstance(e, ev.ErrorEvent))
    assert error.error == {"message": "call control transfer_to_sales failed: RuntimeError: 503 from the SIP trunk",
                           "kind": "call_control", "tool": "transfer_to_sales", "call_id": error.error["call_id"]}
    assert outputs(sim) == ["transfer_to_sales failed: the phone system did not accept the request."]


async def test_hangup_waits_for_the_goodbye_audio_then_ends_the_session() -> None:
    control = RecordingControl()
    # realtime_factor 0: the 600 ms goodbye arrives at once, so only the playback wait holds the hangup
    events, times, sim = await run("- actions: [{say: {text: Goodbye!, audio_ms: 600}}, {call: {tool: hangup}}]\n",
                                   control, stop=None)
    first_audio = times[next(i for i, e in enumerate(events) if isinstance(e, ev.AudioEvent))]
    assert [a for a, _, _ in control.calls] == ["hangup"]
    assert control.calls[0][2] - first_audio >= 0.59
    assert kinds(events) == ["agent_start", "audio_end", "tool_start", "agent_end", "tool_end"]
    assert outputs(sim) == ["The call was ended."]
    assert len(sim.received_of("response.create")) == 1  # the greeting only: no reply after hanging up


def test_greeting_and_call_id_reference_validate() -> None:
    bad = validate_string("kind: graph\nstart: a\ngreeting: {text: hi}\n---\n"
                          "kind: agent\nname: a\ninstructions: hi\ngreeting: ''\n")
    assert sorted((i.code, i.path) for i in bad.issues) == [("RG110", "$.greeting"), ("RG110", "$.greeting")]
    ok = validate_string("kind: graph\nstart: a\ngreeting: Hello there.\ntransport: {call_id: '${CALL}'}\n---\n"
                         "kind: agent\nname: a\ninstructions: hi\ngreeting: {instructions: Say hi.}\n",
                         environ={"CALL": "rtc_1"})
    assert ok.graph is not None and ok.graph.greeting is not None and ok.graph.greeting.source == "Hello there."
    greeting = ok.graph.agents["a"].greeting
    assert greeting is not None and greeting.source == "Say hi."
    undeclared = validate_string("kind: graph\nstart: a\n---\nkind: agent\nname: a\ninstructions: hi\n"
                                 "greeting: {instructions: 'Hi {{ who }}.'}\n")
    assert [(i.code, i.line, i.path) for i in undeclared.issues] == [("RG402", 7, "$.greeting.instructions")]
    assert repr(ok.graph.transport.call_id) == "Secret('${CALL}')"


async def test_on_a_call_hangup_waits_for_the_output_buffer_to_stop() -> None:
    """Attached (?call_id=), the server reports playback: output_audio_buffer.started … stopped."""
    control = RecordingControl()
    events, times, _ = await run("- actions: [{say: {text: Goodbye!, audio_ms: 300}}, {call: {tool: hangup}}]\n",
                                 control, stop=None, call_id="rtc_attached")
    raw = [(e.data["type"], t) for e, t in zip(events, times, strict=True) if isinstance(e, ev.RawModelEvent)]
    kinds_seen = [k for k, _ in raw]
    assert kinds_seen.index("output_audio_buffer.started") < kinds_seen.index("response.output_audio.delta")
    assert kinds_seen.index("response.done") + 1 == kinds_seen.index("output_audio_buffer.stopped")
    stopped = next(t for k, t in raw if k == "output_audio_buffer.stopped")
    assert [a for a, _, _ in control.calls] == ["hangup"] and control.calls[0][2] >= stopped


@pytest.mark.slow
def test_a_greeting_is_no_scenario_turns_answer(tmp_path: Path) -> None:
    """`rtgraph test` lets the greeting finish first; turn 1 is checked against its own reply only."""
    from tests.support.scenarios import rtgraph_test, write

    graph = tmp_path / "agents.d"
    graph.mkdir()
    write(graph, "graph.yaml", "kind: graph\nstart: a\ngreeting: Greet the user.\n")
    write(graph, "a.yaml", "kind: agent\nname: a\ninstructions: You are helpful.\n")
    write(tmp_path, "s.yaml", """
        kind: scenario
        name: sums
        turns:
          - user: What is two plus two?
            model: [{say: Four.}]
            expect: [{transcript: {equals: Four.}}]
        """)
    done = rtgraph_test(tmp_path / "s.yaml", "--graph", graph)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 0 failed" in done.stdout


class _TornDown(Connection):
    """The socket dies under our close (the server tore the call down): close code 1006."""

    def __init__(self, inner: Connection) -> None:
        self._inner = inner

    async def send(self, event: dict[str, Any]) -> None:
        await self._inner.send(event)

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._inner.__aiter__()

    async def aclose(self) -> None:
        await self._inner.aclose()

    @property
    def close_code(self) -> int | None:
        return 1006


class _TornDownTransport(Transport):
    def __init__(self, inner: Transport) -> None:
        self.inner, self.connects = inner, 0

    @asynccontextmanager
    async def connect(self, request: ConnectRequest) -> AsyncIterator[Connection]:  # type: ignore[override]
        self.connects += 1
        async with self.inner.connect(request) as connection:
            yield _TornDown(connection)


async def test_a_hangup_never_reconnects_even_when_the_socket_dies_abnormally() -> None:
    graph = load(FOLDER, environ={"SIP_TEST_WEBHOOK_SECRET": "x"})
    assert graph.run.reconnect.enabled
    inner, _ = simulator("- actions: [{say: {text: Goodbye!, audio_ms: 100}}, {call: {tool: hangup}}]\n")
    transport = _TornDownTransport(inner)
    control = RecordingControl()
    with anyio.fail_after(5):
        async with Runner(graph, transport=transport).run(call_control=control) as session:
            events = [event async for event in session]
    assert [a for a, _, _ in control.calls] == ["hangup"]
    assert transport.connects == 1  # the stream ended by itself: no reconnect, no error
    assert kinds(events)[-1] == "tool_end" and not {"reconnected", "error"} & set(kinds(events))


async def test_a_hangup_while_reconnecting_ends_the_session_without_a_new_connection() -> None:
    """The socket drops right after the goodbye; the hangup lands during the reconnect's backoff."""
    graph = load(FOLDER, environ={"SIP_TEST_WEBHOOK_SECRET": "x"})
    slow = dataclasses.replace(graph.run.reconnect, backoff_initial=0.8, backoff_max=0.8)
    graph = dataclasses.replace(graph, run=dataclasses.replace(graph.run, reconnect=slow))
    transport, sim = faulty(Drop(after="response.done", count=1, code=1011),
                            script="- actions: [{say: {text: Goodbye!, audio_ms: 100}}, {call: {tool: hangup}}]\n")
    control = RecordingControl()
    with anyio.fail_after(5):
        async with Runner(graph, transport=transport).run(call_control=control) as session:
            events = [event async for event in session]
    assert [a for a, _, _ in control.calls] == ["hangup"]
    assert sim.connections == 1
    assert "reconnected" not in kinds(events) and kinds(events)[-1] == "tool_end"
