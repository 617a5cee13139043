"""Session lifecycle, text and audio turns, errors and closes, over the scripted transport."""

from __future__ import annotations

import binascii

import anyio
import pytest

from realtime_graph.errors import ConnectionLost, SessionError
from realtime_graph.graph.model import Variable
from realtime_graph.runtime import Runner
from realtime_graph.transports.scripted import CLOSE, ScriptedTransport, Step, UnexpectedSend
from tests.support.builders import agent, audio, created, done, events_until, graph, sent_types, spoken_turn, types

pytestmark = pytest.mark.anyio


async def test_text_turn_exact_wire_and_events() -> None:
    transport = ScriptedTransport([
        Step(expect="session.update"),
        Step(expect={"type": "conversation.item.create",
                     "item": {"content": [{"type": "input_text", "text": "hi"}]}}),
        Step(expect="response.create", emit=spoken_turn("resp_1", "item_a", "Hello there")),
    ])
    async with Runner(graph(), transport=transport).run() as session:
        await session.send_message("hi")
        got = await events_until(session, lambda e: e.type == "agent_end")
    assert types(got) == ["history_updated", "agent_start", "history_added", "audio", "audio_end",
                          "agent_end"]
    assert got[3].audio == b"\x00" * 4800 and got[3].response_id == "resp_1"
    assert all(e.graph_version == "v1" for e in got)
    assert transport.requests[0].model == "gpt-realtime-2.1"
    update = transport.sent[0]["session"]
    assert update == {
        "type": "realtime", "output_modalities": ["audio"],
        "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000},
                            "transcription": {"model": "gpt-4o-mini-transcribe"},
                            "turn_detection": {"type": "semantic_vad", "interrupt_response": True}},
                  "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "ash"}},
        "instructions": "You are helpful.", "tools": [], "tracing": "auto"}
    assert transport.sent[2] == {"type": "response.create", "event_id": "rtg_response_create_1"}
    assert session.history[0].content == [{"type": "audio", "transcript": "Hello there"}]


async def test_raw_events_come_first_for_each_server_event() -> None:
    transport = ScriptedTransport([Step(expect="session.update", emit=[created("r1")])])
    async with Runner(graph(), transport=transport).run() as session:
        got = await events_until(session, lambda e: e.type == "agent_start", raw=True)
    assert types(got) == ["history_updated", "raw_model_event", "raw_model_event", "agent_start"]
    assert got[1].data["type"] == "session.created" and got[2].data["type"] == "response.created"


async def test_audio_turn_sends_append_and_commit_only() -> None:
    transport = ScriptedTransport([
        Step(expect="session.update"),
        Step(expect="input_audio_buffer.append"),
        Step(expect="input_audio_buffer.commit", emit=spoken_turn("r1", "i1", "ok")),
    ])
    async with Runner(graph(), transport=transport).run() as session:
        await session.send_audio(b"\x01\x02", commit=True)
        await events_until(session, lambda e: e.type == "agent_end")
    assert transport.sent[1] == {"type": "input_audio_buffer.append", "audio": "AQI="}
    assert sent_types(transport) == ["session.update", "input_audio_buffer.append",
                                     "input_audio_buffer.commit"]


async def test_server_error_is_an_event_and_the_session_goes_on() -> None:
    error = {"type": "error", "error": {"type": "invalid_request_error", "code": "x", "message": "bad",
                                        "param": None, "event_id": None}}
    transport = ScriptedTransport([Step(expect="session.update", emit=[error, created("r1")])])
    async with Runner(graph(), transport=transport).run() as session:
        got = await events_until(session, lambda e: e.type == "agent_start")
    assert types(got) == ["history_updated", "error", "agent_start"]
    assert got[1].error["message"] == "bad"


async def test_error_blaming_pending_create_releases_the_slot() -> None:
    transport = ScriptedTransport(strict=False)
    async with Runner(graph(), transport=transport).run() as session:
        await session.send_message("a")
        await session.send_message("b")  # coalesced: a create is pending
        assert sent_types(transport).count("response.create") == 1
        transport.push({"type": "error", "error": {"message": "nope", "event_id": "rtg_response_create_1"}})
        await events_until(session, lambda e: e.type == "error")
        await anyio.wait_all_tasks_blocked()
    assert transport.sent[-1] == {"type": "response.create", "event_id": "rtg_response_create_2"}


async def test_clean_server_close_ends_iteration() -> None:
    transport = ScriptedTransport([Step(expect="session.update", emit=[created("r1"), CLOSE])])
    async with Runner(graph(), transport=transport).run() as session:
        got = await events_until(session, lambda e: False)
    assert types(got) == ["history_updated", "agent_start"]


async def test_abnormal_close_raises_connection_lost_after_draining() -> None:
    lost = ConnectionLost("gone", code=4000, reason="boom")
    transport = ScriptedTransport([Step(expect="session.update", emit=[created("r1"), lost])])
    seen = []
    async with Runner(graph(), transport=transport).run() as session:
        with pytest.raises(ConnectionLost) as info:
            with anyio.fail_after(3):
                async for event in session:
                    seen.append(event.type)
    assert info.value.code == 4000
    assert "agent_start" in seen


async def test_session_exit_cancels_a_long_running_tool() -> None:
    started = anyio.Event()

    async def slow() -> str:
        started.set()
        await anyio.sleep(3600)
        return "never"

    from tests.support.builders import function_call, tool
    g = graph(agent(tools=[tool(slow)]))
    transport = ScriptedTransport([Step(expect="session.update",
                                        emit=[created("r1"), function_call("r1", "c1", "slow")])])
    with anyio.fail_after(3):
        async with Runner(g, transport=transport).run() as session:
            await started.wait()
            assert not session.is_idle
    assert "conversation.item.create" not in sent_types(transport)


async def test_missing_required_variable_fails_at_connect() -> None:
    g = graph(variables={"persona": Variable("persona", required=True)})
    transport = ScriptedTransport()
    with pytest.raises(SessionError, match=r"required variable 'persona' has no value; pass it in "
                                           r"runner.run\(context=\{'persona': ...\}\)"):
        async with Runner(g, transport=transport).run():
            pass
    assert transport.requests == []


async def test_context_overlays_graph_variables() -> None:
    transport = ScriptedTransport([Step(expect={"session": {"instructions": "You are terse."}})])
    async with Runner(graph(), transport=transport).run(context={"persona": "terse"}):
        pass


async def test_unexpected_send_fails_loudly() -> None:
    transport = ScriptedTransport([Step(expect="session.update")])
    with pytest.raises(UnexpectedSend, match="unexpected client event"):
        async with Runner(graph(), transport=transport).run() as session:
            await session.send_message("hi")


async def test_methods_after_close_raise_session_error() -> None:
    transport = ScriptedTransport([Step(expect="session.update")])
    async with Runner(graph(), transport=transport).run() as session:
        pass
    with pytest.raises(SessionError, match="the session is not open"):
        await session.send_message("late")


async def test_unknown_start_agent() -> None:
    with pytest.raises(SessionError, match="no agent named 'nobody'"):
        Runner(graph(), transport=ScriptedTransport()).run(agent="nobody")


async def test_audio_is_decoded_once_per_delta(monkeypatch: pytest.MonkeyPatch) -> None:
    from realtime_graph.runtime import reader

    decoded: list[str] = []

    def counting(data: str) -> bytes:
        decoded.append(data)
        return binascii.a2b_base64(data)

    monkeypatch.setattr(reader, "a2b_base64", counting)
    transport = ScriptedTransport([Step(expect="session.update", emit=[
        created("r1"), audio("r1", "i1", b"abc"), audio("r1", "i1", b"def"), done("r1")])])
    async with Runner(graph(), transport=transport).run() as session:  # raw events on: still one decode
        got = await events_until(session, lambda e: e.type == "agent_end")
    assert [e.audio for e in got if e.type == "audio"] == [b"abc", b"def"]
    assert decoded == ["YWJj", "ZGVm"]
