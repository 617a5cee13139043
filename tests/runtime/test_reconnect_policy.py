"""The reconnect decisions, directly: recoverable closes and errors, backoff, replay, acknowledgements."""

from __future__ import annotations

import pytest

from realtime_graph.runtime.history import History, MessageItem, ToolCallItem, cut_text
from realtime_graph.runtime.reconnect_policy import (
    NOTE,
    NOTE_ID,
    PendingItems,
    backoff_delay,
    build_replay,
    classify_error,
    drop_reason,
    fatal_message,
    owes_answer,
    replay_summary,
)


@pytest.mark.parametrize("code", [1001, 1005, 1006, 1011, 1012, 1013, 1015])
def test_recoverable_close_codes_reconnect(code: int) -> None:
    assert drop_reason(code, "bye") == f"close {code} (bye)"
    assert drop_reason(code) == f"close {code}"


@pytest.mark.parametrize("code", [None, 1000, 1002, 1003, 1007, 1008, 1009, 1010, 4000])
def test_other_closes_end_the_session(code: int | None) -> None:
    assert drop_reason(code, "x") is None


def test_errors_are_fatal_expired_or_neither() -> None:
    for code in ("invalid_api_key", "insufficient_quota", "account_deactivated", "billing_hard_limit_reached"):
        assert classify_error({"code": code}) == "fatal"
    assert classify_error({"code": "session_expired"}) == "expired"
    assert classify_error({"code": "conversation_already_has_active_response"}) is None
    assert classify_error({}) is None
    assert fatal_message({"code": "insufficient_quota", "message": " You exceeded your current quota. "}) == (
        "the realtime server refused the session (insufficient_quota): You exceeded your current quota.")
    assert fatal_message({"code": "invalid_api_key"}) == (
        "the realtime server refused the session (invalid_api_key): no message")


def test_backoff_doubles_up_to_the_cap_with_jitter_between_three_quarters_and_one() -> None:
    plain = [backoff_delay(n, initial=0.5, most=8.0, jitter=1.0) for n in range(1, 8)]
    assert plain == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff_delay(3, initial=0.5, most=8.0, jitter=0.0) == 1.5
    assert backoff_delay(10_000, initial=0.5, most=8.0, jitter=0.5) == 7.0
    assert backoff_delay(1, initial=0.5, most=8.0, jitter=-3) == 0.375  # clamped


def test_cut_text_keeps_the_heard_words() -> None:
    text = "One two three four five six seven eight."
    assert cut_text(text, 0.5) == "One two three four…"
    assert cut_text(text, 1.0) == text
    assert cut_text(text, 0.0) == ""
    assert cut_text("Supercalifragilistic", 0.5) == "Supercalif…"


def _history() -> list:
    return [
        MessageItem("item_u1", "user", [{"type": "input_text", "text": "pay 5 please"}], "completed"),
        ToolCallItem("item_c1", "call_1", "pay", '{"amount": 5}', "completed", "paid 5"),
        MessageItem("item_a1", "assistant", [{"type": "audio", "transcript": "I paid 5 for you."}], "completed"),
        MessageItem("item_u2", "user", [{"type": "input_audio", "transcript": "and now the weather"}], "completed"),
        MessageItem("item_a2", "assistant", [{"type": "audio", "transcript": "It is sunny and warm today."}],
                    "incomplete"),
        MessageItem("item_u3", "user", [{"type": "input_audio", "transcript": None},
                                        {"type": "input_image", "image_url": "data:image/png;base64,AA==",
                                         "detail": None}], "completed"),
        ToolCallItem("item_c2", "call_2", "lookup", "", "completed", None),
        MessageItem("item_a3", "assistant", [{"type": "audio", "transcript": "Half a sent"}], "in_progress"),
        MessageItem("item_u4", "user", [{"type": "input_audio", "transcript": None}], "completed"),
    ]


def test_the_replay_rebuilds_the_conversation_in_order() -> None:
    replay = build_replay(_history(), {"item_a2": "It is sunny…"})
    assert [e["type"] for e in replay.events] == ["conversation.item.create"] * 9
    assert [e["item"] for e in replay.events] == [
        {"id": "item_u1", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "pay 5 please"}]},
        {"id": "item_c1", "type": "function_call", "call_id": "call_1", "name": "pay", "arguments": '{"amount": 5}'},
        {"id": "rtg_replay_output_1", "type": "function_call_output", "call_id": "call_1", "output": "paid 5"},
        {"id": "item_a1", "type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "I paid 5 for you."}]},
        {"id": "item_u2", "type": "message", "role": "user",
         "content": [{"type": "input_text", "text": "and now the weather"}]},
        {"id": "item_a2", "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "It is sunny…"}]},
        {"id": "item_u3", "type": "message", "role": "user",
         "content": [{"type": "input_image", "image_url": "data:image/png;base64,AA=="}]},
        {"id": "item_c2", "type": "function_call", "call_id": "call_2", "name": "lookup", "arguments": "{}"},
        {"id": NOTE_ID, "type": "message", "role": "system", "content": [{"type": "input_text", "text": NOTE}]},
    ]
    assert replay.counts == {"user": 3, "assistant": 2, "function_call": 2, "function_call_output": 1,
                             "truncated": 1, "skipped": 1}
    assert replay.item_ids == {"item_u1", "item_c1", "rtg_replay_output_1", "item_a1", "item_u2", "item_a2",
                               "item_u3", "item_c2", NOTE_ID}
    assert replay_summary(replay.counts, 2) == "5 messages, 2 tool calls, 1 cut short, 2 client events resent"


def test_a_reply_cut_before_a_word_was_heard_is_not_replayed() -> None:
    items = [MessageItem("u", "user", [{"type": "input_text", "text": "hi"}], "completed"),
             MessageItem("a", "assistant", [{"type": "audio", "transcript": "Hello there"}], "incomplete")]
    replay = build_replay(items, {"a": ""}, note=None)
    assert [e["item"]["id"] for e in replay.events] == ["u"]
    assert replay.counts == {"user": 1, "skipped": 1}
    assert build_replay([], {}).counts == {}


def test_the_model_owes_an_answer_after_a_user_message_or_a_tool_output() -> None:
    def create(item: dict) -> dict:
        return {"type": "conversation.item.create", "item": item}

    user = create({"type": "message", "role": "user", "content": []})
    assistant = create({"type": "message", "role": "assistant", "content": []})
    output = create({"type": "function_call_output", "call_id": "c", "output": "x"})
    call = create({"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"})
    note = create({"id": NOTE_ID, "type": "message", "role": "system", "content": []})
    assert owes_answer([user, note])
    assert owes_answer([assistant, output, note, {"type": "response.create"}])
    assert not owes_answer([user, assistant, note])
    assert not owes_answer([user, call, note])
    assert not owes_answer([note])


def test_pending_items_are_acknowledged_by_the_matching_added_item() -> None:
    pending = PendingItems()
    first = {"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                          "content": [{"type": "input_text", "text": "one"}]}}
    second = {"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                           "content": [{"type": "input_text", "text": "two"}]}}
    pending.sent(first)
    pending.sent(second)
    pending.sent({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "c"}})
    pending.sent({"type": "response.create"})
    assert len(pending) == 2
    pending.acked({"id": "item_9", "type": "message", "role": "user", "status": "completed",
                   "content": [{"type": "input_text", "text": "two"}]})
    pending.acked({"id": "item_8", "type": "message", "role": "assistant", "content": []})
    assert pending.take() == [first]
    assert pending.take() == []


def test_history_remembers_what_was_heard_and_forgets_unfinished_items() -> None:
    history = History()
    history.apply({"id": "a", "type": "message", "role": "assistant", "status": "in_progress",
                   "content": [{"type": "output_audio", "transcript": ""}]})
    history.add_transcript_delta("a", 0, "One two three four five six seven eight.", "transcript")
    history.truncate("a", 400, 800)
    history.truncate("missing", 1, 2)
    assert history.heard == {"a": "One two three four…"}
    history.apply({"id": "b", "type": "function_call", "call_id": "c", "name": "f", "status": "in_progress"})
    assert history.drop_unfinished() == ["a", "b"]
    assert history.items == [] and history.heard == {}
