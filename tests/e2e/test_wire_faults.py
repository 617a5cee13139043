"""A broken or hostile server, through the real ``OpenAITransport`` on loopback: every fault of
``simulator/faults.py`` ends the session with one clear message or is recovered from; never a
hang (``fail_after`` everywhere), never a foreign exception, never a lost tool output."""

from __future__ import annotations

import anyio
import pytest

from realtime_graph.errors import ConnectError, ConnectionLost, TransportError
from realtime_graph.runtime import Runner
from realtime_graph.transports.simulator.faults import (
    CloseWith,
    DoneForAnotherId,
    IgnoreResponseCreate,
    NoSessionCreated,
    SendFrames,
    StallMidAudio,
    deep_json,
)
from tests.support.simulated import faulty, kinds, one_agent, until_ends, wire_types

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

# Without reconnect: these show the single-connection behaviour (tests/e2e/test_reconnect*.py: with it).
FAST = ("run:\n  timeouts: {connect: 2s, first_event: 300ms, response: 400ms}\n  guardrails: {timeout: 200ms}\n"
        "  reconnect: {enabled: false}")


def errors(events) -> list[str]:
    return [e.error["message"] for e in events if e.type == "error"]


async def _turn_after(session, text: str) -> list:
    await session.send_message(text)
    return await until_ends(session)


MALFORMED = [
    pytest.param('"just a string"', "ignored a server frame that is a JSON str, not an event object: "
                 "'just a string'", id="json-string"),
    pytest.param("null", "ignored a server frame that is a JSON NoneType, not an event object: 'None'",
                 id="json-null"),
    pytest.param("[1, 2]", "ignored a server frame that is a JSON list, not an event object: '[1, 2]'",
                 id="json-array"),
    pytest.param({"type": ["response.done"]}, "ignored a server event whose 'type' is a list, not a string",
                 id="type-list"),
    pytest.param({"type": "conversation.item.added", "item": "x"},
                 "ignored a malformed server event 'conversation.item.added': 'item' is a str, not an object",
                 id="item-string"),
    pytest.param({"type": "response.created", "response": "x"},
                 "ignored a malformed server event 'response.created': a field of the wrong type or value "
                 "(AttributeError: 'str' object has no attribute 'get')", id="response-string"),
    pytest.param({"type": "response.output_audio.delta", "response_id": "r", "item_id": "i"},
                 "ignored a malformed server event 'response.output_audio.delta': missing field 'delta'",
                 id="audio-without-delta"),
    pytest.param({"type": "response.output_audio.delta", "response_id": "r", "item_id": "i", "delta": "a"},
                 "ignored a malformed server event 'response.output_audio.delta': invalid base64 "
                 "(Invalid base64-encoded string: number of data characters (1) cannot be 1 more than a "
                 "multiple of 4)", id="invalid-base64"),
]


@pytest.mark.parametrize(("frame", "message"), MALFORMED)
async def test_a_malformed_server_event_is_an_error_event_and_the_session_goes_on(load_graph, frame, message) -> None:
    graph, _ = load_graph(one_agent(FAST))
    transport, _ = faulty(SendFrames((frame,), on="open"))
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            turn = await _turn_after(session, "hello")

    assert errors(turn) == ([message] if message else [])
    assert kinds(turn, frozenset({"raw_model_event", "history_added", "history_updated", "audio", "error"})) == [
        "agent_start", "audio_end", "agent_end"]
    assert session.history[-1].content == [{"type": "audio", "transcript": "You said: hello"}]
    if message:
        assert next(e for e in turn if e.type == "error").error["kind"] == "malformed_server_event"


async def test_a_malformed_event_mid_response_does_not_break_the_turn(load_graph) -> None:
    graph, _ = load_graph(one_agent(FAST))
    transport, _ = faulty(SendFrames(({"type": "response.output_item.done", "item": 7},
                                      {"type": "response.done", "response": [1]}), on="response"))
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            turn = await _turn_after(session, "hello")
            again = await _turn_after(session, "again")

    assert errors(turn) == ["ignored a malformed server event 'response.output_item.done': 'item' is a int, "
                            "not an object",
                            "ignored a malformed server event 'response.done': a field of the wrong type or "
                            "value (AttributeError: 'list' object has no attribute 'get')"]
    assert kinds(again) == ["agent_start", "audio_end", "agent_end"]


@pytest.mark.parametrize(("frame", "message"), [
    pytest.param(deep_json(), "the realtime server sent a JSON frame nested too deeply to decode", id="deep"),
    pytest.param("{not json", "the realtime server sent a frame that is not JSON: Expecting property name "
                 "enclosed in double quotes: line 1 column 2 (char 1)", id="not-json"),
])
async def test_an_undecodable_frame_ends_the_session_with_one_transport_error(load_graph, frame, message) -> None:
    graph, _ = load_graph(one_agent(FAST))
    transport, _ = faulty(SendFrames((frame,), on="response"))
    seen = []
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("hello")
            with pytest.raises(TransportError) as caught:
                async for event in session:
                    seen.append(event.type)
    assert str(caught.value) == message
    assert type(caught.value) is TransportError


async def test_no_session_created_is_one_connect_error(load_graph) -> None:
    graph, _ = load_graph(one_agent(FAST))
    transport, sim = faulty(NoSessionCreated())
    with anyio.fail_after(10), pytest.raises(ConnectError) as caught:
        async with Runner(graph, transport=transport).run():
            pass
    assert str(caught.value) == ("the realtime server sent no session.created within 0.3s of connecting "
                                 "(run.timeouts.first_event)")
    assert wire_types(sim) == ["session.update"]


async def test_the_default_timeouts_catch_every_hang() -> None:
    from realtime_graph.graph.model import RunSettings

    run = RunSettings()
    assert (run.connect_timeout, run.first_event_timeout, run.response_timeout, run.guardrail_timeout) == (
        10.0, 10.0, 30.0, 5.0)


async def test_an_unanswered_response_create_times_out_and_the_session_goes_on(load_graph) -> None:
    graph, _ = load_graph(one_agent(FAST))
    transport, sim = faulty(IgnoreResponseCreate(times=1))
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("first")
            with anyio.fail_after(3):
                await session.wait_idle()
            assert session.is_idle
            turn = await _turn_after(session, "second")

    assert session.history[-1].content == [{"type": "audio", "transcript": "You said: second"}]
    assert kinds(turn) == ["error", "agent_start", "audio_end", "agent_end"]
    assert errors(turn) == ["no progress on the requested response (no response.created) from the realtime "
                            "server within 0.4s (run.timeouts.response); the turn was ended"]
    assert wire_types(sim) == ["session.update"] + ["conversation.item.create", "response.create"] * 2


@pytest.mark.parametrize("fault", [
    pytest.param(StallMidAudio(after_audio_deltas=1), id="stall-mid-audio"),
    pytest.param(DoneForAnotherId(), id="done-for-another-id"),
])
async def test_a_response_that_never_ends_times_out_ends_the_turn_and_the_session_goes_on(load_graph, fault) -> None:
    graph, _ = load_graph(one_agent(FAST))
    transport, sim = faulty(fault)
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            first = await _turn_after(session, "first")
            with anyio.fail_after(3):
                await session.wait_idle()
            second = await _turn_after(session, "second")

    response_id = next(e for _, e in sim.emitted if isinstance(e, dict)
                       and e.get("type") == "response.created")["response"]["id"]
    assert kinds(first, frozenset({"raw_model_event", "history_added", "history_updated", "audio",
                                   "audio_end"})) == ["agent_start", "error", "agent_end"]
    assert errors(first) == [f"no progress on response {response_id!r} from the realtime server within 0.4s "
                             f"(run.timeouts.response); the turn was ended"]
    assert kinds(second) == ["agent_start", "audio_end", "agent_end"]
    assert session.history[-1].content == [{"type": "audio", "transcript": "You said: second"}]
    cancels = sim.received_of("response.cancel")
    assert [c.get("response_id") for c in cancels] == [response_id]


@pytest.mark.parametrize(("code", "reason"), [(1011, "internal server error"), (4000, "custom")])
async def test_a_close_with_a_code_ends_the_session_with_connection_lost(load_graph, code, reason) -> None:
    graph, _ = load_graph(one_agent(FAST))
    transport, _ = faulty(CloseWith(code, reason))
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("hello")
            with pytest.raises(ConnectionLost) as caught:
                async for _ in session:
                    pass
    assert str(caught.value) == f"realtime connection closed abnormally (code {code}: {reason})"
    assert caught.value.code == code


TOOL_CODE = """
RAN = []

def pay(amount: int) -> str:
    RAN.append(amount)
    return f"paid {amount}"
"""

TOOL_GRAPH = f"""
kind: graph
start: assistant
{FAST}
---
kind: agent
name: assistant
instructions: You are helpful.
tools:
  - {{entrypoint: "{{mod}}:pay"}}
"""


async def test_a_stall_after_a_tool_call_keeps_the_tool_output(load_graph) -> None:
    graph, module = load_graph(TOOL_GRAPH, TOOL_CODE)
    # The first response (the call) goes through; the answer to the tool output stalls.
    transport, sim = faulty(StallMidAudio(after_audio_deltas=0, times=1), IgnoreResponseCreate(times=0),
                            script="""
    - match: pay
      actions: [{call: {tool: pay, arguments: {amount: 5}}}]
    """)
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("pay please")
            turn = await until_ends(session, 2)
            await session.wait_idle()
            after = await _turn_after(session, "thanks")

    assert module.RAN == [5]
    assert [m.split(" from ")[0] for m in errors(turn)] == [
        f"no progress on response {sim.emitted_of('response.created')[1]['response']['id']!r}"]
    outputs = [e["item"] for e in sim.received_of("conversation.item.create")
               if e["item"]["type"] == "function_call_output"]
    assert [o["output"] for o in outputs] == ["paid 5"]
    assert kinds(after) == ["agent_start", "audio_end", "agent_end"]


GUARD_CODE = """
import anyio

async def forever(text, ctx):
    await anyio.sleep(60)
    return True
"""


async def test_a_guardrail_that_never_returns_is_an_error_and_not_tripped(load_graph) -> None:
    graph, _ = load_graph(FAST.join(["kind: graph\nstart: assistant\n", """
output_guardrails:
  - {name: slow_check, entrypoint: "{mod}:forever"}
---
kind: agent
name: assistant
instructions: You are helpful.
"""]), GUARD_CODE)
    transport, _ = faulty()
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            turn = await _turn_after(session, "hello")

    assert errors(turn) == ["guardrail 'slow_check' did not return within 0.2s (run.guardrails.timeout); "
                            "counted as not tripped"]
    assert "guardrail_tripped" not in kinds(turn)
    assert kinds(turn)[-1] == "agent_end"


def test_the_faulty_engine_applies_each_fault_the_given_number_of_times() -> None:
    from realtime_graph.transports.simulator.faults import FaultyEngine
    from realtime_graph.transports.simulator.vocabulary import Batch

    class Inner:
        def __init__(self) -> None:
            self.batches: list[Batch] = []

        def open(self):
            return [{"type": "session.created"}]

        def receive(self, event):
            self.batches = [Batch(events=[{"type": "response.output_audio.delta", "delta": "AA=="}] * 2),
                            Batch(events=[{"type": "response.done", "response": {"id": "r1"}}])]
            return [{"type": "response.created", "response": {"id": "r1"}}]

        def next_batch(self):
            return self.batches.pop(0) if self.batches else None

    engine = FaultyEngine(Inner(), [SendFrames(("raw",), on="open"), IgnoreResponseCreate(times=1),
                                    StallMidAudio(after_audio_deltas=1), DoneForAnotherId("other")])
    assert engine.open() == [{"type": "session.created"}, "raw"]
    create = {"type": "response.create"}
    assert engine.receive(create) == []  # ignored once
    assert engine.receive(create) == [{"type": "response.created", "response": {"id": "r1"}}]
    assert engine.next_batch().events == [{"type": "response.output_audio.delta", "delta": "AA=="}]
    assert engine.next_batch().events == []  # stalled: the rest of the response is swallowed
    assert engine.next_batch() is None
    engine.receive(create)
    assert len(engine.next_batch().events) == 2  # the stall was used up
    assert engine.next_batch().events == [{"type": "response.done", "response": {"id": "other"}}]
    engine.receive(create)
    engine.next_batch()
    assert engine.next_batch().events == [{"type": "response.done", "response": {"id": "r1"}}]
    assert FaultyEngine(Inner(), [NoSessionCreated()]).open() == []
    closing = FaultyEngine(Inner(), [CloseWith(1011, "gone")])
    assert closing.receive(create) == []
    assert closing.next_batch().close == (1011, "gone")
