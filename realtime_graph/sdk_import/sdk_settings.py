"""SDK session settings and run configuration → the ``kind: graph`` document's parts (pure).

Accepts what SDK code holds: a ``RealtimeRunConfig``, a ``RealtimeSessionModelSettings`` (as given
to ``RealtimeRunConfig.model_settings`` or ``model_config["initial_model_settings"]``) or a
``RealtimeModelConfig`` carrying ``initial_model_settings``. Flat SDK aliases are folded into the
nested GA shape the way the SDK's ``_get_session_config`` folds them (nested wins), formats become
GA objects and camelCase turn-detection keys snake_case. What has no YAML form becomes a note.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ("RUN_CONFIG_KEYS", "SettingsParts", "translate_settings")

RUN_CONFIG_KEYS = frozenset({"model_settings", "output_guardrails", "guardrails_settings", "tracing_disabled",
                             "async_tool_calls", "tool_execution", "tool_error_formatter"})
_MODEL_CONFIG_KEYS = frozenset({"initial_model_settings", "api_key", "url", "headers", "playback_tracker",
                                "call_id", "transport_config", "model"})

_PCM = {"type": "audio/pcm", "rate": 24000}
_FORMATS: dict[str, dict[str, Any]] = {
    "pcm16": _PCM, "pcm": _PCM, "audio/pcm": _PCM,
    "g711_ulaw": {"type": "audio/pcmu"}, "pcmu": {"type": "audio/pcmu"}, "audio/pcmu": {"type": "audio/pcmu"},
    "g711_alaw": {"type": "audio/pcma"}, "pcma": {"type": "audio/pcma"}, "audio/pcma": {"type": "audio/pcma"},
}
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
# GA session keys written as they are (the SDK sends them as given)
_PASS_THROUGH = ("max_output_tokens", "parallel_tool_calls", "reasoning", "truncation", "include")

Locate = Callable[[Any], "str | None"]


class SettingsParts:
    """What the graph document gets: ``model_settings``, ``run``, ``output_guardrails``, notes."""

    def __init__(self) -> None:
        self.model_settings: dict[str, Any] = {}
        self.run: dict[str, Any] = {}
        self.output_guardrails: list[dict[str, Any]] = []
        self.notes: list[str] = []


def _plain(value: Any) -> Any:
    """SDK/openai pydantic objects and TypedDicts → plain JSON data."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return _plain(dump(exclude_none=True))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _format(value: Any, where: str, notes: list[str]) -> dict[str, Any] | None:
    value = _plain(value)
    if isinstance(value, str):
        fmt = _FORMATS.get(value)
        if fmt is None:
            notes.append(f"{where}: unknown audio format {value!r} (the SDK drops it too); not written")
        return dict(fmt) if fmt else None
    if isinstance(value, Mapping) and isinstance(value.get("type"), str):
        fmt = dict(_FORMATS.get(value["type"], {"type": value["type"]}))
        if fmt.get("type") == "audio/pcm" and value.get("rate", 24000) != 24000:
            notes.append(f"{where}: rate {value.get('rate')} written as 24000 "
                         "(the only PCM rate; the SDK forces it too)")
        return fmt
    notes.append(f"{where}: audio format {value!r} has no YAML form; not written")
    return None


def _turn_detection(value: Any) -> Any:
    value = _plain(value)
    if not isinstance(value, Mapping):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        snake = _CAMEL.sub(lambda m: "_" + m.group(1).lower(), key)
        if snake not in out or snake == key:
            out[snake] = item
    return out


def _pick(nested: Mapping[str, Any], key: str, flat: Mapping[str, Any], alias: str) -> tuple[bool, Any]:
    if key in nested:
        return True, nested[key]
    if alias in flat:
        return True, flat[alias]
    return False, None


def _audio(settings: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    audio = _plain(settings.get("audio")) or {}
    nested_in = audio.get("input") or {} if isinstance(audio, Mapping) else {}
    nested_out = audio.get("output") or {} if isinstance(audio, Mapping) else {}
    audio_in: dict[str, Any] = {}
    audio_out: dict[str, Any] = {}
    has, fmt = _pick(nested_in, "format", settings, "input_audio_format")
    if has and fmt is not None and (parsed := _format(fmt, "audio.input.format", notes)):
        audio_in["format"] = parsed
    for key, alias in (("transcription", "input_audio_transcription"),
                       ("noise_reduction", "input_audio_noise_reduction")):
        has, value = _pick(nested_in, key, settings, alias)
        if has:
            audio_in[key] = _plain(value)
    has, value = _pick(nested_in, "turn_detection", settings, "turn_detection")
    if has:
        audio_in["turn_detection"] = _turn_detection(value)
    has, fmt = _pick(nested_out, "format", settings, "output_audio_format")
    if has and fmt is not None and (parsed := _format(fmt, "audio.output.format", notes)):
        audio_out["format"] = parsed
    for key in ("voice", "speed"):
        has, value = _pick(nested_out, key, settings, key)
        if has and value is not None:
            audio_out[key] = _plain(value)
    out: dict[str, Any] = {}
    if audio_in:
        out["input"] = audio_in
    if audio_out:
        out["output"] = audio_out
    return out


def _model_settings(settings: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if settings.get("model_name"):
        out["model_name"] = str(settings["model_name"])
    modalities = settings.get("output_modalities") or settings.get("modalities")
    if modalities:
        modalities = list(modalities)
        if "audio" in modalities and "text" in modalities:
            notes.append(f"output_modalities {modalities} written as [audio] (audio always comes with its transcript)")
            modalities = ["audio"]
        out["output_modalities"] = modalities
    if "tool_choice" in settings:
        out["tool_choice"] = _plain(settings["tool_choice"])
    if settings.get("prompt") is not None:
        out["prompt"] = {k: v for k, v in _plain(settings["prompt"]).items() if v is not None}
    if "tracing" in settings:
        out["tracing"] = _plain(settings["tracing"])
    audio = _audio(settings, notes)
    if audio:
        out["audio"] = audio
    for key in _PASS_THROUGH:
        if settings.get(key) is not None:
            out[key] = _plain(settings[key])
    for key in ("instructions", "tools", "handoffs"):
        if key in settings:
            notes.append(f"model settings {key!r}: not written; rtgraph takes instructions, tools and "
                         "handoffs from each agent (the SDK overwrites them from the agent on every agent switch)")
    known = {"model_name", "output_modalities", "modalities", "tool_choice", "prompt", "tracing", "audio",
             "voice", "speed", "input_audio_format", "output_audio_format", "input_audio_transcription",
             "input_audio_noise_reduction", "turn_detection", "instructions", "tools", "handoffs", *_PASS_THROUGH}
    for key in settings:
        if key not in known:
            notes.append(f"model settings {key!r}: not a Realtime session setting rtgraph knows; not written")
    return out


def translate_settings(value: Mapping[str, Any], locate: Locate) -> SettingsParts:
    """A run config, model settings or model config mapping → graph document parts."""
    parts = SettingsParts()
    keys = set(value)
    if keys & _MODEL_CONFIG_KEYS and not keys & RUN_CONFIG_KEYS:
        for key in sorted(keys - {"initial_model_settings"}):
            hint = " (write transport.api_key: \"${OPENAI_API_KEY}\")" if key == "api_key" else ""
            parts.notes.append(f"model config {key!r}: connection detail, not written{hint}")
        parts.model_settings = _model_settings(value.get("initial_model_settings") or {}, parts.notes)
        return parts
    if not keys & RUN_CONFIG_KEYS:
        parts.model_settings = _model_settings(value, parts.notes)
        return parts
    parts.model_settings = _model_settings(value.get("model_settings") or {}, parts.notes)
    for guardrail in value.get("output_guardrails") or []:
        target = locate(guardrail)
        if target is None:
            name = getattr(guardrail, "name", None) or getattr(getattr(guardrail, "guardrail_function", None),
                                                               "__name__", repr(guardrail))
            parts.notes.append(f"run config output guardrail {name!r}: not a module attribute, so no entrypoint "
                               "can name it; assign it to a module-level name and import again")
        else:
            parts.output_guardrails.append({"entrypoint": target})
    debounce = (value.get("guardrails_settings") or {}).get("debounce_text_length")
    if debounce is not None:
        parts.run["guardrails"] = {"debounce_text_length": debounce}
    for key in ("async_tool_calls", "tracing_disabled"):
        if key in value:
            parts.run[key] = bool(value[key])
    if value.get("tool_error_formatter") is not None:
        where = locate(value["tool_error_formatter"])
        parts.notes.append(
            f"run config tool_error_formatter {where or '(not a module attribute)'}: not written; the SDK calls it "
            "with ToolErrorFormatterArgs, rtgraph's run.tool_error_formatter with a ToolErrorInfo (docs/format.md)")
    if value.get("tool_execution"):
        parts.notes.append("run config tool_execution (pre_approval_tool_input_guardrails): rtgraph has no "
                           "tool input guardrails; not written")
    return parts
