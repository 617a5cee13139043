"""Streamed transcripts accumulate in history and read back whole."""

from __future__ import annotations

from realtime_graph.runtime.history import History, MessageItem


def assistant(item_id: str, transcript: str = "") -> dict:
    return {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress",
            "content": [{"type": "output_audio", "transcript": transcript}]}


def test_deltas_read_back_joined_and_survive_an_empty_done_transcript() -> None:
    history = History()
    history.apply(assistant("item_1"))
    for word in ("Hello", " there", ",", " caller."):
        history.add_transcript_delta("item_1", 0, word, "transcript")
    item = history.get("item_1")
    assert isinstance(item, MessageItem) and item.content[0]["transcript"] == "Hello there, caller."
    # the server's item.done may carry an empty transcript: the streamed text is kept
    history.apply({**assistant("item_1"), "status": "completed"})
    assert history.items[0].content[0]["transcript"] == "Hello there, caller."


def test_deltas_for_unknown_items_are_ignored_and_parts_are_created_on_demand() -> None:
    history = History()
    history.add_transcript_delta("nope", 0, "lost", "transcript")
    history.apply({"id": "item_2", "type": "message", "role": "assistant", "content": []})
    history.add_transcript_delta("item_2", 0, "text ", "text")
    history.add_transcript_delta("item_2", 0, "reply", "text")
    assert [i.item_id for i in history.items] == ["item_2"]
    assert history.items[0].content == [{"type": "text", "text": "text reply"}]
