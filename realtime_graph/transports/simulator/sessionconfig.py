"""The simulated session configuration: GA defaults and ``session.update`` merging (pure).

Mirrors the live server: an update changes only the fields present, ``session.type`` is
required, and one unknown (e.g. beta-named) field rejects the whole update.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from ...audio import format_from_wire

__all__ = (
    "DEFAULT_INSTRUCTIONS",
    "VOICES",
    "SessionUpdateError",
    "apply_update",
    "check_tool_choice",
    "check_voice",
    "default_session",
)

DEFAULT_INSTRUCTIONS = (
    "Your knowledge cutoff is 2023-10. You are a helpful, witty, and friendly AI. "
    "You are running in the realtime-graph simulator."
)

_SESSION_KEYS = frozenset({
    "type", "model", "instructions", "output_modalities", "audio", "tools", "tool_choice",
    "max_output_tokens", "tracing", "prompt", "truncation", "include", "reasoning",
    "parallel_tool_calls",
})
_AUDIO_KEYS = {
    "input": frozenset({"format", "transcription", "noise_reduction", "turn_detection"}),
    "output": frozenset({"format", "voice", "speed"}),
}
VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")
"""The built-in voices; a custom voice is an object ``{"id": "voice_..."}``."""
_TOOL_CHOICE_MODES = ("auto", "none", "required")
_SERVER_VAD_DEFAULTS = {
    "type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 200,
    "idle_timeout_ms": None, "create_response": True, "interrupt_response": True,
}
_SEMANTIC_VAD_DEFAULTS = {
    "type": "semantic_vad", "eagerness": "auto", "create_response": True, "interrupt_response": True,
}
_VAD_KEYS = {
    "server_vad": frozenset(_SERVER_VAD_DEFAULTS),
    "semantic_vad": frozenset(_SEMANTIC_VAD_DEFAULTS),
}


class SessionUpdateError(Exception):
    """A rejected update: becomes an ``error`` event with ``code``, ``message`` and ``param``."""

    def __init__(self, code: str, message: str, param: str | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


def default_session(
    *, session_id: str, model: str | None, expires_at: int
) -> dict[str, Any]:
    """The session object of ``session.created`` (live GA defaults; no model when attaching)."""
    pcm = {"type": "audio/pcm", "rate": 24000}
    session: dict[str, Any] = {"type": "realtime", "object": "realtime.session", "id": session_id}
    if model is not None:
        session["model"] = model
    session.update({
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": dict(pcm),
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": dict(_SERVER_VAD_DEFAULTS),
            },
            "output": {"format": dict(pcm), "voice": "alloy", "speed": 1.0},
        },
        "include": None,
    })
    return session


def _unknown(path: str) -> SessionUpdateError:
    return SessionUpdateError("unknown_parameter", f"Unknown parameter: '{path}'.", path)


def _invalid(path: str, value: Any) -> SessionUpdateError:
    shown = value if isinstance(value, str) else json.dumps(value, default=str)
    return SessionUpdateError("invalid_value", f"Invalid value: '{shown}'.", path)


def _supported(values: tuple[str, ...]) -> str:
    quoted = [f"'{v}'" for v in values]
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


def check_voice(path: str, value: Any) -> None:
    """A built-in voice name or a custom voice ``{"id": ...}``. :raises SessionUpdateError:"""
    if isinstance(value, dict) and set(value) == {"id"} and isinstance(value["id"], str) and value["id"]:
        return
    if value not in VOICES:
        shown = value if isinstance(value, str) else json.dumps(value)
        raise SessionUpdateError("invalid_value", f"Invalid value: '{shown}'. Supported values are: "
                                 f"{_supported(VOICES)}.", path)


def check_tool_choice(path: str, value: Any) -> None:
    """``auto``/``none``/``required``, a function or an MCP tool. :raises SessionUpdateError:"""
    if value in _TOOL_CHOICE_MODES:
        return
    if isinstance(value, dict):
        kind = value.get("type")
        if kind == "function" and set(value) == {"type", "name"} and isinstance(value["name"], str):
            return
        if (kind == "mcp" and isinstance(value.get("server_label"), str)
                and set(value) <= {"type", "server_label", "name"}):
            return
        raise SessionUpdateError("invalid_value", "Invalid value for 'tool_choice': expected "
                                 "{'type': 'function', 'name': ...} or {'type': 'mcp', 'server_label': ...}.", path)
    shown = value if isinstance(value, str) else json.dumps(value)
    raise SessionUpdateError("invalid_value", f"Invalid value: '{shown}'. Supported values are: "
                             f"{_supported(_TOOL_CHOICE_MODES)}.", path)


def _check_tools(value: Any) -> None:
    path = "session.tools"
    if not isinstance(value, list):
        raise SessionUpdateError("invalid_type", f"Invalid type for '{path}': expected an array.", path)
    for index, tool in enumerate(value):
        where = f"{path}[{index}]"
        if not isinstance(tool, dict):
            raise SessionUpdateError("invalid_type", f"Invalid type for '{where}': expected an object.", where)
        if tool.get("type") not in ("function", "mcp"):
            raise SessionUpdateError("invalid_value", f"Invalid value: '{tool.get('type')}'. Supported values are: "
                                     "'function' and 'mcp'.", f"{where}.type")
        key = "name" if tool["type"] == "function" else "server_label"
        if not isinstance(tool.get(key), str) or not tool[key]:
            raise SessionUpdateError("missing_required_parameter", f"Missing required parameter: '{where}.{key}'.",
                                     f"{where}.{key}")


def _turn_detection(value: Any) -> dict[str, Any] | None:
    path = "session.audio.input.turn_detection"
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _invalid(path, value)
    kind = value.get("type")
    if kind not in _VAD_KEYS:
        raise _invalid(f"{path}.type", kind)
    for key in value:
        if key not in _VAD_KEYS[kind]:
            raise _unknown(f"{path}.{key}")
    defaults = _SERVER_VAD_DEFAULTS if kind == "server_vad" else _SEMANTIC_VAD_DEFAULTS
    return {**defaults, **value}


def _format(path: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(path, value)
    try:
        return format_from_wire(value).to_wire()
    except ValueError:
        raise _invalid(f"{path}.type", value.get("type")) from None


def apply_update(session: dict[str, Any], update: Any, *, audio_present: bool = False) -> dict[str, Any]:
    """``session`` with ``update`` applied (a new dict; ``session`` is untouched).

    ``audio_present``: the conversation holds assistant audio, so the voice is locked (as live).

    :raises SessionUpdateError: missing ``type``, unknown key, invalid value, a voice change after
        audio, or a model change; nothing applied.
    """
    if not isinstance(update, dict):
        raise SessionUpdateError("missing_required_parameter", "Missing required parameter: 'session'.", "session")
    if "type" not in update:
        raise SessionUpdateError(
            "missing_required_parameter", "Missing required parameter: 'session.type'.", "session.type"
        )
    if update["type"] != "realtime":
        raise _invalid("session.type", update["type"])
    for key in update:
        if key not in _SESSION_KEYS:
            raise _unknown(f"session.{key}")
    merged = copy.deepcopy(session)
    for key, value in update.items():
        if key == "audio":
            _merge_audio(merged["audio"], value, audio_present=audio_present)
        elif key == "model":
            _check_model(session, value)
            merged["model"] = value  # repeating the URL's model, or naming an attached call's
        elif key == "output_modalities" and value not in (["audio"], ["text"]):
            raise _invalid("session.output_modalities", value)
        elif key == "tool_choice":
            check_tool_choice("session.tool_choice", value)
            merged[key] = copy.deepcopy(value)
        elif key == "tools":
            _check_tools(value)
            merged[key] = copy.deepcopy(value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _check_model(session: dict[str, Any], value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise SessionUpdateError("invalid_type", "Invalid type for 'session.model': expected a string.",
                                 "session.model")
    current = session.get("model")
    if current is not None and value != current:
        # The model is fixed when the session is created (by the URL or the accepted call).
        raise SessionUpdateError("invalid_value", f"Cannot update a session's model: the session uses "
                                 f"'{current}', got '{value}'.", "session.model")


def _merge_audio(audio: dict[str, Any], update: Any, *, audio_present: bool) -> None:
    if not isinstance(update, dict):
        raise _invalid("session.audio", update)
    for side, fields in update.items():
        if side not in _AUDIO_KEYS:
            raise _unknown(f"session.audio.{side}")
        if not isinstance(fields, dict):
            raise _invalid(f"session.audio.{side}", fields)
        for key, value in fields.items():
            path = f"session.audio.{side}.{key}"
            if key not in _AUDIO_KEYS[side]:
                raise _unknown(path)
            if key == "format":
                value = _format(path, value)
            elif key == "turn_detection":
                value = _turn_detection(value)
            elif key == "voice":
                check_voice(path, value)
                if audio_present and value != audio[side][key]:
                    raise SessionUpdateError("cannot_update_voice",
                                             "Cannot update a conversation's voice if assistant audio is present.",
                                             None)
            audio[side][key] = copy.deepcopy(value)
