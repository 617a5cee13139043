"""Tool calls end to end: approval (once, rejected, sticky), errors, timeouts, unknown tools."""

from __future__ import annotations

import pytest

from realtime_graph.runtime import Runner
from tests.support.simulated import concurrent_turn, kinds, simulator, until_ends, until_seen, wire_types

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CODE = """
import anyio

RAN = []

def pay(amount: int) -> str:
    RAN.append(amount)
    return f"paid {amount}"

def boom() -> str:
    raise ValueError("kaput")

async def slow() -> str:
    await anyio.sleep(30)
    return "never"

def fmt(info):
    if info.kind == "unknown_tool":
        return None
    return f"[{info.kind}] {info.tool_name}: {info.default_message}"
"""

GRAPH = """
kind: graph
start: assistant
{run}
---
kind: agent
name: assistant
instructions: You are helpful.
tools:
  - {entrypoint: "{mod}:pay", needs_approval: true}
  - {entrypoint: "{mod}:boom"}
  - {entrypoint: "{mod}:slow", timeout: 100ms}
"""

# Turns are used in order when they match the latest user text; the answers to tool outputs come
# from the simulator's default rule ("<tool> returned <output>.").
PAY_SCRIPT = """
- match: first
  actions: [{call: {tool: pay, arguments: {amount: 5}}}]
- match: second
  actions: [{call: {tool: pay, arguments: {amount: 6}}}]
- match: third
  actions: [{call: {tool: pay, arguments: {amount: 7}}}]
"""

QUIET = frozenset({"raw_model_event", "history_added", "history_updated", "audio", "audio_end"})


def _outputs(sim) -> list[str]:
    return [e["item"]["output"] for e in sim.received_of("conversation.item.create")
            if e["item"]["type"] == "function_call_output"]


def _call_ids(sim) -> list[str]:
    return [e["item"]["call_id"] for _, e in sim.emitted if e["type"] == "response.output_item.done"
            and e["item"]["type"] == "function_call"]


async def test_approve_once_then_always_is_sticky(load_graph) -> None:
    graph, mod = load_graph(GRAPH.replace("{run}", ""), CODE)
    transport, sim = simulator(PAY_SCRIPT)
    async with Runner(graph, transport=transport).run() as session:
        await session.send_message("pay the first bill")
        first = await until_seen(session, "tool_approval_required", "agent_end")
        ask = next(e for e in first if e.type == "tool_approval_required")
        assert (ask.tool, ask.arguments, ask.agent.name) == ("pay", '{"amount": 5}', "assistant")
        assert mod.RAN == []  # parked: nothing runs before the decision
        assert wire_types(sim) == ["session.update", "conversation.item.create", "response.create"]
        await session.approve_tool_call(ask.call_id)
        once = await until_ends(session)  # the answer to the tool output

        await session.send_message("pay the second bill")
        second = await until_seen(session, "tool_approval_required", "agent_end")
        ask2 = next(e for e in second if e.type == "tool_approval_required")
        await session.approve_tool_call(ask2.call_id, always=True)
        always = await until_ends(session)

        await session.send_message("pay the third bill")
        sticky = await until_ends(session, 2)
        await session.wait_idle()

    assert mod.RAN == [5, 6, 7]
    asked = ["tool_approval_required"]
    assert concurrent_turn(kinds(first, QUIET), ["agent_start", "agent_end"], asked)
    assert concurrent_turn(kinds(second, QUIET), ["agent_start", "agent_end"], asked)
    assert kinds(once, QUIET) == ["tool_start", "tool_end", "agent_start", "agent_end"]
    assert kinds(always, QUIET) == ["tool_start", "tool_end", "agent_start", "agent_end"]
    # always=True: the third call runs without asking.
    assert concurrent_turn(kinds(sticky, QUIET), ["agent_start", "agent_end"], ["tool_start", "tool_end"],
                           ["agent_start", "agent_end"]), kinds(sticky, QUIET)
    assert [e.output for e in once + always + sticky if e.type == "tool_end"] == ["paid 5", "paid 6", "paid 7"]
    calls = _call_ids(sim)
    assert [ask.call_id, ask2.call_id] == calls[:2]
    assert wire_types(sim) == ["session.update"] + [
        "conversation.item.create", "response.create",          # user message
        "conversation.item.create", "response.create"] * 3      # function_call_output + answer
    outputs = [e for e in sim.received_of("conversation.item.create") if e["item"]["type"] == "function_call_output"]
    assert [e["item"] for e in outputs] == [
        {"type": "function_call_output", "call_id": call_id, "output": f"paid {n}"}
        for call_id, n in zip(calls, (5, 6, 7), strict=True)]
    assert sim.emitted_of("error") == []


async def test_reject_with_message_tells_the_model(load_graph) -> None:
    graph, mod = load_graph(GRAPH.replace("{run}", ""), CODE)
    transport, sim = simulator(PAY_SCRIPT)
    async with Runner(graph, transport=transport).run() as session:
        await session.send_message("pay the first bill")
        asked = await until_seen(session, "tool_approval_required", "agent_end")
        call_id = next(e for e in asked if e.type == "tool_approval_required").call_id
        await session.reject_tool_call(call_id, message="The user declined the payment.")
        got = await until_ends(session)
        await session.wait_idle()

    assert mod.RAN == []
    assert kinds(got, QUIET) == ["tool_end", "agent_start", "agent_end"]  # no tool_start: it never ran
    end = got[[e.type for e in got].index("tool_end")]
    assert (end.tool, end.call_id, end.output) == ("pay", call_id, "The user declined the payment.")
    assert wire_types(sim) == ["session.update", "conversation.item.create", "response.create",
                               "conversation.item.create", "response.create"]
    assert sim.received[3]["item"] == {"type": "function_call_output", "call_id": call_id,
                                       "output": "The user declined the payment."}
    # The model's next answer saw the rejection text (the simulator's default rule echoes outputs).
    assert session.history[-1].content == [
        {"type": "audio", "transcript": "pay returned The user declined the payment."}]
    assert sim.emitted_of("error") == []


ERROR_SCRIPT = """
- match: boom
  actions: [{call: {tool: boom}}]
- match: slow
  actions: [{call: {tool: slow}}]
"""


async def test_exception_and_timeout_become_formatted_outputs(load_graph) -> None:
    graph, _ = load_graph(GRAPH.replace("{run}", 'run: {tool_error_formatter: "{mod}:fmt"}'), CODE)
    transport, sim = simulator(ERROR_SCRIPT)
    async with Runner(graph, transport=transport).run() as session:
        await session.send_message("boom please")
        failed = await until_ends(session, 2)
        await session.send_message("slow please")
        timed_out = await until_ends(session, 2, timeout=5)
        await session.wait_idle()

    calls = _call_ids(sim)
    boom_text = "[exception] boom: An error occurred while running the tool 'boom': ValueError: kaput"
    slow_text = "[timeout] slow: Tool 'slow' timed out after 0.1 seconds."
    for got in (failed, timed_out):
        assert concurrent_turn(kinds(got, QUIET), ["agent_start", "agent_end"],
                               ["tool_start", "error", "tool_end"], ["agent_start", "agent_end"]), kinds(got, QUIET)
    error = next(e for e in failed if e.type == "error").error
    assert error == {"message": "An error occurred while running the tool 'boom': ValueError: kaput",
                     "kind": "exception", "tool": "boom", "call_id": calls[0]}
    assert next(e for e in failed if e.type == "tool_end").output == boom_text
    error = next(e for e in timed_out if e.type == "error").error
    assert error == {"message": "Tool 'slow' timed out after 0.1 seconds.", "kind": "timeout",
                     "tool": "slow", "call_id": calls[1]}
    assert next(e for e in timed_out if e.type == "tool_end").output == slow_text
    assert wire_types(sim) == ["session.update"] + ["conversation.item.create", "response.create"] * 4
    assert _outputs(sim) == [boom_text, slow_text]
    assert sim.emitted_of("error") == []


async def test_unknown_tool_gets_an_output_and_a_response(load_graph) -> None:
    graph, _ = load_graph(GRAPH.replace("{run}", 'run: {tool_error_formatter: "{mod}:fmt"}'), CODE)
    transport, sim = simulator("""
    - actions: [{call: {tool: lookup_order, arguments: {id: 7}}}]
    """)
    async with Runner(graph, transport=transport).run() as session:
        await session.send_message("where is my order")
        got = await until_ends(session, 2)
        await session.wait_idle()

    (call_id,) = _call_ids(sim)
    # Not a tool: no tool_start/tool_end, but the model is answered and asked to go on.
    assert concurrent_turn(kinds(got, QUIET), ["agent_start", "agent_end"], ["error"],
                           ["agent_start", "agent_end"]), kinds(got, QUIET)
    assert next(e for e in got if e.type == "error").error == {
        "message": "Tool lookup_order not found", "kind": "unknown_tool", "tool": "lookup_order",
        "call_id": call_id, "agent": "assistant"}
    assert wire_types(sim) == ["session.update", "conversation.item.create", "response.create",
                               "conversation.item.create", "response.create"]
    assert sim.received[3]["item"] == {"type": "function_call_output", "call_id": call_id,
                                       "output": "Tool lookup_order not found"}
    assert sim.received[4]["type"] == "response.create"
    assert "lookup_order returned Tool lookup_order not found." in str(session.history[-1].content)
