"""End to end: Session → OpenAITransport → real loopback WebSocket → Simulator (default rules)."""

from __future__ import annotations

import pytest

from realtime_graph.runtime import Runner
from tests.support.builders import agent, events_until, graph, handoff, tool
from tests.support.simulated import check_client_events, simulator

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def weather(city: str) -> str:
    return f"sunny in {city}"


async def test_text_turn_end_to_end() -> None:
    transport, sim = simulator()
    async with Runner(graph(), transport=transport).run() as session:
        await session.send_message("hello there")
        got = await events_until(session, lambda e: e.type == "agent_end", timeout=10)
    kinds = [e.type for e in got]
    assert kinds[0] == "history_updated" and "agent_start" in kinds and "audio" in kinds
    assert [e["type"] for e in sim.received] == ["session.update", "conversation.item.create", "response.create"]
    assert "You said: hello there" in str(session.history)


async def test_tool_call_end_to_end() -> None:
    transport, sim = simulator()
    g = graph(agent(tools=[tool(weather, parameters={
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})]))
    async with Runner(g, transport=transport).run() as session:
        await session.send_message("what is the weather city=Oslo")
        count = 0

        def second_end(e) -> bool:
            nonlocal count
            count += e.type == "agent_end"
            return count == 2
        got = await events_until(session, second_end, timeout=10)
    end = next(e for e in got if e.type == "tool_end")
    assert end.output == "sunny in Oslo"
    assert [e["type"] for e in sim.received] == ["session.update", "conversation.item.create", "response.create",
                                                   "conversation.item.create", "response.create"]
    assert sim.received[3]["item"]["output"] == "sunny in Oslo"


async def test_handoff_end_to_end_keeps_g711() -> None:
    transport, sim = simulator()
    g = graph(agent("triage", "Triage.", handoffs=[handoff("billing")]), agent("billing", "Billing here."),
              model_settings={"audio": {"input": {"format": {"type": "audio/pcmu"}},
                                        "output": {"format": {"type": "audio/pcmu"}}}})
    async with Runner(g, transport=transport).run() as session:
        await session.send_message("please give me billing")
        got = await events_until(session, lambda e: e.type == "handoff", timeout=10)
    assert got[-1].to_agent.name == "billing"
    updates = [e["session"] for e in sim.received if e["type"] == "session.update"]
    assert len(updates) == 2
    assert updates[1]["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert updates[1]["audio"]["input"]["format"] == {"type": "audio/pcmu"}


async def test_every_recorded_client_event_is_strictly_validated() -> None:
    transport, sim = simulator()
    async with Runner(graph(), transport=transport).run() as session:
        await session.send_message("hello there")
        await events_until(session, lambda e: e.type == "agent_end", timeout=10)
    assert check_client_events([sim]) == 3
    sim.received.append({"type": "response.create", "response": {"instructionz": "typo"}})
    with pytest.raises(AssertionError, match="unknown keys at"):
        check_client_events([sim])
    sim.received.pop()
