"""The simulator end to end through OpenAITransport over real loopback WebSockets.

Every server event is validated strictly against openai.types.realtime.RealtimeServerEvent.
"""

from __future__ import annotations

import base64
import json

import anyio
import pytest

from realtime_graph import audio
from realtime_graph.errors import ConnectError, ConnectionLost
from realtime_graph.transports import ConnectRequest, OpenAITransport, Simulator, SimulatorTransport
from realtime_graph.transports import protocol as p
from realtime_graph.transports.simulator import parse_script

pytestmark = pytest.mark.anyio

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                           "days": {"type": "integer"}},
                          "required": ["city", "days"]}}
HANDOFF = {"type": "function", "name": "transfer_to_billing", "description": "Billing",
           "parameters": {"type": "object", "properties": {}}}
AUDIO_TURN = ["response.created", "response.output_item.added", "conversation.item.added",
              "response.content_part.added"]
AUDIO_DONE = ["response.output_audio.done", "response.output_audio_transcript.done",
              "response.content_part.done", "response.output_item.done", "conversation.item.done",
              "response.done", "rate_limits.updated"]
CALL_TURN = ["response.created", "response.output_item.added", "conversation.item.added",
             "response.function_call_arguments.delta", "response.function_call_arguments.delta",
             "response.function_call_arguments.delta", "response.function_call_arguments.done",
             "response.output_item.done", "conversation.item.done", "response.done", "rate_limits.updated"]


def types(events):
    return [e["type"] for e in events if e["type"] not in ("response.output_audio.delta",
                                                           "response.output_audio_transcript.delta")]


async def test_session_created_defaults_and_update(connect) -> None:
    async with connect() as (c, created):
        session = created["session"]
        assert session["model"] == "gpt-realtime" and session["audio"]["output"]["voice"] == "alloy"
        assert session["audio"]["input"]["turn_detection"]["type"] == "server_vad"
        await c.send({"type": "session.update", "event_id": "ev1", "session": {"instructions": "x"}})
        await c.send({"type": "session.update", "event_id": "ev2", "session": {"type": "realtime", "voice": "ash"}})
        await c.send({"type": "session.update", "session": {"type": "realtime", "instructions": "Be brief.",
                      "audio": {"output": {"format": {"type": "audio/pcmu"}}}}})
        got = await c.until("session.updated")
    errors = [e["error"] for e in got if e["type"] == "error"]
    assert errors == [
        {"type": "invalid_request_error", "code": "missing_required_parameter",
         "message": "Missing required parameter: 'session.type'.", "param": "session.type", "event_id": "ev1"},
        {"type": "invalid_request_error", "code": "unknown_parameter",
         "message": "Unknown parameter: 'session.voice'.", "param": "session.voice", "event_id": "ev2"},
    ]
    updated = got[-1]["session"]
    assert updated["instructions"] == "Be brief."
    assert updated["audio"]["output"] == {"format": {"type": "audio/pcmu"}, "voice": "alloy", "speed": 1.0}
    assert updated["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 200  # kept


async def test_call_id_attach_has_no_model(connect) -> None:
    async with connect(request=ConnectRequest(call_id="rtc_123")) as (_, created):
        assert "model" not in created["session"]


async def test_text_turn_audio_response(connect) -> None:
    async with connect(session={"audio": {"output": {"format": {"type": "audio/pcmu"}}}}) as (c, _):
        await c.send(p.user_message("hello there"))
        await c.send({"type": "response.create"})
        got = await c.until("rate_limits.updated")
    assert types(got) == ["conversation.item.added", "conversation.item.done", *AUDIO_TURN, *AUDIO_DONE]
    deltas = [e for e in got if e["type"] == "response.output_audio.delta"]
    transcript = "".join(e["delta"] for e in got if e["type"] == "response.output_audio_transcript.delta")
    assert transcript == "You said: hello there"
    pcmu = b"".join(base64.b64decode(e["delta"]) for e in deltas)
    assert len(pcmu) == 60 * len(transcript) * 8  # 60 ms per character, G.711 at 8 bytes/ms
    assert len(deltas) == -(-60 * len(transcript) // 100)  # 100 ms per delta
    done = got[-2]["response"]
    assert done["status"] == "completed"
    assert done["output"][0]["content"] == [{"type": "output_audio", "transcript": transcript}]
    part = next(e for e in got if e["type"] == "response.content_part.added")["part"]
    assert part == {"type": "audio", "transcript": ""}


async def test_text_modality(connect) -> None:
    async with connect(session={"output_modalities": ["text"]}) as (c, _):
        await c.send(p.user_message("hi"))
        await c.send({"type": "response.create"})
        got = await c.until("rate_limits.updated")
    assert types(got)[-7:] == ["response.output_text.delta", "response.output_text.done",
                               "response.content_part.done", "response.output_item.done",
                               "conversation.item.done", "response.done", "rate_limits.updated"]
    assert got[-2]["response"]["output"][0]["content"] == [{"type": "output_text", "text": "You said: hi"}]


async def test_function_call_then_output(connect) -> None:
    async with connect(session={"tools": [WEATHER, HANDOFF]}) as (c, _):
        await c.send(p.user_message("What's the weather in Paris for 3 days?"))
        await c.send({"type": "response.create"})
        got = await c.until("rate_limits.updated")
        assert types(got)[2:] == CALL_TURN
        done = next(e for e in got if e["type"] == "response.function_call_arguments.done")
        assert json.loads(done["arguments"]) == {"city": "Paris", "days": 3}
        await c.send({"type": "conversation.item.create", "item": {
            "type": "function_call_output", "call_id": done["call_id"], "output": "sunny, 21 C"}})
        await c.send({"type": "response.create"})
        again = await c.until("rate_limits.updated")
    transcript = next(e for e in again if e["type"] == "response.output_audio_transcript.done")["transcript"]
    assert transcript == "get_weather returned sunny, 21 C."


async def test_handoff_and_greeting(connect) -> None:
    async with connect(session={"tools": [WEATHER, HANDOFF]}) as (c, _):
        await c.send(p.user_message("please put me through to billing"))
        await c.send({"type": "response.create"})
        got = await c.until("response.done")
        call = got[-1]["response"]["output"][0]
        assert (call["type"], call["name"], call["arguments"]) == ("function_call", "transfer_to_billing", "{}")
        await c.until("rate_limits.updated")
        await c.send({"type": "session.update", "session": {"type": "realtime",
                      "instructions": "You handle billing questions. Be precise."}})
        await c.send({"type": "conversation.item.create", "item": {
            "type": "function_call_output", "call_id": call["call_id"], "output": '{"assistant": "Billing"}'}})
        await c.send({"type": "response.create"})
        again = await c.until("response.output_audio_transcript.done")
    assert again[-1]["transcript"] == "Hi, this is Billing. You handle billing questions."


async def test_orphan_output_and_second_response_and_cancel_errors(connect) -> None:
    async with connect(Simulator(realtime_factor=1.0)) as (c, _):
        await c.send({"type": "conversation.item.create", "event_id": "o1", "item": {
            "type": "function_call_output", "call_id": "call_nope", "output": "x"}})
        await c.send({"type": "response.cancel", "event_id": "c1"})
        errors = await c.until("error") + await c.until("error")
        assert [e["error"]["code"] for e in errors] == ["invalid_value", "response_cancel_not_active"]
        assert [e["error"]["event_id"] for e in errors] == ["o1", "c1"]
        await c.send(p.user_message("tell me a long story please"))
        await c.send({"type": "response.create"})
        await c.until("response.output_audio.delta")
        await c.send({"type": "response.create", "event_id": "r2"})
        err = await c.until("error")
        assert err[-1]["error"]["code"] == "conversation_already_has_active_response"
        await c.send({"type": "response.cancel"})
        got = await c.until("rate_limits.updated")
    assert types(got)[-7:] == AUDIO_DONE
    done = got[-2]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert done["output"][0]["status"] == "incomplete"


async def test_vad_audio_turn(connect) -> None:
    async with connect(session={"audio": {"input": {"transcription": {"model": "whisper-1"}}}}) as (c, _):
        speech = audio.silence(audio.PCM24K, 500) + audio.synthesize_speech("hello", 800) \
            + audio.silence(audio.PCM24K, 400)
        for i in range(0, len(speech), 4800):
            await c.send({"type": "input_audio_buffer.append",
                          "audio": base64.b64encode(speech[i:i + 4800]).decode()})
        got = await c.until("rate_limits.updated")
    assert types(got)[:8] == ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                              "input_audio_buffer.committed", "conversation.item.added", "conversation.item.done",
                              "conversation.item.input_audio_transcription.delta",
                              "conversation.item.input_audio_transcription.completed", "response.created"]
    started, stopped = got[0], got[1]
    assert started["audio_start_ms"] == 200  # speech at 500 ms minus 300 ms prefix padding
    assert stopped["audio_end_ms"] == 1500  # 500 + 800 + 200 ms of silence
    assert started["item_id"] == stopped["item_id"] == got[2]["item_id"] == got[3]["item"]["id"]
    assert got[3]["item"]["content"] == [{"type": "input_audio", "transcript": None}]
    assert got[6]["transcript"] == "(1.5 s of audio)"


async def test_manual_commit_too_short_and_truncate_errors(connect) -> None:
    async with connect(session={"audio": {"input": {"turn_detection": None}}}) as (c, _):
        await c.send({"type": "input_audio_buffer.append",
                      "audio": base64.b64encode(audio.silence(audio.PCM24K, 50)).decode()})
        await c.send({"type": "input_audio_buffer.commit"})
        err = await c.until("error")
        assert err[-1]["error"]["message"] == ("Error committing input audio buffer: buffer too small. Expected "
                                               "at least 100ms of audio, but buffer only has 50.00ms of audio.")
        await c.send(p.user_message("ok"))
        user = (await c.until("conversation.item.done"))[-1]["item"]["id"]
        await c.send({"type": "conversation.item.truncate", "item_id": user, "content_index": 0, "audio_end_ms": 0})
        assert (await c.until("error"))[-1]["error"]["code"] == "unsupported_content_type"
        await c.send({"type": "response.create"})
        reply = (await c.until("response.done"))[-1]["response"]["output"][0]["id"]
        await c.send({"type": "conversation.item.truncate", "item_id": reply, "content_index": 0,
                      "audio_end_ms": 5000})
        err = await c.until("error")
        assert err[-1]["error"]["message"] == "Audio content of 720ms is already shorter than 5000ms"
        await c.send({"type": "conversation.item.truncate", "item_id": reply, "content_index": 0, "audio_end_ms": 300})
        ok = await c.until("conversation.item.truncated")
        assert ok[-1]["audio_end_ms"] == 300
        await c.send({"type": "conversation.item.retrieve", "item_id": reply})
        item = (await c.until("conversation.item.retrieved"))[-1]["item"]
        assert len(base64.b64decode(item["content"][0]["audio"])) == 300 * 48
        await c.send({"type": "conversation.item.delete", "item_id": reply})
        assert (await c.until("conversation.item.deleted"))[-1]["item_id"] == reply


async def test_unknown_and_missing_type(connect) -> None:
    async with connect() as (c, _):
        await c.send({"type": "response.audio.delta", "event_id": "u1"})
        await c.send({"event_id": "u2"})
        got = await c.until("error") + await c.until("error")
    assert [(e["error"]["code"], e["error"]["param"], e["error"]["event_id"]) for e in got] == [
        ("invalid_value", "type", "u1"), ("invalid_event", None, "u2")]


async def test_beta_header_gets_error_then_close_4000(validate_server_event) -> None:
    async with Simulator().serve() as url:
        transport = OpenAITransport(url=url, api_key="k")
        transport._headers = {"Authorization": "Bearer k", "OpenAI-Beta": "realtime=v1"}  # bypass our filter
        from websockets.asyncio.client import connect as raw_connect
        async with raw_connect(url + "?model=m", additional_headers=transport._headers) as ws:
            event = json.loads(await ws.recv())
            validate_server_event(event)
            assert event["error"]["code"] == "beta_api_shape_disabled"
            await ws.wait_closed()
            assert ws.close_code == 4000


async def test_no_authorization_is_http_401() -> None:
    async with Simulator().serve() as url:
        with pytest.raises(ConnectError) as info:
            async with OpenAITransport(url=url, headers={}).connect(ConnectRequest(model="m")):
                pass
    assert info.value.status == 401


async def test_script_turns_barge_in_error_and_disconnect(connect) -> None:
    script = parse_script("""
- match: /weather/
  actions:
    - say: {text: "Let me check that for you right away.", audio_ms: 1000}
    - barge_in: {at_ms: 300}
- actions:
    - error: {code: server_error, message: "boom", type: server_error}
    - call: {tool: lookup, arguments: {id: 7}}
- actions:
    - disconnect: {code: 1011, reason: "scripted"}
""")
    async with connect(Simulator(script=script)) as (c, _):
        await c.send(p.user_message("how is the weather"))
        await c.send({"type": "response.create"})
        got = await c.until("rate_limits.updated")
        assert types(got)[2:] == [*AUDIO_TURN, "input_audio_buffer.speech_started", *AUDIO_DONE]
        assert sum(e["type"] == "response.output_audio.delta" for e in got) == 3
        assert got[-2]["response"]["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
        await c.send({"type": "response.create"})
        got = await c.until("rate_limits.updated")
        assert types(got)[:2] == ["response.created", "error"]
        assert next(e for e in got if e["type"] == "response.function_call_arguments.done")["arguments"] == '{"id": 7}'
        await c.send({"type": "response.create"})
        with pytest.raises(ConnectionLost) as info:
            await c.until("never")
    assert (info.value.code, info.value.reason) == (1011, "scripted")


async def test_cassette_replay(tmp_path, connect) -> None:
    lines = [{"cassette": 1, "graph_version": "v1", "started_at": 0},
             {"t": 0.0, "dir": "server", "event": {"type": "session.created", "event_id": "event_a",
                                                     "session": {"type": "realtime", "model": "rec"}}},
             {"t": 0.1, "dir": "client", "event": {"type": "response.create"}},
             {"t": 0.2, "dir": "server", "event": {"type": "input_audio_buffer.cleared", "event_id": "event_b"}},
             {"t": 0.3, "dir": "server", "event": {"type": "input_audio_buffer.cleared", "event_id": "event_c"}}]
    path = tmp_path / "run.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    async with connect(Simulator(cassette=path)) as (c, created):
        assert created["event_id"] == "event_a"
        await c.send({"type": "input_audio_buffer.append", "audio": ""})
        await c.send({"type": "response.create"})
        got = await c.until("input_audio_buffer.cleared") + await c.until("input_audio_buffer.cleared")
        assert [e["event_id"] for e in got] == ["event_b", "event_c"]
        await c.send({"type": "response.cancel"})
        err = await c.until("error")
        assert err[-1]["error"]["code"] == "cassette_mismatch"


async def test_cancelling_mid_response_shuts_down_cleanly() -> None:
    with anyio.fail_after(3):
        with anyio.CancelScope() as scope:
            async with SimulatorTransport(Simulator(realtime_factor=1.0)).connect(ConnectRequest(model="m")) as conn:
                await conn.send(p.user_message("a long answer please " * 5))
                await conn.send({"type": "response.create"})
                async for event in conn:
                    if event["type"] == "response.output_audio.delta":
                        scope.cancel()
    assert scope.cancelled_caught
