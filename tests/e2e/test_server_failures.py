"""Server trouble end to end: ``error`` events, the server closing the socket, and session exit
while a tool still runs."""

from __future__ import annotations

import time

import anyio
import pytest

from realtime_graph.errors import ConnectionLost
from realtime_graph.runtime import Runner
from tests.support.simulated import events_until, kinds, one_agent, simulator, until_ends, wire_types

pytestmark = [pytest.mark.anyio, pytest.mark.slow]



async def test_server_error_event_then_the_session_goes_on(load_graph) -> None:
    graph, _ = load_graph(one_agent())
    transport, sim = simulator("""
    - match: first
      actions:
        - error: {code: server_error, type: server_error,
                  message: "The server had an error while processing your request."}
        - say: {text: "Still here.", audio_ms: 100}
    """)
    async with Runner(graph, transport=transport).run() as session:
        await session.send_message("first try")
        first = await until_ends(session)
        await session.send_message("second try")
        second = await until_ends(session)

    assert kinds(first) == ["agent_start", "error", "audio_end", "agent_end"]
    assert next(e for e in first if e.type == "error").error == {
        "type": "server_error", "code": "server_error",
        "message": "The server had an error while processing your request.", "param": None, "event_id": None}
    assert kinds(second) == ["agent_start", "audio_end", "agent_end"]
    assert session.history[-1].content == [{"type": "audio", "transcript": "You said: second try"}]
    assert wire_types(sim) == ["session.update"] + ["conversation.item.create", "response.create"] * 2


async def test_error_blaming_a_client_event_is_reported_with_its_event_id(load_graph) -> None:
    graph, _ = load_graph(one_agent())
    transport, sim = simulator()
    async with Runner(graph, transport=transport).run() as session:
        await session.send_raw({"type": "conversation.item.delete", "item_id": "item_missing", "event_id": "e1"})
        got = await events_until(session, lambda e: e.type == "error")
        await session.send_message("still alive")
        after = await until_ends(session)

    assert got[-1].error == {"type": "invalid_request_error", "code": "invalid_value",
                             "message": "Item with item_id 'item_missing' not found.", "param": "item_id",
                             "event_id": "e1"}
    assert kinds(after) == ["agent_start", "audio_end", "agent_end"]
    assert wire_types(sim) == ["session.update", "conversation.item.delete", "conversation.item.create",
                               "response.create"]


async def _drain(session) -> tuple[list, BaseException | None]:
    got: list = []
    try:
        with anyio.fail_after(5):
            async for event in session:
                got.append(event)
    except ConnectionLost as exc:
        return got, exc
    return got, None


async def test_clean_close_ends_iteration(load_graph) -> None:
    graph, _ = load_graph(one_agent())
    transport, sim = simulator("""
    - actions:
        - say: {text: "Goodbye.", audio_ms: 200}
        - disconnect: {code: 1000, reason: "bye"}
    """)
    async with Runner(graph, transport=transport).run() as session:
        await session.send_message("bye")
        got, failure = await _drain(session)

    assert failure is None
    assert kinds(got) == ["agent_start", "audio_end"]  # the socket closed before response.done
    assert sum(len(e.audio) for e in got if e.type == "audio") == 200 * 48
    assert [e.data for e in got if e.type == "raw_model_event"] == [e for _, e in sim.emitted]
    assert wire_types(sim) == ["session.update", "conversation.item.create", "response.create"]


async def test_abnormal_close_raises_connection_lost_after_queued_events(load_graph) -> None:
    graph, _ = load_graph(one_agent())
    transport, sim = simulator("""
    - actions:
        - say: {text: "Something broke.", audio_ms: 200}
        - disconnect: {code: 4000, reason: "gone"}
    """)
    async with Runner(graph, transport=transport).run() as session:
        await session.send_message("hello")
        await anyio.sleep(0.3)  # let the reader queue everything before anyone iterates
        got, failure = await _drain(session)

    assert isinstance(failure, ConnectionLost)
    assert (failure.code, failure.reason) == (4000, "gone")
    assert str(failure) == "realtime connection closed abnormally (code 4000: gone)"
    # Every event that arrived before the close was delivered first.
    assert kinds(got) == ["agent_start", "audio_end"]
    assert [e.type for e in got if e.type == "audio"] == ["audio", "audio"]
    assert [e.data for e in got if e.type == "raw_model_event"] == [e for _, e in sim.emitted]


TOOL_CODE = """
import time
import anyio

LOG = []

async def wait_forever() -> str:
    LOG.append("started")
    try:
        await anyio.sleep(30)
    finally:
        LOG.append("cancelled")
    return "never"

def block() -> str:
    LOG.append("blocking")
    time.sleep(1.0)
    return "late"
"""

TOOL_GRAPH = one_agent(agent_extra="""tools:
  - {entrypoint: "{mod}:wait_forever"}
  - {entrypoint: "{mod}:block"}
""")


@pytest.mark.parametrize("tool, log", [("wait_forever", ["started", "cancelled"]), ("block", ["blocking"])])
async def test_leaving_the_session_cancels_a_running_tool_promptly(load_graph, tool: str, log: list[str]) -> None:
    graph, mod = load_graph(TOOL_GRAPH, TOOL_CODE)
    transport, sim = simulator(f"""
    - actions: [{{call: {{tool: {tool}}}}}]
    """)
    with anyio.fail_after(3):
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message("go")
            await events_until(session, lambda e: e.type == "tool_start")
            while not mod.LOG:  # the tool's body is running
                await anyio.sleep(0.01)
            assert not session.is_idle
            left = time.monotonic()
        exit_s = time.monotonic() - left

    assert exit_s < 0.5  # a blocking sync tool's thread is abandoned, not waited for
    assert log == mod.LOG
    # No output was sent for the cancelled call.
    assert wire_types(sim) == ["session.update", "conversation.item.create", "response.create"]
