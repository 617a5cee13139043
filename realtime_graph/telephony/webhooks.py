"""Standard Webhooks signatures (the scheme OpenAI signs ``realtime.call.incoming`` with), pure.

``webhook-signature`` holds one or more space-separated ``v1,<base64>`` values; each is
``base64(HMAC-SHA256(secret, f"{webhook-id}.{webhook-timestamp}.{body}"))``. A ``whsec_``
secret is base64 after the prefix; any other secret is used as its UTF-8 bytes (the ``openai``
package's rule). Timestamps more than ``tolerance`` seconds away from now, either way, fail.

:class:`RedeliveryGuard` makes a redelivered webhook (same ``webhook-id``) or a second webhook
for the same call (same ``call_id``) a no-op, with bounded memory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from .call_errors import SignatureError

__all__ = (
    "DEFAULT_TOLERANCE",
    "RedeliveryGuard",
    "sign_webhook",
    "verify_webhook",
    "webhook_headers",
)

DEFAULT_TOLERANCE = 300
"""Seconds a webhook timestamp may be away from now, in either direction."""

_REQUIRED = ("webhook-id", "webhook-timestamp", "webhook-signature")


def _key(secret: str) -> bytes:
    if not secret:
        raise SignatureError("no webhook secret configured: set OPENAI_WEBHOOK_SECRET (whsec_...)")
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[6:], validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("webhook secret starts with whsec_ but the rest is not base64; "
                                 "copy the secret exactly as the platform shows it") from None
    return secret.encode()


def _signature(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def sign_webhook(body: bytes, *, secret: str, webhook_id: str, timestamp: int) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) for ``body``."""
    return "v1," + _signature(_key(secret), webhook_id, str(timestamp), body)


def webhook_headers(body: bytes, *, secret: str, webhook_id: str, timestamp: int | None = None) -> dict[str, str]:
    """The three signature headers a sender attaches (``timestamp`` defaults to now)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {"webhook-id": webhook_id, "webhook-timestamp": str(ts),
            "webhook-signature": sign_webhook(body, secret=secret, webhook_id=webhook_id, timestamp=ts)}


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise SignatureError(f"missing {name} header; the request is not a signed webhook")


def verify_webhook(body: bytes, headers: Mapping[str, str], *, secret: str,
                   tolerance: int = DEFAULT_TOLERANCE, now: float | None = None) -> str:
    """Check a webhook's signature; returns its ``webhook-id``.

    ``headers`` are matched case-insensitively. ``now`` (unix seconds) is for tests.

    :raises SignatureError: a header is missing, the timestamp is not an integer or outside the
        tolerance, or no ``v1`` signature matches. The message never contains the secret.
    """
    webhook_id, timestamp, signatures = (_header(headers, name) for name in _REQUIRED)
    try:
        ts = int(timestamp)
    except ValueError:
        raise SignatureError(f"webhook-timestamp {timestamp[:32]!r} is not unix seconds") from None
    current = int(time.time() if now is None else now)
    if current - ts > tolerance:
        raise SignatureError(f"webhook timestamp is too old ({current - ts} s > {tolerance} s); "
                             "a replay, or this host's clock is wrong")
    if ts - current > tolerance:
        raise SignatureError(f"webhook timestamp is too new ({ts - current} s ahead > {tolerance} s); "
                             "this host's clock is wrong")
    expected = _signature(_key(secret), webhook_id, timestamp, body)
    given = [part.removeprefix("v1,") for part in signatures.split() if part.startswith("v1,")]
    if not given:
        raise SignatureError("webhook-signature has no v1,<base64> signature")
    if not any(hmac.compare_digest(expected, sig) for sig in given):
        raise SignatureError("webhook signature does not match: wrong secret, or the body was changed")
    return webhook_id


class RedeliveryGuard:
    """Remembers the last ``capacity`` webhook ids and call ids (oldest forgotten first).

    ``first_time(webhook_id, call_id)`` is True exactly once per webhook id and per call id, so
    a redelivered webhook, or a second event for a call already handled, is skipped. Entries
    expire after ``ttl`` seconds (the sender stops retrying long before the default hour).
    """

    __slots__ = ("_capacity", "_clock", "_seen", "_ttl")

    def __init__(self, capacity: int = 4096, *, ttl: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._ttl = ttl
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def _expire(self, now: float) -> None:
        while self._seen:
            key, at = next(iter(self._seen.items()))
            if now - at < self._ttl and len(self._seen) <= self._capacity:
                break
            del self._seen[key]

    def seen(self, key: str) -> bool:
        """Whether ``key`` (``id:...`` or ``call:...``) is remembered."""
        self._expire(self._clock())
        return key in self._seen

    def first_time(self, webhook_id: str, call_id: str | None = None) -> bool:
        """Record the ids; True when neither was seen before."""
        now = self._clock()
        self._expire(now)
        keys = [f"id:{webhook_id}"] + ([f"call:{call_id}"] if call_id else [])
        fresh = not any(k in self._seen for k in keys)
        for k in keys:
            self._seen[k] = now
            self._seen.move_to_end(k)
        self._expire(now)
        return fresh

    def forget(self, webhook_id: str, call_id: str | None = None) -> None:
        """Let a redelivery through again (after a failed accept, so the sender's retry is handled)."""
        self._seen.pop(f"id:{webhook_id}", None)
        if call_id:
            self._seen.pop(f"call:{call_id}", None)
