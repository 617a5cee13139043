"""One-time tokens that tie a media stream to the signed ``/twilio/voice`` request that asked for it (pure).

Twilio does not sign the media-stream WebSocket, and Stream URLs may not carry a query string, so
``/twilio/voice`` (whose request *is* signed) adds one more ``<Parameter>``, :data:`TOKEN_PARAMETER`,
to the TwiML. Twilio returns it in ``start.customParameters``. The token is
``<expiry>.<nonce>.<mac>`` where ``mac = HMAC-SHA256(key, callSid, expiry, nonce, the other
parameters sorted)``, keyed by a key derived from the Twilio auth token (so any replica holding
the same token can check it). A stranger can therefore not open sessions, nor alter the routed
parameters of a real call; a :class:`TokenLedger` refuses a token the second time (replay).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping

from .call_errors import SignatureError

__all__ = ("DEFAULT_TOKEN_TTL", "TOKEN_PARAMETER", "TokenLedger", "check_media_token", "issue_media_token",
           "media_token_key")

TOKEN_PARAMETER = "rtgraph_token"
"""The ``<Parameter>`` name that carries the token (never used for routing)."""

DEFAULT_TOKEN_TTL = 120.0
"""Seconds between the TwiML answer and the stream's ``start`` (Twilio connects within a second or two)."""


def media_token_key(auth_token: str) -> bytes:
    """The MAC key: derived from the auth token, so a leaked stream token reveals nothing of it."""
    return hmac.new(auth_token.encode(), b"rtgraph twilio media stream v1", hashlib.sha256).digest()


def _mac(key: bytes, call_sid: str, expiry: int, nonce: str, parameters: Mapping[str, str]) -> str:
    fields = [call_sid, str(expiry), nonce]
    for name in sorted(parameters):
        if name != TOKEN_PARAMETER:
            fields += [name, parameters[name]]
    # Length-prefixed so that no two different field lists give the same message.
    message = b"".join(len(f.encode()).to_bytes(4, "big") + f.encode() for f in fields)
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue_media_token(key: bytes, call_sid: str, parameters: Mapping[str, str], *, now: float | None = None,
                      ttl: float = DEFAULT_TOKEN_TTL, nonce: str | None = None) -> str:
    """The token for the stream of call ``call_sid`` with custom ``parameters``."""
    expiry = int((time.time() if now is None else now) + ttl)
    nonce = nonce or secrets.token_urlsafe(12)
    return f"{expiry}.{nonce}.{_mac(key, call_sid, expiry, nonce, parameters)}"


def check_media_token(key: bytes, token: str | None, call_sid: str, parameters: Mapping[str, str], *,
                      now: float | None = None) -> tuple[str, int]:
    """``(nonce, expiry)`` of a valid token.

    :raises SignatureError: missing, malformed, expired, or not issued for this call and parameters.
    """
    if not token:
        raise SignatureError(f"media stream without the {TOKEN_PARAMETER} parameter: it was not started by "
                             f"this server's /twilio/voice answer")
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1]:
        raise SignatureError("malformed media stream token")
    expiry, nonce, mac = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(_mac(key, call_sid, expiry, nonce, parameters), mac):
        raise SignatureError("media stream token does not match this call (wrong callSid, altered parameters, "
                             "or a different Twilio auth token)")
    if (time.time() if now is None else now) > expiry:
        raise SignatureError("media stream token expired: the stream started too long after /twilio/voice")
    return nonce, expiry


class TokenLedger:
    """Nonces already used, until their expiry (bounded), so each token opens one stream."""

    __slots__ = ("_capacity", "_used")

    def __init__(self, capacity: int = 65536) -> None:
        self._capacity = capacity
        self._used: OrderedDict[str, int] = OrderedDict()

    def first_use(self, nonce: str, expiry: int, *, now: float | None = None) -> bool:
        """True the first time ``nonce`` is presented (and remembers it)."""
        current = time.time() if now is None else now
        while self._used and (len(self._used) >= self._capacity or next(iter(self._used.values())) < current):
            self._used.popitem(last=False)
        if nonce in self._used:
            return False
        self._used[nonce] = expiry
        return True
