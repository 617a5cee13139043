"""Parsing the ``realtime.call.incoming`` webhook body (pure).

Shape (``openai.types.webhooks.RealtimeCallIncomingWebhookEvent``)::

    {"object": "event", "id": "evt_...", "type": "realtime.call.incoming", "created_at": 1750287078,
     "data": {"call_id": "rtc_...", "sip_headers": [{"name": "From", "value": "sip:+1...@..."}, ...]}}

SIP headers are untrusted caller input: they are kept as given (order, repeats) and are only ever
matched by routing rules or copied, bounded, into declared string variables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .call_errors import PayloadError

__all__ = ("CALL_INCOMING", "IncomingCall", "header_value", "parse_call_incoming", "parse_webhook_event")

CALL_INCOMING = "realtime.call.incoming"

_MAX_HEADERS = 256


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """A pending SIP call: accept, reject or ignore it by ``call_id``."""

    event_id: str
    call_id: str
    created_at: int
    sip_headers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        """The first value of SIP header ``name`` (case-insensitive), or None."""
        return header_value(self.sip_headers, name)


def header_value(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    """The first value of header ``name`` (case-insensitive) in ``(name, value)`` pairs."""
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


def parse_webhook_event(body: bytes | str) -> dict[str, Any]:
    """The webhook body as a JSON object with a string ``type``.

    :raises PayloadError: not UTF-8 JSON, not an object, or no ``type``.
    """
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"webhook body is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise PayloadError(f"webhook body must be a JSON object, got {type(event).__name__}")
    if not isinstance(event.get("type"), str):
        raise PayloadError("webhook body has no string `type`")
    return event


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise PayloadError(f"{where} must be a non-empty string, got {json.dumps(value)[:60]}")
    return value


def parse_call_incoming(event: dict[str, Any]) -> IncomingCall:
    """A parsed ``realtime.call.incoming`` event (as from :func:`parse_webhook_event`).

    :raises PayloadError: another event type, or ``data.call_id`` / ``data.sip_headers`` malformed;
        the message names the field (``data.sip_headers[2].value``).
    """
    if event.get("type") != CALL_INCOMING:
        raise PayloadError(f"expected a {CALL_INCOMING} event, got {event.get('type')!r}")
    event_id = _string(event.get("id"), "id")
    created = event.get("created_at", 0)
    if not isinstance(created, int) or isinstance(created, bool):
        raise PayloadError(f"created_at must be unix seconds, got {json.dumps(created)[:60]}")
    data = event.get("data")
    if not isinstance(data, dict):
        raise PayloadError("data must be an object with call_id and sip_headers")
    call_id = _string(data.get("call_id"), "data.call_id")
    raw_headers = data.get("sip_headers", [])
    if not isinstance(raw_headers, list):
        raise PayloadError("data.sip_headers must be a list of {name, value} objects")
    if len(raw_headers) > _MAX_HEADERS:
        raise PayloadError(f"data.sip_headers has {len(raw_headers)} entries (limit {_MAX_HEADERS})")
    headers: list[tuple[str, str]] = []
    for i, entry in enumerate(raw_headers):
        if not isinstance(entry, dict):
            raise PayloadError(f"data.sip_headers[{i}] must be an object with name and value")
        name = _string(entry.get("name"), f"data.sip_headers[{i}].name")
        value = entry.get("value")
        if not isinstance(value, str):
            raise PayloadError(f"data.sip_headers[{i}].value must be a string")
        headers.append((name, value))
    return IncomingCall(event_id=event_id, call_id=call_id, created_at=created, sip_headers=tuple(headers))
