"""Reconnect where other features meet it: dynamic instructions and handoff ``enabled`` after a
handoff, the greeting, and the cassette with its redaction, through the real ``OpenAITransport``
on loopback (client events recorded on the simulator's side, per connection). A hangup and
reconnects: tests/telephony/test_sip_call_control.py."""

from __future__ import annotations

import json

import anyio
import pytest
import yaml

from realtime_graph.runtime import Runner
from realtime_graph.scenarios.cassettes import scenario_from_cassette
from realtime_graph.transports.recording import RecordingTransport
from realtime_graph.transports.simulator.faults import Drop
from tests.support.simulated import faulty, kinds, until_ends, until_seen

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

GRAPH = """
kind: graph
start: triage
greeting: Greet the caller.
run:
  timeouts: {connect: 2s, first_event: 1s, response: 500ms}
  reconnect: {backoff_initial: 10ms, backoff_max: 40ms}
---
kind: agent
name: triage
instructions: Triage.
handoffs: [billing]
---
kind: agent
name: billing
instructions: {entrypoint: "{mod}:billing"}
handoffs:
  - {agent: triage, enabled: "{mod}:back_allowed"}
"""
CODE = """
UPDATES = []

def billing(context, agent):
    UPDATES.append(context.agent)
    return f"Billing, update {len(UPDATES)}."

def back_allowed(context, agent):  # off on the first update of billing, on from the second
    return len(UPDATES) > 1
"""
SCRIPT = """
- actions: [{say: "Hello, how can I help?"}]
- match: bill
  actions: [{call: {tool: transfer_to_billing}}]
- actions: [{say: Billing here.}]
- match: back
  actions: [{call: {tool: transfer_to_triage}}]
- actions: [{say: Triage again.}]
"""


async def test_a_reconnect_after_a_handoff_sends_the_evaluated_instructions_and_no_greeting(load_graph) -> None:
    graph, module = load_graph(GRAPH, CODE)
    transport, sim = faulty(Drop(after="response.done", count=3, code=1012, reason="service restart"), script=SCRIPT)
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await until_ends(session)  # the greeting
            await session.send_message("bill me")
            events = await until_seen(session, "reconnected")
            assert session.current_agent.name == "billing"
            back = await _turn(session, "back please", ends=2)

    assert handoffs(events) == [("triage", "billing")] and "error" not in kinds(events)
    first, second = sim.on_connection(1), sim.on_connection(2)
    updates = [e["session"] for e in first if e["type"] == "session.update"]
    assert [(u["instructions"], [t["name"] for t in u["tools"]]) for u in updates] == [
        ("Triage.", ["transfer_to_billing"]), ("Billing, update 1.", [])]
    # the new connection: billing's instructions evaluated again, its handoff asked again
    assert second[0]["type"] == "session.update"
    assert (second[0]["session"]["instructions"], [t["name"] for t in second[0]["session"]["tools"]]) == (
        "Billing, update 2.", ["transfer_to_triage"])
    # the greeting was the first connection's first response only: the replay note says carry on
    greetings = [e for e in sim.received_of("response.create") if e.get("response", {}).get("instructions")]
    assert greetings == [{"type": "response.create", "response": {"instructions": "Greet the caller."},
                          "event_id": "rtg_response_create_1"}]
    assert [e["type"] for e in second].count("response.create") == 2  # "back please", then after the handoff
    assert module.UPDATES == ["billing", "billing"]
    # offered on the new connection, so callable: the handoff back goes through
    assert handoffs(back) == [("billing", "triage")] and "error" not in kinds(back)
    assert session.current_agent.name == "triage"


async def test_a_drop_mid_greeting_does_not_greet_again(load_graph) -> None:
    """Decided: the greeting is the session's first response only. A drop cuts it where it was
    heard; the replay note tells the model to carry on, and the next answer is the user's."""
    graph, _ = load_graph(GRAPH, CODE)
    transport, sim = faulty(Drop(after="response.output_audio.delta", count=1, code=1012), script=SCRIPT)
    with anyio.fail_after(10):
        async with Runner(graph, transport=transport).run() as session:
            await until_seen(session, "reconnected")
            await _turn(session, "bill me", ends=2)
    greetings = [e for e in sim.received_of("response.create") if e.get("response", {}).get("instructions")]
    assert len(greetings) == 1 and sim.on_connection(1)[1] == greetings[0]
    second = sim.on_connection(2)
    user = next(i for i, e in enumerate(second) if e["type"] == "conversation.item.create"
                and e["item"].get("role") == "user")
    first_response = next(i for i, e in enumerate(second) if e["type"] == "response.create")
    assert second[user]["item"]["content"] == [{"type": "input_text", "text": "bill me"}]
    assert first_response > user  # nothing asked for before the user spoke
    assert session.current_agent.name == "billing"


def handoffs(events: list) -> list[tuple[str, str]]:
    return [(e.from_agent.name, e.to_agent.name) for e in events if e.type == "handoff"]


async def _turn(session, text: str, *, ends: int = 1) -> list:
    await session.send_message(text)
    return await until_ends(session, ends)


SECRET = "sk-live-0123456789abcdef"
SECRET_GRAPH = """
kind: graph
start: helper
variables:
  api_key: {default: "${SHOP_API_KEY}"}
run:
  reconnect: {backoff_initial: 10ms, backoff_max: 40ms}
---
kind: agent
name: helper
instructions: "Call the shop with key {{ api_key }}."
"""


async def test_a_reconnected_session_keeps_recording_the_same_cassette_redacted(
        load_graph, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SHOP_API_KEY", SECRET)
    graph, _ = load_graph(SECRET_GRAPH)
    inner, sim = faulty(Drop(after="response.done", count=1, code=1011))
    cassette = tmp_path / "call.jsonl"
    with anyio.fail_after(10):
        async with Runner(graph, transport=RecordingTransport(inner, cassette)).run() as session:
            await session.send_message("hello")
            await until_seen(session, "reconnected")
            await _turn(session, "again")

    assert sim.connections == 2
    assert sim.on_connection(2)[0]["session"]["instructions"] == f"Call the shop with key {SECRET}."
    text = cassette.read_text(encoding="utf-8")
    assert SECRET not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line.get("cassette") for line in lines].count(1) == 1  # one header: one session, both connections
    times = [line["t"] for line in lines[1:]]
    assert times == sorted(times)  # one clock
    client = [line["event"] for line in lines[1:] if line["dir"] == "client"]
    updates = [e["session"]["instructions"] for e in client if e["type"] == "session.update"]
    assert updates == ["Call the shop with key [redacted:api_key]."] * 2
    assert sum(e["type"] == "session.created" for e in (line["event"] for line in lines[1:])) == 2
    # converted to a scenario, the replayed "hello" is not a turn of its own
    scenario = yaml.safe_load(scenario_from_cassette(cassette))
    assert [t["user"] for t in scenario["turns"]] == ["hello", "again"]
