"""What the session does when user code, the graph or the caller misbehaves: every failure is an
``error`` event or a model-visible output, and the session goes on."""

from __future__ import annotations

import anyio
import pytest

from realtime_graph.graph.model import Guardrail, RunSettings, ToolErrorInfo, Variable
from realtime_graph.runtime import Runner
from realtime_graph.transports.scripted import ScriptedTransport
from tests.support.builders import (
    agent,
    created,
    done,
    entry,
    events_until,
    function_call,
    graph,
    handoff,
    message_added,
    tool,
    transcript,
    transcript_done,
    types,
)

pytestmark = pytest.mark.anyio


def outputs(transport: ScriptedTransport) -> list[str]:
    return [e["item"]["output"] for e in transport.sent
            if e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"]


def weather(city: str) -> str:
    return f"sunny in {city}"


async def test_two_concurrent_wait_idle_callers_both_return() -> None:
    transport = ScriptedTransport(strict=False)
    returned: list[str] = []
    async with Runner(graph(), transport=transport).run() as session:

        async def slow_consumer() -> None:
            async for _ in session:
                await anyio.sleep(0.02)

        async def wait(name: str) -> None:
            await session.wait_idle()
            returned.append(name)

        async with anyio.create_task_group() as tg:
            tg.start_soon(slow_consumer)
            transport.push(created("r1"), done("r1"))
            await anyio.sleep(0.005)  # the reader is done; the consumer is still events behind
            with anyio.fail_after(2):
                async with anyio.create_task_group() as waiters:
                    waiters.start_soon(wait, "a")
                    waiters.start_soon(wait, "b")
            tg.cancel_scope.cancel()
    assert sorted(returned) == ["a", "b"]


async def test_a_hot_reload_changes_the_guardrail_debounce() -> None:
    seen: list[str] = []

    def check(text: str, context: object) -> bool:
        seen.append(text)
        return False

    watcher = Guardrail(name="watch", entrypoint=entry(check))
    before = graph(agent(guardrails=[watcher]), run=RunSettings(guardrail_debounce_text_length=1000))
    after = graph(agent(guardrails=[watcher]), version="v2", run=RunSettings(guardrail_debounce_text_length=5))
    transport = ScriptedTransport(strict=False)
    async with Runner(before, transport=transport).run() as session:
        session.update_graph(after)
        await events_until(session, lambda e: e.type == "graph_updated")
        transport.push(created("r1"), message_added("r1", "i1"), transcript("r1", "i1", "twelve chars"))
        await events_until(session, lambda e: e.type == "agent_start")
        await anyio.wait_all_tasks_blocked()
    assert seen == ["twelve chars"]  # checked mid-stream at the new 5-character threshold


async def test_malformed_arguments_never_ask_for_approval() -> None:
    asked: list[object] = []

    def ask(arguments: dict, context: object) -> bool:
        asked.append(arguments)
        return True

    g = graph(agent(tools=[tool(weather, needs_approval=entry(ask))]))
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        transport.push(created("r1"), function_call("r1", "c1", "weather", "{not json"), done("r1"))
        got = await events_until(session, lambda e: e.type == "tool_end")
    assert "tool_approval_required" not in types(got)
    assert asked == []
    assert outputs(transport) == ["Invalid JSON arguments for tool 'weather': Expecting property name "
                                  "enclosed in double quotes at position 1."]


async def test_a_failing_approval_check_fails_closed() -> None:
    def broken(arguments: dict, context: object) -> bool:
        raise LookupError("policy service down")

    g = graph(agent(tools=[tool(weather, needs_approval=entry(broken))]))
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        transport.push(created("r1"), function_call("r1", "c1", "weather", '{"city": "Oslo"}'), done("r1"))
        got = await events_until(session, lambda e: e.type == "tool_approval_required")
    [error] = [e for e in got if e.type == "error"]
    assert error.error["message"] == ("needs_approval check for tool 'weather' failed "
                                      "(LookupError: policy service down); asking for approval")


async def test_a_failing_on_handoff_keeps_the_agent_and_tells_the_model() -> None:
    def refuse(context: object) -> None:
        raise PermissionError("billing is closed")

    g = graph(agent(handoffs=[handoff("billing", refuse)]), agent("billing"))
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        transport.push(created("r1"), function_call("r1", "c1", "transfer_to_billing"), done("r1"))
        got = await events_until(session, lambda e: e.type == "error")
        await anyio.wait_all_tasks_blocked()
        assert session.current_agent.name == "assistant"
    assert "handoff" not in types(got)
    assert got[-1].error == {"message": "handoff to 'billing' failed: PermissionError: billing is closed",
                             "call_id": "c1"}
    assert outputs(transport) == ["Handoff to billing failed."]
    assert [e["type"] for e in transport.sent][-2:] == ["conversation.item.create", "response.create"]


async def test_a_reload_that_cannot_render_is_not_applied() -> None:
    needs_name = graph(agent(instructions="Hello {{ name }}."), version="v2",
                       variables={"name": Variable("name", required=True)})
    transport = ScriptedTransport(strict=False)
    async with Runner(graph(), transport=transport).run() as session:
        session.update_graph(needs_name)
        got = await events_until(session, lambda e: e.type == "error")
        assert session.graph.version == "v1"
    assert got[-1].error["message"].startswith("graph v2 not applied: required variable 'name' has no value")
    assert [e["type"] for e in transport.sent] == ["session.update"]  # only the initial one


async def test_a_raising_guardrail_is_reported_and_skipped() -> None:
    def broken(text: str, context: object) -> bool:
        raise ValueError("model offline")

    g = graph(agent(guardrails=[Guardrail(name="moderation", entrypoint=entry(broken))]))
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        transport.push(created("r1"), message_added("r1", "i1"), transcript("r1", "i1", "hi"),
                       transcript_done("r1", "i1", "hi"), done("r1"))
        got = await events_until(session, lambda e: e.type == "error")
    assert got[-1].error == {"message": "guardrail 'moderation' failed: ValueError: model offline"}
    assert "guardrail_tripped" not in types(got)


@pytest.mark.parametrize(("formatter_result", "problem"), [
    (RuntimeError("formatter bug"), "tool_error_formatter failed: RuntimeError: formatter bug"),
    (42, "tool_error_formatter returned int, not str"),
])
async def test_a_misbehaving_error_formatter_falls_back_to_the_default_text(
        formatter_result: object, problem: str) -> None:
    def fmt(info: ToolErrorInfo) -> object:
        if isinstance(formatter_result, BaseException):
            raise formatter_result
        return formatter_result

    g = graph(agent(), run=RunSettings(tool_error_formatter=entry(fmt)))
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        transport.push(created("r1"), function_call("r1", "c1", "nope"), done("r1"))
        got = await events_until(session, lambda e: e.type == "error" and "formatter" in e.error["message"])
    assert got[-1].error["message"] == problem
    assert outputs(transport) == ["Tool nope not found"]


async def test_deleted_items_and_idle_timeouts_reach_the_caller() -> None:
    transport = ScriptedTransport(strict=False)
    async with Runner(graph(), transport=transport).run() as session:
        transport.push(created("r1"), message_added("r1", "i1"),
                       {"type": "conversation.item.deleted", "event_id": "e1", "item_id": "i1"},
                       {"type": "input_audio_buffer.timeout_triggered", "event_id": "e2", "item_id": "i2",
                        "audio_start_ms": 0, "audio_end_ms": 5000})
        got = await events_until(session, lambda e: e.type == "input_audio_timeout_triggered")
        assert session.history == []
    assert types(got)[-3:] == ["history_added", "history_updated", "input_audio_timeout_triggered"]


async def test_a_cancel_racing_the_end_of_its_response_is_not_reported() -> None:
    not_active = {"type": "response_cancel_not_active", "code": "response_cancel_not_active",
                  "message": "Cancellation failed: no active response found", "param": None}
    transport = ScriptedTransport(strict=False)
    async with Runner(graph(), transport=transport).run() as session:
        transport.push(created("r1"))
        await events_until(session, lambda e: e.type == "agent_start")
        await session.interrupt()  # sends response.cancel; meanwhile the response ended by itself
        [cancel] = [e for e in transport.sent if e["type"] == "response.cancel"]
        transport.push(done("r1"),
                       {"type": "error", "event_id": "e1", "error": {**not_active, "event_id": cancel["event_id"]}},
                       {"type": "error", "event_id": "e2", "error": {**not_active, "event_id": "someone_else"}})
        got = await events_until(session, lambda e: e.type == "error")
    # only the error blaming a cancel the session did not send reaches the caller
    assert [e.error["event_id"] for e in got if e.type == "error"] == ["someone_else"]
