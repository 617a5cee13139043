"""Keypad digits end to end: the ``dtmf`` event and the agent's declared routes (docs/telephony.md, DTMF).

SIP digits come from the server (the simulator emits ``input_audio_buffer.dtmf_event_received``
where a script says ``dtmf:``); Twilio digits come through ``session.send_dtmf``.
"""

from __future__ import annotations

import pytest

from realtime_graph.runtime import Runner
from tests.support.simulated import events_until, kinds, simulator, until_ends, wire_types

pytestmark = pytest.mark.anyio

MENU = """
kind: graph
start: menu
---
kind: agent
name: menu
instructions: You read the menu.
dtmf:
  "1": {handoff: billing}
  "0": {say: "We are open nine to five."}
  "#": {send: "I want to talk to a person"}
---
kind: agent
name: billing
instructions: You do billing.
"""


def _dtmf(events):
    return [(e.digit, e.source, e.agent.name, e.action) for e in events if e.type == "dtmf"]


async def test_sip_digit_from_the_server_hands_off(load_graph) -> None:
    graph, _ = load_graph(MENU)
    transport, sim = simulator("""
    - actions:
        - say: "Press 1 for billing."
        - dtmf: "1"
    - actions:
        - say: "Billing here."
    """)
    async with Runner(graph, transport=transport).run() as session:
        await session.send_message("hello")
        got = await until_ends(session, 2)
        assert session.current_agent.name == "billing"
    assert _dtmf(got) == [("1", "sip", "menu", "handoff")]
    # The key press cuts the menu prompt short (truncate + cancel), then billing answers.
    assert kinds(got) == ["agent_start", "audio_end", "dtmf", "audio_interrupted", "handoff", "agent_end",
                          "agent_start", "audio_end", "agent_end"]
    handoff = next(e for e in got if e.type == "handoff")
    assert (handoff.from_agent.name, handoff.to_agent.name) == ("menu", "billing")
    assert wire_types(sim) == ["session.update", "conversation.item.create", "response.create",
                               "conversation.item.truncate", "response.cancel", "session.update", "response.create"]
    assert sim.received_of("session.update")[1]["session"]["instructions"] == "You do billing."
    assert sim.emitted_of("input_audio_buffer.dtmf_event_received")[0].keys() == {"type", "event", "received_at"}


async def test_twilio_digit_says_the_declared_text(load_graph) -> None:
    graph, _ = load_graph(MENU)
    transport, sim = simulator()
    async with Runner(graph, transport=transport).run() as session:
        await session.send_dtmf("0")
        got = await until_ends(session)
    assert _dtmf(got) == [("0", "twilio", "menu", "say")]
    assert sim.received_of("response.create")[0] == {"type": "response.create", "event_id": "rtg_response_create_1",
                                                      "response": {
        "instructions": "Say exactly the following, and nothing else: We are open nine to five."}}


async def test_twilio_digit_sends_the_declared_user_turn(load_graph) -> None:
    graph, _ = load_graph(MENU)
    transport, sim = simulator()
    async with Runner(graph, transport=transport).run() as session:
        await session.send_dtmf("#")
        got = await until_ends(session)
    assert _dtmf(got) == [("#", "twilio", "menu", "send")]
    assert wire_types(sim) == ["session.update", "conversation.item.create", "response.create"]
    assert sim.received_of("conversation.item.create")[0]["item"]["content"] == [
        {"type": "input_text", "text": "I want to talk to a person"}]


async def test_digit_without_route_is_reported_only_and_a_bad_digit_is_an_error(load_graph) -> None:
    graph, _ = load_graph(MENU)
    transport, sim = simulator()
    async with Runner(graph, transport=transport).run() as session:
        await session.send_dtmf("7")
        await session.send_dtmf("x")
        got = await events_until(session, lambda e: e.type == "error", timeout=5)
        await session.wait_idle()
    assert _dtmf(got) == [("7", "twilio", "menu", None)]
    error = next(e for e in got if e.type == "error").error
    assert error == {"message": "ignored DTMF 'x' from twilio: not a keypad digit (0-9, *, #, A-D)",
                     "kind": "malformed_dtmf"}
    assert wire_types(sim) == ["session.update"]
    assert next(e for e in got if e.type == "dtmf").to_dict()["agent"] == "menu"


@pytest.mark.parametrize(("action", "message"), [
    ('dtmf: "12x"', "dtmf must be keypad digits (0-9, *, #, A-D), got '12x'"),
    ("dtmf: {digit: 1}", "dtmf must be keypad digits (0-9, *, #, A-D), got {'digit': 1}"),
    ('dtmf: ""', "dtmf must be keypad digits (0-9, *, #, A-D), got ''"),
])
def test_simulator_dtmf_action_errors_are_located(action: str, message: str) -> None:
    from realtime_graph.errors import ConfigError
    from realtime_graph.transports.simulator import parse_script

    with pytest.raises(ConfigError) as info:
        parse_script(f"- actions:\n    - say: hi\n    - {action}\n", filename="s.yaml")
    (issue,) = info.value.issues
    assert (issue.file, issue.line, issue.column, issue.path, issue.message, issue.hint) == (
        "s.yaml", 3, 13, "$[0].actions[1].dtmf", message, 'quote them: dtmf: "1#"')
