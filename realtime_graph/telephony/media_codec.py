"""Twilio Media Streams messages, pure: JSON text in → typed messages; typed out → JSON text.

Inbound (Twilio → us): ``connected``, ``start``, ``media``, ``mark``, ``dtmf``, ``stop``.
Outbound (us → Twilio): ``media``, ``mark``, ``clear``. Audio is base64 µ-law 8 kHz mono.
https://www.twilio.com/docs/voice/media-streams/websocket-messages
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .call_errors import PayloadError

__all__ = (
    "Connected",
    "Dtmf",
    "InboundMessage",
    "MarkEcho",
    "Media",
    "StreamStart",
    "StreamStop",
    "clear_message",
    "mark_message",
    "media_message",
    "parse_message",
)

_DTMF_DIGITS = frozenset("0123456789*#ABCD")


@dataclass(frozen=True, slots=True)
class Connected:
    protocol: str
    version: str


@dataclass(frozen=True, slots=True)
class StreamStart:
    stream_sid: str
    call_sid: str
    account_sid: str = ""
    tracks: tuple[str, ...] = ()
    custom_parameters: Mapping[str, str] = field(default_factory=dict)
    encoding: str = "audio/x-mulaw"
    sample_rate: int = 8000


@dataclass(frozen=True, slots=True)
class Media:
    audio: bytes
    track: str = "inbound"
    chunk: int = 0
    timestamp_ms: int = 0


@dataclass(frozen=True, slots=True)
class MarkEcho:
    name: str


@dataclass(frozen=True, slots=True)
class Dtmf:
    digit: str
    track: str = "inbound_track"


@dataclass(frozen=True, slots=True)
class StreamStop:
    call_sid: str = ""


InboundMessage = Connected | StreamStart | Media | MarkEcho | Dtmf | StreamStop


def _obj(message: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = message.get(key)
    if not isinstance(value, dict):
        raise PayloadError(f"{message.get('event')} message has no `{key}` object")
    return value


def _str(obj: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = obj.get(key, default)
    if not isinstance(value, str):
        raise PayloadError(f"{where}.{key} must be a string")
    return value


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():  # Twilio sends chunk/timestamp as strings
        return int(value)
    return default


def parse_message(text: str | bytes) -> InboundMessage | None:
    """One Media Streams message; None for an event we do not handle (logged by the caller).

    :raises PayloadError: not JSON, not an object, or a known event with missing fields.
    """
    try:
        message = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"media stream message is not JSON: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("event"), str):
        raise PayloadError("media stream message must be an object with an `event`")
    event = message["event"]
    if event == "media":
        media = _obj(message, "media")
        try:
            audio = base64.b64decode(_str(media, "payload", "media"), validate=True)
        except (binascii.Error, ValueError):
            raise PayloadError("media.payload is not base64") from None
        return Media(audio=audio, track=_str(media, "track", "media", "inbound"), chunk=_int(media.get("chunk")),
                     timestamp_ms=_int(media.get("timestamp")))
    if event == "mark":
        return MarkEcho(name=_str(_obj(message, "mark"), "name", "mark"))
    if event == "dtmf":
        dtmf = _obj(message, "dtmf")
        digit = _str(dtmf, "digit", "dtmf")
        if digit not in _DTMF_DIGITS:
            raise PayloadError(f"dtmf.digit {digit[:8]!r} is not a keypad digit (0-9, *, #, A-D)")
        return Dtmf(digit=digit, track=_str(dtmf, "track", "dtmf", "inbound_track"))
    if event == "start":
        start = _obj(message, "start")
        params = start.get("customParameters", {})
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise PayloadError("start.customParameters must be an object of strings")
        fmt = start.get("mediaFormat", {})
        fmt = fmt if isinstance(fmt, dict) else {}
        tracks = start.get("tracks", [])
        return StreamStart(
            stream_sid=_str(start, "streamSid", "start", message.get("streamSid")),
            call_sid=_str(start, "callSid", "start", ""),
            account_sid=_str(start, "accountSid", "start", ""),
            tracks=tuple(t for t in tracks if isinstance(t, str)) if isinstance(tracks, list) else (),
            custom_parameters=dict(params),
            encoding=str(fmt.get("encoding", "audio/x-mulaw")),
            sample_rate=_int(fmt.get("sampleRate"), 8000),
        )
    if event == "connected":
        return Connected(protocol=str(message.get("protocol", "")), version=str(message.get("version", "")))
    if event == "stop":
        stop = message.get("stop")
        return StreamStop(call_sid=str(stop.get("callSid", "")) if isinstance(stop, dict) else "")
    return None


def _dump(message: Mapping[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def media_message(stream_sid: str, audio: bytes) -> str:
    """``{"event": "media", "streamSid": ..., "media": {"payload": <base64 µ-law>}}``."""
    return _dump({"event": "media", "streamSid": stream_sid,
                  "media": {"payload": base64.b64encode(audio).decode()}})


def mark_message(stream_sid: str, name: str) -> str:
    """``{"event": "mark", "streamSid": ..., "mark": {"name": ...}}``; Twilio echoes it once played."""
    return _dump({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear_message(stream_sid: str) -> str:
    """``{"event": "clear", "streamSid": ...}``: Twilio drops its buffered outbound audio."""
    return _dump({"event": "clear", "streamSid": stream_sid})
