"""Tool calls: exact wire order, async vs inline, errors, timeouts, unknown tools, approvals, hooks."""

from __future__ import annotations

import json

import anyio
import pytest

from realtime_graph.errors import SessionError
from realtime_graph.graph.model import Hooks, RunSettings, ToolErrorInfo
from realtime_graph.runtime import Runner
from realtime_graph.transports.scripted import ScriptedTransport, Step
from tests.support.builders import (
    agent,
    created,
    done,
    entry,
    events_until,
    function_call,
    graph,
    sent_types,
    tool,
    types,
)

pytestmark = pytest.mark.anyio


def weather(city: str) -> dict:
    return {"city": city, "temp": 21}


async def test_tool_call_exact_client_events_in_order() -> None:
    g = graph(agent(tools=[tool(weather)]))
    transport = ScriptedTransport([
        Step(expect="session.update", emit=[created("r1"), function_call("r1", "c1", "weather", '{"city": "Oslo"}'),
                                            done("r1")]),
        Step(expect={"type": "conversation.item.create", "item": {"type": "function_call_output"}}),
        Step(expect="response.create", emit=[created("r2"), done("r2")]),
    ])
    async with Runner(g, transport=transport).run() as session:
        got = await _until_second_end(session)
    assert transport.sent[1:] == [
        {"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "c1",
                                                      "output": '{"city": "Oslo", "temp": 21}'}},
        {"type": "response.create", "event_id": "rtg_response_create_1"},
    ]
    names = types(got)
    assert names.index("tool_start") < names.index("tool_end")
    end = next(e for e in got if e.type == "tool_end")
    assert end.output == {"city": "Oslo", "temp": 21} and end.call_id == "c1" and end.tool == "weather"
    assert session.history[0].output == '{"city": "Oslo", "temp": 21}'


async def _until_second_end(session):
    count = 0

    def stop(e):
        nonlocal count
        count += e.type == "agent_end"
        return count == 2
    return await events_until(session, stop)


@pytest.mark.parametrize("async_calls", [True, False])
async def test_async_tool_calls_never_block_the_reader(async_calls: bool) -> None:
    release = anyio.Event()

    async def slow() -> str:
        await release.wait()
        return "done"

    g = graph(agent(tools=[tool(slow)]), run=RunSettings(async_tool_calls=async_calls))
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        transport.push(created("r1"), function_call("r1", "c1", "slow"), done("r1"))
        if async_calls:
            got = await events_until(session, lambda e: e.type == "agent_end")
            assert "tool_end" not in types(got)  # the reader went on while the tool ran
            release.set()
            await events_until(session, lambda e: e.type == "tool_end")
        else:
            with anyio.move_on_after(0.2):
                await events_until(session, lambda e: e.type == "agent_end")
                pytest.fail("inline tools must hold the reader")
            release.set()
            await events_until(session, lambda e: e.type == "agent_end")
    assert "function_call_output" in json.dumps(transport.sent)


async def test_sync_tool_runs_in_a_thread_with_context() -> None:
    import threading
    seen = {}

    def whoami(context) -> str:
        seen["thread"] = threading.current_thread() is not threading.main_thread()
        return f"{context.agent}/{context.call_id}/{context.context['user']}"

    g = graph(agent(tools=[tool(whoami, takes_context=True)]))
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run(context={"user": "ann"}) as session:
        transport.push(function_call("r1", "c9", "whoami"))
        await events_until(session, lambda e: e.type == "tool_end")
    assert seen["thread"] is True
    assert transport.sent[1]["item"]["output"] == "assistant/c9/ann"


async def test_exception_and_timeout_become_model_visible_outputs() -> None:
    def broken() -> str:
        raise ValueError("db down")

    async def sleepy() -> str:
        await anyio.sleep(10)
        return "late"

    g = graph(agent(tools=[tool(broken), tool(sleepy, timeout=0.05)]))
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        transport.push(function_call("r1", "c1", "broken"), function_call("r1", "c2", "sleepy"))
        ended = set()
        got = await events_until(session, lambda e: e.type == "tool_end" and ended.add(e.tool) is None
                                 and ended == {"broken", "sleepy"})
    outputs = {e["item"]["call_id"]: e["item"]["output"] for e in transport.sent
               if e["type"] == "conversation.item.create"}
    assert outputs == {"c1": "An error occurred while running the tool 'broken': ValueError: db down",
                       "c2": "Tool 'sleepy' timed out after 0.05 seconds."}
    errors = [e.error for e in got if e.type == "error"]
    assert {e["kind"] for e in errors} == {"exception", "timeout"}


async def test_tool_error_formatter_and_invalid_json() -> None:
    infos: list[ToolErrorInfo] = []

    def fmt(info: ToolErrorInfo) -> str | None:
        infos.append(info)
        return None if info.kind == "invalid_arguments" else f"[{info.kind}] {info.tool_name}"

    def broken() -> str:
        raise RuntimeError("x")

    g = graph(agent(tools=[tool(broken), tool(weather)]), run=RunSettings(tool_error_formatter=entry(fmt)))
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        transport.push(function_call("r1", "c1", "broken"), function_call("r1", "c2", "weather", "{not json"))
        ended = set()
        await events_until(session, lambda e: e.type == "tool_end" and ended.add(e.tool) is None
                           and ended == {"broken", "weather"})
    outputs = [e["item"]["output"] for e in transport.sent if e["type"] == "conversation.item.create"]
    assert "[exception] broken" in outputs
    assert any(o.startswith("Invalid JSON arguments for tool 'weather'") for o in outputs)


async def test_unknown_tool_gets_output_and_response_create() -> None:
    transport = ScriptedTransport([
        Step(expect="session.update", emit=[created("r1"), function_call("r1", "c1", "nope"), done("r1")]),
        Step(expect={"item": {"type": "function_call_output", "call_id": "c1", "output": "Tool nope not found"}}),
        Step(expect="response.create"),
    ])
    async with Runner(graph(), transport=transport).run() as session:
        got = await events_until(session, lambda e: e.type == "error")
        await anyio.wait_all_tasks_blocked()
    assert got[-1].error["message"] == "Tool nope not found"
    assert sent_types(transport)[-1] == "response.create"


async def test_duplicate_call_ids_run_once() -> None:
    calls = []

    def count() -> str:
        calls.append(1)
        return "ok"

    transport = ScriptedTransport(strict=False)
    async with Runner(graph(agent(tools=[tool(count)])), transport=transport).run() as session:
        transport.push(function_call("r1", "c1", "count"), function_call("r1", "c1", "count"))
        await events_until(session, lambda e: e.type == "tool_end")
        await anyio.wait_all_tasks_blocked()
    assert calls == [1]


async def test_approval_once_always_and_reject() -> None:
    ran = []

    def pay(amount: int) -> str:
        ran.append(amount)
        return "paid"

    def fmt(info: ToolErrorInfo) -> str:
        return f"refused {info.tool_name}" if info.kind == "approval_rejected" else None

    g = graph(agent(tools=[tool(pay, needs_approval=True)]), run=RunSettings(tool_error_formatter=entry(fmt)))
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        transport.push(function_call("r1", "c1", "pay", '{"amount": 1}'))
        got = await events_until(session, lambda e: e.type == "tool_approval_required")
        assert got[-1].call_id == "c1" and got[-1].arguments == '{"amount": 1}'
        assert not session.is_idle
        await session.approve_tool_call("c1")
        await events_until(session, lambda e: e.type == "tool_end")
        transport.push(function_call("r2", "c2", "pay", '{"amount": 2}'))
        await events_until(session, lambda e: e.type == "tool_approval_required")
        await session.reject_tool_call("c2", always=True)
        end = (await events_until(session, lambda e: e.type == "tool_end"))[-1]
        assert end.output == "refused pay"
        transport.push(function_call("r3", "c3", "pay", '{"amount": 3}'))  # sticky rejection
        end = (await events_until(session, lambda e: e.type == "tool_end"))[-1]
        assert end.output == "refused pay"
        with pytest.raises(SessionError, match="no tool call 'c9' is waiting for approval"):
            await session.approve_tool_call("c9")
    assert ran == [1]


async def test_reject_with_explicit_message_and_default_text() -> None:
    def pay() -> str:
        return "paid"

    g = graph(agent(tools=[tool(pay, needs_approval=True)]))
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        transport.push(function_call("r1", "c1", "pay"), function_call("r1", "c2", "pay"))
        await events_until(session, lambda e: e.type == "tool_approval_required" and e.call_id == "c2")
        await session.reject_tool_call("c1", message="not today")
        await session.reject_tool_call("c2")
    outputs = [e["item"]["output"] for e in transport.sent if e["type"] == "conversation.item.create"]
    assert outputs == ["not today", "Tool execution was not approved."]


async def test_approval_always_runs_later_calls_directly_and_entrypoint_check() -> None:
    def pay(amount: int) -> str:
        return f"paid {amount}"

    def big(arguments: dict, context) -> bool:
        return arguments["amount"] > 10

    g = graph(agent(tools=[tool(pay, needs_approval=entry(big))]))
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        transport.push(function_call("r1", "c1", "pay", '{"amount": 5}'))
        got = await events_until(session, lambda e: e.type == "tool_end")
        assert "tool_approval_required" not in types(got)
        transport.push(function_call("r2", "c2", "pay", '{"amount": 50}'))
        await events_until(session, lambda e: e.type == "tool_approval_required")
        await session.approve_tool_call("c2", always=True)
        await events_until(session, lambda e: e.type == "tool_end")
        transport.push(function_call("r3", "c3", "pay", '{"amount": 99}'))
        got = await events_until(session, lambda e: e.type == "tool_end")
        assert "tool_approval_required" not in types(got)


async def test_hooks_are_called_and_failures_are_error_events() -> None:
    calls: list[str] = []

    def on_event(event) -> None:
        calls.append(event.type)

    async def boom(event) -> None:
        raise RuntimeError("hook broke")

    hooks = Hooks(on_agent_start=entry(on_event), on_agent_end=entry(on_event), on_tool_start=entry(on_event),
                  on_tool_end=entry(on_event))
    g = graph(agent(tools=[tool(weather)], hooks=Hooks(on_tool_end=entry(boom))), hooks=hooks)
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        transport.push(created("r1"), function_call("r1", "c1", "weather", '{"city": "x"}'), done("r1"))
        got = await events_until(session, lambda e: e.type == "error")
        await anyio.wait_all_tasks_blocked()
    assert sorted(calls) == sorted(["agent_start", "agent_end", "tool_start", "tool_end"])
    assert "hook on_tool_end (tests:boom) failed: RuntimeError: hook broke" in got[-1].error["message"]
