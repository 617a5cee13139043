"""The simulator's ``conversation.item.*`` client events against its conversation store: pure
functions (conversation, ids, event) → server events, validated before anything changes, in the
live API's words."""

from __future__ import annotations

import base64
from typing import Any

from ...audio import AudioFormat, bytes_per_ms
from .conversation import Conversation, StoredItem
from .fieldcheck import check_message_content
from .generation import ResponseRun
from .vocabulary import IdFactory

__all__ = ("create_item", "delete_item", "retrieve_item", "truncate_item")


def create_item(conversation: Conversation, ids: IdFactory, event: dict[str, Any],
                input_format: AudioFormat) -> list[dict[str, Any]]:
    """``conversation.item.create``: validated, stored, echoed as ``added`` then ``done``."""
    item = event.get("item")
    if not isinstance(item, dict) or "type" not in item:
        return [ids.error_event("missing_required_parameter", "Missing required parameter: 'item.type'.",
                                param="item.type", client=event)]
    previous_id = event.get("previous_item_id")
    if previous_id not in (None, "root") and conversation.find(previous_id) is None:
        return [ids.error_event("invalid_value", f"Invalid value: previous_item_id '{previous_id}' "
                                "does not exist in the conversation.", param="previous_item_id", client=event)]
    content = item.get("content", [])
    # Checked up front: a stored non-object part would break every later response.create.
    bad = "item.content" if not isinstance(content, list) else next(
        (f"item.content[{i}]" for i, part in enumerate(content) if not isinstance(part, dict)), None)
    if bad is not None:
        expected = "an array" if bad == "item.content" else "an object"
        return [ids.error_event("invalid_type", f"Invalid type for '{bad}': expected {expected}.",
                                param=bad, client=event)]
    if item["type"] == "message":
        check_message_content(item)
    if item["type"] == "function_call_output" and item.get("call_id") not in conversation.call_names():
        return [ids.error_event("invalid_value", "Tool call ID '{}' not found in conversation.".format(
            item.get("call_id")), param="item.call_id", client=event)]
    if item.get("role") == "assistant" and any(
        p.get("type") == "output_audio" for p in content
    ):
        return [ids.error_event("invalid_value", "Assistant audio messages cannot be created.",
                                param="item.content", client=event)]
    wire = {"id": item.get("id") or ids.new("item_"), **{k: v for k, v in item.items() if k != "id"}}
    wire.setdefault("status", "completed")
    stored = StoredItem(item=wire)
    audio = b"".join(base64.b64decode(p.get("audio", "")) for p in content if p.get("type") == "input_audio")
    if audio:
        stored.audio = audio
        stored.audio_ms = len(audio) // bytes_per_ms(input_format)
        wire["content"] = [{k: v for k, v in p.items() if k != "audio"} for p in wire["content"]]
    previous = conversation.add(stored, previous_id)
    return [ids.server_event("conversation.item.added", previous_item_id=previous, item=dict(wire)),
            ids.server_event("conversation.item.done", previous_item_id=previous, item=dict(wire))]


def retrieve_item(conversation: Conversation, ids: IdFactory, event: dict[str, Any]) -> list[dict[str, Any]]:
    """``conversation.item.retrieve``."""
    stored = conversation.find(event.get("item_id", ""))
    if stored is None:
        return [_item_missing(ids, event)]
    return [ids.server_event("conversation.item.retrieved", item=conversation.retrieved(stored))]


def delete_item(conversation: Conversation, ids: IdFactory, event: dict[str, Any]) -> list[dict[str, Any]]:
    """``conversation.item.delete``."""
    item_id = event.get("item_id", "")
    if not conversation.delete(item_id):
        return [_item_missing(ids, event)]
    return [ids.server_event("conversation.item.deleted", item_id=item_id)]


def _item_missing(ids: IdFactory, event: dict[str, Any]) -> dict[str, Any]:
    return ids.error_event("invalid_value", f"Item with item_id '{event.get('item_id')}' not found.",
                           param="item_id", client=event)


def truncate_item(conversation: Conversation, ids: IdFactory, event: dict[str, Any], active: ResponseRun | None,
                  output_format: AudioFormat) -> list[dict[str, Any]]:
    """``conversation.item.truncate``: of the response streaming now (``active``) or of stored
    assistant audio (cut to ``audio_end_ms``, transcript dropped as live)."""
    item_id = event.get("item_id", "")
    stored = conversation.find(item_id)
    if stored is None:
        return [_item_missing(ids, event)]
    # A client cutting playback short usually truncates while the response is still streaming.
    generated = active.open_audio_ms(item_id) if active is not None else None
    is_audio = generated is not None or (stored.item.get("role") == "assistant" and any(
        p.get("type") == "output_audio" for p in stored.item.get("content", [])))
    if not is_audio:
        return [ids.error_event("unsupported_content_type", "Only model output audio messages can be "
                                "truncated", param="item_id", client=event)]
    available = generated if generated is not None else stored.audio_ms
    end_ms = event.get("audio_end_ms", 0)
    if not isinstance(end_ms, int) or not 0 <= end_ms <= available:
        return [ids.error_event("invalid_value", f"Audio content of {available}ms is already "
                                f"shorter than {end_ms}ms", param="audio_end_ms", client=event)]
    if generated is not None:
        assert active is not None
        active.truncate_open(end_ms)
    else:
        stored.audio = stored.audio[:end_ms * bytes_per_ms(output_format)]
        stored.audio_ms = end_ms
        # The server drops the transcript so no unheard text stays in context.
        stored.item["content"] = [{"type": "output_audio", "transcript": ""}]
    return [ids.server_event("conversation.item.truncated", item_id=item_id,
                        content_index=event.get("content_index", 0), audio_end_ms=end_ms)]
