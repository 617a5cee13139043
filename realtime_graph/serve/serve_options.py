"""The effective ``rtgraph serve`` settings: flags over the graph's ``serve:`` block over defaults.

Pure: no I/O besides reading the given environment mapping. Binding anywhere but loopback
requires a token, which only ever comes from an ``${ENV}`` reference (the graph's
``serve.auth.token``, ``--token-env NAME``, or ``$RTGRAPH_TOKEN``), never from a literal.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from ..errors import RealtimeGraphError
from ..graph.model import Secret, ServeSettings

__all__ = ("DEFAULT_TOKEN_ENV", "ServeConfigError", "ServeOptions", "is_loopback", "resolve_options")

DEFAULT_TOKEN_ENV = "RTGRAPH_TOKEN"
"""The environment variable read for the token when the graph declares none."""


class ServeConfigError(RealtimeGraphError):
    """``rtgraph serve`` cannot start as configured (e.g. a public bind without a token)."""


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What one server process does. ``token`` is the revealed secret (never printed: repr hides it)."""

    host: str = "127.0.0.1"
    port: int = 8080
    max_sessions: int = 100
    drain_timeout: float = 30.0
    token: str | None = field(default=None, repr=False)
    allowed_origins: tuple[str, ...] = ()
    reload: bool = True
    log_format: Literal["text", "json"] = "text"
    browser: bool = True
    twilio: bool = True
    """Serve ``/twilio/voice`` and ``/twilio/media`` (``serve.channels.twilio.enabled``)."""
    public_url: str | None = None
    """Public base URL (``serve.public_url`` / ``--public-url``); see docs/telephony.md."""

    @property
    def loopback(self) -> bool:
        """Bound to a loopback address only (no token needed, Host must name loopback)."""
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """``localhost``, ``127.0.0.0/8`` or ``::1`` (with or without brackets)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def resolve_options(settings: ServeSettings, *, environ: Mapping[str, str], host: str | None = None,
                    port: int | None = None, max_sessions: int | None = None,
                    drain_timeout: float | None = None, token_env: str | None = None, reload: bool = True,
                    log_format: Literal["text", "json"] = "text", public_url: str | None = None) -> ServeOptions:
    """Merge flags (non-None arguments) over ``settings`` and the defaults.

    :raises ServeConfigError: a token reference is unset, or the bind address is not loopback
        and no token is configured.
    """
    defaults = ServeOptions()
    chosen_host = host or settings.host or defaults.host
    token = _token(settings.token, token_env, environ)
    # The token guards the browser channel; Twilio's endpoints check Twilio's own signatures.
    if token is None and not is_loopback(chosen_host) and settings.browser:
        raise ServeConfigError(
            f"refusing to serve on {chosen_host} without a token: anyone who can reach it could talk to the "
            f"agents; add `serve: {{auth: {{token: \"${{{DEFAULT_TOKEN_ENV}}}\"}}}}` to the graph file and export "
            f"{DEFAULT_TOKEN_ENV} (or bind --host 127.0.0.1)")
    return ServeOptions(
        host=chosen_host,
        port=_first(port, settings.port, defaults.port),
        max_sessions=_first(max_sessions, settings.max_sessions, defaults.max_sessions),
        drain_timeout=_first(drain_timeout, settings.drain_timeout, defaults.drain_timeout),
        token=token, allowed_origins=settings.allowed_origins, reload=reload, log_format=log_format,
        browser=settings.browser, twilio=settings.twilio,
        public_url=(public_url or settings.public_url or "").rstrip("/") or None)


_T = TypeVar("_T")


def _first(*values: _T | None) -> _T:
    for value in values:
        if value is not None:
            return value
    raise AssertionError("the last value is a default")


def _token(declared: Secret | None, token_env: str | None, environ: Mapping[str, str]) -> str | None:
    if token_env is not None:
        if not environ.get(token_env):
            raise ServeConfigError(f"--token-env {token_env}: environment variable {token_env} is not set")
        return environ[token_env]
    if declared is not None:
        missing = declared.missing(environ)
        if missing:
            raise ServeConfigError(f"serve.auth.token: environment variable {', '.join(missing)} is not set "
                                   f"(export it, or remove serve.auth.token to serve loopback only)")
        value = declared.reveal(environ)
        if not value:
            raise ServeConfigError("serve.auth.token is empty: export a non-empty token")
        return value
    return environ.get(DEFAULT_TOKEN_ENV) or None
