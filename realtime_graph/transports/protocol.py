"""Pure builders for GA Realtime client events, and small readers for server events.

Every function returns a fresh JSON-shaped ``dict`` exactly as it goes on the wire (the
transport only ``json.dumps`` it). Nothing here does I/O, so the mapping from intent to wire
bytes is testable without a socket; the tests validate every builder against the official
``openai.types.realtime.RealtimeClientEvent`` union.

The server-event helper :func:`is_function_call_done` keeps the rule for when a tool call is
ready to run in one place.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = (
    "AUDIO_DELTA",
    "CLIENT_EVENT_TYPES",
    "audio_append",
    "audio_clear",
    "audio_commit",
    "function_call_output",
    "is_function_call_done",
    "item_delete",
    "item_retrieve",
    "item_truncate",
    "redact_secrets",
    "response_cancel",
    "response_create",
    "session_update",
    "system_message",
    "user_message",
)

CLIENT_EVENT_TYPES = frozenset({
    "session.update", "input_audio_buffer.append", "input_audio_buffer.commit",
    "input_audio_buffer.clear", "output_audio_buffer.clear", "conversation.item.create",
    "conversation.item.retrieve", "conversation.item.truncate", "conversation.item.delete",
    "response.create", "response.cancel",
})
"""The 11 GA client event types (anything else is rejected by the server)."""

AUDIO_DELTA = "response.output_audio.delta"

_IMAGE_DETAILS = frozenset({"auto", "low", "high"})


REDACTED = "[redacted]"


def redact_secrets(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """``event`` with hosted (MCP) tools' ``authorization`` and header values replaced by
    ``[redacted]`` (a copy; the event itself when it carries none), for cassettes and raw events.

    ``session.update`` sends them resolved from ``${ENV}`` references, and a server may echo the
    session back; anything that stores or shows events passes them through here first.
    """
    session = event.get("session")
    if not isinstance(session, Mapping):
        return event
    tools = session.get("tools")
    if not isinstance(tools, list) or not any(
            isinstance(t, Mapping) and ("authorization" in t or t.get("headers")) for t in tools):
        return event
    cleaned = []
    for tool in tools:
        if isinstance(tool, Mapping) and ("authorization" in tool or tool.get("headers")):
            tool = dict(tool)
            if "authorization" in tool:
                tool["authorization"] = REDACTED
            if isinstance(tool.get("headers"), Mapping):
                tool["headers"] = dict.fromkeys(tool["headers"], REDACTED)
        cleaned.append(tool)
    return {**event, "session": {**session, "tools": cleaned}}


def _with_event_id(event: dict[str, Any], event_id: str | None) -> dict[str, Any]:
    if event_id is not None:
        event["event_id"] = event_id
    return event


def session_update(session: Mapping[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """``session.update`` carrying a GA session object (must contain ``type: "realtime"``)."""
    if session.get("type") not in ("realtime", "transcription"):
        raise ValueError("session.update requires session['type'] of 'realtime' or 'transcription'")
    return _with_event_id({"type": "session.update", "session": dict(session)}, event_id)


def _content_part(part: Mapping[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "input_text":
        text = part.get("text")
        if not isinstance(text, str):
            raise ValueError("input_text part needs a string 'text'")
        return {"type": "input_text", "text": text}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str) or not url:
            raise ValueError("input_image part needs a non-empty string 'image_url' (a data: URI)")
        out: dict[str, Any] = {"type": "input_image", "image_url": url}
        detail = part.get("detail")
        if detail is not None:
            if detail not in _IMAGE_DETAILS:
                raise ValueError(f"input_image detail must be one of auto, low, high; got {detail!r}")
            out["detail"] = detail
        return out
    raise ValueError(f"unsupported message content part type {kind!r}: use input_text or input_image")


def user_message(message: str | Mapping[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """``conversation.item.create`` with a user message.

    ``message`` is plain text, or ``{"role": "user", "content": [<input_text | input_image>...]}``.
    Malformed parts raise :class:`ValueError` (the SDK silently drops them; we would rather say so).
    """
    if isinstance(message, str):
        content = [{"type": "input_text", "text": message}]
    else:
        role = message.get("role", "user")
        if role != "user":
            raise ValueError(f"only user messages can be sent; got role {role!r}")
        parts = message.get("content")
        if not isinstance(parts, Sequence) or isinstance(parts, str) or not parts:
            raise ValueError("a structured message needs a non-empty 'content' list")
        content = [_content_part(p) for p in parts]
    item = {"type": "message", "role": "user", "content": content}
    return _with_event_id({"type": "conversation.item.create", "item": item}, event_id)


def system_message(text: str, *, event_id: str | None = None) -> dict[str, Any]:
    """``conversation.item.create`` with a system message (one ``input_text`` part)."""
    item = {"type": "message", "role": "system", "content": [{"type": "input_text", "text": text}]}
    return _with_event_id({"type": "conversation.item.create", "item": item}, event_id)


def audio_append(audio: bytes, *, event_id: str | None = None) -> dict[str, Any]:
    """``input_audio_buffer.append`` with ``audio`` (raw bytes in the input format) base64-encoded."""
    return _with_event_id(
        {"type": "input_audio_buffer.append", "audio": base64.b64encode(audio).decode("ascii")},
        event_id)


def audio_commit(*, event_id: str | None = None) -> dict[str, Any]:
    """``input_audio_buffer.commit``."""
    return _with_event_id({"type": "input_audio_buffer.commit"}, event_id)


def audio_clear(*, event_id: str | None = None) -> dict[str, Any]:
    """``input_audio_buffer.clear``."""
    return _with_event_id({"type": "input_audio_buffer.clear"}, event_id)


def response_create(*, event_id: str | None = None,
                    response: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``response.create``; ``response`` holds per-response overrides (instructions, tools, ...)."""
    event: dict[str, Any] = {"type": "response.create"}
    if response is not None:
        event["response"] = dict(response)
    return _with_event_id(event, event_id)


def response_cancel(response_id: str | None = None, *, event_id: str | None = None) -> dict[str, Any]:
    """``response.cancel``, scoped to ``response_id`` when given."""
    event: dict[str, Any] = {"type": "response.cancel"}
    if response_id is not None:
        event["response_id"] = response_id
    return _with_event_id(event, event_id)


def item_truncate(item_id: str, content_index: int, audio_end_ms: int, *,
                  event_id: str | None = None) -> dict[str, Any]:
    """``conversation.item.truncate``: drop assistant audio after ``audio_end_ms`` (an int >= 0)."""
    if audio_end_ms < 0:
        raise ValueError("audio_end_ms must be >= 0")
    return _with_event_id({"type": "conversation.item.truncate", "item_id": item_id,
                           "content_index": content_index, "audio_end_ms": int(audio_end_ms)},
                          event_id)


def function_call_output(call_id: str, output: str, *, event_id: str | None = None) -> dict[str, Any]:
    """``conversation.item.create`` with a ``function_call_output`` item (``output`` is a string)."""
    item = {"type": "function_call_output", "call_id": call_id, "output": output}
    return _with_event_id({"type": "conversation.item.create", "item": item}, event_id)


def item_retrieve(item_id: str, *, event_id: str | None = None) -> dict[str, Any]:
    """``conversation.item.retrieve``."""
    return _with_event_id({"type": "conversation.item.retrieve", "item_id": item_id}, event_id)


def item_delete(item_id: str, *, event_id: str | None = None) -> dict[str, Any]:
    """``conversation.item.delete``."""
    return _with_event_id({"type": "conversation.item.delete", "item_id": item_id}, event_id)


def is_function_call_done(event: Mapping[str, Any]) -> bool:
    """True for ``response.output_item.done`` carrying a completed ``function_call`` item."""
    item = event.get("item")
    return (isinstance(item, Mapping) and item.get("type") == "function_call"
            and item.get("status") == "completed")
