"""Field checks on client events before the engine applies them (pure).

The live API answers a malformed field with an ``error`` event in its own words (``Invalid type
for 'item.content': expected an array.``); these checks produce those words, so a Python
exception text never reaches a client.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

__all__ = ("FieldError", "check_fields", "check_message_content", "check_response_params")

# client event type -> field -> expected JSON type
_FIELDS: dict[str, dict[str, str]] = {
    "session.update": {"session": "object"},
    "input_audio_buffer.append": {"audio": "string"},
    "conversation.item.create": {"item": "object", "previous_item_id": "string"},
    "conversation.item.retrieve": {"item_id": "string"},
    "conversation.item.delete": {"item_id": "string"},
    "conversation.item.truncate": {"item_id": "string", "content_index": "integer", "audio_end_ms": "integer"},
    "response.create": {"response": "object"},
    "response.cancel": {"response_id": "string"},
}
_ARTICLE = {"object": "an object", "string": "a string", "integer": "an integer", "array": "an array"}
_JSON_TYPE = {dict: "object", str: "string", int: "integer", list: "array", bool: "boolean",
              float: "number", type(None): "null"}

# role -> content part types the API accepts in conversation.item.create
_CONTENT_TYPES = {
    "system": ("input_text",),
    "user": ("input_text", "input_audio", "input_image"),
    "assistant": ("output_text", "output_audio"),
}


class FieldError(Exception):
    """A rejected field: becomes an ``error`` event with ``code``, ``message`` and ``param``."""

    def __init__(self, code: str, message: str, param: str | None) -> None:
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


def _json_type(value: Any) -> str:
    return _JSON_TYPE.get(type(value), "value")


def _expect(value: Any, wanted: str, path: str) -> None:
    got = _json_type(value)
    if got != wanted:
        raise FieldError("invalid_type", f"Invalid type for '{path}': expected {_ARTICLE[wanted]}, "
                         f"but got {'a' if got != 'integer' else 'an'} {got} instead.", path)


def _supported(values: tuple[str, ...]) -> str:
    quoted = [f"'{v}'" for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" and {quoted[-1]}"


def check_fields(kind: str, event: dict[str, Any]) -> None:
    """Type-check the top-level fields of a client event. :raises FieldError:"""
    for name, wanted in _FIELDS.get(kind, {}).items():
        if name in event and not (event[name] is None and name in ("previous_item_id", "response_id")):
            _expect(event[name], wanted, name)


def check_message_content(item: dict[str, Any]) -> None:
    """A ``message`` item's role and content part types, as the API allows them. :raises FieldError:"""
    role = item.get("role")
    if role not in _CONTENT_TYPES:
        raise FieldError("invalid_value", f"Invalid value: '{role}'. Supported values are: "
                         f"{_supported(tuple(_CONTENT_TYPES))}.", "item.role")
    allowed = _CONTENT_TYPES[role]
    for index, part in enumerate(item.get("content", [])):
        kind = part.get("type")
        if kind not in allowed:
            raise FieldError("invalid_value", f"Invalid value: '{kind}'. Supported values are: "
                             f"{_supported(allowed)}.", f"item.content[{index}].type")
        text_field = {"input_text": "text", "output_text": "text", "input_audio": "audio"}.get(kind)
        if text_field is not None and text_field in part:
            _expect(part[text_field], "string", f"item.content[{index}].{text_field}")
        if kind == "input_audio" and "audio" in part:
            try:
                base64.b64decode(part["audio"], validate=True)
            except binascii.Error:
                path = f"item.content[{index}].audio"
                raise FieldError("invalid_value", f"Invalid value: '{path}' is not valid base64.", path) from None


def check_response_params(params: dict[str, Any]) -> None:
    """``response.create``'s ``response`` fields the simulator acts on. :raises FieldError:"""
    conversation = params.get("conversation", "auto")
    if conversation not in ("auto", "none"):
        shown = conversation if isinstance(conversation, str) else _json_type(conversation)
        raise FieldError("invalid_value", f"Invalid value: '{shown}'. Supported values are: 'auto' and 'none'.",
                         "response.conversation")
    for name, wanted in (("tools", "array"), ("instructions", "string"), ("metadata", "object"),
                         ("output_modalities", "array"), ("audio", "object")):
        if name in params and params[name] is not None:
            _expect(params[name], wanted, f"response.{name}")
    output = (params.get("audio") or {}).get("output")
    if output is not None:
        _expect(output, "object", "response.audio.output")
