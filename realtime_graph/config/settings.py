"""Normalise ``model_settings`` (legacy flat aliases → GA nesting) and ``transport`` (secrets)."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from ..graph.model import Secret, TransportSettings, freeze
from .envrefs import has_reference, literal_default, to_secret
from .issues import IssueSink
from .yamlsource import Document, JsonPath

__all__ = ("hosted_tools", "normalise_agent_settings", "normalise_model_settings", "transport_settings")

_FORMATS: dict[str, dict[str, Any]] = {
    "pcm16": {"type": "audio/pcm", "rate": 24000},
    "pcm": {"type": "audio/pcm", "rate": 24000},
    "audio/pcm": {"type": "audio/pcm", "rate": 24000},
    "g711_ulaw": {"type": "audio/pcmu"},
    "pcmu": {"type": "audio/pcmu"},
    "audio/pcmu": {"type": "audio/pcmu"},
    "g711_alaw": {"type": "audio/pcma"},
    "pcma": {"type": "audio/pcma"},
    "audio/pcma": {"type": "audio/pcma"},
}
# legacy flat key -> GA path
_ALIASES: dict[str, tuple[str, ...]] = {
    "voice": ("audio", "output", "voice"),
    "speed": ("audio", "output", "speed"),
    "input_audio_format": ("audio", "input", "format"),
    "output_audio_format": ("audio", "output", "format"),
    "input_audio_transcription": ("audio", "input", "transcription"),
    "input_audio_noise_reduction": ("audio", "input", "noise_reduction"),
    "turn_detection": ("audio", "input", "turn_detection"),
    "modalities": ("output_modalities",),
}
_FORMAT_PATHS = (("audio", "input", "format"), ("audio", "output", "format"))
_CREDENTIAL_HEADER = re.compile(r"authorization|key|token|secret", re.IGNORECASE)


_MISSING = object()


def _get(tree: Mapping[str, Any], path: tuple[str, ...], default: Any = None) -> Any:
    for part in path:
        if not isinstance(tree, Mapping) or part not in tree:
            return default
        tree = tree[part]
    return tree


def _has(tree: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    return _get(tree, path, _MISSING) is not _MISSING


def _set(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


_MCP_SERVER_KEYS = ("server_url", "connector_id", "tunnel_id")


def _secret_value(value: str, what: str, credential: bool, doc: Document, path: JsonPath, sink: IssueSink,
                  environ: Mapping[str, str], hint: str) -> str | Secret | None:
    """``value`` as a :class:`Secret` when it references the environment; a literal credential is RG503."""
    if has_reference(value):
        if credential and literal_default(value):
            sink.add("RG503", f"{what} must not have a literal `:-default` (a literal secret)", doc, path, hint=hint)
            return None
        return to_secret(value, doc, path, sink, environ)
    if credential:
        sink.add("RG503", f"{what} must use an ${{ENV}} reference, not a literal secret", doc, path, hint=hint)
        return None
    return value


def hosted_tools(raw: list[Mapping[str, Any]], doc: Document, base: JsonPath, sink: IssueSink,
                 environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """``model_settings.tools`` (hosted MCP servers) with ``${ENV}`` headers and ``authorization``
    as :class:`Secret` s, revealed only when a session sends them."""
    out: list[dict[str, Any]] = []
    for index, tool in enumerate(raw):
        path = (*base, index)
        label = tool["server_label"]
        given = [k for k in _MCP_SERVER_KEYS if k in tool]
        if len(given) != 1:
            sink.add("RG110", f"mcp tool {label!r} needs exactly one of server_url, connector_id or tunnel_id"
                     + (f", got {', '.join(given)}" if given else ""), doc, path,
                     hint="e.g. server_url: https://mcp.example.com/sse")
        entry = copy.deepcopy(dict(tool))
        if "authorization" in tool:
            entry["authorization"] = _secret_value(
                tool["authorization"], f"authorization of mcp tool {label!r}", True, doc,
                (*path, "authorization"), sink, environ, hint='write authorization: "${MCP_OAUTH_TOKEN}" and export it')
        headers: dict[str, str | Secret | None] = {}
        for name, value in (tool.get("headers") or {}).items():
            headers[name] = _secret_value(
                value, f"header {name!r} of mcp tool {label!r}", bool(_CREDENTIAL_HEADER.search(name)), doc,
                (*path, "headers", name), sink, environ,
                hint=f'write {name}: "Bearer ${{MCP_TOKEN}}" (or "${{MY_KEY}}") and export it')
        if tool.get("headers") is not None:
            entry["headers"] = headers
        out.append(entry)
    return out


def normalise_model_settings(raw: Mapping[str, Any], doc: Document, base: JsonPath,
                             sink: IssueSink, environ: Mapping[str, str]) -> Mapping[str, Any]:
    """GA-shaped, frozen settings; legacy aliases folded in (nested values win); hosted tools'
    secrets as :class:`Secret` s."""
    out = copy.deepcopy({k: v for k, v in raw.items() if k not in _ALIASES and k != "tools"})
    if "tools" in raw:
        out["tools"] = hosted_tools(raw["tools"], doc, (*base, "tools"), sink, environ)
    source: dict[tuple[str, ...], JsonPath] = {p: (*base, *p) for p in _FORMAT_PATHS}
    for alias, target in _ALIASES.items():
        if alias in raw and not _has(out, target):
            value = raw[alias]
            if alias == "modalities" and "audio" in value:
                value = ["audio"]  # GA: audio output always carries its transcript
            _set(out, target, copy.deepcopy(value))
            source[target] = (*base, alias)
    for path in _FORMAT_PATHS:
        value = _get(out, path)
        if isinstance(value, str):
            fmt = _FORMATS.get(value.lower())
            if fmt is None:
                sink.add("RG504", f"unknown audio format {value!r}", doc, source[path],
                         hint="use pcm16 (audio/pcm, 24 kHz), g711_ulaw (audio/pcmu) or g711_alaw (audio/pcma)")
            else:
                _set(out, path, dict(fmt))
    frozen: Mapping[str, Any] = freeze(out)
    return frozen


def normalise_agent_settings(raw: Mapping[str, Any], doc: Document, sink: IssueSink,
                             environ: Mapping[str, str]) -> Mapping[str, Any]:
    """Per-agent overrides in GA shape (the legacy ``voice`` alias folded in, nested winning;
    hosted tools' secrets as :class:`Secret` s)."""
    out = copy.deepcopy({k: v for k, v in raw.items() if k not in ("voice", "tools")})
    if "tools" in raw:
        out["tools"] = hosted_tools(raw["tools"], doc, ("model_settings", "tools"), sink, environ)
    if "voice" in raw and not _has(out, ("audio", "output", "voice")):
        _set(out, ("audio", "output", "voice"), raw["voice"])
    frozen: Mapping[str, Any] = freeze(out)
    return frozen


def transport_settings(raw: Mapping[str, Any], doc: Document, sink: IssueSink,
                       environ: Mapping[str, str]) -> TransportSettings:
    """The ``transport`` section; credentials must be ``${ENV}`` references (never echoed)."""
    base: JsonPath = ("transport",)
    api_key: Secret | None = None
    if "api_key" in raw:
        value = raw["api_key"]
        if not has_reference(value):
            sink.add("RG503", "transport.api_key must be an ${ENV} reference, not a literal key", doc,
                     (*base, "api_key"), hint='write api_key: "${OPENAI_API_KEY}" and export the key')
        elif literal_default(value):
            sink.add("RG503", "transport.api_key must not have a literal `:-default` (a literal key)", doc,
                     (*base, "api_key"), hint='write api_key: "${OPENAI_API_KEY}" and export the key')
        else:
            api_key = to_secret(value, doc, (*base, "api_key"), sink, environ)
    headers: dict[str, str | Secret] = {}
    for name, value in raw.get("headers", {}).items():
        path = (*base, "headers", name)
        if has_reference(value) and _CREDENTIAL_HEADER.search(name) and literal_default(value):
            sink.add("RG503", f"header {name!r} looks like a credential and must not have a literal `:-default`",
                     doc, path, hint=f'write {name}: "${{MY_KEY}}" without a default and export it')
        elif has_reference(value):
            secret = to_secret(value, doc, path, sink, environ)
            if secret is not None:
                headers[name] = secret
        elif _CREDENTIAL_HEADER.search(name):
            sink.add("RG503", f"header {name!r} looks like a credential and must use an ${{ENV}} reference",
                     doc, path, hint=f'write {name}: "Bearer ${{OPENAI_API_KEY}}" (or "${{MY_KEY}}") and export it')
        else:
            headers[name] = value
    call_id: str | Secret | None = raw.get("call_id")
    if isinstance(call_id, str) and has_reference(call_id):
        call_id = to_secret(call_id, doc, (*base, "call_id"), sink, environ)
    return TransportSettings(type=raw.get("type"), url=raw.get("url"), headers=freeze(headers),
                             api_key=api_key, model=raw.get("model"), call_id=call_id)
