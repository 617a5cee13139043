"""Every client-event builder produces an event the official openai types accept, with no stray keys."""

from __future__ import annotations

import base64

import pytest

from realtime_graph.transports import protocol as p
from tests.support.wire import strict

SESSION = {
    "type": "realtime",
    "instructions": "be brief",
    "output_modalities": ["audio"],
    "audio": {
        "input": {"format": {"type": "audio/pcmu"}, "transcription": {"model": "gpt-4o-mini-transcribe"},
                  "turn_detection": {"type": "semantic_vad", "interrupt_response": True}},
        "output": {"format": {"type": "audio/pcmu"}, "voice": "ash"},
    },
    "tools": [{"type": "function", "name": "f", "description": "d",
               "parameters": {"type": "object", "properties": {}}}],
    "tool_choice": "auto",
    "tracing": "auto",
}


@pytest.mark.parametrize("event, expected", [
    (p.session_update(SESSION), {"type": "session.update", "session": SESSION}),
    (p.user_message("hi"), {"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}}),
    (p.user_message({"role": "user", "content": [
        {"type": "input_text", "text": "look"},
        {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"}]}),
     {"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [
         {"type": "input_text", "text": "look"},
         {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"}]}}),
    (p.system_message("note"), {"type": "conversation.item.create", "item": {
        "type": "message", "role": "system", "content": [{"type": "input_text", "text": "note"}]}}),
    (p.audio_append(b"\x00\x01"), {"type": "input_audio_buffer.append",
                                   "audio": base64.b64encode(b"\x00\x01").decode()}),
    (p.audio_commit(), {"type": "input_audio_buffer.commit"}),
    (p.audio_clear(event_id="e1"), {"type": "input_audio_buffer.clear", "event_id": "e1"}),
    (p.response_create(), {"type": "response.create"}),
    (p.response_create(event_id="rc_1", response={"instructions": "x"}),
     {"type": "response.create", "event_id": "rc_1", "response": {"instructions": "x"}}),
    (p.response_cancel(), {"type": "response.cancel"}),
    (p.response_cancel("resp_1"), {"type": "response.cancel", "response_id": "resp_1"}),
    (p.item_truncate("item_1", 0, 1500), {"type": "conversation.item.truncate", "item_id": "item_1",
                                          "content_index": 0, "audio_end_ms": 1500}),
    (p.function_call_output("call_1", '{"ok": true}'), {"type": "conversation.item.create", "item": {
        "type": "function_call_output", "call_id": "call_1", "output": '{"ok": true}'}}),
    (p.item_retrieve("item_1"), {"type": "conversation.item.retrieve", "item_id": "item_1"}),
    (p.item_delete("item_1"), {"type": "conversation.item.delete", "item_id": "item_1"}),
])
def test_builder_output_is_exact_and_valid(event: dict, expected: dict) -> None:
    assert event == expected
    strict(event)


def test_strictness_check_catches_a_typo() -> None:
    with pytest.raises(AssertionError):
        strict({"type": "response.cancel", "respons_id": "resp_1"})
    with pytest.raises(AssertionError, match=r"unknown keys at \$\.item"):
        strict({"type": "conversation.item.create",
                "item": {"type": "function_call_output", "call_id": "c", "output": "o", "ouptut": 1}})


@pytest.mark.parametrize("call, message", [
    (lambda: p.session_update({"instructions": "x"}), "session['type']"),
    (lambda: p.user_message({"role": "assistant", "content": [{"type": "input_text", "text": "x"}]}),
     "only user messages"),
    (lambda: p.user_message({"role": "user", "content": []}), "non-empty 'content'"),
    (lambda: p.user_message({"content": [{"type": "input_audio", "audio": ""}]}),
     "unsupported message content part type 'input_audio'"),
    (lambda: p.user_message({"content": [{"type": "input_image", "image_url": "u", "detail": "max"}]}),
     "detail must be one of auto, low, high"),
    (lambda: p.item_truncate("i", 0, -1), "audio_end_ms must be >= 0"),
])
def test_bad_input_is_rejected_with_a_clear_message(call, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("'", "'")):
        call()


def test_server_event_readers() -> None:
    done = {"type": "response.output_item.done", "item": {"type": "function_call", "status": "completed"}}
    assert p.is_function_call_done(done)
    assert not p.is_function_call_done({"type": "response.output_item.done",
                                        "item": {"type": "function_call", "status": "in_progress"}})
    assert not p.is_function_call_done({"type": "response.output_item.done",
                                        "item": {"type": "message", "status": "completed"}})
