"""The URL a caller really used, behind proxies (pure): Twilio signs it, stream URLs derive from it.

Order of precedence:

1. ``serve.public_url`` / ``--public-url`` (``https://voice.example.com``, optionally with a path
   prefix the proxy strips): the public URL is that base + the request path + its query.
2. ``X-Forwarded-Proto`` and ``X-Forwarded-Host`` (first value of each; what most proxies and
   ingress controllers set), falling back to the request's own scheme and ``Host`` per header.
3. The request as received.

Trusting forwarded headers is safe here: they only choose which URL the signature is checked
against, and a valid signature still needs the auth token.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ("public_base", "public_request_url", "websocket_url")


def _first(value: str | None) -> str | None:
    if not value:
        return None
    return value.split(",", 1)[0].strip() or None


def public_base(*, scheme: str, host: str, headers: Mapping[str, str], public_url: str | None) -> str:
    """``scheme://host[/prefix]`` as the outside world sees this server (no trailing slash)."""
    if public_url:
        return public_url.rstrip("/")
    proto = (_first(headers.get("x-forwarded-proto")) or scheme).lower()
    shown = _first(headers.get("x-forwarded-host")) or headers.get("host") or host
    return f"{proto}://{shown}"


def public_request_url(base: str, path: str, query: str) -> str:
    """The full URL (what Twilio signed) of a request for ``path``?``query`` under ``base``."""
    return f"{base}{path}" + (f"?{query}" if query else "")


def websocket_url(base: str, path: str) -> str:
    """``wss://`` (or ``ws://`` for a plain-HTTP base, loopback tests) URL of ``path`` under ``base``."""
    parts = urlsplit(base)
    scheme = "wss" if parts.scheme in ("https", "wss") else "ws"
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}{path}"
