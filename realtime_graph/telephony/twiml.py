"""TwiML for a bidirectional Media Stream: ``<Connect><Stream url="wss://HOST/twilio/media">`` (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from .call_errors import PayloadError

__all__ = ("FORWARDED_VOICE_PARAMS", "connect_stream_twiml", "voice_parameters")

FORWARDED_VOICE_PARAMS = ("From", "To", "CallSid")
"""The ``/twilio/voice`` form fields passed on to the stream as ``<Parameter>`` s (routing input)."""

_MAX_PARAMS = 32


def voice_parameters(form: Mapping[str, str]) -> dict[str, str]:
    """The forwarded fields of Twilio's voice webhook form that are present."""
    return {name: form[name] for name in FORWARDED_VOICE_PARAMS if isinstance(form.get(name), str)}


def connect_stream_twiml(stream_url: str, parameters: Mapping[str, str] | None = None) -> str:
    """The TwiML document answering ``/twilio/voice``; names and values are XML-escaped.

    :raises PayloadError: ``stream_url`` is not ``wss://`` (Twilio only connects to secure
        WebSockets; ``ws://`` is accepted for loopback tests), or too many parameters.
    """
    parts = urlsplit(stream_url)
    if parts.scheme not in ("wss", "ws") or not parts.netloc:
        raise PayloadError(f"media stream URL must be wss://HOST/..., got {stream_url!r}")
    params = parameters or {}
    if len(params) > _MAX_PARAMS:
        raise PayloadError(f"at most {_MAX_PARAMS} stream parameters, got {len(params)}")
    inner = "".join(f"<Parameter name={quoteattr(str(k))} value={quoteattr(str(v))}/>" for k, v in params.items())
    url = quoteattr(stream_url)
    stream = f"<Stream url={url}>{inner}</Stream>" if inner else f"<Stream url={url}/>"
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Connect>{stream}</Connect></Response>'
