"""Hooks declared in YAML are called end to end (the SDK declares them and never calls them)."""

from __future__ import annotations

from collections import Counter

import anyio
import pytest

from realtime_graph.runtime import Runner
from tests.support.simulated import simulator, until_ends, wire_types

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CODE = """
LOG = []

def get_weather(city: str) -> str:
    return f"sunny in {city}"

def graph_hook(event):              # sync: runs in a worker thread
    LOG.append(("graph", event))

async def agent_hook(event):        # async: awaited
    LOG.append(("agent", event))

def on_billing(context):
    LOG.append(("on_handoff", context.agent, context.tool_name))
"""

GRAPH = """
kind: graph
start: triage
hooks: {on_handoff: "{mod}:graph_hook", on_tool_end: "{mod}:graph_hook"}
---
kind: agent
name: triage
instructions: Triage.
tools: [{entrypoint: "{mod}:get_weather"}]
handoffs: [{agent: billing, on_handoff: "{mod}:on_billing"}]
hooks:
  on_agent_start: "{mod}:agent_hook"
  on_agent_end: "{mod}:agent_hook"
  on_tool_start: "{mod}:agent_hook"
  on_tool_end: "{mod}:agent_hook"
---
kind: agent
name: billing
instructions: Billing here.
hooks: {on_agent_start: "{mod}:agent_hook"}
"""

SCRIPT = """
- match: weather
  actions: [{call: {tool: get_weather, arguments: {city: Oslo}}}]
- match: billing
  actions: [{handoff: {agent: billing}}]
"""


def _describe(event) -> tuple[str, str]:
    if event.type == "handoff":
        return event.type, f"{event.from_agent.name}->{event.to_agent.name}"
    if event.type.startswith("tool_"):
        return event.type, f"{event.agent.name}:{event.tool}"
    return event.type, event.agent.name


async def test_yaml_hooks_are_called_with_the_session_events(load_graph) -> None:
    graph, mod = load_graph(GRAPH, CODE)
    transport, sim = simulator(SCRIPT)
    expected = Counter({
        ("agent", "agent_start", "triage"): 3,        # the weather call, its answer, the handoff call
        ("agent", "agent_end", "triage"): 3,
        ("agent", "tool_start", "triage:get_weather"): 1,
        ("agent", "tool_end", "triage:get_weather"): 1,
        ("graph", "tool_end", "triage:get_weather"): 1,
        ("graph", "handoff", "triage->billing"): 1,
        ("agent", "agent_start", "billing"): 1,       # billing has no on_agent_end: not called
    })
    async with Runner(graph, transport=transport).run() as session:
        await session.send_message("weather in Oslo")
        got = await until_ends(session, 2)
        await session.send_message("billing please")
        got += await until_ends(session, 2)
        await session.wait_idle()
        with anyio.fail_after(3):  # agent start/end hooks run as tasks: let the last ones finish
            while len(mod.LOG) < sum(expected.values()) + 1:
                await anyio.sleep(0.01)

    handoff_calls = [entry for entry in mod.LOG if entry[0] == "on_handoff"]
    assert handoff_calls == [("on_handoff", "triage", "transfer_to_billing")]
    hooked = [entry for entry in mod.LOG if entry[0] != "on_handoff"]
    assert Counter((who, *_describe(event)) for who, event in hooked) == expected
    # Each hook got the very event the session yielded, not a copy.
    yielded = {id(e) for e in got}
    assert all(id(event) in yielded for _, event in hooked)
    # Within one tool call, start before end; graph hooks before the agent's.
    order = [(who, event.type) for who, event in hooked if event.type.startswith("tool_")]
    assert order == [("agent", "tool_start"), ("graph", "tool_end"), ("agent", "tool_end")]
    assert session.current_agent.name == "billing"
    assert wire_types(sim) == ["session.update",
                               "conversation.item.create", "response.create",      # weather
                               "conversation.item.create", "response.create",      # tool output
                               "conversation.item.create", "response.create",      # billing
                               "session.update",                                   # handoff
                               "conversation.item.create", "response.create"]      # handoff output
