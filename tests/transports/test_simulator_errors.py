"""The simulator's answers to bad client events, over real loopback WebSockets through
OpenAITransport: an ``error`` event shaped like the live API's, nothing applied, and the session
still usable afterwards (the socket is never dropped over a bad field)."""

from __future__ import annotations

import base64
import json

import pytest

from realtime_graph import audio
from realtime_graph.transports import Simulator
from realtime_graph.transports import protocol as p
from realtime_graph.transports.simulator import parse_script

pytestmark = pytest.mark.anyio

NO_VAD = {"audio": {"input": {"turn_detection": None}}}


def error(code: str, message: str, param: str | None, event_id: str | None) -> dict:
    return {"type": "invalid_request_error", "code": code, "message": message, "param": param,
            "event_id": event_id}


async def answer_to(c, text: str) -> dict:
    """Send a user message and a response.create; the ``response.done`` response."""
    await c.send(p.user_message(text))
    await c.send(p.response_create())
    return (await c.until("response.done"))[-1]["response"]


def transcript(item: dict) -> str:
    return item["content"][0]["transcript"]


@pytest.mark.parametrize("event, expected", [
    ({"type": "conversation.item.create", "event_id": "m1", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_audio", "audio": "abc"}]}},
     error("invalid_value", "Invalid value: 'item.content[0].audio' is not valid base64.",
           "item.content[0].audio", "m1")),
    ({"type": "conversation.item.create", "event_id": "m2", "item": {
        "type": "message", "role": "user", "content": ["hi"]}},
     error("invalid_type", "Invalid type for 'item.content[0]': expected an object.", "item.content[0]", "m2")),
    ({"type": "conversation.item.create", "event_id": "m3", "item": {
        "type": "message", "role": "user", "content": "hi"}},
     error("invalid_type", "Invalid type for 'item.content': expected an array.", "item.content", "m3")),
    ({"type": "response.create", "event_id": "m4", "response": "x"},
     error("invalid_type", "Invalid type for 'response': expected an object, but got a string instead.",
           "response", "m4")),
], ids=["bad-base64-audio", "non-object-part", "content-not-a-list", "response-not-an-object"])
async def test_malformed_event_gets_an_error_and_the_session_goes_on(connect, event, expected) -> None:
    async with connect() as (c, _):
        await c.send(event)
        got = await c.until("error")
        assert [e["type"] for e in got] == ["error"]  # nothing was added or started first
        assert got[0]["error"] == expected
        await c.send(p.user_message("hi"))
        added = (await c.until("conversation.item.added"))[-1]
        assert added["previous_item_id"] is None  # the malformed item was not stored
        await c.send(p.response_create())
        done = (await c.until("response.done"))[-1]["response"]
    assert done["status"] == "completed"
    assert transcript(done["output"][0]) == "You said: hi"


async def test_invalid_base64_append_is_rejected_and_appends_nothing(connect) -> None:
    async with connect(session=NO_VAD) as (c, _):
        await c.send({"type": "input_audio_buffer.append", "event_id": "a1", "audio": "abc!"})
        err = (await c.until("error"))[-1]["error"]
        assert err == error("invalid_value", "Invalid value: 'audio' is not valid base64.", "audio", "a1")
        await c.send(p.audio_append(audio.silence(audio.PCM24K, 150)))
        await c.send(p.audio_commit())
        committed = await c.until("conversation.item.done")
        assert [e["type"] for e in committed] == ["input_audio_buffer.committed", "conversation.item.added",
                                                  "conversation.item.done"]
        await c.send(p.item_retrieve(committed[0]["item_id"]))
        item = (await c.until("conversation.item.retrieved"))[-1]["item"]
    assert len(base64.b64decode(item["content"][0]["audio"])) == 150 * 48  # only the valid append


@pytest.mark.parametrize("event, expected", [
    ({"type": "conversation.item.create", "event_id": "c1", "item": {"role": "user"}},
     error("missing_required_parameter", "Missing required parameter: 'item.type'.", "item.type", "c1")),
    ({**p.user_message("hi", event_id="c2"), "previous_item_id": "item_nope"},
     error("invalid_value", "Invalid value: previous_item_id 'item_nope' does not exist in the conversation.",
           "previous_item_id", "c2")),
    (p.function_call_output("call_nope", "x", event_id="c3"),
     error("invalid_value", "Tool call ID 'call_nope' not found in conversation.", "item.call_id", "c3")),
    ({"type": "conversation.item.create", "event_id": "c4", "item": {
        "type": "message", "role": "assistant", "content": [{"type": "output_audio", "transcript": "x"}]}},
     error("invalid_value", "Assistant audio messages cannot be created.", "item.content", "c4")),
], ids=["no-item-type", "unknown-previous-item", "unknown-call-id", "assistant-audio"])
async def test_item_create_rejections(connect, event, expected) -> None:
    async with connect() as (c, _):
        await c.send(event)
        got = await c.until("error")
        assert [e["type"] for e in got] == ["error"]
        assert got[0]["error"] == expected
        done = await answer_to(c, "still here")
    assert transcript(done["output"][0]) == "You said: still here"


@pytest.mark.parametrize("fmt, message", [
    ({"type": "audio/wav"}, "unknown audio format type 'audio/wav'; use one of 'audio/pcm', 'audio/pcmu', "
                            "'audio/pcma'"),
    ({"type": "audio/pcm", "rate": 16000}, "audio/pcm rate must be 24000, got 16000"),
], ids=["unknown-type", "pcm-rate"])
async def test_bad_response_output_format_is_rejected(connect, fmt, message) -> None:
    async with connect() as (c, _):
        await c.send(p.user_message("hi"))
        await c.send(p.response_create(event_id="f1", response={"audio": {"output": {"format": fmt}}}))
        got = await c.until("error")
        assert [e["type"] for e in got] == ["conversation.item.added", "conversation.item.done", "error"]
        assert got[-1]["error"] == error("invalid_value", message, "response.audio.output.format", "f1")
        await c.send(p.response_create())
        done = (await c.until("response.done"))[-1]["response"]
    assert done["status"] == "completed"


async def test_negative_truncate_is_rejected_and_the_item_kept(connect) -> None:
    async with connect() as (c, _):
        reply = (await answer_to(c, "ok"))["output"][0]
        await c.send({**p.item_truncate(reply["id"], 0, 0, event_id="t1"), "audio_end_ms": -5})
        err = (await c.until("error"))[-1]["error"]
        assert err == error("invalid_value", "Audio content of 720ms is already shorter than -5ms",
                            "audio_end_ms", "t1")
        await c.send(p.item_retrieve(reply["id"]))
        item = (await c.until("conversation.item.retrieved"))[-1]["item"]
    assert transcript(item) == "You said: ok"
    assert len(base64.b64decode(item["content"][0]["audio"])) == 720 * 48  # 60 ms a character, 48 bytes a ms


async def test_truncate_while_streaming_keeps_the_transcript_in_done_events(connect) -> None:
    text = "Once upon a time there was a simulator."
    script = parse_script(f'- actions:\n    - say: {{text: "{text}", audio_ms: 500}}\n')
    # Real-time pacing: 100 ms of audio per delta, so the truncate lands while the item streams.
    async with connect(Simulator(script=script, realtime_factor=1.0)) as (c, _):
        await c.send(p.user_message("tell me a story"))
        await c.send(p.response_create())
        item_id = (await c.until("response.output_audio.delta"))[-1]["item_id"]
        await c.send(p.item_truncate(item_id, 0, 100))
        got = await c.until("response.done")
        kinds = [e["type"] for e in got]
        assert kinds.index("conversation.item.truncated") < kinds.index("response.output_item.done")
        by_type = {e["type"]: e for e in got}
        assert by_type["conversation.item.done"]["item"]["id"] == item_id
        assert by_type["conversation.item.truncated"]["audio_end_ms"] == 100
        # What was generated is reported in full; only the stored item is cut.
        assert transcript(by_type["response.output_item.done"]["item"]) == text
        assert transcript(by_type["conversation.item.done"]["item"]) == text
        assert transcript(by_type["response.done"]["response"]["output"][0]) == text
        await c.send(p.item_retrieve(item_id))
        item = (await c.until("conversation.item.retrieved"))[-1]["item"]
    assert transcript(item) == ""
    assert len(base64.b64decode(item["content"][0]["audio"])) == 100 * 48
    assert item["status"] == "completed"


@pytest.mark.parametrize("frame", ["not json", "[1]"], ids=["not-json", "not-an-object"])
async def test_a_frame_that_is_not_an_event_gets_invalid_event(validate_server_event, frame) -> None:
    from websockets.asyncio.client import connect as raw_connect  # OpenAITransport only sends JSON objects

    async with Simulator().serve() as url:
        async with raw_connect(url + "?model=m", additional_headers={"Authorization": "Bearer k"}) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
            await ws.send(frame)
            event = json.loads(await ws.recv())
            validate_server_event(event)
            assert event["error"] == error("invalid_event", "The 'type' field is missing.", None, None)
            await ws.send(json.dumps(p.response_create()))
            assert json.loads(await ws.recv())["type"] == "response.created"  # still open and serving
