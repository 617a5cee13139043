"""Who may open a browser session: Host, Origin and token checks (pure).

Tokens travel as a WebSocket subprotocol (``rtgraph.token.<base64url(token)>``), never in URLs, so
they never reach access logs. On a loopback bind the ``Host`` header must name loopback too:
otherwise a web page could DNS-rebind its own name to 127.0.0.1 and pass a same-origin check.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from .serve_options import is_loopback

__all__ = ("PROTOCOL_SUBPROTOCOL", "TOKEN_PREFIX", "host_allowed", "offered_token", "origin_allowed",
           "token_matches", "token_subprotocol")

PROTOCOL_SUBPROTOCOL = "rtgraph.v1"
TOKEN_PREFIX = "rtgraph.token."


def token_subprotocol(token: str) -> str:
    """The subprotocol a client offers to present ``token``."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(token.encode()).decode("ascii").rstrip("=")


def offered_token(subprotocols: Iterable[str]) -> str | None:
    """The token presented among ``subprotocols`` (None when none, or when it is not valid base64url)."""
    for offer in subprotocols:
        if offer.startswith(TOKEN_PREFIX):
            encoded = offer[len(TOKEN_PREFIX):]
            try:
                token = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_", validate=True).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None
            return token or None
    return None


def token_matches(offered: str | None, expected: str | None) -> bool:
    """True when no token is required, or the offered one equals it (constant-time)."""
    if expected is None:
        return True
    return offered is not None and hmac.compare_digest(offered.encode(), expected.encode())


def _hostname(host_header: str) -> str:
    return (urlsplit(f"//{host_header}").hostname or "").lower()


def host_allowed(host_header: str | None, *, loopback_bind: bool) -> bool:
    """A loopback server answers only to loopback names; others to any Host."""
    if not loopback_bind:
        return True
    return host_header is not None and is_loopback(_hostname(host_header))


def origin_allowed(origin: str | None, host_header: str | None, *, secure: bool,
                   allowed: Sequence[str] = ()) -> bool:
    """Same origin as ``Host`` (scheme, host and port), or listed in ``allowed``.

    A request without ``Origin`` is not from a browser page (browsers always send it on WebSocket
    handshakes), so the cross-site risk the check guards against does not apply; the token still does.
    """
    if origin is None:
        return True
    if origin.rstrip("/") in {a.rstrip("/") for a in allowed}:
        return True
    if host_header is None:
        return False
    parts = urlsplit(origin)
    scheme = "https" if secure else "http"
    if parts.scheme != scheme or not parts.hostname:
        return False
    default = 443 if secure else 80
    server = urlsplit(f"//{host_header}")
    try:
        origin_port, host_port = parts.port or default, server.port or default
    except ValueError:
        return False
    return parts.hostname.lower() == (server.hostname or "").lower() and origin_port == host_port
