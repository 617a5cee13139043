"""Reconnect with conversation replay, per fault, through the real ``OpenAITransport`` on loopback:
the session recovers with the conversation intact (the exact client events of the replay, in
order), or ends with one clear message; never a hang, a foreign exception or a lost tool output."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from realtime_graph.errors import ConnectError, ConnectionLost, SessionError, TransportError
from realtime_graph.runtime import PlaybackTracker, Runner
from realtime_graph.runtime.reconnect_policy import NOTE, NOTE_ID
from realtime_graph.transports.simulator import SimulatorTransport
from realtime_graph.transports.simulator.faults import (
    CloseWith,
    DoneForAnotherId,
    Drop,
    IgnoreItemCreate,
    IgnoreResponseCreate,
    StallMidAudio,
)
from tests.support.simulated import NOISE, FaultyRecorder, faulty, kinds, until_ends, until_seen

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

RUN = ("run:\n  timeouts: {{connect: 2s, first_event: 1s, response: 500ms}}\n"
       "  reconnect: {{backoff_initial: 10ms, backoff_max: 40ms{extra}}}\n")


def graph_yaml(extra: str = "", agent: str = "") -> str:
    return (f"kind: graph\nstart: assistant\n{RUN.format(extra=extra)}---\n"
            f"kind: agent\nname: assistant\ninstructions: You are helpful.\n{agent}")


def create(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "conversation.item.create", "item": item}


NOTE_EVENT = create({"id": NOTE_ID, "type": "message", "role": "system",
                     "content": [{"type": "input_text", "text": NOTE}]})
TOOLS = 'tools:\n  - {entrypoint: "{mod}:pay"}\n'
PAY = """
import anyio
RAN = []

async def pay(amount: int) -> str:
    await anyio.sleep(DELAY)
    RAN.append(amount)
    return f"paid {amount}"
"""
PAY_SCRIPT = """
- match: pay
  actions: [{call: {tool: pay, arguments: {amount: 5}}}]
"""


def ids_of(sim: FaultyRecorder, kind: str) -> list[str]:
    return [e["item"]["id"] for e in sim.emitted_of(kind) if "item" in e]


def item_ids(sim: FaultyRecorder) -> dict[str, str]:
    """Server item ids by role/type, first seen first."""
    out: dict[str, str] = {}
    for event in sim.emitted_of("conversation.item.added"):
        item = event["item"]
        out.setdefault(item.get("role") or item["type"], item["id"])
    return out


async def test_a_drop_after_a_tool_call_turn_replays_user_call_output_reply_and_note(load_graph) -> None:
    graph, module = load_graph(graph_yaml(agent=TOOLS), PAY.replace("DELAY", "0"))
    transport, sim = faulty(Drop(after="response.done", count=2, code=1011), script=PAY_SCRIPT)
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("pay please")
            first = await until_seen(session, "reconnected")
            after = await _turn(session, "thanks")

    ids = item_ids(sim)
    call = sim.emitted_of("response.output_item.done")[0]["item"]
    reconnected = next(e for e in first if e.type == "reconnected")
    assert (reconnected.attempt, reconnected.reason, reconnected.replayed, reconnected.resent,
            reconnected.response_retried, reconnected.sideband_only) == (
        1, "close 1011 (internal server error)",
        {"user": 1, "assistant": 1, "function_call": 1, "function_call_output": 1}, 0, False, False)
    assert reconnected.message == ("reconnected after close 1011 (internal server error) (attempt 1): "
                                   "replayed 2 messages, 1 tool call")
    assert reconnected.to_dict()["type"] == "reconnected"
    second = sim.on_connection(2)
    assert second[0]["type"] == "session.update"
    assert second[0]["session"]["instructions"] == "You are helpful."
    assert [t["name"] for t in second[0]["session"]["tools"]] == ["pay"]
    assert second[1:] == [
        create({"id": ids["user"], "type": "message", "role": "user",
                "content": [{"type": "input_text", "text": "pay please"}]}),
        create({"id": call["id"], "type": "function_call", "call_id": call["call_id"], "name": "pay",
                "arguments": '{"amount": 5}'}),
        create({"id": "rtg_replay_output_1", "type": "function_call_output", "call_id": call["call_id"],
                "output": "paid 5"}),
        create({"id": ids["assistant"], "type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": "pay returned paid 5."}]}),
        NOTE_EVENT,
        create({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "thanks"}]}),
        {"type": "response.create", "event_id": "rtg_response_create_3"},
    ]
    assert module.RAN == [5]
    assert kinds(after) == ["agent_start", "audio_end", "agent_end"]
    assert [(getattr(i, "role", i.type), i.item_id) for i in session.history][:3] == [
        ("user", ids["user"]), ("function_call", call["id"]), ("assistant", ids["assistant"])]
    assert session.history[-1].content == [{"type": "audio", "transcript": "You said: thanks"}]
    assert len(session.history) == 5  # the replay's echoes did not duplicate the history


async def _turn(session, text: str) -> list:
    await session.send_message(text)
    return await until_ends(session)


async def test_a_drop_mid_audio_fails_the_response_cleanly_and_asks_again(load_graph) -> None:
    graph, _ = load_graph(graph_yaml())
    transport, sim = faulty(Drop(after="response.output_audio.delta", count=2, code=1012, reason="service restart"))
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("hello")
            events = await until_ends(session, 2)

    response_id = sim.emitted_of("response.created")[0]["response"]["id"]
    assert kinds(events) == ["agent_start", "error", "audio_interrupted", "agent_end", "reconnected",
                                    "agent_start", "audio_end", "agent_end"]
    error = next(e for e in events if e.type == "error").error
    assert error == {"message": f"response {response_id!r} was interrupted: the realtime connection was lost "
                                "(close 1012 (service restart)); reconnecting", "kind": "response_interrupted"}
    reconnected = next(e for e in events if e.type == "reconnected")
    assert (reconnected.replayed, reconnected.response_retried) == ({"user": 1}, True)
    user = item_ids(sim)["user"]
    assert [e["type"] for e in sim.on_connection(2)] == ["session.update"] + ["conversation.item.create"] * 2 + [
        "response.create"]
    assert sim.on_connection(2)[1:3] == [
        create({"id": user, "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}),
        NOTE_EVENT]
    assert [(i.role, i.content) for i in session.history] == [
        ("user", [{"type": "input_text", "text": "hello"}]),
        ("assistant", [{"type": "audio", "transcript": "You said: hello"}])]


async def test_a_drop_mid_tool_call_keeps_the_tool_output(load_graph) -> None:
    graph, module = load_graph(graph_yaml(agent=TOOLS), PAY.replace("DELAY", "0.3"))
    transport, sim = faulty(Drop(after="response.output_item.done", count=1), script=PAY_SCRIPT)
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("pay please")
            events = await until_ends(session, 2)

    call = sim.emitted_of("response.output_item.done")[0]["item"]
    assert module.RAN == [5]
    assert kinds(events) == ["agent_start", "tool_start", "error", "agent_end", "reconnected", "tool_end",
                                    "agent_start", "audio_end", "agent_end"]
    reconnected = next(e for e in events if e.type == "reconnected")
    assert (reconnected.replayed, reconnected.response_retried) == ({"user": 1, "function_call": 1}, False)
    outputs = [e for e in sim.received_of("conversation.item.create") if e["item"]["type"] == "function_call_output"]
    assert outputs == [create({"type": "function_call_output", "call_id": call["call_id"], "output": "paid 5"})]
    assert sim.on_connection(2)[1:] == [
        create({"id": item_ids(sim)["user"], "type": "message", "role": "user",
                "content": [{"type": "input_text", "text": "pay please"}]}),
        create({"id": call["id"], "type": "function_call", "call_id": call["call_id"], "name": "pay",
                "arguments": '{"amount": 5}'}),
        NOTE_EVENT,
        outputs[0],
        {"type": "response.create", "event_id": "rtg_response_create_2"},
    ]
    assert session.history[-1].content == [{"type": "audio", "transcript": "pay returned paid 5."}]


async def test_session_expired_reconnects_and_the_next_turn_is_answered(load_graph) -> None:
    graph, _ = load_graph(graph_yaml())
    expired = {"type": "invalid_request_error", "code": "session_expired",
               "message": "Your session hit the maximum duration of 60 minutes."}
    transport, sim = faulty(Drop(after="response.done", count=1, code=1000, reason="", error=expired))
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("hello")
            first = await until_seen(session, "reconnected")
            after = await _turn(session, "still there?")

    assert kinds(first) == ["agent_start", "audio_end", "agent_end", "error", "reconnected"]
    assert next(e for e in first if e.type == "reconnected").reason == "session_expired"
    assert kinds(after) == ["agent_start", "audio_end", "agent_end"]
    assert [e["item"].get("role") for e in sim.on_connection(2)[1:4]] == ["user", "assistant", "system"]


async def test_a_fatal_error_ends_the_session_at_once_with_one_message(load_graph) -> None:
    graph, _ = load_graph(graph_yaml())
    quota = {"type": "insufficient_quota", "code": "insufficient_quota",
             "message": "You exceeded your current quota, please check your plan and billing details."}
    transport, sim = faulty(Drop(after="response.created", count=1, code=1000, reason="", error=quota))
    seen = []
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("hello")
            with pytest.raises(TransportError) as caught:
                async for event in session:
                    seen.append(event.type)
    assert type(caught.value) is TransportError
    assert str(caught.value) == ("the realtime server refused the session (insufficient_quota): You exceeded "
                                 "your current quota, please check your plan and billing details.")
    assert sim.connections == 1
    assert "reconnected" not in seen


async def test_a_response_timeout_reconnects_and_the_turn_is_answered(load_graph) -> None:
    graph, _ = load_graph(graph_yaml())
    transport, sim = faulty(IgnoreResponseCreate(times=1))
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("hello")
            events = await until_ends(session)

    assert kinds(events) == ["error", "reconnected", "agent_start", "audio_end", "agent_end"]
    assert events[0].error if events[0].type == "error" else True
    error = next(e for e in events if e.type == "error").error
    assert error == {"message": "no progress on the requested response (no response.created) from the realtime "
                                "server within 0.5s (run.timeouts.response); reconnecting", "kind": "response_timeout"}
    reconnected = next(e for e in events if e.type == "reconnected")
    assert (reconnected.reason, reconnected.response_retried) == ("response_timeout", True)
    assert [e["type"] for e in sim.on_connection(1)] == ["session.update", "conversation.item.create",
                                                        "response.create"]
    assert [e["type"] for e in sim.on_connection(2)] == ["session.update", "conversation.item.create",
                                                        "conversation.item.create", "response.create"]
    assert session.history[-1].content == [{"type": "audio", "transcript": "You said: hello"}]


async def test_a_server_that_keeps_dropping_ends_the_session_after_max_attempts(load_graph) -> None:
    graph, _ = load_graph(graph_yaml(extra=", max_attempts: 2"))
    transport, sim = faulty(Drop(after="session.created", count=1, times=99))
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            with pytest.raises(ConnectionLost) as caught:
                async for _ in session:
                    pass
            with pytest.raises(SessionError) as refused:
                await session.send_message("anyone?")
    assert str(caught.value).startswith("realtime connection lost (close 1011 (internal server error)); gave up "
                                        "after 2 reconnect attempts (last: ")
    assert str(refused.value) == f"the session has ended: {caught.value}"
    assert sim.connections == 3


async def test_the_session_rolls_over_at_max_session_age_at_a_turn_boundary(load_graph) -> None:
    graph, _ = load_graph(graph_yaml(extra=", max_session_age: 300ms"))
    transport, sim = faulty()
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            first = await _turn(session, "hello")
            rolled = await until_seen(session, "reconnected")
            after = await _turn(session, "again")

    assert kinds(first) == ["agent_start", "audio_end", "agent_end"]
    reconnected = next(e for e in rolled if e.type == "reconnected")
    assert (reconnected.reason, reconnected.attempt, reconnected.replayed) == (
        "max_session_age", 1, {"user": 1, "assistant": 1})
    assert kinds(after) == ["agent_start", "audio_end", "agent_end"]
    assert [e["item"].get("role") for e in sim.on_connection(2)[1:4]] == ["user", "assistant", "system"]


async def test_a_call_id_session_reattaches_the_sideband_only(load_graph) -> None:
    graph, _ = load_graph(graph_yaml())
    transport, sim = faulty(Drop(after="response.done", count=1))
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run(call_id="rtc_abc") as session:
            await session.send_message("hello")
            first = await until_seen(session, "reconnected")
            after = await _turn(session, "again")

    reconnected = next(e for e in first if e.type == "reconnected")
    assert (reconnected.sideband_only, reconnected.replayed, reconnected.message) == (
        True, {}, "reconnected after close 1011 (internal server error) (attempt 1): sideband reattached")
    assert [e["type"] for e in sim.on_connection(2)] == ["conversation.item.create", "response.create"]
    assert kinds(after) == ["agent_start", "audio_end", "agent_end"]


async def test_a_reply_cut_short_is_replayed_as_the_part_that_was_heard(load_graph) -> None:
    graph, _ = load_graph(graph_yaml())
    transport, sim = faulty(Drop(after="conversation.item.truncated", count=1), script="""
    - actions: [{say: {text: "One two three four five six seven eight.", audio_ms: 800}}]
    """)
    tracker = PlaybackTracker(reported=True)
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport, playback_tracker=tracker).run() as session:
            turn = await _turn(session, "count")
            audio = next(e for e in turn if e.type == "audio")
            tracker.on_play_ms(audio.item_id, 0, 400)
            await session.interrupt()
            rolled = await until_seen(session, "reconnected")

    assert next(e for e in rolled if e.type == "reconnected").replayed == {"user": 1, "assistant": 1, "truncated": 1}
    assert sim.on_connection(2)[2] == create({"id": audio.item_id, "type": "message", "role": "assistant",
                                              "content": [{"type": "output_text", "text": "One two three four…"}]})


async def test_messages_sent_while_reconnecting_follow_the_replay(load_graph) -> None:
    graph, _ = load_graph(graph_yaml().replace("backoff_initial: 10ms", "backoff_initial: 300ms")
                          .replace("backoff_max: 40ms", "backoff_max: 400ms"))
    transport, sim = faulty(Drop(after="response.done", count=1))
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("hello")
            await until_ends(session)
            await anyio.sleep(0.1)  # the drop is noticed; the reconnect waits for its backoff
            await session.send_message("are you there?")
            events = await until_ends(session)

    reconnected = next(e for e in events if e.type == "reconnected")
    # Held while reconnecting, sent after the replay: the message and the response it asked for.
    assert (reconnected.resent, reconnected.response_retried) == (2, False)
    assert sim.on_connection(2)[1:] == [
        create({"id": item_ids(sim)["user"], "type": "message", "role": "user",
                "content": [{"type": "input_text", "text": "hello"}]}),
        create({"id": item_ids(sim)["assistant"], "type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": "You said: hello"}]}),
        NOTE_EVENT,
        create({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "are you there?"}]}),
        {"type": "response.create", "event_id": "rtg_response_create_2"},
    ]
    assert session.history[-1].content == [{"type": "audio", "transcript": "You said: are you there?"}]


async def test_a_going_away_close_1001_ends_iteration_cleanly_yet_reconnects(load_graph) -> None:
    graph, _ = load_graph(graph_yaml())
    transport, sim = faulty(Drop(after="response.done", count=1, code=1001, reason="going away"))
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("hello")
            first = await until_seen(session, "reconnected")
            after = await _turn(session, "again")
    assert next(e for e in first if e.type == "reconnected").reason == "close 1001"
    assert kinds(after) == ["agent_start", "audio_end", "agent_end"]
    assert sim.connections == 2


async def test_a_drop_before_the_tool_call_was_complete_runs_the_tool_once(load_graph) -> None:
    graph, module = load_graph(graph_yaml(agent=TOOLS), PAY.replace("DELAY", "0"))
    transport, sim = faulty(Drop(after="response.function_call_arguments.done", count=1), script=PAY_SCRIPT)
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("pay please")
            events = await until_ends(session, 3)

    assert len(module.RAN) == 1  # the unfinished call was never run; the retried response called again
    reconnected = next(e for e in events if e.type == "reconnected")
    assert (reconnected.replayed, reconnected.response_retried) == ({"user": 1}, True)
    outputs = [e["item"] for e in sim.received_of("conversation.item.create")
               if e["item"]["type"] == "function_call_output"]
    assert len(outputs) == 1 and outputs[0] in [e.get("item") for e in sim.on_connection(2)]
    assert [getattr(i, "role", i.type) for i in session.history] == ["user", "function_call", "assistant"]
    assert session.history[1].output == f"paid {module.RAN[0]}"


async def test_a_response_stalled_mid_audio_reconnects_and_the_turn_is_answered_again(load_graph) -> None:
    graph, _ = load_graph(graph_yaml())
    transport, _ = faulty(StallMidAudio(after_audio_deltas=1))
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("hello")
            events = await until_ends(session, 2)

    assert kinds(events, NOISE | {"audio_end", "audio_interrupted"}) == [
        "agent_start", "error", "agent_end", "reconnected", "agent_start", "agent_end"]
    assert next(e for e in events if e.type == "error").error["kind"] == "response_timeout"
    assert next(e for e in events if e.type == "reconnected").response_retried
    assert [(i.role, i.status) for i in session.history] == [("user", "completed"), ("assistant", "completed")]
    assert session.history[-1].content == [{"type": "audio", "transcript": "You said: hello"}]


async def test_a_done_for_another_id_reconnects_and_keeps_the_finished_reply(load_graph) -> None:
    graph, _ = load_graph(graph_yaml())
    transport, _ = faulty(DoneForAnotherId())
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("hello")
            events = await until_seen(session, "reconnected")
            after = await _turn(session, "again")

    # The reply item was complete: it is replayed, and the model owes nothing (no second answer).
    reconnected = next(e for e in events if e.type == "reconnected")
    assert (reconnected.reason, reconnected.replayed, reconnected.response_retried) == (
        "response_timeout", {"user": 1, "assistant": 1}, False)
    assert kinds(after) == ["agent_start", "audio_end", "agent_end"]
    assert [i.content[0].get("transcript") or i.content[0].get("text") for i in session.history] == [
        "hello", "You said: hello", "again", "You said: again"]


HANDOFF_GRAPH = f"""
kind: graph
start: triage
{RUN.format(extra="")}---
kind: agent
name: triage
instructions: You route callers.
handoffs: [billing]
---
kind: agent
name: billing
instructions: You handle billing.
"""


async def test_after_a_handoff_the_new_connection_gets_the_current_agents_session(load_graph) -> None:
    graph, _ = load_graph(HANDOFF_GRAPH)
    transport, sim = faulty(Drop(after="response.done", count=2))
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("transfer me to billing")
            first = await until_seen(session, "reconnected")
            after = await _turn(session, "what do I owe?")

    assert "handoff" in kinds(first)
    update = sim.on_connection(2)[0]
    assert update["type"] == "session.update"
    assert update["session"]["instructions"] == "You handle billing."
    assert [i["item"].get("type") for i in sim.on_connection(2)[1:5]] == [
        "message", "function_call", "function_call_output", "message"]
    assert sim.on_connection(2)[3]["item"]["output"] == '{"assistant": "billing"}'
    assert session.current_agent.name == "billing"
    assert kinds(after) == ["agent_start", "audio_end", "agent_end"]
    assert next(e for e in after if e.type == "agent_start").agent.name == "billing"


async def test_an_item_the_old_server_never_acknowledged_is_sent_again(load_graph) -> None:
    graph, _ = load_graph(graph_yaml())
    # "second" never reaches the old server's conversation; its response.create closes the socket.
    transport, sim = faulty(IgnoreItemCreate(times=1), CloseWith(1011, "internal server error"))
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("second")
            events = await until_ends(session)

    reconnected = next(e for e in events if e.type == "reconnected")
    assert (reconnected.replayed, reconnected.resent, reconnected.response_retried) == ({}, 1, True)
    assert sim.on_connection(2)[1:] == [
        NOTE_EVENT,
        create({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "second"}]}),
        {"type": "response.create", "event_id": "rtg_response_create_2"},
    ]
    assert session.history[-1].content == [{"type": "audio", "transcript": "You said: second"}]


class _Refusing(SimulatorTransport):
    """Connects once; every later connect fails the way ``failure`` says (a real refused port, or
    the handshake rejection ``OpenAITransport`` reports for an HTTP status)."""

    def __init__(self, sim: FaultyRecorder, failure: ConnectError) -> None:
        super().__init__(sim)
        self.failure = failure
        self.attempts = 0

    @contextlib.asynccontextmanager
    async def connect(self, request: Any) -> AsyncIterator[Any]:
        self.attempts += 1
        if self.attempts > 1:
            raise self.failure
        async with super().connect(request) as connection:
            yield connection


async def test_a_rejected_key_at_the_reconnect_handshake_ends_the_session_at_once(load_graph) -> None:
    graph, _ = load_graph(graph_yaml())
    sim = FaultyRecorder(faults=(Drop(after="response.done", count=1),))
    rejected = ConnectError("realtime handshake with ws://127.0.0.1/v1/realtime rejected: HTTP 401 (check the "
                            "API key or headers)", status=401)
    transport = _Refusing(sim, rejected)
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("hello")
            with pytest.raises(ConnectError) as caught:
                async for _ in session:
                    pass
    assert caught.value is rejected
    assert transport.attempts == 2


async def test_a_refused_reconnect_is_retried_then_given_up_with_the_last_problem(load_graph) -> None:
    graph, _ = load_graph(graph_yaml(extra=", max_attempts: 3"))
    sim = FaultyRecorder(faults=(Drop(after="response.done", count=1),))
    transport = _Refusing(sim, ConnectError("cannot reach ws://127.0.0.1:9/v1/realtime: Connection refused"))
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("hello")
            with pytest.raises(ConnectionLost) as caught:
                async for _ in session:
                    pass
    assert str(caught.value) == ("realtime connection lost (close 1011 (internal server error)); gave up after 3 "
                                 "reconnect attempts (last: cannot reach ws://127.0.0.1:9/v1/realtime: Connection "
                                 "refused)")
    assert transport.attempts == 4


async def test_a_call_parked_for_approval_survives_a_drop(load_graph) -> None:
    graph, module = load_graph(graph_yaml(agent='tools:\n  - {entrypoint: "{mod}:pay", needs_approval: true}\n'),
                               PAY.replace("DELAY", "0"))
    transport, sim = faulty(Drop(after="response.done", count=1), script=PAY_SCRIPT)
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("pay please")
            parked = await until_seen(session, "tool_approval_required", "reconnected")
            call_id = next(e for e in parked if e.type == "tool_approval_required").call_id
            await session.approve_tool_call(call_id)
            after = await until_ends(session)

    assert module.RAN == [5]
    reconnected = next(e for e in parked if e.type == "reconnected")
    assert (reconnected.replayed, reconnected.response_retried) == ({"user": 1, "function_call": 1}, False)
    assert [e["item"]["type"] for e in sim.on_connection(2)[1:4]] == ["message", "function_call", "message"]
    assert sim.on_connection(2)[4:] == [
        create({"type": "function_call_output", "call_id": call_id, "output": "paid 5"}),
        {"type": "response.create", "event_id": "rtg_response_create_2"}]
    assert kinds(after) == ["tool_start", "tool_end", "agent_start", "audio_end", "agent_end"]
