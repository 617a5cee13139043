"""End to end: Session → OpenAITransport → real loopback WebSocket → Simulator (default rules)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from openai.types.realtime import RealtimeClientEvent
from pydantic import TypeAdapter

from realtime_graph.runtime import Runner
from realtime_graph.transports.base import ClientEvent, Connection, ConnectRequest, Transport
from realtime_graph.transports.openai import OpenAITransport
from realtime_graph.transports.simulator import Simulator

from runtime.conftest import agent, events_until, graph, handoff, tool

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
_CLIENT = TypeAdapter(RealtimeClientEvent)


class _Tap(Connection):
    """Passes everything through and keeps what the session put on the wire."""

    def __init__(self, inner: Connection, sent: list[ClientEvent]) -> None:
        self._inner, self._sent = inner, sent

    async def send(self, event: ClientEvent) -> None:
        _CLIENT.validate_python(event)
        self._sent.append(event)
        await self._inner.send(event)

    def __aiter__(self):
        return self._inner.__aiter__()

    async def aclose(self) -> None:
        await self._inner.aclose()


class TappedSimulator(Transport):
    def __init__(self) -> None:
        self.sent: list[ClientEvent] = []

    @contextlib.asynccontextmanager
    async def connect(self, request: ConnectRequest) -> AsyncIterator[Connection]:
        async with Simulator().serve() as url:
            async with OpenAITransport(url=url, api_key="test").connect(request) as conn:
                yield _Tap(conn, self.sent)


def weather(city: str) -> str:
    return f"sunny in {city}"


async def test_text_turn_end_to_end() -> None:
    transport = TappedSimulator()
    async with Runner(graph(), transport=transport).run() as session:
        await session.send_message("hello there")
        got = await events_until(session, lambda e: e.type == "agent_end", timeout=10)
    kinds = [e.type for e in got]
    assert kinds[0] == "history_updated" and "agent_start" in kinds and "audio" in kinds
    assert [e["type"] for e in transport.sent] == ["session.update", "conversation.item.create", "response.create"]
    assert "You said: hello there" in str(session.history)


async def test_tool_call_end_to_end() -> None:
    transport = TappedSimulator()
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
    assert [e["type"] for e in transport.sent] == ["session.update", "conversation.item.create", "response.create",
                                                   "conversation.item.create", "response.create"]
    assert transport.sent[3]["item"]["output"] == "sunny in Oslo"


async def test_handoff_end_to_end_keeps_g711() -> None:
    transport = TappedSimulator()
    g = graph(agent("triage", "Triage.", handoffs=[handoff("billing")]), agent("billing", "Billing here."),
              model_settings={"audio": {"input": {"format": {"type": "audio/pcmu"}},
                                        "output": {"format": {"type": "audio/pcmu"}}}})
    async with Runner(g, transport=transport).run() as session:
        await session.send_message("please give me billing")
        got = await events_until(session, lambda e: e.type == "handoff", timeout=10)
    assert got[-1].to_agent.name == "billing"
    updates = [e["session"] for e in transport.sent if e["type"] == "session.update"]
    assert len(updates) == 2
    assert updates[1]["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert updates[1]["audio"]["input"]["format"] == {"type": "audio/pcmu"}
